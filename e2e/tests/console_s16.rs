//! SPEC S16 in a real browser (headless Chromium) against the real `hubkeep` binary in demo
//! mode: the connection page's tabs by address, the settings form (several fields in one
//! request, Cancel, the leave-page question), and the people picker inviting someone found
//! by part of their name.
//!
//! Needs what `e2e/tests/console.rs` needs: the console built (`just web`), the `hubkeep`
//! binary, `chromium` + `chromedriver`.

use hubkeep_e2e::Server;
use hubkeep_e2e::api::{Api, token, user_id};
use hubkeep_e2e::browser::{Browser, demo_launch};
use serde_json::{Value, json};

const DESKTOP: (u32, u32) = (1280, 800);

/// Margaret Chen, Administrator: the first sign-in, so the primary (elevated) user.
const PRIMARY: i64 = 29682885;
/// Marcus Bell, Service Desk Manager: limited (not elevated).
const MARCUS: i64 = 29682951;
/// Rachel Lindqvist, Billing Coordinator: limited.
const RACHEL: i64 = 29682999;

async fn demo() -> (tempfile::TempDir, Server, Api) {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let api = Api::new(&server);
    (data_dir, server, api)
}

/// A Xero → Power BI connection (it has views and the financial settings), both endpoints
/// connected, owned by `owner`.
async fn power_bi_connection(api: &Api, owner: &str, name: &str) -> String {
    let id = api.create_connection(owner, name, "xero_power_bi").await;
    for side in ["source", "target"] {
        api.reconnect(owner, &id, side).await;
    }
    id
}

/// Counts the console's `PATCH` requests from now on (`window.__patches`).
const COUNT_PATCHES: &str = r#"
    if (!window.__countingPatches) {
        window.__countingPatches = true;
        window.__patches = 0;
        window.__bodies = [];
        const original = window.fetch;
        window.fetch = function (...args) {
            const method = (args[0] && args[0].method) || (args[1] && args[1].method) || 'GET';
            if (method.toUpperCase() === 'PATCH') {
                window.__patches += 1;
                if (args[0] && args[0].clone) args[0].clone().text().then(t => window.__bodies.push(t));
            }
            return original.apply(this, args);
        };
    }
    return true;
"#;

#[tokio::test]
async fn s16_each_connection_tab_has_its_own_address() {
    let (_dir, server, api) = demo().await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let id = power_bi_connection(&api, &token(&primary), "Tabbed reporting").await;
    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;

    for tab in ["overview", "members", "sync", "views", "settings"] {
        browser.goto(&format!("/connections/{id}/{tab}")).await;
        browser.wait_for(&format!("#tab-panel-{tab}")).await;
        browser.wait_loaded().await;
        assert_eq!(
            browser
                .all_attrs("#connection-tabs a[aria-current=page]", "data-tab")
                .await,
            vec![tab.to_owned()],
            "the current tab is marked on /{tab}"
        );
        assert_eq!(browser.count(".tab-panel").await, 1, "one panel on /{tab}");
    }
    // What each tab holds.
    browser.goto(&format!("/connections/{id}/members")).await;
    browser.wait_for("#members").await;
    browser.wait_for("#invitations").await;
    assert!(!browser.exists("#runs").await && !browser.exists("#settings").await);
    browser.goto(&format!("/connections/{id}/views")).await;
    browser.wait_for("#tab-panel-views #views").await;

    // The bare address is the overview; an unknown tab says so inside the page.
    browser.goto(&format!("/connections/{id}")).await;
    browser.wait_for("#tab-panel-overview #overview").await;
    browser.goto(&format!("/connections/{id}/nonsense")).await;
    browser.wait_for("#tab-unknown").await;

    // Following a tab link moves without reloading the page (the connection stays loaded).
    browser.goto(&format!("/connections/{id}/overview")).await;
    browser.wait_for("#tab-panel-overview").await;
    browser
        .js("window.__samePage = true; return true;", vec![])
        .await;
    browser.click("#tab-sync").await;
    browser.wait_for("#tab-panel-sync").await;
    assert_eq!(browser.path().await, format!("/connections/{id}/sync"));
    assert_eq!(
        browser
            .js("return window.__samePage === true;", vec![])
            .await,
        json!(true)
    );

    // A kind without views offers no Views tab, and its address says there are none.
    let sync = api
        .post(
            &token(&primary),
            "/connections",
            json!({"name": "No views", "kind": "autotask_quickbooks", "timezone": "UTC"}),
        )
        .await;
    let sync = sync["id"].as_str().unwrap().to_owned();
    browser.goto(&format!("/connections/{sync}/views")).await;
    browser.wait_for("#views-none").await;
    assert!(
        !browser.exists("#tab-views").await,
        "no Views tab for autotask_quickbooks"
    );

    browser.close().await;
}

