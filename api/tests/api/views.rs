//! Connection views (SPEC S4, S5, S7): kinds with views only, `manage_views` for owner and
//! business administrators, duplicate names refused, one entry per change.

use hubkeep_shared::api::PageQuery;
use reqwest::Method;
use serde_json::json;

use crate::client::view;
use crate::helpers::{
    Backend, TestApp, create_connection, entries, entries_of, grant, id, people::*, spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(
    s4_views_are_created_updated_and_deleted_with_one_entry_each,
    s5_only_owner_and_business_admin_manage_views_and_every_member_lists_them,
    s4_kinds_without_views_answer_not_supported_for_kind,
    s4_view_names_are_unique_and_definitions_are_json_objects,
    s4_a_cancelled_connection_refuses_view_changes,
    s5_another_tenant_gets_404_for_views,
);

async fn view_count(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM connection_views WHERE connection_id = '{cid}'"
    ))
    .await
}

async fn s4_views_are_created_updated_and_deleted_with_one_entry_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create_connection(&app, &ada, "BI", "xero_power_bi").await;
    let c = app.as_(&ada);
    let before = entries(&app, &cid).await;
    let created = c
        .create_view(&cid, &view("  Revenue  ", json!({"columns": ["a", "b"]})))
        .await
        .expect_json(201)
        .await;
    assert_eq!(created["name"], "Revenue");
    assert_eq!(created["connection_id"], cid.as_str());
    assert_eq!(created["definition"], json!({"columns": ["a", "b"]}));
    assert_eq!(created["created_by"], id(&ada).as_str());
    let vid = created["id"].as_str().unwrap().to_owned();
    assert_eq!(view_count(&app, &cid).await, 1);
    assert_eq!(entries(&app, &cid).await, before + 1);
    assert_eq!(entries_of(&app, &cid, "view.created").await, 1);

    let list = c
        .list_views(&cid, &PageQuery::default())
        .await
        .expect_json(200)
        .await;
    assert_eq!(list["items"][0]["id"], vid.as_str());
    assert!(list["next_cursor"].is_null());

    let updated = c
        .update_view(&cid, &vid, &view("Income", json!({"x": 1})))
        .await
        .expect_json(200)
        .await;
    assert_eq!(updated["name"], "Income");
    assert_eq!(updated["definition"], json!({"x": 1}));
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 1);
    // The same values again: no change, no entry.
    c.update_view(&cid, &vid, &view("Income", json!({"x": 1})))
        .await
        .expect(200)
        .await;
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 1);

    c.delete_view(&cid, &vid).await.expect(204).await;
    assert_eq!(view_count(&app, &cid).await, 0);
    assert_eq!(entries_of(&app, &cid, "view.deleted").await, 1);
    assert_eq!(entries(&app, &cid).await, before + 3);
    c.delete_view(&cid, &vid)
        .await
        .problem(404, "not_found")
        .await;
    c.update_view(&cid, &vid, &view("Again", json!({})))
        .await
        .problem(404, "not_found")
        .await;
}

async fn s5_only_owner_and_business_admin_manage_views_and_every_member_lists_them(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = create_connection(&app, &ada, "BI", "quickbooks_power_bi").await;
    grant(&app, &tenant, &cid, &id(&bob), "business_admin").await;
    let as_bob = app.as_(&bob);
    let vid = as_bob
        .create_view(&cid, &view("By Bob", json!({})))
        .await
        .expect(201)
        .await
        .id;
    for role in ["it_admin", "read_only"] {
        grant(&app, &tenant, &cid, &id(&tess), role).await;
        let c = app.as_(&tess);
        let before = entries(&app, &cid).await;
        c.create_view(&cid, &view("T", json!({})))
            .await
            .problem(403, "forbidden")
            .await;
        c.update_view(&cid, &vid, &view("T", json!({})))
            .await
            .problem(403, "forbidden")
            .await;
        c.delete_view(&cid, &vid)
            .await
            .problem(403, "forbidden")
            .await;
        let res = c.list_views(&cid, &PageQuery::default()).await;
        assert_eq!(res.status(), 200, "{role} lists views");
        let list = res.json().await;
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
    as_bob
        .update_view(&cid, &vid, &view("By Bob", json!({"v": 2})))
        .await
        .expect(200)
        .await;
    assert_eq!(as_bob.delete_view(&cid, &vid).await.status(), 204);
}

async fn s4_kinds_without_views_answer_not_supported_for_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    for kind in ["autotask_quickbooks", "autotask_xero"] {
        let cid = create_connection(&app, &ada, kind, kind).await;
        grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
        for who in [&ada, &tess] {
            let c = app.as_(who);
            let body = view("V", json!({}));
            let vid = "00000000-0000-0000-0000-000000000000";
            c.list_views(&cid, &PageQuery::default())
                .await
                .problem(422, "not_supported_for_kind")
                .await;
            c.create_view(&cid, &body)
                .await
                .problem(422, "not_supported_for_kind")
                .await;
            c.update_view(&cid, vid, &body)
                .await
                .problem(422, "not_supported_for_kind")
                .await;
            c.delete_view(&cid, vid)
                .await
                .problem(422, "not_supported_for_kind")
                .await;
        }
        assert_eq!(view_count(&app, &cid).await, 0);
        assert_eq!(entries_of(&app, &cid, "view.created").await, 0);
    }
}

