//! The error responses operations document, one type per status, so each operation lists
//! the ones it can answer without repeating their descriptions.

use hubkeep_shared::Problem;
use utoipa::IntoResponses;

/// 401: `unauthenticated` (no, invalid or expired credentials: refresh or send a token) or
/// `reauthorization_required` (the session is over or revoked, or access changed: sign in
/// again).
#[derive(Debug, IntoResponses)]
pub enum Unauthorized {
    #[response(status = 401, content_type = "application/problem+json")]
    Problem(Problem),
}

/// 403: the caller is known but may not do this (`elevated_access_required`,
/// `insufficient_scope`, `user_inactive`, `forbidden`, or a guard's code).
#[derive(Debug, IntoResponses)]
pub enum Forbidden {
    #[response(status = 403, content_type = "application/problem+json")]
    Problem(Problem),
}

/// 404: no such resource, or not visible to the caller.
#[derive(Debug, IntoResponses)]
pub enum NotFound {
    #[response(status = 404, content_type = "application/problem+json")]
    Problem(Problem),
}

/// 409: an invariant would break (`conflict` or a specific code).
#[derive(Debug, IntoResponses)]
pub enum Conflict {
    #[response(status = 409, content_type = "application/problem+json")]
    Problem(Problem),
}

/// 422: invalid input (`validation_failed` with per-field `errors`, or a rule's code).
#[derive(Debug, IntoResponses)]
pub enum Invalid {
    #[response(status = 422, content_type = "application/problem+json")]
    Problem(Problem),
}

/// 503: `psa_unavailable`: the PSA could not be reached; nothing was changed.
#[derive(Debug, IntoResponses)]
pub enum PsaUnavailable {
    #[response(status = 503, content_type = "application/problem+json")]
    Problem(Problem),
}