/// SPEC S16: times in the viewer's zone with UTC on hover, runs also in the connection's
/// zone, and the activity date filters read in the viewer's zone. The browser runs in
/// Pacific/Chatham (UTC+13:45 in December), which no formatting in UTC could pass for.
#[tokio::test]
async fn s16_times_show_in_the_viewers_zone_with_utc_on_hover() {
    let (_dir, server, api) = demo().await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let t = token(&primary);
    let id = power_bi_connection(&api, &t, "Zoned").await;
    api.post(&t, &format!("/connections/{id}/runs"), json!({}))
        .await;
    let browser =
        Browser::start_in_zone(&server.base, DESKTOP.0, DESKTOP.1, "Pacific/Chatham").await;
    browser.use_session(&primary).await;
    assert_eq!(
        browser
            .js(
                "return Intl.DateTimeFormat().resolvedOptions().timeZone;",
                vec![]
            )
            .await,
        json!("Pacific/Chatham")
    );

    browser.goto("/activity").await;
    browser.wait_for("#activity-table time[datetime]").await;
    let shown = browser
        .js(
            "const t = document.querySelector('#activity-table time[datetime]');
             return [t.textContent, t.getAttribute('title'), t.getAttribute('datetime')];",
            vec![],
        )
        .await;
    let shown: Vec<String> = serde_json::from_value(shown).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(&shown[2]).unwrap();
    let chatham = at.with_timezone(&chrono::FixedOffset::east_opt(13 * 3600 + 45 * 60).unwrap());
    assert!(
        shown[0].contains(&chatham.format("%H:%M").to_string()) && shown[0].contains("GMT+13:45"),
        "the time in the viewer's zone: {shown:?}"
    );
    assert_eq!(
        shown[1],
        at.format("%Y-%m-%d %H:%M UTC").to_string(),
        "UTC on hover"
    );

    // A run: the viewer's time, and the connection's (Europe/London) beside it.
    browser.goto(&format!("/connections/{id}/sync")).await;
    browser
        .wait_for("tr[data-run-id] [data-connection-zone]")
        .await;
    let zone_text = browser
        .js(
            "return document.querySelector('tr[data-run-id] [data-connection-zone]').textContent;",
            vec![],
        )
        .await;
    assert!(
        zone_text
            .as_str()
            .is_some_and(|z| z.contains("GMT") || z.contains("UTC")),
        "the run time in the connection's zone: {zone_text}"
    );

    // The date filters are the viewer's: 2026-12-01 00:00 in Chatham is 2026-11-30 10:15 UTC.
    browser.goto("/activity").await;
    browser.wait_for("#activity-from").await;
    browser
        .js(
            "const i = document.querySelector('#activity-from');
             const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
             set.call(i, '2026-12-01T00:00');
             i.dispatchEvent(new Event('input', {bubbles: true}));
             return true;",
            vec![],
        )
        .await;
    browser.click("#activity-apply").await;
    browser
        .wait_until(
            "the filter in the address",
            "return new URLSearchParams(location.search).get('from') === '2026-11-30T10:15:00Z';",
            vec![],
        )
        .await;
    // And back: the address's instant shows as the viewer's local time in the field.
    browser.goto("/activity?from=2026-11-30T10:15:00Z").await;
    browser
        .wait_until(
            "the field in local time",
            "return document.querySelector('#activity-from')?.value === '2026-12-01T00:00';",
            vec![],
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn s16_settings_save_several_fields_in_one_request_and_cancel_restores() {
    let (_dir, server, api) = demo().await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let t = token(&primary);
    let id = power_bi_connection(&api, &t, "Board pack").await;
    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;
    browser.goto(&format!("/connections/{id}/settings")).await;
    browser.wait_for("#settings-form[data-dirty=false]").await;
    browser.wait_loaded().await;
    assert!(
        browser.exists("#settings-save[disabled]").await,
        "nothing to save yet"
    );

    // Cancel restores what is saved.
    browser.type_into("#setting-name", "Something else").await;
    browser.wait_for("#settings-form[data-dirty=true]").await;
    browser.click("#settings-cancel").await;
    browser.wait_for("#settings-form[data-dirty=false]").await;
    assert_eq!(
        browser
            .js(
                "return document.querySelector('#setting-name').value;",
                vec![]
            )
            .await,
        json!("Board pack")
    );

    // Leaving with unsaved changes asks first; declining stays.
    browser.type_into("#setting-name", "Unsaved name").await;
    browser.wait_for("#settings-form[data-dirty=true]").await;
    browser
        .js("window.__asked = 0; window.confirm = () => { window.__asked += 1; return false; }; return true;", vec![])
        .await;
    browser.click("#tab-overview").await;
    assert_eq!(browser.js("return window.__asked;", vec![]).await, json!(1));
    assert_eq!(browser.path().await, format!("/connections/{id}/settings"));
    browser.click("#settings-cancel").await;
    browser.wait_for("#settings-form[data-dirty=false]").await;

    // Three fields, one PATCH.
    browser.js(COUNT_PATCHES, vec![]).await;
    browser.type_into("#setting-name", "Board pack (EU)").await;
    browser
        .type_into("#setting-timezone", "America/New_York")
        .await;
    browser.select("#setting-reporting-currency", "EUR").await;
    browser.click("#setting-locked-period-export").await;
    browser.click("#settings-save").await;
    browser.wait_for("#settings-form[data-dirty=false]").await;
    browser
        .wait_until(
            "the saved name on the page",
            "return document.querySelector('#connection-name-heading')?.textContent === 'Board pack (EU)';",
            vec![],
        )
        .await;
    assert_eq!(
        browser.js("return window.__patches;", vec![]).await,
        json!(1),
        "one request"
    );
    // …carrying exactly the four fields that changed.
    browser
        .wait_until(
            "the body read",
            "return window.__bodies.length === 1;",
            vec![],
        )
        .await;
    let body = browser.js("return window.__bodies[0];", vec![]).await;
    let body: Value = serde_json::from_str(body.as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"name": "Board pack (EU)", "timezone": "America/New_York",
               "reporting_currency": "EUR", "locked_period_export": true}),
        "only what changed"
    );
    let c = api.get(&t, &format!("/connections/{id}")).await;
    assert_eq!(c["name"], "Board pack (EU)");
    assert_eq!(c["timezone"], "America/New_York");
    assert_eq!(c["reporting_currency"], "EUR");
    assert_eq!(c["locked_period_export"], true);

    // A refused value is shown and nothing is sent.
    browser.type_into("#setting-timezone", "Mars/Olympus").await;
    browser.click("#settings-save").await;
    browser.wait_for("#settings-errors [role=alert]").await;
    assert_eq!(
        browser.js("return window.__patches;", vec![]).await,
        json!(1),
        "no request"
    );
    browser.click("#settings-cancel").await;
    browser.wait_for("#settings-form[data-dirty=false]").await;
    browser.close().await;
}

