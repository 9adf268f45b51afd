//! Function-level authorization sweep (OWASP API5, ASVS 8.2.1): every operation of the
//! OpenAPI document × hub access level (elevated, limited, none) × connection role (owner,
//! business admin, IT admin, read-only, none), each cell against the outcome an expectation
//! table written from SPEC S2.1 and S5 — not from the shared matrix the server uses, so a
//! wrong matrix entry shows up here. A refused cell must also leave the database as it was.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use super::common::summary;
use super::world::{Hub, Persona, ROLES, World};
use crate::helpers::Backend;
use crate::on_each_backend;

const ALL: &[&str] = &ROLES;
const OWNER: &[&str] = &["owner"];
const OWNER_BA: &[&str] = &["owner", "business_admin"];
const OWNER_BA_IT: &[&str] = &["owner", "business_admin", "it_admin"];

/// Who may perform an operation (SPEC S2.1, S3, S5).
#[derive(Debug, Clone, Copy)]
pub(super) enum Rule {
    /// No credentials needed.
    Public,
    /// The demo endpoints: not found unless the deployment runs in demo mode (it doesn't).
    DemoOff,
    /// Sign-in with the persona's own launch assertion.
    Launch,
    /// Any signed-in user with hub access (limited or elevated).
    Member,
    /// Elevated hub access; limited users get 403 `elevated_access_required`.
    Elevated,
    /// A role on the connection among these; other roles 403 `forbidden`; no role 404.
    Conn(&'static [&'static str]),
    /// Leaving: any member but the owner (409 `owner_must_transfer`); no role 404.
    Leave,
    /// Ownership recovery (S5.4): elevated users, whatever their role, when the owner has no
    /// hub access; an owner who still has access makes it 409 `conflict`.
    Recover,
    /// Accepting or declining an invitation addressed to the caller.
    Invitee,
    /// Reading an activity entry about a connection: elevated users, or anyone with a role on
    /// the connection; 404 for others (S7).
    ActivityEntry,
    /// The sync engine's operation: a user's session is a known caller of the wrong kind.
    Engine,
}

/// One row of the expectation table: an operation, or one variant of it where the body
/// decides which action is checked (`PATCH /connections/{id}` field by field, invitations
/// role by role).
pub(super) struct Row {
    pub op: &'static str,
    pub variant: &'static str,
    pub rule: Rule,
}

const fn row(op: &'static str, variant: &'static str, rule: Rule) -> Row {
    Row { op, variant, rule }
}

