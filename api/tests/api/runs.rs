//! Sync runs, sync status and engine tokens (SPEC S4, S5, S7, S8). Expected outcomes are
//! written here from the SPEC, never derived from `shared`.

use hubkeep_shared::RunId;
use hubkeep_shared::api::{
    CreateEngineToken, CreatedEngineToken, PageQuery, RunProgress, RunRequest, RunStatus,
};
use reqwest::Method;
use serde_json::json;

use crate::client::{payment, progress, view};
use crate::helpers::{
    Backend, TestApp, create_connection, entries, entries_of, grant, id, people::*,
    ready_connection, reconnect, requested_run, spawn_app, team,
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

/// `{}`: every entity the kind syncs.
fn all() -> RunRequest {
    RunRequest::default()
}

fn entities(names: &[&str]) -> RunRequest {
    RunRequest {
        entities: Some(names.iter().map(|n| (*n).to_owned()).collect()),
    }
}

async fn runs_of(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM sync_runs WHERE connection_id = '{cid}'"
    ))
    .await
}

/// The body of the engine tokens these tests make.
fn engine_token_body() -> CreateEngineToken {
    CreateEngineToken {
        name: "engine-1".into(),
    }
}

async fn s4_a_manual_run_is_refused_while_an_endpoint_is_disconnected(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create_connection(&app, &ada, "Books", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    // New connections start with both endpoints disconnected.
    as_ada
        .request_run(&cid, &all())
        .await
        .problem(409, "endpoint_disconnected")
        .await;
    reconnect(&app, &ada, &cid, "source").await;
    as_ada
        .request_run(&cid, &all())
        .await
        .problem(409, "endpoint_disconnected")
        .await;
    assert_eq!(runs_of(&app, &cid).await, 0);
    assert_eq!(entries_of(&app, &cid, "sync_run.requested").await, 0);

    reconnect(&app, &ada, &cid, "target").await;
    let before = entries(&app, &cid).await;
    let body = as_ada
        .request_run(&cid, &all())
        .await
        .expect_json(201)
        .await;
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
    as_ada
        .disconnect_endpoint(&cid, "target")
        .await
        .expect(200)
        .await;
    as_ada
        .request_run(&cid, &all())
        .await
        .problem(409, "endpoint_disconnected")
        .await;
    assert_eq!(runs_of(&app, &cid).await, 1);
}

async fn s4_a_cancelled_connection_refuses_runs_until_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Books", "autotask_xero").await;
    let as_ada = app.as_(&ada);
    as_ada.cancel_connection(&cid).await.expect(200).await;
    as_ada
        .request_run(&cid, &all())
        .await
        .problem(409, "connection_cancelled")
        .await;
    assert_eq!(runs_of(&app, &cid).await, 0);
    // History stays readable.
    as_ada
        .list_runs(&cid, None, &PageQuery::default())
        .await
        .expect(200)
        .await;
    as_ada
        .pay_connection(&cid, &payment(1, 100, "USD"))
        .await
        .expect(200)
        .await;
    requested_run(&app, &ada, &cid).await;
    assert_eq!(runs_of(&app, &cid).await, 1);
}

async fn s4_run_entities_are_validated_per_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let aq = ready_connection(&app, &ada, "AQ", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    let body = as_ada
        .request_run(&aq, &entities(&["expenses", "invoices"]))
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["entities"], json!(["expenses", "invoices"]));
    for bad in [
        entities(&[]),
        entities(&["bills"]),
        entities(&["invoices", "invoices"]),
    ] {
        as_ada
            .request_run(&aq, &bad)
            .await
            .problem(422, "validation_failed")
            .await;
    }
    // Bodies outside the schema: a string for the list, an unknown field.
    for bad in [
        json!({"entities": "invoices"}),
        json!({"entities": ["invoices"], "status": "running"}),
    ] {
        as_ada
            .raw(
                Method::POST,
                &format!("/api/v1/connections/{aq}/runs"),
                Some(&bad),
            )
            .await
            .problem(422, "validation_failed")
            .await;
    }
    assert_eq!(runs_of(&app, &aq).await, 1);
    assert_eq!(entries_of(&app, &aq, "sync_run.requested").await, 1);

    for kind in ["autotask_xero", "xero_power_bi", "quickbooks_power_bi"] {
        let cid = ready_connection(&app, &ada, kind, kind).await;
        let body = as_ada
            .request_run(&cid, &entities(&["invoices"]))
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(body["errors"][0]["field"], "entities");
        for ok in [all(), entities(&[])] {
            let res = as_ada.request_run(&cid, &ok).await;
            assert_eq!(res.status(), 201, "{kind} {ok:?}");
            let body = res.json().await;
            assert_eq!(body["entities"], json!([]));
        }
        assert_eq!(runs_of(&app, &cid).await, 2);
    }
}

