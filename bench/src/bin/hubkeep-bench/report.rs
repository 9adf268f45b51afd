//! Rewrites docs/performance.md and its charts (docs/performance/*.svg) from the last results
//! of the three benches: criterion's estimates for the decision bench, and the JSON files the
//! HTTP and scale benches left in the results directory.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::common::{Backend, criterion_dir, instance_name, read_json, results_dir};
use crate::http::{HttpResults, number_word};
use crate::scale::ScaleResults;

/// The goals of the performance issue.
const DECISION_GOAL: f64 = 100.0;
const HTTP_SHARE_GOAL: f64 = 0.5;
const HTTP_P99_GOAL_MS: f64 = 10.0;
const SCALE_P95_GOAL_MS: f64 = 20.0;
const RSS_GOAL_MIB: f64 = 150.0;

const ENGINES: [(&str, &str); 3] = [
    ("hubkeep", "Hubkeep (hubkeep-shared)"),
    ("casbin", "casbin-rs"),
    ("cedar", "cedar-policy"),
];

const BLUE: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
const ORANGE: RGBColor = RGBColor(0xe0, 0x7b, 0x1a);
const GREEN: RGBColor = RGBColor(0x2e, 0x8b, 0x57);
const GREY: RGBColor = RGBColor(0x88, 0x88, 0x88);

/// Mean nanoseconds per decision of one engine, from criterion's estimates.
fn decision_ns(engine: &str) -> anyhow::Result<f64> {
    let path = criterion_dir()
        .join("decision")
        .join(engine)
        .join("new/estimates.json");
    let estimates: Value = read_json(&path)?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("mean.point_estimate in {}", path.display()))
}

fn yes(met: bool) -> &'static str {
    if met { "**yes**" } else { "**no**" }
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "| | |\n|---|---|\n| CPU | {cpu}, {cores} cores available |\n| Memory | {memory_gib:.0} GiB |\n\
         | Kernel | Linux {} |\n| Rust | {} |\n| PostgreSQL | {} |\n",
        kernel.trim(),
        command_line("rustc", &["--version"]),
        command_line("psql", &["--version"]),
    )
}

