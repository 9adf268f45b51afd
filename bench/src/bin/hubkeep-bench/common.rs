//! What the HTTP and scale benches share: where results go, starting the release binary on a
//! fresh database with a signed-in tenant (on one instance or several sharing it), and reading
//! the servers' memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use hubkeep_e2e::{PgDatabase, Server, ServerOptions, launch_assertion, tenant_cli};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Margaret Chen, the first Administrator of the shipped demo directory: she signs in first,
/// so she is the tenant's primary user (elevated).
pub const PRIMARY_RESOURCE_ID: i64 = 29_682_885;

/// The database a bench runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// `$CARGO_TARGET_DIR/bench-results`, else `target/bench-results` of the workspace.
pub fn results_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| hubkeep_e2e::workspace_root().join("target"));
    target.join("bench-results")
}

/// `$CARGO_TARGET_DIR/criterion` (where `cargo bench` leaves its estimates).
pub fn criterion_dir() -> PathBuf {
    results_dir()
        .parent()
        .map(|t| t.join("criterion"))
        .unwrap_or_default()
}

pub fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    std::fs::write(path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read(path)
        .with_context(|| format!("reading {} (run the bench)", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The PostgreSQL admin URL benches create their database through.
pub fn postgres_admin_url() -> anyhow::Result<String> {
    std::env::var("HUBKEEP_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("HUBKEEP_TEST_POSTGRES_URL"))
        .context(
            "PostgreSQL benches need HUBKEEP_BENCH_POSTGRES_URL (or HUBKEEP_TEST_POSTGRES_URL), \
             e.g. postgres://postgres@127.0.0.1:5432/test",
        )
}

/// Release servers on a fresh database with one tenant (the demo directory) whose primary
/// user is signed in, with an API token and a connection of theirs. Every instance reads one
/// configuration file: instances sharing a database must share the token signing key and the
/// key of stored secrets (SPEC S14), and the metrics token lets the bench read each
/// instance's own request counter.
#[derive(Debug)]
pub struct Bench {
    /// Instance A: the one the bench seeds and signs in through.
    pub server: Server,
    /// Instances B, C… on the same database and configuration.
    pub others: Vec<Server>,
    /// A URL the bench itself connects to the database with (seeding, checks).
    pub database_url: String,
    pub client: reqwest::Client,
    pub access_token: String,
    pub api_token: String,
    pub connection_id: String,
    pub tenant_id: String,
    /// `[metrics] token`: opens `/metrics` on every instance's main address.
    pub metrics_token: String,
    _work_dir: tempfile::TempDir,
    _web_dir: tempfile::TempDir,
    _postgres: Option<PgDatabase>,
}

/// `[secrets] key` of the bench's configuration. A constant is enough: the database it seals
/// is created for one run and dropped after it.
const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The configuration every instance of one bench reads: the shared keys, and a metrics
/// token (nothing else differs from the defaults).
fn write_config(path: &Path, metrics_token: &str) -> anyhow::Result<()> {
    let signing_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::write(
        path,
        format!(
            "[auth]\nsigning_key_id = \"bench\"\n[[auth.keys]]\nid = \"bench\"\n\
             secret = \"{signing_secret}\"\n\
             [secrets]\nkey = \"{SECRETS_KEY}\"\n\
             [metrics]\ntoken = \"{metrics_token}\"\n"
        ),
    )
    .with_context(|| format!("writing {}", path.display()))
}

/// `A`, `B`, … : how the bench names its instances.
pub fn instance_name(index: usize) -> char {
    char::from(b'A' + u8::try_from(index % 26).unwrap_or(0))
}

impl Bench {
    /// One instance.
    pub async fn start(backend: Backend, log_name: &str) -> anyhow::Result<Self> {
        Self::start_instances(backend, log_name, 1).await
    }

    /// `instances` servers on one fresh database, seeded once (through instance A). Each
    /// instance has a data directory of its own and logs to
    /// `server-<log_name>-<backend>[-<instance>].log` in the results directory.
    pub async fn start_instances(
        backend: Backend,
        log_name: &str,
        instances: usize,
    ) -> anyhow::Result<Self> {
        let Some(binary) = std::env::var_os("HUBKEEP_BIN") else {
            bail!("set HUBKEEP_BIN to the release binary (`just bench` does)");
        };
        if !Path::new(&binary).is_file() {
            bail!("HUBKEEP_BIN={} is not a file", Path::new(&binary).display());
        }
        if instances == 0 {
            bail!("a bench needs at least one instance");
        }
        let work_dir = tempfile::tempdir()?;
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create(&postgres_admin_url()?).await),
        };
        let database_url = match &postgres {
            Some(pg) => pg.url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                work_dir.path().join("hubkeep.db").display()
            ),
        };
        let metrics_token = uuid::Uuid::new_v4().simple().to_string();
        let config = work_dir.path().join("hubkeep.toml");
        write_config(&config, &metrics_token)?;
        let directory = hubkeep_e2e::workspace_root().join("config/demo-directory.toml");
        let created = tenant_cli(
            work_dir.path(),
            Some(&database_url),
            &[
                "create",
                "--name",
                "Bench",
                "--psa",
                "directory",
                "--directory",
                directory.to_str().context("a UTF-8 path")?,
            ],
            &[("HUBKEEP_SECRETS__KEY", SECRETS_KEY)],
        );
        let tenant_id = created["id"]
            .as_str()
            .or_else(|| created["tenant_id"].as_str())
            .context("`tenant create --json` prints the tenant id")?
            .to_owned();
        let web = hubkeep_e2e::stub_web_dir();
        std::fs::create_dir_all(results_dir())?;
        let mut servers = Vec::with_capacity(instances);
        for index in 0..instances {
            let name = instance_name(index);
            let log_file = if instances == 1 {
                results_dir().join(format!("server-{log_name}-{}.log", backend.name()))
            } else {
                results_dir().join(format!(
                    "server-{log_name}-{}-{}.log",
                    backend.name(),
                    name.to_ascii_lowercase()
                ))
            };
            let _ = std::fs::remove_file(&log_file);
            let data_dir = work_dir.path().join(format!("instance-{name}"));
            std::fs::create_dir_all(&data_dir)?;
            servers.push(Server::start_with(
                &data_dir,
                &ServerOptions {
                    database_url: Some(database_url.clone()),
                    config: Some(config.clone()),
                    web_dir: Some(web.path().to_owned()),
                    log_file: Some(log_file),
                    ..ServerOptions::default()
                },
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        for server in &servers {
            server.wait_ready(&client).await;
        }
        let mut servers = servers.into_iter();
        let server = servers.next().context("instance A")?;
        let others: Vec<Server> = servers.collect();
        let assertion = launch_assertion(
            created["psa_id"].as_str().context("psa_id")?,
            created["launch_secret"].as_str().context("launch_secret")?,
            PRIMARY_RESOURCE_ID,
        );
        let signed_in = post(
            &client,
            &server.url("/api/v1/auth/launch"),
            None,
            json!({ "assertion": assertion }),
        )
        .await?;
        let access_token = text(&signed_in, "access_token")?;
        let token = post(
            &client,
            &server.url("/api/v1/me/tokens"),
            Some(&access_token),
            json!({ "name": "bench", "scope": "read" }),
        )
        .await?;
        let api_token = text(&token, "token")?;
        let connection = post(
            &client,
            &server.url("/api/v1/connections"),
            Some(&access_token),
            json!({ "name": "Bench connection", "kind": "xero_power_bi" }),
        )
        .await?;
        let connection_id = text(&connection, "id")?;
        Ok(Self {
            server,
            others,
            database_url,
            client,
            access_token,
            api_token,
            connection_id,
            tenant_id,
            metrics_token,
            _work_dir: work_dir,
            _web_dir: web,
            _postgres: postgres,
        })
    }

    /// Every instance, A first.
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        std::iter::once(&self.server).chain(&self.others)
    }

    /// Each instance's peak resident memory so far (`VmHWM`), in KiB, A first.
    pub fn instance_peak_rss_kib(&self) -> anyhow::Result<Vec<u64>> {
        self.servers()
            .map(|server| status_kib(server.pid(), "VmHWM"))
            .collect()
    }

    /// The highest peak resident memory of any one instance so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        Ok(self.instance_peak_rss_kib()?.into_iter().max().unwrap_or(0))
    }
}

/// A field of `/proc/<pid>/status` given in kB.
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .trim_start_matches(':')
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .with_context(|| format!("{field} in /proc/{pid}/status"))
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url}: {status} {body}");
    }
    Ok(body)
}

fn text(body: &Value, field: &str) -> anyhow::Result<String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("`{field}` in {body}"))
}
