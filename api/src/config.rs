//! Configuration: built-in defaults, then a TOML file, then `HUBKEEP_SECTION__KEY`
//! environment variables, then command-line flags (which also read `HUBKEEP_BIND` & co.).
//! With nothing configured, the server starts on SQLite under `./data`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::cli::ServeArgs;

/// Everything the server reads at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub bind: String,
    /// Directory for the SQLite database and generated keys.
    pub data_dir: PathBuf,
    /// Database URL; when absent, `sqlite://<data_dir>/hubkeep.db`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Directory of the built console.
    pub web_dir: PathBuf,
    /// HTTP worker threads; default: one per CPU core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Create the demo tenant (directory provider) if missing and enable the demo endpoints.
    /// Never on by default.
    pub demo: bool,
    /// Check every answer against the OpenAPI document and record what does not match
    /// (`openapi::check`). For test suites; off by default.
    #[serde(default)]
    pub contract_check: bool,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub psa: PsaSettings,
    pub rate_limit: RateLimitSettings,
    pub database: DatabaseSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub secrets: SecretsSettings,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub oidc: OidcConfig,
    #[serde(default)]
    pub smtp: SmtpSettings,
}

/// Email (SPEC S15). With `url`, messages go to that SMTP server; without it they are
/// written as `<data_dir>/outbox/<id>.eml` (the demo's outbox, and an operator's way to see
/// what would be sent).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
    /// (TLS from the start), or `smtp://host:25` (plain: only for a relay on this machine).
    /// Holds a password: never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `From` header: `Hubkeep <hub@example.com>`.
    pub from: String,
    /// Milliseconds between the sender's looks at the outbox; 0 turns the sender off on
    /// this instance (messages wait for another).
    pub poll_ms: u64,
    /// Attempts before a message is `dead`.
    pub max_attempts: u32,
    /// The first retry's delay in seconds; each further one doubles, up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// One delivery's time limit (connect, TLS, the whole SMTP exchange), in seconds; the
    /// sender enforces it around lettre, whose own timeout covers connecting only.
    pub timeout_secs: u64,
    /// Seconds between runs of the job that marks invitations past their time `expired`
    /// and tells their inviters; 0 turns it off.
    pub expire_every_secs: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            url: None,
            from: "Hubkeep <hubkeep@localhost>".to_owned(),
            poll_ms: 1_000,
            max_attempts: 8,
            retry_base_secs: 30,
            retry_max_secs: 3_600,
            timeout_secs: 30,
            expire_every_secs: 60,
        }
    }
}

impl SmtpSettings {
    fn check(&self) -> Result<(), ConfigError> {
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Rule(
                "[smtp] from must be an address, optionally with a name: `Hubkeep <hub@example.com>`",
            ));
        }
        if let Some(url) = &self.url {
            let Some(parsed) = url::Url::parse(url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some())
            else {
                return Err(ConfigError::Rule(
                    "[smtp] url must be smtp://… or smtps://… with a host",
                ));
            };
            // A password goes over TLS only (`smtps://`, or STARTTLS with `tls=required`),
            // but to a relay on this machine.
            let tls = parsed.scheme() == "smtps"
                || parsed
                    .query_pairs()
                    .any(|(k, v)| k == "tls" && v == "required");
            // `smtp` is not a scheme the URL standard knows, so its host is not parsed as an
            // IPv4 address: `127.0.0.1` arrives as a name.
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => {
                    d.eq_ignore_ascii_case("localhost")
                        || d.trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }
                None => false,
            };
            let credentials = !parsed.username().is_empty() || parsed.password().is_some();
            if credentials && !tls && !loopback {
                return Err(ConfigError::Rule(
                    "[smtp] url sends a user and password: use smtps://… or smtp://…?tls=required",
                ));
            }
        }
        if self.max_attempts == 0 || self.retry_base_secs == 0 || self.timeout_secs == 0 {
            return Err(ConfigError::Rule(
                "[smtp] max_attempts, retry_base_secs and timeout_secs must be at least 1",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &self.url.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("poll_ms", &self.poll_ms)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base_secs", &self.retry_base_secs)
            .field("retry_max_secs", &self.retry_max_secs)
            .field("timeout_secs", &self.timeout_secs)
            .field("expire_every_secs", &self.expire_every_secs)
            .finish()
    }
}

/// OpenID Connect sign-in (SPEC S13): what the operator allows tenants to configure.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Accept `http://` issuers (and endpoints): for a provider on this machine in tests and
    /// `just oidc-dev`. Off by default: tokens and the client secret travel only over TLS.
    /// Only this file can set it, never the API.
    #[serde(default)]
    pub allow_http: bool,
}

