//! Serves the built admin console (a single-page app) at `/`. Unknown client-side routes
//! (`/connections/42`) get `index.html` so deep links work; `/api/…` paths and missing assets
//! get a problem+json 404 instead, so an API typo never answers with HTML.
//!
//! The console's assets (`scripts/build-web.sh`) have content-hashed names and precompressed
//! siblings (`.br`, `.gz`): an asset is sent as the best encoding the browser accepts, as
//! built (never compressed again per request), with `Vary: Accept-Encoding`, and cached for
//! ever when its name is hashed. `index.html` names the current build and is never cached.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::guard;
use actix_web::http::Method;
use actix_web::http::header::{
    AcceptEncoding, CACHE_CONTROL, ContentEncoding, Encoding, Header as _, HeaderValue, RANGE, VARY,
};
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
        // GET and HEAD only: any other method falls through to the 405 problem below.
        let readable =
            || guard::fn_guard(|ctx| matches!(ctx.head().method, Method::GET | Method::HEAD));
        let root = index.clone();
        cfg.service(web::resource(["/", "/index.html"]).guard(readable()).to(
            move |req: HttpRequest| {
                let index = root.clone();
                async move { serve_index(&req, index).await }
            },
        ));
        let dir = web_dir.clone();
        cfg.service(
            web::resource("/{asset}")
                .guard(readable())
                .guard(guard::fn_guard(|ctx| {
                    asset_name(ctx.head().uri.path().trim_start_matches('/')).is_some()
                }))
                .to(move |req: HttpRequest| {
                    let dir = dir.clone();
                    async move { serve_asset(&req, &dir).await }
                }),
        );
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
    serve_index(req, index).await
}

/// `index.html`: it names the hashed assets of the current build, so it is never cached.
async fn serve_index(req: &HttpRequest, index: PathBuf) -> HttpResponse {
    match NamedFile::open_async(index).await {
        Ok(file) => {
            let mut res = file.respond_to(req);
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res.map_into_boxed_body()
        }
        Err(e) => actix_web::ResponseError::error_response(&ApiError::Internal(e.into())),
    }
}

/// How long a content-hashed asset may be kept: a new build has new names.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `name` when it can be a file of the built console at its top level: one path segment
/// of letters, digits, `-`, `_` and `.`, with an extension, not hidden.
fn asset_name(name: &str) -> Option<&str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.contains('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then_some(name)
}

/// Whether `name` carries the build's content hash (`hubkeep-<16 hex>.js`,
/// `hubkeep-<16 hex>_bg.wasm`, `style-<16 hex>.css`, and the split console's
/// `hubkeep-split-<16 hex>.js`, `split_<group>-<16 hex>.wasm`, `chunk_<n>-<16 hex>.wasm`).
fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// One asset of the console, precompressed when the browser accepts it.
async fn serve_asset(req: &HttpRequest, dir: &Path) -> HttpResponse {
    let Some(name) = asset_name(req.path().trim_start_matches('/')) else {
        return actix_web::ResponseError::error_response(&ApiError::not_found());
    };
    let plain = dir.join(name);
    if !plain.is_file() {
        return actix_web::ResponseError::error_response(&ApiError::not_found());
    }
    // A range of a compressed file is not a range of the file: ranges get the plain bytes.
    let accepted = AcceptEncoding::parse(req)
        .ok()
        .filter(|_| !req.headers().contains_key(RANGE));
    let offered = [
        (Encoding::brotli(), ContentEncoding::Brotli, "br"),
        (Encoding::gzip(), ContentEncoding::Gzip, "gz"),
    ];
    let chosen = offered.into_iter().find(|(encoding, _, suffix)| {
        let sibling = dir.join(format!("{name}.{suffix}"));
        accepted.as_ref().is_some_and(|a| {
            a.negotiate([encoding.clone(), Encoding::identity()].iter()) == Some(encoding.clone())
        }) && sibling.is_file()
    });
    let (path, encoding) = match &chosen {
        Some((_, encoding, suffix)) => (dir.join(format!("{name}.{suffix}")), Some(*encoding)),
        None => (plain, None),
    };
    let file = match NamedFile::open_async(&path).await {
        Ok(file) => file,
        Err(e) => return actix_web::ResponseError::error_response(&ApiError::Internal(e.into())),
    };
    let mut file = file
        .set_content_type(actix_files::file_extension_to_mime(
            name.rsplit('.').next().unwrap_or_default(),
        ))
        .disable_content_disposition();
    if let Some(encoding) = encoding {
        file = file.set_content_encoding(encoding);
    }
    let mut res = file.respond_to(req).map_into_boxed_body();
    let cache = if is_hashed(name) {
        IMMUTABLE
    } else {
        "no-cache"
    };
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    res.headers_mut()
        .insert(VARY, HeaderValue::from_static("accept-encoding"));
    res
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_top_level_plain_names_are_assets_and_only_build_hashes_are_immutable() {
        assert_eq!(asset_name("app.js"), Some("app.js"));
        assert_eq!(
            asset_name("hubkeep-0123456789abcdef_bg.wasm"),
            Some("hubkeep-0123456789abcdef_bg.wasm")
        );
        for bad in [
            "",
            ".env",
            "connections",
            "a/b.js",
            "..%2fx.js",
            "x y.js",
            "a\\b.js",
        ] {
            assert_eq!(asset_name(bad), None, "{bad}");
        }
        assert!(is_hashed("hubkeep-0123456789abcdef.js"));
        assert!(is_hashed("hubkeep-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("style-0123456789abcdef.css"));
        // The console split per group of pages: the loader, a group's module, a chunk.
        for split in [
            "hubkeep-split-0123456789abcdef.js",
            "split_sign_in_with_oidc-0123456789abcdef.wasm",
            "chunk_7-0123456789abcdef.wasm",
        ] {
            assert_eq!(asset_name(split), Some(split));
            assert!(is_hashed(split), "{split}");
        }
        assert!(asset_name(".build-files").is_none());
        assert!(!is_hashed("app.js"));
        assert!(!is_hashed("style-0123456789ABCDEF.css"));
        assert!(!is_hashed("hubkeep-0123456789abcde.js"));
    }
}
