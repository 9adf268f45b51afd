//! The `autotask` PSA provider (SPEC S3.1, S11): the Autotask REST v1.0 conventions over
//! reqwest.
//!
//! Sign-in and token refresh wait on this client, so every call has a hard timeout and a
//! bounded retry budget: a slow or throttling PSA turns into [`PsaError::Unavailable`] (503
//! `psa_unavailable` upstream) in bounded time instead of hanging a request. What passes is
//! retried with backoff (429 including Autotask's three-thread limit, 503, timeouts,
//! connection failures); what an administrator must fix is not (bad credentials, a bad
//! integration code, the missing security-level bridge, an unknown zone user) and becomes
//! [`PsaError::Misconfigured`] with its reason (502 `psa_misconfigured`).
//!
//! Credentials are bound to their zone: every authenticated call checks its URL against the
//! [`ZonePolicy`] before the `Secret` header is attached, and the HTTP client never follows
//! redirects ([`http_client`]), so neither a re-pointed zone nor a `302` can carry the secret
//! to another host.
//!
//! Every attempt goes through the tenant's [`Gate`]: at most three in flight per instance and
//! the hourly budget, with sign-in and refresh ([`Priority::Foreground`]) never refused.
//!
//! Autotask's public API has no security-level entity; a PSA-side bridge provides
//! `SecurityLevels` with the same conventions, and each resource's `securityLevelID`.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use super::budget::{Gate, PsaMetrics};
use super::zone::{ZoneError, ZonePolicy};
use super::{
    Priority, PsaDirectory, PsaError, PsaMisconfiguration, PsaResource, PsaSecurityLevel,
    PsaTestReport, PsaTestStep, Report,
};

/// Autotask's global zone-discovery endpoint: it tells which regional zone serves a given
/// API user, so installs need only credentials, not a zone.
pub const DEFAULT_DISCOVERY_URL: &str =
    "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation";

/// Autotask's maximum page size.
const MAX_RECORDS: u32 = 500;
/// A PSA that keeps announcing another page beyond this is broken, not large: 100 pages of
/// 500 is far more resources than any Autotask database has.
const MAX_PAGES: usize = 100;
/// The first retry waits about this long; each further one doubles it (up to `max_backoff`).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Error details quoted from Autotask are cut to this many characters.
const MAX_DETAIL: usize = 300;
/// The bridge's entity (SPEC S3.1).
const SECURITY_LEVELS: &str = "SecurityLevels";

/// The HTTP client every PSA call uses: redirects are never followed, since a redirect would
/// carry the `Secret` header to wherever the `Location` points. There is no fallback to a
/// default client, which would follow them.
pub fn http_client() -> Result<reqwest::Client, PsaError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| PsaError::Config(format!("cannot build the PSA HTTP client: {e}")))
}

/// How to reach one Autotask database.
#[derive(Clone)]
pub struct AutotaskConfig {
    /// Zone discovery endpoint; only a test or a proxy needs another one.
    pub discovery_url: String,
    /// The zone as Autotask announces it (`https://webservicesN.autotask.net/ATServicesRest/`)
    /// or as an operator may write it (the bare host, or with `v1.0`), to skip discovery.
    pub zone_url: Option<String>,
    /// The API-only user's user name (an email address).
    pub api_user: String,
    /// The API tracking identifier, sent as `ApiIntegrationCode`. Confidential: read only
    /// where the header is written (`expose_secret`).
    pub integration_code: SecretString,
    /// The API user's secret. Confidential, like the integration code.
    pub secret: SecretString,
    /// Hard limit on each HTTP attempt, body included.
    pub timeout: Duration,
    /// Attempts per call, the first included, when Autotask throttles, is unavailable (503),
    /// times out or cannot be connected.
    pub max_attempts: u32,
    /// Cap on any single wait between attempts, `Retry-After` included, so a PSA asking for a
    /// minute's pause cannot stall a sign-in for a minute.
    pub max_backoff: Duration,
    /// Where the credentials may be sent.
    pub zones: ZonePolicy,
}

impl AutotaskConfig {
    /// Production defaults (discovery, 10 s per attempt, 4 attempts, waits of at most 5 s,
    /// Autotask's hosts only) for these credentials.
    pub fn new(
        api_user: impl Into<String>,
        integration_code: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self {
            discovery_url: DEFAULT_DISCOVERY_URL.to_owned(),
            zone_url: None,
            api_user: api_user.into(),
            integration_code: SecretString::from(integration_code.into()),
            secret: SecretString::from(secret.into()),
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            max_backoff: Duration::from_secs(5),
            zones: ZonePolicy::default(),
        }
    }
}

impl Default for AutotaskConfig {
    /// The production defaults with empty credentials, for `..Default::default()`.
    fn default() -> Self {
        Self::new("", "", "")
    }
}

/// Never prints the secret or the integration code: configs end up in logs and panics.
impl fmt::Debug for AutotaskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mask = |value: &str| {
            if value.is_empty() {
                "<empty>"
            } else {
                "<redacted>"
            }
        };
        f.debug_struct("AutotaskConfig")
            .field("discovery_url", &self.discovery_url)
            .field("zone_url", &self.zone_url)
            .field("api_user", &self.api_user)
            .field(
                "integration_code",
                &mask(self.integration_code.expose_secret()),
            )
            .field("secret", &mask(self.secret.expose_secret()))
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("max_backoff", &self.max_backoff)
            .field("zones", &self.zones)
            .finish()
    }
}

/// One tenant's Autotask client: configuration, HTTP pool, the discovered zone and the call
/// gate, shared by every [`AutotaskPsa`] view of it.
#[derive(Debug)]
pub struct AutotaskClient {
    config: AutotaskConfig,
    client: reqwest::Client,
    gate: Arc<Gate>,
    /// The REST base (`…/ATServicesRest/v1.0/`) once known.
    zone: RwLock<Option<Url>>,
}

impl AutotaskClient {
    /// A client drawing on `gate` (the registry keeps one per tenant, so slots and the
    /// budget outlive a change of settings).
    pub fn new(config: AutotaskConfig, client: reqwest::Client, gate: Arc<Gate>) -> Self {
        Self {
            config,
            client,
            gate,
            zone: RwLock::new(None),
        }
    }

