//! HTTP routes. Every API operation is registered through [`configure`], which goes through
//! utoipa's actix integration: a route cannot exist without being in the OpenAPI document.

pub mod console;
pub mod health;
pub mod meta;
pub mod permissions;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented operation.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::get_healthz)
        .service(health::get_readyz)
        .service(
            scope::scope("/api/v1")
                .service(permissions::get_permissions)
                .service(meta::get_openapi),
        );
}
