//! What the activity log records about a request: its id, the client address and agent.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use tracing_actix_web::RequestId;

/// Request metadata for activity entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    /// The peer address. Forwarded headers are not trusted: anyone can send them.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// For changes made outside an HTTP request (command line, start-up seeding).
    pub fn system() -> Self {
        Self::default()
    }

    pub fn from_request(req: &HttpRequest) -> Self {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(400).collect());
        Self {
            request_id: req.extensions().get::<RequestId>().map(|id| id.to_string()),
            ip: req.peer_addr().map(|a| a.ip().to_string()),
            user_agent,
        }
    }
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::from_request(req)))
    }
}

/// A JSON request body that must be a JSON object, deserialized into `T`.
///
/// `web::Json<T>` alone lets serde read a struct from an array (`[null, null]` is a valid
/// `UpdateSettings` to it); every body of this API is documented as an object, so anything
/// else is 422 `validation_failed` before `T` is looked at (found by schemathesis). So is a
/// NUL (U+0000) in any string or key: no field means one, and PostgreSQL cannot store or
/// even compare text holding one (found by the hardening suite). Size limits, content type
/// and their errors are `web::JsonConfig`'s, as for `web::Json`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            let invalid_at = |field: String, message: String| {
                crate::error::ApiError::validation(
                    "The request body is not valid.",
                    vec![hubkeep_shared::FieldError { field, message }],
                )
            };
            let invalid = |message: String| invalid_at("body".to_owned(), message);
            if !value.is_object() {
                return Err(invalid("the body must be a JSON object".to_owned()).into());
            }
            if let Some(field) = nul_at(&value, "") {
                return Err(invalid_at(field, "must not contain NUL (U+0000)".to_owned()).into());
            }
            serde_json::from_value(value)
                .map(JsonBody)
                .map_err(|e| invalid(e.to_string()).into())
        })
    }
}

/// The dotted path (`accounting_mappings.0.source_code`) of the first string or key holding
/// a NUL; `body` for the top level. JSON nesting is already bounded by the parser.
fn nul_at(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(text) if text.contains('\0') => Some(if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, &at(&i.to_string()))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(at(&key.replace('\0', "\\u0000")))
            } else {
                nul_at(item, &at(key))
            }
        }),
        _ => None,
    }
}
