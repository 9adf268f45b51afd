//! What the script scenarios and the contract fuzzing need: the pinned tools that
//! `scripts/setup.sh` installs, the clients `just clients` generates, and a demo server with
//! an elevated user's API token.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::browser::demo_launch;
use crate::{Server, workspace_root};

/// Margaret Chen in `config/demo-directory.toml`: an Administrator, the first to sign in,
/// so the tenant's primary (elevated) user.
pub const DEMO_PRIMARY: i64 = 29682885;
/// Others of the demo directory who sign in so that there are users to list and change:
/// limited (Marcus Bell, Rachel Lindqvist, Sofia Alvarez) and elevated (David Okafor).
pub const DEMO_OTHERS: [i64; 4] = [29682951, 29682999, 29683026, 29682891];

/// Where `scripts/setup.sh` installs tools.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("HUBKEEP_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".hubkeep-tools")
        })
}

/// A program of the Python tools' virtual environment (`openapi/requirements.txt`).
pub fn venv_bin(name: &str) -> PathBuf {
    let bin = tools_dir().join("venv/bin").join(name);
    assert!(
        bin.is_file(),
        "{} missing: run `just setup` (scripts/setup.sh installs the pinned Python tools)",
        bin.display()
    );
    bin
}

/// A program of the npm tools (`openapi/package.json`), through `openapi/node_modules`.
pub fn node_bin(name: &str) -> PathBuf {
    let bin = workspace_root()
        .join("openapi/node_modules/.bin")
        .join(name);
    assert!(
        bin.exists(),
        "{} missing: run `just setup` (scripts/setup.sh installs the pinned npm tools)",
        bin.display()
    );
    bin
}

/// The clients `just clients` generates from `openapi/openapi.json` (not committed).
pub fn generated(path: &str) -> PathBuf {
    let file = workspace_root().join("openapi/generated").join(path);
    assert!(
        file.exists(),
        "{} missing: run `just clients` to generate the clients from openapi/openapi.json",
        file.display()
    );
    file
}

/// Runs a command to completion, echoing its output into the test log; panics with that
/// output when it fails.
pub fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("{what} could not start: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- {what}: stdout\n{stdout}\n--- {what}: stderr\n{stderr}");
    assert!(output.status.success(), "{what} failed ({})", output.status);
    output
}

/// A demo server (`--demo`) where the primary user and a few others have signed in; returns
/// it with the primary's session access token and a fresh `read_write` API token of theirs.
pub async fn demo_with_token(data_dir: &std::path::Path) -> (Server, String, String) {
    let server = Server::start_in(data_dir, &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let session = demo_launch(&server.base, DEMO_PRIMARY).await;
    for resource_id in DEMO_OTHERS {
        demo_launch(&server.base, resource_id).await;
    }
    let access = session["access_token"].as_str().unwrap().to_owned();
    let token = create_api_token(&server.base, &access, "e2e script").await;
    (server, access, token)
}

/// Creates a `read_write` API token with a session access token; returns its secret.
pub async fn create_api_token(base: &str, access: &str, name: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/me/tokens"))
        .bearer_auth(access)
        .json(&json!({ "name": name, "scope": "read_write" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "token created");
    let created: Value = res.json().await.unwrap();
    created["token"].as_str().unwrap().to_owned()
}
