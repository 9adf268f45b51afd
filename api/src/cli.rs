//! The command line (SPEC S8.2). Every `serve` flag also reads a `HUBKEEP_…` variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Hubkeep: the access plane of an accounting integration hub.
#[derive(Debug, Parser)]
#[command(name = "hubkeep", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve` is the default command; its flags may be given without it.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the API and the admin console (the default).
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(ServeArgs),
    /// Print the OpenAPI document.
    Openapi,
}

/// Options of the server; each overrides the configuration file.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "HUBKEEP_BIND")]
    pub bind: Option<String>,
    /// Directory for the SQLite database and generated keys.
    #[arg(long, env = "HUBKEEP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`); default: a SQLite file in the data dir.
    #[arg(long, env = "HUBKEEP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long, env = "HUBKEEP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory holding the built admin console (`index.html` and its WASM).
    #[arg(long, env = "HUBKEEP_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Create the demo tenant on the bundled directory if missing and enable the demo
    /// sign-in endpoints. For trying Hubkeep out; never in production.
    #[arg(long, env = "HUBKEEP_DEMO", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub demo: bool,
}
