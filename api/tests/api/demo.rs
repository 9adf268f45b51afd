//! Demo mode (SPEC S3.2): identities and one-click sign-in, only with `--demo`.

use hubkeep_shared::api::DemoLaunch;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, session_from, spawn_app, spawn_app_with};
use crate::on_each_backend;

on_each_backend!(
    s3_2_demo_mode_lists_identities_and_signs_in,
    s3_2_demo_endpoints_do_not_exist_without_demo_mode,
);

async fn s3_2_demo_mode_lists_identities_and_signs_in(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.demo = true).await;
    let anonymous = app.anonymous();
    let body = anonymous
        .list_demo_identities()
        .await
        .expect_json(200)
        .await;
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

    let res = anonymous
        .launch_demo_session(&DemoLaunch {
            resource_id: elevated["resource_id"].as_i64().unwrap(),
        })
        .await;
    assert_eq!(res.status(), 200);
    let session = session_from(res.json().await);
    let me = app.as_(&session).get_me().await.json().await;
    assert_eq!(me["access_level"], "elevated");
    assert_eq!(me["user"]["is_primary"], true);
    assert_eq!(
        app.count("tenants").await,
        1,
        "the demo tenant was seeded once"
    );

    // Not a resource id.
    anonymous
        .raw(
            Method::POST,
            "/api/v1/demo/launch",
            Some(&json!({"resource_id": "x"})),
        )
        .await
        .problem(422, "validation_failed")
        .await;
}

async fn s3_2_demo_endpoints_do_not_exist_without_demo_mode(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous = app.anonymous();
    anonymous
        .list_demo_identities()
        .await
        .problem(404, "not_found")
        .await;
    anonymous
        .launch_demo_session(&DemoLaunch { resource_id: 1 })
        .await
        .problem(404, "not_found")
        .await;
    assert_eq!(app.count("tenants").await, 0);
}
