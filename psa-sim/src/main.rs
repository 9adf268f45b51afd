//! `hubkeep-psa-sim`: runs the Autotask simulator as a standalone server, for demos and for
//! trying the `autotask` provider by hand. Faults can be set here at start and changed later
//! with `PUT /_sim/faults`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use hubkeep_psa_sim::{
    DEMO_API_USER, DEMO_INTEGRATION_CODE, DEMO_SECRET, DirectoryFile, Faults, MAX_PAGE_SIZE,
    SimConfig, Simulator,
};

/// A simulator of the Autotask REST v1.0 surface Hubkeep reads, with fault switches.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "PSA_SIM_BIND", default_value = "127.0.0.1:8090")]
    bind: SocketAddr,
    /// Directory TOML file to serve (default: the embedded Northwind IT demo directory).
    #[arg(long, env = "PSA_SIM_DIRECTORY")]
    directory: Option<PathBuf>,
    /// The API user that zone discovery knows and the `UserName` header must carry.
    #[arg(long, env = "PSA_SIM_API_USER", default_value = DEMO_API_USER)]
    api_user: String,
    /// The expected `ApiIntegrationCode` header.
    #[arg(long, env = "PSA_SIM_INTEGRATION_CODE", default_value = DEMO_INTEGRATION_CODE)]
    integration_code: String,
    /// The expected `Secret` header.
    #[arg(long, env = "PSA_SIM_SECRET", default_value = DEMO_SECRET)]
    secret: String,
    /// Items per page of a query (1–500); small values exercise paging.
    #[arg(long, env = "PSA_SIM_PAGE_SIZE", default_value_t = MAX_PAGE_SIZE)]
    page_size: usize,
    /// Answer `GET Resources/{id}` for a missing id with 404 instead of 200 `{"item":null}`.
    #[arg(long)]
    missing_resource_as_404: bool,
    /// Base URL to announce in zone discovery and paging links (default: from the request).
    #[arg(long, env = "PSA_SIM_PUBLIC_URL")]
    public_url: Option<String>,
    /// Delay every API answer by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer the next N API requests with 500.
    #[arg(long, default_value_t = 0)]
    fail_500: u32,
    /// Answer the next N API requests with 429.
    #[arg(long, default_value_t = 0)]
    rate_limit: u32,
    /// `Retry-After` seconds to send with simulated 429s.
    #[arg(long)]
    retry_after_secs: Option<u64>,
    /// Answer the next N API requests with Autotask's thread-limit 429.
    #[arg(long, default_value_t = 0)]
    thread_limit: u32,
    /// Enforce Autotask's limit of 3 concurrent requests.
    #[arg(long)]
    enforce_thread_limit: bool,
    /// Answer the next N API requests with malformed JSON.
    #[arg(long, default_value_t = 0)]
    malformed_json: u32,
    /// Answer every authenticated API request with 401 until cleared.
    #[arg(long)]
    bad_credentials: bool,
    /// Serve a plain Autotask: no `SecurityLevels` entity, no `securityLevelID` on resources.
    #[arg(long)]
    missing_bridge: bool,
    /// Offer webhooks for Resources (`ResourceWebhooks`, signed callouts when the directory
    /// changes). Autotask documents none for Resources today; this models the day it does.
    #[arg(long, env = "PSA_SIM_RESOURCE_WEBHOOKS")]
    resource_webhooks: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let directory = match &args.directory {
        None => hubkeep_psa_sim::demo_directory()?,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<DirectoryFile>(&text)
                .with_context(|| format!("{} is not a valid directory file", path.display()))?
        }
    };
    let config = SimConfig {
        directory,
        api_user: args.api_user,
        integration_code: args.integration_code,
        secret: args.secret,
        page_size: args.page_size,
        missing_resource_as_404: args.missing_resource_as_404,
        faults: Faults {
            latency_ms: args.latency_ms,
            fail_500: args.fail_500,
            rate_limit: args.rate_limit,
            retry_after_secs: args.retry_after_secs,
            thread_limit: args.thread_limit,
            enforce_thread_limit: args.enforce_thread_limit,
            malformed_json: args.malformed_json,
            bad_credentials: args.bad_credentials,
            missing_bridge: args.missing_bridge,
        },
        public_url: args.public_url,
        resource_webhooks: args.resource_webhooks,
    };
    let handle = Simulator::start_on(config, args.bind, true)?;
    println!("hubkeep-psa-sim listening on http://{}", handle.addr());
    handle.wait();
    Ok(())
}
