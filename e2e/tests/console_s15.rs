//! SPEC S15 in a real browser (headless Chromium) against the real `hubkeep` binary in demo
//! mode, which has no SMTP server: an invitation's email is written to `data/outbox/*.eml`
//! and shown on the console's Outbox page; each person sets their email preferences on a
//! page of their own.
//!
//! Needs what `e2e/tests/console.rs` needs: the console built (`just web`), the `hubkeep`
//! binary, `chromium` + `chromedriver`.

use std::time::{Duration, Instant};

use hubkeep_e2e::Server;
use hubkeep_e2e::api::{Api, token};
use hubkeep_e2e::browser::{Browser, demo_launch};
use serde_json::json;

const DESKTOP: (u32, u32) = (1280, 800);
/// Margaret Chen: the first sign-in, so the primary (elevated) user.
const PRIMARY: i64 = 29682885;
/// Marcus Bell, Service Desk Manager: limited.
const MARCUS: i64 = 29682951;

#[tokio::test]
async fn s15_the_demo_outbox_shows_an_invitations_email_and_writes_its_eml_file() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let api = Api::new(&server);
    let primary = demo_launch(&server.base, PRIMARY).await;
    let pt = token(&primary);
    let books = api
        .create_connection(&pt, "Demo books", "autotask_xero")
        .await;
    api.post(
        &pt,
        &format!("/connections/{books}/invitations"),
        json!({"email": "new.accountant@example.com", "role": "read_only"}),
    )
    .await;

    // The sender writes the file (no SMTP server in the demo).
    let outbox_dir = data_dir.path().join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    let eml = loop {
        let found = std::fs::read_dir(&outbox_dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if let Some(path) = found.first() {
            break std::fs::read_to_string(path).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "an .eml file in {}",
            outbox_dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(eml.contains("To: new.accountant@example.com"), "{eml}");

    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;
    browser.goto("/outbox").await;
    browser.wait_for("#outbox tr[data-status=sent]").await;
    browser.wait_loaded().await;
    let to = browser
        .js(
            "return document.querySelector('#outbox .outbox-to').textContent;",
            vec![],
        )
        .await;
    assert_eq!(to, "new.accountant@example.com");
    browser.click("#outbox .outbox-subject").await;
    let body = browser
        .js(
            "return document.querySelector('#outbox .outbox-body').textContent;",
            vec![],
        )
        .await;
    let body = body.as_str().unwrap_or_default().to_owned();
    assert!(
        body.contains("Read-only on the connection Demo books"),
        "{body}"
    );
    assert!(
        body.contains(&format!("{}/invitations", server.base)),
        "{body}"
    );
    // A sent message has nothing to retry.
    assert_eq!(browser.count("#outbox .outbox-retry").await, 0);
    // The link in the message opens the console's invitations page.
    browser.goto("/invitations").await;
    browser.wait_for("#signed-in-user[data-user-id]").await;

    // A limited user neither sees the outbox in the navigation nor reads it.
    let marcus = demo_launch(&server.base, MARCUS).await;
    browser.use_session(&marcus).await;
    browser.goto("/outbox").await;
    browser.wait_for("#signed-in-user[data-user-id]").await;
    browser.wait_loaded().await;
    assert!(!browser.exists("nav a[data-nav=outbox]").await);
    assert!(!browser.exists("#outbox").await);
    browser.close().await;
}

#[tokio::test]
async fn s15_a_person_turns_an_email_category_off_and_cancel_restores_the_form() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let api = Api::new(&server);
    // The primary signs in first (the first sign-in must be eligible for elevation).
    demo_launch(&server.base, PRIMARY).await;
    let marcus = demo_launch(&server.base, MARCUS).await;
    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&marcus).await;
    browser.goto("/preferences").await;
    browser.wait_for("#preferences-form").await;
    browser.wait_loaded().await;
    assert!(browser.exists("nav a[data-nav=preferences]").await);
    let checked = |id: &'static str| {
        let browser = &browser;
        async move {
            browser
                .js(
                    &format!("return document.getElementById('{id}').checked;"),
                    vec![],
                )
                .await
        }
    };
    assert_eq!(checked("pref-invitation_updates").await, true);

    // Cancel puts the box back and sends nothing.
    browser.click("#pref-hub_access").await;
    browser.wait_for("#preferences-form[data-dirty=true]").await;
    browser.click("#preferences-cancel").await;
    browser
        .wait_for("#preferences-form[data-dirty=false]")
        .await;
    assert_eq!(checked("pref-hub_access").await, true);

    browser.click("#pref-invitation_updates").await;
    browser.click("#preferences-save").await;
    browser
        .wait_for("#preferences-form[data-dirty=false]")
        .await;
    let saved = api.get(&token(&marcus), "/me/preferences").await;
    assert_eq!(
        saved,
        json!({"invitations": true, "invitation_updates": false, "ownership": true, "hub_access": true})
    );
    // Read back on a fresh load.
    browser.goto("/preferences").await;
    browser.wait_for("#preferences-form").await;
    browser.wait_loaded().await;
    assert_eq!(checked("pref-invitation_updates").await, false);
    browser.close().await;
}

#[tokio::test]
async fn s15_an_administrator_names_the_sender_of_the_tenants_emails() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let api = Api::new(&server);
    let primary = demo_launch(&server.base, PRIMARY).await;
    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;
    browser.goto("/settings").await;
    browser.wait_for("#settings-email-sender").await;
    browser.wait_loaded().await;
    browser
        .type_into("#settings-email-sender", "Northwind Service Desk")
        .await;
    browser.click("#settings-save").await;
    browser
        .wait_until(
            "the saved sender name shows",
            "return document.getElementById('settings-email-sender-value')?.textContent === arguments[0];",
            vec![json!("Northwind Service Desk")],
        )
        .await;
    let settings = api.get(&token(&primary), "/settings").await;
    assert_eq!(settings["email_sender_name"], "Northwind Service Desk");
    browser.close().await;
}
