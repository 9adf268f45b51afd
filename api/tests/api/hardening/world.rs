//! The world the sweeps attack: tenant A with one persona per hub access level × connection
//! role, a few helper users, and tenant B next door; a recording client; database snapshots.

use std::sync::Mutex;

use hubkeep_shared::ConnectionRole;
use hubkeep_shared::api::{
    CreateEngineToken, CreateToken, ElevatedLevels, NewConnection, ReconnectInput, RunRequest,
    UserPatch,
};
use hubkeep_shared::{DirectoryFile, PsaResource, PsaSecurityLevel, TokenScope};
use reqwest::Method;
use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue, Statement, TransactionTrait};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::common::Snapshot;
use crate::client::{self, Client, invitation, view};
use crate::helpers::{Backend, Session, TestApp, TestTenant, spawn_app};

/// A hub access level of a persona.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hub {
    Elevated,
    Limited,
    /// Deactivated by an elevated user after signing in: every credential is dead.
    None,
}

pub const ROLES: [&str; 4] = ["owner", "business_admin", "it_admin", "read_only"];

/// A signed-in user of tenant A with a hub access level and, on the connection a cell is
/// about, one role or none.
#[derive(Debug, Clone)]
pub struct Persona {
    pub hub: Hub,
    pub role: Option<&'static str>,
    pub resource: i64,
    pub user_id: String,
    pub session: Session,
}

impl Persona {
    pub fn label(&self) -> String {
        format!("{:?}/{}", self.hub, self.role.unwrap_or("no_role")).to_lowercase()
    }

    pub fn token(&self) -> &str {
        &self.session.access_token
    }
}

/// Resource ids of tenant A's directory.
pub mod res {
    pub const ADA: i64 = 100;
    /// Limited; the target of user operations.
    pub const VAL_VICTIM: i64 = 110;
    /// Limited; invited by the invitation cells.
    pub const IVY_INVITEE: i64 = 120;
    /// Eligible for elevation, deactivated: the absent owner of recovery cells.
    pub const OTTO_ORPHAN: i64 = 130;
    /// Limited; the member whose roles the removal cells remove.
    pub const MO_MEMBER: i64 = 140;
    /// Elevated, holds no role anywhere: the new owner of recovery cells.
    pub const NED_NEW_OWNER: i64 = 150;

    /// The persona for a hub level (0 elevated, 1 limited, 2 none) and role slot (0–3 the
    /// roles, 4 none).
    pub const fn persona(hub: usize, role: usize) -> i64 {
        1000 + (hub as i64) * 10 + role as i64
    }
}

pub const ADMIN_LEVEL: i64 = 1;
pub const TECH_LEVEL: i64 = 3;

/// The connection string the `postgres_db` cells write: it must never come back.
pub const POSTGRES_DB_SECRET: &str = "postgres://hubkeep:pg-Secret-7Qx2@db.example.test/reports";

fn directory() -> DirectoryFile {
    let level = |id: i64, name: &str, elevation: bool| PsaSecurityLevel {
        id,
        name: name.into(),
        is_active: true,
        hub_menu: true,
        qbo_extension_admin: elevation,
        other_extensions_admin: elevation,
        resource_impersonation: elevation,
    };
    let person = |id: i64, first: &str, last: &str, level: i64| PsaResource {
        id,
        first_name: first.into(),
        last_name: last.into(),
        email: format!("{}.{}@a.example.test", first.to_lowercase(), id),
        user_name: format!("{}{id}", first.to_lowercase()),
        is_active: true,
        security_level_id: level,
    };
    let mut resources = vec![
        person(res::ADA, "Ada", "Admin", ADMIN_LEVEL),
        person(res::VAL_VICTIM, "Val", "Victim", TECH_LEVEL),
        person(res::IVY_INVITEE, "Ivy", "Invitee", TECH_LEVEL),
        person(res::OTTO_ORPHAN, "Otto", "Orphan", ADMIN_LEVEL),
        person(res::MO_MEMBER, "Mo", "Member", TECH_LEVEL),
        person(res::NED_NEW_OWNER, "Ned", "Newowner", ADMIN_LEVEL),
    ];
    for (h, hub) in ["Elevated", "Limited", "None"].into_iter().enumerate() {
        for (r, role) in ["Owner", "Badmin", "Itadmin", "Readonly", "Norole"]
            .into_iter()
            .enumerate()
        {
            let level = if h == 1 { TECH_LEVEL } else { ADMIN_LEVEL };
            resources.push(person(res::persona(h, r), hub, role, level));
        }
    }
    DirectoryFile {
        security_levels: vec![
            level(ADMIN_LEVEL, "Administrator", true),
            level(TECH_LEVEL, "Technician", false),
        ],
        resources,
    }
}

