//! The error responses operations document, one type per status, so each operation lists
//! the ones it can answer without repeating their descriptions.

use hubkeep_shared::Problem;
use utoipa::IntoResponses;

#[derive(Debug, IntoResponses)]
pub enum Unauthorized {
    /// 401: `unauthenticated` (no, invalid or expired credentials: refresh or send a token) or
    /// `reauthorization_required` (the session is over or revoked, or access changed: sign in
    /// again).
    #[response(status = 401, content_type = "application/problem+json")]
    Problem(Problem),
}

#[derive(Debug, IntoResponses)]
pub enum Forbidden {
    /// 403: the caller is known but may not do this (`elevated_access_required`,
    /// `insufficient_scope`, `user_inactive`, `forbidden`, or a guard's code).
    #[response(status = 403, content_type = "application/problem+json")]
    Problem(Problem),
}

#[derive(Debug, IntoResponses)]
pub enum NotFound {
    /// 404: no such resource, or not visible to the caller.
    #[response(status = 404, content_type = "application/problem+json")]
    Problem(Problem),
}

#[derive(Debug, IntoResponses)]
pub enum Conflict {
    /// 409: an invariant would break (`conflict` or a specific code).
    #[response(status = 409, content_type = "application/problem+json")]
    Problem(Problem),
}

#[derive(Debug, IntoResponses)]
pub enum Invalid {
    /// 422: invalid input (`validation_failed` with per-field `errors`, or a rule's code).
    #[response(status = 422, content_type = "application/problem+json")]
    Problem(Problem),
}

#[derive(Debug, IntoResponses)]
pub enum PsaUnavailable {
    /// 503: `psa_unavailable`: the PSA could not be reached; nothing was changed.
    #[response(status = 503, content_type = "application/problem+json")]
    Problem(Problem),
}

#[derive(Debug, IntoResponses)]
pub enum TooManyRequests {
    /// 429: `rate_limited`: too many requests from this address; retry after the
    /// `Retry-After` header's seconds.
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds until the window resets"))
    )]
    Problem(Problem),
}
