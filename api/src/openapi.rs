//! The OpenAPI 3.1 document, collected from the `#[utoipa::path]` of every registered route.

use actix_web::App;
use hubkeep_shared::{FieldError, Problem, ProblemCode};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hubkeep API",
        description = "The access plane of an accounting integration hub: hub users from the PSA, \
                       hub access levels, connections and their roles. Errors are RFC 9457 \
                       `application/problem+json` with a stable `code`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    components(schemas(Problem, ProblemCode, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in from the PSA, sessions (SPEC S3.2, S3.3)"),
        (name = "access", description = "The Access tab: PSA security levels and the elevated set (SPEC S2)"),
        (name = "users", description = "The Users tab: hub users, activation, elevation (SPEC S2, S2.2)"),
        (name = "tokens", description = "Oversight of every API token of the tenant (SPEC S2.1)"),
        (name = "sync", description = "Sync runs, the engine's progress reports, engine tokens and sync status (SPEC S4)"),
        (name = "me", description = "The caller's profile and API tokens (SPEC S3.4)"),
        (name = "demo", description = "Demo-mode sign-in; absent unless the server runs with `--demo`"),
        (name = "operations", description = "Health probes"),
        (name = "meta", description = "The API's own description"),
        (name = "permissions", description = "The permission matrix (SPEC S2.1, S4, S5)"),
        (name = "settings", description = "Tenant settings: defaults, PSA connection, launch secret, accounting mappings (SPEC S6)"),
        (name = "activity", description = "The append-only activity log (SPEC S7)"),
        (name = "connections", description = "Connections, their roles and the governance list (SPEC S4, S5, S2.1)"),
    )
)]
struct ApiDoc;

/// The one security scheme: a bearer token, either a session's access token (a JWT) or a
/// personal API token (`hk_…`).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session access token from `/api/v1/auth/launch` or \
                         `/api/v1/auth/refresh`, or a personal API token (`hk_…`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, exactly as `/api/v1/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    doc
}

/// The document as pretty JSON, as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    serde_json::to_string_pretty(&document()).unwrap_or_default()
}
