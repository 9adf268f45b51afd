//! The one error type of the API's services. [`crate::http::error`] renders each as RFC 9457
//! `application/problem+json` with a stable `code`; internal causes are logged once, with
//! their whole chain, and never sent to the client.

use hubkeep_shared::{FieldError, Problem, ProblemCode, PsaMisconfiguration};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A known problem (4xx, or 503 for an unavailable dependency), sent as is.
    #[error("{code}: {detail}")]
    Problem {
        code: ProblemCode,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 429 `rate_limited`, with `Retry-After` in seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// 502 `psa_misconfigured`: the PSA refuses the hub for good, with the reason an
    /// administrator acts on (SPEC S11).
    #[error("the PSA refuses the hub: {reason}")]
    PsaMisconfigured { reason: PsaMisconfiguration },
    /// 503 `psa_budget_exhausted`, with `Retry-After` until the hour turns.
    #[error("the PSA call budget is spent")]
    PsaBudgetExhausted { retry_after_secs: u64 },
    /// 500: anything unexpected. The cause stays in the log.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::Problem {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 422 with the invalid fields.
    pub fn validation(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Self::Problem {
            code: ProblemCode::ValidationFailed,
            detail: detail.into(),
            errors,
        }
    }

    /// 422 when the shared collector holds refusals (SPEC S17: the rules of `hubkeep_shared::
    /// fields`, the same ones the console's forms apply); `Ok` when it holds none.
    pub fn refuse_fields(
        errors: hubkeep_shared::fields::FieldErrors,
        detail: &str,
    ) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::validation(detail, errors.into_vec()))
        }
    }

    /// 404: the resource does not exist or is not visible to the caller. One message for
    /// both, so a response never tells them apart.
    pub fn not_found() -> Self {
        Self::new(
            ProblemCode::NotFound,
            "No such resource, or it is not visible to you.",
        )
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Problem { code, .. } => code.status(),
            Self::RateLimited { .. } => 429,
            Self::PsaMisconfigured { .. } => ProblemCode::PsaMisconfigured.status(),
            Self::PsaBudgetExhausted { .. } => ProblemCode::PsaBudgetExhausted.status(),
            Self::Internal(_) => 500,
        }
    }

    /// Seconds a client should wait before retrying, when the error says so.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs }
            | Self::PsaBudgetExhausted { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The body a client receives.
    pub fn problem(&self) -> Problem {
        match self {
            Self::Problem {
                code,
                detail,
                errors,
            } => Problem {
                errors: errors.clone(),
                ..Problem::new(*code, detail.clone())
            },
            Self::RateLimited { retry_after_secs } => Problem::new(
                ProblemCode::RateLimited,
                format!(
                    "Too many sign-in attempts from this address; retry in {retry_after_secs} s."
                ),
            ),
            Self::PsaMisconfigured { reason } => Problem {
                reason: Some(*reason),
                ..Problem::new(ProblemCode::PsaMisconfigured, reason.advice())
            },
            Self::PsaBudgetExhausted { retry_after_secs } => Problem::new(
                ProblemCode::PsaBudgetExhausted,
                format!(
                    "This tenant's hourly budget of PSA calls is spent; sign-in still works, \
                     other PSA reads resume in {retry_after_secs} s. Nothing was changed."
                ),
            ),
            Self::Internal(_) => Problem::new(
                ProblemCode::InternalError,
                "An unexpected error occurred; it has been logged with this request's id.",
            ),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}
