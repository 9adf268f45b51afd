//! Function-level authorization sweep (OWASP API5, ASVS 8.2.1): every operation of the
//! OpenAPI document × hub access level (elevated, limited, none) × connection role (owner,
//! business admin, IT admin, read-only, none), each cell against the outcome an expectation
//! table written from SPEC S2.1 and S5 — not from the shared matrix the server uses, so a
//! wrong matrix entry shows up here. A refused cell must also leave the database as it was.

use hubkeep_shared::api::{
    ActivityExportQuery, ActivityQuery, AutotaskCallout, ConnectionPatch, CreateEngineToken,
    CreateToken, DemoLaunch, ElevatedLevels, ExportFormat, ForecastBudgetInput, LaunchRequest,
    NewConnection, NotificationPreferencesPatch, NotificationQuery, PageQuery, PeopleQuery,
    ReconnectInput, RecoverOwnership, RefreshRequest, RunRequest, RunStatus, UpdateSettings,
    UserPatch, UserQuery,
};
use hubkeep_shared::{ConnectionRole, Elevation, TokenScope, UserId};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use super::common::summary;
use super::world::{Answer, Hub, Persona, ROLES, World};
use crate::client::{invitation, payment, progress, view};
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
    /// The people picker (S16): elevated users, or anyone whose role on a connection may invite
    /// someone (S5.1: owner, business admin, IT admin); others 403 `elevated_access_required`.
    Inviter,
    /// The sync engine's operation: a user's session is a known caller of the wrong kind.
    Engine,
    /// Elevated hub access, and then this deployment answers the elevated caller with this
    /// refusal (subscribing to webhooks needs `[http] public_url`, which the sweep's server
    /// does not set); limited users get 403 `elevated_access_required`.
    ElevatedThen(u16, &'static str),
    /// Autotask's callouts: signed, never authenticated; the sweep's tenant has no
    /// subscription, so every caller gets 404 `not_found`.
    Callout,
    /// Public, and this answer whoever asks: the OpenID Connect flow, on a tenant without
    /// OIDC sign-in (404) or with a `state` nobody started (401 `oidc_rejected`).
    Always(u16, &'static str),
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
    row("get_tenant_sign_in", "", Rule::Public),
    row("start_oidc_sign_in", "", Rule::Always(404, "not_found")),
    row(
        "finish_oidc_sign_in",
        "",
        Rule::Always(401, "oidc_rejected"),
    ),
    row("exchange_oidc_code", "", Rule::Always(401, "oidc_rejected")),
    row("end_session", "", Rule::Member),
    row("get_me", "", Rule::Member),
    row("list_my_invitations", "", Rule::Member),
    row("list_my_tokens", "", Rule::Member),
    row("create_my_token", "", Rule::Member),
    row("revoke_my_token", "", Rule::Member),
    row("get_my_preferences", "", Rule::Member),
    row("update_my_preferences", "", Rule::Member),
    row("list_notifications", "", Rule::Elevated),
    row("retry_notification", "", Rule::Elevated),
    row("get_settings", "", Rule::Member),
    row("get_sync_status", "", Rule::Member),
    row("list_activity", "", Rule::Member),
    row("export_activity", "", Rule::Member),
    row("list_connections", "", Rule::Member),
    row("get_elevated_levels", "", Rule::Elevated),
    row("save_elevated_levels", "", Rule::Elevated),
    row("list_security_levels", "", Rule::Elevated),
    row("list_users", "", Rule::Elevated),
    // Before the invitation rows: accepting one gives a persona a role (an IT admin role to
    // the read-only persona) on a connection that outlives the cell.
    row("search_people", "", Rule::Inviter),
    row("get_user", "", Rule::Elevated),
    row("update_user", "", Rule::Elevated),
    row("refresh_users", "", Rule::Elevated),
    row("update_settings", "", Rule::Elevated),
    row("test_psa_connection", "", Rule::Elevated),
    row("get_psa_status", "", Rule::Elevated),
    row("reconcile_psa", "", Rule::Elevated),
    row(
        "subscribe_psa_webhook",
        "",
        Rule::ElevatedThen(409, "public_url_missing"),
    ),
    row("unsubscribe_psa_webhook", "", Rule::Elevated),
    row("receive_autotask_callout", "", Rule::Callout),
    row("receive_autotask_deactivation", "", Rule::Callout),
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
        Rule::DemoOff | Rule::Callout => return Err((404, "not_found")),
        Rule::Always(status, code) => return Err((status, code)),
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
        Rule::ElevatedThen(status, code) if elevated => Err((status, code)),
        Rule::ElevatedThen(..) => Err((403, "elevated_access_required")),
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
        Rule::Inviter if elevated || p.role.is_some_and(|r| OWNER_BA_IT.contains(&r)) => Ok(()),
        Rule::Inviter => Err((403, "elevated_access_required")),
        Rule::Public | Rule::DemoOff | Rule::Callout | Rule::Engine | Rule::Always(..) => {
            unreachable!()
        }
    }
}

