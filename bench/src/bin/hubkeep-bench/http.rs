//! The HTTP bench (`just bench-http`): wrk against the release binary, alternating between
//! the ceiling (an unauthenticated static JSON route of the same binary, `/healthz`) and the
//! authenticated routes, in rounds, so that the machine's drift hits every route alike.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::common::{Backend, Bench, results_dir, write_json};

/// wrk's connections (the issue's figure) and threads (two: the machine the figures are
/// published for has two cores, which wrk and the server share).
pub const CONNECTIONS: u32 = 64;
const THREADS: u32 = 2;
/// Seconds per measured run, rounds per route, seconds of warm-up per route.
pub const SECONDS: u32 = 5;
pub const ROUNDS: u32 = 3;
const WARM_UP_SECONDS: u32 = 2;

/// wrk prints one JSON line when it is done: counts and latency percentiles in µs.
const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"#;

/// One route the bench loads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Route {
    /// A stable id (`ceiling`, `me_jwt`, `connection_jwt`, `connection_api_token`).
    pub id: String,
    pub label: String,
    pub path: String,
    /// Whether the route authenticates (the goals are about those).
    pub authenticated: bool,
    #[serde(skip)]
    pub token: Option<String>,
}

/// What wrk measured in one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrkRun {
    pub requests: u64,
    pub duration_us: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub status_errors: u64,
    pub timeouts: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl WrkRun {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us.max(1) as f64 / 1e6)
    }

    fn errors(&self) -> u64 {
        self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.status_errors
            + self.timeouts
    }
}

/// One route's runs, in round order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteResult {
    pub route: Route,
    pub runs: Vec<WrkRun>,
}

impl RouteResult {
    /// The median throughput over the rounds.
    pub fn rps(&self) -> f64 {
        median(self.runs.iter().map(WrkRun::rps).collect())
    }

    /// The median p99 over the rounds, in ms.
    pub fn p99_ms(&self) -> f64 {
        median(self.runs.iter().map(|r| r.p99_us as f64 / 1000.0).collect())
    }

    /// The worst p99 of any round, in ms.
    pub fn worst_p99_ms(&self) -> f64 {
        self.runs
            .iter()
            .map(|r| r.p99_us as f64 / 1000.0)
            .fold(0.0, f64::max)
    }

    pub fn p50_ms(&self) -> f64 {
        median(self.runs.iter().map(|r| r.p50_us as f64 / 1000.0).collect())
    }
}

/// Everything one backend's HTTP bench measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpResults {
    pub backend: Backend,
    pub connections: u32,
    pub threads: u32,
    pub seconds: u32,
    pub rounds: u32,
    pub routes: Vec<RouteResult>,
    /// The server's peak resident memory over the bench, KiB.
    pub peak_rss_kib: u64,
    pub wrk_version: String,
}

pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn wrk(
    base: &str,
    route: &Route,
    seconds: u32,
    script: &std::path::Path,
) -> anyhow::Result<WrkRun> {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script);
    if let Some(token) = &route.token {
        command
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"));
    }
    command.arg(format!("{base}{}", route.path));
    let out = command
        .output()
        .context("running wrk (Debian package `wrk`; `just setup` installs it)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("wrk printed no result: {stdout}"))?;
    let run: WrkRun = serde_json::from_str(line)?;
    if run.errors() > 0 || run.requests == 0 {
        bail!("wrk saw errors on {} ({}): {line}", route.id, route.path);
    }
    Ok(run)
}

fn wrk_version() -> String {
    Command::new("wrk")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .split(" Copyright")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// Runs the HTTP bench on one backend and writes `http-<backend>.json`.
pub async fn run(backend: Backend) -> anyhow::Result<()> {
    println!("== http bench: {} ==", backend.label());
    let bench = Bench::start(backend, "http").await?;
    let connection = format!("/api/v1/connections/{}", bench.connection_id);
    let routes = vec![
        Route {
            id: "ceiling".into(),
            label: "GET /healthz (ceiling, no auth)".into(),
            path: "/healthz".into(),
            authenticated: false,
            token: None,
        },
        Route {
            id: "one_query".into(),
            label: "GET /readyz (one database round trip, no auth)".into(),
            path: "/readyz".into(),
            authenticated: false,
            token: None,
        },
        Route {
            id: "me_jwt".into(),
            label: "GET /api/v1/me (JWT)".into(),
            path: "/api/v1/me".into(),
            authenticated: true,
            token: Some(bench.access_token.clone()),
        },
        Route {
            id: "connection_jwt".into(),
            label: "GET /api/v1/connections/{id} (JWT)".into(),
            path: connection.clone(),
            authenticated: true,
            token: Some(bench.access_token.clone()),
        },
        Route {
            id: "connection_api_token".into(),
            label: "GET /api/v1/connections/{id} (API token)".into(),
            path: connection,
            authenticated: true,
            token: Some(bench.api_token.clone()),
        },
    ];
    let script = results_dir().join("wrk-report.lua");
    std::fs::create_dir_all(results_dir())?;
    std::fs::write(&script, WRK_SCRIPT)?;
    let base = bench.server.base.clone();
    for route in &routes {
        wrk(&base, route, WARM_UP_SECONDS, &script)?;
    }
    let mut results: Vec<RouteResult> = routes
        .iter()
        .map(|route| RouteResult {
            route: route.clone(),
            runs: Vec::new(),
        })
        .collect();
    for round in 1..=ROUNDS {
        for result in &mut results {
            let run = wrk(&base, &result.route, SECONDS, &script)?;
            println!(
                "round {round} {:<22} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
                result.route.id,
                run.rps(),
                run.p50_us as f64 / 1000.0,
                run.p99_us as f64 / 1000.0
            );
            result.runs.push(run);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let peak_rss_kib = bench.peak_rss_kib()?;
    let out = HttpResults {
        backend,
        connections: CONNECTIONS,
        threads: THREADS,
        seconds: SECONDS,
        rounds: ROUNDS,
        routes: results,
        peak_rss_kib,
        wrk_version: wrk_version(),
    };
    let ceiling = out.routes[0].rps();
    for r in &out.routes {
        println!(
            "{:<22} median {:>9.0} req/s ({:>5.1}% of the ceiling)  p99 {:>6.2} ms",
            r.route.id,
            r.rps(),
            100.0 * r.rps() / ceiling,
            r.p99_ms()
        );
    }
    write_json(
        &results_dir().join(format!("http-{}.json", backend.name())),
        &out,
    )?;
    Ok(())
}
