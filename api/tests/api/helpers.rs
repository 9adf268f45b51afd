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
    /// PostgreSQL when `HUBKEEP_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("HUBKEEP_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Backend::Postgres)
    }
}

/// Runs one async test body on each backend: `sqlite` always, `postgres` when configured.
/// The test names (`name::sqlite`, `name::postgres`) show in the log which backend ran.
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
                async fn postgres() {
                    match Backend::postgres() {
                        Some(backend) => super::$name(backend).await,
                        None => eprintln!("HUBKEEP_TEST_POSTGRES_URL not set: PostgreSQL variant not run"),
                    }
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
    _data_dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
    handle: actix_web::dev::ServerHandle,
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

pub async fn spawn_app(backend: Backend) -> TestApp {
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

    let settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: data_dir.path().to_owned(),
        database_url,
        web_dir: web_dir.clone(),
        workers: Some(1),
        ..Settings::default()
    };
    let db_url = settings.database_url();
    let app = Application::build(settings).await.expect("the app builds");
    let address = format!("http://{}", app.address());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());

    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db: Database::connect(db_url).await.unwrap(),
        web_dir,
        _data_dir: data_dir,
        postgres,
        handle,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
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
    }
}

/// Asserts a response is problem+json with the given status and code; returns the body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = res.json().await.unwrap();
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
