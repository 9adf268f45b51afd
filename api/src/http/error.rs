//! Errors as HTTP answers: every [`ApiError`] leaves as RFC 9457 `application/problem+json`,
//! and so do the errors actix-web produces itself (bad JSON, bad query strings, unknown
//! paths), so clients see one error format everywhere.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use hubkeep_shared::{FieldError, Problem, ProblemCode};

use crate::error::ApiError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            // `{:#}` prints the whole chain on one line; this is the only place it appears.
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let mut res = problem_response(self.problem());
        if let Some(retry_after_secs) = self.retry_after_secs()
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
