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
