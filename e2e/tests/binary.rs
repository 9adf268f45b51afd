//! The real `hubkeep` binary, over HTTP and in a real headless browser.

use std::process::Command;

use hubkeep_e2e::Server;

#[tokio::test]
async fn binary_serves_probes_permissions_docs_and_the_console_then_stops_cleanly() {
    let server = Server::start();
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;

    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let matrix: serde_json::Value = client
        .get(server.url("/api/v1/permissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = matrix["hub_actions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(matrix["connection_actions"].as_array().unwrap())
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for expected in [
        "manage_users",
        "govern_connections",
        "transfer_ownership",
        "pay",
        "ungroup",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }

    // The console's HTML loads its WASM, and the WASM is served as such.
    let html = client
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wasm_path = html
        .split(['\'', '"'])
        .find(|s| s.ends_with(".wasm"))
        .expect("index.html references a .wasm file")
        .to_owned();
    let wasm = client.get(server.url(&wasm_path)).send().await.unwrap();
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(&wasm.bytes().await.unwrap()[..4], b"\0asm");

    let docs = client.get(server.url("/api/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);

    assert!(server.stop(), "SIGTERM stops the server cleanly");
}

#[tokio::test]
async fn console_renders_sign_in_in_a_real_browser() {
    let server = Server::start();
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;

    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let profile = tempfile::tempdir().unwrap();
    let url = server.url("/");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .output()
            .expect("chromium runs (run `just setup`)")
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    // Rendered only by the WASM app, after asking the API for demo identities (this server
    // is not in demo mode, so it points people to their PSA).
    assert!(dom.contains("Open Hubkeep from your PSA"), "{dom}");
    assert!(!dom.contains("id=\"signed-in-user\""), "{dom}");
}
