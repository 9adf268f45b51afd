//! The PSA directory (SPEC S3.1): where identities and security levels come from.
//!
//! One trait, two providers: [`directory::DirectoryPsa`] reads a TOML file (demos, small
//! offline installs) and [`autotask::AutotaskPsa`] speaks the Autotask REST v1.0 conventions.
//! The hub never writes to the PSA.

pub mod autotask;
pub mod budget;
pub mod directory;
pub mod registry;
pub mod webhooks;
pub mod zone;

use std::fmt::Debug;

use hubkeep_shared::ProblemCode;

use crate::error::ApiError;

pub use hubkeep_shared::directory::{DirectoryFile, PsaResource, PsaSecurityLevel};
pub use hubkeep_shared::psa::{PsaMisconfiguration, PsaTestReport, PsaTestStep, PsaTestStepResult};

/// Who is waiting on a PSA call (SPEC S11). Sign-in and refresh are [`Priority::Foreground`]:
/// a person is waiting, so they always go through, budget or not. Everything else is
/// [`Priority::Background`]: it leaves one of the in-flight slots free for foreground calls
/// and stops for the hour when the tenant's budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Foreground,
    Background,
}

impl Priority {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Foreground => "foreground",
            Self::Background => "background",
        }
    }
}

/// Why the PSA could not answer. SPEC S11 separates what passes (retry later: 503
/// `psa_unavailable`) from what an administrator must fix (502 `psa_misconfigured` with a
/// reason, never retried).
#[derive(Debug, thiserror::Error)]
pub enum PsaError {
    /// Network failure, timeout, a 5xx, or a 429 that outlasted the retry budget: transient.
    #[error("the PSA could not be reached: {0}")]
    Unavailable(String),
    /// The PSA refuses the hub for good; `reason` tells the administrator what to fix.
    #[error("the PSA refuses the hub ({reason}): {message}")]
    Misconfigured {
        reason: PsaMisconfiguration,
        message: String,
    },
    /// The PSA answered, but not in a shape the hub understands (malformed JSON, missing
    /// fields, a redirect).
    #[error("the PSA answered something the hub cannot read: {0}")]
    Protocol(String),
    /// The provider's own configuration is unusable (unreadable directory file, bad URL).
    #[error("the PSA provider is misconfigured: {0}")]
    Config(String),
    /// The tenant's hourly budget of PSA calls is spent; only sign-in and refresh may still
    /// call until the hour turns.
    #[error("the hourly budget of PSA calls is spent; it renews in {} s", retry_after.as_secs())]
    BudgetSpent { retry_after: std::time::Duration },
}

impl PsaError {
    pub(crate) fn misconfigured(reason: PsaMisconfiguration, message: impl Into<String>) -> Self {
        Self::Misconfigured {
            reason,
            message: message.into(),
        }
    }

    /// Why an administrator must act, when that is the case.
    pub fn reason(&self) -> Option<PsaMisconfiguration> {
        match self {
            Self::Misconfigured { reason, .. } => Some(*reason),
            Self::Config(_) => Some(PsaMisconfiguration::SettingsInvalid),
            _ => None,
        }
    }
}

/// The most ids one `Resources/query` with `in` carries (SPEC S12).
pub const MAX_IDS_PER_QUERY: usize = 500;

/// Read-only access to the PSA's security levels and resources.
#[async_trait::async_trait]
pub trait PsaDirectory: Send + Sync + Debug {
    /// Every security level, active or not.
    async fn security_levels(&self) -> Result<Vec<PsaSecurityLevel>, PsaError>;

    /// One resource by id; `Ok(None)` when the PSA has no such resource.
    async fn resource(&self, id: i64) -> Result<Option<PsaResource>, PsaError>;

    /// Every resource with this email (compared case-insensitively, surrounding spaces
    /// ignored), active or not; empty for a blank email. OpenID Connect sign-in (SPEC S13)
    /// must tell "nobody" from "several people".
    async fn resources_by_email(&self, email: &str) -> Result<Vec<PsaResource>, PsaError>;

    /// Every resource (the Users tab's "refresh from the PSA" reads them in one pass).
    async fn resources(&self) -> Result<Vec<PsaResource>, PsaError>;

    /// The resources with these ids (SPEC S12's reconciliation: at most
    /// [`MAX_IDS_PER_QUERY`] a call); an id the PSA does not know is simply absent.
    async fn resources_by_ids(&self, ids: &[i64]) -> Result<Vec<PsaResource>, PsaError>;

    /// Runs the connection test of SPEC S11, step by step, stopping at the first failure.
    async fn test(&self) -> PsaTestReport;
}

/// Collects the steps of a connection test.
#[derive(Default)]
pub(crate) struct Report(Vec<PsaTestStepResult>);

impl Report {
    pub(crate) fn pass(&mut self, step: PsaTestStep, detail: String) {
        self.0.push(PsaTestStepResult {
            step,
            ok: true,
            detail,
            reason: None,
        });
    }

    /// Records the failed step and ends the report: later steps depend on this one.
    pub(crate) fn fail(mut self, step: PsaTestStep, error: &PsaError) -> PsaTestReport {
        let reason = error.reason();
        let detail = match (reason, error) {
            (Some(reason), _) => reason.advice().to_owned(),
            (None, PsaError::BudgetSpent { retry_after }) => format!(
                "The hourly budget of PSA calls is spent; try again in {} min.",
                retry_after.as_secs().div_ceil(60)
            ),
            // The cause (hosts, ports, TLS errors, a redirect's target) stays in the log: the
            // report says what kind of failure it was, not what the network looks like.
            (None, other) => {
                tracing::warn!(error = %other, ?step, "PSA connection test step failed");
                match other {
                    PsaError::Protocol(_) => "Autotask answered something the hub cannot read \
                        (for example a redirect or malformed JSON); the server log has the \
                        details."
                        .to_owned(),
                    _ => "Autotask did not answer in time or is unavailable; try again shortly."
                        .to_owned(),
                }
            }
        };
        self.0.push(PsaTestStepResult {
            step,
            ok: false,
            detail,
            reason,
        });
        self.finish()
    }

    pub(crate) fn finish(self) -> PsaTestReport {
        PsaTestReport {
            ok: self.0.iter().all(|s| s.ok),
            steps: self.0,
        }
    }
}

impl From<PsaError> for ApiError {
    fn from(err: PsaError) -> Self {
        // The cause (which may name the PSA host, never a secret) goes to the log; the client
        // learns what kind of failure it is and, when an administrator must act, why.
        tracing::warn!(error = %err, "PSA call failed");
        if let PsaError::BudgetSpent { retry_after } = err {
            return ApiError::PsaBudgetExhausted {
                retry_after_secs: retry_after.as_secs().max(1),
            };
        }
        match err.reason() {
            Some(reason) => ApiError::PsaMisconfigured { reason },
            None => ApiError::new(
                ProblemCode::PsaUnavailable,
                "The PSA could not be reached; nothing was changed. Try again shortly.",
            ),
        }
    }
}
