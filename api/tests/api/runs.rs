//! Sync runs, sync status and engine tokens (SPEC S4, S5, S7, S8). Expected outcomes are
//! written here from the SPEC, never derived from `shared`.

use serde_json::{Value, json};

use crate::helpers::{
    Backend, Session, TestApp, assert_problem, grant, id, patch, people::*, spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(
    s4_a_manual_run_is_refused_while_an_endpoint_is_disconnected,
    s4_a_cancelled_connection_refuses_runs_until_paid,
    s4_run_entities_are_validated_per_kind,
    s5_read_only_member_cannot_run_but_can_list_runs,
    s5_a_non_member_gets_404_for_every_run_and_view_operation,
    s4_hidden_runs_are_left_out_unless_asked_for,
    s4_the_engine_reports_progress_through_allowed_transitions_only,
    s4_engine_tokens_and_user_credentials_do_not_mix,
    s4_sync_status_shows_latest_run_and_endpoints_of_my_connections_only,
    s8_run_history_is_paginated_newest_first,
);

pub async fn create(app: &TestApp, owner: &Session, name: &str, kind: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/connections",
            Some(&owner.access_token),
            &json!({"name": name, "kind": kind, "timezone": "Europe/London"}),
        )
        .await;
    assert_eq!(res.status(), 201, "create {name}");
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.post_json(path, Some(token), body).await
}

pub async fn reconnect(app: &TestApp, owner: &Session, cid: &str, side: &str) {
    let res = post(
        app,
        &owner.access_token,
        &format!("/api/v1/connections/{cid}/endpoints/{side}/reconnect"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "reconnect {side}");
}

/// A connection with both endpoints connected.
pub async fn ready(app: &TestApp, owner: &Session, name: &str, kind: &str) -> String {
    let cid = create(app, owner, name, kind).await;
    reconnect(app, owner, &cid, "source").await;
    reconnect(app, owner, &cid, "target").await;
    cid
}

pub async fn run(app: &TestApp, token: &str, cid: &str, body: &Value) -> reqwest::Response {
    post(app, token, &format!("/api/v1/connections/{cid}/runs"), body).await
}

/// Requests a run (must succeed); returns its id.
async fn run_ok(app: &TestApp, token: &str, cid: &str) -> String {
    let res = run(app, token, cid, &json!({})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

pub async fn entries_of(app: &TestApp, cid: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' AND action = '{action}'"
    ))
    .await
}

pub async fn entries(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}'"
    ))
    .await
}

async fn runs_of(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM sync_runs WHERE connection_id = '{cid}'"
    ))
    .await
}

