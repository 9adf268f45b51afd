//! A simulator of the Autotask REST v1.0 surface that Hubkeep reads (SPEC S3.1), with fault
//! switches.
//!
//! Hubkeep's `autotask` provider must survive everything a real Autotask does: zone discovery,
//! paging, the three-thread limit, 429s, 500s for a bad integration code, malformed answers
//! and slowness. Nobody can run those scenarios against a production PSA, so this crate serves
//! a [`DirectoryFile`] over the same HTTP conventions and lets tests (in-process, through
//! [`SimHandle`]) and people (over HTTP, `PUT /_sim/faults`) switch failures on and off.
//!
//! Served under `/atservicesrest/v1.0/` in any letter case (Autotask's paths are
//! case-insensitive; its own links spell it `ATServicesRest/V1.0`):
//! - `GET zoneInformation?user=<api user>` → `{"zoneName","url","webUrl","ci"}`, no
//!   authentication, where `url` is the zone's REST root **including** `ATServicesRest/`
//!   (`http://host:port/ATServicesRest/`), as Autotask answers (SPEC S11). An unknown user
//!   answers **500** `{"errors":["Zone information could not be determined …"]}` (Autotask
//!   answers most failures with 500). Zone discovery is exempt from the request and thread
//!   limits, so the 429 faults never hit it.
//! - `GET {Resources|SecurityLevels}/entityInformation` → `{"info":{"name",…}}`.
//! - `POST {Resources|SecurityLevels}/query` with `{"filter":[…],"maxRecords":N}`, `GET
//!   …/query?search={…}`, and `GET …/query/next?paging=…&search=…` (the absolute
//!   `nextPageUrl`/`prevPageUrl` links) → `{"items":[…],"pageDetails":{…}}`.
//! - `GET {Resources|SecurityLevels}/{id}` → `{"item":{…}}`; a missing id answers 200
//!   `{"item":null}` or, with [`SimConfig::missing_resource_as_404`], 404 `{"item":null}`.
//!
//! Authentication: headers `ApiIntegrationCode`, `UserName`, `Secret` (names
//! case-insensitive). A wrong user name or secret answers 401 `{"errors":[…]}`; a wrong
//! integration code answers 500 `{"errors":["IntegrationCode is invalid."]}`, as Autotask does.
//!
//! - With [`SimConfig::resource_webhooks`]: `ResourceWebhooks` and its `Fields`, and signed
//!   callouts when the directory changes ([`webhooks`]).
//!
//! Control (never faulted, never counted): `GET`/`PUT /_sim/faults`, `GET`/`DELETE
//! /_sim/stats`, `PUT /_sim/directory` (a JSON [`DirectoryFile`]), `GET /_sim/callouts`,
//! `GET /_sim/webhooks`, `POST /_sim/webhooks/{id}/deactivate`.

mod faults;
mod server;
pub mod webhooks;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;
pub use faults::{AUTOTASK_THREAD_LIMIT, Faults, SimStats};
pub use hubkeep_shared::directory::{DirectoryFile, PsaResource, PsaSecurityLevel};

use crate::server::Shared;

/// The sample directory the simulator serves by default (the same one Hubkeep's demo uses).
pub const DEMO_DIRECTORY_TOML: &str = include_str!("../../config/demo-directory.toml");
/// API user of [`SimConfig::demo`]; not a secret, Autotask API users are email addresses.
pub const DEMO_API_USER: &str = "hubkeep-api@northwindit.example";
/// Integration code of [`SimConfig::demo`] (27 characters, like Autotask's tracking ids).
pub const DEMO_INTEGRATION_CODE: &str = "HUBKEEPSIMULATORINTEGRATION";
/// Secret of [`SimConfig::demo`]; only ever valid against this simulator.
pub const DEMO_SECRET: &str = "sim-secret-not-for-production";
/// Autotask's maximum page size (`maxRecords`).
pub const MAX_PAGE_SIZE: usize = 500;

/// The embedded demo directory, parsed and validated.
pub fn demo_directory() -> anyhow::Result<DirectoryFile> {
    let file: DirectoryFile =
        toml::from_str(DEMO_DIRECTORY_TOML).context("the embedded demo directory")?;
    check_directory(&file)?;
    Ok(file)
}

/// Refuses a directory that would make answers ambiguous (duplicate ids). Two resources may
/// share an email: Autotask's documentation of the Resources entity does not say an email
/// is unique, so the hub must cope with an address that names two people (SPEC S13:
/// `psa_resource_ambiguous`). A directory *file* read by the hub itself keeps emails unique.
pub fn check_directory(file: &DirectoryFile) -> anyhow::Result<()> {
    let problems: Vec<_> = file
        .problems()
        .into_iter()
        .filter(|p| !matches!(p, hubkeep_shared::DirectoryProblem::DuplicateEmail(_)))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("invalid directory: {}", list.join("; "))
    }
}

/// How to run one simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The security levels and resources to serve.
    pub directory: DirectoryFile,
    /// The only user zone discovery knows, and the `UserName` header it expects
    /// (compared case-insensitively, like an email).
    pub api_user: String,
    /// The expected `ApiIntegrationCode` header.
    pub integration_code: String,
    /// The expected `Secret` header.
    pub secret: String,
    /// Items per page, at most [`MAX_PAGE_SIZE`]; small values exercise paging.
    pub page_size: usize,
    /// Answer a missing `GET {Entity}/{id}` with 404 instead of 200 `{"item":null}`; Autotask
    /// has done both, so clients must handle both.
    pub missing_resource_as_404: bool,
    /// Faults in force from the first request.
    pub faults: Faults,
    /// The base URL announced by zone discovery and paging links (`http://host:port/`);
    /// `None` derives it from each request's `Host`, which is right unless a proxy sits in
    /// front.
    pub public_url: Option<String>,
    /// Offer webhooks for Resources ([`webhooks`]). Autotask documents none today, so the
    /// default is `false` and `Resources/entityInformation` says so.
    pub resource_webhooks: bool,
}