/// The expectation table. `rotate_launch_secret` comes last: it changes the secret that
/// launch assertions are signed with.
pub(super) const TABLE: &[Row] = &[
    row("get_healthz", "", Rule::Public),
    row("get_readyz", "", Rule::Public),
    row("get_openapi", "", Rule::Public),
    row("get_permissions", "", Rule::Public),
    row("list_demo_identities", "", Rule::DemoOff),
    row("launch_demo_session", "", Rule::DemoOff),
    row("launch_session", "", Rule::Launch),
    row("refresh_session", "", Rule::Member),
    row("end_session", "", Rule::Member),
    row("get_me", "", Rule::Member),
    row("list_my_invitations", "", Rule::Member),
    row("list_my_tokens", "", Rule::Member),
    row("create_my_token", "", Rule::Member),
    row("revoke_my_token", "", Rule::Member),
    row("get_settings", "", Rule::Member),
    row("get_sync_status", "", Rule::Member),
    row("list_activity", "", Rule::Member),
    row("list_connections", "", Rule::Member),
    row("get_elevated_levels", "", Rule::Elevated),
    row("save_elevated_levels", "", Rule::Elevated),
    row("list_security_levels", "", Rule::Elevated),
    row("list_users", "", Rule::Elevated),
    row("get_user", "", Rule::Elevated),
    row("update_user", "", Rule::Elevated),
    row("refresh_users", "", Rule::Elevated),
    row("update_settings", "", Rule::Elevated),
    row("test_psa_connection", "", Rule::Elevated),
    row("create_connection", "", Rule::Elevated),
    row("list_governance_connections", "", Rule::Elevated),
    row("list_tenant_tokens", "", Rule::Elevated),
    row("revoke_tenant_token", "", Rule::Elevated),
    row("list_engine_tokens", "", Rule::Elevated),
    row("create_engine_token", "", Rule::Elevated),
    row("revoke_engine_token", "", Rule::Elevated),
    row("get_connection", "", Rule::Conn(ALL)),
    row("list_connection_members", "", Rule::Conn(ALL)),
    row("list_connection_invitations", "", Rule::Conn(ALL)),
    row("list_runs", "", Rule::Conn(ALL)),
    row("list_views", "", Rule::Conn(ALL)),
    row("update_connection", "rename", Rule::Conn(OWNER_BA)),
    row("update_connection", "timezone", Rule::Conn(OWNER_BA_IT)),
    row("update_connection", "postgres_db", Rule::Conn(OWNER)),
    row(
        "update_connection",
        "locked_period_export",
        Rule::Conn(OWNER_BA),
    ),
    row(
        "update_connection",
        "reporting_currency",
        Rule::Conn(OWNER_BA),
    ),
    row("update_connection", "forecast_budget", Rule::Conn(OWNER_BA)),
    row("update_connection", "group", Rule::Conn(OWNER_BA_IT)),
    row("update_connection", "ungroup", Rule::Conn(OWNER_BA_IT)),
    row("pay_connection", "", Rule::Conn(OWNER)),
    row("cancel_connection", "", Rule::Conn(OWNER)),
    row("disconnect_endpoint", "", Rule::Conn(OWNER_BA)),
    row("reconnect_endpoint", "", Rule::Conn(OWNER_BA_IT)),
    row("create_invitation", "owner", Rule::Conn(OWNER)),
    row("create_invitation", "business_admin", Rule::Conn(OWNER_BA)),
    row("create_invitation", "it_admin", Rule::Conn(OWNER_BA_IT)),
    row("create_invitation", "read_only", Rule::Conn(OWNER_BA_IT)),
    row("revoke_invitation", "", Rule::Conn(OWNER_BA_IT)),
    row("accept_invitation", "", Rule::Invitee),
    row("decline_invitation", "", Rule::Invitee),
    row("remove_member_role", "business_admin", Rule::Conn(OWNER_BA)),
    row("remove_member_role", "it_admin", Rule::Conn(OWNER_BA_IT)),
    row("remove_member_role", "read_only", Rule::Conn(OWNER_BA_IT)),
    row("leave_connection", "", Rule::Leave),
    row("recover_ownership", "", Rule::Recover),
    row("request_run", "", Rule::Conn(OWNER_BA_IT)),
    row("hide_run", "", Rule::Conn(OWNER_BA_IT)),
    row("unhide_run", "", Rule::Conn(OWNER_BA_IT)),
    row("report_run_progress", "", Rule::Engine),
    row("create_view", "", Rule::Conn(OWNER_BA)),
    row("update_view", "", Rule::Conn(OWNER_BA)),
    row("delete_view", "", Rule::Conn(OWNER_BA)),
    row("get_activity", "", Rule::ActivityEntry),
    row("rotate_launch_secret", "", Rule::Elevated),
];

/// `Ok` for a 2xx, otherwise the status and problem code the cell must answer.
fn expected(rule: Rule, p: &Persona) -> Result<(), (u16, &'static str)> {
    match rule {
        Rule::Public => return Ok(()),
        Rule::DemoOff => return Err((404, "not_found")),
        Rule::Engine => return Err((403, "insufficient_scope")),
        Rule::Launch if p.hub == Hub::None => return Err((403, "user_inactive")),
        _ if p.hub == Hub::None => return Err((401, "reauthorization_required")),
        _ => {}
    }
    let elevated = p.hub == Hub::Elevated;
    match rule {
        Rule::Launch | Rule::Member | Rule::Invitee => Ok(()),
        Rule::Elevated if elevated => Ok(()),
        Rule::Elevated => Err((403, "elevated_access_required")),
        Rule::Conn(roles) => match p.role {
            None => Err((404, "not_found")),
            Some(role) if roles.contains(&role) => Ok(()),
            Some(_) => Err((403, "forbidden")),
        },
        Rule::Leave => match p.role {
            None => Err((404, "not_found")),
            Some("owner") => Err((409, "owner_must_transfer")),
            Some(_) => Ok(()),
        },
        Rule::Recover if !elevated => Err((403, "elevated_access_required")),
        Rule::Recover if p.role == Some("owner") => Err((409, "conflict")),
        Rule::Recover => Ok(()),
        Rule::ActivityEntry if elevated || p.role.is_some() => Ok(()),
        Rule::ActivityEntry => Err((404, "not_found")),
        Rule::Public | Rule::DemoOff | Rule::Engine => unreachable!(),
    }
}

