//! The extractors of the API's handlers: the request's metadata for activity entries, and
//! JSON bodies that must be objects. (The [`crate::identity::Caller`] and engine extractors
//! live in [`super::auth`].)

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use tracing_actix_web::RequestId;

use crate::activity::RequestMeta;
use crate::http::client_address::TrustedProxies;

/// What the activity log records about this request (SPEC S7); the address is the
/// client's, through trusted proxies (SPEC S14, [`TrustedProxies`]).
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    let user_agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(400).collect());
    RequestMeta {
        request_id: req.extensions().get::<RequestId>().map(|id| id.to_string()),
        ip: req.peer_addr().map(|peer| {
            match req.app_data::<web::Data<TrustedProxies>>() {
                Some(proxies) => proxies.client(peer.ip(), req.headers()),
                None => peer.ip(),
            }
            .to_string()
        }),
        user_agent,
    }
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(request_meta(req)))
    }
}

/// A JSON request body that must be a JSON object, deserialized into `T`.
///
/// `web::Json<T>` alone lets serde read a struct from an array (`[null, null]` is a valid
/// `UpdateSettings` to it); every body of this API is documented as an object, so anything
/// else is 422 `validation_failed` before `T` is looked at (found by schemathesis). So is a
/// NUL (U+0000) in any string or key: no field means one, and PostgreSQL cannot store or
/// even compare text holding one (found by the hardening suite). A field that does not
/// deserialize is named in `errors` by its path (`accounting_mappings.0.account_code`), an
/// unknown field included. Size limits, content type and their errors are
/// `web::JsonConfig`'s, as for `web::Json`.
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
            serde_path_to_error::deserialize(value)
                .map(JsonBody)
                .map_err(|e| {
                    let field = field_of(&e.path().to_string(), &e.inner().to_string());
                    invalid_at(field, e.into_inner().to_string()).into()
                })
        })
    }
}

/// The field a deserialization error is about, as a dotted path (`accounting_mappings.0.
/// tenant_id` for an unknown field, `kind` for a missing one): the path serde was at, plus
/// the missing field's name; `body` when the error is about the body as a whole.
fn field_of(path: &str, message: &str) -> String {
    // serde_path_to_error writes `a.b[0].c`, and `.` for the top level.
    let dotted = path.replace('[', ".").replace(']', "");
    let dotted = dotted.trim_matches('.');
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (dotted.is_empty(), missing) {
        (true, Some(name)) => name.to_owned(),
        (false, Some(name)) => format!("{dotted}.{name}"),
        (true, None) => "body".to_owned(),
        (false, None) => dotted.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn deserialization_errors_name_their_field() {
        assert_eq!(
            field_of("tenant_id", "unknown field `tenant_id`"),
            "tenant_id"
        );
        assert_eq!(
            field_of(
                "accounting_mappings[0].tenant_id",
                "unknown field `tenant_id`"
            ),
            "accounting_mappings.0.tenant_id"
        );
        assert_eq!(field_of(".", "missing field `kind`"), "kind");
        assert_eq!(
            field_of("forecast_budget", "missing field `name`"),
            "forecast_budget.name"
        );
        assert_eq!(field_of("level_ids[2]", "invalid type"), "level_ids.2");
        assert_eq!(field_of(".", "invalid type: sequence"), "body");
    }
}
