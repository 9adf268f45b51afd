//! Helpers for black-box tests: start the real `hubkeep` binary on a free port, wait for it,
//! and stop it gracefully.

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
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> → target/debug/hubkeep
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("hubkeep"))
        .unwrap_or_default();
    assert!(
        bin.is_file(),
        "{} not found: build it first (`cargo build -p hubkeep-api`) or set HUBKEEP_BIN",
        bin.display()
    );
    bin
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
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on 127.0.0.1 with a port the OS picks, a fresh data dir and the
    /// built console, and waits until it prints its address.
    pub fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(hubkeep_binary())
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .arg("--web-dir")
            .arg(web_dist())
            .env_remove("HUBKEEP_DATABASE_URL")
            .env_remove("HUBKEEP_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("hubkeep starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("hubkeep listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("hubkeep exited before listening");
                }
            }
        };
        Self {
            child,
            base,
            _data_dir: data_dir,
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
