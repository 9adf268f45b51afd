//! Health probes, the permission matrix endpoint and the error format.

use hubkeep_shared::PermissionMatrix;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};

use crate::client::{Pending, pending};
use crate::helpers::{Backend, assert_problem, spawn_app, spawn_app_with};
use crate::on_each_backend;

on_each_backend!(
    readyz_answers_ready_once_the_database_is_migrated,
    healthz_answers_without_touching_the_database,
    permissions_endpoint_serves_the_whole_matrix_as_data,
    unknown_api_paths_and_methods_are_problem_json_with_the_request_id,
    bodies_that_are_not_json_objects_are_422_and_change_nothing,
);

async fn readyz_answers_ready_once_the_database_is_migrated(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app.anonymous().get_readyz().await.expect_json(200).await;
    assert_eq!(body["status"], "ready");

    // The migrations ran: the tenants table exists and is empty.
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM tenants",
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    assert_eq!(n, 0);
}

async fn healthz_answers_without_touching_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.anonymous().get_healthz().await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let body = res.json().await;
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

async fn permissions_endpoint_serves_the_whole_matrix_as_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app
        .anonymous()
        .get_permissions()
        .await
        .expect_json(200)
        .await;
    assert_eq!(
        body,
        serde_json::to_value(PermissionMatrix::current()).unwrap()
    );
    // Spot checks stated independently of the code: names are snake_case strings.
    let hub = body["hub_actions"].as_array().unwrap();
    assert_eq!(hub.len(), 13);
    let manage_users = hub.iter().find(|r| r["action"] == "manage_users").unwrap();
    assert_eq!(manage_users["allowed_for"], serde_json::json!(["elevated"]));
    let conn = body["connection_actions"].as_array().unwrap();
    let transfer = conn
        .iter()
        .find(|r| r["action"] == "transfer_ownership")
        .unwrap();
    assert_eq!(transfer["roles"], serde_json::json!(["owner"]));
    let reconnect = conn
        .iter()
        .find(|r| r["action"] == "reconnect_endpoint")
        .unwrap();
    assert_eq!(
        reconnect["roles"],
        serde_json::json!(["owner", "business_admin", "it_admin"])
    );
}

async fn unknown_api_paths_and_methods_are_problem_json_with_the_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_problem(app.get("/api/v1/no-such-thing").await, 404, "not_found").await;
    assert_problem(app.get("/api/nothing-here").await, 404, "not_found").await;
    // A documented path with a method it does not answer: 405 with `Allow`, never the
    // console or a 404 (schemathesis found `TRACE /healthz` answering the console's page).
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/permissions", "GET"),
        (Method::TRACE, "/healthz", "GET"),
        (Method::PUT, "/api/v1/users/some-id", "GET, PATCH"),
        (Method::POST, "/api/v1/connections/some-id", "GET, PATCH"),
        // A literal path that a parameter beside it would also take: the literal's methods
        // decide, though an operation with the parameter answers this method.
        (Method::PATCH, "/api/v1/connections/governance", "GET"),
        (Method::GET, "/api/v1/users/refresh", "POST"),
    ] {
        let res = app
            .anonymous()
            .raw(method.clone(), path, None)
            .await
            .into_inner();
        let allowed = res.headers()["allow"].to_str().unwrap().to_owned();
        let mut allowed: Vec<&str> = allowed.split(", ").collect();
        allowed.sort_unstable();
        assert_eq!(allowed.join(", "), allow, "{method} {path}");
        let body = assert_problem(res, 405, "method_not_allowed").await;
        assert!(body["request_id"].is_string(), "{body}");
    }
}

