//! The one error type of the API. Every error leaves as RFC 9457 `application/problem+json`
//! with a stable `code`; internal causes are logged once, with their whole chain, and never
//! sent to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use hubkeep_shared::{FieldError, Problem, ProblemCode, PsaMisconfiguration};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

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

    fn problem(&self) -> Problem {
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

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        let status = match self {
            Self::Problem { code, .. } => code.status(),
            Self::RateLimited { .. } => 429,
            Self::PsaMisconfigured { .. } => ProblemCode::PsaMisconfigured.status(),
            Self::PsaBudgetExhausted { .. } => ProblemCode::PsaBudgetExhausted.status(),
            Self::Internal(_) => 500,
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            // `{:#}` prints the whole chain on one line; this is the only place it appears.
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let mut res = problem_response(self.problem());
        if let Self::RateLimited { retry_after_secs }
        | Self::PsaBudgetExhausted { retry_after_secs } = self
            && let Ok(value) =
                actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, value);
        }
        res
    }
}

/// Renders a problem. The `Problem` also rides in the response extensions so that the
/// request-id middleware can stamp it without re-parsing the body.
pub fn problem_response(problem: Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut res = HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .body(body);
    res.extensions_mut().insert(problem);
    res
}

/// The problem for a bare error status produced outside our handlers (the router's 404 and
/// 405, a body that is too large, …), so that clients see one error format everywhere.
pub fn problem_for_status(status: StatusCode) -> Problem {
    let code = match status.as_u16() {
        401 => ProblemCode::Unauthenticated,
        403 => ProblemCode::Forbidden,
        404 => ProblemCode::NotFound,
        405 => ProblemCode::MethodNotAllowed,
        409 => ProblemCode::Conflict,
        429 => ProblemCode::RateLimited,
        503 => ProblemCode::ServiceUnavailable,
        s if s < 500 => ProblemCode::ValidationFailed,
        _ => ProblemCode::InternalError,
    };
    let detail = match code {
        ProblemCode::NotFound => "No such resource, or it is not visible to you.".to_owned(),
        ProblemCode::MethodNotAllowed => "This method is not supported on this path.".to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("Request failed")
            .to_owned(),
    };
    Problem {
        status: status.as_u16(),
        ..Problem::new(code, detail)
    }
}

/// Body and query deserialization errors become 422 `validation_failed` (SPEC S8: invalid
/// input, unknown fields included).
pub fn json_error_handler(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let message = match &err {
        E::Deserialize(e) => e.to_string(),
        E::ContentType => "the body must be JSON (Content-Type: application/json)".to_owned(),
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => {
            format!("the body is larger than {limit} bytes")
        }
        _ => "the body could not be read as JSON".to_owned(),
    };
    ApiError::validation(
        "The request body is not valid.",
        vec![FieldError {
            field: "body".to_owned(),
            message,
        }],
    )
    .into()
}

/// Query-string errors become 422 as well.
pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::validation(
        "The query string is not valid.",
        vec![FieldError {
            field: "query".to_owned(),
            message: err.to_string(),
        }],
    )
    .into()
}

/// A path parameter that does not parse names nothing that exists: 404, never a parse error
/// that would reveal the id format.
pub fn path_error_handler(
    _err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::not_found().into()
}

impl From<crate::psa::PsaError> for ApiError {
    fn from(err: crate::psa::PsaError) -> Self {
        // The cause (which may name the PSA host, never a secret) goes to the log; the client
        // learns what kind of failure it is and, when an administrator must act, why.
        tracing::warn!(error = %err, "PSA call failed");
        if let crate::psa::PsaError::BudgetSpent { retry_after } = err {
            return Self::PsaBudgetExhausted {
                retry_after_secs: retry_after.as_secs().max(1),
            };
        }
        match err.reason() {
            Some(reason) => Self::PsaMisconfigured { reason },
            None => Self::new(
                ProblemCode::PsaUnavailable,
                "The PSA could not be reached; nothing was changed. Try again shortly.",
            ),
        }
    }
}

impl From<crate::psa::registry::LevelsError> for ApiError {
    fn from(err: crate::psa::registry::LevelsError) -> Self {
        match err {
            crate::psa::registry::LevelsError::Psa(e) => e.into(),
            crate::psa::registry::LevelsError::Db(e) => e.into(),
        }
    }
}
