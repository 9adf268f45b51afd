//! Property-level authorization (OWASP API3, ASVS 8.2.3, SPEC S8): every write operation of
//! the document, sent by a caller allowed to make it with a valid body (or, where it takes
//! none, `{}`) plus one field it does not accept (`id`, `tenant_id`, `is_primary`,
//! `elevation`, `role`, `owner`, …), answers 422 naming the field and changes nothing; nested
//! objects refuse extra fields too. Then every response body the sweeps received is searched
//! for the deployment's secrets.

use hubkeep_shared::api::{
    ActivityExportQuery, ActivityQuery, ConnectionPatch, ExportFormat, PageQuery,
};
use serde_json::{Value, json};

use super::common::summary;
use super::function_sweep::documented_operations;
use super::object_sweep::{document, valid_body};
use super::world::World;
use crate::helpers::Backend;
use crate::on_each_backend;

/// Fields a client could hope to smuggle in: identities, ownership, elevation.
const SMUGGLED: &[&str] = &[
    "id",
    "tenant_id",
    "is_primary",
    "elevation",
    "role",
    "owner",
    "owner_user_id",
    "user_id",
    "access_level",
    "active",
    "status",
    "scope",
    "created_by",
];

/// Searches every recorded response body for the deployment's secrets; returns what it did
/// for the summary line. Only the answer that hands out a new launch secret may carry one,
/// in its `launch_secret` field.
pub(super) async fn scan_for_secrets(w: &World, failures: &mut Vec<String>) -> String {
    let secrets = w.secrets().await;
    let bodies = w.bodies();
    for body in &bodies {
        let mut body = body.clone();
        if let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(&body)
            && fields.remove("launch_secret").is_some()
        {
            body = Value::Object(fields).to_string();
        }
        for secret in &secrets {
            if body.contains(secret.as_str()) {
                let at = body.find(secret.as_str()).unwrap_or(0);
                failures.push(format!(
                    "a response carries a secret: …{}…",
                    &body[at.saturating_sub(60)..at]
                ));
            }
        }
    }
    format!(
        "{} response bodies scanned for {} secrets",
        bodies.len(),
        secrets.len()
    )
}

fn schema_properties(doc: &Value, method: &str, path: &str) -> Vec<String> {
    let content =
        &doc["paths"][path][method.to_lowercase()]["requestBody"]["content"]["application/json"];
    let schema = content["schema"]["$ref"]
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .map(|name| &doc["components"]["schemas"][name])
        .unwrap_or(&content["schema"]);
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

async fn hardening_extra_fields_are_refused(backend: Backend) {
    let w = World::build(backend.clone()).await;
    let objects = w.objects().await;
    let doc = document();
    let mut failures = Vec::new();
    let mut operations = 0;
    let mut attempts = 0;

    // Secrets worth leaking: a Postgres connection string on the objects' connection.
    let ada = w.as_ada();
    let secret = ConnectionPatch {
        postgres_db: Some(Some(super::world::POSTGRES_DB_SECRET.to_owned())),
        ..Default::default()
    };
    w.ok(ada.update_connection(&objects.connection, &secret).await)
        .await;

    for (op, method, template) in documented_operations() {
        if !matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
            continue;
        }
        // Autotask's callouts are Autotask's payload, not a write of the caller's fields:
        // open to fields the hub does not read (Autotask adds some over time), and their
        // signature, not their shape, is what is checked (`feed::callout`).
        if matches!(
            op.as_str(),
            "receive_autotask_callout" | "receive_autotask_deactivation"
        ) {
            continue;
        }
        // A write without a documented body takes none: any field sent is smuggled.
        let body = valid_body(&op, &w, &doc, &method, &template).unwrap_or_else(|| json!({}));
        operations += 1;
        let path = match objects.fill(&w, &template) {
            Ok(path) => path,
            Err(why) => {
                failures.push(why);
                continue;
            }
        };
        let token = match op.as_str() {
            "launch_session" | "refresh_session" | "launch_demo_session" | "exchange_oidc_code" => {
                None
            }
            "report_run_progress" => Some(objects.engine_secret.clone()),
            _ => Some(w.ada.access_token.clone()),
        };
        let accepted = schema_properties(&doc, &method, &template);
        let mut attacks: Vec<(String, Value)> = SMUGGLED
            .iter()
            .filter(|field| !accepted.iter().any(|a| a == *field))
            .map(|field| {
                let mut body = body.clone();
                body[*field] = json!("00000000-0000-0000-0000-000000000000");
                ((*field).to_owned(), body)
            })
            .collect();
        // Nested objects are closed as well.
        match op.as_str() {
            "update_settings" => {
                attacks.push((
                    "accounting_mappings.0.tenant_id".into(),
                    json!({ "accounting_mappings": [{ "source_code": "4000", "account_code": "200",
                        "description": "Sales", "tenant_id": "x" }] }),
                ));
                attacks.push((
                    "psa.tenant_id".into(),
                    json!({ "psa": { "tenant_id": "x" } }),
                ));
                attacks.push((
                    "oidc.tenant_id".into(),
                    json!({ "oidc": { "tenant_id": "x" } }),
                ));
            }
            "update_connection" => attacks.push((
                "forecast_budget.owner".into(),
                json!({ "forecast_budget": { "id": "b", "name": "B", "owner": "x" } }),
            )),
            _ => {}
        }
        for (field, body) in attacks {
            let before = w.snapshot(None).await;
            let answer = w
                .send_as(&method, &path, Some(body), token.as_deref())
                .await;
            attempts += 1;
            let leaf = field.rsplit('.').next().unwrap_or(&field);
            if answer.status != 422 || answer.code() != "validation_failed" {
                failures.push(format!(
                    "{op} with `{field}`: expected 422 validation_failed, got {}",
                    answer.outcome()
                ));
            } else if !answer.text.contains(&format!("unknown field `{leaf}`"))
                || answer.body["errors"][0]["field"] != field.as_str()
            {
                failures.push(format!(
                    "{op} with `{field}`: the 422 does not name the field: {}",
                    answer.text
                ));
            }
            let changed = World::diff(&before, &w.snapshot(None).await);
            if !changed.is_empty() {
                failures.push(format!("{op} with `{field}`: changed {changed:?}"));
            }
        }
    }

    // Reads hand back what the writes stored: still no secret.
    w.ok(ada.get_connection(&objects.connection).await).await;
    w.ok(ada.get_settings().await).await;
    w.ok(ada.list_my_tokens(&PageQuery::default()).await).await;
    w.ok(ada.list_tenant_tokens(&PageQuery::default()).await)
        .await;
    w.ok(ada.list_engine_tokens(&PageQuery::default()).await)
        .await;
    let latest = ActivityQuery {
        limit: Some(200),
        ..Default::default()
    };
    w.ok(ada.list_activity(&latest).await).await;
    for format in [ExportFormat::Csv, ExportFormat::Ndjson] {
        let everything = ActivityExportQuery::of(format, &ActivityQuery::default());
        w.ok(ada.export_activity(&everything).await).await;
    }
    let scanned = scan_for_secrets(&w, &mut failures).await;
    summary(
        "property-level (API3)",
        &backend,
        &format!("{operations} write operations, {attempts} smuggled fields refused, {scanned}"),
        failures.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

on_each_backend!(hardening_extra_fields_are_refused);
