//! Demo mode (SPEC S3.2): identities and one-click sign-in, only with `--demo`.

use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, session_from, spawn_app, spawn_app_with};
use crate::on_each_backend;

on_each_backend!(
    s3_2_demo_mode_lists_identities_and_signs_in,
    s3_2_demo_endpoints_do_not_exist_without_demo_mode,
);

async fn s3_2_demo_mode_lists_identities_and_signs_in(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.demo = true).await;
    let res = app.get("/api/v1/demo/identities").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert!(items.len() >= 40, "{}", items.len());
    for item in items {
        for field in [
            "resource_id",
            "name",
            "email",
            "security_level",
            "eligible_for_access",
            "eligible_for_elevation",
            "is_active",
        ] {
            assert!(item.get(field).is_some(), "{field} in {item}");
        }
    }
    assert!(items.iter().any(|i| i["is_active"] == false));
    assert!(items.iter().any(|i| i["eligible_for_access"] == false));
    let elevated = items
        .iter()
        .find(|i| i["eligible_for_elevation"] == true && i["is_active"] == true)
        .unwrap();

    let res = app
        .post_json(
            "/api/v1/demo/launch",
            None,
            &json!({"resource_id": elevated["resource_id"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let session = session_from(res.json().await.unwrap());
    let me: Value = app
        .get_as("/api/v1/me", &session.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["access_level"], "elevated");
    assert_eq!(me["user"]["is_primary"], true);
    assert_eq!(
        app.count("tenants").await,
        1,
        "the demo tenant was seeded once"
    );

    let res = app
        .post_json("/api/v1/demo/launch", None, &json!({"resource_id": "x"}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
}

async fn s3_2_demo_endpoints_do_not_exist_without_demo_mode(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_problem(app.get("/api/v1/demo/identities").await, 404, "not_found").await;
    let res = app
        .post_json("/api/v1/demo/launch", None, &json!({"resource_id": 1}))
        .await;
    assert_problem(res, 404, "not_found").await;
    assert_eq!(app.count("tenants").await, 0);
}
