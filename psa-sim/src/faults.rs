//! Fault switches and request statistics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Autotask allows this many concurrent requests per API integration before it answers 429.
pub const AUTOTASK_THREAD_LIMIT: usize = 3;

/// What the simulator should do wrong, so clients can be tested against the failures a real
/// Autotask produces (slowness, outages, throttling, garbage, revoked credentials).
///
/// Counters named "next N" are consumed one per API request that they affect, in this order
/// of precedence: `bad_credentials`, `fail_500`, `rate_limit`, `thread_limit`,
/// `enforce_thread_limit`, `malformed_json`. `latency_ms` applies before all of them. Only
/// the Autotask surface is affected; `/_sim/*` control endpoints never are. Over HTTP
/// (`PUT /_sim/faults`) the JSON uses these field names, every field optional, and replaces
/// the whole set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay before every API answer, to exercise client timeouts.
    pub latency_ms: u64,
    /// The next N API requests answer 500 `{"errors":[…]}`.
    pub fail_500: u32,
    /// The next N API requests answer 429 (request-rate throttling).
    pub rate_limit: u32,
    /// Sent as `Retry-After` (seconds) with every simulated 429 when set.
    pub retry_after_secs: Option<u64>,
    /// The next N API requests answer 429 with Autotask's thread-limit message.
    pub thread_limit: u32,
    /// Really enforce Autotask's limit of [`AUTOTASK_THREAD_LIMIT`] concurrent requests: a
    /// request arriving while that many are in flight answers 429.
    pub enforce_thread_limit: bool,
    /// The next N API requests answer 200 with a body that is not valid JSON.
    pub malformed_json: u32,
    /// Every authenticated API request answers 401 until this is cleared, as when the API
    /// user's secret has been rotated. Zone discovery is unauthenticated and unaffected.
    pub bad_credentials: bool,
    /// The PSA-side bridge is not installed: the `SecurityLevels` entity does not exist
    /// (404, as for any unknown entity) and resources carry no `securityLevelID`, which is
    /// what a plain Autotask database looks like (SPEC S11).
    pub missing_bridge: bool,
}

/// Counts of what the simulator has answered, so tests can assert on retries and
/// concurrency. Only the Autotask surface is counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// API requests received (including the ones answered with a fault).
    pub requests: u64,
    /// Requests per route, e.g. `"POST Resources/query"`, `"GET zoneInformation"`.
    pub by_route: BTreeMap<String, u64>,
    /// Answers per HTTP status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests being answered right now.
    pub in_flight: usize,
    /// The most requests ever in flight at once.
    pub peak_in_flight: usize,
}
