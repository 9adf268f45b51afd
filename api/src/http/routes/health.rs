//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use hubkeep_shared::{Problem, ProblemCode};

use crate::AppState;
use crate::error::ApiError;
pub use hubkeep_shared::api::{CacheStatus, HealthStatus};

/// Process liveness.
///
/// Answers as long as the process serves HTTP; touches no dependency.
#[utoipa::path(
    operation_id = "get_healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthStatus)),
    security(())
)]
#[get("/healthz")]
pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok".to_owned(),
        cache: None,
    })
}

/// Readiness: the database is reachable.
///
/// A load balancer should send traffic only while this answers 200. `cache` tells whether the
/// instance may serve from its read cache now and how often authentication used it.
#[utoipa::path(
    operation_id = "get_readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = HealthStatus),
        (status = 503, description = "`service_unavailable`: the database is not reachable",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn get_readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // The reader pool: on SQLite its connections open the same file as the writer's, and
    // the probe then never waits behind a write.
    match state.reader.ping().await {
        Ok(()) => {
            let gate = state.cache.gate();
            let (hits, misses) = gate.counts();
            Ok(HttpResponse::Ok().json(HealthStatus {
                status: "ready".to_owned(),
                cache: Some(CacheStatus {
                    usable: gate.usable(),
                    hits,
                    misses,
                }),
            }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: database unreachable");
            Err(ApiError::new(
                ProblemCode::ServiceUnavailable,
                "The database is not reachable.",
            ))
        }
    }
}
