//! Security headers on every response (SPEC S14): a Content-Security-Policy that lets the
//! console run and nothing else, `nosniff`, no referrer, and HSTS when the hub is served
//! over https.
//!
//! The console's `index.html` (built by `scripts/build-web.sh`) starts the WebAssembly with
//! one inline module script. Rather than allow inline scripts, the policy names that script
//! by its SHA-256:
//! the hash is read from the built file, and read again when the file changes (a rebuild
//! renames the hashed assets the script imports).

use std::path::PathBuf;
use std::sync::RwLock;
use std::time::SystemTime;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, HeaderValue, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::web;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::config::Settings;

/// What every response carries.
pub struct SecurityHeaders {
    frame_ancestors: String,
    hsts: bool,
    index: PathBuf,
    /// The policy, and the modification time of `index.html` it was built from.
    csp: RwLock<(Option<SystemTime>, HeaderValue)>,
}

impl std::fmt::Debug for SecurityHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHeaders")
            .field("frame_ancestors", &self.frame_ancestors)
            .field("hsts", &self.hsts)
            .finish_non_exhaustive()
    }
}

impl SecurityHeaders {
    pub fn new(settings: &Settings) -> Self {
        let frame_ancestors = settings.http.frame_ancestors();
        let index = settings.web_dir.join("index.html");
        let modified = modified(&index);
        let csp = policy(&frame_ancestors, &inline_script_hashes(&index));
        Self {
            hsts: settings.http.is_https(),
            frame_ancestors,
            index,
            csp: RwLock::new((modified, csp)),
        }
    }

    /// The policy; for an HTML answer, first checked against the console as built now.
    fn csp(&self, html: bool) -> HeaderValue {
        let (seen, value) = self
            .csp
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        if !html {
            return value;
        }
        let now = modified(&self.index);
        if now == seen {
            return value;
        }
        let fresh = policy(&self.frame_ancestors, &inline_script_hashes(&self.index));
        if let Ok(mut c) = self.csp.write() {
            *c = (now, fresh.clone());
        }
        fresh
    }

    fn apply(&self, headers: &mut HeaderMap) {
        let html = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        headers.insert(CONTENT_SECURITY_POLICY, self.csp(html));
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        if self.hsts {
            headers.insert(
                STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}

/// The middleware: every answer, problems included, gets the headers.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let headers = req.app_data::<web::Data<SecurityHeaders>>().cloned();
    // Handlers' and the inner middleware's errors arrive here as responses already
    // (`problem_details`); holding a clone of the request across the call is not allowed.
    let mut res = next.call(req).await?.map_into_boxed_body();
    if let Some(h) = headers {
        h.apply(res.headers_mut());
    }
    Ok(res)
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `default-src 'self'`, scripts from the hub (and WebAssembly compiled from them) plus the
/// console's own inline start-up script by hash; no plugins, no `<base>`, forms only to the
/// hub, framing as configured. Images may be `data:` (the API documentation's icons).
fn policy(frame_ancestors: &str, script_hashes: &[String]) -> HeaderValue {
    let mut scripts = "'self' 'wasm-unsafe-eval'".to_owned();
    for hash in script_hashes {
        scripts.push_str(&format!(" '{hash}'"));
    }
    let csp = format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {frame_ancestors}"
    );
    HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"))
}

/// `sha256-…` of every inline `<script>` of the built console (none when it is not built).
fn inline_script_hashes(index: &std::path::Path) -> Vec<String> {
    let Ok(html) = std::fs::read_to_string(index) else {
        return Vec::new();
    };
    let mut hashes = Vec::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let tag = &rest[..open_end];
        let body = &rest[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") && !body[..close].trim().is_empty() {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(format!("sha256-{}", STANDARD.encode(digest)));
        }
        rest = &body[close..];
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.html");
        std::fs::write(
            &index,
            "<html><script type=\"module\" src=\"/a.js\"></script>\
             <script type=\"module\">\nimport init from '/x.js';\n</script></html>",
        )
        .unwrap();
        let hashes = inline_script_hashes(&index);
        let expected = STANDARD.encode(Sha256::digest(b"\nimport init from '/x.js';\n"));
        assert_eq!(hashes, [format!("sha256-{expected}")]);
        let csp = policy("'none'", &hashes);
        let csp = csp.to_str().unwrap();
        assert!(csp.contains(&format!(
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-{expected}'"
        )));
        assert!(csp.ends_with("frame-ancestors 'none'"));
    }
}
