//! Bad input (ASVS V5 input validation, OWASP API8 security misconfiguration): oversize
//! bodies, malformed JSON, bodies that are not objects, wrong content types, out-of-range
//! numbers, bad `limit`s and cursors, unknown enum values, unicode edge cases in names and
//! path ids that are not ids. Every refusal must be a 4xx `application/problem+json` with a
//! `code` (never a 5xx, never an HTML or empty error) and must leave the database exactly
//! as it was; the unicode names a person may legitimately type are accepted as sent.

use hubkeep_shared::TokenScope;
use hubkeep_shared::api::{
    AccountingMapping, ConnectionPatch, CreateEngineToken, CreateToken, NewConnection, PageQuery,
    ReconnectInput, RunRequest, RunStatus, UpdateSettings, UserQuery,
};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use super::common::{snapshot, snapshot_diff, summary};
use crate::client::{Client, Pending, new_connection, pending, progress, view as view_body};
use crate::helpers::{Backend, TestApp, id, spawn_app, team};
use crate::on_each_backend;

on_each_backend!(hardening_bad_input_is_a_4xx_problem_and_changes_nothing);

/// The largest JSON body the API reads (`startup::MAX_JSON_BODY_BYTES`).
const BODY_LIMIT: usize = 1024 * 1024;
/// What a body over the limit is answered with (documented for every operation with input).
const OVERSIZE: (u16, &str) = (422, "validation_failed");

// ---------------------------------------------------------------------------------------
// Shared with the token family.

/// Checks that a response is the expected problem; describes the mismatch otherwise.
pub(super) async fn problem_mismatch(
    res: reqwest::Response,
    status: u16,
    code: &str,
) -> Option<String> {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let shown = || text.chars().take(300).collect::<String>();
    if got != status || body["code"] != code {
        return Some(format!(
            "expected {status} `{code}`, got {got} `{}`: {}",
            body["code"].as_str().unwrap_or("-"),
            shown()
        ));
    }
    if content_type != "application/problem+json" {
        return Some(format!("content type {content_type:?}: {}", shown()));
    }
    if body["status"] != status || body["type"] != format!("urn:hubkeep:problem:{code}") {
        return Some(format!("a malformed problem: {}", shown()));
    }
    None
}

// ---------------------------------------------------------------------------------------
// Requests.

/// One bad request and the refusal it must get.
struct Case {
    what: String,
    method: Method,
    path: String,
    /// The bearer token; `None` for the public sign-in operations.
    token: Option<String>,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
    code: &'static str,
}

/// A write endpoint and a body it would accept, so that only the variation is at fault.
#[derive(Clone)]
struct Write {
    method: Method,
    path: String,
    token: Option<String>,
    valid: Value,
}

