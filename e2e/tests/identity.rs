//! Sign-in against the running binaries: demo mode, the tenant command line, and the
//! Autotask provider talking to the simulator binary.

use std::process::Command;

use hubkeep_e2e::{
    Server, launch_assertion as assertion, simulator_binary, spawn_listening, tenant_cli,
};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn me(server: &Server, token: &str) -> reqwest::Response {
    client()
        .get(server.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_mode_signs_in_an_elevated_identity_and_sessions_survive_a_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&client()).await;

    let identities: Value = client()
        .get(server.url("/api/v1/demo/identities"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = identities["items"].as_array().unwrap();
    assert!(items.len() >= 40);
    // Two different elevation-eligible people: both are elevated in the demo tenant.
    let eligible: Vec<&Value> = items
        .iter()
        .filter(|i| i["eligible_for_elevation"] == true && i["is_active"] == true)
        .collect();
    assert!(eligible.len() >= 2);
    let mut token = String::new();
    for identity in [eligible[eligible.len() - 1], eligible[0]] {
        let res = client()
            .post(server.url("/api/v1/demo/launch"))
            .json(&json!({"resource_id": identity["resource_id"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        token = body["access_token"].as_str().unwrap().to_owned();
        let me: Value = me(&server, &token).await.json().await.unwrap();
        assert_eq!(me["access_level"], "elevated", "{identity}");
    }
    assert!(server.stop());

    // The signing key lives in the data dir: a restart keeps the session valid.
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&client()).await;
    assert_eq!(me(&server, &token).await.status(), 200);
    assert!(server.stop());
}

#[tokio::test]
async fn the_tenant_command_line_provisions_a_tenant_whose_launcher_signs_in_through_autotask() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut sim = Command::new(simulator_binary());
    sim.args(["--bind", "127.0.0.1:0"]);
    let (mut sim, sim_url) = spawn_listening(sim, "hubkeep-psa-sim listening on ");

    let created = tenant_cli(
        data_dir.path(),
        None,
        &[
            "create",
            "--name",
            "Northwind IT",
            "--psa",
            "autotask",
            "--zone-url",
            &format!("{sim_url}/"),
            "--api-user",
            "hubkeep-api@northwindit.example",
            "--integration-code",
            "HUBKEEPSIMULATORINTEGRATION",
            "--secret",
            "sim-secret-not-for-production",
        ],
        &[],
    );
    let psa_id = created["psa_id"].as_str().unwrap().to_owned();
    let secret = created["launch_secret"].as_str().unwrap().to_owned();
    let listed = tenant_cli(data_dir.path(), None, &["list"], &[]);
    assert_eq!(listed["items"][0]["psa_id"], psa_id.as_str());
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );

    let server = Server::start_in(data_dir.path(), &[]);
    server.wait_ready(&client()).await;
    let launch = |assertion: String| {
        let url = server.url("/api/v1/auth/launch");
        async move {
            client()
                .post(url)
                .json(&json!({ "assertion": assertion }))
                .send()
                .await
                .unwrap()
        }
    };
    // The first resource of the shipped directory is an administrator.
    let res = launch(assertion(&psa_id, &secret, 29_682_885)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["is_primary"], true);
    assert_eq!(body["user"]["access_level"], "elevated");

    // Rotation: the old secret stops working, the new one works.
    let rotated = tenant_cli(
        data_dir.path(),
        None,
        &["rotate-launch-secret", created["id"].as_str().unwrap()],
        &[],
    );
    let new_secret = rotated["launch_secret"].as_str().unwrap();
    assert_eq!(
        launch(assertion(&psa_id, &secret, 29_682_885))
            .await
            .status(),
        401
    );
    assert_eq!(
        launch(assertion(&psa_id, new_secret, 29_682_885))
            .await
            .status(),
        200
    );
    assert!(server.stop());
    let _ = sim.kill();
    let _ = sim.wait();
}
