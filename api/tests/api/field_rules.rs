//! SPEC S17: the console and the server refuse the same inputs. Each field rule of
//! `hubkeep_shared::fields` (the very `parse` the console's forms call) is run over a table of
//! valid and invalid values, and each value is also sent to the endpoint that takes it: a value
//! `parse` accepts is accepted over HTTP, a value it refuses is a 422 naming the field with
//! `parse`'s own message.

use hubkeep_shared::ConnectionRole;
use hubkeep_shared::TokenScope;
use hubkeep_shared::api::{ConnectionPatch, CreateToken, UpdateSettings};
use hubkeep_shared::fields::{
    CurrencyCode, Email, FieldRule, Name, PostgresUrl, ShortName, TimezoneName, ViewDefinition,
};
use serde_json::Value;

use crate::client::{email_invitation, payment, view};
use crate::helpers::{Backend, create_connection, spawn_app, team};
use crate::on_each_backend;

on_each_backend!(s17_every_field_rule_refuses_the_same_inputs_in_the_console_and_the_server);

/// Values each rule must accept (`true`) or refuse (`false`), written from SPEC S4/S5/S8 and
/// the field descriptions of the OpenAPI document.
const NAMES: &[(&str, bool)] = &[
    ("Books", true),
    ("  Contoso (UK)  ", true),
    ("Ünïcødé 帳簿", true),
    ("", false),
    ("   ", false),
    ("tab\there", false),
    ("line\nbreak", false),
];

const TIMEZONES: &[(&str, bool)] = &[
    ("Europe/London", true),
    ("UTC", true),
    (" America/New_York ", true),
    ("", false),
    ("Mars/Olympus_Mons", false),
    ("GMT+25", false),
    ("Europe London", false),
];

const CURRENCIES: &[(&str, bool)] = &[
    ("USD", true),
    ("GBP", true),
    ("CHE", true),
    ("usd", false),
    ("XXX", false),
    ("HRK", false),
    ("ABC", false),
    (" EUR", false),
    ("EURO", false),
];

const POSTGRES_URLS: &[(&str, bool)] = &[
    ("postgres://bi@db.example/reports", true),
    ("postgresql://bi:secret@10.0.0.5:5432/bi", true),
    ("mysql://bi@db/reports", false),
    ("https://db.example", false),
    ("", false),
    ("postgres://bi@db/\u{7}", false),
];

const EMAILS: &[(&str, bool)] = &[
    ("it@contoso.example", true),
    ("  First.Last@Sub.Contoso.example ", true),
    ("no-at-sign.example", false),
    ("@contoso.example", false),
    ("it@localhost", false),
    ("it@.example", false),
    ("it@contoso.example.", false),
    ("two words@contoso.example", false),
    ("a@b@contoso.example", false),
];

/// JSON texts: `ViewDefinition` takes an object of at most 64 KiB.
fn view_definitions() -> Vec<(String, bool)> {
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(64 * 1024));
    vec![
        ("{}".to_owned(), true),
        (
            r#"{"columns": ["a", "b"], "filter": {"overdue": true}}"#.to_owned(),
            true,
        ),
        ("[]".to_owned(), false),
        ("\"text\"".to_owned(), false),
        ("42".to_owned(), false),
        ("null".to_owned(), false),
        (big, false),
    ]
}

fn long(n: usize) -> String {
    "n".repeat(n)
}

/// Asserts the endpoint's answer agrees with `parse`: accepted, or a 422 naming `field` with
/// exactly `parse`'s message.
async fn agrees<T: FieldRule>(
    rule: &str,
    value: &str,
    expected: bool,
    field: &str,
    res: reqwest::Response,
) {
    let parsed = T::parse(value);
    assert_eq!(
        parsed.is_ok(),
        expected,
        "{rule}::parse({value:?}) in shared (the console's check)"
    );
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    match parsed {
        Ok(_) => assert!(
            (200..300).contains(&status),
            "{rule} {value:?}: the console accepts it, the server answered {status}: {body}"
        ),
        Err(message) => {
            assert_eq!(
                status, 422,
                "{rule} {value:?}: the console refuses it, the server answered {status}: {body}"
            );
            let errors = body["errors"].as_array().cloned().unwrap_or_default();
            assert!(
                errors
                    .iter()
                    .any(|e| e["field"] == field && e["message"] == message.as_str()),
                "{rule} {value:?}: expected `{field}: {message}` in {body}"
            );
        }
    }
}