async fn engine_token(app: &TestApp, admin: &Session) -> (String, String) {
    let res = post(
        app,
        &admin.access_token,
        "/api/v1/engine-tokens",
        &json!({"name": "engine-1"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

async fn progress(
    app: &TestApp,
    token: &str,
    cid: &str,
    run_id: &str,
    body: &Value,
) -> reqwest::Response {
    patch(
        app,
        token,
        &format!("/api/v1/connections/{cid}/runs/{run_id}"),
        body,
    )
    .await
}

async fn s4_a_manual_run_is_refused_while_an_endpoint_is_disconnected(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "Books", "autotask_quickbooks").await;
    // New connections start with both endpoints disconnected.
    let res = run(&app, &ada.access_token, &cid, &json!({})).await;
    assert_problem(res, 409, "endpoint_disconnected").await;
    reconnect(&app, &ada, &cid, "source").await;
    let res = run(&app, &ada.access_token, &cid, &json!({})).await;
    assert_problem(res, 409, "endpoint_disconnected").await;
    assert_eq!(runs_of(&app, &cid).await, 0);
    assert_eq!(entries_of(&app, &cid, "sync_run.requested").await, 0);

    reconnect(&app, &ada, &cid, "target").await;
    let before = entries(&app, &cid).await;
    let res = run(&app, &ada.access_token, &cid, &json!({})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    assert_eq!(body["origin"], "manual");
    assert_eq!(body["connection_id"], cid.as_str());
    assert_eq!(
        body["entities"],
        json!(["invoices", "purchase_orders", "expenses"])
    );
    assert_eq!(body["requested_by"], id(&ada).as_str());
    assert!(body["requested_at"].is_string());
    assert!(body["started_at"].is_null() && body["finished_at"].is_null());
    assert_eq!(body["hidden"], false);
    assert_eq!(runs_of(&app, &cid).await, 1);
    assert_eq!(entries(&app, &cid).await, before + 1);
    assert_eq!(entries_of(&app, &cid, "sync_run.requested").await, 1);

    // Disconnecting again refuses runs again.
    let res = post(
        &app,
        &ada.access_token,
        &format!("/api/v1/connections/{cid}/endpoints/target/disconnect"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = run(&app, &ada.access_token, &cid, &json!({})).await;
    assert_problem(res, 409, "endpoint_disconnected").await;
    assert_eq!(runs_of(&app, &cid).await, 1);
}

async fn s4_a_cancelled_connection_refuses_runs_until_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = ready(&app, &ada, "Books", "autotask_xero").await;
    let res = post(
        &app,
        &ada.access_token,
        &format!("/api/v1/connections/{cid}/cancel"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = run(&app, &ada.access_token, &cid, &json!({})).await;
    assert_problem(res, 409, "connection_cancelled").await;
    assert_eq!(runs_of(&app, &cid).await, 0);
    // History stays readable.
    let res = app
        .get_as(
            &format!("/api/v1/connections/{cid}/runs"),
            &ada.access_token,
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = post(
        &app,
        &ada.access_token,
        &format!("/api/v1/connections/{cid}/pay"),
        &json!({"months": 1, "amount_cents": 100, "currency": "USD"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    run_ok(&app, &ada.access_token, &cid).await;
    assert_eq!(runs_of(&app, &cid).await, 1);
}

async fn s4_run_entities_are_validated_per_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let aq = ready(&app, &ada, "AQ", "autotask_quickbooks").await;
    let t = &ada.access_token;
    let res = run(&app, t, &aq, &json!({"entities": ["expenses", "invoices"]})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["entities"], json!(["expenses", "invoices"]));
    for bad in [
        json!({"entities": []}),
        json!({"entities": ["bills"]}),
        json!({"entities": ["invoices", "invoices"]}),
        json!({"entities": "invoices"}),
        json!({"entities": ["invoices"], "status": "running"}),
    ] {
        let res = run(&app, t, &aq, &bad).await;
        assert_problem(res, 422, "validation_failed").await;
    }
    assert_eq!(runs_of(&app, &aq).await, 1);
    assert_eq!(entries_of(&app, &aq, "sync_run.requested").await, 1);

    for kind in ["autotask_xero", "xero_power_bi", "quickbooks_power_bi"] {
        let cid = ready(&app, &ada, kind, kind).await;
        let res = run(&app, t, &cid, &json!({"entities": ["invoices"]})).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "entities");
        for ok in [json!({}), json!({"entities": []})] {
            let res = run(&app, t, &cid, &ok).await;
            assert_eq!(res.status(), 201, "{kind} {ok}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["entities"], json!([]));
        }
        assert_eq!(runs_of(&app, &cid).await, 2);
    }
}

async fn s5_read_only_member_cannot_run_but_can_list_runs(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = ready(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    grant(&app, &tenant, &cid, &id(&bob), "it_admin").await;
    run_ok(&app, &ada.access_token, &cid).await;
    let res = run(&app, &tess.access_token, &cid, &json!({})).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .get_as(
            &format!("/api/v1/connections/{cid}/runs"),
            &tess.access_token,
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    // An IT administrator may run.
    let res = run(&app, &bob.access_token, &cid, &json!({})).await;
    assert_eq!(res.status(), 201);
    assert_eq!(runs_of(&app, &cid).await, 2);
    assert_eq!(entries_of(&app, &cid, "sync_run.requested").await, 2);
}

async fn s5_a_non_member_gets_404_for_every_run_and_view_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, tess) = team(&app).await;
    let cid = ready(&app, &ada, "Private", "xero_power_bi").await;
    let run_id = run_ok(&app, &ada.access_token, &cid).await;
    let res = post(
        &app,
        &ada.access_token,
        &format!("/api/v1/connections/{cid}/views"),
        &json!({"name": "V", "definition": {}}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    let view_id = view["id"].as_str().unwrap().to_owned();
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let before = entries(&app, &cid).await;
    for who in [&tess, &eve] {
        let t = &who.access_token;
        for c in [cid.as_str(), "00000000-0000-0000-0000-000000000000"] {
            let base = format!("/api/v1/connections/{c}");
            assert_problem(
                app.get_as(&format!("{base}/runs"), t).await,
                404,
                "not_found",
            )
            .await;
            assert_problem(run(&app, t, c, &json!({})).await, 404, "not_found").await;
            for op in ["hide", "unhide"] {
                let res = post(&app, t, &format!("{base}/runs/{run_id}/{op}"), &json!({})).await;
                assert_problem(res, 404, "not_found").await;
            }
            assert_problem(
                app.get_as(&format!("{base}/views"), t).await,
                404,
                "not_found",
            )
            .await;
            let body = json!({"name": "X", "definition": {}});
            let res = post(&app, t, &format!("{base}/views"), &body).await;
            assert_problem(res, 404, "not_found").await;
            let res = crate::helpers::put(&app, t, &format!("{base}/views/{view_id}"), &body).await;
            assert_problem(res, 404, "not_found").await;
            let res = app.delete_as(&format!("{base}/views/{view_id}"), t).await;
            assert_problem(res, 404, "not_found").await;
        }
    }
    assert_eq!(entries(&app, &cid).await, before);
    assert_eq!(runs_of(&app, &cid).await, 1);
    assert_eq!(app.count("connection_views").await, 1);
}

async fn s4_hidden_runs_are_left_out_unless_asked_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let cid = ready(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    let first = run_ok(&app, &ada.access_token, &cid).await;
    let second = run_ok(&app, &ada.access_token, &cid).await;
    let base = format!("/api/v1/connections/{cid}/runs");

    let res = post(
        &app,
        &tess.access_token,
        &format!("{base}/{first}/hide"),
        &json!({}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;

    let res = post(
        &app,
        &ada.access_token,
        &format!("{base}/{first}/hide"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["hidden"], true);
    assert_eq!(body["hidden_by"], id(&ada).as_str());
    assert!(body["hidden_at"].is_string());
    assert_eq!(entries_of(&app, &cid, "sync_run.hidden").await, 1);
    // Already hidden: no change, no entry.
    let res = post(
        &app,
        &ada.access_token,
        &format!("{base}/{first}/hide"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &cid, "sync_run.hidden").await, 1);

    let list = |q: &'static str| {
        let app = &app;
        let path = format!("{base}{q}");
        let token = tess.access_token.clone();
        async move {
            let res = app.get_as(&path, &token).await;
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, vec![second.clone()]);
    assert_eq!(list("?include_hidden=false").await, vec![second.clone()]);
    assert_eq!(
        list("?include_hidden=true").await,
        vec![second.clone(), first.clone()]
    );
    let hidden_rows = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sync_runs WHERE connection_id = '{cid}' AND hidden = TRUE AND hidden_by IS NOT NULL"
        ))
        .await;
    assert_eq!(hidden_rows, 1);

    let res = post(
        &app,
        &ada.access_token,
        &format!("{base}/{first}/unhide"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["hidden"], false);
    assert!(body["hidden_by"].is_null());
    assert_eq!(entries_of(&app, &cid, "sync_run.unhidden").await, 1);
    let res = post(
        &app,
        &ada.access_token,
        &format!("{base}/{first}/unhide"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &cid, "sync_run.unhidden").await, 1);
    assert_eq!(list("").await, vec![second.clone(), first.clone()]);
    // A run of another connection is not found under this one.
    let other = ready(&app, &ada, "Other", "autotask_xero").await;
    let res = post(
        &app,
        &ada.access_token,
        &format!("/api/v1/connections/{other}/runs/{first}/hide"),
        &json!({}),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
}

async fn s4_the_engine_reports_progress_through_allowed_transitions_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = ready(&app, &ada, "Books", "autotask_quickbooks").await;
    let (token_id, engine) = engine_token(&app, &ada).await;
    let run_id = run_ok(&app, &ada.access_token, &cid).await;

    for bad in ["succeeded", "failed", "queued"] {
        let res = progress(&app, &engine, &cid, &run_id, &json!({"status": bad})).await;
        assert_problem(res, 409, "conflict").await;
    }
    let res = progress(&app, &engine, &cid, &run_id, &json!({"status": "running"})).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "running");
    assert!(body["started_at"].is_string() && body["finished_at"].is_null());
    let res = progress(
        &app,
        &engine,
        &cid,
        &run_id,
        &json!({"status": "succeeded", "records_processed": -1}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = progress(
        &app,
        &engine,
        &cid,
        &run_id,
        &json!({"status": "succeeded", "details": [1]}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = progress(
        &app,
        &engine,
        &cid,
        &run_id,
        &json!({"status": "succeeded", "records_processed": 42, "details": {"pages": 3}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["records_processed"], 42);
    assert_eq!(body["details"], json!({"pages": 3}));
    assert!(body["finished_at"].is_string());
    for bad in ["running", "failed", "cancelled"] {
        let res = progress(&app, &engine, &cid, &run_id, &json!({"status": bad})).await;
        assert_problem(res, 409, "conflict").await;
    }
    assert_eq!(entries_of(&app, &cid, "sync_run.progressed").await, 2);
    let by_engine = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' \
             AND action = 'sync_run.progressed' AND actor_kind = 'engine' \
             AND actor_token_id = '{token_id}' AND actor_user_id IS NULL"
        ))
        .await;
    assert_eq!(by_engine, 2);
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sync_runs WHERE id = '{run_id}' AND status = 'succeeded' \
             AND records_processed = 42 AND started_at IS NOT NULL AND finished_at IS NOT NULL"
        ))
        .await;
    assert_eq!(stored, 1);

    // queued → cancelled; running → failed with an error.
    let second = run_ok(&app, &ada.access_token, &cid).await;
    let res = progress(
        &app,
        &engine,
        &cid,
        &second,
        &json!({"status": "cancelled"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["started_at"].is_null() && body["finished_at"].is_string());
    let third = run_ok(&app, &ada.access_token, &cid).await;
    progress(&app, &engine, &cid, &third, &json!({"status": "running"})).await;
    let res = progress(
        &app,
        &engine,
        &cid,
        &third,
        &json!({"status": "failed", "error": "QuickBooks said no"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "QuickBooks said no");
    assert_eq!(entries_of(&app, &cid, "sync_run.progressed").await, 5);
    // Unknown run, or a run under the wrong connection: 404.
    let res = progress(
        &app,
        &engine,
        &cid,
        "00000000-0000-0000-0000-000000000000",
        &json!({"status": "running"}),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
}

async fn s4_engine_tokens_and_user_credentials_do_not_mix(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let cid = ready(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    let run_id = run_ok(&app, &ada.access_token, &cid).await;

    // Only elevated users mint engine tokens, from a console session.
    let res = post(
        &app,
        &tess.access_token,
        "/api/v1/engine-tokens",
        &json!({"name": "x"}),
    )
    .await;
    assert_problem(res, 403, "elevated_access_required").await;
    let personal = app.create_token(&ada.access_token, "read_write").await;
    let res = post(
        &app,
        &personal,
        "/api/v1/engine-tokens",
        &json!({"name": "x"}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    let res = post(
        &app,
        &ada.access_token,
        "/api/v1/engine-tokens",
        &json!({"name": " "}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let (token_id, engine) = engine_token(&app, &ada).await;
    assert!(engine.starts_with("hk_"));
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE id = '{token_id}' AND scope = 'engine' \
             AND user_id IS NULL AND token_hash <> '{engine}'"
        ))
        .await;
    assert_eq!(stored, 1);
    assert_eq!(app.activity_count(&tenant, "engine_token.created").await, 1);
    let res = app.get_as("/api/v1/engine-tokens", &ada.access_token).await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], token_id.as_str());
    assert!(list["items"][0].get("token").is_none());
    assert!(!list.to_string().contains(&engine));

    // The engine token calls no user endpoint.
    for path in [
        "/api/v1/me".to_owned(),
        format!("/api/v1/connections/{cid}/runs"),
        "/api/v1/sync-status".to_owned(),
    ] {
        let res = app.get_as(&path, &engine).await;
        assert_problem(res, 403, "insufficient_scope").await;
    }
    let res = run(&app, &engine, &cid, &json!({})).await;
    assert_problem(res, 403, "insufficient_scope").await;

    // User credentials cannot report progress.
    let body = json!({"status": "running"});
    for token in [&ada.access_token, &tess.access_token, &personal] {
        let res = progress(&app, token, &cid, &run_id, &body).await;
        assert_problem(res, 403, "insufficient_scope").await;
    }
    for token in ["hk_unknown", "not-a-jwt"] {
        let res = progress(&app, token, &cid, &run_id, &body).await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    assert_eq!(entries_of(&app, &cid, "sync_run.progressed").await, 0);

    // Another tenant's engine token does not see this tenant's runs.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let (_, foreign) = engine_token(&app, &eve).await;
    let res = progress(&app, &foreign, &cid, &run_id, &body).await;
    assert_problem(res, 404, "not_found").await;

    // Revoked: 401.
    let res = app
        .delete_as(
            &format!("/api/v1/engine-tokens/{token_id}"),
            &tess.access_token,
        )
        .await;
    assert_problem(res, 403, "elevated_access_required").await;
    let res = app
        .delete_as(
            &format!("/api/v1/engine-tokens/{token_id}"),
            &eve.access_token,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .delete_as(
            &format!("/api/v1/engine-tokens/{token_id}"),
            &ada.access_token,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.activity_count(&tenant, "engine_token.revoked").await, 1);
    let res = progress(&app, &engine, &cid, &run_id, &body).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .delete_as(
            &format!("/api/v1/engine-tokens/{token_id}"),
            &ada.access_token,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    // A user token id is not an engine token.
    let res = app.get_as("/api/v1/me/tokens", &ada.access_token).await;
    let mine: Value = res.json().await.unwrap();
    let personal_id = mine["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .delete_as(
            &format!("/api/v1/engine-tokens/{personal_id}"),
            &ada.access_token,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

async fn s4_sync_status_shows_latest_run_and_endpoints_of_my_connections_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let mine = ready(&app, &ada, "Mine", "autotask_quickbooks").await;
    let idle = create(&app, &ada, "Idle", "xero_power_bi").await;
    let hidden_only = ready(&app, &ada, "Hidden", "autotask_xero").await;
    let theirs = ready(&app, &ada, "Not Tess's", "autotask_xero").await;
    grant(&app, &tenant, &mine, &id(&tess), "read_only").await;
    grant(&app, &tenant, &idle, &id(&tess), "it_admin").await;
    grant(&app, &tenant, &hidden_only, &id(&tess), "it_admin").await;
    run_ok(&app, &ada.access_token, &mine).await;
    let latest = run_ok(&app, &ada.access_token, &mine).await;
    run_ok(&app, &ada.access_token, &theirs).await;
    let h = run_ok(&app, &ada.access_token, &hidden_only).await;
    let res = post(
        &app,
        &ada.access_token,
        &format!("/api/v1/connections/{hidden_only}/runs/{h}/hide"),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);

    let res = app.get_as("/api/v1/sync-status", &tess.access_token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["connection"]["id"].as_str().unwrap())
        .collect();
    let mut expected = vec![mine.as_str(), idle.as_str(), hidden_only.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let item = |cid: &str| items.iter().find(|i| i["connection"]["id"] == cid).unwrap();
    let m = item(&mine);
    assert_eq!(m["connection"]["name"], "Mine");
    assert_eq!(m["connection"]["kind"], "autotask_quickbooks");
    assert_eq!(m["connection"]["status"], "active");
    assert_eq!(m["latest_run"]["id"], latest.as_str());
    assert_eq!(
        m["endpoints"],
        json!([
            {"side": "source", "system": "autotask", "status": "connected"},
            {"side": "target", "system": "quickbooks_online", "status": "connected"},
        ])
    );
    let i = item(&idle);
    assert!(i["latest_run"].is_null());
    assert_eq!(i["endpoints"][0]["status"], "disconnected");
    assert_eq!(i["endpoints"][1]["system"], "power_bi");
    assert!(item(&hidden_only)["latest_run"].is_null());

    // Ada sees all four.
    let res = app.get_as("/api/v1/sync-status", &ada.access_token).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 4);
    // Paginated by connection.
    let res = app
        .get_as("/api/v1/sync-status?limit=2", &ada.access_token)
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let res = app
        .get_as(
            &format!("/api/v1/sync-status?limit=2&cursor={cursor}"),
            &ada.access_token,
        )
        .await;
    let page2: Value = res.json().await.unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());
    // Another tenant's user sees none of them.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let res = app.get_as("/api/v1/sync-status", &eve.access_token).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"], json!([]));
}

async fn s8_run_history_is_paginated_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = ready(&app, &ada, "Books", "autotask_xero").await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(run_ok(&app, &ada.access_token, &cid).await);
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_owned(),
        };
        let res = app
            .get_as(
                &format!("/api/v1/connections/{cid}/runs{q}"),
                &ada.access_token,
            )
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        for r in body["items"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let res = app
        .get_as(
            &format!("/api/v1/connections/{cid}/runs?limit=0"),
            &ada.access_token,
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
}
