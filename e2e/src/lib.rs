//! Helpers for black-box tests: start the real `hubkeep` binary on a free port, wait for it,
//! and stop it gracefully.

pub mod browser;
pub mod scripts;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
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
pub fn spawn_listening(mut command: Command, prefix: &str) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
        let mut command = Command::new(hubkeep_binary());
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--web-dir")
            .arg(web_dist())
            .args(extra)
            .env_remove("HUBKEEP_DATABASE_URL")
            .env_remove("HUBKEEP_CONFIG")
            .env_remove("HUBKEEP_DEMO");
        let (child, base) = spawn_listening(command, "hubkeep listening on ");
        Self {
            child,
            base,
            _data_dir: None,
        }
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
