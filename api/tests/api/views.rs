//! Connection views (SPEC S4, S5, S7): kinds with views only, `manage_views` for owner and
//! business administrators, duplicate names refused, one entry per change.

use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, grant, id, people::*, put, spawn_app, team,
};
use crate::on_each_backend;
use crate::runs::{create, entries, entries_of, post};

on_each_backend!(
    s4_views_are_created_updated_and_deleted_with_one_entry_each,
    s5_only_owner_and_business_admin_manage_views_and_every_member_lists_them,
    s4_kinds_without_views_answer_not_supported_for_kind,
    s4_view_names_are_unique_and_definitions_are_json_objects,
    s4_a_cancelled_connection_refuses_view_changes,
    s5_another_tenant_gets_404_for_views,
);

fn views_path(cid: &str) -> String {
    format!("/api/v1/connections/{cid}/views")
}

async fn view_count(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM connection_views WHERE connection_id = '{cid}'"
    ))
    .await
}

async fn s4_views_are_created_updated_and_deleted_with_one_entry_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "BI", "xero_power_bi").await;
    let t = &ada.access_token;
    let before = entries(&app, &cid).await;
    let res = post(
        &app,
        t,
        &views_path(&cid),
        &json!({"name": "  Revenue  ", "definition": {"columns": ["a", "b"]}}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["name"], "Revenue");
    assert_eq!(view["connection_id"], cid.as_str());
    assert_eq!(view["definition"], json!({"columns": ["a", "b"]}));
    assert_eq!(view["created_by"], id(&ada).as_str());
    let vid = view["id"].as_str().unwrap().to_owned();
    assert_eq!(view_count(&app, &cid).await, 1);
    assert_eq!(entries(&app, &cid).await, before + 1);
    assert_eq!(entries_of(&app, &cid, "view.created").await, 1);

    let res = app.get_as(&views_path(&cid), t).await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["items"][0]["id"], vid.as_str());
    assert!(list["next_cursor"].is_null());

    let path = format!("{}/{vid}", views_path(&cid));
    let res = put(
        &app,
        t,
        &path,
        &json!({"name": "Income", "definition": {"x": 1}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["name"], "Income");
    assert_eq!(updated["definition"], json!({"x": 1}));
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 1);
    // The same values again: no change, no entry.
    let res = put(
        &app,
        t,
        &path,
        &json!({"name": "Income", "definition": {"x": 1}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 1);

    let res = app.delete_as(&path, t).await;
    assert_eq!(res.status(), 204);
    assert_eq!(view_count(&app, &cid).await, 0);
    assert_eq!(entries_of(&app, &cid, "view.deleted").await, 1);
    assert_eq!(entries(&app, &cid).await, before + 3);
    assert_problem(app.delete_as(&path, t).await, 404, "not_found").await;
    let res = put(&app, t, &path, &json!({"name": "Again", "definition": {}})).await;
    assert_problem(res, 404, "not_found").await;
}

async fn s5_only_owner_and_business_admin_manage_views_and_every_member_lists_them(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create(&app, &ada, "BI", "quickbooks_power_bi").await;
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    let res = post(
        &app,
        &bob.access_token,
        &views_path(&cid),
        &json!({"name": "By Bob", "definition": {}}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let vid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{}/{vid}", views_path(&cid));
    for role in ["it_admin", "read_only"] {
        grant(&app, &tenant, &cid, &id(&tess), role).await;
        let t = &tess.access_token;
        let before = entries(&app, &cid).await;
        let res = post(
            &app,
            t,
            &views_path(&cid),
            &json!({"name": "T", "definition": {}}),
        )
        .await;
        assert_problem(res, 403, "forbidden").await;
        let res = put(&app, t, &path, &json!({"name": "T", "definition": {}})).await;
        assert_problem(res, 403, "forbidden").await;
        assert_problem(app.delete_as(&path, t).await, 403, "forbidden").await;
        let res = app.get_as(&views_path(&cid), t).await;
        assert_eq!(res.status(), 200, "{role} lists views");
        let list: Value = res.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(entries(&app, &cid).await, before);
        crate::helpers::exec(
            &app,
            &format!(
                "DELETE FROM role_assignments WHERE connection_id = '{cid}' AND user_id = '{}'",
                id(&tess)
            ),
        )
        .await;
    }
    assert_eq!(view_count(&app, &cid).await, 1);
    let res = put(
        &app,
        &bob.access_token,
        &path,
        &json!({"name": "By Bob", "definition": {"v": 2}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.delete_as(&path, &bob.access_token).await.status(), 204);
}

async fn s4_kinds_without_views_answer_not_supported_for_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    for kind in ["autotask_quickbooks", "autotask_xero"] {
        let cid = create(&app, &ada, kind, kind).await;
        grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
        for t in [&ada.access_token, &tess.access_token] {
            let body = json!({"name": "V", "definition": {}});
            let vpath = format!("{}/00000000-0000-0000-0000-000000000000", views_path(&cid));
            assert_problem(
                app.get_as(&views_path(&cid), t).await,
                422,
                "not_supported_for_kind",
            )
            .await;
            let res = post(&app, t, &views_path(&cid), &body).await;
            assert_problem(res, 422, "not_supported_for_kind").await;
            let res = put(&app, t, &vpath, &body).await;
            assert_problem(res, 422, "not_supported_for_kind").await;
            let res = app.delete_as(&vpath, t).await;
            assert_problem(res, 422, "not_supported_for_kind").await;
        }
        assert_eq!(view_count(&app, &cid).await, 0);
        assert_eq!(entries_of(&app, &cid, "view.created").await, 0);
    }
}

async fn s4_view_names_are_unique_and_definitions_are_json_objects(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "BI", "xero_power_bi").await;
    let t = &ada.access_token;
    let mk = |name: &str| json!({"name": name, "definition": {}});
    assert_eq!(
        post(&app, t, &views_path(&cid), &mk("A")).await.status(),
        201
    );
    let res = post(&app, t, &views_path(&cid), &mk("B")).await;
    let b = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = post(&app, t, &views_path(&cid), &mk("A")).await;
    assert_problem(res, 409, "conflict").await;
    let res = put(&app, t, &format!("{}/{b}", views_path(&cid)), &mk("A")).await;
    assert_problem(res, 409, "conflict").await;
    let big = "x".repeat(64 * 1024);
    for bad in [
        json!({"name": "", "definition": {}}),
        json!({"name": "n".repeat(101), "definition": {}}),
        json!({"name": "C", "definition": [1, 2]}),
        json!({"name": "C", "definition": "text"}),
        json!({"name": "C", "definition": {"big": big}}),
        json!({"name": "C"}),
        json!({"name": "C", "definition": {}, "id": "x"}),
    ] {
        let res = post(&app, t, &views_path(&cid), &bad).await;
        assert_problem(res, 422, "validation_failed").await;
    }
    assert_eq!(
        post(
            &app,
            t,
            &views_path(&cid),
            &json!({"name": "n".repeat(100), "definition": {}})
        )
        .await
        .status(),
        201
    );
    assert_eq!(view_count(&app, &cid).await, 3);
    assert_eq!(entries_of(&app, &cid, "view.created").await, 3);
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 0);
    // Sorted by name, paginated.
    let res = app
        .get_as(&format!("{}?limit=2", views_path(&cid)), t)
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"][0]["name"], "A");
    assert_eq!(page["items"][1]["name"], "B");
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let res = app
        .get_as(&format!("{}?limit=2&cursor={cursor}", views_path(&cid)), t)
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null());
}

async fn s4_a_cancelled_connection_refuses_view_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "BI", "xero_power_bi").await;
    let t = &ada.access_token;
    let res = post(
        &app,
        t,
        &views_path(&cid),
        &json!({"name": "A", "definition": {}}),
    )
    .await;
    let vid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = post(
        &app,
        t,
        &format!("/api/v1/connections/{cid}/cancel"),
        &json!({}),
    )
    .await;
    assert_eq!(cancel.status(), 200);
    let before = entries(&app, &cid).await;
    let res = post(
        &app,
        t,
        &views_path(&cid),
        &json!({"name": "B", "definition": {}}),
    )
    .await;
    assert_problem(res, 409, "connection_cancelled").await;
    let path = format!("{}/{vid}", views_path(&cid));
    let res = put(&app, t, &path, &json!({"name": "B", "definition": {}})).await;
    assert_problem(res, 409, "connection_cancelled").await;
    assert_problem(app.delete_as(&path, t).await, 409, "connection_cancelled").await;
    assert_eq!(app.get_as(&views_path(&cid), t).await.status(), 200);
    assert_eq!(entries(&app, &cid).await, before);
    assert_eq!(view_count(&app, &cid).await, 1);
}

async fn s5_another_tenant_gets_404_for_views(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "BI", "xero_power_bi").await;
    let res = post(
        &app,
        &ada.access_token,
        &views_path(&cid),
        &json!({"name": "A", "definition": {}}),
    )
    .await;
    let vid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    // Eve owns a connection of her own, so the view id is tried there too.
    let hers = create(&app, &eve, "Hers", "xero_power_bi").await;
    let t = &eve.access_token;
    assert_problem(app.get_as(&views_path(&cid), t).await, 404, "not_found").await;
    let body = json!({"name": "B", "definition": {}});
    assert_problem(
        post(&app, t, &views_path(&cid), &body).await,
        404,
        "not_found",
    )
    .await;
    for c in [&cid, &hers] {
        let path = format!("{}/{vid}", views_path(c));
        assert_problem(put(&app, t, &path, &body).await, 404, "not_found").await;
        assert_problem(app.delete_as(&path, t).await, 404, "not_found").await;
    }
    assert_eq!(view_count(&app, &cid).await, 1);
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 0);
}