/// What a cell's request needs, made before the snapshot it is compared with.
pub struct Prepared {
    /// A fresh number, for unique names.
    n: usize,
    /// The caller's credential, if any.
    pub token: Option<String>,
    /// The connection the cell is about, for the snapshot.
    pub connection: Option<String>,
    /// Objects the operation names (a run, a view, an invitation, a token, an entry).
    ids: Vec<String>,
    /// The launch assertion or refresh token a sign-in operation sends.
    credential: Option<String>,
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
            | Rule::Inviter
    )
}

/// Builds the cell's objects: a fresh connection per connection-scoped cell (so one cell's
/// success cannot change the next one's outcome) on which the persona holds its role, and
/// whatever else the operation names.
async fn prepare(w: &World, row: &Row, p: &Persona) -> Prepared {
    let n = w.next();
    let ada = w.as_ada();
    let mut connection = None;
    let mut ids: Vec<String> = Vec::new();
    if is_connection_scoped(row.rule) {
        let c = w.new_connection().await;
        // Objects the operation needs, made by Ada while she owns the connection.
        match row.op {
            "reconnect_endpoint" => {
                w.ok(ada.disconnect_endpoint(&c, "source").await).await;
            }
            "hide_run" | "unhide_run" | "report_run_progress" => {
                let run = w
                    .ok(ada.request_run(&c, &RunRequest::default()).await)
                    .await;
                let run = run["id"].as_str().unwrap().to_owned();
                if row.op == "unhide_run" {
                    w.ok(ada.hide_run(&c, &run).await).await;
                }
                ids.push(run);
            }
            "update_view" | "delete_view" => {
                let view = w
                    .ok(ada
                        .create_view(&c, &view(&format!("View {n}"), json!({})))
                        .await)
                    .await;
                ids.push(view["id"].as_str().unwrap().to_owned());
            }
            "revoke_invitation" => {
                let invitation = w
                    .ok(ada
                        .create_invitation(&c, &invitation(&w.ivy_id, ConnectionRole::ReadOnly))
                        .await)
                    .await;
                ids.push(invitation["id"].as_str().unwrap().to_owned());
            }
            "accept_invitation" | "decline_invitation" if p.hub != Hub::None => {
                let role = if p.role == Some("read_only") {
                    ConnectionRole::ItAdmin
                } else {
                    ConnectionRole::ReadOnly
                };
                let invitation = w
                    .ok(ada
                        .create_invitation(&c, &invitation(&p.user_id, role))
                        .await)
                    .await;
                ids.push(invitation["id"].as_str().unwrap().to_owned());
            }
            "update_connection" if row.variant == "ungroup" => {
                let group = ConnectionPatch {
                    group: Some(Some("Sweep group".into())),
                    ..Default::default()
                };
                w.ok(ada.update_connection(&c, &group).await).await;
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
    let mut token = Some(p.token().to_owned());
    let mut credential = None;
    let mut audits_refusals = false;
    match row.op {
        "launch_session" => {
            token = None;
            audits_refusals = true;
            credential = Some(w.tenant.assertion(p.resource));
        }
        "refresh_session" => {
            let refresh = if p.hub == Hub::None {
                p.session.refresh_token.clone()
            } else {
                w.app.sign_in(&w.tenant, p.resource).await.refresh_token
            };
            token = None;
            credential = Some(refresh);
        }
        "end_session" if p.hub != Hub::None => {
            token = Some(w.app.sign_in(&w.tenant, p.resource).await.access_token);
        }
        "revoke_my_token" => {
            let own = if p.hub == Hub::None {
                uuid::Uuid::new_v4().to_string()
            } else {
                let created = w
                    .record(
                        w.client(Some(p.token()))
                            .create_my_token(&read_token(&format!("Own {n}")))
                            .await,
                    )
                    .await;
                assert_eq!(created.status, 201, "{}", created.text);
                created.body["id"].as_str().unwrap().to_owned()
            };
            ids.push(own);
        }
        "retry_notification" => {
            // The newest message of the tenant (the world's invitations wrote some), made
            // `dead` so that an elevated caller may send it again.
            let id = w
                .app
                .scalar_text(&format!(
                    "SELECT id FROM notifications WHERE tenant_id = '{}' ORDER BY id DESC LIMIT 1",
                    w.tenant.id
                ))
                .await;
            crate::helpers::exec(
                &w.app,
                &format!(
                    "UPDATE notifications SET status = 'dead', attempts = 8 WHERE id = '{id}'"
                ),
            )
            .await;
            ids.push(id);
        }
        "revoke_tenant_token" => {
            let created = w
                .ok(ada.create_my_token(&read_token(&format!("Ada {n}"))).await)
                .await;
            ids.push(created["id"].as_str().unwrap().to_owned());
        }
        "revoke_engine_token" => {
            let engine = CreateEngineToken {
                name: format!("Engine {n}"),
            };
            let created = w.ok(ada.create_engine_token(&engine).await).await;
            ids.push(created["id"].as_str().unwrap().to_owned());
        }
        _ => {}
    }
    Prepared {
        n,
        token,
        connection,
        ids,
        credential,
        audits_refusals,
    }
}

/// A `read` token named `name`, never expiring.
fn read_token(name: &str) -> CreateToken {
    CreateToken {
        name: name.to_owned(),
        scope: TokenScope::Read,
        expires_at: None,
    }
}

/// Sends the cell's request: the operation, through the typed client, with the caller's
/// credential and a valid body; records the answer.
async fn send(w: &World, row: &Row, p: &Persona, prepared: &Prepared) -> Answer {
    let n = prepared.n;
    let c = w.client(prepared.token.as_deref());
    let cid = prepared.connection.clone().unwrap_or_default();
    let cid = cid.as_str();
    let id = |i: usize| {
        prepared
            .ids
            .get(i)
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    };
    let credential = || prepared.credential.clone().unwrap();
    match row.op {
        "get_healthz" => w.record(c.get_healthz().await).await,
        "get_readyz" => w.record(c.get_readyz().await).await,
        "get_openapi" => w.record(c.get_openapi().await).await,
        "get_permissions" => w.record(c.get_permissions().await).await,
        "list_demo_identities" => w.record(c.list_demo_identities().await).await,
        "get_tenant_sign_in" => w.record(c.get_tenant_sign_in(&w.tenant.slug).await).await,
        "start_oidc_sign_in" => w.record(c.start_oidc_sign_in(&w.tenant.slug).await).await,
        "finish_oidc_sign_in" => {
            w.record(c.finish_oidc_sign_in("nobody-started-this", "code").await)
                .await
        }
        "exchange_oidc_code" => {
            let body = hubkeep_shared::api::OidcExchange {
                code: "never-issued".into(),
            };
            w.record(c.exchange_oidc_code(&body).await).await
        }
        "launch_demo_session" => {
            let body = DemoLaunch {
                resource_id: p.resource,
            };
            w.record(c.launch_demo_session(&body).await).await
        }
        "launch_session" => {
            let body = LaunchRequest {
                assertion: credential(),
            };
            w.record(c.launch_session(&body).await).await
        }
        "refresh_session" => {
            let body = RefreshRequest {
                refresh_token: credential(),
            };
            w.record(c.refresh_session(&body).await).await
        }
        "end_session" => w.record(c.end_session().await).await,
        "get_me" => w.record(c.get_me().await).await,
        "list_my_invitations" => w.record(c.list_my_invitations().await).await,
        "list_my_tokens" => {
            w.record(c.list_my_tokens(&PageQuery::default()).await)
                .await
        }
        "create_my_token" => {
            w.record(c.create_my_token(&read_token(&format!("Sweep {n}"))).await)
                .await
        }
        "revoke_my_token" => w.record(c.revoke_my_token(&id(0)).await).await,
        "get_my_preferences" => w.record(c.get_my_preferences().await).await,
        "update_my_preferences" => {
            let body = NotificationPreferencesPatch {
                invitation_updates: Some(n.is_multiple_of(2)),
                ..NotificationPreferencesPatch::default()
            };
            w.record(c.update_my_preferences(&body).await).await
        }
        "list_notifications" => {
            w.record(c.list_notifications(&NotificationQuery::default()).await)
                .await
        }
        "retry_notification" => w.record(c.retry_notification(&id(0)).await).await,
        "get_settings" => w.record(c.get_settings().await).await,
        "get_sync_status" => {
            w.record(c.get_sync_status(&PageQuery::default()).await)
                .await
        }
        "list_activity" => {
            w.record(c.list_activity(&ActivityQuery::default()).await)
                .await
        }
        "export_activity" => {
            w.record(
                c.export_activity(&ActivityExportQuery::of(
                    ExportFormat::Ndjson,
                    &ActivityQuery::default(),
                ))
                .await,
            )
            .await
        }
        "list_connections" => {
            w.record(c.list_connections(&PageQuery::default()).await)
                .await
        }
        "get_elevated_levels" => w.record(c.get_elevated_levels().await).await,
        "save_elevated_levels" => {
            let body = ElevatedLevels {
                level_ids: vec![super::world::ADMIN_LEVEL],
            };
            w.record(c.save_elevated_levels(&body).await).await
        }
        "list_security_levels" => w.record(c.list_security_levels().await).await,
        "list_users" => w.record(c.list_users(&UserQuery::default()).await).await,
        "search_people" => {
            w.record(c.search_people(&PeopleQuery::new("val")).await)
                .await
        }
        "get_user" => w.record(c.get_user(&w.val_id).await).await,
        "update_user" => {
            let body = UserPatch {
                active: None,
                elevation: Some(Elevation::Inherit),
            };
            w.record(c.update_user(&w.val_id, &body).await).await
        }
        "refresh_users" => w.record(c.refresh_users().await).await,
        "update_settings" => {
            let body = UpdateSettings {
                default_timezone: Some("UTC".into()),
                ..Default::default()
            };
            w.record(c.update_settings(&body).await).await
        }
        "rotate_launch_secret" => w.record(c.rotate_launch_secret().await).await,
        "test_psa_connection" => w.record(c.test_psa_connection().await).await,
        "get_psa_status" => w.record(c.get_psa_status().await).await,
        "reconcile_psa" => w.record(c.reconcile_psa().await).await,
        "subscribe_psa_webhook" => w.record(c.subscribe_psa_webhook().await).await,
        "unsubscribe_psa_webhook" => w.record(c.unsubscribe_psa_webhook().await).await,
        "receive_autotask_callout" => {
            let body = AutotaskCallout {
                action: Some("Update".into()),
                guid: "5b0c3e1e-0000-4000-8000-000000000000".into(),
                entity_type: "Resource".into(),
                id: 1,
                fields: None,
                event_time: None,
                sequence_number: i64::try_from(n).unwrap_or(0),
                person_id: None,
            };
            let tenant = &w.tenant.id;
            w.record(c.receive_autotask_callout(tenant, &body, "sha1=AAAA").await)
                .await
        }
        "receive_autotask_deactivation" => {
            let tenant = &w.tenant.id;
            let body = json!({"Action": "Deactivated"});
            w.record(
                c.receive_autotask_deactivation(tenant, &body, "sha1=AAAA")
                    .await,
            )
            .await
        }
        "create_connection" => {
            let body = NewConnection {
                name: format!("Created {n}"),
                kind: "autotask_xero".into(),
                timezone: None,
            };
            w.record(c.create_connection(&body).await).await
        }
        "list_governance_connections" => {
            w.record(c.list_governance_connections(&PageQuery::default()).await)
                .await
        }
        "list_tenant_tokens" => {
            w.record(c.list_tenant_tokens(&PageQuery::default()).await)
                .await
        }
        "revoke_tenant_token" => w.record(c.revoke_tenant_token(&id(0)).await).await,
        "list_engine_tokens" => {
            w.record(c.list_engine_tokens(&PageQuery::default()).await)
                .await
        }
        "create_engine_token" => {
            let body = CreateEngineToken {
                name: format!("Engine {n}"),
            };
            w.record(c.create_engine_token(&body).await).await
        }
        "revoke_engine_token" => w.record(c.revoke_engine_token(&id(0)).await).await,
        "get_connection" => w.record(c.get_connection(cid).await).await,
        "list_connection_members" => w.record(c.list_connection_members(cid).await).await,
        "list_connection_invitations" => w.record(c.list_connection_invitations(cid).await).await,
        "list_runs" => {
            w.record(c.list_runs(cid, None, &PageQuery::default()).await)
                .await
        }
        "list_views" => {
            w.record(c.list_views(cid, &PageQuery::default()).await)
                .await
        }
        "update_connection" => {
            let body = match row.variant {
                "rename" => ConnectionPatch {
                    name: Some(format!("Renamed {n}")),
                    ..Default::default()
                },
                "timezone" => ConnectionPatch {
                    timezone: Some("Europe/Paris".into()),
                    ..Default::default()
                },
                "postgres_db" => ConnectionPatch {
                    postgres_db: Some(Some(super::world::POSTGRES_DB_SECRET.into())),
                    ..Default::default()
                },
                "locked_period_export" => ConnectionPatch {
                    locked_period_export: Some(true),
                    ..Default::default()
                },
                "reporting_currency" => ConnectionPatch {
                    reporting_currency: Some("EUR".into()),
                    ..Default::default()
                },
                "forecast_budget" => ConnectionPatch {
                    forecast_budget: Some(Some(ForecastBudgetInput {
                        id: "b-1".into(),
                        name: "FY27 budget".into(),
                    })),
                    ..Default::default()
                },
                "group" => ConnectionPatch {
                    group: Some(Some(format!("Group {n}"))),
                    ..Default::default()
                },
                "ungroup" => ConnectionPatch {
                    group: Some(None),
                    ..Default::default()
                },
                other => panic!("no body for update_connection/{other}"),
            };
            w.record(c.update_connection(cid, &body).await).await
        }
        "pay_connection" => {
            w.record(c.pay_connection(cid, &payment(1, 1000, "USD")).await)
                .await
        }
        "cancel_connection" => w.record(c.cancel_connection(cid).await).await,
        "disconnect_endpoint" => w.record(c.disconnect_endpoint(cid, "source").await).await,
        "reconnect_endpoint" => {
            let body = ReconnectInput {
                account_label: Some("Reconnected".into()),
            };
            w.record(c.reconnect_endpoint(cid, "source", &body).await)
                .await
        }
        "create_invitation" => {
            let role: ConnectionRole = row.variant.parse().unwrap();
            w.record(c.create_invitation(cid, &invitation(&w.ivy_id, role)).await)
                .await
        }
        "revoke_invitation" => w.record(c.revoke_invitation(&id(0)).await).await,
        "accept_invitation" => w.record(c.accept_invitation(&id(0)).await).await,
        "decline_invitation" => w.record(c.decline_invitation(&id(0)).await).await,
        "remove_member_role" => {
            w.record(c.remove_member_role(cid, &w.mo_id, row.variant).await)
                .await
        }
        "leave_connection" => w.record(c.leave_connection(cid).await).await,
        "recover_ownership" => {
            let body = RecoverOwnership {
                user_id: UserId::new(w.ned_id.clone()),
                retain_role: None,
            };
            w.record(c.recover_ownership(cid, &body).await).await
        }
        "request_run" => {
            w.record(c.request_run(cid, &RunRequest::default()).await)
                .await
        }
        "hide_run" => w.record(c.hide_run(cid, &id(0)).await).await,
        "unhide_run" => w.record(c.unhide_run(cid, &id(0)).await).await,
        "report_run_progress" => {
            w.record(
                c.report_run_progress(cid, &id(0), &progress(RunStatus::Running))
                    .await,
            )
            .await
        }
        "create_view" => {
            let body = view(&format!("View {n}"), json!({ "entity": "invoices" }));
            w.record(c.create_view(cid, &body).await).await
        }
        "update_view" => {
            let body = view(&format!("Edited {n}"), json!({}));
            w.record(c.update_view(cid, &id(0), &body).await).await
        }
        "delete_view" => w.record(c.delete_view(cid, &id(0)).await).await,
        "get_activity" => w.record(c.get_activity(&id(0)).await).await,
        other => panic!("the sweep has no request for `{other}`: add it to TABLE and send()"),
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
            let answer = send(&w, row, p, &prepared).await;
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
