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

/// The route pattern of a request (`/api/v1/connections/{id}`) once the router has seen it:
/// read from the router's own result, which costs a short string. Middleware asks only
/// after `next.call`: before routing, actix would find it by matching every pattern with a
/// path parameter by regular expression (issue 24's profile: a fifth of the CPU of
/// `GET /connections/{id}` went to such matches). A request that no resource took (the
/// default service) gets [`path_pattern`]; one the console's files took has their pattern
/// (`""`).
pub fn route_pattern(req: &actix_web::HttpRequest) -> Option<String> {
    req.match_pattern()
}

/// The documented pattern a path falls under, methods aside: the first pattern it matches, in
/// the order they were registered, each tried by regular expression — what actix answers
/// before routing. For a request the router has not taken yet (`body_guard`) and for 405s
/// (`method_guard`, the contract check), where the operation that took the path, if any, may
/// be a parameter's rather than the literal path's (`/connections/governance`).
pub fn path_pattern(req: &actix_web::HttpRequest) -> Option<String> {
    req.resource_map().match_pattern(req.path())
}