async fn s5_read_only_member_cannot_run_but_can_list_runs(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    grant(&app, &tenant, &cid, &id(&bob), "it_admin").await;
    requested_run(&app, &ada, &cid).await;
    let as_tess = app.as_(&tess);
    as_tess
        .request_run(&cid, &all())
        .await
        .problem(403, "forbidden")
        .await;
    let body = as_tess
        .list_runs(&cid, None, &PageQuery::default())
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    // An IT administrator may run.
    app.as_(&bob)
        .request_run(&cid, &all())
        .await
        .expect(201)
        .await;
    assert_eq!(runs_of(&app, &cid).await, 2);
    assert_eq!(entries_of(&app, &cid, "sync_run.requested").await, 2);
}

async fn s5_a_non_member_gets_404_for_every_run_and_view_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, tess) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Private", "xero_power_bi").await;
    let run_id = requested_run(&app, &ada, &cid).await;
    let view_id = app
        .as_(&ada)
        .create_view(&cid, &view("V", json!({})))
        .await
        .expect(201)
        .await
        .id;
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let before = entries(&app, &cid).await;
    for who in [&tess, &eve] {
        let c = app.as_(who);
        for cid in [cid.as_str(), "00000000-0000-0000-0000-000000000000"] {
            c.list_runs(cid, None, &PageQuery::default())
                .await
                .problem(404, "not_found")
                .await;
            c.request_run(cid, &all())
                .await
                .problem(404, "not_found")
                .await;
            c.hide_run(cid, &run_id)
                .await
                .problem(404, "not_found")
                .await;
            c.unhide_run(cid, &run_id)
                .await
                .problem(404, "not_found")
                .await;
            c.list_views(cid, &PageQuery::default())
                .await
                .problem(404, "not_found")
                .await;
            let body = view("X", json!({}));
            c.create_view(cid, &body)
                .await
                .problem(404, "not_found")
                .await;
            c.update_view(cid, &view_id, &body)
                .await
                .problem(404, "not_found")
                .await;
            c.delete_view(cid, &view_id)
                .await
                .problem(404, "not_found")
                .await;
        }
    }
    assert_eq!(entries(&app, &cid).await, before);
    assert_eq!(runs_of(&app, &cid).await, 1);
    assert_eq!(app.count("connection_views").await, 1);
}

async fn s4_hidden_runs_are_left_out_unless_asked_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    let first = requested_run(&app, &ada, &cid).await;
    let second = requested_run(&app, &ada, &cid).await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));

    as_tess
        .hide_run(&cid, &first)
        .await
        .problem(403, "forbidden")
        .await;

    let body = as_ada.hide_run(&cid, &first).await.expect_json(200).await;
    assert_eq!(body["hidden"], true);
    assert_eq!(body["hidden_by"], id(&ada).as_str());
    assert!(body["hidden_at"].is_string());
    assert_eq!(entries_of(&app, &cid, "sync_run.hidden").await, 1);
    // Already hidden: no change, no entry.
    as_ada.hide_run(&cid, &first).await.expect(200).await;
    assert_eq!(entries_of(&app, &cid, "sync_run.hidden").await, 1);

    let list = |include_hidden: Option<bool>| {
        let (as_tess, cid) = (&as_tess, &cid);
        async move {
            let body = as_tess
                .list_runs(cid, include_hidden, &PageQuery::default())
                .await
                .expect_json(200)
                .await;
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| RunId::new(r["id"].as_str().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(None).await, vec![second.clone()]);
    assert_eq!(list(Some(false)).await, vec![second.clone()]);
    assert_eq!(list(Some(true)).await, vec![second.clone(), first.clone()]);
    let hidden_rows = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sync_runs WHERE connection_id = '{cid}' AND hidden = TRUE AND hidden_by IS NOT NULL"
        ))
        .await;
    assert_eq!(hidden_rows, 1);

    let body = as_ada.unhide_run(&cid, &first).await.expect_json(200).await;
    assert_eq!(body["hidden"], false);
    assert!(body["hidden_by"].is_null());
    assert_eq!(entries_of(&app, &cid, "sync_run.unhidden").await, 1);
    as_ada.unhide_run(&cid, &first).await.expect(200).await;
    assert_eq!(entries_of(&app, &cid, "sync_run.unhidden").await, 1);
    assert_eq!(list(None).await, vec![second.clone(), first.clone()]);
    // A run of another connection is not found under this one.
    let other = ready_connection(&app, &ada, "Other", "autotask_xero").await;
    as_ada
        .hide_run(&other, &first)
        .await
        .problem(404, "not_found")
        .await;
}