    /// This client, calling as `priority`.
    pub fn as_priority(self: &Arc<Self>, priority: Priority) -> AutotaskPsa {
        AutotaskPsa {
            client: Arc::clone(self),
            priority,
        }
    }
}

/// A [`PsaDirectory`] backed by Autotask's REST API, calling at one [`Priority`].
///
/// The zone is discovered on first use and kept for the client's lifetime (a failed
/// discovery is not kept, so the next call tries again).
#[derive(Debug, Clone)]
pub struct AutotaskPsa {
    client: Arc<AutotaskClient>,
    priority: Priority,
}

/// After one attempt: done (an answer or an error), or retry after a wait.
enum Next {
    Done(Result<Answer, PsaError>),
    Retry(Duration),
}

/// One HTTP answer, read whole.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: Vec<u8>,
}

impl AutotaskPsa {
    /// A foreground provider with its own gate counting nothing: for tests and tools. The
    /// server builds its providers through the registry, which shares a counting gate.
    pub fn new(config: AutotaskConfig, client: reqwest::Client) -> Self {
        let gate = Gate::new("", 0, None, PsaMetrics::unregistered());
        Arc::new(AutotaskClient::new(config, client, Arc::new(gate)))
            .as_priority(Priority::Foreground)
    }

    /// The same client at another priority.
    pub fn with_priority(&self, priority: Priority) -> Self {
        Self {
            client: Arc::clone(&self.client),
            priority,
        }
    }

    /// The configuration in use (its `Debug` hides the credentials).
    pub fn config(&self) -> &AutotaskConfig {
        &self.client.config
    }

    /// The REST base of the zone (`…/ATServicesRest/v1.0/`), discovering it if needed.
    pub async fn rest_base(&self) -> Result<Url, PsaError> {
        let cached = self
            .client
            .zone
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(url) = cached {
            return Ok(url);
        }
        let url = match &self.config().zone_url {
            Some(zone) => self.allowed_zone(zone)?,
            None => self.discover().await?,
        };
        *self
            .client
            .zone
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(url.clone());
        Ok(url)
    }

    fn allowed_zone(&self, zone: &str) -> Result<Url, PsaError> {
        self.config().zones.rest_base(zone).map_err(|e| match e {
            ZoneError::NotAllowed(_) => {
                PsaError::misconfigured(PsaMisconfiguration::ZoneNotAllowed, e.to_string())
            }
            ZoneError::Invalid(message) => {
                PsaError::misconfigured(PsaMisconfiguration::SettingsInvalid, message)
            }
        })
    }

    /// Every resource, active or not, following every page: for refreshing all hub users
    /// from the PSA at once.
    pub async fn all_resources(&self) -> Result<Vec<PsaResource>, PsaError> {
        let items = self
            .query(
                "Resources",
                json!([{ "op": "exist", "field": "id" }]),
                MAX_RECORDS,
                true,
            )
            .await?;
        items
            .into_iter()
            .map(|item| resource_from(item, "Autotask Resources query"))
            .collect()
    }

    async fn discover(&self) -> Result<Url, PsaError> {
        const WHAT: &str = "Autotask zone discovery";
        let config = self.config();
        let mut url = Url::parse(&config.discovery_url).map_err(|e| {
            PsaError::Config(format!(
                "the zone discovery URL {:?} is not a URL: {e}",
                config.discovery_url
            ))
        })?;
        url.query_pairs_mut().append_pair("user", &config.api_user);
        // Discovery is unauthenticated: the credentials are not sent to it.
        let answer = self.send(Method::GET, url, None, false, WHAT).await?;
        if !answer.status.is_success() {
            let errors = self.error_detail(&answer.body);
            // Autotask answers an unknown user with a 500 about the zone (or a 404).
            let unknown_user = answer.status == StatusCode::NOT_FOUND
                || (answer.status == StatusCode::INTERNAL_SERVER_ERROR
                    && errors.to_lowercase().contains("zone"));
            if unknown_user {
                return Err(PsaError::misconfigured(
                    PsaMisconfiguration::ZoneNotFound,
                    format!(
                        "{WHAT} does not know the API user {:?} ({}{})",
                        config.api_user,
                        answer.status,
                        errors_suffix(&errors)
                    ),
                ));
            }
            return Err(self.failure(&answer, WHAT, None));
        }
        let zone: ZoneInformation = decode(&answer.body, WHAT)?;
        self.allowed_zone(&zone.url).map_err(|e| match e {
            PsaError::Misconfigured {
                reason: PsaMisconfiguration::SettingsInvalid,
                message,
            } => PsaError::Protocol(format!("{WHAT}: {message}")),
            other => other,
        })
    }

