//! Response middleware: stamps every response with `x-request-id` and turns every error
//! response into problem+json carrying that id.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{ALLOW, CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use hubkeep_shared::{Problem, ProblemCode};
use tracing_actix_web::RequestId;

use crate::error::ApiError;
use crate::http::error::{PROBLEM_JSON, problem_for_status};
use crate::http::openapi::Routes;
use crate::http::openapi::check::Contract;

/// The response header that carries the request id (also in logs and problem bodies).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn problem_details(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let contract = req.app_data::<web::Data<Contract>>().cloned();
    let mut res = next.call(req).await?.map_into_boxed_body();
    let contract = contract.and_then(|c| {
        let req = res.request();
        // A 405 of `method_guard` answers for the path's documented pattern, not for an
        // operation whose parameter took the path (`/connections/governance`).
        let pattern = if res.status() == actix_web::http::StatusCode::METHOD_NOT_ALLOWED {
            super::path_pattern(req)
        } else {
            super::route_pattern(req)
        };
        Some((c, req.method().to_string(), pattern?))
    });

    let status = res.status();
    let known = res.response().extensions().get::<Problem>().cloned();
    // Bare errors from the framework come as text/plain or with no body type; a page that
    // chose its own type (problem+json already, or the HTML "console not built" page) stays.
    let bare = res
        .headers()
        .get(CONTENT_TYPE)
        .is_none_or(|v| v.to_str().is_ok_and(|t| t.starts_with("text/plain")));
    let problem = match known {
        Some(p) => Some(p),
        None if (status.is_client_error() || status.is_server_error()) && bare => {
            Some(problem_for_status(status))
        }
        None => None,
    };
    if let Some((contract, method, pattern)) = contract {
        let code = problem.as_ref().map(|p| p.code.as_str());
        contract.check(&method, &pattern, status.as_u16(), code);
    }
    if let Some(mut problem) = problem {
        problem.request_id.clone_from(&request_id);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        res = res.map_body(|head, _| {
            head.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
            BoxBody::new(body)
        });
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(REQUEST_ID, id);
    }
    Ok(res)
}

/// A path holding a percent-encoded NUL (`%00`) names nothing: 404 `not_found` before any
/// handler looks the id up (PostgreSQL cannot even compare text with a NUL, so the lookup
/// would fail as a 500; found by the hardening suite). A raw NUL cannot reach here: the
/// HTTP parser refuses it.
pub async fn nul_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.path().contains("%00") {
        let res = actix_web::ResponseError::error_response(&ApiError::not_found());
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// A write the document gives no body takes none (SPEC S8: writes accept only the fields the
/// caller may change). Nothing, whitespace or `{}` pass, so clients that always send a JSON
/// object still work; anything else is 422 `validation_failed`, naming each field sent, as an
/// unknown field of any other write is. The body is read only when the headers announce one.
pub async fn body_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // HTTP/1.1: a request carries a body only when it says so (RFC 9112, section 6.3). (With
    // HTTP/2, which this server does not speak, a body can come without either header.)
    let announced = req
        .headers()
        .contains_key(actix_web::http::header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().map_or(true, |len| len.trim() != "0"));
    // Not routed yet: the pattern is found by matching every one (the slow way,
    // [`super::path_pattern`]), so only for a request that announces a body.
    let bodyless = || {
        req.app_data::<web::Data<Routes>>()
            .zip(super::path_pattern(req.request()))
            .is_some_and(|(routes, pattern)| routes.takes_no_body(req.method().as_str(), &pattern))
    };
    if announced && bodyless() {
        let errors = match req.extract::<web::Bytes>().await {
            Ok(bytes) => unexpected_body(&bytes),
            Err(_) => vec![no_body_error("body")],
        };
        if !errors.is_empty() {
            let res = actix_web::ResponseError::error_response(&ApiError::validation(
                "This operation takes no request body.",
                errors,
            ));
            return Ok(req.into_response(res));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn no_body_error(field: &str) -> hubkeep_shared::FieldError {
    hubkeep_shared::FieldError {
        field: field.to_owned(),
        message: if field == "body" {
            "this operation takes no body".to_owned()
        } else {
            format!("unknown field `{field}`: this operation takes no body")
        },
    }
}

/// What is wrong with the body of an operation that takes none: nothing for an empty body,
/// whitespace or `{}`; each field of another object; else the body itself.
fn unexpected_body(bytes: &[u8]) -> Vec<hubkeep_shared::FieldError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Vec::new();
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(fields)) => {
            fields.keys().map(|key| no_body_error(key)).collect()
        }
        _ => vec![no_body_error("body")],
    }
}