/// A request ready to send.
pub struct Prepared {
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
    pub token: Option<String>,
    /// The connection the cell is about, for the snapshot.
    pub connection: Option<String>,
    /// A refused sign-in writes `user.sign_in_refused` (an audit entry, by design).
    pub audits_refusals: bool,
}

fn is_connection_scoped(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::Conn(_)
            | Rule::Leave
            | Rule::Recover
            | Rule::Invitee
            | Rule::ActivityEntry
            | Rule::Engine
    )
}

/// Builds the cell's objects and its request: a fresh connection per connection-scoped cell
/// (so one cell's success cannot change the next one's outcome) on which the persona holds
/// its role.
async fn prepare(w: &World, row: &Row, p: &Persona) -> Prepared {
    let n = w.next();
    let mut connection = None;
    let mut ids: Vec<String> = Vec::new();
    if is_connection_scoped(row.rule) {
        let c = w.new_connection().await;
        // Objects the operation needs, made by Ada while she owns the connection.
        match row.op {
            "reconnect_endpoint" => {
                w.ada(
                    "POST",
                    &format!("/api/v1/connections/{c}/endpoints/source/disconnect"),
                    None,
                )
                .await;
            }
            "hide_run" | "unhide_run" | "report_run_progress" => {
                let run = w
                    .ada(
                        "POST",
                        &format!("/api/v1/connections/{c}/runs"),
                        Some(json!({})),
                    )
                    .await;
                let run = run["id"].as_str().unwrap().to_owned();
                if row.op == "unhide_run" {
                    w.ada(
                        "POST",
                        &format!("/api/v1/connections/{c}/runs/{run}/hide"),
                        None,
                    )
                    .await;
                }
                ids.push(run);
            }
            "update_view" | "delete_view" => {
                let view = w
                    .ada(
                        "POST",
                        &format!("/api/v1/connections/{c}/views"),
                        Some(json!({ "name": format!("View {n}"), "definition": {} })),
                    )
                    .await;
                ids.push(view["id"].as_str().unwrap().to_owned());
            }
            "revoke_invitation" => {
                let invitation = w
                    .ada(
                        "POST",
                        &format!("/api/v1/connections/{c}/invitations"),
                        Some(json!({ "user_id": w.ivy_id, "role": "read_only" })),
                    )
                    .await;
                ids.push(invitation["id"].as_str().unwrap().to_owned());
            }
            "accept_invitation" | "decline_invitation" if p.hub != Hub::None => {
                let role = if p.role == Some("read_only") {
                    "it_admin"
                } else {
                    "read_only"
                };
                let invitation = w
                    .ada(
                        "POST",
                        &format!("/api/v1/connections/{c}/invitations"),
                        Some(json!({ "user_id": p.user_id, "role": role })),
                    )
                    .await;
                ids.push(invitation["id"].as_str().unwrap().to_owned());
            }
            "update_connection" if row.variant == "ungroup" => {
                w.ada(
                    "PATCH",
                    &format!("/api/v1/connections/{c}"),
                    Some(json!({ "group": "Sweep group" })),
                )
                .await;
            }
            _ => {}
        }
        let owner = if p.role == Some("owner") {
            p.user_id.clone()
        } else if row.op == "recover_ownership" {
            w.otto_id.clone()
        } else {
            w.ada_id.clone()
        };
        let mut grants: Vec<(&str, &str)> = Vec::new();
        if let Some(role) = p.role.filter(|r| *r != "owner") {
            grants.push((&p.user_id, role));
        }
        if row.op == "remove_member_role" {
            grants.push((&w.mo_id, row.variant));
        }
        // Ada's invitations stay valid only while she may still issue them.
        if owner != w.ada_id && row.op.ends_with("_invitation") {
            grants.push((&w.ada_id, "business_admin"));
        }
        w.hand_over(&c, &owner, &grants).await;
        if row.op == "get_activity" {
            let entry = w
                .app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    w.app.db.get_database_backend(),
                    format!(
                        "SELECT id FROM activity_log WHERE connection_id = '{c}' \
                         ORDER BY at LIMIT 1"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            ids.push(entry.try_get_by_index::<String>(0).unwrap());
        }
        connection = Some(c);
    }
    let c = connection.clone().unwrap_or_default();
    let id = |i: usize| {
        ids.get(i)
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    };
    let mut token = Some(p.token().to_owned());
    let mut audits_refusals = false;
    let (method, path, body): (&'static str, String, Option<Value>) = match row.op {
        "get_healthz" => ("GET", "/healthz".into(), None),
        "get_readyz" => ("GET", "/readyz".into(), None),
        "get_openapi" => ("GET", "/api/v1/openapi.json".into(), None),
        "get_permissions" => ("GET", "/api/v1/permissions".into(), None),
        "list_demo_identities" => ("GET", "/api/v1/demo/identities".into(), None),
        "launch_demo_session" => (
            "POST",
            "/api/v1/demo/launch".into(),
            Some(json!({ "resource_id": p.resource })),
        ),
        "launch_session" => {
            token = None;
            audits_refusals = true;
            (
                "POST",
                "/api/v1/auth/launch".into(),
                Some(json!({ "assertion": w.tenant.assertion(p.resource) })),
            )
        }
        "refresh_session" => {
            let refresh = if p.hub == Hub::None {
                p.session.refresh_token.clone()
            } else {
                w.app.sign_in(&w.tenant, p.resource).await.refresh_token
            };
            token = None;
            (
                "POST",
                "/api/v1/auth/refresh".into(),
                Some(json!({ "refresh_token": refresh })),
            )
        }
        "end_session" => {
            if p.hub != Hub::None {
                token = Some(w.app.sign_in(&w.tenant, p.resource).await.access_token);
            }
            ("POST", "/api/v1/auth/logout".into(), None)
        }
        "get_me" => ("GET", "/api/v1/me".into(), None),
        "list_my_invitations" => ("GET", "/api/v1/me/invitations".into(), None),
        "list_my_tokens" => ("GET", "/api/v1/me/tokens".into(), None),
        "create_my_token" => (
            "POST",
            "/api/v1/me/tokens".into(),
            Some(json!({ "name": format!("Sweep {n}"), "scope": "read" })),
        ),
        "revoke_my_token" => {
            let own = if p.hub == Hub::None {
                uuid::Uuid::new_v4().to_string()
            } else {
                let created = w
                    .send_as(
                        "POST",
                        "/api/v1/me/tokens",
                        Some(json!({ "name": format!("Own {n}"), "scope": "read" })),
                        Some(p.token()),
                    )
                    .await;
                assert_eq!(created.status, 201, "{}", created.text);
                created.body["id"].as_str().unwrap().to_owned()
            };
            ("DELETE", format!("/api/v1/me/tokens/{own}"), None)
        }
        "get_settings" => ("GET", "/api/v1/settings".into(), None),
        "get_sync_status" => ("GET", "/api/v1/sync-status".into(), None),
        "list_activity" => ("GET", "/api/v1/activity".into(), None),
        "list_connections" => ("GET", "/api/v1/connections".into(), None),
        "get_elevated_levels" => ("GET", "/api/v1/access/elevated-levels".into(), None),
        "save_elevated_levels" => (
            "PUT",
            "/api/v1/access/elevated-levels".into(),
            Some(json!({ "level_ids": [super::world::ADMIN_LEVEL] })),
        ),
        "list_security_levels" => ("GET", "/api/v1/security-levels".into(), None),
        "list_users" => ("GET", "/api/v1/users".into(), None),
        "get_user" => ("GET", format!("/api/v1/users/{}", w.val_id), None),
        "update_user" => (
            "PATCH",
            format!("/api/v1/users/{}", w.val_id),
            Some(json!({ "elevation": "inherit" })),
        ),
        "refresh_users" => ("POST", "/api/v1/users/refresh".into(), None),
        "update_settings" => (
            "PUT",
            "/api/v1/settings".into(),
            Some(json!({ "default_timezone": "UTC" })),
        ),
        "rotate_launch_secret" => ("POST", "/api/v1/settings/launch-secret".into(), None),
        "test_psa_connection" => ("POST", "/api/v1/psa/test".into(), None),
        "create_connection" => (
            "POST",
            "/api/v1/connections".into(),
            Some(json!({ "name": format!("Created {n}"), "kind": "autotask_xero" })),
        ),
        "list_governance_connections" => ("GET", "/api/v1/connections/governance".into(), None),
        "list_tenant_tokens" => ("GET", "/api/v1/tokens".into(), None),
        "revoke_tenant_token" => {
            let created = w
                .ada(
                    "POST",
                    "/api/v1/me/tokens",
                    Some(json!({ "name": format!("Ada {n}"), "scope": "read" })),
                )
                .await;
            (
                "DELETE",
                format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()),
                None,
            )
        }
        "list_engine_tokens" => ("GET", "/api/v1/engine-tokens".into(), None),
        "create_engine_token" => (
            "POST",
            "/api/v1/engine-tokens".into(),
            Some(json!({ "name": format!("Engine {n}") })),
        ),
        "revoke_engine_token" => {
            let created = w
                .ada(
                    "POST",
                    "/api/v1/engine-tokens",
                    Some(json!({ "name": format!("Engine {n}") })),
                )
                .await;
            (
                "DELETE",
                format!("/api/v1/engine-tokens/{}", created["id"].as_str().unwrap()),
                None,
            )
        }
        "get_connection" => ("GET", format!("/api/v1/connections/{c}"), None),
        "list_connection_members" => ("GET", format!("/api/v1/connections/{c}/members"), None),
        "list_connection_invitations" => {
            ("GET", format!("/api/v1/connections/{c}/invitations"), None)
        }
        "list_runs" => ("GET", format!("/api/v1/connections/{c}/runs"), None),
        "list_views" => ("GET", format!("/api/v1/connections/{c}/views"), None),
        "update_connection" => {
            let body = match row.variant {
                "rename" => json!({ "name": format!("Renamed {n}") }),
                "timezone" => json!({ "timezone": "Europe/Paris" }),
                "postgres_db" => json!({ "postgres_db": super::world::POSTGRES_DB_SECRET }),
                "locked_period_export" => json!({ "locked_period_export": true }),
                "reporting_currency" => json!({ "reporting_currency": "EUR" }),
                "forecast_budget" => {
                    json!({ "forecast_budget": { "id": "b-1", "name": "FY27 budget" } })
                }
                "group" => json!({ "group": format!("Group {n}") }),
                "ungroup" => json!({ "group": null }),
                other => panic!("no body for update_connection/{other}"),
            };
            ("PATCH", format!("/api/v1/connections/{c}"), Some(body))
        }
        "pay_connection" => (
            "POST",
            format!("/api/v1/connections/{c}/pay"),
            Some(json!({ "months": 1, "amount_cents": 1000, "currency": "USD" })),
        ),
        "cancel_connection" => ("POST", format!("/api/v1/connections/{c}/cancel"), None),
        "disconnect_endpoint" => (
            "POST",
            format!("/api/v1/connections/{c}/endpoints/source/disconnect"),
            None,
        ),
        "reconnect_endpoint" => (
            "POST",
            format!("/api/v1/connections/{c}/endpoints/source/reconnect"),
            Some(json!({ "account_label": "Reconnected" })),
        ),
        "create_invitation" => (
            "POST",
            format!("/api/v1/connections/{c}/invitations"),
            Some(json!({ "user_id": w.ivy_id, "role": row.variant })),
        ),
        "revoke_invitation" => ("DELETE", format!("/api/v1/invitations/{}", id(0)), None),
        "accept_invitation" => (
            "POST",
            format!("/api/v1/invitations/{}/accept", id(0)),
            None,
        ),
        "decline_invitation" => (
            "POST",
            format!("/api/v1/invitations/{}/decline", id(0)),
            None,
        ),
        "remove_member_role" => (
            "DELETE",
            format!(
                "/api/v1/connections/{c}/members/{}/roles/{}",
                w.mo_id, row.variant
            ),
            None,
        ),
        "leave_connection" => ("POST", format!("/api/v1/connections/{c}/leave"), None),
        "recover_ownership" => (
            "POST",
            format!("/api/v1/connections/{c}/recover-ownership"),
            Some(json!({ "user_id": w.ned_id })),
        ),
        "request_run" => (
            "POST",
            format!("/api/v1/connections/{c}/runs"),
            Some(json!({})),
        ),
        "hide_run" => (
            "POST",
            format!("/api/v1/connections/{c}/runs/{}/hide", id(0)),
            None,
        ),
        "unhide_run" => (
            "POST",
            format!("/api/v1/connections/{c}/runs/{}/unhide", id(0)),
            None,
        ),
        "report_run_progress" => (
            "PATCH",
            format!("/api/v1/connections/{c}/runs/{}", id(0)),
            Some(json!({ "status": "running" })),
        ),
        "create_view" => (
            "POST",
            format!("/api/v1/connections/{c}/views"),
            Some(json!({ "name": format!("View {n}"), "definition": { "entity": "invoices" } })),
        ),
        "update_view" => (
            "PUT",
            format!("/api/v1/connections/{c}/views/{}", id(0)),
            Some(json!({ "name": format!("Edited {n}"), "definition": {} })),
        ),
        "delete_view" => (
            "DELETE",
            format!("/api/v1/connections/{c}/views/{}", id(0)),
            None,
        ),
        "get_activity" => ("GET", format!("/api/v1/activity/{}", id(0)), None),
        other => panic!("the sweep has no request for `{other}`: add it to TABLE and prepare()"),
    };
    Prepared {
        method,
        path,
        body,
        token,
        connection,
        audits_refusals,
    }
}

