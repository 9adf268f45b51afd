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
    pub log: LogSettings,
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
            log: LogSettings {
                format: LogFormat::Pretty,
                filter: "info".to_owned(),
            },
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
}

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
        };
        figment = figment.merge(Serialized::defaults(flags));
        figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => sqlite_url(&self.data_dir.join("hubkeep.db")),
        }
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The flags that were given, as a figment layer; absent flags leave lower layers alone.
#[derive(Serialize)]
struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_dir: Option<PathBuf>,
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
}
