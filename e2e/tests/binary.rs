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

/// SPEC S14 (issue 19, defect 1), with the real command: a tenant's launch secret is sealed
/// in the database file, `hubkeep secrets rotate-key` re-seals it under a new key and takes
/// the old one out of the key file, and the server then signs in with the same secret.
#[tokio::test]
async fn secrets_rotate_key_reseals_and_the_server_still_signs_in() {
    let data_dir = tempfile::tempdir().unwrap();
    let directory = hubkeep_e2e::workspace_root().join("config/demo-directory.toml");
    let created = hubkeep_e2e::tenant_cli(
        data_dir.path(),
        None,
        &[
            "create",
            "--name",
            "Northwind IT",
            "--psa",
            "directory",
            "--directory",
            directory.to_str().unwrap(),
        ],
        &[],
    );
    let secret = created["launch_secret"].as_str().unwrap().to_owned();
    let psa_id = created["psa_id"].as_str().unwrap().to_owned();
    let key_file = data_dir.path().join("secrets-key.json");
    let raw = || {
        let mut bytes = std::fs::read(data_dir.path().join("hubkeep.db")).unwrap();
        bytes.extend(std::fs::read(data_dir.path().join("hubkeep.db-wal")).unwrap_or_default());
        bytes
    };
    let holds =
        |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        !holds(&raw(), &secret),
        "the launch secret is stored in clear"
    );
    let before: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let old = before["current"].as_str().unwrap().to_owned();

    let out = Command::new(hubkeep_e2e::hubkeep_binary())
        .args(["secrets", "rotate-key", "--json", "--data-dir"])
        .arg(data_dir.path())
        .env_remove("HUBKEEP_DATABASE_URL")
        .env_remove("HUBKEEP_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["resealed"], 1, "{rotated}");
    assert_eq!(rotated["retired"], serde_json::json!([old]));
    let new = rotated["key_id"].as_str().unwrap();
    assert_ne!(new, old);
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert!(!after.contains(&old), "the old key left the key file");
    assert!(
        !holds(&raw(), &format!("sealed:v1:{old}:")),
        "nothing sealed under it"
    );
    assert!(holds(&raw(), &format!("sealed:v1:{new}:")));

    let server = Server::start_in(data_dir.path(), &[]);
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;
    let res = client
        .post(server.url("/api/v1/auth/launch"))
        .json(&serde_json::json!({
            "assertion": hubkeep_e2e::launch_assertion(&psa_id, &secret, 29682885),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(server.stop());
}