#[tokio::test]
async fn s16_the_people_picker_finds_a_person_by_part_of_a_name_and_invites_them() {
    let (_dir, server, api) = demo().await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let marcus = demo_launch(&server.base, MARCUS).await;
    let rachel = demo_launch(&server.base, RACHEL).await;
    let t = token(&primary);
    let id = power_bi_connection(&api, &t, "Shared reporting").await;
    // Marcus, limited in the hub, is a business administrator here: an inviter.
    api.invite_and_accept(
        &t,
        &id,
        &user_id(&marcus),
        "business_admin",
        None,
        &token(&marcus),
    )
    .await;

    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&marcus).await;
    browser.goto(&format!("/connections/{id}/members")).await;
    browser.wait_for("#invite-form").await;
    browser.wait_loaded().await;
    browser.type_into("#invite-email", "lindq").await;
    let option = format!(
        "#invite-email-options [role=option][data-user-id=\"{}\"]",
        user_id(&rachel)
    );
    browser.wait_for(&option).await;
    assert_eq!(
        browser.attrs("#invite-email", "aria-expanded").await,
        vec!["true".to_owned()],
        "the combobox says its list is open"
    );
    browser.click(&option).await;
    browser
        .wait_for(&format!(
            "#invite-email[data-chosen-user-id=\"{}\"]",
            user_id(&rachel)
        ))
        .await;
    browser.select("#invite-role", "read_only").await;
    browser.click("#invite-submit").await;
    browser.wait_for("#invitations [data-invitation-id]").await;

    let list = api.get(&t, &format!("/connections/{id}/invitations")).await;
    let pending: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{list}");
    assert_eq!(pending[0]["invitee"]["user_id"], json!(user_id(&rachel)));
    assert_eq!(pending[0]["role"], "read_only");

    // The keyboard works too: arrows move, Enter chooses.
    browser.type_into("#invite-email", "chen").await;
    browser
        .wait_for("#invite-email-options [role=option]")
        .await;
    browser
        .js(
            "const i = document.querySelector('#invite-email');
             i.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown', bubbles: true}));
             i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
             return true;",
            vec![],
        )
        .await;
    browser
        .wait_for(&format!(
            "#invite-email[data-chosen-user-id=\"{}\"]",
            user_id(&primary)
        ))
        .await;
    browser.close().await;
}

