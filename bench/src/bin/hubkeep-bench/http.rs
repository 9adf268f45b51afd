//! The HTTP bench (`just bench-http`): wrk against the release binary, alternating between
//! the ceiling (an unauthenticated static JSON route of the same binary, `/healthz`) and the
//! authenticated routes, in rounds, so that the machine's drift hits every route alike.
//!
//! SQLite runs one instance. PostgreSQL runs two instances of the binary on one database with
//! one configuration, and every wrk run spreads over both in one wrk process: the script's
//! `setup(thread)` points thread 1 at instance A and thread 2 at instance B, so wrk itself
//! combines the throughput and the latency distribution. Each instance's own count of requests
//! to the route measured (`hubkeep_http_requests_total` on `/metrics`) is read around every
//! run, and a run that left any instance idle fails the bench.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use hubkeep_e2e::Server;
use serde::{Deserialize, Serialize};

use crate::common::{Backend, Bench, instance_name, results_dir, write_json};

/// wrk's connections (the issue's figure) and threads (two: the machine the figures are
/// published for has two cores, which wrk and the server share).
pub const CONNECTIONS: u32 = 64;
const THREADS: u32 = 2;
/// Seconds per measured run, rounds per route, seconds of warm-up per route.
/// `HUBKEEP_BENCH_HTTP_SECONDS` and `HUBKEEP_BENCH_HTTP_ROUNDS` shorten a run to check the
/// bench itself; the results record what was used, and the report prints it.
pub const SECONDS: u32 = 5;
pub const ROUNDS: u32 = 3;
const WARM_UP_SECONDS: u32 = 2;

/// Instances of the server on PostgreSQL (SQLite has one writer, so one instance).
const POSTGRES_INSTANCES: usize = 2;

