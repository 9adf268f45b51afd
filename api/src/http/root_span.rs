//! The root span of every request (`tracing-actix-web`), without the query.

/// The root span of every request: tracing-actix-web's fields, except that `http.target` is
/// the path alone. A query can carry what must never reach a log — the `state` and the
/// provider's `code` of an OpenID Connect callback (SPEC S13, S14) — so no query is logged.
/// `http.route` and `otel.name` are recorded when the request ends, from the router's own
/// result ([`super::route_pattern`]): at the start nothing has been routed yet, and finding
/// the pattern then would match the path against every pattern by regular expression.
#[derive(Debug)]
pub struct PathOnlyRootSpan;

impl tracing_actix_web::RootSpanBuilder for PathOnlyRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage as _;
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = tracing::field::Empty,
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.name = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let (method, route) = match outcome {
            Ok(res) => (
                res.request().method().as_str(),
                super::route_pattern(res.request()),
            ),
            Err(_) => ("", None),
        };
        let route = route.unwrap_or_else(|| "default".to_owned());
        span.record("otel.name", format!("{method} {route}").trim_start());
        span.record("http.route", route);
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
