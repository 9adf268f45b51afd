//! A real browser for the console's end-to-end tests: headless Chromium driven over WebDriver
//! (`chromedriver`) with `fantoccini`.
//!
//! [`Browser::start`] starts a private `chromedriver` on a free port and a Chromium with a
//! fresh profile; dropping the browser ends both (the session is closed by
//! [`Browser::close`]; on a panic, `Drop` kills chromedriver and the Chromium processes that
//! use this browser's profile directory — nothing else).
//!
//! Elements are found by the ids and `data-*` markers of the DOM contract
//! (`docs/console.md`), never by text or CSS classes. Every wait is bounded.
//!
//! [`Browser::axe`] runs axe-core (pinned in `e2e/axe/package.json`, installed by
//! `scripts/setup.sh test`) in the current page; [`Browser::check_layout_at`] runs it at every
//! size it checks and keeps what it finds for [`Browser::take_axe_violations`] (SPEC S16: no
//! serious or critical violation on any page).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::workspace_root;

/// How long a wait for an element or a state lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// Browsers running at once across the tests of one process (each is a Chromium plus a
/// server; the machines that run this are small): 2, or `HUBKEEP_E2E_BROWSERS`.
static BROWSERS: OnceLock<Semaphore> = OnceLock::new();

/// The `sessionStorage` key the console keeps its session under (`web/src/api.rs`).
pub const SESSION_KEY: &str = "hubkeep.session";

/// A Chromium driven by a private chromedriver, pointed at one Hubkeep server.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    /// The server's `http://127.0.0.1:PORT`.
    pub base: String,
    width: u32,
    height: u32,
    /// What axe found in [`Browser::check_layout_at`], one line per rule, page and size.
    axe_violations: Vec<String>,
    _processes: Processes,
    _permit: SemaphorePermit<'static>,
}

/// chromedriver and this browser's profile: dropping it kills chromedriver and any Chromium
/// still using the profile, even when the test panicked half-way through starting.
#[derive(Debug)]
struct Processes {
    driver: Child,
    profile: tempfile::TempDir,
}

impl Drop for Processes {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        kill_processes_mentioning(&self.profile.path().display().to_string());
    }
}

use crate::free_port;

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

fn chromedriver_binary() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// axe-core's browser bundle: `HUBKEEP_AXE_JS`, else
/// `<workspace>/e2e/axe/node_modules/axe-core/axe.min.js` (a link into the tools directory
/// made by `scripts/setup.sh test`).
pub fn axe_js_path() -> PathBuf {
    std::env::var_os("HUBKEEP_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("e2e/axe/node_modules/axe-core/axe.min.js"))
}

/// The source of `axe.min.js`, read once per test process. A missing file fails the test:
/// an accessibility check that did not run must never pass.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = axe_js_path();
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing ({}: {e}): run `bash scripts/setup.sh test` (or `just setup`), \
                 or point HUBKEEP_AXE_JS at axe.min.js",
                path.display()
            )
        })
    })
}

/// The impacts that fail a page (SPEC S16); `minor` and `moderate` ones are not reported.
const AXE_FAILING_IMPACTS: &[&str] = &["serious", "critical"];

/// How many of a violation's elements are kept for the failure message.
const AXE_NODES_SHOWN: usize = 3;

/// One axe-core rule a page breaks, with `serious` or `critical` impact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxeViolation {
    /// The rule (`color-contrast`, `label`, `aria-required-children`, …).
    pub id: String,
    /// `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for, in axe's words.
    pub help: String,
    /// Deque's page about the rule.
    pub help_url: String,
    /// How many elements break it.
    pub node_count: usize,
    /// The first few of them: axe's CSS selector and the start of the element's HTML.
    pub nodes: Vec<AxeNode>,
}

/// An element an [`AxeViolation`] concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxeNode {
    /// axe's selector for the element (frames and shadow roots joined with ` > `).
    pub target: String,
    /// The start of the element's outer HTML.
    pub html: String,
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} — {} element(s): ",
            self.id, self.impact, self.help, self.node_count
        )?;
        for (i, node) in self.nodes.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "`{}` {}", node.target, node.html)?;
        }
        if self.node_count > self.nodes.len() {
            write!(f, "; …")?;
        }
        Ok(())
    }
}