/// What came back for a request, as the sweeps record it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn outcome(&self) -> String {
        if self.code().is_empty() {
            self.status.to_string()
        } else {
            format!("{} {}", self.status, self.code())
        }
    }
}

/// See [`World::objects`].
#[derive(Debug, Clone)]
pub struct Objects {
    pub connection: String,
    pub run: String,
    pub view: String,
    pub invitation: String,
    pub token: String,
    pub engine_token: String,
    pub engine_secret: String,
    pub activity: String,
    /// The message the invitation wrote to the outbox (SPEC S15).
    pub notification: String,
}

impl Objects {
    /// The path with every `{param}` replaced by the id of an existing object, or the
    /// parameter no object stands for (a new kind of path: teach this function about it).
    pub fn fill(&self, world: &World, template: &str) -> Result<String, String> {
        let segments: Vec<&str> = template.split('/').collect();
        let mut out = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                out.push((*segment).to_owned());
                continue;
            };
            let before = if i > 0 { segments[i - 1] } else { "" };
            let before2 = if i > 1 { segments[i - 2] } else { "" };
            let value = match (before2, before, param) {
                (_, "connections", "id") => self.connection.clone(),
                (_, "runs", "run_id") => self.run.clone(),
                (_, "views", "view_id") => self.view.clone(),
                (_, "members", "user_id") => world.mo_id.clone(),
                (_, "roles", "role") => "business_admin".to_owned(),
                (_, "endpoints", "side") => "source".to_owned(),
                (_, "invitations", "id") => self.invitation.clone(),
                (_, "activity", "id") => self.activity.clone(),
                (_, "notifications", "id") => self.notification.clone(),
                (_, "users", "id") => world.val_id.clone(),
                ("me", "tokens", "id") | (_, "tokens", "id") => self.token.clone(),
                (_, "engine-tokens", "id") => self.engine_token.clone(),
                // Autotask's callouts name the tenant (which has no subscription here).
                (_, "webhooks", "tenant_id") => world.tenant.id.clone(),
                // The sign-in page of the tenant (which has no OIDC sign-in here).
                (_, "tenants" | "oidc", "slug") => world.tenant.slug.clone(),
                _ => return Err(format!("{template}: no object for {{{param}}}")),
            };
            out.push(value);
        }
        Ok(out.join("/"))
    }
}

pub struct World {
    pub app: TestApp,
    pub tenant: TestTenant,
    pub ada: Session,
    pub ada_id: String,
    pub val_id: String,
    pub ivy_id: String,
    pub otto_id: String,
    pub mo_id: String,
    pub ned_id: String,
    /// Elevated, limited and none personas, each with every role slot (role `None` last).
    pub personas: Vec<Persona>,
    pub other_tenant: TestTenant,
    /// Tenant B's primary (elevated) and a limited user of B.
    pub b_elevated: Session,
    pub b_limited: Session,
    /// Every response body the sweeps received, for the secret scan.
    bodies: Mutex<Vec<String>>,
    counter: std::sync::atomic::AtomicUsize,
}