async fn s4_view_names_are_unique_and_definitions_are_json_objects(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create_connection(&app, &ada, "BI", "xero_power_bi").await;
    let c = app.as_(&ada);
    let mk = |name: &str| view(name, json!({}));
    assert_eq!(c.create_view(&cid, &mk("A")).await.status(), 201);
    let b = c.create_view(&cid, &mk("B")).await.ok().await.id;
    c.create_view(&cid, &mk("A"))
        .await
        .problem(409, "conflict")
        .await;
    c.update_view(&cid, &b, &mk("A"))
        .await
        .problem(409, "conflict")
        .await;
    let big = "x".repeat(64 * 1024);
    for bad in [
        view("", json!({})),
        view(&"n".repeat(101), json!({})),
        view("C", json!([1, 2])),
        view("C", json!("text")),
        view("C", json!({"big": big})),
    ] {
        c.create_view(&cid, &bad)
            .await
            .problem(422, "validation_failed")
            .await;
    }
    // Bodies outside the schema: no definition, an unknown field.
    for bad in [
        json!({"name": "C"}),
        json!({"name": "C", "definition": {}, "id": "x"}),
    ] {
        c.raw(
            Method::POST,
            &format!("/api/v1/connections/{cid}/views"),
            Some(&bad),
        )
        .await
        .problem(422, "validation_failed")
        .await;
    }
    assert_eq!(
        c.create_view(&cid, &mk(&"n".repeat(100))).await.status(),
        201
    );
    assert_eq!(view_count(&app, &cid).await, 3);
    assert_eq!(entries_of(&app, &cid, "view.created").await, 3);
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 0);
    // Sorted by name, paginated.
    let page = c
        .list_views(
            &cid,
            &PageQuery {
                limit: Some(2),
                cursor: None,
            },
        )
        .await
        .json()
        .await;
    assert_eq!(page["items"][0]["name"], "A");
    assert_eq!(page["items"][1]["name"], "B");
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let page = c
        .list_views(
            &cid,
            &PageQuery {
                limit: Some(2),
                cursor: Some(cursor),
            },
        )
        .await
        .json()
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null());
}

async fn s4_a_cancelled_connection_refuses_view_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create_connection(&app, &ada, "BI", "xero_power_bi").await;
    let c = app.as_(&ada);
    let vid = c
        .create_view(&cid, &view("A", json!({})))
        .await
        .ok()
        .await
        .id;
    c.cancel_connection(&cid).await.expect(200).await;
    let before = entries(&app, &cid).await;
    c.create_view(&cid, &view("B", json!({})))
        .await
        .problem(409, "connection_cancelled")
        .await;
    c.update_view(&cid, &vid, &view("B", json!({})))
        .await
        .problem(409, "connection_cancelled")
        .await;
    c.delete_view(&cid, &vid)
        .await
        .problem(409, "connection_cancelled")
        .await;
    assert_eq!(
        c.list_views(&cid, &PageQuery::default()).await.status(),
        200
    );
    assert_eq!(entries(&app, &cid).await, before);
    assert_eq!(view_count(&app, &cid).await, 1);
}

async fn s5_another_tenant_gets_404_for_views(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create_connection(&app, &ada, "BI", "xero_power_bi").await;
    let vid = app
        .as_(&ada)
        .create_view(&cid, &view("A", json!({})))
        .await
        .ok()
        .await
        .id;
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    // Eve owns a connection of her own, so the view id is tried there too.
    let hers = create_connection(&app, &eve, "Hers", "xero_power_bi").await;
    let c = app.as_(&eve);
    c.list_views(&cid, &PageQuery::default())
        .await
        .problem(404, "not_found")
        .await;
    let body = view("B", json!({}));
    c.create_view(&cid, &body)
        .await
        .problem(404, "not_found")
        .await;
    for conn in [&cid, &hers] {
        c.update_view(conn, &vid, &body)
            .await
            .problem(404, "not_found")
            .await;
        c.delete_view(conn, &vid)
            .await
            .problem(404, "not_found")
            .await;
    }
    assert_eq!(view_count(&app, &cid).await, 1);
    assert_eq!(entries_of(&app, &cid, "view.updated").await, 0);
}
