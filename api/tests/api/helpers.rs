//! `spawn_app()` and friends.

use std::path::PathBuf;

use hubkeep_api::config::Settings;
use hubkeep_api::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// Where a test's database lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL server reachable at this admin URL (any database on it).
    Postgres(String),
}

impl Backend {
    /// PostgreSQL at `HUBKEEP_TEST_POSTGRES_URL`, when it is set and not empty.
    pub fn postgres() -> Option<Self> {
        std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .map(Backend::Postgres)
    }

    /// PostgreSQL for a `::postgres` variant: one that runs must have its server, so a URL
    /// unset at run time (though set when the tests were built) fails, naming the variable.
    pub fn postgres_required() -> Self {
        Self::postgres().unwrap_or_else(|| {
            panic!("{POSTGRES_URL_VAR} is not set: the PostgreSQL variant cannot run")
        })
    }

    /// `sqlite` or `postgres`, for summary lines.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// The variable naming the PostgreSQL server of the `::postgres` variants.
pub const POSTGRES_URL_VAR: &str = "HUBKEEP_TEST_POSTGRES_URL";

/// Runs one async test body on each backend: `sqlite` always, `postgres` when configured.
/// The test names (`name::sqlite`, `name::postgres`) show in the log which backend ran.
/// Without `HUBKEEP_TEST_POSTGRES_URL` when the tests were built (see `api/build.rs`), each
/// `::postgres` variant is reported `ignored` with the reason, never as passed; with `CI`
/// set, `ci_runs_the_postgres_variants` then fails the run.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::helpers::Backend;

                #[tokio::test]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }

                #[tokio::test]
                #[cfg_attr(
                    not(hubkeep_test_postgres),
                    ignore = "HUBKEEP_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped"
                )]
                async fn postgres() {
                    super::$name(Backend::postgres_required()).await;
                }
            }
        )*
    };
}

/// A running server and what a test needs to talk to it.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A direct connection to the app's database, for asserting on rows.
    pub db: DatabaseConnection,
    pub web_dir: PathBuf,
    /// `http://<[metrics] bind>` when the test gave the metrics their own address.
    pub metrics_address: Option<String>,
    _data_dir: tempfile::TempDir,
    /// The app's `[secrets]` settings and its data directory (where the key file is by
    /// default).
    secrets: (hubkeep_api::config::SecretsSettings, PathBuf),
    postgres: Option<(String, String)>,
    handle: actix_web::dev::ServerHandle,
    /// Every answer is checked against the OpenAPI document; the test fails on a mismatch.
    contract: Option<std::sync::Arc<hubkeep_api::http::openapi::check::Contract>>,
}

/// A tiny console build: enough to test how the server serves it.
fn fake_console(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Hubkeep</title><script type=\"module\" src=\"/app.js\"></script>",
    )
    .unwrap();
    std::fs::write(dir.join("app.js"), "console.log('hubkeep');").unwrap();
}

fn with_database(admin_url: &str, name: &str) -> String {
    let (base, _) = admin_url
        .split('?')
        .next()
        .unwrap_or(admin_url)
        .rsplit_once('/')
        .expect("HUBKEEP_TEST_POSTGRES_URL must name a database: postgres://user@host:port/db");
    format!("{base}/{name}")
}