impl World {
    pub async fn build(backend: Backend) -> World {
        let app = spawn_app(backend).await;
        let tenant = app.tenant_with_directory(&directory()).await;
        let ada = app.sign_in(&tenant, res::ADA).await;
        app.as_(&ada)
            .save_elevated_levels(&ElevatedLevels {
                level_ids: vec![ADMIN_LEVEL],
            })
            .await
            .expect(200)
            .await;
        let mut ids = Vec::new();
        for resource in [
            res::VAL_VICTIM,
            res::IVY_INVITEE,
            res::OTTO_ORPHAN,
            res::MO_MEMBER,
            res::NED_NEW_OWNER,
        ] {
            ids.push(crate::helpers::id(&app.sign_in(&tenant, resource).await));
        }
        let mut personas = Vec::new();
        for (h, hub) in [Hub::Elevated, Hub::Limited, Hub::None]
            .into_iter()
            .enumerate()
        {
            for r in 0..5 {
                let resource = res::persona(h, r);
                let session = app.sign_in(&tenant, resource).await;
                personas.push(Persona {
                    hub,
                    role: ROLES.get(r).copied(),
                    resource,
                    user_id: crate::helpers::id(&session),
                    session,
                });
            }
        }
        let other_tenant = app.tenant().await;
        let b_elevated = app
            .sign_in(&other_tenant, crate::helpers::people::ADA_ADMIN)
            .await;
        let b_limited = app
            .sign_in(&other_tenant, crate::helpers::people::TESS_TECH)
            .await;
        let world = World {
            tenant,
            ada_id: crate::helpers::id(&ada),
            ada,
            val_id: ids[0].clone(),
            ivy_id: ids[1].clone(),
            otto_id: ids[2].clone(),
            mo_id: ids[3].clone(),
            ned_id: ids[4].clone(),
            personas,
            other_tenant,
            b_elevated,
            b_limited,
            bodies: Mutex::new(Vec::new()),
            counter: Default::default(),
            app,
        };
        // Hub access `none`: deactivated by an elevated user, which also ends their sessions.
        let mut dead: Vec<String> = world
            .personas
            .iter()
            .filter(|p| p.hub == Hub::None)
            .map(|p| p.user_id.clone())
            .collect();
        dead.push(world.otto_id.clone());
        let deactivate = UserPatch {
            active: Some(false),
            elevation: None,
        };
        for user in dead {
            let answer = world
                .record(world.as_ada().update_user(&user, &deactivate).await)
                .await;
            assert_eq!(answer.status, 200, "deactivating {user}: {}", answer.text);
        }
        world
    }

    /// A fresh number, for unique names.
    pub fn next(&self) -> usize {
        self.counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub fn persona(&self, hub: Hub, role: Option<&str>) -> &Persona {
        self.personas
            .iter()
            .find(|p| p.hub == hub && p.role == role)
            .expect("every persona exists")
    }

    /// The typed client with `token` (none: anonymous).
    pub fn client(&self, token: Option<&str>) -> Client<'_> {
        match token {
            Some(token) => self.app.with_token(token),
            None => self.app.anonymous(),
        }
    }

