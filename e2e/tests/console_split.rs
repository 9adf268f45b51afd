//! SPEC S16 (the console's weight) in a real browser against the real `hubkeep` binary: the
//! console's WASM is split per group of pages (`lazy_pages!` in web/src/lib.rs,
//! `scripts/build-web.sh`), so a page fetches its own group's module the first time it is
//! shown and never another group's; a group's module that cannot be fetched leaves a message
//! with a reload, and the rest of the console keeps working.
//!
//! Needs what `e2e/tests/console.rs` needs: the console built (`just web`), the `hubkeep`
//! binary, `chromium` + `chromedriver`.

use std::path::Path;

use hubkeep_e2e::browser::{Browser, demo_launch};
use hubkeep_e2e::{Server, ServerOptions, web_dist};
use serde_json::Value;

const DESKTOP: (u32, u32) = (1280, 800);

/// Margaret Chen, Administrator: the first sign-in, so the primary (elevated) user.
const PRIMARY: i64 = 29682885;

/// Every group of pages the build split off (`split_<group>-<hash>.wasm` in the build).
const GROUPS: [&str; 6] = [
    "sign_in_with_oidc",
    "connections",
    "yours",
    "activity",
    "people",
    "administration",
];

/// The groups whose modules this page has fetched so far (its resource timing entries).
async fn groups_fetched(browser: &Browser) -> Vec<String> {
    let names = browser
        .js(
            "return performance.getEntriesByType('resource').map(e => e.name);",
            vec![],
        )
        .await;
    let names: Vec<String> = serde_json::from_value(names).expect("a list of URLs");
    let mut groups: Vec<String> = GROUPS
        .iter()
        .filter(|group| {
            names.iter().any(|url| {
                url.rsplit('/')
                    .next()
                    .is_some_and(|file| file.starts_with(&format!("split_{group}-")))
            })
        })
        .map(|group| (*group).to_owned())
        .collect();
    groups.sort();
    groups
}

/// The files of the build in `dir` (its `.build-files`: a previous build's files carried
/// over for open tabs are not in it) whose name starts with `prefix`.
fn built_files(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(".build-files"))
        .expect("the build lists its files")
        .lines()
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn s16_the_build_has_a_module_per_group_of_pages_with_precompressed_copies() {
    let dist = web_dist();
    for group in GROUPS {
        let files = built_files(&dist, &format!("split_{group}-"));
        let mut kinds: Vec<&str> = files
            .iter()
            .map(|f| f.rsplit_once(".wasm").map_or("?", |(_, rest)| rest))
            .collect();
        kinds.sort_unstable();
        assert_eq!(kinds, ["", ".br", ".gz"], "{group}: {files:?}");
    }
    assert_eq!(
        built_files(&dist, "hubkeep-split-").len(),
        3,
        "one loader, with its .br and .gz"
    );
}

#[tokio::test]
async fn s16_a_page_fetches_its_own_group_of_pages_and_no_other() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;

    browser.goto("/connections").await;
    browser.wait_for("#panel-connections").await;
    browser.wait_loaded().await;
    assert_eq!(groups_fetched(&browser).await, ["connections"]);

    // Within the console (no page load): the activity log's group comes on first use.
    browser.click("#nav a[data-nav=activity]").await;
    browser.wait_for("#activity-filters").await;
    browser.wait_loaded().await;
    assert_eq!(groups_fetched(&browser).await, ["activity", "connections"]);

    // And back: nothing fetched twice, nothing else fetched.
    browser.click("#nav a[data-nav=connections]").await;
    browser.wait_for("#panel-connections").await;
    browser.wait_loaded().await;
    assert_eq!(groups_fetched(&browser).await, ["activity", "connections"]);
    let fetched = browser
        .js(
            "return performance.getEntriesByType('resource')
                .filter(e => /\\/split_connections-/.test(e.name)).length;",
            vec![],
        )
        .await;
    assert_eq!(fetched, Value::from(1), "the connections module once");
    browser.close().await;
}

#[tokio::test]
async fn s16_a_group_that_cannot_be_fetched_shows_a_reload_and_the_rest_still_works() {
    // A copy of the build without the activity group's module (as after a deploy that
    // replaced the build under an open tab, or a network that dropped the request).
    let web = tempfile::tempdir().expect("temp dir");
    let dist = web_dist();
    for entry in std::fs::read_dir(&dist).expect("the built console is readable") {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name().into_string().expect("a UTF-8 name");
        if !name.starts_with("split_activity-") {
            std::fs::copy(entry.path(), web.path().join(&name)).expect("copied");
        }
    }
    let files = std::fs::read_dir(web.path()).expect("the copy is readable");
    assert!(
        files
            .filter_map(|e| e.expect("a directory entry").file_name().into_string().ok())
            .all(|name| !name.starts_with("split_activity-"))
    );

    let data_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        data_dir.path(),
        &ServerOptions {
            web_dir: Some(web.path().to_owned()),
            extra: vec!["--demo".to_owned()],
            ..ServerOptions::default()
        },
    );
    server.wait_ready(&reqwest::Client::new()).await;
    let primary = demo_launch(&server.base, PRIMARY).await;
    let browser = Browser::start(&server.base, DESKTOP.0, DESKTOP.1).await;
    browser.use_session(&primary).await;

    browser.goto("/activity").await;
    let alert = browser.wait_for("#page-load-failed").await;
    let text = alert.text().await.expect("the message's text");
    assert!(text.contains("could not be loaded"), "{text}");
    assert!(browser.exists("#page-load-failed button").await);
    assert!(!browser.exists("#activity-filters").await);
    // The shell is there, and another group's page works.
    assert!(browser.exists("#signed-in-user[data-user-id]").await);
    browser.click("#nav a[data-nav=connections]").await;
    browser.wait_for("#panel-connections").await;
    assert!(!browser.exists("#page-load-failed").await);
    browser.close().await;
}
