//! A real SMTP server for the notification tests (SPEC S15): `e2e/smtp/server.py` on
//! aiosmtpd (pinned in `e2e/smtp/requirements.txt`, installed by `just setup` into the tools'
//! virtual environment), on a port of 127.0.0.1 the OS picks. It keeps every message it
//! accepts as a file, and answers `421` while told to refuse.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::workspace_root;

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope's recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    pub mail_from: String,
    /// The message as it arrived (headers and body).
    pub data: String,
}

impl Received {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push_str(line);
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((key, rest)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                value = Some(rest.trim().to_owned());
            }
        }
        value
    }

    /// Every header name of the message, in order.
    pub fn header_names(&self) -> Vec<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        head.split("\r\n")
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_owned()))
            .collect()
    }

    /// The body with quoted-printable soft line breaks and `=XX` escapes undone (enough to
    /// read the ASCII parts this hub sends).
    pub fn decoded_body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A running test SMTP server, stopped when dropped.
#[derive(Debug)]
pub struct SmtpServer {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts the server and waits (at most 30 s) for its ready line. Panics with a hint to
    /// run `just setup` when the virtual environment or aiosmtpd is missing.
    pub fn start() -> Self {
        let tools = std::env::var_os("HUBKEEP_TOOLS_DIR").map_or_else(
            || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".hubkeep-tools"),
            PathBuf::from,
        );
        let python = tools.join("venv/bin/python");
        assert!(
            python.is_file(),
            "{} missing: run `just setup` (scripts/setup.sh installs aiosmtpd into it)",
            python.display()
        );
        let dir = tempfile::tempdir().expect("temp dir for the received messages");
        let mut child = Command::new(python)
            .arg(workspace_root().join("e2e/smtp/server.py"))
            .args(["--port", "0", "--out"])
            .arg(dir.path().join("received"))
            .arg("--refuse")
            .arg(dir.path().join("refuse"))
            .arg("--stall")
            .arg(dir.path().join("stall"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let line = rx.recv_timeout(START_TIMEOUT).ok().flatten();
        let port = line
            .as_deref()
            .and_then(|l| l.strip_prefix("ready "))
            .and_then(|p| p.trim().parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            panic!(
                "the test SMTP server did not start (printed {line:?}); is aiosmtpd installed? \
                 run `just setup`"
            );
        };
        Self { port, child, dir }
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, for `[smtp] url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While `true`, every message is answered `421` (a temporary failure).
    pub fn refuse(&self, refuse: bool) {
        let flag = self.dir.path().join("refuse");
        if refuse {
            std::fs::write(flag, b"").expect("the refuse flag is written");
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// While `true`, the server takes a message's data and never answers (a hung server).
    pub fn stall(&self, stall: bool) {
        let flag = self.dir.path().join("stall");
        if stall {
            std::fs::write(flag, b"").expect("the stall flag is written");
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// How many messages it left unanswered while stalled.
    pub fn stalled(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("received/stalled.count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// How many messages it answered `421`.
    pub fn refused(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("received/refused.count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Every message accepted so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        let dir = self.dir.path().join("received");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let envelope: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(eml.with_extension("json")).unwrap_or_default(),
                )
                .unwrap_or_default();
                Received {
                    rcpt_tos: envelope["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    mail_from: envelope["mail_from"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    data: std::fs::read_to_string(&eml).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Waits (at most `timeout`) until `count` messages arrived; answers them all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{count} message(s) expected within {timeout:?}, {} arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