/// Browsers send `Accept-Encoding: gzip`; a compressed answer must really be gzip — problems
/// included (their body is rewritten by a middleware, which once left plain JSON labelled
/// as gzip and made every error unreadable in the console).
#[tokio::test]
async fn compressed_answers_and_problems_decode_as_labelled() {
    use std::io::Read;
    let app = spawn_app(Backend::Sqlite).await;
    let gzip = app.anonymous().with_header("accept-encoding", "gzip");
    let calls: Vec<(&str, u16, Pending<'_>)> = vec![
        (
            "/api/v1/no-such-thing",
            404,
            pending(gzip.raw(Method::GET, "/api/v1/no-such-thing", None)),
        ),
        ("get_me", 401, pending(gzip.get_me())),
        ("get_permissions", 200, pending(gzip.get_permissions())),
    ];
    for (path, status, call) in calls {
        let res = call.await;
        assert_eq!(res.status().as_u16(), status, "{path}");
        let encoding = res
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        let raw = res.bytes().await.unwrap();
        let text = match encoding.as_deref() {
            Some("gzip") => {
                let mut out = String::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .read_to_string(&mut out)
                    .unwrap_or_else(|e| panic!("{path}: labelled gzip but is not: {e}"));
                out
            }
            None => String::from_utf8(raw.to_vec()).unwrap(),
            Some(other) => panic!("{path}: unexpected encoding {other}"),
        };
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        if status != 200 {
            assert_eq!(body["status"], status, "{path}: {body}");
            assert!(body["code"].is_string(), "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn every_response_carries_a_distinct_request_id() {
    let app = spawn_app(Backend::Sqlite).await;
    let a = app.anonymous().get_healthz().await.into_inner();
    let b = app.anonymous().get_healthz().await.into_inner();
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id(&a), id(&b));
    assert!(!id(&a).is_empty());
}

#[tokio::test]
async fn s8_prometheus_metrics_count_requests_by_route_pattern() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.anonymous().get_healthz().await.status(), 200);
    assert_eq!(app.anonymous().get_me().await.status(), 401);
    assert_eq!(app.get("/api/v1/no-such-thing-12345").await.status(), 404);
    // A path with a parameter, in the nested `/connections` scope: labelled by its pattern.
    assert_eq!(app.get("/api/v1/connections/c-12345").await.status(), 401);
    let res = app.metrics().await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"hubkeep_http_requests_total{endpoint="/healthz",method="GET",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"endpoint="/api/v1/me",method="GET",status="401""#));
    assert!(
        text.contains(r#"endpoint="/api/v1/connections/{id}",method="GET",status="401""#),
        "{text}"
    );
    assert!(!text.contains("c-12345"));
    assert!(text.contains("hubkeep_http_requests_duration_seconds_bucket"));
    // Paths no route matches share one label: a scanner cannot grow the label space.
    assert!(!text.contains("no-such-thing"));
}

/// serde reads a struct from a JSON array too; schemathesis found `PUT /api/v1/settings`
/// accepting `[null, null]` with 200. Every body must be an object.
async fn bodies_that_are_not_json_objects_are_422_and_change_nothing(backend: Backend) {
    use crate::helpers::people::ADA_ADMIN;
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let before = app.row_counts().await;
    let c = app.as_(&ada);
    let settings_before = c.get_settings().await.json().await;
    // The bodies are JSON, just not objects: sent as text.
    for (method, path, body) in [
        (Method::PUT, "/api/v1/settings", "[null, null]"),
        (Method::PUT, "/api/v1/settings", "[]"),
        (
            Method::POST,
            "/api/v1/connections",
            r#"["Books", "autotask_quickbooks", null]"#,
        ),
        (Method::POST, "/api/v1/me/tokens", r#"["t", "read", null]"#),
        (Method::POST, "/api/v1/connections", "null"),
        (Method::POST, "/api/v1/connections", "\"Books\""),
        (Method::PUT, "/api/v1/access/elevated-levels", "[[1]]"),
    ] {
        let req = c
            .request(method.clone(), path)
            .header("content-type", "application/json")
            .body(body);
        let problem = c
            .send::<serde_json::Value>(req)
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(
            problem["errors"][0]["field"], "body",
            "{method} {path} {body}"
        );
    }
    assert_eq!(app.row_counts().await, before, "nothing changed");
    let settings_after = c.get_settings().await.json().await;
    assert_eq!(settings_after, settings_before);
}

/// S14: `/metrics` on the main address answers only to the metrics token (401 without it or
/// with another, 404 when none is configured); `[metrics] bind` serves it on an address of
/// its own, where nothing else is served (without a token the main address then has none;
/// with one, both serve it).
#[tokio::test]
async fn s14_metrics_need_their_token_or_their_own_address() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.anonymous().get_healthz().await.status(), 200);
    let bare = app.get("/metrics").await;
    assert_eq!(bare.status(), 401);
    let body = bare.text().await.unwrap();
    assert!(body.contains("unauthenticated"), "{body}");
    assert!(!body.contains("hubkeep_http_requests_total"), "{body}");
    for header in [
        "Bearer wrong-token",
        "Bearer ",
        "Basic dGVzdC1tZXRyaWNzLXRva2VuLTAxMjM0NTY3ODk=",
        "test-metrics-token-0123456789",
    ] {
        let res = app
            .client
            .get(app.url("/metrics"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
    }
    // A session's access token is not the metrics token either.
    let tenant = app.tenant().await;
    let ada = app
        .sign_in(&tenant, crate::helpers::people::ADA_ADMIN)
        .await;
    let res = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&ada.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let ok = app.metrics().await;
    assert_eq!(ok.status(), 200);
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("hubkeep_http_requests_total")
    );

    // Neither a token nor an address: there are no metrics to read.
    let closed = spawn_app_with(Backend::Sqlite, |s| s.metrics.token = None).await;
    assert_eq!(closed.get("/metrics").await.status(), 404);
    assert_eq!(closed.metrics().await.status(), 404);

    // Their own address: served there (and only `/metrics`), not on the main one.
    let apart = spawn_app_with(Backend::Sqlite, |s| {
        s.metrics.token = None;
        s.metrics.bind = Some("127.0.0.1:0".to_owned());
    })
    .await;
    assert_eq!(apart.anonymous().get_healthz().await.status(), 200);
    assert_eq!(apart.get("/metrics").await.status(), 404);
    let metrics_address = apart.metrics_address.clone().expect("a metrics address");
    assert_ne!(metrics_address, apart.address);
    let res = apart
        .client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"hubkeep_http_requests_total{endpoint="/healthz",method="GET",status="200"} 1"#
        ),
        "{text}"
    );
    for path in ["/healthz", "/api/v1/me", "/"] {
        let res = apart
            .client
            .get(format!("{metrics_address}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
}

/// SPEC S14 (issue 19, defect 5): every answer — the console, its assets, its deep links,
/// the API, problems of every kind, `/metrics` refused — carries the policy and the other
/// headers; the console's inline start-up script is allowed by its hash, no other inline
/// script is; `frame_ancestors` and an https `public_url` take effect.
#[tokio::test]
async fn s14_every_response_carries_the_security_headers() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let app = spawn_app(Backend::Sqlite).await;
    let inline = "\nimport init from '/app.js';\nawait init();\n";
    // A rebuilt console (the build writes one inline module script that starts the WASM).
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        app.web_dir.join("index.html"),
        format!("<!doctype html><title>Hubkeep</title><script type=\"module\">{inline}</script>"),
    )
    .unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(inline));
    let anonymous = app.anonymous();
    let calls: Vec<(&str, u16, Pending<'_>)> = vec![
        ("/", 200, pending(anonymous.raw(Method::GET, "/", None))),
        (
            "/connections/42",
            200,
            pending(anonymous.raw(Method::GET, "/connections/42", None)),
        ),
        (
            "/app.js",
            200,
            pending(anonymous.raw(Method::GET, "/app.js", None)),
        ),
        ("get_healthz", 200, pending(anonymous.get_healthz())),
        ("get_me", 401, pending(anonymous.get_me())),
        (
            "/api/v1/no-such-thing",
            404,
            pending(anonymous.raw(Method::GET, "/api/v1/no-such-thing", None)),
        ),
        (
            "DELETE /api/v1/me",
            405,
            pending(anonymous.raw(Method::DELETE, "/api/v1/me", None)),
        ),
        (
            "/metrics",
            401,
            pending(anonymous.raw(Method::GET, "/metrics", None)),
        ),
    ];
    for (what, status, call) in calls {
        let res = call.await;
        assert_eq!(res.status().as_u16(), status, "{what}");
        let header = |name: &str| {
            res.headers()
                .get(name)
                .unwrap_or_else(|| panic!("{what}: no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.starts_with("default-src 'self'; "), "{what}: {csp}");
        assert!(
            csp.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}';"
            )),
            "{what}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert!(csp.ends_with("frame-ancestors 'none'"), "{what}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
        assert!(
            res.headers().get("strict-transport-security").is_none(),
            "{what}: no HSTS without an https public_url"
        );
    }

    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.http.public_url = Some("https://hub.example.test".into());
        s.http.frame_ancestors = vec!["https://psa.example.test".into()];
    })
    .await;
    let res = app.anonymous().get_me().await.into_inner();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.ends_with("frame-ancestors https://psa.example.test"),
        "{csp}"
    );
}
