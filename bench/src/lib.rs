//! Hubkeep's benchmarks (`just bench`, docs/performance.md).
//!
//! - [`peers`]: the permission decision as Hubkeep, casbin-rs and cedar-policy express it;
//!   `benches/decision.rs` times them after checking they agree on every input.
//! - `hubkeep-bench` (src/bin): the HTTP and scale benches against the release binary, and the
//!   report that rewrites docs/performance.md and its charts.

pub mod peers;