/// SPEC S16 (people picker in recovery) and S5.4: an elevated user recovers an orphaned
/// connection by choosing the new owner in the picker.
#[tokio::test]
async fn s16_recovery_chooses_the_new_owner_with_the_people_picker() {
    let (_dir, server, api) = demo().await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let marcus = demo_launch(&server.base, MARCUS).await;
    let rachel = demo_launch(&server.base, RACHEL).await;
    let t = token(&primary);
    // Marcus becomes the owner, then loses hub access: the connection is orphaned.
    let id = power_bi_connection(&api, &t, "Orphaned reporting").await;
    api.invite_and_accept(&t, &id, &user_id(&marcus), "owner", None, &token(&marcus))
        .await;
    let (status, body) = api
        .call(
            reqwest::Method::PATCH,
            &t,
            &format!("/users/{}", user_id(&marcus)),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;
    browser.goto("/connections?view=all").await;
    let row = format!("tr[data-connection-id=\"{id}\"][data-orphaned=true]");
    browser.wait_for(&row).await;
    browser.wait_loaded().await;
    browser
        .click(&format!("{row} button[data-hub-action=govern_connections]"))
        .await;
    browser.wait_for("#recover-ownership #recover-user").await;
    browser.type_into("#recover-user", "lindq").await;
    let option = format!(
        "#recover-user-options [role=option][data-user-id=\"{}\"]",
        user_id(&rachel)
    );
    browser.wait_for(&option).await;
    browser.click(&option).await;
    browser.click("#recover-submit").await;
    browser.wait_gone("#recover-ownership").await;
    // The primary kept no role on it; the new owner sees it as hers.
    let c = api
        .get(&token(&rachel), &format!("/connections/{id}"))
        .await;
    assert_eq!(c["owner"]["id"], json!(user_id(&rachel)), "{c}");
    assert_eq!(c["my_roles"], json!(["owner"]), "{c}");
    browser.close().await;
}