impl SimConfig {
    /// Serves `directory` with the demo credentials and no faults.
    pub fn new(directory: DirectoryFile) -> Self {
        Self {
            directory,
            api_user: DEMO_API_USER.to_owned(),
            integration_code: DEMO_INTEGRATION_CODE.to_owned(),
            secret: DEMO_SECRET.to_owned(),
            page_size: MAX_PAGE_SIZE,
            missing_resource_as_404: false,
            faults: Faults::default(),
            public_url: None,
            resource_webhooks: false,
        }
    }

    /// The embedded demo directory with the demo credentials and no faults.
    pub fn demo() -> anyhow::Result<Self> {
        Ok(Self::new(demo_directory()?))
    }
}

/// Entry point: starts simulators.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Starts a simulator on an ephemeral port of 127.0.0.1, for tests.
    ///
    /// The server runs on its own thread with its own runtime, so it works from any caller
    /// (a `#[tokio::test]` on a current-thread runtime included) and never competes with the
    /// code under test for a runtime.
    pub fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        Self::start_on(config, addr, false)
    }

    /// Starts a simulator on `addr`. `handle_signals` lets Ctrl-C / SIGTERM stop it, which a
    /// standalone binary wants and a test does not.
    pub fn start_on(
        config: SimConfig,
        addr: SocketAddr,
        handle_signals: bool,
    ) -> anyhow::Result<SimHandle> {
        check_directory(&config.directory)?;
        anyhow::ensure!(
            (1..=MAX_PAGE_SIZE).contains(&config.page_size),
            "the page size must be between 1 and {MAX_PAGE_SIZE}, not {}",
            config.page_size
        );
        let listener = TcpListener::bind(addr).with_context(|| format!("cannot bind {addr}"))?;
        let local_addr = listener.local_addr().context("bound address")?;
        let shared = Arc::new(Shared::new(config));
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("psa-sim-{}", local_addr.port()))
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match server::build(thread_shared, listener, handle_signals) {
                        Ok(server) => {
                            let _ = tx.send(Ok(server.handle()));
                            if let Err(e) = server.await {
                                tracing::warn!(error = %e, "the PSA simulator stopped with an error");
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .context("cannot spawn the simulator thread")?;
        let server = rx
            .recv()
            .context("the simulator thread died while starting")?
            .context("cannot start the simulator")?;
        tracing::debug!(%local_addr, "PSA simulator listening");
        Ok(SimHandle {
            addr: local_addr,
            shared,
            server,
            thread: Some(thread),
        })
    }
}

/// A running simulator. Dropping it stops the server (without waiting); [`SimHandle::stop`]
/// waits until it is gone.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// The socket the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`, the host root (the `/_sim` control routes live here).
    pub fn base_url(&self) -> String {
        match &self.shared.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}/", self.addr),
        }
    }

    /// `{base_url}ATServicesRest/`, what zone discovery announces as `url` (SPEC S11): the
    /// zone's REST root, to which a client appends `v1.0/<Entity>…`.
    pub fn zone_url(&self) -> String {
        format!("{}ATServicesRest/", self.base_url())
    }

    /// `{zone_url}v1.0/`, the REST base a client uses once it knows its zone.
    pub fn api_url(&self) -> String {
        format!("{}v1.0/", self.zone_url())
    }

    /// The zone discovery endpoint, to use in place of Autotask's global one.
    pub fn discovery_url(&self) -> String {
        format!("{}zoneInformation", self.api_url())
    }

    /// Replaces every fault switch at once.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults() = faults;
    }

    /// The faults in force now (counters already decremented by the requests they hit).
    pub fn faults(&self) -> Faults {
        self.shared.faults().clone()
    }

    /// API requests received so far, faulted ones included.
    pub fn request_count(&self) -> u64 {
        self.shared.stats().requests
    }

    /// Everything counted so far.
    pub fn stats(&self) -> SimStats {
        self.shared.stats().clone()
    }

    /// Starts counting again from zero (what is in flight stays in flight).
    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// Replaces the directory being served, e.g. to withdraw a level mid-test.
    pub fn set_directory(&self, directory: DirectoryFile) -> anyhow::Result<()> {
        check_directory(&directory)?;
        self.shared.replace_directory(directory);
        Ok(())
    }

    /// Every callout sent so far ([`webhooks`]).
    pub fn callouts(&self) -> Vec<webhooks::SentCallout> {
        self.shared.webhooks().sent.clone()
    }

    /// The directory being served.
    pub fn directory(&self) -> DirectoryFile {
        self.shared.directory().clone()
    }

    /// Stops the server and waits for its thread to end.
    pub async fn stop(mut self) {
        self.server.stop(false).await;
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Blocks until the server stops (by a signal when started with `handle_signals`).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // The stop command is sent eagerly; nothing here can wait for it to finish.
            drop(self.server.stop(false));
        }
    }
}

#[cfg(test)]
mod tests;
