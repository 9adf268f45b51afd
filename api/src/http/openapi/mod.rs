//! The OpenAPI 3.1 document, collected from the `#[utoipa::path]` of every registered route.

pub mod check;
pub mod problems;

use std::collections::BTreeMap;

use actix_web::App;
use hubkeep_shared::{FieldError, Problem, ProblemCode};
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::http::error::PROBLEM_JSON;
use crate::http::routes;
use problems::{Credentials, Shape};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hubkeep API",
        description = "The access plane of an accounting integration hub: hub users from the PSA, \
                       hub access levels, connections and their roles. Errors are RFC 9457 \
                       `application/problem+json` with a stable `code`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    // Schemas only query parameters refer to are not collected on their own.
    components(schemas(
        Problem,
        ProblemCode,
        FieldError,
        hubkeep_shared::PsaMisconfiguration,
        crate::access::users::UserSort,
        crate::access::users::SortOrder,
        hubkeep_shared::api::ExportFormat
    )),
    servers((url = "/", description = "The server that serves this document")),
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
        (name = "settings", description = "Tenant settings: defaults, PSA connection and its test, launch secret, accounting mappings (SPEC S6, S11)"),
        (name = "psa", description = "The PSA change feed: status and on-demand reconciliation (SPEC S12)"),
        (name = "activity", description = "The append-only activity log (SPEC S7)"),
        (name = "notifications", description = "The email outbox and each person's email preferences (SPEC S15)"),
        (name = "connections", description = "Connections, their roles and the governance list (SPEC S4, S5, S2.1)"),
    )
)]
struct ApiDoc;

/// The security schemes. All are bearer tokens in `Authorization`; they differ in what
/// issues them and what they may do, which each operation's `security` states.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |format: &str, description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format(format)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "session",
            bearer(
                "JWT",
                "A session's access token (a JWT signed by this server, 15 minutes by default) from \
                 `launch_session` or `refresh_session`: what the console uses.",
            ),
        );
        components.add_security_scheme(
            "api_token",
            bearer(
                "hk_ API token",
                "A personal API token (`hk_…`, scope `read` or `read_write`) from \
                 `create_my_token`: acts as its user, with the user's access, for scripts.",
            ),
        );
        components.add_security_scheme(
            "engine_token",
            bearer(
                "hk_ engine token",
                "A tenant's engine token (`hk_…`) from `create_engine_token`: the sync engine \
                 reports run progress with it and can do nothing else.",
            ),
        );
    }
}

/// The document, exactly as `/api/v1/openapi.json` serves it.
pub fn document() -> Value {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    reference_list_items(&mut doc);
    problem_responses(&mut doc);
    sort_keys(doc)
}

/// The same value with every object's keys in order, whatever serde_json's `preserve_order`
/// feature says (a dependency of the benches turns it on when the whole workspace is built
/// at once): the document is the same text in every build.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The methods each documented path answers, for 405 `method_not_allowed` with `Allow`.
#[derive(Debug, Default)]
pub struct Routes {
    methods: std::collections::HashMap<String, Vec<String>>,
    /// `(method, path)` of the writes the document gives no request body.
    bodyless: std::collections::HashSet<(String, String)>,
}

impl Routes {
    pub fn from_document(doc: &Value) -> Self {
        let mut methods: std::collections::HashMap<String, Vec<String>> = Default::default();
        let mut bodyless = std::collections::HashSet::new();
        for (method, path, op) in operations(doc) {
            if is_write(&method) && op.get("requestBody").is_none() {
                bodyless.insert((method.clone(), path.clone()));
            }
            methods.entry(path).or_default().push(method);
        }
        Self { methods, bodyless }
    }

    /// The methods of a documented path (a route pattern), or `None` when it is not one.
    pub fn allowed(&self, pattern: &str) -> Option<&[String]> {
        self.methods.get(pattern).map(Vec::as_slice)
    }

    /// Whether a documented path (a route pattern) answers `method`.
    pub fn answers(&self, method: &str, pattern: &str) -> bool {
        self.allowed(pattern)
            .is_some_and(|methods| methods.iter().any(|m| m == method))
    }

    /// Whether the operation at a route pattern is a write that takes no body.
    pub fn takes_no_body(&self, method: &str, pattern: &str) -> bool {
        self.bodyless
            .contains(&(method.to_owned(), pattern.to_owned()))
    }
}

/// `POST`, `PUT`, `PATCH`, `DELETE` (upper case, as [`operations`] gives them).
fn is_write(method: &str) -> bool {
    matches!(
        method.to_ascii_uppercase().as_str(),
        "POST" | "PUT" | "PATCH" | "DELETE"
    )
}

/// The document as pretty JSON, as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    serde_json::to_string_pretty(&document()).unwrap_or_default()
}

/// Every operation: `(method, path, operation)`.
pub fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((method.to_uppercase(), path.clone(), op));
        }
    }
    out
}

