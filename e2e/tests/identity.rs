//! Sign-in against the running binaries: demo mode, the tenant command line, and the
//! Autotask provider talking to the simulator binary.

use std::process::Command;

use hubkeep_e2e::{
    Server, ServerOptions, launch_assertion as assertion, simulator_binary, spawn_listening,
    tenant_cli,
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
    // The operator allows the simulator's host for credentials (SPEC S11), in the
    // environment here, as `[psa] extra_zone_hosts` in a config file would.
    let sim_host = sim_url.trim_start_matches("http://").to_owned();
    let allowed = format!("[\"{sim_host}\"]");
    let allow = [("HUBKEEP_PSA__EXTRA_ZONE_HOSTS", allowed.as_str())];

    let created = tenant_cli(
        data_dir.path(),
        None,
        &[
            "create",
            "--name",
            "Northwind IT",
            "--psa",
            "autotask",
            // As Autotask's zone discovery announces it (SPEC S11).
            "--zone-url",
            &format!("{sim_url}/ATServicesRest/"),
            "--api-user",
            "hubkeep-api@northwindit.example",
            "--integration-code",
            "HUBKEEPSIMULATORINTEGRATION",
            "--secret",
            "sim-secret-not-for-production",
        ],
        &allow,
    );
    let id = created["id"].as_str().unwrap().to_owned();
    // The operator's connection test passes every step.
    let report = tenant_cli(data_dir.path(), None, &["test-psa", &id], &allow);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["steps"].as_array().unwrap().len(), 4);
    // A zone nobody allowed is refused at once.
    let refused = Command::new(hubkeep_e2e::hubkeep_binary())
        .args([
            "tenant",
            "create",
            "--name",
            "Elsewhere",
            "--psa",
            "autotask",
        ])
        .args([
            "--zone-url",
            "https://attacker.example/",
            "--api-user",
            "a@b.example",
        ])
        .args(["--integration-code", "X", "--secret", "Y", "--data-dir"])
        .arg(data_dir.path())
        .env_remove("HUBKEEP_CONFIG")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("extra_zone_hosts"));
    let psa_id = created["psa_id"].as_str().unwrap().to_owned();
    let secret = created["launch_secret"].as_str().unwrap().to_owned();
    let listed = tenant_cli(data_dir.path(), None, &["list"], &[]);
    assert_eq!(listed["items"][0]["psa_id"], psa_id.as_str());
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );

    let server = Server::start_with(
        data_dir.path(),
        &ServerOptions {
            env: vec![("HUBKEEP_PSA__EXTRA_ZONE_HOSTS".into(), allowed.clone())],
            ..ServerOptions::default()
        },
    );
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

    // The operator points the tenant at a directory file: its people sign in at once.
    let mut directory: toml::Value = toml::from_str(hubkeep_psa_sim::DEMO_DIRECTORY_TOML).unwrap();
    let resources = directory["resources"].as_array_mut().unwrap();
    let mut nora = resources[0].clone();
    nora["id"] = toml::Value::Integer(77_000_001);
    nora["email"] = toml::Value::String("nora.new@northwindit.example".into());
    nora["user_name"] = toml::Value::String("nnew".into());
    resources.push(nora);
    let file = data_dir.path().join("people.toml");
    std::fs::write(&file, toml::to_string(&directory).unwrap()).unwrap();
    assert_eq!(
        launch(assertion(&psa_id, new_secret, 77_000_001))
            .await
            .status(),
        403,
        "not in Autotask"
    );
    let set = Command::new(hubkeep_e2e::hubkeep_binary())
        .args(["tenant", "set-directory", &id])
        .arg(&file)
        .arg("--data-dir")
        .arg(data_dir.path())
        .env_remove("HUBKEEP_CONFIG")
        .env_remove("HUBKEEP_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_eq!(
        launch(assertion(&psa_id, new_secret, 77_000_001))
            .await
            .status(),
        200,
        "the operator's file took effect"
    );
    assert!(server.stop());
    let _ = sim.kill();
    let _ = sim.wait();
}