    /// One call with the retry budget: 429s, 503s, timeouts and connection failures are
    /// retried with exponential backoff (or `Retry-After`), each wait capped by
    /// `max_backoff`. Every attempt is admitted by the gate (a slot and the budget).
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        authenticated: bool,
        what: &str,
    ) -> Result<Answer, PsaError> {
        self.send_with(method, url, body, (authenticated, true), what)
            .await
    }

    /// One authenticated attempt, never retried: for a call that is not idempotent (creating
    /// a webhook), where a retry after a timeout could make a second one.
    pub(super) async fn send_once(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, PsaError> {
        self.send_with(method, url, body, (true, false), what).await
    }

    async fn send_with(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        (authenticated, retry): (bool, bool),
        what: &str,
    ) -> Result<Answer, PsaError> {
        let config = self.config();
        // The credentials go only where the policy allows, whatever asked for the URL.
        if authenticated && !config.zones.allows(&url) {
            return Err(PsaError::misconfigured(
                PsaMisconfiguration::ZoneNotAllowed,
                format!(
                    "{what}: {} is not an allowed zone host; the credentials were not sent",
                    url.origin().ascii_serialization()
                ),
            ));
        }
        let max_attempts = if retry { config.max_attempts.max(1) } else { 1 };
        // The whole call, waits for a free slot and between attempts included, is bounded by
        // what its attempts and waits alone may take: a sign-in queued behind a slow PSA
        // still answers in bounded time.
        let bound = (config.timeout + config.max_backoff).saturating_mul(max_attempts);
        let deadline = tokio::time::Instant::now() + bound;
        let out_of_time = |attempt: u32| {
            PsaError::Unavailable(format!(
                "{what}: no answer within {bound:?} (after {attempt} attempt(s))"
            ))
        };
        let mut attempt = 1;
        loop {
            // Zone discovery is exempt from Autotask's limits (SPEC S11): no slot, no budget.
            let admission = if authenticated {
                let admit = self.client.gate.admit(self.priority);
                match tokio::time::timeout_at(deadline, admit).await {
                    Ok(admission) => Some(admission?),
                    Err(_) => return Err(out_of_time(attempt - 1)),
                }
            } else {
                None
            };
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let outcome = self
                .attempt(&method, &url, body, authenticated, config.timeout.min(left))
                .await;
            drop(admission);
            let wait = match self.after(outcome, attempt, attempt >= max_attempts, what) {
                Next::Done(result) => return result,
                Next::Retry(wait) => wait,
            };
            let wait = wait.min(config.max_backoff);
            if tokio::time::Instant::now() + wait >= deadline {
                return Err(out_of_time(attempt));
            }
            tracing::debug!(
                what,
                attempt,
                wait_ms = wait.as_millis(),
                "retrying the Autotask call"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: the request (with the credentials when `authenticated`) and its answer.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        authenticated: bool,
        timeout: Duration,
    ) -> Result<Answer, reqwest::Error> {
        let config = self.config();
        let mut request = self
            .client
            .client
            .request(method.clone(), url.clone())
            .timeout(timeout)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if authenticated {
            request = request
                .header(
                    "ApiIntegrationCode",
                    config.integration_code.expose_secret(),
                )
                .header("UserName", &config.api_user)
                .header("Secret", config.secret.expose_secret());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header(RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = header(LOCATION);
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            retry_after,
            location,
            body: body.to_vec(),
        })
    }

    /// What follows attempt number `attempt` (`last` when no retry is left): its answer, an
    /// error, or a retry after a wait (`Retry-After`, else exponential backoff).
    fn after(
        &self,
        outcome: Result<Answer, reqwest::Error>,
        attempt: u32,
        last: bool,
        what: &str,
    ) -> Next {
        match outcome {
            Ok(answer)
                if matches!(
                    answer.status,
                    StatusCode::TOO_MANY_REQUESTS
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::GATEWAY_TIMEOUT
                ) =>
            {
                if last {
                    return Next::Done(Err(PsaError::Unavailable(format!(
                        "{what}: Autotask still answers {} after {attempt} attempt(s){}",
                        answer.status,
                        errors_suffix(&self.error_detail(&answer.body))
                    ))));
                }
                Next::Retry(answer.retry_after.unwrap_or_else(|| backoff(attempt)))
            }
            Ok(answer) => Next::Done(Ok(answer)),
            Err(e) if last => {
                let cause = if e.is_timeout() {
                    format!("no answer within {:?}", self.config().timeout)
                } else {
                    describe(&e)
                };
                Next::Done(Err(PsaError::Unavailable(format!(
                    "{what}: {cause} (after {attempt} attempt(s))"
                ))))
            }
            Err(e) if e.is_timeout() || e.is_connect() => {
                tracing::debug!(what, attempt, error = %e.without_url(), "Autotask did not answer; retrying");
                Next::Retry(backoff(attempt))
            }
            Err(e) => Next::Done(Err(PsaError::Unavailable(format!(
                "{what}: {} (after {attempt} attempt(s))",
                describe(&e)
            )))),
        }
    }

    /// Turns an unsuccessful answer into the error the caller acts on. `entity` is the
    /// entity the call addressed, when a 404 means that it does not exist.
    pub(super) fn failure(&self, answer: &Answer, what: &str, entity: Option<&str>) -> PsaError {
        let errors = self.error_detail(&answer.body);
        let status = answer.status;
        let message = format!(
            "{what}: Autotask answered {status}{}",
            errors_suffix(&errors)
        );
        let squashed: String = errors
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        let names_missing_bridge = squashed.contains("securitylevel")
            && [
                "notfound",
                "doesnotexist",
                "notexist",
                "unknown",
                "invalid",
                "notsupported",
            ]
            .iter()
            .any(|phrase| squashed.contains(phrase));
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            PsaError::misconfigured(PsaMisconfiguration::BadCredentials, message)
        } else if status == StatusCode::NOT_FOUND && entity == Some(SECURITY_LEVELS) {
            PsaError::misconfigured(PsaMisconfiguration::SecurityLevelsBridgeMissing, message)
        } else if status == StatusCode::NOT_FOUND && entity.is_some() {
            // A standard entity that is not there: the zone URL does not lead to Autotask's
            // REST root. Waiting will not fix it.
            PsaError::misconfigured(PsaMisconfiguration::SettingsInvalid, message)
        } else if status.is_redirection() {
            // Never followed: the credentials stay with the zone.
            PsaError::Protocol(format!(
                "{what}: Autotask answered {status} to {}; redirects are not followed",
                answer.location.as_deref().unwrap_or("nowhere")
            ))
        } else if status.is_server_error() && squashed.contains("integrationcode") {
            // Autotask reports a bad integration code as a 500.
            PsaError::misconfigured(PsaMisconfiguration::BadIntegrationCode, message)
        } else if status.is_server_error() && names_missing_bridge {
            PsaError::misconfigured(PsaMisconfiguration::SecurityLevelsBridgeMissing, message)
        } else if status.is_server_error() {
            PsaError::Unavailable(message)
        } else {
            PsaError::Protocol(message)
        }
    }

    /// Autotask's `errors` messages, joined, with any credential scrubbed out and cut short.
    fn error_detail(&self, body: &[u8]) -> String {
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
            return String::new();
        };
        let messages: Vec<String> = match object.get("errors") {
            Some(Value::Array(errors)) => errors
                .iter()
                .map(|e| match e {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(Value::String(error)) => vec![error.clone()],
            _ => Vec::new(),
        };
        let mut detail = messages.join("; ");
        let config = self.config();
        for secret in [&config.secret, &config.integration_code] {
            let secret = secret.expose_secret();
            if !secret.is_empty() {
                detail = detail.replace(secret, "<redacted>");
            }
        }
        if detail.chars().count() > MAX_DETAIL {
            detail = detail.chars().take(MAX_DETAIL).collect::<String>() + "…";
        }
        detail
    }

    /// `POST {entity}/query`, then (when `all_pages`) every `nextPageUrl` until there is none.
    async fn query(
        &self,
        entity: &str,
        filter: Value,
        max_records: u32,
        all_pages: bool,
    ) -> Result<Vec<Value>, PsaError> {
        let what = format!("Autotask {entity} query");
        let base = self.rest_base().await?;
        let url = join(&base, &format!("{entity}/query"))?;
        let body = json!({ "filter": filter, "maxRecords": max_records });
        let answer = self
            .send(Method::POST, url, Some(&body), true, &what)
            .await?;
        let mut page: QueryPage = self.success(answer, &what, Some(entity))?;
        let mut items = std::mem::take(&mut page.items);
        let mut seen = HashSet::new();
        let mut pages = 1;
        while all_pages && let Some(next) = page.next_page_url() {
            if pages >= MAX_PAGES {
                return Err(PsaError::Protocol(format!(
                    "{what}: still another page after {MAX_PAGES} pages"
                )));
            }
            let url = base.join(&next).map_err(|e| {
                PsaError::Protocol(format!("{what}: the nextPageUrl is not a URL: {e}"))
            })?;
            // The credentials go with every page: never to a host other than the zone's.
            if url.origin() != base.origin() {
                return Err(PsaError::Protocol(format!(
                    "{what}: the nextPageUrl points away from the zone ({}); not following it",
                    url.origin().ascii_serialization()
                )));
            }
            if !seen.insert(url.clone()) {
                return Err(PsaError::Protocol(format!(
                    "{what}: the nextPageUrl repeats a page already read"
                )));
            }
            let answer = self.send(Method::GET, url, None, true, &what).await?;
            page = self.success(answer, &what, Some(entity))?;
            items.append(&mut page.items);
            pages += 1;
        }
        Ok(items)
    }

    pub(super) fn success<T: DeserializeOwned>(
        &self,
        answer: Answer,
        what: &str,
        entity: Option<&str>,
    ) -> Result<T, PsaError> {
        if answer.status.is_success() {
            decode(&answer.body, what)
        } else {
            Err(self.failure(&answer, what, entity))
        }
    }

    /// `POST /api/v1/psa/test`: each step of the chain, stopping at the first failure.
    pub async fn test(&self) -> PsaTestReport {
        let mut report = Report::default();
        let given = self.config().zone_url.is_some();
        let base = match self.rest_base().await {
            Ok(base) => base,
            Err(e) => return report.fail(PsaTestStep::ZoneDiscovery, &e),
        };
        report.pass(
            PsaTestStep::ZoneDiscovery,
            if given {
                format!("The zone is set in the settings: {base}.")
            } else {
                format!("Autotask placed the API user in the zone {base}.")
            },
        );

        let credentials = async {
            let what = "Autotask Resources entityInformation";
            let url = join(&base, "Resources/entityInformation")?;
            let answer = self.send(Method::GET, url, None, true, what).await?;
            if answer.status.is_success() {
                Ok(())
            } else {
                Err(self.failure(&answer, what, Some("Resources")))
            }
        };
        if let Err(e) = credentials.await {
            return report.fail(PsaTestStep::Credentials, &e);
        }
        report.pass(
            PsaTestStep::Credentials,
            "Autotask accepted the API user, secret and integration code.".to_owned(),
        );

        let resources = async {
            let items = self
                .query(
                    "Resources",
                    json!([{ "op": "exist", "field": "id" }]),
                    1,
                    false,
                )
                .await?;
            items
                .into_iter()
                .map(|item| resource_from(item, "Autotask Resources query"))
                .collect::<Result<Vec<_>, _>>()
        };
        match resources.await {
            Ok(found) if found.is_empty() => report.pass(
                PsaTestStep::Resources,
                "Resources can be read, but Autotask lists none.".to_owned(),
            ),
            Ok(_) => report.pass(
                PsaTestStep::Resources,
                "Resources can be read, with their security level.".to_owned(),
            ),
            Err(e) => return report.fail(PsaTestStep::Resources, &e),
        }

        match self.security_levels().await {
            Ok(levels) => report.pass(
                PsaTestStep::SecurityLevels,
                format!("The bridge lists {} security level(s).", levels.len()),
            ),
            Err(e) => return report.fail(PsaTestStep::SecurityLevels, &e),
        }
        report.finish()
    }
}

#[async_trait::async_trait]
impl PsaDirectory for AutotaskPsa {
    async fn resources(&self) -> Result<Vec<PsaResource>, PsaError> {
        self.all_resources().await
    }

    /// `Resources/query` with `{"op":"in","field":"id","value":[…]}`, at most
    /// [`super::MAX_IDS_PER_QUERY`] ids a call, every `nextPageUrl` followed.
    async fn resources_by_ids(&self, ids: &[i64]) -> Result<Vec<PsaResource>, PsaError> {
        let what = "Autotask Resources query";
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::MAX_IDS_PER_QUERY) {
            let filter = json!([{ "op": "in", "field": "id", "value": chunk }]);
            for item in self.query("Resources", filter, MAX_RECORDS, true).await? {
                found.push(resource_from(item, what)?);
            }
        }
        Ok(found)
    }

    async fn security_levels(&self) -> Result<Vec<PsaSecurityLevel>, PsaError> {
        let what = "Autotask SecurityLevels query";
        let items = self
            .query(
                SECURITY_LEVELS,
                json!([{ "op": "exist", "field": "id" }]),
                MAX_RECORDS,
                true,
            )
            .await?;
        items
            .into_iter()
            .map(|item| {
                serde_json::from_value::<WireLevel>(item)
                    .map(WireLevel::into_level)
                    .map_err(|e| PsaError::Protocol(format!("{what}: unexpected level shape: {e}")))
            })
            .collect()
    }

    async fn resource(&self, id: i64) -> Result<Option<PsaResource>, PsaError> {
        let what = "Autotask resource lookup";
        let base = self.rest_base().await?;
        let url = join(&base, &format!("Resources/{id}"))?;
        let answer = self.send(Method::GET, url, None, true, what).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let envelope: Value = self.success(answer, what, Some("Resources"))?;
        match envelope.get("item") {
            Some(Value::Null) => Ok(None),
            Some(item) => resource_from(item.clone(), what).map(Some),
            None => Err(PsaError::Protocol(format!(
                "{what}: the answer has no \"item\""
            ))),
        }
    }

    async fn resources_by_email(&self, email: &str) -> Result<Vec<PsaResource>, PsaError> {
        let wanted = email.trim();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let what = "Autotask Resources query";
        let items = self
            .query(
                "Resources",
                json!([{ "op": "eq", "field": "email", "value": wanted }]),
                MAX_RECORDS,
                true,
            )
            .await?;
        // Autotask's `eq` already ignores case; re-checking guards against a PSA that
        // ignored the filter.
        let wanted = wanted.to_lowercase();
        Ok(items
            .into_iter()
            .map(|item| resource_from(item, what))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|r| r.email.trim().to_lowercase() == wanted)
            .collect())
    }

    async fn test(&self) -> PsaTestReport {
        AutotaskPsa::test(self).await
    }
}

