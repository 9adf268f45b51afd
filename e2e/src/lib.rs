//! Helpers for black-box tests: start the real `hubkeep` binary on a free port, wait for it,
//! and stop it gracefully.

pub mod api;
pub mod browser;
pub mod oidc;
pub mod scripts;
pub mod smtp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use sea_orm::ConnectionTrait as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The PostgreSQL admin URL of the tests (`HUBKEEP_TEST_POSTGRES_URL`), when set and not
/// empty. Tests that need it are marked `ignored` when it was unset at build time
/// (`e2e/build.rs`).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("HUBKEEP_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// The `hubkeep` binary: `HUBKEEP_BIN`, else the one beside this test in the target dir.
pub fn hubkeep_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("HUBKEEP_BIN") {
        return PathBuf::from(bin);
    }
    target_binary("hubkeep", "hubkeep-api")
}

/// The Autotask simulator binary beside this test in the target dir.
pub fn simulator_binary() -> PathBuf {
    target_binary("hubkeep-psa-sim", "hubkeep-psa-sim")
}

fn target_binary(name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> → target/debug/<name>
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join(name))
        .unwrap_or_default();
    assert!(
        bin.is_file(),
        "{} not found: build it first (`cargo build -p {package}`)",
        bin.display()
    );
    bin
}

/// Spawns a command that prints `<prefix>http://…` on stdout once it listens; returns the
/// child and the URL.
pub fn spawn_listening(command: Command, prefix: &str) -> (Child, String) {
    spawn_listening_with(command, prefix, Stdio::null())
}

/// [`spawn_listening`] with the child's stderr (its log) sent where the caller says.
pub fn spawn_listening_with(mut command: Command, prefix: &str, stderr: Stdio) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix(prefix) {
                    return (child, url.trim().to_owned());
                }
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the binary exited before listening");
            }
        }
    }
}

/// The built console: `HUBKEEP_WEB_DIR`, else `web/dist` of the workspace.
pub fn web_dist() -> PathBuf {
    let dir = std::env::var_os("HUBKEEP_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("web/dist"));
    assert!(
        dir.join("index.html").is_file(),
        "{} holds no built console: run `just web` first",
        dir.display()
    );
    dir
}

/// A stand-in for the built console (an `index.html` only), for tests that never open a
/// browser and so need not require `just web`.
pub fn stub_web_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Hubkeep</title>",
    )
    .expect("index.html is written");
    dir
}

/// What [`Server::start_with`] passes to `hubkeep serve` beyond the defaults.
#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    /// `--database-url` (default: SQLite in the data dir).
    pub database_url: Option<String>,
    /// `--config`, a TOML file.
    pub config: Option<PathBuf>,
    /// Append the server's stderr (its log) to this file instead of discarding it.
    pub log_file: Option<PathBuf>,
    /// `--web-dir` (default: [`web_dist`]).
    pub web_dir: Option<PathBuf>,
    /// More `serve` flags.
    pub extra: Vec<String>,
    /// Environment variables for the server.
    pub env: Vec<(String, String)>,
    /// `--bind` (default `127.0.0.1:0`, a port the OS picks); a fixed address lets a test
    /// tell the server its own `[http] public_url` before it starts.
    pub bind: Option<String>,
}

/// A port of 127.0.0.1 free right now (for a server that must know its address up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh PostgreSQL database `hk_e2e_<uuid>` on the server of `admin_url`, dropped
/// (`WITH (FORCE)`, ending whatever still holds a connection) when this guard is dropped,
/// a failing test included.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    /// The database's name.
    pub name: String,
    /// A URL that connects to it.
    pub url: String,
}

impl PgDatabase {
    /// Creates the database through `admin_url` (which must name an existing database).
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("hk_e2e_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(admin_url)
            .await
            .expect("HUBKEEP_TEST_POSTGRES_URL connects");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url).expect("HUBKEEP_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        Self {
            admin_url: admin_url.to_owned(),
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside the test's runtime: a thread with its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A running `hubkeep serve`, stopped (SIGTERM, then kill) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _data_dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts the binary on 127.0.0.1 with a port the OS picks, a fresh data dir and the
    /// built console, and waits until it prints its address.
    pub fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(data_dir.path(), &[]);
        server._data_dir = Some(data_dir);
        server
    }

    /// Starts the binary on a given data directory with extra `serve` flags.
    pub fn start_in(data_dir: &std::path::Path, extra: &[&str]) -> Self {
        Self::start_with(
            data_dir,
            &ServerOptions {
                extra: extra.iter().map(|s| (*s).to_owned()).collect(),
                ..ServerOptions::default()
            },
        )
    }

    /// Starts the binary on a given data directory with the given options. The test's own
    /// `HUBKEEP_DATABASE_URL`, `HUBKEEP_CONFIG` and `HUBKEEP_DEMO` never reach the server:
    /// only what the options say does.
    pub fn start_with(data_dir: &Path, options: &ServerOptions) -> Self {
        let mut command = Command::new(hubkeep_binary());
        command
            .args(["serve", "--bind"])
            .arg(options.bind.as_deref().unwrap_or("127.0.0.1:0"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--web-dir")
            .arg(options.web_dir.clone().unwrap_or_else(web_dist));
        if let Some(url) = &options.database_url {
            command.arg("--database-url").arg(url);
        }
        if let Some(config) = &options.config {
            command.arg("--config").arg(config);
        }
        command.args(&options.extra);
        command
            .env_remove("HUBKEEP_DATABASE_URL")
            .env_remove("HUBKEEP_CONFIG")
            .env_remove("HUBKEEP_DEMO")
            .envs(options.env.iter().map(|(k, v)| (k, v)));
        let stderr = match &options.log_file {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("the log file opens"),
            ),
            None => Stdio::null(),
        };
        let (child, base) = spawn_listening_with(command, "hubkeep listening on ", stderr);
        Self {
            child,
            base,
            _data_dir: None,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (no shutdown, no draining) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Polls `/readyz` until it answers 200 (bounded).
    pub async fn wait_ready(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = client.get(self.url("/readyz")).send().await
                && res.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "hubkeep never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A launch assertion as the PSA-side launcher signs it (SPEC S3.2): HS256 with the tenant's
/// launch secret, `iss` its PSA id, a fresh `jti`, valid for 60 s.
pub fn launch_assertion(psa_id: &str, secret: &str, resource_id: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({"iss": psa_id, "aud": "hubkeep", "sub": resource_id.to_string(),
                "iat": now, "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string()}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

/// Runs `hubkeep tenant <args> --json` on a data dir (and a database URL when given, with
/// extra environment) and returns what it printed; panics with its stderr if it fails.
pub fn tenant_cli(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    args: &[&str],
    env: &[(&str, &str)],
) -> serde_json::Value {
    let mut command = Command::new(hubkeep_binary());
    command
        .arg("tenant")
        .args(args)
        .arg("--json")
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("HUBKEEP_DATABASE_URL")
        .env_remove("HUBKEEP_CONFIG")
        .envs(env.iter().copied());
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    let out = command.output().expect("hubkeep runs");
    assert!(
        out.status.success(),
        "hubkeep tenant {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("hubkeep tenant --json prints JSON")
}
