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