/// `{"zoneName","url","webUrl","ci"}`; only `url` matters here.
#[derive(Deserialize)]
struct ZoneInformation {
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    items: Vec<Value>,
    #[serde(default)]
    page_details: Option<PageDetails>,
}

impl QueryPage {
    fn next_page_url(&self) -> Option<String> {
        self.page_details
            .as_ref()
            .and_then(|d| d.next_page_url.as_deref())
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageDetails {
    #[serde(default)]
    next_page_url: Option<String>,
}

/// A resource from Autotask's JSON. Without `securityLevelID` the bridge is missing: a plain
/// Autotask resource has no level (SPEC S11), and guessing one would grant or withhold access.
fn resource_from(item: Value, what: &str) -> Result<PsaResource, PsaError> {
    let has_level = item.as_object().is_some_and(|object| {
        object
            .keys()
            .any(|k| k.eq_ignore_ascii_case("securityLevelID"))
    });
    if !has_level {
        return Err(PsaError::misconfigured(
            PsaMisconfiguration::SecurityLevelsBridgeMissing,
            format!("{what}: resources carry no securityLevelID"),
        ));
    }
    serde_json::from_value::<WireResource>(item)
        .map(WireResource::into_resource)
        .map_err(|e| PsaError::Protocol(format!("{what}: unexpected resource shape: {e}")))
}

/// A resource as Autotask sends it. Identity and state are required; names, email and user
/// name may be null or absent (API users and some imported resources have none).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResource {
    id: i64,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    is_active: bool,
    #[serde(rename = "securityLevelID", alias = "securityLevelId")]
    security_level_id: i64,
}

impl WireResource {
    fn into_resource(self) -> PsaResource {
        PsaResource {
            id: self.id,
            first_name: self.first_name.unwrap_or_default(),
            last_name: self.last_name.unwrap_or_default(),
            email: self.email.unwrap_or_default(),
            user_name: self.user_name.unwrap_or_default(),
            is_active: self.is_active,
            security_level_id: self.security_level_id,
        }
    }
}

/// A security level from the bridge's `SecurityLevels` entity. The facts are required:
/// guessing a missing one would silently grant or withhold access.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLevel {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    is_active: bool,
    hub_menu: bool,
    qbo_extension_admin: bool,
    other_extensions_admin: bool,
    resource_impersonation: bool,
}