/// How the hub is reached over HTTP (SPEC S14).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// The address people and the PSA reach the hub at (`https://hub.example.com`). When it
    /// is https, responses carry `Strict-Transport-Security`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Who may frame the console (`frame-ancestors` sources, e.g. the PSA's address); none
    /// by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_ancestors: Vec<String>,
    /// Proxies (CIDRs or addresses) whose `Forwarded` / `X-Forwarded-For` name the client;
    /// none by default, since anyone can send those headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// The header the trusted proxies write: `x-forwarded-for` (the default) or `forwarded`.
    /// Only that one is read (a proxy passes the other through from the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_header: Option<String>,
}

impl HttpSettings {
    /// The `frame-ancestors` value: the configured sources, or `'none'`.
    pub fn frame_ancestors(&self) -> String {
        if self.frame_ancestors.is_empty() {
            "'none'".to_owned()
        } else {
            self.frame_ancestors.join(" ")
        }
    }

    pub fn is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url.trim())
                .map_err(|_| ConfigError::Rule("[http] public_url must be an absolute URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(ConfigError::Rule(
                    "[http] public_url must be an http or https URL with a host",
                ));
            }
        }
        // One source per entry: nothing that could end the directive or add another.
        if self.frame_ancestors.iter().any(|s| {
            s.is_empty()
                || s.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == ';' || c == ',')
        }) {
            return Err(ConfigError::Rule(
                "[http] frame_ancestors holds CSP sources, one per entry, without spaces, ';' or ','",
            ));
        }
        Ok(())
    }
}

/// The master key that seals stored secrets (SPEC S14, `db::sealed`).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSettings {
    /// Base64 of 32 random bytes (`openssl rand -base64 32`). When absent, a key is generated
    /// into `<data_dir>/secrets-key.json` (0600). Several instances sharing a database must
    /// share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Keys that still open what they sealed, during a rotation: put the new key in `key`,
    /// the old one here, run `hubkeep secrets rotate-key`, then remove it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_keys: Vec<String>,
}

impl std::fmt::Debug for SecretsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsSettings")
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("previous_keys", &self.previous_keys.len())
            .finish()
    }
}

/// Where Prometheus metrics are served (SPEC S14): on their own address, or on the main one
/// to a bearer of the token; with neither, `/metrics` is 404.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A separate address serving `/metrics` and nothing else (`--metrics-bind`), e.g. on an
    /// interface only the monitoring network reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// A token that opens `/metrics` on the main address (`Authorization: Bearer <token>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("bind", &self.bind)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Connection pools (`db::pool::connect`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connections of the SQLite reader pool (reads outside transactions run on them in
    /// parallel; writes go through one writer connection). Ignored on PostgreSQL.
    pub sqlite_readers: u32,
    /// Connections of the PostgreSQL pool.
    pub max_connections: u32,
    /// Seconds between runs of the job that prunes expired sessions, launch `jti`s and
    /// counters (SPEC S14); 0 turns it off.
    pub prune_every_secs: u64,
    /// PostgreSQL: the URL of the connection this instance `LISTEN`s on for its read cache
    /// (issue 24); default: the database URL. Set it when the database URL goes through a
    /// transaction pooler, which cannot `LISTEN`. Never logged: it may carry a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_url: Option<String>,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("sqlite_readers", &self.sqlite_readers)
            .field("max_connections", &self.max_connections)
            .field("prune_every_secs", &self.prune_every_secs)
            .field("listen_url", &self.listen_url.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Requests per client address (SPEC S8). 0 turns a limit off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Launches (and demo launches) per address per window.
    pub launch_per_window: u32,
    /// Refreshes per address per window.
    pub refresh_per_window: u32,
    /// The window, in seconds.
    pub window_secs: u32,
}

