//! Sign in with OpenID Connect (SPEC S13) end to end: the real `hubkeep` binary in demo mode,
//! a real OpenID provider (the certified npm `oidc-provider`, `e2e/oidc/provider.mjs`) and
//! headless Chromium clicking through the provider's login page. Chromium's NetLog records
//! every request the browser makes, so the test can show that no token ever appears in a URL.
//!
//! Needs the console built into `web/dist` (`just web`), `chromium` + `chromedriver`, node and
//! `just setup`'s `e2e/oidc/node_modules`.

use hubkeep_e2e::browser::{Browser, SESSION_KEY, demo_launch};
use hubkeep_e2e::oidc::{OidcProvider, PASSWORD};
use hubkeep_e2e::{Server, ServerOptions, free_port};
use serde_json::{Value, json};

/// Margaret Chen, the demo's first (primary) user.
const PRIMARY: i64 = 29682885;
/// Laura Whitfield, Finance Manager (level 2, in the demo's Access-tab set: elevated).
const LAURA: i64 = 29682923;
const CLIENT_ID: &str = "hubkeep-e2e";
const CLIENT_SECRET: &str = "hubkeep-e2e-client-secret";

/// The demo server on a port known in advance (the provider must know the redirect URI),
/// its log in `log`.
fn start_hub(port: u16, data_dir: &std::path::Path, log: &std::path::Path) -> Server {
    Server::start_with(
        data_dir,
        &ServerOptions {
            bind: Some(format!("127.0.0.1:{port}")),
            extra: vec!["--demo".to_owned()],
            env: vec![("HUBKEEP_OIDC__ALLOW_HTTP".to_owned(), "true".to_owned())],
            log_file: Some(log.to_owned()),
            ..ServerOptions::default()
        },
    )
}