async fn s4_the_engine_reports_progress_through_allowed_transitions_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Books", "autotask_quickbooks").await;
    let CreatedEngineToken {
        id: token_id,
        token: engine,
        ..
    } = app
        .as_(&ada)
        .create_engine_token(&engine_token_body())
        .await
        .expect(201)
        .await;
    let run_id = requested_run(&app, &ada, &cid).await;
    let as_engine = app.with_token(&engine);

    for bad in [RunStatus::Succeeded, RunStatus::Failed, RunStatus::Queued] {
        as_engine
            .report_run_progress(&cid, &run_id, &progress(bad))
            .await
            .problem(409, "conflict")
            .await;
    }
    let body = as_engine
        .report_run_progress(&cid, &run_id, &progress(RunStatus::Running))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["status"], "running");
    assert!(body["started_at"].is_string() && body["finished_at"].is_null());
    for bad in [
        RunProgress {
            records_processed: Some(-1),
            ..progress(RunStatus::Succeeded)
        },
        RunProgress {
            details: Some(json!([1])),
            ..progress(RunStatus::Succeeded)
        },
    ] {
        as_engine
            .report_run_progress(&cid, &run_id, &bad)
            .await
            .problem(422, "validation_failed")
            .await;
    }
    let done = RunProgress {
        records_processed: Some(42),
        details: Some(json!({"pages": 3})),
        ..progress(RunStatus::Succeeded)
    };
    let body = as_engine
        .report_run_progress(&cid, &run_id, &done)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["records_processed"], 42);
    assert_eq!(body["details"], json!({"pages": 3}));
    assert!(body["finished_at"].is_string());
    for bad in [RunStatus::Running, RunStatus::Failed, RunStatus::Cancelled] {
        as_engine
            .report_run_progress(&cid, &run_id, &progress(bad))
            .await
            .problem(409, "conflict")
            .await;
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
    let second = requested_run(&app, &ada, &cid).await;
    let body = as_engine
        .report_run_progress(&cid, &second, &progress(RunStatus::Cancelled))
        .await
        .expect_json(200)
        .await;
    assert!(body["started_at"].is_null() && body["finished_at"].is_string());
    let third = requested_run(&app, &ada, &cid).await;
    as_engine
        .report_run_progress(&cid, &third, &progress(RunStatus::Running))
        .await;
    let failed = RunProgress {
        error: Some("QuickBooks said no".into()),
        ..progress(RunStatus::Failed)
    };
    let body = as_engine
        .report_run_progress(&cid, &third, &failed)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["error"], "QuickBooks said no");
    assert_eq!(entries_of(&app, &cid, "sync_run.progressed").await, 5);
    // Unknown run, or a run under the wrong connection: 404.
    as_engine
        .report_run_progress(
            &cid,
            "00000000-0000-0000-0000-000000000000",
            &progress(RunStatus::Running),
        )
        .await
        .problem(404, "not_found")
        .await;
}

