//! The HTTP edge: routes, extractors, middleware, the problem+json rendering of errors and the
//! OpenAPI document. The only part of the crate (with `main` and `startup`) that knows
//! actix-web; everything below it is plain services over the database.

pub mod auth;
pub mod client_address;
pub mod error;
pub mod extractors;
pub mod headers;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod root_span;
pub mod routes;

/// The route pattern of a request (`/api/v1/connections/{id}`), worked out once per request:
/// actix matches a pattern with a path parameter by regular expression each time it is asked,
/// and the root span, the 405 and body guards and the contract check all ask (issue 24's
/// profile: a fifth of the CPU of `GET /connections/{id}` went to those repeated matches).
pub fn route_pattern(req: &actix_web::dev::ServiceRequest) -> Option<String> {
    use actix_web::HttpMessage as _;
    #[derive(Clone)]
    struct Pattern(Option<String>);
    if let Some(Pattern(known)) = req.extensions().get::<Pattern>() {
        return known.clone();
    }
    let pattern = req.match_pattern();
    req.extensions_mut().insert(Pattern(pattern.clone()));
    pattern
}