/// The `[metrics] token` of test apps (unless a test changes it).
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Boots the server after letting the test adjust its settings.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let web_dir = data_dir.path().join("console");
    fake_console(&web_dir);

    let (database_url, postgres) = match &backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres(admin_url) => {
            let name = format!("hk_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(admin_url.as_str()).await.unwrap();
            admin
                .execute_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("CREATE DATABASE {name}"),
                ))
                .await
                .unwrap();
            admin.close().await.unwrap();
            (
                Some(with_database(admin_url, &name)),
                Some((admin_url.clone(), name)),
            )
        }
    };

    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: data_dir.path().to_owned(),
        database_url,
        web_dir: web_dir.clone(),
        workers: Some(1),
        contract_check: true,
        ..Settings::default()
    };
    // Fast failure when a test points a tenant at a PSA that misbehaves.
    settings.psa.timeout_ms = 1_000;
    settings.psa.max_attempts = 3;
    settings.psa.max_backoff_ms = 50;
    // Tests sign in hundreds of times from one address; the limit has its own test.
    settings.rate_limit.launch_per_window = 100_000;
    settings.rate_limit.refresh_per_window = 100_000;
    // Metrics on the main address need a token (SPEC S14); `TestApp::metrics` sends it.
    settings.metrics.token = Some(METRICS_TOKEN.to_owned());
    // The pruning job would race tests that write expired rows on purpose; it has its own
    // test (`limits::s14_the_pruning_job_…`), which turns it on.
    settings.database.prune_every_secs = 0;
    // Likewise the reconciliation job (SPEC S12) would make PSA calls that tests count; the
    // `offboarding::s12_…` tests turn it on.
    settings.psa.reconcile_minutes = 0.0;
    // Likewise the notification sender (SPEC S15) changes outbox rows behind the tests'
    // backs; the `notifications::s15_…` tests that deliver turn it on.
    settings.smtp.poll_ms = 0;
    // And the invitation expiry job, which tests of expiry at the moment of an answer race.
    settings.smtp.expire_every_secs = 0;
    adjust(&mut settings);
    let db_url = settings.database_url();
    let secrets = (settings.secrets.clone(), settings.data_dir.clone());
    let app = Application::build(settings).await.expect("the app builds");
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address().map(|a| format!("http://{a}"));
    let handle = app.handle();
    let contract = app.contract();
    tokio::spawn(app.run_until_stopped());

    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db: Database::connect(db_url).await.unwrap(),
        web_dir,
        metrics_address,
        _data_dir: data_dir,
        secrets,
        postgres,
        handle,
        contract,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `/metrics` on the main address with the test apps' metrics token.
    pub async fn metrics(&self) -> reqwest::Response {
        self.client
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // `stop` sends its command before returning the future; awaiting it here would block
        // the runtime that drives the server, so the future is dropped unawaited.
        drop(self.handle.stop(false));
        // Drop cannot await: the test's PostgreSQL database is dropped on a thread with its
        // own runtime (FORCE ends the server's remaining pool connections).
        if let Some((admin_url, name)) = self.postgres.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                        let _ = admin
                            .execute_raw(Statement::from_string(
                                admin.get_database_backend(),
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
        if let Some(contract) = &self.contract {
            let violations = contract.violations();
            if !violations.is_empty() && !std::thread::panicking() {
                panic!(
                    "answers outside the OpenAPI document:\n{}",
                    violations.join("\n")
                );
            }
        }
    }
}

/// Asserts a response is problem+json with the given status and code; returns the body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status (expected {code}): {text}");
    assert_eq!(content_type, "application/problem+json", "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], code, "code in {body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:hubkeep:problem:{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    assert_eq!(
        body["request_id"].as_str().map(str::to_owned),
        request_id,
        "the problem carries the request id of the x-request-id header"
    );
    body
}

// ---------------------------------------------------------------------------------------
// Tenants, the PSA, and signed-in clients.

use hubkeep_api::tenant::provision::{self as tenants, NewTenant, PsaChoice};
use hubkeep_shared::api::{
    CreateToken, ElevatedLevels, LaunchRequest, NewConnection, ReconnectInput, RefreshRequest,
    RunRequest, TokenResponse,
};
use hubkeep_shared::{DirectoryFile, PsaResource, PsaSecurityLevel, RunId, TokenScope};
use serde_json::{Value, json};

use crate::client::Answer;

/// Resource ids of [`fixture_directory`], named for what the PSA says about them.
pub mod people {
    /// Active, on "Administrator" (eligible for elevation).
    pub const ADA_ADMIN: i64 = 100;
    /// Active, on "Finance Manager" (eligible for elevation).
    pub const BOB_FINANCE: i64 = 101;
    /// Active, on "Technician" (access, not elevation).
    pub const TESS_TECH: i64 = 200;
    /// Active, on "Retired Admin", an inactive level that has every other fact.
    pub const OLGA_OLD_LEVEL: i64 = 300;
    /// Active, on "No Menu Admin" (every fact but `hub_menu`).
    pub const NINA_NO_MENU: i64 = 400;
    /// Inactive resource on "Administrator".
    pub const IVAN_INACTIVE: i64 = 500;
    /// A second technician.
    pub const TOM_TECH: i64 = 201;
}

/// Security level ids of [`fixture_directory`].
pub mod levels {
    pub const ADMINISTRATOR: i64 = 1;
    pub const FINANCE_MANAGER: i64 = 2;
    pub const TECHNICIAN: i64 = 3;
    pub const RETIRED_ADMIN: i64 = 4;
    pub const NO_MENU_ADMIN: i64 = 5;
}

fn level(id: i64, name: &str, facts: [bool; 5]) -> PsaSecurityLevel {
    PsaSecurityLevel {
        id,
        name: name.into(),
        is_active: facts[0],
        hub_menu: facts[1],
        qbo_extension_admin: facts[2],
        other_extensions_admin: facts[3],
        resource_impersonation: facts[4],
    }
}

fn resource(id: i64, first: &str, last: &str, active: bool, level: i64) -> PsaResource {
    PsaResource {
        id,
        first_name: first.into(),
        last_name: last.into(),
        email: format!(
            "{}.{}@example.test",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        user_name: format!("{}{}", &first[..1].to_lowercase(), last.to_lowercase()),
        is_active: active,
        security_level_id: level,
    }
}

/// A small PSA directory with one resource per case the rules distinguish.
pub fn fixture_directory() -> DirectoryFile {
    use levels::*;
    use people::*;
    DirectoryFile {
        security_levels: vec![
            level(ADMINISTRATOR, "Administrator", [true; 5]),
            level(FINANCE_MANAGER, "Finance Manager", [true; 5]),
            level(TECHNICIAN, "Technician", [true, true, false, false, false]),
            level(
                RETIRED_ADMIN,
                "Retired Admin",
                [false, true, true, true, true],
            ),
            level(
                NO_MENU_ADMIN,
                "No Menu Admin",
                [true, false, true, true, true],
            ),
        ],
        resources: vec![
            resource(ADA_ADMIN, "Ada", "Admin", true, ADMINISTRATOR),
            resource(BOB_FINANCE, "Bob", "Finance", true, FINANCE_MANAGER),
            resource(TESS_TECH, "Tess", "Tech", true, TECHNICIAN),
            resource(TOM_TECH, "Tom", "Tech", true, TECHNICIAN),
            resource(OLGA_OLD_LEVEL, "Olga", "Old", true, RETIRED_ADMIN),
            resource(NINA_NO_MENU, "Nina", "Nomenu", true, NO_MENU_ADMIN),
            resource(IVAN_INACTIVE, "Ivan", "Inactive", false, ADMINISTRATOR),
        ],
    }
}

/// A provisioned tenant and what its PSA-side launcher knows.
#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: String,
    pub psa_id: String,
    pub launch_secret: String,
    /// The sign-in page's name (`/t/{slug}`).
    pub slug: String,
    /// The directory file, for directory tenants (tests rewrite it to change the PSA).
    pub directory_path: Option<PathBuf>,
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user: Value,
}

impl TestTenant {
    /// A valid launch assertion for a resource.
    pub fn assertion(&self, resource_id: i64) -> String {
        self.assertion_with(resource_id, |_| {})
    }

    /// A launch assertion whose claims the test may alter before signing.
    pub fn assertion_with(&self, resource_id: i64, adjust: impl FnOnce(&mut Value)) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.psa_id,
            "aud": "hubkeep",
            "sub": resource_id.to_string(),
            "iat": now,
            "exp": now + 60,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        adjust(&mut claims);
        sign_hs256(&claims, &self.launch_secret)
    }

    /// Rewrites the tenant's directory file (the PSA changes its mind).
    pub fn edit_directory(&self, edit: impl FnOnce(&mut DirectoryFile)) {
        let path = self.directory_path.as_ref().expect("a directory tenant");
        let mut file: DirectoryFile =
            toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        edit(&mut file);
        // A distinct modification time even on coarse filesystem clocks.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(path, toml::to_string(&file).unwrap()).unwrap();
    }
}

pub fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

impl TestApp {
    /// Provisions a tenant on a directory file holding `directory`.
    pub async fn tenant_with_directory(&self, directory: &DirectoryFile) -> TestTenant {
        let path = self
            ._data_dir
            .path()
            .join(format!("directory-{}.toml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, toml::to_string(directory).unwrap()).unwrap();
        let p = tenants::provision(
            &self.db,
            &self.secrets(),
            NewTenant {
                name: "Contoso MSP".into(),
                psa_id: None,
                slug: None,
                psa: PsaChoice::Directory {
                    path: Some(path.display().to_string()),
                },
                is_demo: false,
                session_lifetime_hours: 12,
                elevated_levels: Vec::new(),
            },
        )
        .await
        .unwrap();
        TestTenant {
            id: p.tenant.id,
            psa_id: p.tenant.psa_id,
            slug: p.tenant.slug,
            launch_secret: p.launch_secret,
            directory_path: Some(path),
        }
    }

    /// A tenant on the fixture directory.
    pub async fn tenant(&self) -> TestTenant {
        self.tenant_with_directory(&fixture_directory()).await
    }

    /// A tenant whose PSA is the Autotask simulator at `zone_url`.
    pub async fn autotask_tenant(&self, zone_url: Option<String>) -> TestTenant {
        let p = tenants::provision(
            &self.db,
            &self.secrets(),
            NewTenant {
                name: "Fabrikam MSP".into(),
                psa_id: None,
                slug: None,
                psa: PsaChoice::Autotask {
                    zone_url,
                    api_user: SIM_API_USER.into(),
                    integration_code: SIM_INTEGRATION_CODE.into(),
                    secret: SIM_SECRET.into(),
                },
                is_demo: false,
                session_lifetime_hours: 12,
                elevated_levels: Vec::new(),
            },
        )
        .await
        .unwrap();
        TestTenant {
            id: p.tenant.id,
            psa_id: p.tenant.psa_id,
            slug: p.tenant.slug,
            launch_secret: p.launch_secret,
            directory_path: None,
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// A tenant's stored secrets, opened with the app's key: (launch secret, Autotask
    /// integration code, Autotask secret).
    pub async fn stored_psa_secrets(
        &self,
        tenant_id: &str,
    ) -> (String, Option<String>, Option<String>) {
        use hubkeep_api::db::entities::psa_settings;
        use sea_orm::EntityTrait as _;
        let row = psa_settings::Entity::find_by_id(tenant_id.to_owned())
            .one(&self.db)
            .await
            .unwrap()
            .expect("the tenant's PSA settings");
        let ring = self.secrets();
        let (code, secret) = ring.autotask_credentials(&row).unwrap();
        let text = |v: hubkeep_api::db::SecretText| v.expose_secret().to_owned();
        (
            text(ring.launch_secret(&row).unwrap()),
            code.map(text),
            secret.map(text),
        )
    }

    /// The server's `data_dir` (a test may have moved it below [`TestApp::data_dir`]).
    pub fn server_data_dir(&self) -> &std::path::Path {
        &self.secrets.1
    }

    /// The app's master key for stored secrets.
    pub fn secrets(&self) -> hubkeep_api::db::Keyring {
        hubkeep_api::db::Keyring::load(&self.secrets.0, &self.secrets.1)
            .expect("the app's secrets key file")
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Creates an API token with the session's access token; returns the secret.
    pub async fn create_token(&self, access_token: &str, scope: &str) -> String {
        let scope: TokenScope = scope.parse().unwrap();
        let body = CreateToken {
            name: format!("{scope} token"),
            scope,
            expires_at: None,
        };
        self.with_token(access_token)
            .create_my_token(&body)
            .await
            .expect(201)
            .await
            .token
    }

    pub async fn launch(&self, assertion: &str) -> Answer<TokenResponse> {
        self.anonymous()
            .launch_session(&LaunchRequest {
                assertion: assertion.to_owned(),
            })
            .await
    }

    /// Signs a resource in (the launch must succeed).
    pub async fn sign_in(&self, tenant: &TestTenant, resource_id: i64) -> Session {
        let res = self.launch(&tenant.assertion(resource_id)).await;
        assert_eq!(res.status().as_u16(), 200, "sign-in of {resource_id}");
        session_from(res.json().await)
    }

    pub async fn refresh(&self, refresh_token: &str) -> Answer<TokenResponse> {
        self.anonymous()
            .refresh_session(&RefreshRequest {
                refresh_token: refresh_token.to_owned(),
            })
            .await
    }

    /// After a write straight to the database (not through the API): on PostgreSQL, does what
    /// the API does after a write ([`hubkeep_api::cache::postgres::barrier`]: ping the
    /// instances and wait until each has dropped what the write made stale from its read
    /// cache). On SQLite nothing is needed: the cache sees every commit of any connection in
    /// the WAL index ([`hubkeep_api::cache::wal`]).
    pub async fn settle(&self) {
        if self.is_postgres() {
            hubkeep_api::cache::postgres::barrier(&self.db).await;
        }
    }

    /// Runs a statement straight on the app's database, then [`TestApp::settle`]s.
    pub async fn write_sql(&self, sql: &str) {
        self.db
            .execute_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap();
        self.settle().await;
    }

    /// The read cache as `/readyz` reports it: (usable, hits, misses).
    pub async fn cache_status(&self) -> (bool, u64, u64) {
        let body: serde_json::Value = self.get("/readyz").await.json().await.unwrap();
        let cache = &body["cache"];
        (
            cache["usable"].as_bool().unwrap(),
            cache["hits"].as_u64().unwrap(),
            cache["misses"].as_u64().unwrap(),
        )
    }

    /// Runs a scalar query on the app's database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.first_value(sql).await
    }

    pub async fn scalar_text(&self, sql: &str) -> String {
        self.first_value(sql).await
    }

    /// The first column of the one row `sql` answers.
    async fn first_value<T: sea_orm::TryGetable>(&self, sql: &str) -> T {
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<T>(0).unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// How many activity entries with this action the tenant has.
    pub async fn activity_count(&self, tenant: &TestTenant, action: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) FROM activity_log WHERE tenant_id = '{}' AND action = '{action}'",
            tenant.id
        ))
        .await
    }

    /// Row counts of every table a sign-in or refresh could touch: equal before and after
    /// means nothing changed.
    pub async fn row_counts(&self) -> Vec<(&'static str, i64)> {
        let mut counts = Vec::new();
        for table in [
            "users",
            "sessions",
            "refresh_tokens",
            "launch_assertions",
            "api_tokens",
            "activity_log",
        ] {
            counts.push((table, self.count(table).await));
        }
        counts
    }
}

pub fn session_from(body: Value) -> Session {
    Session {
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        user: body["user"].clone(),
    }
}

pub const SIM_API_USER: &str = "api-user@example.test";
pub const SIM_INTEGRATION_CODE: &str = "HUBKEEP-TEST-CODE";
pub const SIM_SECRET: &str = "sim-secret-value";

/// An app that discovers zones through `sim` and may send it credentials (SPEC S11:
/// `[psa] extra_zone_hosts`), after `adjust`.
pub async fn spawn_app_for_simulator(
    backend: Backend,
    sim: &hubkeep_psa_sim::SimHandle,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let (discovery, host) = (sim.discovery_url(), sim.addr().to_string());
    spawn_app_with(backend, |s| {
        s.psa.autotask_discovery_url = discovery;
        s.psa.extra_zone_hosts = vec![host];
        adjust(s);
    })
    .await
}

/// The Autotask simulator serving the fixture directory with the test credentials.
pub fn start_simulator() -> hubkeep_psa_sim::SimHandle {
    start_simulator_with(|_| {})
}

/// The fixture directory and `n` more active resources (ids from 1,000,000, level 3): the
/// people [`TestApp::seed_users`] makes hub users of.
pub fn fixture_with_seeded(n: usize) -> hubkeep_shared::DirectoryFile {
    let mut directory = fixture_directory();
    for i in 0..n {
        directory.resources.push(hubkeep_shared::PsaResource {
            id: 1_000_000 + i64::try_from(i).unwrap(),
            first_name: "Seeded".into(),
            last_name: i.to_string(),
            email: format!("seed{i}@seed.test"),
            user_name: format!("seed{i}"),
            is_active: true,
            security_level_id: 3,
        });
    }
    directory
}

/// [`start_simulator`] with its configuration adjusted first.
pub fn start_simulator_with(
    adjust: impl FnOnce(&mut hubkeep_psa_sim::SimConfig),
) -> hubkeep_psa_sim::SimHandle {
    let mut config = hubkeep_psa_sim::SimConfig::new(fixture_directory());
    config.api_user = SIM_API_USER.into();
    config.integration_code = SIM_INTEGRATION_CODE.into();
    config.secret = SIM_SECRET.into();
    config.page_size = 3;
    adjust(&mut config);
    hubkeep_psa_sim::Simulator::start(config).unwrap()
}

impl TestApp {
    /// Inserts `n` hub users straight into the database (for measuring lists at scale; the
    /// rows are what sign-ins would have written).
    pub async fn seed_users(&self, tenant_id: &str, n: usize) {
        let levels = [
            (1, "Administrator", 2),
            (3, "Technician", 1),
            (4, "Retired Admin", 0),
        ];
        let mut rows = Vec::new();
        for i in 0..n {
            let (level, level_name, rank) = levels[i % levels.len()];
            let name = format!("Seeded {:06}", (i * 7919) % n.max(1));
            let at = format!("2026-01-01T00:00:{:02}.{:06}+00:00", i % 60, i);
            let at = if self.is_postgres() {
                format!("TIMESTAMPTZ '{at}'")
            } else {
                format!("'{at}'")
            };
            rows.push(format!(
                "('seed-{i:08}', '{tenant_id}', {}, 'Seeded', '{i}', '{name}', \
                 'seed{i}@seed.test', 'seed{i}@seed.test', 'seed{i}', TRUE, {level}, \
                 '{level_name}', TRUE, 'inherit', FALSE, {rank}, 'security_level_default', \
                 '{lower}', {at}, {at}, {at}, {at})",
                1_000_000 + i,
                lower = name.to_lowercase(),
            ));
        }
        for chunk in rows.chunks(500) {
            let sql = format!(
                "INSERT INTO users (id, tenant_id, psa_resource_id, first_name, last_name, \
                 display_name, email, email_key, user_name, resource_active, \
                 security_level_id, security_level_name, active, elevation, is_primary, \
                 access_rank, access_source, name_key, first_sign_in_at, last_accessed_at, \
                 snapshot_refreshed_at, updated_at) VALUES {}",
                chunk.join(", ")
            );
            self.db
                .execute_raw(Statement::from_string(self.db.get_database_backend(), sql))
                .await
                .unwrap();
        }
    }
}

/// The hub user id of a session.
pub fn id(session: &Session) -> String {
    session.user["id"].as_str().unwrap().to_owned()
}

/// Ada (primary), Bob (elevated through the Access tab), Tess (limited), on the fixture
/// directory.
pub async fn team(app: &TestApp) -> (TestTenant, Session, Session, Session) {
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, people::ADA_ADMIN).await;
    app.as_(&ada)
        .save_elevated_levels(&ElevatedLevels {
            level_ids: vec![levels::FINANCE_MANAGER],
        })
        .await
        .expect(200)
        .await;
    let bob = app.sign_in(&tenant, people::BOB_FINANCE).await;
    assert_eq!(bob.user["access_level"], "elevated");
    let tess = app.sign_in(&tenant, people::TESS_TECH).await;
    (tenant, ada, bob, tess)
}

/// Ada (primary, elevated: creates connections and owns them), Tess and Tom (limited), on
/// the fixture directory; nobody else elevated.
pub async fn owner_and_techs(app: &TestApp) -> (TestTenant, Session, Session, Session) {
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, people::ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, people::TESS_TECH).await;
    let tom = app.sign_in(&tenant, people::TOM_TECH).await;
    (tenant, ada, tess, tom)
}

/// The `field` of each entry of a problem's `errors`, in order.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// Everything a refused write on a connection could have touched: the connection as its
/// owner reads it (a read changes nothing) and the row counts of the tables concerned.
pub async fn connection_state(
    app: &TestApp,
    owner: &Session,
    cid: &str,
) -> (Value, Vec<(&'static str, i64)>) {
    let mut counts = app.row_counts().await;
    for table in [
        "connections",
        "role_assignments",
        "connection_endpoints",
        "connection_groups",
        "payments",
        "connection_views",
        "invitations",
        "sync_runs",
    ] {
        counts.push((table, app.count(table).await));
    }
    counts.push((
        "hidden sync_runs",
        app.scalar("SELECT COUNT(*) FROM sync_runs WHERE hidden")
            .await,
    ));
    let connection = app
        .as_(owner)
        .get_connection(cid)
        .await
        .expect_json(200)
        .await;
    (connection, counts)
}

/// Runs raw SQL on the app's database.
/// A timestamp long past, as the app's database writes one in SQL.
pub fn past_timestamp(app: &TestApp) -> &'static str {
    if app.is_postgres() {
        "TIMESTAMPTZ '2020-01-01T00:00:00+00:00'"
    } else {
        "'2020-01-01 00:00:00+00:00'"
    }
}

pub async fn exec(app: &TestApp, sql: &str) {
    app.write_sql(sql).await;
}

/// Gives `user_id` a role straight in the database (the row an accepted invitation writes).
pub async fn grant(
    app: &TestApp,
    tenant: &TestTenant,
    connection_id: &str,
    user_id: &str,
    role: &str,
) {
    let at = if app.is_postgres() {
        "TIMESTAMPTZ '2026-01-01T00:00:00+00:00'"
    } else {
        "'2026-01-01T00:00:00+00:00'"
    };
    exec(
        app,
        &format!(
            "INSERT INTO role_assignments (connection_id, user_id, role, tenant_id, granted_at) \
             VALUES ('{connection_id}', '{user_id}', '{role}', '{}', {at})",
            tenant.id
        ),
    )
    .await;
}

/// Creates a connection in `Europe/London` as `owner` (must succeed); returns its id.
pub async fn create_connection(app: &TestApp, owner: &Session, name: &str, kind: &str) -> String {
    let body = NewConnection {
        name: name.to_owned(),
        kind: kind.to_owned(),
        timezone: Some("Europe/London".into()),
    };
    app.as_(owner)
        .create_connection(&body)
        .await
        .expect(201)
        .await
        .id
        .into()
}

/// Reconnects one endpoint as `who` (must answer 200).
pub async fn reconnect(app: &TestApp, who: &Session, cid: &str, side: &str) {
    app.as_(who)
        .reconnect_endpoint(cid, side, &ReconnectInput::default())
        .await
        .expect(200)
        .await;
}

/// A connection created by `owner` with both endpoints connected; returns its id.
pub async fn ready_connection(app: &TestApp, owner: &Session, name: &str, kind: &str) -> String {
    let cid = create_connection(app, owner, name, kind).await;
    reconnect(app, owner, &cid, "source").await;
    reconnect(app, owner, &cid, "target").await;
    cid
}

/// Requests a run of everything as `who` (must answer 201); returns its id.
pub async fn requested_run(app: &TestApp, who: &Session, cid: &str) -> RunId {
    app.as_(who)
        .request_run(cid, &RunRequest::default())
        .await
        .expect(201)
        .await
        .id
}

/// Activity entries about a connection.
pub async fn entries(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}'"
    ))
    .await
}

/// Activity entries with this action about a connection.
pub async fn entries_of(app: &TestApp, cid: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' AND action = '{action}'"
    ))
    .await
}
