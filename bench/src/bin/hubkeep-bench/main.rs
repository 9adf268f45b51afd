//! `hubkeep-bench`: the HTTP and scale benches against the release binary, and the report
//! that rewrites docs/performance.md and its charts from the last results (`just bench`).
//!
//! ```text
//! hubkeep-bench http   [sqlite|postgres]...   # throughput vs the ceiling, with wrk
//! hubkeep-bench scale  [sqlite|postgres]...   # 100k users, 10k connections: list latencies
//! hubkeep-bench report                        # docs/performance.md + docs/performance/*.svg
//! ```
//!
//! The server is `HUBKEEP_BIN` (the justfile points it at `target/release/hubkeep`);
//! PostgreSQL runs need `HUBKEEP_BENCH_POSTGRES_URL` (or `HUBKEEP_TEST_POSTGRES_URL`), an
//! admin URL on which a throw-away database is created and dropped. Results are JSON files in
//! `$CARGO_TARGET_DIR/bench-results` (or `target/bench-results`). The HTTP bench runs one
//! instance on SQLite and two behind wrk on PostgreSQL; `HUBKEEP_BENCH_HTTP_SECONDS` and
//! `HUBKEEP_BENCH_HTTP_ROUNDS` shorten its runs to check the bench itself (the results, and
//! so the report, say what was used).

mod common;
mod http;
mod report;
mod scale;

use anyhow::{Context, bail};
use common::Backend;

fn usage() -> anyhow::Error {
    anyhow::anyhow!("usage: hubkeep-bench (http|scale) [sqlite] [postgres] | report")
}

fn backends(args: &[String]) -> anyhow::Result<Vec<Backend>> {
    if args.is_empty() {
        return Ok(vec![Backend::Sqlite, Backend::Postgres]);
    }
    args.iter()
        .map(|a| match a.as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => bail!("unknown backend `{other}` (sqlite or postgres)"),
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args.split_first().ok_or_else(usage)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    match command.as_str() {
        "http" => {
            for backend in backends(rest)? {
                runtime.block_on(http::run(backend))?;
            }
        }
        "scale" => {
            for backend in backends(rest)? {
                runtime.block_on(scale::run(backend))?;
            }
        }
        "report" => runtime.block_on(report::run())?,
        _ => return Err(usage()),
    }
    Ok(())
}
