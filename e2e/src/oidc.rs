//! A real OpenID provider for the OIDC sign-in tests: `e2e/oidc/provider.mjs`, built on
//! `oidc-provider` (OpenID Certified; pinned in `e2e/oidc/package-lock.json`, installed by
//! `just setup`), run by node on a port of 127.0.0.1 the OS picks.
//!
//! It has one confidential client (`client_secret_basic`, authorization code with PKCE S256)
//! and the accounts of `e2e/oidc/accounts.json` (login = the part of the email before `@`,
//! password [`PASSWORD`]): a login page with the fields `#login`, `#password` and the button
//! `#submit`, consent granted without a page, and `email`, `email_verified` and `name` in the
//! ID token. Its session cookie makes a later `prompt=none` request silent.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::workspace_root;

/// The password of every account of `e2e/oidc/accounts.json`.
pub const PASSWORD: &str = "demo";

/// How long the provider may take to print its ready line (node starts in about a second;
/// a loaded CI machine gets plenty more).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running test OpenID provider, killed when dropped.
#[derive(Debug)]
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`: the issuer, as its discovery document and ID tokens say.
    pub issuer: String,
    child: Child,
    /// Where the provider's stderr (its log) goes: read back to explain a failed start, and
    /// by [`OidcProvider::log`]. A file, not a pipe, so that a chatty provider never blocks
    /// on a pipe nobody drains.
    log: tempfile::NamedTempFile,
}

impl OidcProvider {
    /// Starts the provider with one client (`client_id`, `client_secret`, `redirect_uri`) and
    /// the default accounts, and waits (at most 30 s) for its ready line. Panics with a hint
    /// to run `just setup` when node or the npm package is missing, and with the provider's
    /// log when it does not come up.
    pub fn start(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        let dir = workspace_root().join("e2e/oidc");
        let package = dir.join("node_modules/oidc-provider");
        assert!(
            package.is_dir(),
            "{} missing: run `just setup` (scripts/setup.sh installs the pinned oidc-provider)",
            package.display()
        );
        let log = tempfile::NamedTempFile::new().expect("temp file for the provider's log");
        let stderr = log.reopen().expect("the provider's log file reopens");
        let mut command = Command::new("node");
        command
            .arg(dir.join("provider.mjs"))
            .args(["--port", "0"])
            .args(["--client-id", client_id])
            .args(["--client-secret", client_secret])
            .args(["--redirect-uri", redirect_uri])
            // The flags say everything; a developer's own settings (another accounts file)
            // must not change what the tests see.
            .env_remove("HUBKEEP_OIDC_PORT")
            .env_remove("HUBKEEP_OIDC_CLIENT_ID")
            .env_remove("HUBKEEP_OIDC_CLIENT_SECRET")
            .env_remove("HUBKEEP_OIDC_REDIRECT_URIS")
            .env_remove("HUBKEEP_OIDC_ACCOUNTS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => panic!(
                "node could not be started ({err}): run `just setup` (Node.js and the pinned \
                 oidc-provider are needed for the OIDC tests)"
            ),
        };

        // The ready line is read on a thread so that the wait can be bounded; the thread then
        // keeps draining stdout until the provider exits, so that a later write never meets
        // a closed pipe.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = ready_tx.send(first);
            for _ in lines {}
        });
        let ready = ready_rx.recv_timeout(START_TIMEOUT);
        let issuer = ready
            .as_ref()
            .ok()
            .and_then(Option::as_deref)
            .and_then(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .and_then(|ready| ready["issuer"].as_str().map(str::to_owned));
        let mut provider = Self {
            issuer: issuer.clone().unwrap_or_default(),
            child,
            log,
        };
        if issuer.is_none() {
            let _ = provider.child.kill();
            let status = provider
                .child
                .wait()
                .map_or_else(|err| err.to_string(), |status| status.to_string());
            let what = match ready {
                Err(_) => format!(
                    "did not print its ready line within {} s",
                    START_TIMEOUT.as_secs()
                ),
                Ok(Some(line)) => format!("printed {line:?} instead of its ready line"),
                Ok(None) => format!("exited before it listened ({status})"),
            };
            panic!(
                "the test OpenID provider {what}; its log:\n{}",
                provider.log()
            );
        }
        provider
    }

    /// `issuer` + `path`, e.g. `url("/.well-known/openid-configuration")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// What the provider logged so far (sign-ins, wrong passwords, authorization and token
    /// errors): worth printing when a test fails.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        // Its state is in memory only: nothing to flush, so no need for a graceful stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
