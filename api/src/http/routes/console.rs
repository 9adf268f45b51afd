//! Serves the built admin console (a single-page app) at `/`. Unknown client-side routes
//! (`/connections/42`) get `index.html` so deep links work; `/api/…` paths and missing assets
//! get a problem+json 404 instead, so an API typo never answers with HTML.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::Method;
use actix_web::http::header::{CACHE_CONTROL, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use hubkeep_shared::ProblemCode;

use crate::error::ApiError;

/// Whether `web_dir` holds a built console.
pub fn is_built(web_dir: &Path) -> bool {
    web_dir.join("index.html").is_file()
}

/// Registers the console; call it last, after every API route.
pub fn configure(cfg: &mut web::ServiceConfig, web_dir: PathBuf) {
    let index = web_dir.join("index.html");
    if is_built(&web_dir) {
        cfg.service(
            Files::new("/", &web_dir)
                .index_file("index.html")
                .default_handler(fn_service(move |req: ServiceRequest| {
                    let index = index.clone();
                    async move {
                        let (req, _) = req.into_parts();
                        let res = spa_fallback(&req, index).await;
                        Ok(ServiceResponse::new(req, res))
                    }
                })),
        );
    } else {
        cfg.default_service(web::to(console_missing));
    }
}

async fn spa_fallback(req: &HttpRequest, index: PathBuf) -> HttpResponse {
    let path = req.path();
    let looks_like_asset = path.rsplit('/').next().is_some_and(|seg| seg.contains('.'));
    if path == "/api" || path.starts_with("/api/") || looks_like_asset {
        return actix_web::ResponseError::error_response(&ApiError::not_found());
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return actix_web::ResponseError::error_response(&ApiError::new(
            ProblemCode::MethodNotAllowed,
            "This method is not supported on this path.",
        ));
    }
    match NamedFile::open_async(index).await {
        Ok(file) => {
            let mut res = file.respond_to(req);
            // index.html names the hashed assets of the current build: never cache it.
            res.headers_mut().insert(
                CACHE_CONTROL,
                CacheControl(vec![CacheDirective::NoCache])
                    .to_string()
                    .parse()
                    .unwrap_or_else(|_| {
                        actix_web::http::header::HeaderValue::from_static("no-cache")
                    }),
            );
            res.map_into_boxed_body()
        }
        Err(e) => actix_web::ResponseError::error_response(&ApiError::Internal(e.into())),
    }
}

async fn console_missing(req: HttpRequest) -> HttpResponse {
    if req.path() == "/api" || req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&ApiError::not_found());
    }
    HttpResponse::ServiceUnavailable()
        .content_type("text/html; charset=utf-8")
        .body(
            "<!doctype html><title>Hubkeep</title><h1>The admin console is not built</h1>\
             <p>Run <code>just web</code> (or <code>just run</code>), or point \
             <code>--web-dir</code> at a built console. The API is up: \
             <a href=\"/api/docs/\">API documentation</a>.</p>",
        )
}