impl Write {
    fn case(
        &self,
        what: impl Into<String>,
        content_type: Option<&'static str>,
        body: impl Into<Vec<u8>>,
        (status, code): (u16, &'static str),
    ) -> Case {
        Case {
            what: format!("{} {}: {}", self.method, self.path, what.into()),
            method: self.method.clone(),
            path: self.path.clone(),
            token: self.token.clone(),
            content_type,
            body: Some(body.into()),
            status,
            code,
        }
    }

    fn json(&self, what: impl Into<String>, body: &Value, expect: (u16, &'static str)) -> Case {
        self.case(what, Some(JSON), body.to_string(), expect)
    }

    fn raw(&self, what: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
        self.case(what, Some(JSON), body, INVALID)
    }
}

const JSON: &str = "application/json";
const INVALID: (u16, &str) = (422, "validation_failed");
const NOT_FOUND: (u16, &str) = (404, "not_found");

fn get(what: impl Into<String>, path: String, token: &str, expect: (u16, &'static str)) -> Case {
    Case {
        what: format!("GET {path}: {}", what.into()),
        method: Method::GET,
        path,
        token: Some(token.to_owned()),
        content_type: None,
        body: None,
        status: expect.0,
        code: expect.1,
    }
}

fn call(method: Method, path: String, token: &str, body: Option<Value>) -> Case {
    Case {
        what: format!("{method} {path}"),
        method,
        path,
        token: Some(token.to_owned()),
        content_type: body.as_ref().map(|_| JSON),
        body: body.map(|b| b.to_string().into_bytes()),
        status: NOT_FOUND.0,
        code: NOT_FOUND.1,
    }
}

impl Case {
    /// The case as a request of a client without credentials of its own: exactly the
    /// bearer token, content type and bytes of the row.
    fn request(&self, c: &Client<'_>) -> reqwest::RequestBuilder {
        let mut req = c.request(self.method.clone(), &self.path);
        if let Some(token) = &self.token {
            req = req.header(
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        if let Some(content_type) = self.content_type {
            req = req.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = &self.body {
            req = req.body(body.clone());
        }
        req
    }
}

/// The malformed-body variations every write endpoint gets.
fn malformed_bodies(w: &Write, cases: &mut Vec<Case>) {
    let valid = w.valid.to_string();
    let cut = valid.len() / 2;
    cases.push(w.raw("a truncated body", &valid.as_bytes()[..cut]));
    cases.push(w.raw("trailing garbage", format!("{valid} x")));
    cases.push(w.raw("two objects", format!("{valid}{valid}")));
    cases.push(w.raw("an empty body", ""));
    cases.push(w.raw("whitespace only", "  \n\t "));
    cases.push(w.raw("a byte-order mark", format!("\u{feff}{valid}")));
    if valid.contains('"') {
        cases.push(w.raw("single quotes", valid.replace('"', "'")));
    }
    cases.push(w.raw(
        "a trailing comma",
        format!("{},}}", &valid[..valid.len() - 1]),
    ));
    cases.push(w.raw("a comment", format!("/* hi */{valid}")));
    let mut invalid_utf8 = b"{\"x\": \"".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(b"\"}");
    cases.push(w.raw("invalid UTF-8 bytes", invalid_utf8));
    cases.push(w.raw("a raw NUL byte in a string", "{\"x\": \"a\u{0}b\"}"));
    cases.push(w.raw("a lone high surrogate", r#"{"x": "\ud800"}"#));
    cases.push(w.raw("a lone low surrogate", r#"{"x": "a\udc00b"}"#));
    cases.push(w.raw("an unknown escape", r#"{"x": "\q"}"#));
    cases.push(w.raw(
        "10 000 nested arrays",
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
    ));
    cases.push(w.raw(
        "10 000 nested objects",
        format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)),
    ));
    cases.push(w.raw("a number out of range (1e999)", r#"{"x": 1e999}"#));
    cases.push(w.raw("a negative number out of range", r#"{"x": -1e999}"#));
    for (what, body) in [
        ("an array", json!([w.valid])),
        ("an empty array", json!([])),
        ("a string", json!("hello")),
        ("null", Value::Null),
        ("a number", json!(42)),
        ("true", json!(true)),
    ] {
        cases.push(w.json(format!("a body that is {what}"), &body, INVALID));
    }
    cases.push(w.json(
        "an unknown field (side door)",
        &with(&w.valid, "tenant_id", json!("someone-else")),
        INVALID,
    ));
    cases.push(w.json(
        "an escaped NUL in an unknown-to-validation field",
        &with(&w.valid, "x", json!("\u{0}")),
        INVALID,
    ));
    // Content types.
    for (what, content_type) in [
        ("text/plain", Some("text/plain")),
        ("form-urlencoded", Some("application/x-www-form-urlencoded")),
        (
            "multipart/form-data",
            Some("multipart/form-data; boundary=xyz"),
        ),
        ("application/xml", Some("application/xml")),
        ("no content type", None),
    ] {
        cases.push(w.case(
            format!("a valid body sent as {what}"),
            content_type,
            valid.clone(),
            INVALID,
        ));
    }
    cases.push(w.case(
        "a form body",
        Some("application/x-www-form-urlencoded"),
        "name=x&kind=xero_power_bi",
        INVALID,
    ));
    cases.push(w.case(
        "a multipart body",
        Some("multipart/form-data; boundary=xyz"),
        "--xyz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--xyz--\r\n",
        INVALID,
    ));
    // Size: a valid object padded to one byte over the limit, and a huge string field.
    let mut padded = valid.clone().into_bytes();
    padded.resize(BODY_LIMIT + 1, b' ');
    cases.push(w.case(
        "a valid body padded to one byte over the limit",
        Some(JSON),
        padded,
        OVERSIZE,
    ));
    cases.push(w.json(
        "a 3 MiB string field",
        &with(&w.valid, "x", json!("x".repeat(3 * 1024 * 1024))),
        OVERSIZE,
    ));
}

fn with(valid: &Value, field: &str, value: Value) -> Value {
    let mut body = valid.clone();
    body[field] = value;
    body
}

/// Query-string variations of a list endpoint.
fn bad_pages(path: &str, token: &str, cases: &mut Vec<Case>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    for limit in [
        "0",
        "-1",
        "201",
        "999999999999999999999",
        "18446744073709551616",
        "abc",
        "1.5",
        "1e3",
        "",
        "%00",
        "50&limit=60",
    ] {
        cases.push(get(
            format!("limit={limit}"),
            format!("{path}{sep}limit={limit}"),
            token,
            INVALID,
        ));
    }
    for (what, cursor) in [
        ("garbage", "%%%".to_owned()),
        ("not base64", "!!!".to_owned()),
        ("empty", String::new()),
        ("base64 of garbage", base64_of("garbage")),
        ("a NUL byte", "AA".to_owned()),
        ("control characters", "AQID".to_owned()),
        ("invalid UTF-8", "__79".to_owned()),
        ("a percent-encoded NUL", "%00".to_owned()),
        ("10 000 characters", "QUFB".repeat(2_500)),
    ] {
        // Lists keyed by one id or name take any text without a NUL as the key to continue
        // after (a page of the caller's own rows, nothing more; PSA names may hold control
        // characters); the structured cursors must parse.
        let structured = path.contains("/users")
            || path.ends_with("/activity")
            || path.ends_with("/connections")
            || path.ends_with("/governance");
        if matches!(what, "base64 of garbage" | "control characters") && !structured {
            continue;
        }
        cases.push(get(
            format!("a cursor that is {what}"),
            format!("{path}{sep}cursor={cursor}"),
            token,
            INVALID,
        ));
    }
}

// ---------------------------------------------------------------------------------------

async fn hardening_bad_input_is_a_4xx_problem_and_changes_nothing(backend: Backend) {
    let backend_name = backend.clone();
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, _tess) = team(&app).await;
    let token = ada.access_token.clone();

    // What the valid requests need: a connection with views, a token, an engine token.
    let c = app.as_(&ada);
    let conn = c
        .create_connection(&new_connection("Books", "xero_power_bi"))
        .await
        .expect(201)
        .await
        .id;
    let view = c
        .create_view(&conn, &view_body("Board pack", json!({"columns": ["a"]})))
        .await
        .expect(201)
        .await
        .id;
    let engine = c
        .create_engine_token(&CreateEngineToken {
            name: "engine".into(),
        })
        .await
        .expect(201)
        .await
        .token;
    app.create_token(&token, "read").await;
    app.create_token(&token, "read_write").await;
    let bob_id = id(&bob);
    // Both endpoints connected, so that a run can be requested; one run the engine reports on.
    for side in ["source", "target"] {
        let res = c
            .reconnect_endpoint(&conn, side, &ReconnectInput::default())
            .await;
        assert_eq!(res.status(), 200, "reconnect {side}");
    }
    let run = c
        .request_run(&conn, &RunRequest::default())
        .await
        .expect(201)
        .await
        .id;
    let run_path = format!("/api/v1/connections/{conn}/runs/{run}");
    let res = app
        .with_token(&engine)
        .report_run_progress(&conn, &run, &progress(RunStatus::Running))
        .await;
    assert_eq!(res.status(), 200, "the engine reports the run running");

    let writes = [
        Write {
            method: Method::POST,
            path: "/api/v1/connections".into(),
            token: Some(token.clone()),
            valid: json!({"name": "Valid", "kind": "xero_power_bi"}),
        },
        Write {
            method: Method::PATCH,
            path: format!("/api/v1/connections/{conn}"),
            token: Some(token.clone()),
            valid: json!({"name": "Renamed", "group": "Finance"}),
        },
        Write {
            method: Method::POST,
            path: format!("/api/v1/connections/{conn}/views"),
            token: Some(token.clone()),
            valid: json!({"name": "Another", "definition": {"a": 1}}),
        },
        Write {
            method: Method::PUT,
            path: format!("/api/v1/connections/{conn}/views/{view}"),
            token: Some(token.clone()),
            valid: json!({"name": "Renamed view", "definition": {"a": 2}}),
        },
        Write {
            method: Method::POST,
            path: "/api/v1/me/tokens".into(),
            token: Some(token.clone()),
            valid: json!({"name": "script", "scope": "read"}),
        },
        Write {
            method: Method::POST,
            path: "/api/v1/engine-tokens".into(),
            token: Some(token.clone()),
            valid: json!({"name": "engine 2"}),
        },
        Write {
            method: Method::PUT,
            path: "/api/v1/settings".into(),
            token: Some(token.clone()),
            valid: json!({"invitation_expiry_days": 5}),
        },
        Write {
            method: Method::PUT,
            path: "/api/v1/access/elevated-levels".into(),
            token: Some(token.clone()),
            valid: json!({"level_ids": [2]}),
        },
        Write {
            method: Method::PATCH,
            path: format!("/api/v1/users/{bob_id}"),
            token: Some(token.clone()),
            valid: json!({"elevation": "granted"}),
        },
        Write {
            method: Method::POST,
            path: format!("/api/v1/connections/{conn}/invitations"),
            token: Some(token.clone()),
            valid: json!({"user_id": bob_id, "role": "read_only"}),
        },
        Write {
            method: Method::POST,
            path: format!("/api/v1/connections/{conn}/runs"),
            token: Some(token.clone()),
            valid: json!({}),
        },
        Write {
            method: Method::PATCH,
            path: run_path.clone(),
            token: Some(engine.clone()),
            valid: json!({"status": "succeeded"}),
        },
        Write {
            method: Method::POST,
            path: "/api/v1/auth/launch".into(),
            token: None,
            valid: json!({"assertion": tenant.assertion(crate::helpers::people::ADA_ADMIN)}),
        },
        Write {
            method: Method::POST,
            path: "/api/v1/auth/refresh".into(),
            token: None,
            valid: json!({"refresh_token": ada.refresh_token}),
        },
    ];

    let mut cases = Vec::new();
    for w in &writes {
        malformed_bodies(w, &mut cases);
    }
    let body_cases = cases.len();

    // Numbers and types of specific fields.
    let [
        conns,
        patch_conn,
        views,
        view_put,
        tokens,
        engines,
        settings,
        levels,
        user,
        invite,
        runs,
        progress,
        launch,
        refresh,
    ] = &writes;
    for (what, body) in [
        ("1e999", r#"{"invitation_expiry_days": 1e999}"#),
        (
            "u64 overflow",
            r#"{"invitation_expiry_days": 18446744073709551616}"#,
        ),
        (
            "i64 overflow",
            r#"{"invitation_expiry_days": 9223372036854775808}"#,
        ),
        (
            "i64 min",
            r#"{"invitation_expiry_days": -9223372036854775808}"#,
        ),
        (
            "i64 max",
            r#"{"invitation_expiry_days": 9223372036854775807}"#,
        ),
        ("a fraction", r#"{"invitation_expiry_days": 3.5}"#),
        ("a string", r#"{"invitation_expiry_days": "5"}"#),
        ("zero", r#"{"session_lifetime_hours": 0}"#),
        ("NaN", r#"{"session_lifetime_hours": NaN}"#),
        ("Infinity", r#"{"session_lifetime_hours": Infinity}"#),
        ("hex", r#"{"session_lifetime_hours": 0x10}"#),
        ("leading zeros", r#"{"session_lifetime_hours": 012}"#),
        (
            "an unknown time zone",
            r#"{"default_timezone": "Mars/Olympus"}"#,
        ),
        (
            "a NUL in a time zone",
            r#"{"default_timezone": "Europe/London\u0000"}"#,
        ),
        (
            "a NUL in an accounting mapping",
            r#"{"accounting_mappings": [{"source_code": "A\u0000", "account_code": "4000", "description": ""}]}"#,
        ),
    ] {
        cases.push(settings.raw(what, body));
    }
    for (what, body) in [
        ("1e999", r#"{"level_ids": [1e999]}"#),
        ("u64 overflow", r#"{"level_ids": [18446744073709551616]}"#),
        ("i64 overflow", r#"{"level_ids": [9223372036854775808]}"#),
        ("a string", r#"{"level_ids": ["2"]}"#),
        ("null", r#"{"level_ids": null}"#),
        ("an object", r#"{"level_ids": {"0": 2}}"#),
    ] {
        cases.push(levels.raw(what, body));
    }
    for (what, body) in [
        ("active as a string", r#"{"active": "false"}"#),
        ("active as 0", r#"{"active": 0}"#),
        ("an unknown elevation", r#"{"elevation": "root"}"#),
        ("elevation in capitals", r#"{"elevation": "GRANTED"}"#),
        ("a side door (is_primary)", r#"{"is_primary": true}"#),
        (
            "a side door (access_level)",
            r#"{"access_level": "elevated"}"#,
        ),
    ] {
        cases.push(user.raw(what, body));
    }
    for (what, body) in [
        (
            "records_processed 1e999",
            r#"{"status": "succeeded", "records_processed": 1e999}"#,
        ),
        (
            "records_processed i64 overflow",
            r#"{"status": "succeeded", "records_processed": 9223372036854775808}"#,
        ),
        (
            "records_processed -1",
            r#"{"status": "succeeded", "records_processed": -1}"#,
        ),
        ("an unknown status", r#"{"status": "exploded"}"#),
        (
            "details that are not an object",
            r#"{"status": "succeeded", "details": [1]}"#,
        ),
    ] {
        cases.push(progress.raw(what, body));
    }
    for (what, body) in [
        ("an unknown kind", r#"{"name": "x", "kind": "sap_excel"}"#),
        (
            "kind in capitals",
            r#"{"name": "x", "kind": "XERO_POWER_BI"}"#,
        ),
        (
            "an unknown time zone",
            r#"{"name": "x", "kind": "xero_power_bi", "timezone": "UTC+25"}"#,
        ),
        (
            "a name that is a number",
            r#"{"name": 42, "kind": "xero_power_bi"}"#,
        ),
        (
            "a side door (status)",
            r#"{"name": "x", "kind": "xero_power_bi", "status": "paid"}"#,
        ),
    ] {
        cases.push(conns.raw(what, body));
    }
    for (what, body) in [
        ("an unknown role", json!({"user_id": bob_id, "role": "god"})),
        (
            "a NUL in an email",
            json!({"email": "a\u{0}@example.test", "role": "read_only"}),
        ),
        ("no user and no email", json!({"role": "read_only"})),
    ] {
        cases.push(invite.json(what, &body, INVALID));
    }
    for (what, body) in [
        ("an unknown scope", json!({"name": "x", "scope": "admin"})),
        (
            "expires_at not a date",
            json!({"name": "x", "scope": "read", "expires_at": "soon"}),
        ),
        (
            "expires_at in year 10000",
            json!({"name": "x", "scope": "read", "expires_at": "2030-01-01T00:00:00"}),
        ),
        (
            "expires_at a number",
            json!({"name": "x", "scope": "read", "expires_at": 1e12}),
        ),
    ] {
        cases.push(tokens.json(what, &body, INVALID));
    }
    for (what, body) in [
        ("entities unknown", json!({"entities": ["everything"]})),
        ("entities not a list", json!({"entities": "invoices"})),
    ] {
        cases.push(runs.json(what, &body, INVALID));
    }
    for (what, body) in [
        (
            "a definition that is a list",
            json!({"name": "x", "definition": [1]}),
        ),
        (
            "a definition over 64 KiB",
            json!({"name": "x", "definition": {"a": "x".repeat(70_000)}}),
        ),
    ] {
        cases.push(views.json(what, &body, INVALID));
    }
    for (what, body) in [
        ("an assertion that is a number", json!({"assertion": 1})),
        ("an assertion that is null", json!({"assertion": null})),
    ] {
        cases.push(launch.json(what, &body, INVALID));
    }
    cases.push(refresh.json(
        "a refresh token that is a list",
        &json!({"refresh_token": ["x"]}),
        INVALID,
    ));
    let field_cases = cases.len() - body_cases;

    // Unicode edge cases in names that must be refused: (what, name).
    let refused_names: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("spaces only", "   ".into()),
        ("tabs and newlines only", "\t\n\r ".into()),
        ("ideographic spaces only", "\u{3000}\u{3000}".into()),
        ("10 000 characters", "x".repeat(10_000)),
        ("10 000 emoji", "😀".repeat(10_000)),
        ("a control character U+0001", "a\u{1}b".into()),
        ("a NUL", "a\u{0}b".into()),
        ("only a NUL", "\u{0}".into()),
        ("DEL U+007F", "a\u{7f}".into()),
        ("a C1 control U+0085", "a\u{85}b".into()),
        ("an escape sequence", "\u{1b}[31mred".into()),
        ("a newline inside", "two\nlines".into()),
    ];
    let name_fields: Vec<(&str, &Write, &str)> = vec![
        ("connection name", conns, "name"),
        ("connection rename", patch_conn, "name"),
        ("group name", patch_conn, "group"),
        ("view name", views, "name"),
        ("view rename", view_put, "name"),
        ("token name", tokens, "name"),
        ("engine token name", engines, "name"),
    ];
    for (field_what, w, field) in &name_fields {
        for (what, name) in &refused_names {
            let body = match *field_what {
                "group name" => json!({ "group": name }),
                _ => with(&w.valid, field, json!(name)),
            };
            cases.push(w.json(format!("{field_what} {what}"), &body, INVALID));
        }
    }
    let name_cases = cases.len() - body_cases - field_cases;

    // Query strings: limits, cursors, unknown enum values and filters.
    let lists = [
        "/api/v1/users".to_owned(),
        "/api/v1/me/tokens".to_owned(),
        "/api/v1/tokens".to_owned(),
        "/api/v1/engine-tokens".to_owned(),
        "/api/v1/activity".to_owned(),
        "/api/v1/connections".to_owned(),
        "/api/v1/connections/governance".to_owned(),
        "/api/v1/sync-status".to_owned(),
        format!("/api/v1/connections/{conn}/views"),
        format!("/api/v1/connections/{conn}/runs"),
        "/api/v1/users?sort=last_accessed&order=desc".to_owned(),
    ];
    for list in &lists {
        bad_pages(list, &token, &mut cases);
    }
    // Cursors of another list or sort.
    let users_page = c
        .list_users(&UserQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .json()
        .await;
    let users_cursor = users_page["next_cursor"].as_str().unwrap().to_owned();
    let tokens_page = c
        .list_my_tokens(&PageQuery {
            limit: Some(1),
            cursor: None,
        })
        .await
        .json()
        .await;
    let tokens_cursor = tokens_page["next_cursor"].as_str().unwrap().to_owned();
    for (what, path) in [
        (
            "a users cursor with another sort",
            format!("/api/v1/users?sort=last_accessed&cursor={users_cursor}"),
        ),
        (
            "a users cursor with another order",
            format!("/api/v1/users?order=desc&cursor={users_cursor}"),
        ),
        (
            "a tokens cursor on the users list",
            format!("/api/v1/users?cursor={tokens_cursor}"),
        ),
        (
            "a users cursor on the activity list",
            format!("/api/v1/activity?cursor={users_cursor}"),
        ),
        (
            "a users cursor on the connections list",
            format!("/api/v1/connections?cursor={users_cursor}"),
        ),
        (
            "a users cursor whose key is a NUL",
            format!(
                "/api/v1/users?cursor={}",
                cursor_of(&json!({"s": "name", "o": "asc", "k": "\u{0}", "id": "x"}))
            ),
        ),
        (
            "a users cursor whose id is a NUL",
            format!(
                "/api/v1/users?cursor={}",
                cursor_of(&json!({"s": "name", "o": "asc", "k": "a", "id": "\u{0}"}))
            ),
        ),
        (
            "a connections cursor whose name is a NUL",
            format!(
                "/api/v1/connections?cursor={}",
                cursor_of(&json!({"n": "\u{0}", "id": "x"}))
            ),
        ),
        (
            "a governance cursor whose id is a NUL",
            format!(
                "/api/v1/connections/governance?cursor={}",
                cursor_of(&json!({"n": "a", "id": "\u{0}"}))
            ),
        ),
        (
            "a users cursor whose key has the wrong type",
            format!(
                "/api/v1/users?sort=access_level&cursor={}",
                cursor_of(&json!({"s": "access_level", "o": "asc", "k": "high", "id": "x"}))
            ),
        ),
        (
            "an activity cursor whose id is a NUL",
            format!(
                "/api/v1/activity?cursor={}",
                base64_of("2026-01-01T00:00:00Z|\u{0}")
            ),
        ),
    ] {
        cases.push(get(what, path, &token, INVALID));
    }
    for (what, query) in [
        ("an unknown sort", "/api/v1/users?sort=password"),
        ("sort in capitals", "/api/v1/users?sort=NAME"),
        ("an unknown order", "/api/v1/users?order=sideways"),
        ("an unknown access level", "/api/v1/users?access_level=root"),
        ("active not a boolean", "/api/v1/users?active=maybe"),
        ("an unknown parameter", "/api/v1/users?is_admin=true"),
        (
            "q of 201 characters",
            &format!("/api/v1/users?q={}", "q".repeat(201)),
        ),
        (
            "q of 60 000 characters",
            &format!("/api/v1/users?q={}", "q".repeat(60_000)),
        ),
        ("q with a NUL", "/api/v1/users?q=a%00b"),
        ("a people search without q", "/api/v1/people"),
        ("a people search of 1 character", "/api/v1/people?q=a"),
        ("a people search of spaces", "/api/v1/people?q=%20%20%20"),
        (
            "a people search of 101 characters",
            &format!("/api/v1/people?q={}", "q".repeat(101)),
        ),
        (
            "a people search of 60 000 characters",
            &format!("/api/v1/people?q={}", "q".repeat(60_000)),
        ),
        ("a people search with a NUL", "/api/v1/people?q=a%00b"),
        ("a people limit of 0", "/api/v1/people?q=ad&limit=0"),
        ("a people limit of 21", "/api/v1/people?q=ad&limit=21"),
        (
            "a people limit not a number",
            "/api/v1/people?q=ad&limit=ten",
        ),
        (
            "a people search with a cursor",
            "/api/v1/people?q=ad&cursor=x",
        ),
        ("from not a date", "/api/v1/activity?from=yesterday"),
        ("to not a date", "/api/v1/activity?to=2026-13-45T00:00:00Z"),
        (
            "an unknown activity parameter",
            "/api/v1/activity?password=1",
        ),
        ("an action with a NUL", "/api/v1/activity?action=user.%00"),
        ("an actor with a NUL", "/api/v1/activity?actor_user_id=%00"),
        ("a target with a NUL", "/api/v1/activity?target_id=a%00"),
        (
            "a target kind with a NUL",
            "/api/v1/activity?target_kind=%00",
        ),
        (
            "a connection with a NUL",
            "/api/v1/activity?connection_id=%00",
        ),
        ("an empty action", "/api/v1/activity?action="),
        (
            "a 201-character action",
            &format!("/api/v1/activity?action={}", "a".repeat(201)),
        ),
    ] {
        cases.push(get(what, query.to_owned(), &token, INVALID));
    }
    cases.push(get(
        "include_hidden not a boolean",
        format!("/api/v1/connections/{conn}/runs?include_hidden=maybe"),
        &token,
        INVALID,
    ));
    let query_cases = cases.len() - body_cases - field_cases - name_cases;

    // Path ids that are not ids.
    let odd_ids = [
        ("not a UUID", "not-a-uuid".to_owned()),
        ("a NUL", "%00".to_owned()),
        ("a UUID and a NUL", format!("{}%00", uuid::Uuid::now_v7())),
        ("a NUL and a UUID", format!("%00{conn}")),
        ("dot dot slash", "..%2F..%2Fsettings".to_owned()),
        (
            "a huge number",
            "99999999999999999999999999999999".to_owned(),
        ),
        ("5 000 characters", "a".repeat(5_000)),
        ("an emoji", "%F0%9F%98%80".to_owned()),
        ("invalid UTF-8", "%FF%FE".to_owned()),
        ("a quote", "%27%20OR%201%3D1--".to_owned()),
        ("a control character", "%01".to_owned()),
    ];
    for (what, odd) in &odd_ids {
        let paths = [
            (Method::GET, format!("/api/v1/users/{odd}"), None),
            (
                Method::PATCH,
                format!("/api/v1/users/{odd}"),
                Some(json!({"active": false})),
            ),
            (Method::GET, format!("/api/v1/connections/{odd}"), None),
            (
                Method::GET,
                format!("/api/v1/connections/{odd}/views"),
                None,
            ),
            (
                Method::PATCH,
                format!("/api/v1/connections/{odd}"),
                Some(json!({"name": "x"})),
            ),
            (Method::DELETE, format!("/api/v1/me/tokens/{odd}"), None),
            (Method::DELETE, format!("/api/v1/tokens/{odd}"), None),
            (Method::DELETE, format!("/api/v1/engine-tokens/{odd}"), None),
            (
                Method::DELETE,
                format!("/api/v1/connections/{conn}/views/{odd}"),
                None,
            ),
            (Method::GET, format!("/api/v1/activity/{odd}"), None),
            (
                Method::POST,
                format!("/api/v1/invitations/{odd}/accept"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/connections/{conn}/runs/{odd}/hide"),
                None,
            ),
            (
                Method::DELETE,
                format!("/api/v1/connections/{conn}/members/{odd}/roles/read_only"),
                None,
            ),
        ];
        for (method, path, body) in paths {
            let mut case = call(method, path, &token, body);
            case.what = format!("{} ({what})", case.what);
            cases.push(case);
        }
    }
    let path_cases = cases.len() - body_cases - field_cases - name_cases - query_cases;

    // Run every refusal; nothing may change.
    let mut failures = Vec::new();
    let mut before = snapshot(&app, None).await;
    let anonymous = app.anonymous();
    for case in &cases {
        let sent = anonymous.try_send::<Value>(case.request(&anonymous)).await;
        match sent.map(|answer| answer.into_inner()) {
            Ok(res) if res.status().is_server_error() => {
                failures.push(format!("{}: a 5xx ({})", case.what, res.status()));
                continue;
            }
            Ok(res) => {
                if let Some(why) = problem_mismatch(res, case.status, case.code).await {
                    failures.push(format!("{}: {why}", case.what));
                }
            }
            // Over the limit, the server answers without reading the rest of the body and
            // closes the connection: a client still writing may see it reset before it reads
            // the answer. Refused either way; the snapshot below still has to be unchanged.
            Err(e) if (case.status, case.code) == OVERSIZE && !e.is_timeout() => {}
            Err(e) => {
                failures.push(format!("{}: no answer ({e})", case.what));
                continue;
            }
        }
        let after = snapshot(&app, None).await;
        if let Some(why) = snapshot_diff(&before, &after) {
            failures.push(format!("{}: {why}", case.what));
            before = after;
        }
    }

    // What reqwest will not send. A body over the limit without a Content-Length (chunked) is
    // refused as the declared one is; bytes the HTTP parser rejects never reach the API and get
    // the parser's bare 400 (no problem body: nothing of ours runs), never a 5xx.
    let mut chunked = format!(
        "POST /api/v1/connections HTTP/1.1\r\nHost: hubkeep\r\nAuthorization: Bearer \
         {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n1\r\n{{\r\n"
    )
    .into_bytes();
    let piece = vec![b' '; 64 * 1024];
    for _ in 0..=BODY_LIMIT / piece.len() {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(&piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"1\r\n}\r\n0\r\n\r\n");
    let request_line = |target: &[u8]| {
        [
            b"GET ".as_slice(),
            target,
            b" HTTP/1.1\r\nHost: hubkeep\r\nAuthorization: Bearer ",
            token.as_bytes(),
            b"\r\nConnection: close\r\n\r\n",
        ]
        .concat()
    };
    let raw_cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        (
            "a chunked body over the limit",
            chunked,
            OVERSIZE.0,
            Some(OVERSIZE.1),
        ),
        (
            "a raw NUL in the path",
            request_line(b"/api/v1/users/a\0b"),
            400,
            None,
        ),
        (
            "raw invalid UTF-8 in the path",
            request_line(b"/api/v1/users/\xff\xfe"),
            400,
            None,
        ),
        (
            "a raw space in the path",
            request_line(b"/api/v1/users/a b"),
            400,
            None,
        ),
    ];
    let raw_count = raw_cases.len();
    for (what, request, status, code) in raw_cases {
        let (got, content_type, body) = raw_http(&app, request).await;
        let problem: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let ok = got == status
            && code.is_none_or(|code| {
                content_type == "application/problem+json" && problem["code"] == code
            });
        if !ok {
            failures.push(format!(
                "raw: {what}: expected {status} {code:?}, got {got} {content_type:?}: {}",
                body.chars().take(300).collect::<String>()
            ));
        }
        let after = snapshot(&app, None).await;
        if let Some(why) = snapshot_diff(&before, &after) {
            failures.push(format!("raw: {what}: {why}"));
            before = after;
        }
    }

    // Unicode a person may type is accepted and kept exactly as sent (trimmed).
    let accepted_names = [
        ("accents", "Ünïcödé Bücher #"),
        ("combining marks", "Cafe\u{301} e\u{300}\u{316} #"),
        ("a zero-width joiner sequence", "👩\u{200d}💻 team #"),
        ("a flag", "🇬🇧 books #"),
        ("emoji", "📚 Books 😀 #"),
        ("right-to-left text", "دفتر الحسابات #"),
        ("a right-to-left override", "invoice\u{202e}fdp.exe #"),
        ("zero-width spaces", "zero\u{200b}width #"),
        ("CJK", "会計帳簿 #"),
        ("surrounding spaces (trimmed)", "  padded # \t"),
    ];
    let mut accepted = 0;
    for (i, (what, name)) in accepted_names.iter().enumerate() {
        let sent = name.replace('#', &i.to_string());
        let want = sent.trim();
        let group = ConnectionPatch {
            group: Some(Some(sent.clone())),
            ..Default::default()
        };
        let (new_connection, new_view, new_token) = (
            NewConnection {
                name: sent.clone(),
                kind: "xero_power_bi".into(),
                timezone: None,
            },
            view_body(&sent, json!({})),
            CreateToken {
                name: sent.clone(),
                scope: TokenScope::Read,
                expires_at: None,
            },
        );
        let checks: [(&str, Pending<'_>, u16); 4] = [
            (
                "connection name",
                pending(c.create_connection(&new_connection)),
                201,
            ),
            ("view name", pending(c.create_view(&conn, &new_view)), 201),
            ("token name", pending(c.create_my_token(&new_token)), 201),
            (
                "group name",
                pending(c.update_connection(&conn, &group)),
                200,
            ),
        ];
        for (field, call, status) in checks {
            let res = call.await;
            accepted += 1;
            let got = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let stored = if field == "group name" {
                &body["group"]
            } else {
                &body["name"]
            };
            if got != status || stored.as_str() != Some(want) {
                failures.push(format!(
                    "{field} with {what}: expected {status} with {want:?}, got {got}: {body}"
                ));
            }
        }
    }
    // The boundary: exactly the longest name is accepted, one more character is not.
    let res = c
        .create_connection(&NewConnection {
            name: "é".repeat(200),
            kind: "xero_power_bi".into(),
            timezone: None,
        })
        .await;
    accepted += 1;
    if res.status() != 201 {
        failures.push(format!("a 200-character name: {}", res.status()));
    }
    let res = c
        .update_settings(&UpdateSettings {
            invitation_expiry_days: Some(30),
            ..Default::default()
        })
        .await;
    accepted += 1;
    if res.status() != 200 {
        failures.push(format!("the largest invitation expiry: {}", res.status()));
    }
    // The largest legitimate body fits under the limit: the most accounting mappings, every
    // code at its longest, every description at its longest in 3-byte characters.
    let mappings: Vec<AccountingMapping> = (0..1000)
        .map(|i| AccountingMapping {
            source_code: format!("{i:064}"),
            account_code: "4".repeat(64),
            description: "会".repeat(200),
        })
        .collect();
    let body = UpdateSettings {
        accounting_mappings: Some(mappings),
        ..Default::default()
    };
    let size = serde_json::to_string(&body).unwrap().len();
    assert!(size > 700 * 1024 && size < BODY_LIMIT, "{size} bytes");
    let res = c.update_settings(&body).await;
    accepted += 1;
    if res.status() != 200 {
        failures.push(format!(
            "the largest settings update ({size} bytes): {}",
            res.status()
        ));
    }

    let total = cases.len() + raw_count + accepted;
    summary(
        "bad input",
        &backend_name,
        &format!(
            "{total} cases: {} refused ({body_cases} malformed bodies, {field_cases} bad \
             fields, {name_cases} bad names, {query_cases} bad query strings, {path_cases} \
             bad path ids, {raw_count} raw HTTP), {accepted} unicode names and boundaries \
             accepted; database unchanged after each refusal",
            cases.len() + raw_count
        ),
        failures.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn cursor_of(value: &Value) -> String {
    base64_of(&value.to_string())
}

/// Sends raw bytes on a fresh connection (`Connection: close`) and reads the answer: for
/// requests reqwest will not send (chunked bodies, bytes a URL cannot hold). Answers the
/// status, the content type and the body as text.
async fn raw_http(app: &TestApp, request: Vec<u8>) -> (u16, String, String) {
    let address = app.address.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        // The server may answer and close before it has read everything: that is fine.
        for chunk in request.chunks(64 * 1024) {
            if stream.write_all(chunk).is_err() {
                break;
            }
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let content_type = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        (status, content_type, body.to_owned())
    })
    .await
    .unwrap()
}
