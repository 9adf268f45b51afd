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
    /// Provision and inspect tenants (one per PSA instance).
    Tenant(TenantArgs),
    /// The master key that seals stored secrets.
    Secrets(SecretsArgs),
}

/// `hubkeep secrets …`
#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-seal every stored secret under a new key. With the generated key file: a new key
    /// is generated, every secret re-sealed, and the old key removed from the file (running
    /// servers follow the file). With `[secrets] key`: put the new key there and the old one
    /// in `previous_keys`, run this, then remove `previous_keys`.
    RotateKey {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `hubkeep tenant …`
#[derive(Debug, Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    pub command: TenantCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Where the database is, for commands that only need the database.
#[derive(Debug, Default, Clone, Args)]
pub struct DbArgs {
    /// Directory for the SQLite database.
    #[arg(long, env = "HUBKEEP_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`).
    #[arg(
        long,
        env = "HUBKEEP_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long, env = "HUBKEEP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

impl DbArgs {
    /// The same layering as `serve`, for the database settings.
    pub fn as_serve_args(&self) -> ServeArgs {
        ServeArgs {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            config: self.config.clone(),
            ..ServeArgs::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints its id, its PSA id (the launch `iss`) and its launch secret,
    /// which is shown this once.
    Create(CreateTenantArgs),
    /// List tenants (never their secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replace a tenant's launch secret; prints the new one (shown once). Launches signed
    /// with the old secret stop working at once.
    RotateLaunchSecret {
        /// The tenant id.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Point a tenant at a directory file on this server (the `directory` provider). Only
    /// the operator can: the API never takes a server path. Logged as `settings.updated`.
    SetDirectory {
        /// The tenant id.
        id: String,
        /// The TOML directory file; it must load.
        file: PathBuf,
    },
    /// Test a tenant's PSA connection step by step (zone discovery, credentials, resources,
    /// security levels), as the console's "Test connection" does. Exits 1 when a step fails.
    TestPsa {
        /// The tenant id.
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// Which PSA a tenant reads identities from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PsaKind {
    Directory,
    Autotask,
}

#[derive(Debug, Args)]
pub struct CreateTenantArgs {
    /// Display name of the tenant.
    #[arg(long)]
    pub name: String,
    /// The PSA instance id, used as the launch `iss`; generated when absent.
    #[arg(long)]
    pub psa_id: Option<String>,
    /// The sign-in page's name, `/t/<slug>` (2–40 lowercase letters, digits, hyphens);
    /// derived from the name when absent.
    #[arg(long)]
    pub slug: Option<String>,
    #[arg(long, value_enum)]
    pub psa: PsaKind,
    /// `--psa directory`: the TOML directory file (default: the bundled demo directory).
    #[arg(long)]
    pub directory: Option<PathBuf>,
    /// `--psa autotask`: the API user's user name.
    #[arg(long)]
    pub api_user: Option<String>,
    /// `--psa autotask`: the API integration code.
    #[arg(
        long,
        env = "HUBKEEP_AUTOTASK_INTEGRATION_CODE",
        hide_env_values = true
    )]
    pub integration_code: Option<String>,
    /// `--psa autotask`: the API user's secret (prefer the environment variable).
    #[arg(long, env = "HUBKEEP_AUTOTASK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// `--psa autotask`: the zone's URL as Autotask's zone discovery announces it
    /// (`https://webservicesN.autotask.net/ATServicesRest/`) or its bare host, to skip
    /// discovery. Must be an Autotask host, or one allowed in `[psa] extra_zone_hosts`.
    #[arg(long)]
    pub zone_url: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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
    /// A second address that serves Prometheus `/metrics` and nothing else (port 0 picks a
    /// free port). Without it, `/metrics` answers only with `[metrics] token`.
    #[arg(long, env = "HUBKEEP_METRICS_BIND")]
    pub metrics_bind: Option<String>,
}