/// Runs axe on the document and hands back every violation, trimmed to what a failure
/// message needs (the last argument is WebDriver's callback of an asynchronous script).
const AXE_RUN_SCRIPT: &str = r#"
    const done = arguments[arguments.length - 1];
    const [shown] = arguments;
    if (!window.axe) { done({ error: 'axe is not in the page' }); return; }
    window.axe.run(document, { resultTypes: ['violations'] }).then(
        (r) => done({ violations: r.violations.map((v) => ({
            id: v.id,
            impact: v.impact || '',
            help: v.help,
            help_url: v.helpUrl,
            node_count: v.nodes.length,
            nodes: v.nodes.slice(0, shown).map((n) => ({
                target: n.target.map((t) => Array.isArray(t) ? t.join(' >> ') : String(t))
                    .join(' > '),
                html: n.html.length > 160 ? n.html.slice(0, 160) + '…' : n.html,
            })),
        })) }),
        (e) => done({ error: String(e && e.stack || e) }),
    );
"#;

/// The directory screenshots go to: `<workspace>/target/e2e-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    workspace_root().join("target/e2e-screenshots")
}

/// Kills (SIGKILL) the processes whose command line mentions `needle` (this browser's unique
/// profile directory), so that a failed test leaves no Chromium behind.
fn kill_processes_mentioning(needle: &str) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a `width`×`height` window, pointed at
    /// `base` (nothing is loaded yet).
    pub async fn start(base: &str, width: u32, height: u32) -> Self {
        Self::start_with_args(base, width, height, &[]).await
    }

    /// [`Browser::start`] with more Chromium flags (`--log-net-log=…` to record every
    /// request the browser makes).
    pub async fn start_with_args(base: &str, width: u32, height: u32, extra: &[String]) -> Self {
        Self::launch(base, width, height, extra, None).await
    }

    /// [`Browser::start`] with the browser in the IANA time zone `zone` (chromedriver and
    /// Chromium run with `TZ` set), so a test can tell local time from UTC.
    pub async fn start_in_zone(base: &str, width: u32, height: u32, zone: &str) -> Self {
        Self::launch(base, width, height, &[], Some(zone)).await
    }

    async fn launch(
        base: &str,
        width: u32,
        height: u32,
        extra: &[String],
        zone: Option<&str>,
    ) -> Self {
        let permit = BROWSERS
            .get_or_init(|| {
                let n = std::env::var("HUBKEEP_E2E_BROWSERS")
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(2);
                Semaphore::new(n)
            })
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let port = free_port();
        let profile = tempfile::Builder::new()
            .prefix("hubkeep-e2e-chromium-")
            .tempdir()
            .expect("a profile dir");
        let mut driver = Command::new(chromedriver_binary());
        if let Some(zone) = zone {
            driver.env("TZ", zone);
        }
        let driver = driver
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (is /usr/bin/chromedriver installed?)");
        let processes = Processes { driver, profile };
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(res) = http.get(format!("{driver_url}/status")).send().await
                && res.status().is_success()
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                break;
            }
            if Instant::now() > deadline {
                panic!("chromedriver never became ready on {driver_url}");
            }
            tokio::time::sleep(POLL).await;
        }
        let profile = processes.profile.path();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-extensions".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
        ];
        args.extend(extra.iter().cloned());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium_binary(),
                "args": args,
                // Downloads (the activity export) land in the profile, unasked.
                "prefs": {
                    "download.default_directory": profile.join("downloads"),
                    "download.prompt_for_download": false,
                },
            }),
        );
        caps.insert("pageLoadStrategy".to_owned(), json!("normal"));
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver_url)
            .await;
        let client = connected.unwrap_or_else(|e| panic!("no WebDriver session: {e}"));
        let browser = Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            width,
            height,
            axe_violations: Vec::new(),
            _processes: processes,
            _permit: permit,
        };
        browser.resize(width, height).await;
        browser
    }

    /// Where this browser saves downloads.
    pub fn downloads(&self) -> std::path::PathBuf {
        self._processes.profile.path().join("downloads")
    }

    /// Waits for a finished download named `name` and answers its bytes.
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.downloads().join(name);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Chromium writes `<name>.crdownload` and renames it when the file is whole.
            if let Ok(bytes) = std::fs::read(&path) {
                return bytes;
            }
            if Instant::now() > deadline {
                panic!("no download {} appeared", path.display());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Ends the WebDriver session (Chromium quits); `Drop` stops chromedriver. axe findings
    /// no test took ([`Browser::take_axe_violations`]) are printed, so that they are seen.
    pub async fn close(self) {
        for v in &self.axe_violations {
            eprintln!("axe (not asserted by this test): {v}");
        }
        let _ = self.client.clone().close().await;
    }

    /// The window's size as set by [`Browser::start`] or [`Browser::resize`].
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Resizes the window so that the *viewport* is `width`×`height` (the window adds its
    /// frame in some modes), and waits for the page to see the new size.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("set window size");
        let inner = self
            .js(
                "return [window.innerWidth, window.innerHeight, window.outerWidth, window.outerHeight];",
                vec![],
            )
            .await;
        let dims: Vec<i64> = inner
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        if let [iw, ih, ..] = dims[..]
            && (iw != i64::from(width) || ih != i64::from(height))
        {
            let w = i64::from(width) + (i64::from(width) - iw);
            let h = i64::from(height) + (i64::from(height) - ih);
            let _ = self
                .client
                .set_window_size(w.max(100) as u32, h.max(100) as u32)
                .await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    /// Resizes and remembers the size (screenshot names use it).
    pub async fn set_size(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.resize(width, height).await;
    }

    /// The absolute URL of a console path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Loads a console path (a full page load).
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// Runs a script in the page and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The path of the current page.
    pub async fn path(&self) -> String {
        self.js("return window.location.pathname;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A short description of the page for failure messages: the path and the start of the
    /// visible text.
    pub async fn describe(&self) -> String {
        let v = self
            .js(
                "return window.location.pathname + ' :: ' + (document.body ? document.body.innerText : '').slice(0, 1500);",
                vec![],
            )
            .await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.js(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        )
        .await
        .as_u64()
        .unwrap_or(0) as usize
    }

    /// Whether an element matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// Waits (bounded) until an element matches `css` and returns the first one.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_within(css, WAIT).await
    }

    /// [`Browser::wait_for`] with an explicit bound.
    pub async fn wait_for_within(&self, css: &str, limit: Duration) -> Element {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(found) = self.client.find_all(Locator::Css(css)).await
                && let Some(first) = found.into_iter().next()
            {
                return first;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for `{css}` on {}", self.describe().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (bounded) until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.exists(css).await {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for `{css}` to go on {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (bounded) until a script returns `true`.
    pub async fn wait_until(&self, what: &str, script: &str, args: Vec<Value>) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.js(script, args.clone()).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what} on {}", self.describe().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page has finished loading: `main` exists, holds more than the notice
    /// area, and no loading line (`[aria-busy=true]`, or a `.status[role=status]` fallback
    /// still saying "…") is left — twice
    /// in a row, a moment apart, so that a page between two fetches does not count.
    pub async fn wait_loaded(&self) {
        const SCRIPT: &str = r#"
            const main = document.querySelector('main');
            if (!main) return false;
            if (document.querySelector('[aria-busy=true]')) return false;
            // Loading fallbacks without `aria-busy` ("Loading…", "Signing in…"); a status
            // line that reports something ("2 selected") is not one.
            const loading = Array.from(document.querySelectorAll('.status[role=status]'))
                .some(e => e.textContent.trim().endsWith('…'));
            if (loading) return false;
            const kids = Array.from(main.children).filter(e => !e.classList.contains('notices'));
            return kids.length > 0;
        "#;
        let deadline = Instant::now() + WAIT;
        let mut streak = 0;
        loop {
            if self.js(SCRIPT, vec![]).await == Value::Bool(true) {
                streak += 1;
                if streak >= 2 {
                    return;
                }
            } else {
                streak = 0;
            }
            if Instant::now() > deadline {
                panic!("the page never finished loading: {}", self.describe().await);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Clicks the first element matching `css` (waiting for it). The click goes through
    /// WebDriver, so the element must be visible and enabled like for a person.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            // Found afresh on every try: a re-render replaces elements (stale references).
            let el = self.wait_for(css).await;
            // Scroll it into the middle of the viewport first: sticky headers cover the edges.
            let _ = self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center', inline: 'center'});",
                    vec![serde_json::to_value(&el).unwrap_or(Value::Null)],
                )
                .await;
            match el.click().await {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("click `{css}`: {e} on {}", self.describe().await)
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Types `text` into the field matching `css` after clearing it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Chooses the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let el = self.wait_for(css).await;
        el.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select `{value}` in `{css}`: {e}"));
    }

    /// The values of `attr` on every *enabled* element matching `css` (`:not([disabled])`, and
    /// not inside a disabled `<fieldset>` or `<select>`), in document order.
    pub async fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        self.attrs_where(css, attr, true).await
    }

    /// The values of `attr` on every element matching `css`, enabled or not.
    pub async fn all_attrs(&self, css: &str, attr: &str) -> Vec<String> {
        self.attrs_where(css, attr, false).await
    }

    async fn attrs_where(&self, css: &str, attr: &str, enabled_only: bool) -> Vec<String> {
        const SCRIPT: &str = r#"
            const [css, attr, enabledOnly] = arguments;
            const disabled = (e) => e.matches(':disabled') || e.hasAttribute('disabled')
                || !!e.closest('fieldset[disabled], select[disabled], [aria-disabled=true]');
            return Array.from(document.querySelectorAll(css))
                .filter(e => !enabledOnly || !disabled(e))
                .map(e => e.getAttribute(attr) ?? '');
        "#;
        let v = self
            .js(SCRIPT, vec![json!(css), json!(attr), json!(enabled_only)])
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a screenshot to `<workspace>/target/e2e-screenshots/<name>-<w>x<h>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}-{}x{}.png", self.width, self.height));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Fails when the page is wider than the viewport (a horizontal scroll bar).
    pub async fn assert_no_horizontal_overflow(&self) {
        if let Some(problem) = self.horizontal_overflow().await {
            panic!("{problem}");
        }
    }

    /// Describes the horizontal overflow of the page (scrollWidth > innerWidth + 1) and the
    /// elements sticking out, or `None` when it fits.
    pub async fn horizontal_overflow(&self) -> Option<String> {
        let v = self
            .js(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await;
        let scroll = v[0].as_i64().unwrap_or_default();
        let inner = v[1].as_i64().unwrap_or_default();
        if scroll <= inner + 1 {
            return None;
        }
        let culprits = self
            .js(
                r#"const w = window.innerWidth;
                   return Array.from(document.querySelectorAll('body *'))
                     .filter(e => e.getBoundingClientRect().right > w + 1)
                     .slice(0, 8)
                     .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                          + ' right=' + Math.round(e.getBoundingClientRect().right));"#,
                vec![],
            )
            .await;
        Some(format!(
            "horizontal overflow on {} at {}x{}: scrollWidth {scroll} > innerWidth {inner}; widest: {culprits}",
            self.path().await,
            self.width,
            self.height
        ))
    }

    /// At each of `sizes`: resizes, waits for the page, saves a screenshot named after the
    /// size, checks there is no horizontal overflow and runs axe (its serious and critical
    /// violations are kept for [`Browser::take_axe_violations`], so that a walk reports every
    /// page, not only the first); then returns to the size it had. Fails at the first
    /// overflow.
    pub async fn check_layout_at(&mut self, name: &str, sizes: &[(u32, u32)]) {
        if let Some(problem) = self.survey_layout_at(name, sizes).await.into_iter().next() {
            panic!("{problem}");
        }
    }

    /// [`Browser::check_layout_at`] that answers the horizontal overflows it finds instead of
    /// failing at the first, for a walk that reports every page at the end.
    pub async fn survey_layout_at(&mut self, name: &str, sizes: &[(u32, u32)]) -> Vec<String> {
        let original = (self.width, self.height);
        let mut overflows = Vec::new();
        for &(w, h) in sizes {
            self.set_size(w, h).await;
            self.wait_loaded().await;
            self.screenshot(name).await;
            overflows.extend(self.horizontal_overflow().await);
            let found = self.axe().await;
            self.axe_violations
                .extend(found.iter().map(|v| format!("{name}@{w}x{h}: {v}")));
        }
        self.set_size(original.0, original.1).await;
        overflows
    }

    /// Runs axe-core in the current page (injecting it first unless the page has it) and
    /// answers the violations of `serious` or `critical` impact. Panics when axe-core is not
    /// installed or does not run.
    pub async fn axe(&self) -> Vec<AxeViolation> {
        let present = self
            .js("return typeof window.axe === 'object';", vec![])
            .await;
        if present != Value::Bool(true) {
            // The bundle is a UMD script: run as a script body, it sets `window.axe`.
            let script = format!("{}\n;return true;", axe_source());
            if let Err(e) = self.client.execute(&script, vec![]).await {
                panic!("injecting axe-core into {}: {e}", self.url_now().await);
            }
        }
        let answer = match self
            .client
            .execute_async(AXE_RUN_SCRIPT, vec![json!(AXE_NODES_SHOWN)])
            .await
        {
            Ok(answer) => answer,
            Err(e) => panic!("axe.run failed on {}: {e}", self.url_now().await),
        };
        if let Some(error) = answer["error"].as_str() {
            panic!("axe.run failed on {}: {error}", self.url_now().await);
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        answer["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe.run answered no violations list: {answer}"))
            .iter()
            .filter(|v| AXE_FAILING_IMPACTS.contains(&v["impact"].as_str().unwrap_or_default()))
            .map(|v| AxeViolation {
                id: text(&v["id"]),
                impact: text(&v["impact"]),
                help: text(&v["help"]),
                help_url: text(&v["help_url"]),
                node_count: v["node_count"].as_u64().unwrap_or_default() as usize,
                nodes: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| AxeNode {
                        target: text(&n["target"]),
                        html: text(&n["html"]),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Hands over (and forgets) the axe violations [`Browser::check_layout_at`] collected, one
    /// line each: `page@WxH: rule (impact): help — elements`.
    pub fn take_axe_violations(&mut self) -> Vec<String> {
        std::mem::take(&mut self.axe_violations)
    }

    /// The address of the current page, for failure messages.
    async fn url_now(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "an unknown page".to_owned())
    }

    /// Signs in by storing a session obtained from `POST /api/v1/demo/launch` in the tab's
    /// session storage (as the console's sign-in does), then loads `/connections`.
    /// Returns the launch answer (`access_token`, `refresh_token`, `expires_in`, `user`).
    pub async fn sign_in_via_session(&self, resource_id: i64) -> Value {
        let launch = demo_launch(&self.base, resource_id).await;
        self.use_session(&launch).await;
        launch
    }

    /// Stores a session (a launch or refresh answer) in session storage and loads
    /// `/connections`.
    pub async fn use_session(&self, launch: &Value) {
        // Session storage belongs to the origin: be on it first.
        let origin = self.js("return window.location.origin;", vec![]).await;
        if origin.as_str() != Some(self.base.as_str()) {
            self.goto("/readyz").await;
        }
        let expires_in = launch["expires_in"].as_i64().unwrap_or(3600);
        let session = json!({
            "access_token": launch["access_token"],
            "refresh_token": launch["refresh_token"],
            "expires_at_ms": 0,
        });
        self.js(
            "const s = arguments[1]; s.expires_at_ms = Date.now() + arguments[2] * 1000;
             window.sessionStorage.setItem(arguments[0], JSON.stringify(s)); return true;",
            vec![json!(SESSION_KEY), session, json!(expires_in)],
        )
        .await;
        self.goto("/connections").await;
        self.wait_for("#signed-in-user[data-user-id]").await;
    }

    /// Signs in through the demo picker of the sign-in page: loads `/`, clicks
    /// `button.identity[data-resource-id=N]` and waits for the shell. Returns the signed-in
    /// user's id.
    pub async fn sign_in_via_picker(&self, resource_id: i64) -> String {
        self.goto("/").await;
        self.click(&format!(
            "button.identity[data-resource-id=\"{resource_id}\"]"
        ))
        .await;
        let el = self.wait_for("#signed-in-user[data-user-id]").await;
        el.attr("data-user-id")
            .await
            .ok()
            .flatten()
            .expect("the signed-in user's id")
    }

    /// Drops the stored session (without calling the API).
    pub async fn forget_session(&self) {
        self.js(
            "window.sessionStorage.removeItem(arguments[0]); return true;",
            vec![json!(SESSION_KEY)],
        )
        .await;
    }
}

/// `POST /api/v1/demo/launch {resource_id}` on a demo-mode server; panics unless it is 200.
pub async fn demo_launch(base: &str, resource_id: i64) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/demo/launch"))
        .json(&json!({ "resource_id": resource_id }))
        .send()
        .await
        .expect("demo launch");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "demo launch of {resource_id}: {body}");
    body
}