    /// The typed client as Ada (primary, elevated).
    pub fn as_ada(&self) -> Client<'_> {
        self.app.as_(&self.ada)
    }

    /// Reads an answer and records its body (for the secret scan).
    pub async fn record<T: DeserializeOwned>(&self, answer: client::Answer<T>) -> Answer {
        let res = answer.into_inner();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        self.bodies.lock().unwrap().push(text.clone());
        Answer { status, body, text }
    }

    /// Records an answer that must be a success (a setup step); returns its body.
    pub async fn ok<T: DeserializeOwned>(&self, answer: client::Answer<T>) -> Value {
        let what = answer.what().to_owned();
        let answer = self.record(answer).await;
        assert!(
            (200..300).contains(&answer.status),
            "{what}: {} {}",
            answer.status,
            answer.text
        );
        answer.body
    }

    /// Sends a request built from the document (a path template filled in, a body with a
    /// smuggled field) and records the body it got back.
    pub async fn send_as(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = self.client(token).raw(method, path, body.as_ref()).await;
        self.record(answer).await
    }

    /// A new `xero_power_bi` connection (every setting and action applies) created by Ada,
    /// who owns it until [`World::hand_over`]; both endpoints connected.
    pub async fn new_connection(&self) -> String {
        let n = self.next();
        let ada = self.as_ada();
        let created = self
            .ok(ada
                .create_connection(&NewConnection {
                    name: format!("Cell {n}"),
                    kind: "xero_power_bi".into(),
                    timezone: None,
                })
                .await)
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        for side in ["source", "target"] {
            let label = ReconnectInput {
                account_label: Some(format!("{side} account")),
            };
            self.ok(ada.reconnect_endpoint(&id, side, &label).await)
                .await;
        }
        id
    }

    /// Moves the connection's ownership from Ada to `owner` and gives each of `grants` its
    /// role, straight in the database (what accepted invitations would have written).
    pub async fn hand_over(&self, connection: &str, owner: &str, grants: &[(&str, &str)]) {
        let db = &self.app.db;
        let txn = db.begin().await.unwrap();
        let backend = db.get_database_backend();
        if owner != self.ada_id {
            for sql in [
                format!(
                    "UPDATE role_assignments SET user_id = '{owner}' \
                     WHERE connection_id = '{connection}' AND role = 'owner'"
                ),
                format!(
                    "UPDATE connections SET owner_user_id = '{owner}' WHERE id = '{connection}'"
                ),
            ] {
                txn.execute_raw(Statement::from_string(backend, sql))
                    .await
                    .unwrap();
            }
        }
        let at = if self.app.is_postgres() {
            "TIMESTAMPTZ '2026-01-01T00:00:00+00:00'"
        } else {
            "'2026-01-01T00:00:00+00:00'"
        };
        for (user, role) in grants {
            txn.execute_raw(Statement::from_string(
                backend,
                format!(
                    "INSERT INTO role_assignments (connection_id, user_id, role, tenant_id, \
                     granted_at) VALUES ('{connection}', '{user}', '{role}', '{}', {at})",
                    self.tenant.id
                ),
            ))
            .await
            .unwrap();
        }
        txn.commit().await.unwrap();
        self.app.settle().await;
    }

    /// One object of every kind that a path names, all in tenant A and reachable by Ada:
    /// a connection she owns (Mo a business admin on it) with a run, a view, a pending
    /// invitation to Ivy and its creation's activity entry; her API and engine tokens.
    pub async fn objects(&self) -> Objects {
        let n = self.next();
        let connection = self.new_connection().await;
        let c = &connection;
        self.hand_over(c, &self.ada_id, &[(&self.mo_id, "business_admin")])
            .await;
        let ada = self.as_ada();
        let run = self
            .ok(ada.request_run(c, &RunRequest::default()).await)
            .await;
        let view = self
            .ok(ada
                .create_view(c, &view(&format!("Objects {n}"), json!({})))
                .await)
            .await;
        let invitation = self
            .ok(ada
                .create_invitation(c, &invitation(&self.ivy_id, ConnectionRole::ReadOnly))
                .await)
            .await;
        let token = self
            .ok(ada
                .create_my_token(&CreateToken {
                    name: format!("Objects {n}"),
                    scope: TokenScope::ReadWrite,
                    expires_at: None,
                })
                .await)
            .await;
        let engine = self
            .ok(ada
                .create_engine_token(&CreateEngineToken {
                    name: format!("Objects {n}"),
                })
                .await)
            .await;
        let activity = JsonValue::find_by_statement(Statement::from_string(
            self.app.db.get_database_backend(),
            format!("SELECT id FROM activity_log WHERE connection_id = '{c}' ORDER BY at LIMIT 1"),
        ))
        .one(&self.app.db)
        .await
        .unwrap()
        .unwrap();
        let notification = self
            .app
            .scalar_text(&format!(
                "SELECT id FROM notifications WHERE tenant_id = '{}' ORDER BY id DESC LIMIT 1",
                self.tenant.id
            ))
            .await;
        let s = |v: &Value| v.as_str().unwrap().to_owned();
        Objects {
            notification,
            run: s(&run["id"]),
            view: s(&view["id"]),
            invitation: s(&invitation["id"]),
            token: s(&token["id"]),
            engine_token: s(&engine["id"]),
            engine_secret: s(&engine["token"]),
            activity: s(&activity["id"]),
            connection,
        }
    }

    /// Every response body recorded so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    /// The database as [`super::common::snapshot`] sees it: equal snapshots mean a request
    /// changed nothing; with `connection`, other connections' rows only as counts.
    pub async fn snapshot(&self, connection: Option<&str>) -> Snapshot {
        super::common::snapshot(&self.app, connection).await
    }

    /// The tables whose rows differ between two snapshots.
    pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
        super::common::changed_tables(before, after)
    }

    /// Values that must never appear in a response body: launch secrets, the JWT signing
    /// key, every stored token hash, the Postgres connection string the cells wrote.
    pub async fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![
            self.tenant.launch_secret.clone(),
            self.other_tenant.launch_secret.clone(),
            POSTGRES_DB_SECRET.to_owned(),
            "pg-Secret-7Qx2".to_owned(),
        ];
        let key_file = self.app.data_dir().join("signing-key.json");
        let key: Value = serde_json::from_str(&std::fs::read_to_string(key_file).unwrap()).unwrap();
        secrets.push(
            key["secret"]
                .as_str()
                .expect("the generated signing key")
                .to_owned(),
        );
        for (table, column) in [
            ("api_tokens", "token_hash"),
            ("refresh_tokens", "token_hash"),
            ("psa_settings", "launch_secret"),
        ] {
            let sql = format!("SELECT {column} AS v FROM {table}");
            let rows = JsonValue::find_by_statement(Statement::from_string(
                self.app.db.get_database_backend(),
                sql,
            ))
            .all(&self.app.db)
            .await
            .unwrap();
            secrets.extend(
                rows.iter()
                    .filter_map(|r| r["v"].as_str())
                    .filter(|v| v.len() >= 16)
                    .map(str::to_owned),
            );
        }
        secrets
    }
}