async fn s4_engine_tokens_and_user_credentials_do_not_mix(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    let run_id = requested_run(&app, &ada, &cid).await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));

    // Only elevated users mint engine tokens, from a console session.
    let x = CreateEngineToken { name: "x".into() };
    as_tess
        .create_engine_token(&x)
        .await
        .problem(403, "elevated_access_required")
        .await;
    let personal = app.create_token(&ada.access_token, "read_write").await;
    app.with_token(&personal)
        .create_engine_token(&x)
        .await
        .problem(403, "forbidden")
        .await;
    as_ada
        .create_engine_token(&CreateEngineToken { name: " ".into() })
        .await
        .problem(422, "validation_failed")
        .await;
    let CreatedEngineToken {
        id: token_id,
        token: engine,
        ..
    } = as_ada
        .create_engine_token(&engine_token_body())
        .await
        .expect(201)
        .await;
    assert!(engine.starts_with("hk_"));
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE id = '{token_id}' AND scope = 'engine' \
             AND user_id IS NULL AND token_hash <> '{engine}'"
        ))
        .await;
    assert_eq!(stored, 1);
    assert_eq!(app.activity_count(&tenant, "engine_token.created").await, 1);
    let list = as_ada
        .list_engine_tokens(&PageQuery::default())
        .await
        .expect_json(200)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], token_id.as_str());
    assert!(list["items"][0].get("token").is_none());
    assert!(!list.to_string().contains(&engine));

    // The engine token calls no user endpoint.
    let as_engine = app.with_token(&engine);
    as_engine
        .get_me()
        .await
        .problem(403, "insufficient_scope")
        .await;
    as_engine
        .list_runs(&cid, None, &PageQuery::default())
        .await
        .problem(403, "insufficient_scope")
        .await;
    as_engine
        .get_sync_status(&PageQuery::default())
        .await
        .problem(403, "insufficient_scope")
        .await;
    as_engine
        .request_run(&cid, &all())
        .await
        .problem(403, "insufficient_scope")
        .await;

    // User credentials cannot report progress.
    let body = progress(RunStatus::Running);
    for token in [&ada.access_token, &tess.access_token, &personal] {
        app.with_token(token)
            .report_run_progress(&cid, &run_id, &body)
            .await
            .problem(403, "insufficient_scope")
            .await;
    }
    for token in ["hk_unknown", "not-a-jwt"] {
        app.with_token(token)
            .report_run_progress(&cid, &run_id, &body)
            .await
            .problem(401, "unauthenticated")
            .await;
    }
    assert_eq!(entries_of(&app, &cid, "sync_run.progressed").await, 0);

    // Another tenant's engine token does not see this tenant's runs.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let foreign = app
        .as_(&eve)
        .create_engine_token(&engine_token_body())
        .await
        .expect(201)
        .await
        .token;
    app.with_token(&foreign)
        .report_run_progress(&cid, &run_id, &body)
        .await
        .problem(404, "not_found")
        .await;

    // Revoked: 401.
    as_tess
        .revoke_engine_token(&token_id)
        .await
        .problem(403, "elevated_access_required")
        .await;
    app.as_(&eve)
        .revoke_engine_token(&token_id)
        .await
        .problem(404, "not_found")
        .await;
    as_ada
        .revoke_engine_token(&token_id)
        .await
        .expect(204)
        .await;
    assert_eq!(app.activity_count(&tenant, "engine_token.revoked").await, 1);
    as_engine
        .report_run_progress(&cid, &run_id, &body)
        .await
        .problem(401, "unauthenticated")
        .await;
    as_ada
        .revoke_engine_token(&token_id)
        .await
        .problem(404, "not_found")
        .await;
    // A user token id is not an engine token.
    let mine = as_ada
        .list_my_tokens(&PageQuery::default())
        .await
        .ok()
        .await;
    let personal_id = mine.items[0].id.clone();
    as_ada
        .revoke_engine_token(&personal_id)
        .await
        .problem(404, "not_found")
        .await;
}

async fn s4_sync_status_shows_latest_run_and_endpoints_of_my_connections_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let mine = ready_connection(&app, &ada, "Mine", "autotask_quickbooks").await;
    let idle = create_connection(&app, &ada, "Idle", "xero_power_bi").await;
    let hidden_only = ready_connection(&app, &ada, "Hidden", "autotask_xero").await;
    let theirs = ready_connection(&app, &ada, "Not Tess's", "autotask_xero").await;
    grant(&app, &tenant, &mine, &id(&tess), "read_only").await;
    grant(&app, &tenant, &idle, &id(&tess), "it_admin").await;
    grant(&app, &tenant, &hidden_only, &id(&tess), "it_admin").await;
    requested_run(&app, &ada, &mine).await;
    let latest = requested_run(&app, &ada, &mine).await;
    requested_run(&app, &ada, &theirs).await;
    let h = requested_run(&app, &ada, &hidden_only).await;
    let as_ada = app.as_(&ada);
    as_ada.hide_run(&hidden_only, &h).await.expect(200).await;

    let body = app
        .as_(&tess)
        .get_sync_status(&PageQuery::default())
        .await
        .expect_json(200)
        .await;
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
    let body = as_ada
        .get_sync_status(&PageQuery::default())
        .await
        .json()
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 4);
    // Paginated by connection.
    let page = as_ada
        .get_sync_status(&PageQuery {
            limit: Some(2),
            cursor: None,
        })
        .await
        .json()
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let page2 = as_ada
        .get_sync_status(&PageQuery {
            limit: Some(2),
            cursor: Some(cursor),
        })
        .await
        .json()
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());
    // Another tenant's user sees none of them.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let body = app
        .as_(&eve)
        .get_sync_status(&PageQuery::default())
        .await
        .json()
        .await;
    assert_eq!(body["items"], json!([]));
}

async fn s8_run_history_is_paginated_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = ready_connection(&app, &ada, "Books", "autotask_xero").await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(requested_run(&app, &ada, &cid).await);
    }
    made.reverse();
    let as_ada = app.as_(&ada);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = PageQuery {
            limit: Some(2),
            cursor: cursor.take(),
        };
        let body = as_ada
            .list_runs(&cid, None, &page)
            .await
            .expect_json(200)
            .await;
        for r in body["items"].as_array().unwrap() {
            seen.push(RunId::new(r["id"].as_str().unwrap()));
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, made);
    as_ada
        .list_runs(
            &cid,
            None,
            &PageQuery {
                limit: Some(0),
                cursor: None,
            },
        )
        .await
        .problem(422, "validation_failed")
        .await;
}