/// A horizontal grouped bar chart: one row per category, one bar per series.
fn bar_chart(
    path: &Path,
    title: &str,
    axis: &str,
    categories: &[String],
    series: &[(String, RGBColor, Vec<f64>)],
    log10: bool,
) -> anyhow::Result<()> {
    let rows = categories.len();
    let height = 90 + rows * (series.len() * 16 + 14);
    let root = SVGBackend::new(path, (980, u32::try_from(height)?)).into_drawing_area();
    root.fill(&WHITE)?;
    let value = |v: f64| if log10 { v.max(1e-3).log10() } else { v };
    let max = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied().map(value))
        .fold(0.0_f64, f64::max);
    let x_max = if log10 { max.ceil() + 0.5 } else { max * 1.15 };
    let x_min = if log10 {
        series
            .iter()
            .flat_map(|(_, _, values)| values.iter().copied().map(value))
            .fold(f64::MAX, f64::min)
            .floor()
            .min(0.0)
    } else {
        0.0
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .set_label_area_size(LabelAreaPosition::Left, 300)
        .set_label_area_size(LabelAreaPosition::Bottom, 40)
        .build_cartesian_2d(x_min..x_max, 0.0..rows as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(axis)
        .x_label_formatter(&|x| {
            if log10 {
                let v = 10f64.powf(*x);
                if v >= 1.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v}")
                }
            } else {
                format!("{x:.0}")
            }
        })
        .draw()?;
    let group = series.len() as f64;
    let slot = 1.0 / (group + 1.0);
    for (s, (name, color, values)) in series.iter().enumerate() {
        let color = *color;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                // Row 0 at the top.
                let top = rows as f64 - i as f64 - slot * (0.5 + s as f64);
                Rectangle::new(
                    [(x_min, top - slot * 0.9), (value(*v), top)],
                    color.filled(),
                )
            }))?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        for (i, v) in values.iter().enumerate() {
            let top = rows as f64 - i as f64 - slot * (0.5 + s as f64);
            let (px, py) = chart.backend_coord(&(value(*v), top - slot * 0.45));
            root.draw(&Text::new(
                format_value(*v),
                (px + 4, py),
                ("sans-serif", 11)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
    }
    for (i, label) in categories.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(x_min, rows as f64 - i as f64 - 0.5));
        root.draw(&Text::new(
            label.clone(),
            (px - 8, py),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(GREY)
        .draw()?;
    root.present()?;
    Ok(())
}

/// `12345.6` → `12,346`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub async fn run() -> anyhow::Result<()> {
    let root = hubkeep_e2e::workspace_root();
    let charts = root.join("docs/performance");
    std::fs::create_dir_all(&charts)?;

    // ---- decision
    let mut ns = Vec::new();
    for (engine, _) in ENGINES {
        ns.push(decision_ns(engine)?);
    }
    let ratio_casbin = ns[1] / ns[0];
    let ratio_cedar = ns[2] / ns[0];

    // ---- http and scale
    let http: Vec<HttpResults> = [Backend::Sqlite, Backend::Postgres]
        .iter()
        .map(|b| read_json(&results_dir().join(format!("http-{}.json", b.name()))))
        .collect::<anyhow::Result<_>>()?;
    let scale: Vec<ScaleResults> = [Backend::Sqlite, Backend::Postgres]
        .iter()
        .map(|b| read_json(&results_dir().join(format!("scale-{}.json", b.name()))))
        .collect::<anyhow::Result<_>>()?;

    let mut doc = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let mut commit = command_line("git", &["rev-parse", "--short", "HEAD"]);
    let status = command_line("git", &["status", "--porcelain", "--untracked-files=no"]);
    if !status.is_empty() && status != "unknown" {
        commit.push_str(" with uncommitted changes");
    }
    writeln!(
        doc,
        "# Performance\n\n\
         Generated by `just bench` on {now} at commit `{commit}`; every figure below is from that \
         one run. Do not edit by hand: `just bench` rewrites this file and the charts in \
         `docs/performance/`. The machine is shared and noisy, so the goals are judged on \
         ratios measured side by side in one run; absolute numbers are reported, not promised. \
         Nothing here is asserted by a test: speed lives in benchmarks, correctness in tests \
         (the revocation test named below is a correctness test).\n"
    )?;

    // ---- goals
    writeln!(
        doc,
        "## Goals\n\n| Goal | Target | Measured | Met |\n|---|---|---|---|"
    )?;
    writeln!(
        doc,
        "| Decision: Hubkeep vs casbin-rs | ≥ {DECISION_GOAL:.0}× faster | {ratio_casbin:.0}× | {} |",
        yes(ratio_casbin >= DECISION_GOAL)
    )?;
    writeln!(
        doc,
        "| Decision: Hubkeep vs cedar-policy | ≥ {DECISION_GOAL:.0}× faster | {ratio_cedar:.0}× | {} |",
        yes(ratio_cedar >= DECISION_GOAL)
    )?;
    for h in &http {
        let ceiling = h.routes[0].rps();
        for r in h.routes.iter().filter(|r| r.route.authenticated) {
            let share = r.rps() / ceiling;
            let p99 = r.p99_ms();
            writeln!(
                doc,
                "| HTTP, {}: {} | ≥ {:.0}% of the ceiling, p99 < {HTTP_P99_GOAL_MS:.0} ms | {:.0}%, p99 {p99:.2} ms | {} |",
                h.setup_label(),
                r.route.label,
                HTTP_SHARE_GOAL * 100.0,
                share * 100.0,
                yes(share >= HTTP_SHARE_GOAL && p99 < HTTP_P99_GOAL_MS)
            )?;
        }
    }
    for s in &scale {
        let worst = s
            .series
            .iter()
            .max_by(|a, b| a.p95_ms.total_cmp(&b.p95_ms))
            .context("scale series")?;
        writeln!(
            doc,
            "| Scale, {}: every list, p95 of {} requests | < {SCALE_P95_GOAL_MS:.0} ms | worst {:.2} ms ({}) | {} |",
            s.backend.label(),
            s.requests,
            worst.p95_ms,
            worst.label,
            yes(worst.p95_ms < SCALE_P95_GOAL_MS)
        )?;
    }
    let peak_mib = http
        .iter()
        .map(|h| h.peak_rss_kib)
        .chain(scale.iter().map(|s| s.peak_rss_kib))
        .max()
        .unwrap_or(0) as f64
        / 1024.0;
    writeln!(
        doc,
        "| Peak RSS of any one server process over every run | < {RSS_GOAL_MIB:.0} MiB | {peak_mib:.1} MiB | {} |\n",
        yes(peak_mib < RSS_GOAL_MIB)
    )?;

    let bound: Vec<String> = http
        .iter()
        .filter_map(|h| {
            let ceiling = h.routes.first()?.rps();
            let one = h.routes.iter().find(|r| r.route.id == "one_query")?;
            Some(format!(
                "{:.0}% on {}",
                100.0 * one.rps() / ceiling,
                h.short_label()
            ))
        })
        .collect();
    // Says plainly which HTTP goal rows are missed, and by what.
    let mut misses = Vec::new();
    for h in &http {
        let ceiling = h.routes[0].rps();
        for r in h.routes.iter().filter(|r| r.route.authenticated) {
            let share = r.rps() / ceiling;
            let p99 = r.p99_ms();
            let mut why = Vec::new();
            if share < HTTP_SHARE_GOAL {
                why.push(format!("{:.0}% of the ceiling", share * 100.0));
            }
            if p99 >= HTTP_P99_GOAL_MS {
                why.push(format!("p99 {p99:.2} ms"));
            }
            if !why.is_empty() {
                misses.push(format!(
                    "{} on {} ({})",
                    r.route.label,
                    h.short_label(),
                    why.join(", ")
                ));
            }
        }
    }
    let setups: Vec<String> = http.iter().map(|h| h.setup_label()).collect();
    let verdict = if misses.is_empty() {
        format!(
            "The HTTP goal is met: every authenticated route reaches at least {:.0}% of the \
             ceiling with a p99 under {HTTP_P99_GOAL_MS:.0} ms, on {}. For scale",
            HTTP_SHARE_GOAL * 100.0,
            setups.join(" and on ")
        )
    } else {
        format!(
            "The HTTP goal is not met. Missed: {}. For comparison",
            misses.join("; ")
        )
    };
    writeln!(
        doc,
        "{verdict}: a route that makes one \
         database round trip and nothing else (`GET /readyz`) reaches {} of the ceiling. \
         A warm authenticated request makes none: authentication, `/me` and a connection are \
         served from each instance's read cache, which a change invalidates before it is \
         answered (SPEC S3.3; \"Authentication without a database read per request\" in \
         `docs/decisions.md`, issue 24). Nor does it verify its access token again (each \
         instance keeps the claims of tokens it verified and checks their expiry), and its \
         path is matched once, by the router, within its family's scope. What separates the \
         routes from the ceiling now is the request's own remaining work (the cache lookups, \
         the caller and the body) and, on SQLite, a read of the WAL-index header per lookup; \
         on PostgreSQL the ceiling itself is that of two instances.\n",
        bound.join(" and ")
    )?;
    writeln!(doc, "## Machine\n\n{}", machine())?;

    // ---- decision section
    writeln!(
        doc,
        "## Decision engine\n\n\
         **Method.** `cargo bench -p hubkeep-bench --bench decision` (criterion). One decision is \
         the full connection + hub matrix question: may a user with this hub access level \
         (`none`, `limited`, `elevated`) and these roles on a connection of this kind take this \
         action (13 hub actions, 20 connection actions)? The same policy is written three \
         times: Hubkeep's exhaustive matches in `hubkeep-shared`, an RBAC-with-domains model \
         for casbin-rs (`g = _, _, _`, one domain per connection kind plus `hub`), and a Cedar \
         policy set for cedar-policy; both peer policies are written from the SPEC, not \
         generated from Hubkeep's code. Before timing anything the bench checks that all three \
         give the same answer on every one of the 6,336 possible inputs (so does the test \
         `peers_agree_with_the_matrix_on_every_input`). Each timed iteration decides one input \
         from a fixed list of 4,096 random ones; the peers get their request objects built \
         outside the timed call (which favours them).\n"
    )?;
    writeln!(
        doc,
        "| Engine | Mean per decision | Decisions per second | Hubkeep is faster by |\n|---|---|---|---|"
    )?;
    for ((engine, label), n) in ENGINES.iter().zip(&ns) {
        let ratio = if *engine == "hubkeep" {
            "—".to_owned()
        } else {
            format!("{:.0}×", n / ns[0])
        };
        writeln!(
            doc,
            "| {label} | {n:.2} ns | {} | {ratio} |",
            thousands(1e9 / n)
        )?;
    }
    bar_chart(
        &charts.join("decision.svg"),
        "Decision engine: nanoseconds per decision (log scale, lower is better)",
        "ns per decision",
        &ENGINES
            .iter()
            .map(|(_, l)| (*l).to_owned())
            .collect::<Vec<_>>(),
        &[("mean ns per decision".to_owned(), BLUE, ns.clone())],
        true,
    )?;
    writeln!(doc, "\n![Decision engine](performance/decision.svg)\n")?;

    // ---- http section
    let h0 = &http[0];
    let several: Vec<String> = http
        .iter()
        .filter(|h| h.instances > 1)
        .map(|h| {
            format!(
                "On {} the server runs as {} instances (A and B) on the same database with the \
                 same configuration (token signing key, key of stored secrets), each with a data \
                 directory of its own; the tenant is seeded once, through A. Every wrk run \
                 spreads over them in one wrk process: the script's `setup(thread)` points \
                 thread 1 at A and thread 2 at B ({} connections each, `wrk.lookup` and \
                 `thread.addr`), so the throughput and latency distribution below are wrk's own \
                 combination of both. Each instance's own count of requests to the measured route \
                 (`hubkeep_http_requests_total` on `/metrics`) is read before and after every \
                 run, warm-ups included: a run in which any instance answered none of them, or \
                 in which the instances together counted fewer than wrk, fails the bench. \
                 ",
                h.backend.label(),
                number_word(h.instances),
                h.connections / h.threads.max(1),
            )
        })
        .collect();
    writeln!(
        doc,
        "## HTTP throughput against the ceiling\n\n\
         **Method.** `just bench-http`: the release binary (`target/release/hubkeep`, default \
         settings apart from the keys the instances share and a metrics token: one worker per \
         core, request logging on) on a fresh database with one tenant (the demo directory), \
         its primary user signed in, one connection of theirs and a `read` API token. On \
         SQLite one instance serves it. {}Before anything is measured, every credential is \
         sent to every instance in turn and must answer 200 (the JWT signed in through A is \
         accepted by B). {} drives {} connections with {} threads for {} s per run; \
         every route is warmed up, then the routes take turns, {} round{}, so that drift hits \
         them alike. The ceiling is `GET /healthz` of the same binary: no authentication, no \
         database, the same middleware; `GET /readyz` makes one database round trip (a ping) \
         and nothing else, what every authenticated request cost before the read cache. Each \
         authenticated run must have been served from the instances' read caches (at least \
         as many lookups as 99 % of its requests, by `/readyz`'s counts, or the bench fails): \
         these are warm requests of a read-only load, the best case; a load with writes \
         invalidates the caches and pays each write's barrier. Throughput is the median of \
         the rounds; p99 is the median of the rounds' p99 (the worst round is shown too). wrk \
         and the server share the machine's cores.\n",
        several.concat(),
        h0.wrk_version,
        h0.connections,
        h0.threads,
        h0.seconds,
        h0.rounds,
        if h0.rounds == 1 { "" } else { "s" }
    )?;
    for h in &http {
        let ceiling = h.routes[0].rps();
        writeln!(
            doc,
            "### {}\n\n| Route | Requests/s | Share of the ceiling | p50 | p99 | Worst round's p99 |\n|---|---|---|---|---|---|",
            h.setup_label()
        )?;
        for r in &h.routes {
            writeln!(
                doc,
                "| {} | {} | {:.0}% | {:.2} ms | {:.2} ms | {:.2} ms |",
                r.route.label,
                thousands(r.rps()),
                100.0 * r.rps() / ceiling,
                r.p50_ms(),
                r.p99_ms(),
                r.worst_p99_ms()
            )?;
        }
        if h.instances > 1 {
            let counts: Vec<u64> = h.routes.iter().fold(Vec::new(), |mut sum, r| {
                let each = r.instance_requests();
                sum.resize(sum.len().max(each.len()), 0);
                for (s, n) in sum.iter_mut().zip(each) {
                    *s += n;
                }
                sum
            });
            let total = counts.iter().sum::<u64>().max(1) as f64;
            let shares: Vec<String> = counts
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    format!(
                        "{} {} ({:.1}%)",
                        instance_name(i),
                        thousands(*n as f64),
                        100.0 * *n as f64 / total
                    )
                })
                .collect();
            let rss: Vec<String> = h
                .instance_peak_rss_kib
                .iter()
                .enumerate()
                .map(|(i, kib)| format!("{} {:.1} MiB", instance_name(i), *kib as f64 / 1024.0))
                .collect();
            writeln!(
                doc,
                "\nRequests each instance answered over the measured rounds, by its own count: \
                 {}.\n\nPeak RSS of each server process during the run (each instance's own \
                 peak, not their sum; the goal row takes the higher): {}.\n",
                shares.join(", "),
                rss.join(", ")
            )?;
        } else {
            writeln!(
                doc,
                "\nPeak server RSS during the run: {:.1} MiB.\n",
                h.peak_rss_kib as f64 / 1024.0
            )?;
        }
    }
    let route_labels: Vec<String> = h0.routes.iter().map(|r| r.route.label.clone()).collect();
    let colors = [BLUE, ORANGE];
    bar_chart(
        &charts.join("http-throughput.svg"),
        "HTTP: requests per second (median of the rounds; higher is better)",
        "requests per second",
        &route_labels,
        &http
            .iter()
            .zip(colors)
            .map(|(h, c)| {
                (
                    h.short_label(),
                    c,
                    h.routes.iter().map(|r| r.rps()).collect(),
                )
            })
            .collect::<Vec<_>>(),
        false,
    )?;
    let mut latency_series = Vec::new();
    for (h, c) in http.iter().zip([(GREEN, ORANGE), (BLUE, GREY)]) {
        latency_series.push((
            format!("{} p50", h.short_label()),
            c.0,
            h.routes.iter().map(|r| r.p50_ms()).collect(),
        ));
        latency_series.push((
            format!("{} p99", h.short_label()),
            c.1,
            h.routes.iter().map(|r| r.p99_ms()).collect(),
        ));
    }
    bar_chart(
        &charts.join("http-latency.svg"),
        "HTTP: latency percentiles under load, ms (lower is better)",
        "milliseconds",
        &route_labels,
        &latency_series,
        false,
    )?;
    writeln!(
        doc,
        "![HTTP throughput](performance/http-throughput.svg)\n\n![HTTP latency](performance/http-latency.svg)\n"
    )?;

    // ---- scale section
    let s0 = &scale[0];
    writeln!(
        doc,
        "## Lists at scale\n\n\
         **Method.** The bench seeds one tenant straight into the database: {} hub users \
         (names, security levels, activity and elevation spread at random, access stamped as \
         the API stamps it) and {} connections (each with an owner and two more members, and \
         both endpoints); the primary user holds a role on {} of them. Then, with the primary \
         user's API token and one request at a time, it sends each request {} times and takes \
         percentiles of the client-side time to the last byte: the users list (50 per page), \
         first page and the page after row {} for each sort and direction, and the member's \
         connection list (first page and tenth page). Each deep page is checked to start at \
         the row the database says follows the cursor.\n",
        thousands(s0.users as f64),
        thousands(s0.connections as f64),
        s0.member_of,
        s0.requests,
        thousands(s0.deep_offset as f64)
    )?;
    for s in &scale {
        writeln!(
            doc,
            "### {}\n\nSeeding took {:.1} s. Peak server RSS: {:.1} MiB.\n\n| List | p50 | p95 | p99 | max |\n|---|---|---|---|---|",
            s.backend.label(),
            s.seed_seconds,
            s.peak_rss_kib as f64 / 1024.0
        )?;
        for series in &s.series {
            let list = if series.group == "connections" {
                "connections"
            } else {
                "users"
            };
            writeln!(
                doc,
                "| {list}: {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                series.label, series.p50_ms, series.p95_ms, series.p99_ms, series.max_ms
            )?;
        }
        writeln!(doc)?;
    }
    let scale_labels: Vec<String> = s0
        .series
        .iter()
        .map(|s| {
            let list = if s.group == "connections" {
                "connections"
            } else {
                "users"
            };
            format!("{list}: {}", s.label)
        })
        .collect();
    bar_chart(
        &charts.join("scale-latency.svg"),
        "Lists at scale: p95 latency per request, ms (lower is better)",
        "milliseconds (p95 of the requests)",
        &scale_labels,
        &scale
            .iter()
            .zip(colors)
            .map(|(s, c)| {
                (
                    format!("{} p95", s.backend.label()),
                    c,
                    s.series.iter().map(|x| x.p95_ms).collect(),
                )
            })
            .collect::<Vec<_>>(),
        false,
    )?;
    writeln!(doc, "![Lists at scale](performance/scale-latency.svg)\n")?;

    writeln!(
        doc,
        "## Revocation stays immediate\n\n\
         Each instance keeps what authentication reads (the credential, the user and their \
         access), a user's pending invitations and a member's view of a connection between \
         requests, and never serves them after a change has answered: on SQLite the cache \
         holds only what was read under the WAL-index header it still finds in the `-shm` \
         file (every commit of any process changes it); on PostgreSQL every change notifies \
         every instance, a write answers only once each instance with a live lease has \
         acknowledged, and an instance serves from its cache only while its 3-second lease is \
         fresh (extended only when its own heartbeat comes back through its listener). \
         The e2e tests in `e2e/tests/revocation.rs` \
         check it across two instances on one PostgreSQL database: \
         `s3_3_changes_through_one_instance_refuse_the_next_request_on_another` (each \
         credential warmed with 200 requests first), an instance whose listener connection is \
         cut, an instance frozen with SIGSTOP, and 200 concurrent revocations against reads \
         on both instances (no read that started after its revocation answered succeeded). \
         The protocol and its failure cases are in `docs/decisions.md` (issue 24).\n"
    )?;
    std::fs::write(root.join("docs/performance.md"), doc)?;
    println!("wrote docs/performance.md and docs/performance/*.svg");
    Ok(())
}