/// A documented API path called with a method it does not answer: 405
/// `method_not_allowed` with `Allow`, instead of falling through to the console or a 404.
///
/// Decided after routing, so that a request an operation answered costs nothing more: the
/// router gave it to an operation of its method (each operation's resource is guarded by
/// it). Looked at again are answers of no operation (the default service, the console's
/// files, whatever their status: they change nothing) and refusals (4xx) of an operation
/// whose parameter took a literal path (`PATCH /connections/governance` reaching
/// `/connections/{id}`, which refuses: 401 without credentials, else 404 or 422, having
/// changed nothing): the path is matched against every pattern in order, methods aside, as
/// before routing, and when that documented path does not answer the method the answer
/// becomes 405.
pub async fn method_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    // The allowed methods, joined, only when this request's method is not among them.
    let req = res.request();
    let refused = req.app_data::<web::Data<Routes>>().and_then(|routes| {
        let answered = super::route_pattern(req)
            .is_some_and(|pattern| routes.answers(req.method().as_str(), &pattern));
        if answered && !res.status().is_client_error() {
            return None;
        }
        let pattern = super::path_pattern(req)?;
        let methods = routes.allowed(&pattern)?;
        (!routes.answers(req.method().as_str(), &pattern)).then(|| methods.join(", "))
    });
    let Some(methods) = refused else {
        return Ok(res);
    };
    let mut refusal = actix_web::ResponseError::error_response(&ApiError::new(
        ProblemCode::MethodNotAllowed,
        format!("This path answers {methods} only."),
    ));
    if let Ok(value) = HeaderValue::from_str(&methods) {
        refusal.headers_mut().insert(ALLOW, value);
    }
    Ok(res.into_response(refusal))
}

/// After a request that may have written, on PostgreSQL: the answer waits until every
/// instance has dropped what the write made stale in its read cache
/// ([`crate::cache::postgres::barrier`]), so the next request anywhere sees the change (SPEC
/// S3.3). "May have written": any method but `GET`, `HEAD` and `OPTIONS`, and the one `GET`
/// that can revoke credentials (the OpenID callback refusing a sign-in, SPEC S12/S13); not a
/// request no operation took (nor one `method_guard`, outside this, turns into a 405). The
/// barrier runs whether the handler succeeded or not: some refusals commit first (a reused
/// refresh token revokes its session). On SQLite nothing
/// waits: a commit is visible to the cache the moment it is visible to readers
/// ([`crate::cache::wal`]).
pub async fn cache_barrier(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let writes = !matches!(
        *req.method(),
        actix_web::http::Method::GET
            | actix_web::http::Method::HEAD
            | actix_web::http::Method::OPTIONS
    ) || req.path() == super::routes::oidc::CALLBACK_PATH;
    let db = req
        .app_data::<web::Data<crate::AppState>>()
        .filter(|state| writes && crate::cache::postgres::applies(&state.db))
        .map(|state| state.db.clone());
    let res = next.call(req).await;
    // Routed: an operation took it (not a 405 `method_guard` makes of a documented path
    // sent another method). A request that failed before an answer was made waits too.
    let routed = || {
        res.as_ref().map_or(true, |res| {
            let req = res.request();
            super::route_pattern(req).is_some_and(|pattern| {
                req.app_data::<web::Data<Routes>>()
                    .is_none_or(|routes| routes.answers(req.method().as_str(), &pattern))
            })
        })
    };
    if let Some(db) = db
        && routed()
    {
        crate::cache::postgres::barrier(&db).await;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::unexpected_body;

    #[test]
    fn only_nothing_or_an_empty_object_passes_where_no_body_is_taken() {
        for fine in ["", "  \n", "{}", " { } "] {
            assert!(unexpected_body(fine.as_bytes()).is_empty(), "{fine:?}");
        }
        let fields: Vec<String> = unexpected_body(br#"{"owner": 1, "role": "x"}"#)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["owner", "role"]);
        for bad in ["[]", "null", "\"x\"", "{", "owner=1"] {
            let errors = unexpected_body(bad.as_bytes());
            assert_eq!(errors.len(), 1, "{bad:?}");
            assert_eq!(errors[0].field, "body");
        }
    }
}
