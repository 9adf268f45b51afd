//! SPEC S12 against the running binaries: the hub and the Autotask simulator. The PSA changes
//! people (`PUT /_sim/directory`, as an Autotask administrator would in Autotask); with a
//! short `[psa] reconcile_minutes`, the reconciliation job alone makes the hub refuse what
//! they may no longer do, on their API tokens too. Each wait polls against a deadline.

use std::process::Command;
use std::time::{Duration, Instant};

use hubkeep_e2e::{
    Server, ServerOptions, free_port, launch_assertion, simulator_binary, spawn_listening,
    tenant_cli,
};
use serde_json::{Value, json};

/// The shipped directory's people and levels used here.
const MARGARET_PRIMARY: i64 = 29_682_885;
const LAURA_FINANCE: i64 = 29_682_923;
const ELENA_SERVICE_DESK: i64 = 29_682_967;
const ISABELLA_COORDINATOR: i64 = 29_683_171;
const FINANCE_MANAGER: i64 = 2;
const PROJECT_COORDINATOR: i64 = 9;
const TECHNICIAN: i64 = 8;

/// The reconciliation period of the hub under test: 1.2 s.
const RECONCILE_MINUTES: &str = "0.02";
/// How long a change may take to reach the hub: well over one period, for a busy machine.
const DEADLINE: Duration = Duration::from_secs(20);

struct World {
    http: reqwest::Client,
    server: Server,
    sim_url: String,
    directory: Value,
    psa_id: String,
    launch_secret: String,
}

