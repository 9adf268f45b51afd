//! Who may read Prometheus metrics (SPEC S14). On the main address `/metrics` answers only
//! to `Authorization: Bearer <[metrics] token>` (401 otherwise) and is 404 when no token is
//! set; `--metrics-bind` serves them on an address of their own, with nothing else there.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use hubkeep_shared::ProblemCode;
use prometheus::{Encoder as _, TextEncoder};
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;

/// The path the metrics middleware serves.
pub const PATH: &str = "/metrics";

/// The SHA-256 of `[metrics] token`. A request's token is compared by its digest, so the
/// time a comparison takes tells nothing about the token's text.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    fn admits(&self, given: &str) -> bool {
        <[u8; 32]>::from(Sha256::digest(given.as_bytes())) == self.0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// Runs before the metrics middleware: `/metrics` on the main address needs the token.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.path() == PATH {
        let refusal = match req.app_data::<web::Data<MetricsToken>>() {
            None => Some(ApiError::not_found()),
            Some(token) => {
                let given = req
                    .headers()
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                (!given.is_some_and(|g| token.admits(g))).then(|| {
                    ApiError::new(
                        ProblemCode::Unauthenticated,
                        "Metrics need the metrics token as a bearer token.",
                    )
                })
            }
        };
        if let Some(refusal) = refusal {
            let res = actix_web::ResponseError::error_response(&refusal);
            return Ok(req.into_response(res));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// `GET /metrics` on the metrics address: the registry in Prometheus' text format.
pub async fn serve(registry: web::Data<prometheus::Registry>) -> HttpResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&registry.gather(), &mut body) {
        Ok(()) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, encoder.format_type()))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "encoding the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MetricsToken;

    #[test]
    fn the_token_admits_itself_only() {
        let token = MetricsToken::new("metrics-token-1");
        assert!(token.admits("metrics-token-1"));
        assert!(!token.admits("metrics-token-2"));
        assert!(!token.admits(""));
        assert!(!format!("{token:?}").contains("metrics-token"));
    }
}