/// Sessions and access tokens (SPEC S3.3).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `iss` of the access tokens this deployment signs (and `aud` is `hubkeep-api`).
    pub issuer: String,
    /// Access-token lifetime in seconds.
    pub access_token_ttl_secs: u64,
    /// Session lifetime for tenants that have not set their own, in hours.
    pub session_lifetime_hours: u32,
    /// The `kid` of the key that signs new access tokens; must name one of `keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_id: Option<String>,
    /// Keys that verify access tokens (HS256). When empty, one key is generated and kept in
    /// the data directory. Several instances sharing a database must share these.
    pub keys: Vec<SigningKey>,
}

/// One HS256 key. Its secret is never logged.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    pub id: String,
    /// At least 32 bytes.
    pub secret: String,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("issuer", &self.issuer)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("session_lifetime_hours", &self.session_lifetime_hours)
            .field("signing_key_id", &self.signing_key_id)
            .field("keys", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Talking to the PSA (SPEC S3.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsaSettings {
    /// How long the security-level list is reused before the PSA is asked again, seconds.
    pub level_cache_secs: u64,
    /// Autotask's zone-discovery endpoint (tests point it at the simulator).
    pub autotask_discovery_url: String,
    /// Hard timeout of one PSA call, milliseconds.
    pub timeout_ms: u64,
    /// Attempts per PSA call when it answers 429 or cannot be reached.
    pub max_attempts: u32,
    /// The longest single wait between attempts (a `Retry-After` included), milliseconds.
    pub max_backoff_ms: u64,
    /// PSA calls each tenant may make per hour, counted across every instance (SPEC S11).
    /// Sign-in and refresh always go through; other work stops when it is spent. The
    /// default is 20% of Autotask's 10,000 requests an hour per database.
    pub hourly_budget: u32,
    /// Hosts besides `https://webservices*.autotask.net` that Autotask credentials may be
    /// sent to, as `host` (any port) or `host:port`, over http or https: for simulators and
    /// tests. Only this file can set it, never the API.
    pub extra_zone_hosts: Vec<String>,
    /// How often each tenant's hub users are re-read from the PSA (SPEC S12), minutes;
    /// fractions allowed (tests use seconds); `0` turns the job off. At most 1440.
    pub reconcile_minutes: f64,
    /// How long a reconciliation lease lasts before another instance may take the job over,
    /// seconds; the running instance renews it after every batch.
    pub reconcile_lease_secs: u64,
}

impl PsaSettings {
    /// The reconciliation period, `None` when the job is off.
    pub fn reconcile_every(&self) -> Option<std::time::Duration> {
        (self.reconcile_minutes > 0.0)
            .then(|| std::time::Duration::from_secs_f64(self.reconcile_minutes * 60.0))
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !(0.0..=1440.0).contains(&self.reconcile_minutes) {
            return Err(ConfigError::Rule(
                "[psa] reconcile_minutes must be between 0 (off) and 1440",
            ));
        }
        if !(1..=3600).contains(&self.reconcile_lease_secs) {
            return Err(ConfigError::Rule(
                "[psa] reconcile_lease_secs must be between 1 and 3600",
            ));
        }
        Ok(())
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter; `RUST_LOG` overrides it.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            web_dir: PathBuf::from("./web/dist"),
            workers: None,
            demo: false,
            contract_check: false,
            log: LogSettings {
                format: LogFormat::Pretty,
                filter: "info".to_owned(),
            },
            auth: AuthSettings {
                issuer: "hubkeep".to_owned(),
                access_token_ttl_secs: 15 * 60,
                session_lifetime_hours: 12,
                signing_key_id: None,
                keys: Vec::new(),
            },
            psa: PsaSettings {
                level_cache_secs: 60,
                autotask_discovery_url:
                    "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
                        .to_owned(),
                timeout_ms: 10_000,
                max_attempts: 4,
                max_backoff_ms: 5_000,
                hourly_budget: 2_000,
                extra_zone_hosts: Vec::new(),
                reconcile_minutes: 5.0,
                reconcile_lease_secs: 60,
            },
            rate_limit: RateLimitSettings {
                launch_per_window: 30,
                refresh_per_window: 120,
                window_secs: 60,
            },
            database: DatabaseSettings {
                sqlite_readers: 4,
                max_connections: 10,
                prune_every_secs: 600,
                listen_url: None,
            },
            metrics: MetricsSettings::default(),
            secrets: SecretsSettings::default(),
            oidc: OidcConfig::default(),
            smtp: SmtpSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("invalid configuration: {0}")]
    Rule(&'static str),
}

/// The shortest `[metrics] token` accepted: an empty or short one would open the metrics to
/// anyone who guesses it.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

impl Settings {
    /// Reads the layered configuration for the given command-line flags.
    pub fn load(args: &ServeArgs) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &args.config {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.clone()));
            }
            figment = figment.merge(Toml::file(path));
        }
        // Only nested keys (`HUBKEEP_LOG__FORMAT`) come from here: the flat ones are the
        // command-line flags' own variables, parsed by clap.
        figment = figment.merge(
            Env::prefixed("HUBKEEP_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        let flags = FlagOverrides {
            bind: args.bind.clone(),
            data_dir: args.data_dir.clone(),
            database_url: args.database_url.clone(),
            web_dir: args.web_dir.clone(),
            demo: args.demo.then_some(true),
            metrics: args.metrics_bind.clone().map(|bind| MetricsFlags { bind }),
        };
        figment = figment.merge(Serialized::defaults(flags));
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        if let Some(token) = &settings.metrics.token
            && token.trim().chars().count() < MIN_METRICS_TOKEN_CHARS
        {
            return Err(ConfigError::Rule(
                "[metrics] token must be at least 16 characters",
            ));
        }
        settings.http.check()?;
        settings.smtp.check()?;
        settings.psa.check()?;
        Ok(settings)
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => sqlite_url(&self.data_dir.join(SQLITE_FILE)),
        }
    }
}