/// Signs `resource_id` in on the hub at `base` (must succeed).
async fn launch(
    http: &reqwest::Client,
    base: &str,
    tenant: (&str, &str),
    resource_id: i64,
) -> Value {
    let res = http
        .post(format!("{base}/api/v1/auth/launch"))
        .json(&json!({ "assertion": launch_assertion(tenant.0, tenant.1, resource_id) }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "launch {resource_id}");
    res.json().await.unwrap()
}

/// A read/write API token of the person signed in with `session`.
async fn api_token(http: &reqwest::Client, base: &str, session: &Value) -> String {
    let res = http
        .post(format!("{base}/api/v1/me/tokens"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .json(&json!({"name": "offboarding script", "scope": "read_write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn get(http: &reqwest::Client, base: &str, token: &str, path: &str) -> (u16, Value) {
    let res = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Polls `path` on `base` with `token` until it answers `status` and `code`, or fails at
/// `deadline`; returns how long it took.
async fn wait_for(
    http: &reqwest::Client,
    base: &str,
    (token, path): (&str, &str),
    (status, code): (u16, &str),
    deadline: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let (got, body) = get(http, base, token, path).await;
        if got == status && body["code"] == code {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < deadline,
            "{path} still answers {got} {body} {deadline:?} after the PSA changed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces the simulator's directory as Autotask's own administrator would change it.
async fn put_directory(http: &reqwest::Client, sim_url: &str, directory: &Value) {
    let res = http
        .put(format!("{sim_url}/_sim/directory"))
        .json(directory)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "PUT /_sim/directory");
}

impl World {
    async fn launch(&self, resource_id: i64) -> Value {
        let tenant = (self.psa_id.as_str(), self.launch_secret.as_str());
        launch(&self.http, &self.server.base, tenant, resource_id).await
    }

    async fn api_token(&self, session: &Value) -> String {
        api_token(&self.http, &self.server.base, session).await
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        get(&self.http, &self.server.base, token, path).await
    }

    async fn post(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self
            .http
            .post(self.server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A `/_sim` control route of the simulator.
    async fn sim_get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.sim_url))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "GET {path}");
        res.json().await.unwrap()
    }

    async fn change_psa(&mut self, edit: impl FnOnce(&mut Value)) {
        edit(&mut self.directory);
        put_directory(&self.http, &self.sim_url, &self.directory).await;
    }

    async fn wait_for(&self, token: &str, path: &str, status: u16, code: &str) -> Duration {
        self.wait_within(token, path, (status, code), DEADLINE)
            .await
    }

    async fn wait_within(
        &self,
        token: &str,
        path: &str,
        (status, code): (u16, &str),
        deadline: Duration,
    ) -> Duration {
        wait_for(
            &self.http,
            &self.server.base,
            (token, path),
            (status, code),
            deadline,
        )
        .await
    }
}

fn edit_resource(directory: &mut Value, id: i64, edit: impl FnOnce(&mut Value)) {
    let resource = directory["resources"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["id"] == id)
        .expect("the resource is in the directory");
    edit(resource);
}

fn edit_level(directory: &mut Value, id: i64, edit: impl FnOnce(&mut Value)) {
    let level = directory["security_levels"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["id"] == id)
        .expect("the level is in the directory");
    edit(level);
}

/// Starts the simulator binary and provisions an Autotask tenant pointed at it with the
/// command line (`database_url`: PostgreSQL, else SQLite in `data_dir`; `env` beyond the
/// allowed simulator host). Returns the simulator, its URL, the `extra_zone_hosts` value
/// that allows it, and the tenant's PSA id and launch secret.
fn simulator_and_tenant(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    env: &[(&str, &str)],
    sim_args: &[&str],
) -> (std::process::Child, String, String, (String, String)) {
    let mut sim = Command::new(simulator_binary());
    sim.args(["--bind", "127.0.0.1:0"]).args(sim_args);
    let (sim, sim_url) = spawn_listening(sim, "hubkeep-psa-sim listening on ");
    let allowed = format!("[\"{}\"]", sim_url.trim_start_matches("http://"));
    let mut all_env = vec![("HUBKEEP_PSA__EXTRA_ZONE_HOSTS", allowed.as_str())];
    all_env.extend_from_slice(env);
    let created = tenant_cli(
        data_dir,
        database_url,
        &[
            "create",
            "--name",
            "Northwind IT",
            "--psa",
            "autotask",
            "--zone-url",
            &format!("{sim_url}/ATServicesRest/"),
            "--api-user",
            "hubkeep-api@northwindit.example",
            "--integration-code",
            "HUBKEEPSIMULATORINTEGRATION",
            "--secret",
            "sim-secret-not-for-production",
        ],
        &all_env,
    );
    let tenant = (
        created["psa_id"].as_str().unwrap().to_owned(),
        created["launch_secret"].as_str().unwrap().to_owned(),
    );
    (sim, sim_url, allowed, tenant)
}

/// How the hub and the simulator of a [`World`] run.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// Reconciliation every [`RECONCILE_MINUTES`], no `public_url`, a simulator that offers
    /// no Resource webhooks (as Autotask documents).
    Reconciliation,
    /// Reconciliation off, `[http] public_url` set to the hub's own address, and a
    /// simulator started with `--resource-webhooks`.
    Webhooks,
}

async fn world(data_dir: &std::path::Path, feed: Feed) -> (World, std::process::Child) {
    let sim_args: &[&str] = match feed {
        Feed::Reconciliation => &[],
        Feed::Webhooks => &["--resource-webhooks"],
    };
    let (sim, sim_url, allowed, (psa_id, launch_secret)) =
        simulator_and_tenant(data_dir, None, &[], sim_args);
    let mut options = ServerOptions {
        env: vec![("HUBKEEP_PSA__EXTRA_ZONE_HOSTS".into(), allowed)],
        ..ServerOptions::default()
    };
    match feed {
        Feed::Reconciliation => options.env.push((
            "HUBKEEP_PSA__RECONCILE_MINUTES".into(),
            RECONCILE_MINUTES.into(),
        )),
        Feed::Webhooks => {
            let address = format!("127.0.0.1:{}", free_port());
            options.env.extend([
                ("HUBKEEP_PSA__RECONCILE_MINUTES".into(), "0".into()),
                (
                    "HUBKEEP_HTTP__PUBLIC_URL".into(),
                    format!("http://{address}"),
                ),
            ]);
            options.bind = Some(address);
        }
    }
    let server = Server::start_with(data_dir, &options);
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    let directory: toml::Value = toml::from_str(hubkeep_psa_sim::DEMO_DIRECTORY_TOML).unwrap();
    let world = World {
        http,
        server,
        sim_url,
        directory: serde_json::to_value(directory).unwrap(),
        psa_id,
        launch_secret,
    };
    (world, sim)
}

#[tokio::test]
async fn s12_people_the_psa_offboards_lose_the_hub_and_their_api_tokens_within_one_period() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut w, mut sim) = world(data_dir.path(), Feed::Reconciliation).await;
    let margaret = w.launch(MARGARET_PRIMARY).await;
    let admin = margaret["access_token"].as_str().unwrap().to_owned();
    // Finance Managers are elevated (the Access tab).
    let res = w
        .http
        .put(w.server.url("/api/v1/access/elevated-levels"))
        .bearer_auth(&admin)
        .json(&json!({"level_ids": [FINANCE_MANAGER]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Without [http] public_url Autotask could not call back: no subscription is tried.
    let (status, problem) = w.post(&admin, "/api/v1/psa/webhook").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("public_url_missing"))
    );
    let laura = w.launch(LAURA_FINANCE).await;
    assert_eq!(laura["user"]["access_level"], "elevated");
    let elena = w.launch(ELENA_SERVICE_DESK).await;
    let isabella = w.launch(ISABELLA_COORDINATOR).await;
    let (laura_token, elena_token, isabella_token) = (
        w.api_token(&laura).await,
        w.api_token(&elena).await,
        w.api_token(&isabella).await,
    );
    for token in [&laura_token, &elena_token, &isabella_token] {
        assert_eq!(w.get(token, "/api/v1/me").await.0, 200);
    }
    assert_eq!(w.get(&laura_token, "/api/v1/users").await.0, 200);

    // 1. Elena is deactivated in Autotask: her script is refused.
    w.change_psa(|d| edit_resource(d, ELENA_SERVICE_DESK, |r| r["is_active"] = json!(false)))
        .await;
    let took = w
        .wait_for(&elena_token, "/api/v1/me", 401, "unauthenticated")
        .await;
    println!("deactivated in the PSA → API token refused after {took:?}");

    // 2. Project Coordinators may no longer open the hub menu: Isabella's token is refused.
    w.change_psa(|d| edit_level(d, PROJECT_COORDINATOR, |l| l["hub_menu"] = json!(false)))
        .await;
    let took = w
        .wait_for(&isabella_token, "/api/v1/me", 401, "unauthenticated")
        .await;
    println!("level lost hub_menu → API token refused after {took:?}");

    // 3. Finance Managers lose the elevation facts: Laura is limited, admin endpoints refuse
    //    her token, which keeps working where limited access reaches.
    w.change_psa(|d| {
        edit_level(d, FINANCE_MANAGER, |l| {
            l["qbo_extension_admin"] = json!(false)
        });
    })
    .await;
    let took = w
        .wait_for(
            &laura_token,
            "/api/v1/users",
            403,
            "elevated_access_required",
        )
        .await;
    println!("level lost its elevation facts → admin endpoint refused after {took:?}");
    let (status, me) = w.get(&laura_token, "/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["access_level"], "limited", "{me}");

    // The log says why, once per change.
    let (status, log) = w
        .get(&admin, "/api/v1/activity?action=user.credentials_revoked")
        .await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
    // The status shows the job running on schedule.
    let (status, feed) = w.get(&admin, "/api/v1/psa/status").await;
    assert_eq!(status, 200, "{feed}");
    assert_eq!(feed["healthy"], true, "{feed}");
    assert!(feed["reconcile"]["last_run_at"].is_string(), "{feed}");
    assert!(feed["reconcile"]["next_run_at"].is_string(), "{feed}");

    let _ = sim.kill();
    let _ = sim.wait();
    assert!(w.server.stop(), "the server stops cleanly");
}

/// How fast a callout must take effect (SPEC S12 with webhooks).
const CALLOUT_DEADLINE: Duration = Duration::from_secs(5);

/// Posts `body` as Autotask would, with `signature` as `X-Hook-Signature`.
async fn callout(w: &World, path: &str, body: &str, signature: &str) -> (u16, Value) {
    let res = w
        .http
        .post(w.server.url(path))
        .header("Content-Type", "application/json")
        .header("X-Hook-Signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The callouts the simulator sent, once every one of them has been answered.
async fn delivered_callouts(w: &World, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let sent = w.sim_get("/_sim/callouts").await;
        let sent = sent.as_array().unwrap().clone();
        if sent.len() >= count && sent.iter().all(|c| c["status"].is_u64()) {
            return sent;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "callouts still pending: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn route_count(stats: &Value, route: &str) -> u64 {
    stats["by_route"][route].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn s12_with_webhooks_subscribed_the_psa_offboards_people_within_seconds() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut w, mut sim) = world(data_dir.path(), Feed::Webhooks).await;
    let margaret = w.launch(MARGARET_PRIMARY).await;
    let admin = margaret["access_token"].as_str().unwrap().to_owned();
    let res = w
        .http
        .put(w.server.url("/api/v1/access/elevated-levels"))
        .bearer_auth(&admin)
        .json(&json!({"level_ids": [FINANCE_MANAGER]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, feed) = w.get(&admin, "/api/v1/psa/status").await;
    assert_eq!(feed["webhook"]["state"], "not_subscribed", "{feed}");
    assert!(
        feed["reconcile"]["next_run_at"].is_null(),
        "reconciliation is off: {feed}"
    );

    // Subscribe: Autotask (the simulator) now has one ready webhook calling the hub.
    let (status, hook) = w.post(&admin, "/api/v1/psa/webhook").await;
    assert_eq!(status, 200, "{hook}");
    assert_eq!(hook["state"], "active", "{hook}");
    let callback = format!("{}/api/v1/psa/autotask/webhooks/", w.server.base);
    assert!(
        hook["callback_url"]
            .as_str()
            .unwrap()
            .starts_with(&callback),
        "{hook}"
    );
    let hooks = w.sim_get("/_sim/webhooks").await;
    assert_eq!(hooks.as_array().unwrap().len(), 1, "{hooks}");
    assert_eq!(hooks[0]["isActive"], true, "{hooks}");
    assert_eq!(hooks[0]["isReady"], true, "{hooks}");
    assert!(
        hooks[0].get("secretKey").is_none(),
        "the key is never shown: {hooks}"
    );
    // Subscribing again changes nothing.
    let (status, again) = w.post(&admin, "/api/v1/psa/webhook").await;
    assert_eq!((status, &again), (200, &hook));
    assert_eq!(
        w.sim_get("/_sim/webhooks").await.as_array().unwrap().len(),
        1
    );

    let laura = w.launch(LAURA_FINANCE).await;
    let elena = w.launch(ELENA_SERVICE_DESK).await;
    let isabella = w.launch(ISABELLA_COORDINATOR).await;
    let (laura_token, elena_token, isabella_token) = (
        w.api_token(&laura).await,
        w.api_token(&elena).await,
        w.api_token(&isabella).await,
    );
    assert_eq!(w.get(&laura_token, "/api/v1/users").await.0, 200);

    // 1. Elena is deactivated in Autotask: the callout makes the hub refuse her token.
    w.change_psa(|d| edit_resource(d, ELENA_SERVICE_DESK, |r| r["is_active"] = json!(false)))
        .await;
    let took = w
        .wait_within(
            &elena_token,
            "/api/v1/me",
            (401, "unauthenticated"),
            CALLOUT_DEADLINE,
        )
        .await;
    println!("deactivated in the PSA → API token refused after {took:?} (callout)");
    // 2. Isabella is moved to a level that may not open the hub menu.
    w.change_psa(|d| {
        edit_resource(d, ISABELLA_COORDINATOR, |r| {
            r["security_level_id"] = json!(TECHNICIAN);
        });
    })
    .await;
    let took = w
        .wait_within(
            &isabella_token,
            "/api/v1/me",
            (401, "unauthenticated"),
            CALLOUT_DEADLINE,
        )
        .await;
    println!("moved to a level without hub_menu → API token refused after {took:?} (callout)");
    // 3. Laura is moved to a level without the elevation facts: admin endpoints refuse her.
    w.change_psa(|d| {
        edit_resource(d, LAURA_FINANCE, |r| {
            r["security_level_id"] = json!(PROJECT_COORDINATOR);
        });
    })
    .await;
    let took = w
        .wait_within(
            &laura_token,
            "/api/v1/users",
            (403, "elevated_access_required"),
            CALLOUT_DEADLINE,
        )
        .await;
    println!("moved to a level without elevation → admin endpoint refused after {took:?}");

    let sent = delivered_callouts(&w, 3).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|c| c["status"] == 200), "{sent:?}");
    let (_, log) = w
        .get(&admin, "/api/v1/activity?action=user.psa_changed")
        .await;
    let changes = log["items"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{log}");
    assert!(
        changes.iter().all(|e| e["details"]["cause"] == "webhook"),
        "{log}"
    );

    // A replayed callout is answered and applied once: no second PSA read, no entry.
    let first = &sent[0];
    let (body, signature) = (
        first["body"].as_str().unwrap(),
        first["signature"].as_str().unwrap(),
    );
    let path = hook["callback_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&w.server.base)
        .to_owned();
    let reads = route_count(&w.sim_get("/_sim/stats").await, "GET Resources/{id}");
    let (status, receipt) = callout(&w, &path, body, signature).await;
    assert_eq!((status, &receipt), (200, &json!({"accepted": false})));
    // A tampered body under the old signature, and no signature: 401, nothing changes.
    let tampered = body.replace(&ELENA_SERVICE_DESK.to_string(), &LAURA_FINANCE.to_string());
    let (status, problem) = callout(&w, &path, &tampered, signature).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("webhook_signature_invalid"))
    );
    let (status, _) = callout(&w, &path, body, "sha1=AAAA").await;
    assert_eq!(status, 401);
    // An unknown tenant: 404.
    let unknown = "/api/v1/psa/autotask/webhooks/00000000-0000-4000-8000-000000000000";
    let (status, problem) = callout(&w, unknown, body, signature).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    // The bare base64, without `sha1=`, is the same signature: still a replay.
    let bare = signature.trim_start_matches("sha1=");
    let (status, receipt) = callout(&w, &path, body, bare).await;
    assert_eq!((status, &receipt), (200, &json!({"accepted": false})));
    // A fresh change afterwards is applied: once it shows, every callout above has been
    // answered long before, and only this one read the PSA or wrote an entry.
    w.change_psa(|d| edit_resource(d, ELENA_SERVICE_DESK, |r| r["is_active"] = json!(true)))
        .await;
    let started = Instant::now();
    let log = loop {
        let (_, log) = w
            .get(&admin, "/api/v1/activity?action=user.psa_changed")
            .await;
        if log["items"].as_array().unwrap().len() >= 4 {
            break log;
        }
        assert!(started.elapsed() < CALLOUT_DEADLINE, "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(log["items"].as_array().unwrap().len(), 4, "{log}");
    let stats = w.sim_get("/_sim/stats").await;
    assert_eq!(
        route_count(&stats, "GET Resources/{id}"),
        reads + 1,
        "{stats}"
    );
    // Reactivated in the PSA, Elena may sign in again; her old token stays revoked.
    assert_eq!(w.get(&elena_token, "/api/v1/me").await.0, 401);
    let (_, feed) = w.get(&admin, "/api/v1/psa/status").await;
    assert!(feed["webhook"]["last_callout_at"].is_string(), "{feed}");

    // Autotask deactivates the webhook: the status says so.
    let hook_id = w.sim_get("/_sim/webhooks").await[0]["id"].as_i64().unwrap();
    let res = w
        .http
        .post(format!("{}/_sim/webhooks/{hook_id}/deactivate", w.sim_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let started = Instant::now();
    loop {
        let (_, feed) = w.get(&admin, "/api/v1/psa/status").await;
        if feed["webhook"]["state"] == "deactivated" {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "{feed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Removing the subscription deletes it at Autotask too.
    let res = w
        .http
        .delete(w.server.url("/api/v1/psa/webhook"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(w.sim_get("/_sim/webhooks").await, json!([]));
    let (_, feed) = w.get(&admin, "/api/v1/psa/status").await;
    assert_eq!(feed["webhook"]["state"], "not_subscribed", "{feed}");
    let (_, log) = w
        .get(&admin, "/api/v1/activity?action=psa.webhook_subscribed")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");

    let _ = sim.kill();
    let _ = sim.wait();
    assert!(w.server.stop(), "the server stops cleanly");
}

/// Instances sharing a database share the key that seals its secrets (SPEC S14): base64 of
/// 32 bytes, for this test only.
const SHARED_SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The tenant's lease row: who holds it, as `<pid>-<random>`.
async fn lease_holder(db: &sea_orm::DatabaseConnection) -> Option<String> {
    use sea_orm::ConnectionTrait as _;
    db.query_one_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT lease_holder FROM psa_feed",
    ))
    .await
    .unwrap()
    .and_then(|row| row.try_get::<Option<String>>("", "lease_holder").unwrap())
}

fn reconciled_lines(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("reconciled the hub users with the PSA"))
        .count()
}

#[tokio::test]
async fn s12_two_instances_on_one_postgres_run_each_reconciliation_once_and_a_dead_holder_hands_over()
 {
    let admin_url = hubkeep_e2e::postgres_admin_url()
        .expect("HUBKEEP_TEST_POSTGRES_URL is not set: two instances need PostgreSQL");
    let pg = hubkeep_e2e::PgDatabase::create(&admin_url).await;
    let work = tempfile::tempdir().unwrap();
    let web = hubkeep_e2e::stub_web_dir();
    let (mut sim, sim_url, allowed, tenant) = simulator_and_tenant(
        work.path(),
        Some(&pg.url),
        &[("HUBKEEP_SECRETS__KEY", SHARED_SECRETS_KEY)],
        &[],
    );
    // A period of 3 s and a lease of 3 s.
    let start = |name: &str| {
        let data_dir = work.path().join(name);
        std::fs::create_dir_all(&data_dir).unwrap();
        Server::start_with(
            &data_dir,
            &ServerOptions {
                database_url: Some(pg.url.clone()),
                log_file: Some(work.path().join(format!("{name}.log"))),
                web_dir: Some(web.path().to_owned()),
                env: vec![
                    ("HUBKEEP_PSA__EXTRA_ZONE_HOSTS".into(), allowed.clone()),
                    ("HUBKEEP_SECRETS__KEY".into(), SHARED_SECRETS_KEY.into()),
                    ("HUBKEEP_PSA__RECONCILE_MINUTES".into(), "0.05".into()),
                    ("HUBKEEP_PSA__RECONCILE_LEASE_SECS".into(), "3".into()),
                ],
                ..ServerOptions::default()
            },
        )
    };
    let (one, two) = (start("one"), start("two"));
    let http = reqwest::Client::new();
    one.wait_ready(&http).await;
    two.wait_ready(&http).await;
    let t = (tenant.0.as_str(), tenant.1.as_str());
    launch(&http, &one.base, t, MARGARET_PRIMARY).await;
    let elena = launch(&http, &one.base, t, ELENA_SERVICE_DESK).await;
    let elena_token = api_token(&http, &one.base, &elena).await;
    let db = sea_orm::Database::connect(pg.url.as_str()).await.unwrap();

    // 1. Exactly one instance runs each period: in 12 s (four periods) the PSA is read at
    //    most five times, not twice per period, and each read is one instance's run.
    let stats = format!("{sim_url}/_sim/stats");
    http.delete(&stats).send().await.unwrap();
    let before = reconciled_lines(&work.path().join("one.log"))
        + reconciled_lines(&work.path().join("two.log"));
    tokio::time::sleep(Duration::from_secs(12)).await;
    let counted: Value = http.get(&stats).send().await.unwrap().json().await.unwrap();
    let runs = reconciled_lines(&work.path().join("one.log"))
        + reconciled_lines(&work.path().join("two.log"))
        - before;
    let queries = counted["by_route"]["POST Resources/query"]
        .as_u64()
        .unwrap_or(0);
    println!("12 s, two instances: {runs} runs, {queries} Resources queries: {counted}");
    assert!(
        (2..=5).contains(&queries),
        "{queries} reads in 12 s: {counted}"
    );
    // A run straddling the start or the end of the window is counted on one side only.
    assert!(
        (2..=6).contains(&runs),
        "{runs} runs logged in 12 s for {queries} reads"
    );

    // 2. The PSA turns slow, so a run holds the lease for seconds; its holder is killed.
    let faults = format!("{sim_url}/_sim/faults");
    let res = http
        .put(&faults)
        .json(&json!({"latency_ms": 2500}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let holder = loop {
        if let Some(holder) = lease_holder(&db).await {
            break holder;
        }
        assert!(Instant::now() < deadline, "no instance took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pid: u32 = holder.split('-').next().unwrap().parse().unwrap();
    let survivor = if pid == one.pid() {
        one.kill();
        two
    } else {
        assert_eq!(pid, two.pid(), "the holder {holder} is one of the two");
        two.kill();
        one
    };
    let res = http.put(&faults).json(&json!({})).send().await.unwrap();
    assert!(res.status().is_success());

    // 3. Elena leaves the company in Autotask: the survivor takes the job over once the dead
    //    holder's lease has expired, and her token is refused.
    let directory: toml::Value = toml::from_str(hubkeep_psa_sim::DEMO_DIRECTORY_TOML).unwrap();
    let mut directory = serde_json::to_value(directory).unwrap();
    edit_resource(&mut directory, ELENA_SERVICE_DESK, |r| {
        r["is_active"] = json!(false);
    });
    put_directory(&http, &sim_url, &directory).await;
    let took = wait_for(
        &http,
        &survivor.base,
        (&elena_token, "/api/v1/me"),
        (401, "unauthenticated"),
        Duration::from_secs(30),
    )
    .await;
    println!("holder {holder} killed → the survivor refused her token after {took:?}");
    let holder_now = lease_holder(&db).await;
    assert!(
        holder_now.is_none() || holder_now.as_deref().is_some_and(|h| h != holder),
        "the dead instance's lease was taken over: {holder_now:?}"
    );

    db.close().await.unwrap();
    assert!(survivor.stop(), "the survivor stops cleanly");
    let _ = sim.kill();
    let _ = sim.wait();
}