async fn s17_every_field_rule_refuses_the_same_inputs_in_the_console_and_the_server(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let c = app.as_(&ada);
    let bi = create_connection(&app, &ada, "Board pack", "xero_power_bi").await;
    let patch = |patch: ConnectionPatch| {
        let (c, bi) = (&c, &bi);
        async move { c.update_connection(bi, &patch).await.into_inner() }
    };

    // Name: connection names (and groups, account labels, budgets), 1–200 characters.
    let mut names: Vec<(String, bool)> =
        NAMES.iter().map(|(v, ok)| ((*v).to_owned(), *ok)).collect();
    names.push((long(200), true));
    names.push((long(201), false));
    for (value, ok) in &names {
        let res = patch(ConnectionPatch {
            name: Some(value.clone()),
            ..Default::default()
        })
        .await;
        agrees::<Name>("Name", value, *ok, "name", res).await;
        let res = patch(ConnectionPatch {
            group: Some(Some(value.clone())),
            ..Default::default()
        })
        .await;
        agrees::<Name>("Name", value, *ok, "group", res).await;
    }

    // ShortName: token names (and view names), 1–100 characters.
    let mut short: Vec<(String, bool)> =
        NAMES.iter().map(|(v, ok)| ((*v).to_owned(), *ok)).collect();
    short.push((long(100), true));
    short.push((long(101), false));
    for (value, ok) in &short {
        let token = CreateToken {
            name: value.clone(),
            scope: TokenScope::Read,
            expires_at: None,
        };
        let res = c.create_my_token(&token).await.into_inner();
        agrees::<ShortName>("ShortName", value, *ok, "name", res).await;
    }

    for (value, ok) in TIMEZONES {
        let settings = UpdateSettings {
            default_timezone: Some((*value).to_owned()),
            ..Default::default()
        };
        let res = c.update_settings(&settings).await.into_inner();
        agrees::<TimezoneName>("TimezoneName", value, *ok, "default_timezone", res).await;
        let res = patch(ConnectionPatch {
            timezone: Some((*value).to_owned()),
            ..Default::default()
        })
        .await;
        agrees::<TimezoneName>("TimezoneName", value, *ok, "timezone", res).await;
    }

    for (value, ok) in CURRENCIES {
        let res = patch(ConnectionPatch {
            reporting_currency: Some((*value).to_owned()),
            ..Default::default()
        })
        .await;
        agrees::<CurrencyCode>("CurrencyCode", value, *ok, "reporting_currency", res).await;
        let res = c
            .pay_connection(&bi, &payment(1, 100, value))
            .await
            .into_inner();
        agrees::<CurrencyCode>("CurrencyCode", value, *ok, "currency", res).await;
    }

    let mut urls: Vec<(String, bool)> = POSTGRES_URLS
        .iter()
        .map(|(v, ok)| ((*v).to_owned(), *ok))
        .collect();
    urls.push((format!("postgres://{}", long(1989)), true));
    urls.push((format!("postgres://{}", long(1990)), false));
    for (value, ok) in &urls {
        let res = patch(ConnectionPatch {
            postgres_db: Some(Some(value.clone())),
            ..Default::default()
        })
        .await;
        agrees::<PostgresUrl>("PostgresUrl", value, *ok, "postgres_db", res).await;
    }

    let mut emails: Vec<(String, bool)> = EMAILS
        .iter()
        .map(|(v, ok)| ((*v).to_owned(), *ok))
        .collect();
    emails.push((format!("{}@contoso.example", long(238)), true));
    emails.push((format!("{}@contoso.example", long(239)), false));
    for (value, ok) in &emails {
        let res = c
            .create_invitation(&bi, &email_invitation(value, ConnectionRole::ReadOnly))
            .await
            .into_inner();
        agrees::<Email>("Email", value, *ok, "email", res).await;
    }

    for (i, (text, ok)) in view_definitions().iter().enumerate() {
        let definition: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            ViewDefinition::from_value(&definition).is_ok(),
            *ok,
            "ViewDefinition::from_value({text:.40})"
        );
        let res = c
            .create_view(&bi, &view(&format!("View {i}"), definition))
            .await
            .into_inner();
        agrees::<ViewDefinition>("ViewDefinition", text, *ok, "definition", res).await;
    }
}
