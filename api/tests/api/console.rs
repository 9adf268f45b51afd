//! How the server serves the single-page console next to the API.

use crate::helpers::{Backend, assert_problem, spawn_app};

#[tokio::test]
async fn the_console_is_served_at_the_root() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.text().await.unwrap().contains("<title>Hubkeep</title>"));
    let js = app.get("/app.js").await;
    assert_eq!(js.status(), 200);
}

#[tokio::test]
async fn deep_links_to_client_routes_get_the_console_and_are_never_cached() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/connections/42").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let expected = std::fs::read_to_string(app.web_dir.join("index.html")).unwrap();
    assert_eq!(res.text().await.unwrap(), expected);
}

/// SPEC S16 (issue 22): a hashed asset is sent precompressed in the best encoding the
/// browser accepts — the bytes built, not compressed again — with `Vary`, and cached for
/// ever; an unhashed file and `index.html` are revalidated every time.
#[tokio::test]
async fn s16_assets_are_sent_precompressed_by_accept_encoding_and_hashed_ones_are_immutable() {
    let app = spawn_app(Backend::Sqlite).await;
    let name = "hubkeep-0123456789abcdef_bg.wasm";
    std::fs::write(app.web_dir.join(name), b"\0asm-raw").unwrap();
    std::fs::write(app.web_dir.join(format!("{name}.br")), b"brotli-bytes").unwrap();
    std::fs::write(app.web_dir.join(format!("{name}.gz")), b"gzip-bytes").unwrap();
    let fetch = |accept: Option<&'static str>, path: String| {
        let mut req = app.client.get(app.url(&path));
        if let Some(accept) = accept {
            req = req.header("accept-encoding", accept);
        }
        async move { req.send().await.unwrap() }
    };
    let cases: [(Option<&str>, Option<&str>, &[u8]); 6] = [
        (Some("br"), Some("br"), b"brotli-bytes"),
        (Some("gzip, deflate, br, zstd"), Some("br"), b"brotli-bytes"),
        (Some("gzip"), Some("gzip"), b"gzip-bytes"),
        (Some("br;q=0, gzip"), Some("gzip"), b"gzip-bytes"),
        (Some("identity"), None, b"\0asm-raw"),
        (None, None, b"\0asm-raw"),
    ];
    for (accept, encoding, body) in cases {
        let res = fetch(accept, format!("/{name}")).await;
        assert_eq!(res.status(), 200, "{accept:?}");
        let headers = res.headers().clone();
        assert_eq!(
            headers.get("content-encoding").map(|v| v.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert_eq!(headers["content-type"], "application/wasm", "{accept:?}");
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{accept:?}"
        );
        assert_eq!(headers["vary"], "accept-encoding", "{accept:?}");
        assert!(headers.get("content-disposition").is_none(), "{accept:?}");
        assert_eq!(&res.bytes().await.unwrap()[..], body, "{accept:?}");
    }
    // An unhashed file (no precompressed sibling here) is revalidated every time.
    let res = fetch(Some("identity"), "/app.js".to_owned()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.text().await.unwrap(), "console.log('hubkeep');");
    // A range is a range of the plain file, never of a compressed copy.
    let res = app
        .client
        .get(app.url(&format!("/{name}")))
        .header("accept-encoding", "br")
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert!(
        res.headers()
            .get("content-encoding")
            .is_none_or(|v| v == "identity")
    );
    assert_eq!(&res.bytes().await.unwrap()[..], b"\0asm");
    // HEAD answers as GET does; another method is the 405 problem.
    for path in ["/", "/index.html", &format!("/{name}")] {
        let res = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "HEAD {path}");
    }
    app.anonymous()
        .raw(reqwest::Method::POST, "/", None)
        .await
        .problem(405, "method_not_allowed")
        .await;
    // The page that names the build is never cached, at either address.
    for path in ["/", "/index.html"] {
        let res = fetch(Some("br"), path.to_owned()).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-cache", "{path}");
        assert!(res.text().await.unwrap().contains("<title>Hubkeep</title>"));
    }
    // A missing asset is a problem, never the console.
    assert_problem(
        fetch(Some("br"), "/hubkeep-ffffffffffffffff.js".to_owned()).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn api_paths_and_missing_assets_never_fall_back_to_the_console() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_problem(app.get("/api/v2/users").await, 404, "not_found").await;
    assert_problem(app.get("/missing-asset.wasm").await, 404, "not_found").await;
    app.anonymous()
        .raw(reqwest::Method::POST, "/settings", None)
        .await
        .problem(405, "method_not_allowed")
        .await;
}

#[tokio::test]
async fn the_interactive_docs_page_works_offline() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/api/docs").await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/api/docs/");
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // Every script and stylesheet is served by the binary itself: no CDN.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "{asset} referenced");
        let res = app.get(&format!("/api/docs/{asset}")).await;
        assert_eq!(res.status(), 200, "{asset}");
    }
    let init = app
        .get("/api/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json"));
}

/// Without a built console, a wrong method on an API path is still a 405 problem, not the
/// "console not built" page (found by schemathesis: `TRACE /readyz` answered that page, 503).
#[tokio::test]
async fn wrong_methods_are_405_problems_even_without_a_console() {
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |s| {
        s.web_dir = s.data_dir.join("no-console-here");
    })
    .await;
    for path in ["/readyz", "/healthz", "/api/v1/openapi.json"] {
        let res = app
            .anonymous()
            .raw(reqwest::Method::TRACE, path, None)
            .await;
        assert_eq!(res.headers()["allow"], "GET", "{path}");
        res.problem(405, "method_not_allowed").await;
    }
    let page = app.get("/connections").await;
    assert_eq!(
        page.status(),
        503,
        "the console's own paths explain it is not built"
    );
}