impl WireLevel {
    fn into_level(self) -> PsaSecurityLevel {
        PsaSecurityLevel {
            id: self.id,
            name: self.name.unwrap_or_default(),
            is_active: self.is_active,
            hub_menu: self.hub_menu,
            qbo_extension_admin: self.qbo_extension_admin,
            other_extensions_admin: self.other_extensions_admin,
            resource_impersonation: self.resource_impersonation,
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, PsaError> {
    serde_json::from_slice(body).map_err(|e| {
        PsaError::Protocol(format!("{what}: the answer is not the expected JSON: {e}"))
    })
}

pub(super) fn join(base: &Url, path: &str) -> Result<Url, PsaError> {
    base.join(path)
        .map_err(|e| PsaError::Config(format!("cannot build an Autotask URL for {path}: {e}")))
}

/// Exponential backoff with jitter, so several API instances throttled together do not
/// retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let base = FIRST_BACKOFF.saturating_mul(1 << exponent);
    base.mul_f64(rand::random_range(0.75..=1.0))
}

fn errors_suffix(errors: &str) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {errors}")
    }
}

/// A transport error without its URL (which carries nothing secret, but is noise) and with
/// its cause, which reqwest's own message leaves out.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_decode() || error.is_body() {
        "the answer could not be read".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use hubkeep_psa_sim::{
        DEMO_API_USER, DEMO_INTEGRATION_CODE, DEMO_SECRET, Faults, SimConfig, SimHandle, Simulator,
    };

    use super::*;

    fn sim(edit: impl FnOnce(&mut SimConfig)) -> SimHandle {
        let mut config = SimConfig::demo().expect("demo simulator config");
        edit(&mut config);
        Simulator::start(config).expect("simulator starts")
    }

    fn allowing(sim: &SimHandle) -> ZonePolicy {
        ZonePolicy::new(&[sim.addr().to_string()]).expect("a host")
    }

    fn config_for(sim: &SimHandle) -> AutotaskConfig {
        AutotaskConfig {
            discovery_url: sim.discovery_url(),
            timeout: Duration::from_secs(5),
            max_backoff: Duration::from_millis(20),
            zones: allowing(sim),
            ..AutotaskConfig::new(DEMO_API_USER, DEMO_INTEGRATION_CODE, DEMO_SECRET)
        }
    }

    fn reason(error: &PsaError) -> Option<PsaMisconfiguration> {
        error.reason()
    }

    /// Discovers its zone like production does.
    fn discovering(sim: &SimHandle) -> AutotaskPsa {
        AutotaskPsa::new(config_for(sim), reqwest::Client::new())
    }

    /// Told its zone, so request counts are exactly the calls under test.
    fn zoned(sim: &SimHandle, edit: impl FnOnce(&mut AutotaskConfig)) -> AutotaskPsa {
        let mut config = AutotaskConfig {
            zone_url: Some(sim.zone_url()),
            ..config_for(sim)
        };
        edit(&mut config);
        AutotaskPsa::new(config, reqwest::Client::new())
    }

    fn route_count(sim: &SimHandle, route: &str) -> u64 {
        sim.stats().by_route.get(route).copied().unwrap_or(0)
    }

    fn assert_no_secret(error: &PsaError) {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(DEMO_SECRET), "{text}");
        assert!(!text.contains(DEMO_INTEGRATION_CODE), "{text}");
    }

    #[tokio::test]
    async fn discovers_the_zone_once_then_queries() {
        let sim = sim(|_| {});
        let psa = discovering(&sim);
        let levels = psa.security_levels().await.expect("levels");
        assert_eq!(levels, sim.directory().security_levels);
        let resource = psa
            .resource(29682885)
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(resource.email, "margaret.chen@northwindit.example");
        assert_eq!(
            route_count(&sim, "GET zoneInformation"),
            1,
            "discovery is cached"
        );
        assert_eq!(
            psa.rest_base().await.expect("base").as_str(),
            sim.api_url(),
            "REST calls go to {{url}}v1.0/, the url including ATServicesRest/ (SPEC S11)"
        );
        sim.stop().await;
    }

    #[tokio::test]
    async fn an_explicit_zone_skips_discovery() {
        let sim = sim(|_| {});
        for zone in [
            sim.base_url(),
            sim.zone_url(),
            sim.zone_url().trim_end_matches('/').to_owned(),
            sim.api_url(),
            sim.api_url().trim_end_matches('/').to_owned(),
        ] {
            let psa = zoned(&sim, |c| {
                c.zone_url = Some(zone.clone());
                c.discovery_url = "http://127.0.0.1:9/never-called".into();
            });
            assert_eq!(
                psa.security_levels().await.expect("levels").len(),
                10,
                "{zone}"
            );
        }
        assert_eq!(route_count(&sim, "GET zoneInformation"), 0);
        sim.stop().await;
    }

    #[tokio::test]
    async fn follows_every_page() {
        let sim = sim(|c| c.page_size = 7);
        let psa = discovering(&sim);
        let expected = sim.directory();
        let mut resources = psa.all_resources().await.expect("resources");
        resources.sort_by_key(|r| r.id);
        let mut want = expected.resources.clone();
        want.sort_by_key(|r| r.id);
        assert_eq!(resources, want);
        assert!(want.len() > 7 * 5, "several pages");
        let pages = want.len().div_ceil(7) as u64;
        assert_eq!(route_count(&sim, "GET Resources/query/next"), pages - 1);

        let mut levels = psa.security_levels().await.expect("levels");
        levels.sort_by_key(|l| l.id);
        let mut want = expected.security_levels.clone();
        want.sort_by_key(|l| l.id);
        assert_eq!(levels, want);
        assert_eq!(route_count(&sim, "GET SecurityLevels/query/next"), 1);
        sim.stop().await;
    }

    #[tokio::test]
    async fn resource_by_id_found_and_missing_both_ways() {
        let null_sim = sim(|_| {});
        let psa = zoned(&null_sim, |_| {});
        let found = psa
            .resource(29683068)
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(found.first_name, "Victor");
        assert_eq!(found.security_level_id, 7);
        assert_eq!(
            psa.resource(1).await.expect("lookup"),
            None,
            "200 {{\"item\":null}}"
        );
        null_sim.stop().await;

        let not_found_sim = sim(|c| c.missing_resource_as_404 = true);
        let psa = zoned(&not_found_sim, |_| {});
        assert_eq!(psa.resource(1).await.expect("lookup"), None, "404");
        assert!(psa.resource(29682885).await.expect("lookup").is_some());
        not_found_sim.stop().await;
    }

    #[tokio::test]
    async fn resource_by_email_ignores_case() {
        let sim = sim(|_| {});
        let psa = zoned(&sim, |_| {});
        let kevin = psa
            .resources_by_email("  kevin.obrien@NORTHWINDIT.example ")
            .await
            .expect("lookup")
            .pop()
            .expect("found");
        assert_eq!(kevin.id, 29682978);
        assert_eq!(kevin.last_name, "O'Brien");
        assert_eq!(
            psa.resources_by_email("nobody@northwindit.example")
                .await
                .expect("lookup"),
            Vec::new()
        );
        let before = sim.request_count();
        assert_eq!(
            psa.resources_by_email("   ").await.expect("lookup"),
            Vec::new()
        );
        assert_eq!(sim.request_count(), before, "a blank email asks nothing");
        sim.stop().await;
    }

    #[tokio::test]
    async fn bad_credentials_are_credentials_errors() {
        let sim = sim(|_| {});
        let psa = zoned(&sim, |c| c.secret = "wrong-secret".into());
        let error = psa.security_levels().await.expect_err("refused");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::BadCredentials),
            "{error:?}"
        );
        assert!(!format!("{error}").contains("wrong-secret"));

        let psa = zoned(&sim, |_| {});
        sim.set_faults(Faults {
            bad_credentials: true,
            ..Faults::default()
        });
        let error = psa.resource(29682885).await.expect_err("refused");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::BadCredentials),
            "{error:?}"
        );
        assert_no_secret(&error);
        assert_eq!(sim.request_count(), 2, "a 401 is not retried");
        sim.stop().await;
    }

    #[tokio::test]
    async fn a_bad_integration_code_is_a_credentials_error() {
        let sim = sim(|_| {});
        let psa = zoned(&sim, |c| {
            c.integration_code = "NOT-THE-INTEGRATION-CODE".into()
        });
        let error = psa
            .resources_by_email("margaret.chen@northwindit.example")
            .await
            .expect_err("refused");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::BadIntegrationCode),
            "{error:?}"
        );
        assert!(!format!("{error:?}").contains("NOT-THE-INTEGRATION-CODE"));
        sim.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_api_user_fails_discovery_as_credentials() {
        let sim = sim(|_| {});
        let psa = AutotaskPsa::new(
            AutotaskConfig {
                api_user: "someone-else@northwindit.example".into(),
                ..config_for(&sim)
            },
            reqwest::Client::new(),
        );
        let error = psa.security_levels().await.expect_err("unknown user");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::ZoneNotFound),
            "{error:?}"
        );
        assert_eq!(sim.request_count(), 1, "not retried");
        sim.stop().await;
    }

    #[tokio::test]
    async fn server_errors_are_unavailable_and_not_cached_for_discovery() {
        let sim = sim(|c| {
            c.faults = Faults {
                fail_500: 1,
                ..Faults::default()
            };
        });
        let psa = discovering(&sim);
        let error = psa.security_levels().await.expect_err("500");
        assert!(matches!(error, PsaError::Unavailable(_)), "{error:?}");
        assert_no_secret(&error);
        // The failed discovery was not kept: the next call discovers again and succeeds.
        assert!(psa.security_levels().await.is_ok());
        assert_eq!(route_count(&sim, "GET zoneInformation"), 2);

        sim.set_faults(Faults {
            fail_500: 1,
            ..Faults::default()
        });
        let error = psa.resource(29682885).await.expect_err("500");
        assert!(matches!(error, PsaError::Unavailable(_)), "{error:?}");
        sim.stop().await;
    }

    #[tokio::test]
    async fn throttling_is_retried_within_the_budget() {
        let sim = sim(|c| {
            c.faults = Faults {
                rate_limit: 2,
                ..Faults::default()
            };
        });
        let psa = zoned(&sim, |_| {});
        let resource = psa
            .resource(29682885)
            .await
            .expect("third attempt succeeds");
        assert!(resource.is_some());
        assert_eq!(sim.request_count(), 3, "two 429s, then the answer");
        assert_eq!(sim.stats().by_status.get(&429), Some(&2));

        sim.reset_stats();
        sim.set_faults(Faults {
            rate_limit: 100,
            ..Faults::default()
        });
        let error = psa.security_levels().await.expect_err("still throttled");
        assert!(matches!(error, PsaError::Unavailable(_)), "{error:?}");
        assert_eq!(sim.request_count(), 4, "max_attempts in all");
        sim.stop().await;
    }

    #[tokio::test]
    async fn retry_after_is_honoured_but_capped() {
        let sim = sim(|c| {
            c.faults = Faults {
                rate_limit: 2,
                retry_after_secs: Some(1),
                ..Faults::default()
            };
        });
        let psa = zoned(&sim, |c| c.max_backoff = Duration::from_millis(60));
        let started = Instant::now();
        psa.security_levels()
            .await
            .expect("succeeds after two waits");
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(120), "waited {elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(900),
            "the 1 s Retry-After was capped: {elapsed:?}"
        );
        assert_eq!(sim.request_count(), 3);
        sim.stop().await;
    }

    #[tokio::test]
    async fn the_thread_limit_is_retried() {
        let sim = sim(|c| {
            c.faults = Faults {
                thread_limit: 1,
                ..Faults::default()
            };
        });
        let psa = zoned(&sim, |_| {});
        let found = psa
            .resources_by_email("laura.whitfield@northwindit.example")
            .await
            .expect("retried")
            .pop()
            .expect("found");
        assert_eq!(found.security_level_id, 2);
        assert_eq!(sim.request_count(), 2);
        sim.stop().await;
    }

    #[tokio::test]
    async fn concurrent_callers_survive_an_enforced_thread_limit() {
        let sim = sim(|c| {
            c.faults = Faults {
                enforce_thread_limit: true,
                latency_ms: 30,
                ..Faults::default()
            };
        });
        let psa = zoned(&sim, |c| c.max_backoff = Duration::from_millis(100));
        let ids = [29682885, 29682891, 29682902, 29682923, 29682930];
        let (a, b, c, d, e) = tokio::join!(
            psa.resource(ids[0]),
            psa.resource(ids[1]),
            psa.resource(ids[2]),
            psa.resource(ids[3]),
            psa.resource(ids[4]),
        );
        for result in [a, b, c, d, e] {
            assert!(result.expect("every lookup succeeds").is_some());
        }
        // The gate keeps the provider within Autotask's three threads: nothing was refused.
        let stats = sim.stats();
        assert!(stats.peak_in_flight <= 3, "{stats:?}");
        assert_eq!(stats.by_status.get(&429), None, "{stats:?}");
        sim.stop().await;
    }

    #[tokio::test]
    async fn malformed_json_is_a_protocol_error() {
        let sim = sim(|c| {
            c.faults = Faults {
                malformed_json: 1,
                ..Faults::default()
            };
        });
        let psa = zoned(&sim, |_| {});
        let error = psa.security_levels().await.expect_err("malformed");
        assert!(matches!(error, PsaError::Protocol(_)), "{error:?}");
        sim.stop().await;
    }

    #[tokio::test]
    async fn a_slow_psa_times_out_as_unavailable() {
        let sim = sim(|c| {
            c.faults = Faults {
                latency_ms: 500,
                ..Faults::default()
            };
        });
        let psa = zoned(&sim, |c| {
            c.timeout = Duration::from_millis(100);
            c.max_attempts = 2;
        });
        let started = Instant::now();
        let error = psa.resource(29682885).await.expect_err("too slow");
        assert!(matches!(error, PsaError::Unavailable(_)), "{error:?}");
        assert!(error.to_string().contains("2 attempt"), "{error}");
        assert_eq!(
            sim.request_count(),
            2,
            "a timeout is retried within max_attempts"
        );
        assert!(
            started.elapsed() < Duration::from_millis(450),
            "{:?}",
            started.elapsed()
        );
        sim.stop().await;
    }

    #[tokio::test]
    async fn an_unreachable_psa_is_unavailable_after_retries() {
        let sim = sim(|_| {});
        let base = sim.base_url();
        let zones = allowing(&sim);
        sim.stop().await;
        let config = AutotaskConfig {
            zone_url: Some(base),
            max_backoff: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
            zones,
            ..AutotaskConfig::new(DEMO_API_USER, DEMO_INTEGRATION_CODE, DEMO_SECRET)
        };
        let psa = AutotaskPsa::new(config, reqwest::Client::new());
        let error = psa.security_levels().await.expect_err("nobody listens");
        assert!(matches!(error, PsaError::Unavailable(_)), "{error:?}");
        assert!(error.to_string().contains("4 attempt"), "{error}");
    }

    #[test]
    fn debug_hides_the_credentials() {
        let config = AutotaskConfig::new("api@example.com", "INTEGRATIONCODE123", "s3cr3t-value");
        let text = format!("{config:?}");
        assert!(text.contains("api@example.com"), "{text}");
        assert!(!text.contains("INTEGRATIONCODE123"), "{text}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        let psa = AutotaskPsa::new(config, reqwest::Client::new());
        let text = format!("{psa:?}");
        assert!(
            !text.contains("INTEGRATIONCODE123") && !text.contains("s3cr3t-value"),
            "{text}"
        );
    }

    #[test]
    fn defaults_match_production() {
        let config = AutotaskConfig::default();
        assert_eq!(config.discovery_url, DEFAULT_DISCOVERY_URL);
        assert_eq!(config.zone_url, None);
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.max_attempts, 4);
        assert_eq!(config.max_backoff, Duration::from_secs(5));
    }

    #[tokio::test]
    async fn s11_a_discovered_zone_outside_the_allowed_hosts_gets_no_credentials() {
        // Discovery announcing a host nobody allowed: the secret is not sent anywhere.
        let sim = sim(|c| c.public_url = Some("http://attacker.example:9/".into()));
        let psa = AutotaskPsa::new(
            AutotaskConfig {
                discovery_url: format!("http://{}/atservicesrest/v1.0/zoneInformation", sim.addr()),
                ..config_for(&sim)
            },
            reqwest::Client::new(),
        );
        let error = psa.security_levels().await.expect_err("refused");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::ZoneNotAllowed),
            "{error:?}"
        );
        assert_eq!(sim.request_count(), 1, "only the unauthenticated discovery");
        // An operator-given zone outside the policy is refused before any call.
        let psa = zoned(&sim, |c| {
            c.zone_url = Some("https://evil.example/ATServicesRest/".into())
        });
        let error = psa.resource(1).await.expect_err("refused");
        assert_eq!(reason(&error), Some(PsaMisconfiguration::ZoneNotAllowed));
        assert_eq!(sim.request_count(), 1);
        sim.stop().await;
    }

    #[tokio::test]
    async fn a_next_page_on_another_host_is_not_followed() {
        // The simulator's paging links point at a host that is not the zone.
        let sim = sim(|c| {
            c.page_size = 3;
            c.public_url = Some("http://attacker.example:9/".into());
        });
        let psa = zoned(&sim, |c| {
            c.zone_url = Some(format!("http://{}/ATServicesRest/", sim.addr()));
        });
        let error = psa.security_levels().await.expect_err("refused");
        assert!(matches!(error, PsaError::Protocol(_)), "{error:?}");
        assert!(
            error.to_string().contains("points away from the zone"),
            "{error}"
        );
        assert_eq!(sim.request_count(), 1, "only the first page");
        sim.stop().await;
    }

    #[tokio::test]
    async fn s11_without_the_bridge_the_reason_is_named() {
        let sim = sim(|c| {
            c.faults = Faults {
                missing_bridge: true,
                ..Faults::default()
            }
        });
        let psa = zoned(&sim, |_| {});
        let error = psa.security_levels().await.expect_err("no entity");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::SecurityLevelsBridgeMissing),
            "{error:?}"
        );
        let error = psa
            .resource(29682885)
            .await
            .expect_err("no level on the resource");
        assert_eq!(
            reason(&error),
            Some(PsaMisconfiguration::SecurityLevelsBridgeMissing)
        );
        let report = psa.test().await;
        assert!(!report.ok);
        let last = report.steps.last().expect("steps");
        assert_eq!(last.step, PsaTestStep::Resources);
        assert_eq!(
            last.reason,
            Some(PsaMisconfiguration::SecurityLevelsBridgeMissing)
        );
        assert_eq!(
            sim.stats().by_route.get("POST SecurityLevels/query"),
            Some(&1),
            "not retried"
        );
        sim.stop().await;
    }

    #[tokio::test]
    async fn s11_the_connection_test_runs_every_step() {
        let sim = sim(|_| {});
        let report = discovering(&sim).test().await;
        assert!(report.ok, "{report:?}");
        let steps: Vec<PsaTestStep> = report.steps.iter().map(|s| s.step).collect();
        assert_eq!(
            steps,
            [
                PsaTestStep::ZoneDiscovery,
                PsaTestStep::Credentials,
                PsaTestStep::Resources,
                PsaTestStep::SecurityLevels
            ]
        );
        let psa = zoned(&sim, |c| c.secret = "wrong".into());
        let report = psa.test().await;
        assert!(!report.ok);
        assert_eq!(report.steps.len(), 2, "stops at the failed step");
        assert_eq!(
            report.steps[1].reason,
            Some(PsaMisconfiguration::BadCredentials)
        );
        sim.stop().await;
    }

    #[test]
    fn wire_resources_tolerate_nulls_and_extra_fields() {
        let wire: WireResource = serde_json::from_value(json!({
            "id": 5, "firstName": null, "lastName": "Solo", "email": null, "userName": "solo",
            "isActive": true, "securityLevelID": 3, "middleName": null, "userDefinedFields": []
        }))
        .expect("tolerant");
        let resource = wire.into_resource();
        assert_eq!(resource.first_name, "");
        assert_eq!(resource.email, "");
        assert_eq!(resource.security_level_id, 3);

        let missing = serde_json::from_value::<WireResource>(json!({"id": 5, "isActive": true}));
        assert!(missing.is_err(), "securityLevelID is required");
        let missing_fact = serde_json::from_value::<WireLevel>(json!({
            "id": 1, "name": "x", "isActive": true, "hubMenu": true
        }));
        assert!(missing_fact.is_err(), "level facts are required");
    }

    #[test]
    fn backoff_grows_and_is_jittered() {
        for attempt in 1..=5 {
            let wait = backoff(attempt);
            let full = FIRST_BACKOFF * 2u32.pow(attempt - 1);
            assert!(
                wait <= full && wait >= full.mul_f64(0.75),
                "{attempt}: {wait:?}"
            );
        }
        assert!(backoff(u32::MAX) > Duration::ZERO);
    }
}