/// The SQLite database in the data directory.
pub const SQLITE_FILE: &str = "hubkeep.db";

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// `--metrics-bind`, as the `[metrics]` table it overrides a key of.
#[derive(Serialize)]
struct MetricsFlags {
    bind: String,
}

/// The flags that were given, as a figment layer; absent flags leave lower layers alone.
#[derive(Serialize)]
struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<MetricsFlags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    demo: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration_and_use_sqlite_in_the_data_dir() {
        let s = Settings::load(&ServeArgs::default()).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url(), "sqlite://./data/hubkeep.db?mode=rwc");
    }

    #[test]
    fn metrics_bind_flag_joins_the_token_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hubkeep.toml");
        std::fs::write(&file, "[metrics]\ntoken = \"m-token-0123456789\"\n").unwrap();
        let args = ServeArgs {
            config: Some(file),
            metrics_bind: Some("127.0.0.1:9464".into()),
            ..ServeArgs::default()
        };
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.metrics.bind.as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(s.metrics.token.as_deref(), Some("m-token-0123456789"));
        assert!(!format!("{s:?}").contains("m-token-0123456789"));
        let none = Settings::load(&ServeArgs::default()).unwrap();
        assert!(none.metrics.bind.is_none() && none.metrics.token.is_none());
        for short in ["", "   ", "short-token"] {
            std::fs::write(
                dir.path().join("short.toml"),
                format!("[metrics]\ntoken = \"{short}\"\n"),
            )
            .unwrap();
            let args = ServeArgs {
                config: Some(dir.path().join("short.toml")),
                ..ServeArgs::default()
            };
            assert!(
                matches!(Settings::load(&args), Err(ConfigError::Rule(_))),
                "{short:?}"
            );
        }
    }

    #[test]
    fn s15_smtp_settings_read_from_the_file_hide_the_password_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let load = |text: &str| {
            let file = dir.path().join("smtp.toml");
            std::fs::write(&file, text).unwrap();
            Settings::load(&ServeArgs {
                config: Some(file),
                ..ServeArgs::default()
            })
        };
        // The README's example.
        let s = load(
            "[smtp]\nurl = \"smtp://user:pass@smtp.example.com:587?tls=required\"\n\
             from = \"Hubkeep <hub@example.com>\"\npoll_ms = 1000\nmax_attempts = 8\n\
             retry_base_secs = 30\nretry_max_secs = 3600\ntimeout_secs = 30\n\
             expire_every_secs = 60\n",
        )
        .unwrap();
        assert_eq!(s.smtp.from, "Hubkeep <hub@example.com>");
        assert!(
            !format!("{s:?}").contains("pass@"),
            "the password is never printed"
        );
        // TLS from the start, and a relay on this machine without TLS, are fine.
        load("[smtp]\nurl = \"smtps://u:p@smtp.example.com:465\"\n").unwrap();
        load("[smtp]\nurl = \"smtp://u:p@127.0.0.1:25\"\n").unwrap();
        load("[smtp]\nurl = \"smtp://u:p@[::1]:25\"\n").unwrap();
        load("[smtp]\nurl = \"smtp://u:p@localhost:25\"\n").unwrap();
        assert!(load("[smtp]\nurl = \"smtp://u:p@127.0.0.2.example.com:25\"\n").is_err());
        load("[smtp]\nurl = \"smtp://smtp.example.com:25\"\n").unwrap();
        for bad in [
            "[smtp]\nfrom = \"not an address\"\n",
            "[smtp]\nurl = \"http://smtp.example.com\"\n",
            "[smtp]\nurl = \"smtp://\"\n",
            "[smtp]\nmax_attempts = 0\n",
            // A password in the clear, or over STARTTLS an attacker may strip.
            "[smtp]\nurl = \"smtp://u:p@smtp.example.com:587\"\n",
            "[smtp]\nurl = \"smtp://u:p@smtp.example.com:587?tls=opportunistic\"\n",
            "[smtp]\nport = 25\n",
        ] {
            assert!(load(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_override_the_configuration_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hubkeep.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\ndata_dir = \"/srv/hk\"\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            bind: Some("127.0.0.1:9100".into()),
            ..ServeArgs::default()
        };
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.bind, "127.0.0.1:9100");
        assert_eq!(s.data_dir, PathBuf::from("/srv/hk"));
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn a_missing_or_misspelt_configuration_is_an_error_not_a_silent_default() {
        let args = ServeArgs {
            config: Some("/nonexistent/hubkeep.toml".into()),
            ..ServeArgs::default()
        };
        assert!(matches!(
            Settings::load(&args),
            Err(ConfigError::MissingFile(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hubkeep.toml");
        std::fs::write(&file, "bnid = \"127.0.0.1:9000\"\n").unwrap();
        let args = ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        };
        assert!(matches!(
            Settings::load(&args),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn http_settings_refuse_what_would_break_the_headers() {
        let ok = HttpSettings {
            public_url: Some("https://hub.example.com".into()),
            frame_ancestors: vec!["'self'".into(), "https://psa.example.com".into()],
            trusted_proxies: Vec::new(),
            forwarded_header: None,
        };
        assert!(ok.check().is_ok());
        assert!(ok.is_https());
        assert_eq!(ok.frame_ancestors(), "'self' https://psa.example.com");
        assert_eq!(HttpSettings::default().frame_ancestors(), "'none'");
        for bad in [
            HttpSettings {
                frame_ancestors: vec!["https://a.example; script-src *".into()],
                ..Default::default()
            },
            HttpSettings {
                frame_ancestors: vec![String::new()],
                ..Default::default()
            },
            HttpSettings {
                public_url: Some("ftp://hub.example.com".into()),
                ..Default::default()
            },
            HttpSettings {
                public_url: Some("hub.example.com".into()),
                ..Default::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