/// The operations of the committed document, by operationId.
pub fn documented_operations() -> Vec<(String, String, String)> {
    let doc: Value = serde_json::from_str(include_str!("../../../../openapi/openapi.json"))
        .expect("openapi/openapi.json is JSON");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"].as_str() {
                ops.push((id.to_owned(), method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

async fn hardening_function_level_sweep(backend: Backend) {
    let w = World::build(backend.clone()).await;
    let mut failures = Vec::new();

    // The table covers exactly the documented operations: a new endpoint fails here until
    // its row is written.
    let documented: std::collections::BTreeSet<String> = documented_operations()
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    let tabled: std::collections::BTreeSet<String> =
        TABLE.iter().map(|r| r.op.to_owned()).collect();
    for missing in documented.difference(&tabled) {
        failures.push(format!(
            "{missing}: documented but not in the expectation table"
        ));
    }
    for gone in tabled.difference(&documented) {
        failures.push(format!("{gone}: in the table but not documented"));
    }

    let mut cells = 0;
    let mut refusals = 0;
    let mut unchanged_checked = 0;
    for row in TABLE {
        for p in &w.personas {
            let prepared = prepare(&w, row, p).await;
            let expect = expected(row.rule, p);
            let check_unchanged = expect.is_err() && !prepared.audits_refusals;
            let before = if check_unchanged {
                Some(w.snapshot(prepared.connection.as_deref()).await)
            } else {
                None
            };
            let answer = w
                .send_as(
                    prepared.method,
                    &prepared.path,
                    prepared.body.clone(),
                    prepared.token.as_deref(),
                )
                .await;
            cells += 1;
            let cell = format!("{}{} as {}", row.op, variant(row), p.label());
            match expect {
                Ok(()) if (200..300).contains(&answer.status) => {}
                Ok(()) => failures.push(format!(
                    "{cell}: expected success, got {} {}",
                    answer.status, answer.text
                )),
                Err((status, code)) => {
                    refusals += 1;
                    if answer.status != status || answer.code() != code {
                        failures.push(format!(
                            "{cell}: expected {status} {code}, got {}",
                            answer.outcome()
                        ));
                    }
                    if let Some(before) = before {
                        unchanged_checked += 1;
                        let after = w.snapshot(prepared.connection.as_deref()).await;
                        let changed = World::diff(&before, &after);
                        if !changed.is_empty() {
                            failures.push(format!("{cell}: refused, yet changed {changed:?}"));
                        }
                    }
                }
            }
        }
    }

    let scanned = super::properties::scan_for_secrets(&w, &mut failures).await;
    summary(
        "function-level sweep (API5)",
        &backend,
        &format!(
            "{} operations, {} rows, {} personas, {cells} cells checked ({refusals} refusals, {unchanged_checked} of them verified unchanged), {scanned}",
            documented.len(),
            TABLE.len(),
            w.personas.len()
        ),
        failures.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the table says only elevated users may call `op`.
pub(super) fn elevated_only(op: &str) -> bool {
    TABLE
        .iter()
        .any(|r| r.op == op && matches!(r.rule, Rule::Elevated | Rule::Recover))
}

fn variant(row: &Row) -> String {
    if row.variant.is_empty() {
        String::new()
    } else {
        format!("/{}", row.variant)
    }
}

on_each_backend!(hardening_function_level_sweep);