/// The signed-in user as the API sees the browser's stored session.
async fn signed_in_user(browser: &Browser, hub: &Server) -> Value {
    let stored = browser
        .js(
            "return window.sessionStorage.getItem(arguments[0]);",
            vec![json!(SESSION_KEY)],
        )
        .await;
    let session: Value = serde_json::from_str(stored.as_str().expect("a stored session")).unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let me: Value = reqwest::Client::new()
        .get(hub.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json!({ "token": token, "refresh": session["refresh_token"], "me": me })
}

#[tokio::test]
async fn s13_chromium_signs_in_at_the_provider_and_again_without_a_prompt() {
    let port = free_port();
    let provider = OidcProvider::start(
        CLIENT_ID,
        CLIENT_SECRET,
        &format!("http://127.0.0.1:{port}/api/v1/auth/oidc/callback"),
    );
    let data_dir = tempfile::tempdir().unwrap();
    let hub_log = data_dir.path().join("hub.log");
    let hub = start_hub(port, data_dir.path(), &hub_log);
    hub.wait_ready(&reqwest::Client::new()).await;

    // The primary user turns OIDC sign-in on.
    let primary = demo_launch(&hub.base, PRIMARY).await;
    let res = reqwest::Client::new()
        .put(hub.url("/api/v1/settings"))
        .bearer_auth(primary["access_token"].as_str().unwrap())
        .json(
            &json!({"oidc": {"issuer": provider.issuer, "client_id": CLIENT_ID,
                               "client_secret": CLIENT_SECRET, "label": "Northwind SSO"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let netlog = data_dir.path().join("netlog.json");
    let browser = Browser::start_with_args(
        &hub.base,
        1280,
        800,
        &[format!("--log-net-log={}", netlog.display())],
    )
    .await;
    browser.goto("/t/demo").await;
    let button = browser.wait_for("#oidc-sign-in").await;
    assert_eq!(
        button.text().await.unwrap().trim(),
        "Sign in with Northwind SSO"
    );
    browser.click("#oidc-sign-in").await;
    // The provider's own login page.
    browser.wait_for("#login").await;
    browser.type_into("#login", "laura.whitfield").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#submit").await;
    browser.wait_for("#signed-in-user[data-user-id]").await;
    let first = signed_in_user(&browser, &hub).await;
    assert_eq!(first["me"]["user"]["psa_resource_id"], LAURA, "{first}");
    assert_eq!(first["me"]["user"]["access_level"], "elevated", "{first}");
    let path = browser.path().await;
    assert!(!path.contains("code="), "the fragment is cleared: {path}");

    // The session ends (revoked on the server); the console reauthorizes with prompt=none and
    // the provider, still holding its session, answers without a login page.
    let res = reqwest::Client::new()
        .post(hub.url("/api/v1/auth/logout"))
        .bearer_auth(first["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    browser.goto("/users").await;
    browser
        .wait_until(
            "a new session",
            "const s = window.sessionStorage.getItem(arguments[0]);
             return !!s && JSON.parse(s).access_token !== arguments[1]
                 && !!document.querySelector('#signed-in-user[data-user-id]');",
            vec![json!(SESSION_KEY), first["token"].clone()],
        )
        .await;
    let second = signed_in_user(&browser, &hub).await;
    assert_eq!(second["me"]["user"]["psa_resource_id"], LAURA, "{second}");
    let logins = provider.log().matches("signed in").count();
    let grants = provider.log().matches("token issued").count();
    assert_eq!(
        grants,
        2,
        "two sign-ins reached the token endpoint:\n{}",
        provider.log()
    );

    // Signing out in the console goes to the tenant's page and signs nobody in again, even
    // though the provider's session lasts.
    browser.click("#sign-out").await;
    browser.wait_for("#oidc-sign-in").await;
    assert!(
        browser.path().await.starts_with("/t/demo"),
        "{}",
        browser.path().await
    );
    browser.goto("/connections").await;
    browser.wait_for("main.signin").await;
    browser.wait_loaded().await;
    assert!(
        !browser.exists("#signed-in-user").await,
        "{}",
        browser.describe().await
    );
    assert_eq!(
        provider.log().matches("token issued").count(),
        grants,
        "no silent sign-in after a sign-out"
    );
    assert_eq!(
        logins,
        1,
        "one password login, the second was silent:\n{}",
        provider.log()
    );
    browser.close().await;

    // A callback whose code the provider refuses is logged (a warning, in the request's
    // span): the log names the path, never the query with the state and the code.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .get(hub.url("/api/v1/auth/oidc/demo/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let res = http
        .get(hub.url(&format!(
            "/api/v1/auth/oidc/callback?state={state}&code=NOT-A-CODE-7f3a9c"
        )))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the provider refuses the code");
    let server_log = std::fs::read_to_string(&hub_log).unwrap_or_default();
    assert!(
        server_log.contains("OpenID code exchange failed"),
        "the refusal is logged:\n{server_log}"
    );
    assert!(
        !server_log.contains("NOT-A-CODE-7f3a9c"),
        "the code is in the log"
    );
    assert!(!server_log.contains(&state), "the state is in the log");

    // Every URL the browser asked for: no token, no ID token, no one-time code in a query.
    let log = std::fs::read_to_string(&netlog).expect("Chromium wrote its NetLog");
    let urls = urls_in(&log);
    assert!(
        urls.iter()
            .any(|u| u.contains("/api/v1/auth/oidc/callback?")),
        "the log has the flow"
    );
    for secret in [
        &first["token"],
        &first["refresh"],
        &second["token"],
        &second["refresh"],
    ] {
        let secret = secret.as_str().unwrap();
        assert!(
            !log.contains(secret),
            "a token appears in a recorded request"
        );
    }
    for url in &urls {
        for name in ["access_token", "refresh_token", "id_token", "assertion="] {
            assert!(!url.contains(name), "{name} in {url}");
        }
        assert!(!url.contains("eyJ"), "a JWT in {url}");
    }
    hub.kill();
}

/// The URLs of a NetLog (its `"url"` parameters).
fn urls_in(log: &str) -> Vec<String> {
    let mut urls = Vec::new();
    let mut rest = log;
    while let Some(at) = rest.find("\"url\":\"") {
        rest = &rest[at + 7..];
        if let Some(end) = rest.find('"') {
            urls.push(rest[..end].to_owned());
        }
    }
    urls
}