/// Where wrk's threads connect: thread i to instance ((i - 1) mod n) + 1, in the order wrk
/// creates them (`@INSTANCES@` is replaced by `{ {host, port}, … }`). With one instance this
/// is what wrk does without a script.
const WRK_SETUP: &str = r#"
local instances = @INSTANCES@
local threads = 0
setup = function(thread)
  local instance = instances[threads % #instances + 1]
  threads = threads + 1
  thread.addr = wrk.lookup(instance[1], instance[2])[1]
end
"#;

/// wrk prints one JSON line when it is done: counts and latency percentiles in µs.
const WRK_DONE: &str = r#"
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
    /// The route's pattern, as the server's request counter labels it (`endpoint`).
    #[serde(skip)]
    pub endpoint: String,
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
    /// Requests to the route each instance counted during the run (its own
    /// `hubkeep_http_requests_total`), A first.
    #[serde(default)]
    pub instance_requests: Vec<u64>,
    /// Lookups answered from the read cache during the run, over all instances (`/readyz`'s
    /// `cache` counts: at least one per request, authentication); `None` for a route
    /// without credentials.
    #[serde(default)]
    pub cache_hits: Option<u64>,
    #[serde(default)]
    pub cache_misses: Option<u64>,
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

    /// Requests each instance counted over the measured rounds, A first.
    pub fn instance_requests(&self) -> Vec<u64> {
        let mut total = Vec::new();
        for run in &self.runs {
            total.resize(total.len().max(run.instance_requests.len()), 0);
            for (sum, n) in total.iter_mut().zip(&run.instance_requests) {
                *sum += n;
            }
        }
        total
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
    /// Server instances behind wrk (its threads alternate between them).
    #[serde(default = "one")]
    pub instances: u32,
    /// The highest peak resident memory of any one instance over the bench, KiB.
    pub peak_rss_kib: u64,
    /// Each instance's own peak resident memory over the bench, KiB, A first.
    #[serde(default)]
    pub instance_peak_rss_kib: Vec<u64>,
    pub wrk_version: String,
}

fn one() -> u32 {
    1
}

impl HttpResults {
    /// What was measured: `SQLite`, or `PostgreSQL, two instances (wrk threads alternate
    /// between them)`.
    pub fn setup_label(&self) -> String {
        match self.instances {
            0 | 1 => self.backend.label().to_owned(),
            n => format!(
                "{}, {} instances (wrk threads alternate between them)",
                self.backend.label(),
                number_word(n)
            ),
        }
    }

    /// [`Self::setup_label`] short enough for a chart legend.
    pub fn short_label(&self) -> String {
        match self.instances {
            0 | 1 => self.backend.label().to_owned(),
            n => format!("{} ({} instances)", self.backend.label(), number_word(n)),
        }
    }
}

pub fn number_word(n: u32) -> String {
    match n {
        2 => "two".to_owned(),
        3 => "three".to_owned(),
        4 => "four".to_owned(),
        n => n.to_string(),
    }
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

/// The wrk script for these instances: where each thread connects, and the JSON line.
fn wrk_script(servers: &[&Server]) -> anyhow::Result<String> {
    let mut instances = Vec::new();
    for server in servers {
        let url = reqwest::Url::parse(&server.base)?;
        let host = url.host_str().context("the server's host")?;
        let port = url.port_or_known_default().context("the server's port")?;
        instances.push(format!("{{ \"{host}\", \"{port}\" }}"));
    }
    Ok(format!(
        "{}{WRK_DONE}",
        WRK_SETUP.replace("@INSTANCES@", &format!("{{ {} }}", instances.join(", ")))
    ))
}

/// Requests to `endpoint` (a route pattern) this instance has answered so far, by its own
/// count.
async fn served(bench: &Bench, server: &Server, endpoint: &str) -> anyhow::Result<u64> {
    let response = bench
        .client
        .get(server.url("/metrics"))
        .bearer_auth(&bench.metrics_token)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    ensure!(status.is_success(), "GET {}/metrics: {status}", server.base);
    let label = format!("endpoint=\"{endpoint}\"");
    let mut total = 0;
    for line in text.lines() {
        let Some(labels) = line.strip_prefix("hubkeep_http_requests_total{") else {
            continue;
        };
        if !labels.contains(&label) {
            continue;
        }
        let value = line.rsplit(' ').next().unwrap_or_default();
        total += value
            .parse::<f64>()
            .with_context(|| format!("a counter in `{line}`"))? as u64;
    }
    Ok(total)
}

/// The read cache's counts of lookups on every instance, summed: (hits, misses).
async fn cache_counts(bench: &Bench) -> anyhow::Result<(u64, u64)> {
    let (mut hits, mut misses) = (0, 0);
    for server in bench.servers() {
        let body: serde_json::Value = bench
            .client
            .get(server.url("/readyz"))
            .send()
            .await?
            .json()
            .await?;
        let count = |name: &str| {
            body["cache"][name]
                .as_u64()
                .with_context(|| format!("/readyz has no cache.{name}: {body}"))
        };
        hits += count("hits")?;
        misses += count("misses")?;
    }
    Ok((hits, misses))
}

async fn served_by_each(bench: &Bench, endpoint: &str) -> anyhow::Result<Vec<u64>> {
    let mut counts = Vec::new();
    for server in bench.servers() {
        counts.push(served(bench, server, endpoint).await?);
    }
    Ok(counts)
}

/// One wrk run over every instance. Fails when wrk saw an error, or when any instance
/// answered none of the route's requests, or the instances together fewer than wrk counted
/// (less the requests still in flight when wrk stopped).
async fn wrk(
    bench: &Bench,
    route: &Route,
    seconds: u32,
    script: &std::path::Path,
) -> anyhow::Result<WrkRun> {
    let before = served_by_each(bench, &route.endpoint).await?;
    let cache_before = cache_counts(bench).await?;
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
    // The URL names instance A (wrk's Host header); the script's `setup` picks each
    // thread's address.
    command.arg(bench.server.url(&route.path));
    let out = tokio::task::spawn_blocking(move || command.output())
        .await?
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
    let mut run: WrkRun = serde_json::from_str(line)?;
    if run.errors() > 0 || run.requests == 0 {
        bail!("wrk saw errors on {} ({}): {line}", route.id, route.path);
    }
    let after = served_by_each(bench, &route.endpoint).await?;
    if route.token.is_some() {
        // The figures are those of warm requests served from the cache: a run in which the
        // cache was mostly off (or missing) would measure something else.
        let cache_after = cache_counts(bench).await?;
        let hits = cache_after.0.saturating_sub(cache_before.0);
        let misses = cache_after.1.saturating_sub(cache_before.1);
        ensure!(
            hits >= run.requests.saturating_sub(u64::from(CONNECTIONS)) * 99 / 100,
            "{}: only {hits} of {} requests were served from the read cache ({misses} read \
             the database)",
            route.path,
            run.requests
        );
        run.cache_hits = Some(hits);
        run.cache_misses = Some(misses);
    }
    run.instance_requests = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    for (index, n) in run.instance_requests.iter().enumerate() {
        ensure!(
            *n > 0,
            "instance {} answered none of the {} requests wrk sent to {}: the threads did not \
             spread over the instances ({:?})",
            instance_name(index),
            run.requests,
            route.path,
            run.instance_requests
        );
    }
    let counted: u64 = run.instance_requests.iter().sum();
    ensure!(
        counted + u64::from(CONNECTIONS) >= run.requests,
        "the instances counted {counted} requests to {}, wrk {}: wrk is not measuring them",
        route.path,
        run.requests
    );
    Ok(run)
}

/// `A 50% · B 50%`: how the instances shared the requests.
fn split(counts: &[u64]) -> String {
    let total = counts.iter().sum::<u64>().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{} {:.0}%", instance_name(i), 100.0 * *n as f64 / total))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Before anything is measured: every credential, signed in through instance A, is accepted
/// by every instance in turn (on PostgreSQL, the JWT used on A answers 200 on B).
async fn check_every_instance_accepts(bench: &Bench, routes: &[Route]) -> anyhow::Result<()> {
    for route in routes.iter().filter(|r| r.authenticated) {
        let token = route
            .token
            .as_deref()
            .context("an authenticated route's token")?;
        for (index, server) in bench.servers().enumerate() {
            let response = bench
                .client
                .get(server.url(&route.path))
                .bearer_auth(token)
                .send()
                .await?;
            let status = response.status();
            ensure!(
                status == reqwest::StatusCode::OK,
                "{} on instance {}: {status} {}",
                route.label,
                instance_name(index),
                response.text().await.unwrap_or_default()
            );
        }
    }
    let names: Vec<String> = (0..bench.servers().count())
        .map(|i| instance_name(i).to_string())
        .collect();
    println!(
        "sanity: every credential answered 200 on instance{} {}",
        if names.len() > 1 { "s" } else { "" },
        names.join(" then ")
    );
    Ok(())
}

/// A positive number of the environment variable, else `default`.
fn env_u32(name: &str, default: u32) -> anyhow::Result<u32> {
    match std::env::var(name) {
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{name}={v} is not a positive number"),
        },
        Err(_) => Ok(default),
    }
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
    let seconds = env_u32("HUBKEEP_BENCH_HTTP_SECONDS", SECONDS)?;
    let rounds = env_u32("HUBKEEP_BENCH_HTTP_ROUNDS", ROUNDS)?;
    let warm_up = WARM_UP_SECONDS.min(seconds);
    let instances = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_INSTANCES,
    };
    ensure!(
        (THREADS as usize).is_multiple_of(instances),
        "{THREADS} wrk threads cannot alternate evenly over {instances} instances"
    );
    println!(
        "== http bench: {} ({instances} instance{}; {rounds} round{} of {seconds} s) ==",
        backend.label(),
        if instances == 1 { "" } else { "s" },
        if rounds == 1 { "" } else { "s" },
    );
    let bench = Bench::start_instances(backend, "http", instances).await?;
    let connection = format!("/api/v1/connections/{}", bench.connection_id);
    let routes = vec![
        Route {
            id: "ceiling".into(),
            label: "GET /healthz (ceiling, no auth)".into(),
            path: "/healthz".into(),
            endpoint: "/healthz".into(),
            authenticated: false,
            token: None,
        },
        Route {
            id: "one_query".into(),
            label: "GET /readyz (one database round trip, no auth)".into(),
            path: "/readyz".into(),
            endpoint: "/readyz".into(),
            authenticated: false,
            token: None,
        },
        Route {
            id: "me_jwt".into(),
            label: "GET /api/v1/me (JWT)".into(),
            path: "/api/v1/me".into(),
            endpoint: "/api/v1/me".into(),
            authenticated: true,
            token: Some(bench.access_token.clone()),
        },
        Route {
            id: "connection_jwt".into(),
            label: "GET /api/v1/connections/{id} (JWT)".into(),
            path: connection.clone(),
            endpoint: "/api/v1/connections/{id}".into(),
            authenticated: true,
            token: Some(bench.access_token.clone()),
        },
        Route {
            id: "connection_api_token".into(),
            label: "GET /api/v1/connections/{id} (API token)".into(),
            path: connection,
            endpoint: "/api/v1/connections/{id}".into(),
            authenticated: true,
            token: Some(bench.api_token.clone()),
        },
    ];
    check_every_instance_accepts(&bench, &routes).await?;
    let script = results_dir().join(format!("wrk-report-{}.lua", backend.name()));
    std::fs::create_dir_all(results_dir())?;
    std::fs::write(&script, wrk_script(&bench.servers().collect::<Vec<_>>())?)?;
    for route in &routes {
        let run = wrk(&bench, route, warm_up, &script).await?;
        if instances > 1 {
            println!(
                "warm-up {:<22} instances served {}",
                route.id,
                split(&run.instance_requests)
            );
        }
    }
    let mut results: Vec<RouteResult> = routes
        .iter()
        .map(|route| RouteResult {
            route: route.clone(),
            runs: Vec::new(),
        })
        .collect();
    for round in 1..=rounds {
        for result in &mut results {
            let run = wrk(&bench, &result.route, seconds, &script).await?;
            println!(
                "round {round} {:<22} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms{}",
                result.route.id,
                run.rps(),
                run.p50_us as f64 / 1000.0,
                run.p99_us as f64 / 1000.0,
                if instances > 1 {
                    format!("  ({})", split(&run.instance_requests))
                } else {
                    String::new()
                }
            );
            result.runs.push(run);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let instance_peak_rss_kib = bench.instance_peak_rss_kib()?;
    let out = HttpResults {
        backend,
        connections: CONNECTIONS,
        threads: THREADS,
        seconds,
        rounds,
        routes: results,
        instances: u32::try_from(instances)?,
        peak_rss_kib: instance_peak_rss_kib.iter().copied().max().unwrap_or(0),
        instance_peak_rss_kib,
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
    let rss: Vec<String> = out
        .instance_peak_rss_kib
        .iter()
        .enumerate()
        .map(|(i, kib)| format!("{} {:.1} MiB", instance_name(i), *kib as f64 / 1024.0))
        .collect();
    println!("peak RSS per instance: {}", rss.join(", "));
    write_json(
        &results_dir().join(format!("http-{}.json", backend.name())),
        &out,
    )?;
    Ok(())
}
