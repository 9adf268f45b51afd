//! Scripts as first-class users (SPEC S3.4, S8): a Python script and a TypeScript script,
//! each using only the client generated from `openapi/openapi.json` (`just clients`) and an
//! API token, run against the real binary. The scripts check every answer themselves; this
//! test then checks through the API that what they reported really happened.

use std::process::Command;

use hubkeep_e2e::Server;
use hubkeep_e2e::scripts::{demo_with_token, generated, node_bin, run, venv_bin};
use serde_json::Value;

/// The JSON summary a scenario prints on its last line.
fn summary(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().expect("the scenario printed a summary");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("summary {line:?}: {e}"))
}

/// What the scenario reported, as the API sees it afterwards.
async fn check_effects(server: &Server, access: &str, summary: &Value, client: &str) {
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = server.url(&path);
        let access = access.to_owned();
        async move {
            let res = http.get(url).bearer_auth(access).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(summary["client"], client);
    let connection_id = summary["connection_id"].as_str().unwrap();
    let connection = get(format!("/api/v1/connections/{connection_id}")).await;
    assert_eq!(connection["my_roles"][0], "owner", "{connection}");

    let invitations = get(format!("/api/v1/connections/{connection_id}/invitations")).await;
    let invitation = invitations["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == summary["invitation_id"])
        .expect("the invitation is listed");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["role"], "read_only");
    assert_eq!(invitation["invitee"]["user_id"], summary["target_user_id"]);

    let target = summary["target_user_id"].as_str().unwrap();
    let user = get(format!("/api/v1/users/{target}")).await;
    assert_eq!(user["user"]["active"], true, "reactivated: {user}");

    // One entry per change, each naming the API token as the actor.
    for (action, target_id, expected) in [
        ("user.deactivated", target, 1),
        ("user.activated", target, 1),
        ("connection.created", connection_id, 1),
        (
            "invitation.created",
            summary["invitation_id"].as_str().unwrap(),
            1,
        ),
    ] {
        let log = get(format!(
            "/api/v1/activity?action={action}&target_id={target_id}"
        ))
        .await;
        let items = log["items"].as_array().unwrap();
        assert_eq!(items.len(), expected, "{action} {target_id}: {log}");
        assert_eq!(items[0]["actor"]["kind"], "api_token", "{action}");
    }
}

#[tokio::test]
async fn python_script_with_the_generated_client_and_an_api_token() {
    let package = generated("python/hubkeep_client/__init__.py");
    let project = package
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .to_owned();
    let data = tempfile::tempdir().unwrap();
    let (server, access, token) = demo_with_token(data.path()).await;
    let output = run(
        Command::new(venv_bin("python"))
            .arg("e2e/scripts/scenario.py")
            .env("PYTHONPATH", &project)
            .env("HUBKEEP_URL", &server.base)
            .env("HUBKEEP_TOKEN", &token),
        "the Python scenario",
    );
    check_effects(&server, &access, &summary(&output.stdout), "python").await;
}

#[tokio::test]
async fn typescript_script_with_the_generated_client_and_an_api_token() {
    generated("typescript/schema.d.ts");
    // The script and the client wrapper type-check against the generated types first.
    run(
        Command::new(node_bin("tsc")).args(["-p", "openapi/typescript/tsconfig.json"]),
        "tsc on the TypeScript scenario",
    );
    let data = tempfile::tempdir().unwrap();
    let (server, access, token) = demo_with_token(data.path()).await;
    let output = run(
        Command::new(node_bin("tsx"))
            .arg("e2e/scripts/scenario.mts")
            .env("HUBKEEP_URL", &server.base)
            .env("HUBKEEP_TOKEN", &token),
        "the TypeScript scenario",
    );
    check_effects(&server, &access, &summary(&output.stdout), "typescript").await;
}