/// utoipa inlines the item type of a generic `Page<T>` / `Items<T>` (juhaku/utoipa#1586):
/// point `items` at the named schema instead, so generated clients get one type per entity.
fn reference_list_items(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let names: Vec<String> = schemas.keys().cloned().collect();
    for name in names {
        let Some(item) = name
            .strip_prefix("Page_")
            .or_else(|| name.strip_prefix("Items_"))
        else {
            continue;
        };
        if schemas.contains_key(item) {
            let reference = json!({ "$ref": format!("#/components/schemas/{item}") });
            schemas[&name]["properties"]["items"]["items"] = reference;
        }
    }
}

/// The shape of an operation, read off the document.
pub fn shape(method: &str, op: &Value) -> Shape {
    let schemes: Vec<&str> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_object())
        .flat_map(|s| s.keys().map(String::as_str))
        .collect();
    let credentials = if schemes.contains(&"engine_token") {
        Credentials::Engine
    } else if schemes.is_empty() {
        Credentials::Public
    } else {
        Credentials::User
    };
    let params = op["parameters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    Shape {
        credentials,
        has_path_ids: params.iter().any(|p| p["in"] == "path"),
        // A write without a documented body still reads one: anything but nothing or `{}` is
        // refused (`middleware::body_guard`).
        has_input: op.get("requestBody").is_some()
            || params.iter().any(|p| p["in"] == "query")
            || is_write(method),
    }
}

/// Replaces the error responses of every operation with those of `problems`: one response
/// per status, listing its codes, with an example of each.
fn problem_responses(doc: &mut Value) {
    let ids: Vec<(String, String, String, Shape)> = operations(doc)
        .into_iter()
        .map(|(method, path, op)| {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            (method.to_lowercase(), path, id, shape(&method, op))
        })
        .collect();
    for (method, path, id, shape) in ids {
        let Some(codes) = problems::codes(&id, shape) else {
            continue;
        };
        let responses = &mut doc["paths"][&path][&method]["responses"];
        let Some(responses) = responses.as_object_mut() else {
            continue;
        };
        responses.retain(|status, _| !status.starts_with('4') && !status.starts_with('5'));
        let mut by_status: BTreeMap<u16, Vec<ProblemCode>> = BTreeMap::new();
        for code in codes {
            by_status.entry(code.status()).or_default().push(code);
        }
        for (status, codes) in by_status {
            responses.insert(status.to_string(), problem_response(status, &codes));
        }
    }
}

fn problem_response(status: u16, codes: &[ProblemCode]) -> Value {
    let listed: Vec<String> = codes.iter().map(|c| format!("`{}`", c.as_str())).collect();
    let reason = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let examples: serde_json::Map<String, Value> = codes
        .iter()
        .map(|code| {
            let mut problem = Problem::new(*code, example_detail(*code));
            problem.request_id = Some("5f0c6a1e-3b7d-4c2a-9e1f-0a2b3c4d5e6f".to_owned());
            if *code == ProblemCode::ValidationFailed {
                problem.errors = vec![FieldError {
                    field: "name".to_owned(),
                    message: "must not be empty".to_owned(),
                }];
            }
            (
                code.as_str().to_owned(),
                json!({ "summary": code.title(), "value": problem }),
            )
        })
        .collect();
    let mut response = json!({
        "description": format!("{reason}: {}.", listed.join(", ")),
        "content": {
            PROBLEM_JSON: {
                "schema": { "$ref": "#/components/schemas/Problem" },
                "examples": examples,
            }
        },
    });
    if status == 429 {
        response["headers"] = json!({
            "Retry-After": {
                "description": "Seconds until the window resets.",
                "schema": { "type": "integer", "minimum": 0 },
            }
        });
    }
    response
}

/// The example `detail` of a code: the code's own description.
fn example_detail(code: ProblemCode) -> String {
    code.description().to_owned()
}

/// The error-code table of `docs/api.md`: every code, its status, what it means, and the
/// operations that answer with it, all read from the code so the page cannot drift.
pub fn error_code_table() -> String {
    let doc = document();
    let operations: Vec<(String, Vec<ProblemCode>)> = operations(&doc)
        .into_iter()
        .filter_map(|(method, _, op)| {
            let id = op["operationId"].as_str()?.to_owned();
            let codes = problems::codes(&id, shape(&method, op))?;
            Some((id, codes))
        })
        .collect();
    let mut out = String::from("| Code | Status | Meaning | Operations |\n|---|---|---|---|\n");
    for code in ProblemCode::all() {
        let mut ids: Vec<&str> = operations
            .iter()
            .filter(|(_, codes)| codes.contains(code))
            .map(|(id, _)| id.as_str())
            .collect();
        ids.sort_unstable();
        let users = match ids.len() {
            0 => "any (not tied to an operation)".to_owned(),
            n if n == operations.len() => "every operation".to_owned(),
            n if n > 12 => format!("{n} operations"),
            _ => ids
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            code.as_str(),
            code.status(),
            code.description()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('|', "\\|"),
            users
        ));
    }
    out
}
