//! Object-level authorization sweep (OWASP API1, ASVS 8.2.2 / 8.4.1): every operation of the
//! committed OpenAPI document whose path names an object is called with ids that exist in
//! tenant A — by users of tenant B, by users of A who hold no role on the connection, and
//! (where engines call it) by tenant B's sync engine. Each
//! call must answer 404 (403 only where the refusal does not depend on the object: elevated
//! access required, the engine's own operation, an owner who still has access) and leave
//! the database exactly as it was. A new operation is swept as soon as it is documented.

use hubkeep_shared::api::CreateEngineToken;
use serde_json::{Value, json};

use super::common::summary;
use super::function_sweep::{documented_operations, elevated_only};
use super::world::{Hub, Objects, World};
use crate::helpers::Backend;
use crate::on_each_backend;

/// A body the operation would accept from a caller allowed to make it, so that a refusal
/// can only come from who is asking (the body is checked before the caller otherwise).
/// Operations without a body get `None`; an operation this does not know gets its schema's
/// first example from the document.
pub(super) fn valid_body(
    op: &str,
    w: &World,
    doc: &Value,
    method: &str,
    path: &str,
) -> Option<Value> {
    let n = w.next();
    let body = match op {
        "save_elevated_levels" => json!({ "level_ids": [super::world::ADMIN_LEVEL] }),
        "launch_session" => json!({ "assertion": w.tenant.assertion(super::world::res::ADA) }),
        "refresh_session" => json!({ "refresh_token": w.ada.refresh_token }),
        "launch_demo_session" => json!({ "resource_id": super::world::res::ADA }),
        "create_connection" => json!({ "name": format!("Body {n}"), "kind": "autotask_xero" }),
        "update_connection" => json!({ "name": format!("Renamed {n}") }),
        "reconnect_endpoint" => json!({ "account_label": "Reconnected" }),
        "create_invitation" => json!({ "user_id": w.ned_id, "role": "it_admin" }),
        "pay_connection" => json!({ "months": 1, "amount_cents": 1000, "currency": "USD" }),
        "recover_ownership" => json!({ "user_id": w.ned_id }),
        "request_run" => json!({}),
        "report_run_progress" => json!({ "status": "running" }),
        "create_view" | "update_view" => {
            json!({ "name": format!("View {n}"), "definition": { "entity": "invoices" } })
        }
        "create_engine_token" => json!({ "name": format!("Engine {n}") }),
        "create_my_token" => json!({ "name": format!("Token {n}"), "scope": "read" }),
        "update_settings" => json!({ "default_timezone": "UTC" }),
        "update_user" => json!({ "active": false }),
        _ => {
            let content = &doc["paths"][path][method.to_lowercase()]["requestBody"]["content"]["application/json"];
            if content.is_null() {
                return None;
            }
            let schema = content["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .map(|name| &doc["components"]["schemas"][name])
                .unwrap_or(&content["schema"]);
            schema["examples"][0].clone()
        }
    };
    Some(body)
}

pub(super) fn document() -> Value {
    serde_json::from_str(include_str!("../../../../openapi/openapi.json")).unwrap()
}

/// What a caller without any claim on `objects` must get.
fn expected(op: &str, attacker: &str, elevated: bool) -> (u16, &'static str) {
    if op == "report_run_progress" {
        // Any user credential is the wrong kind, whatever the ids.
        return (403, "insufficient_scope");
    }
    if !elevated && elevated_only(op) {
        return (403, "elevated_access_required");
    }
    if attacker == "tenant A, elevated, no role" && op == "recover_ownership" {
        // Governance (S5.4): allowed to try, refused because the owner still has access.
        return (409, "conflict");
    }
    (404, "not_found")
}

async fn hardening_object_level_sweep(backend: Backend) {
    let w = World::build(backend.clone()).await;
    let objects: Objects = w.objects().await;
    let doc = document();
    let mut failures = Vec::new();
    let mut swept = std::collections::BTreeSet::new();
    let mut calls = 0;

    // The sync engine of tenant B, for the operations engines call.
    let b_engine = w
        .client(Some(&w.b_elevated.access_token))
        .create_engine_token(&CreateEngineToken {
            name: "Engine of B".into(),
        })
        .await;
    let b_engine = w.record(b_engine).await;
    assert_eq!(b_engine.status, 201, "{}", b_engine.text);
    let b_engine = b_engine.body["token"].as_str().unwrap().to_owned();
    let e_none = w.persona(Hub::Elevated, None).session.access_token.clone();
    let l_none = w.persona(Hub::Limited, None).session.access_token.clone();
    let attackers = [
        (
            "tenant B, elevated",
            w.b_elevated.access_token.clone(),
            true,
            false,
        ),
        (
            "tenant B, limited",
            w.b_limited.access_token.clone(),
            false,
            false,
        ),
        ("tenant A, elevated, no role", e_none, true, true),
        ("tenant A, limited, no role", l_none, false, true),
    ];

    for (op, method, template) in documented_operations() {
        if !template.contains('{') {
            continue;
        }
        // A tenant's sign-in page is public by design (SPEC S13): its slug names a page
        // anyone may open, not an object of the tenant's.
        if matches!(op.as_str(), "get_tenant_sign_in" | "start_oidc_sign_in") {
            continue;
        }
        let path = match objects.fill(&w, &template) {
            Ok(path) => path,
            Err(why) => {
                failures.push(why);
                continue;
            }
        };
        swept.insert(op.clone());
        // The ids exist: the owner reads what she may read.
        if method == "GET" {
            let own = w
                .send_as("GET", &path, None, Some(&w.ada.access_token))
                .await;
            if own.status != 200 {
                failures.push(format!("{op}: Ada cannot read {path}: {}", own.outcome()));
            }
        }
        for (attacker, token, elevated, same_tenant) in &attackers {
            // Within tenant A, elevated users legitimately manage users and tokens, and
            // read every activity entry (S2.1, S7): not an object-level question.
            if *same_tenant && *elevated && (elevated_only(&op) || op == "get_activity") {
                continue;
            }
            let body = valid_body(&op, &w, &doc, &method, &template);
            let before = w.snapshot(None).await;
            let answer = w.send_as(&method, &path, body, Some(token)).await;
            calls += 1;
            let (status, code) = expected(&op, attacker, *elevated);
            if answer.status != status || answer.code() != code {
                failures.push(format!(
                    "{op} {path} as {attacker}: expected {status} {code}, got {}",
                    answer.outcome()
                ));
            }
            let changed = World::diff(&before, &w.snapshot(None).await);
            if !changed.is_empty() {
                failures.push(format!("{op} as {attacker}: changed {changed:?}"));
            }
        }
        // Operations the sync engine calls: another tenant's engine finds nothing here.
        let engine_op = doc["paths"][&template][method.to_lowercase()]["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("engine_token").is_some()));
        if engine_op {
            let body = valid_body(&op, &w, &doc, &method, &template);
            let before = w.snapshot(None).await;
            let answer = w.send_as(&method, &path, body, Some(&b_engine)).await;
            calls += 1;
            if answer.status != 404 || answer.code() != "not_found" {
                failures.push(format!(
                    "{op} {path} with tenant B's engine token: expected 404 not_found, got {}",
                    answer.outcome()
                ));
            }
            if !World::diff(&before, &w.snapshot(None).await).is_empty() {
                failures.push(format!(
                    "{op} with tenant B's engine token changed something"
                ));
            }
        }
    }

    let scanned = super::properties::scan_for_secrets(&w, &mut failures).await;
    summary(
        "object-level sweep (API1)",
        &backend,
        &format!(
            "{} operations with path ids swept, {calls} foreign calls, {scanned}",
            swept.len()
        ),
        failures.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

on_each_backend!(hardening_object_level_sweep);
