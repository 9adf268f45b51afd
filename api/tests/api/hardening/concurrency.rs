//! Concurrency invariants (issue 8; SPEC S2.2, S5, S7, S10): 200 conflicting requests sent
//! at once — ownership transfers and accepts, accepts racing revocations and declines, role
//! removals racing each other and leaves, elevated users deactivating each other, an
//! elevated user's own-elevation change racing their own Access-tab save, saves of
//! different sets by different users, guard-breaking requests (G1–G3, G7) — and afterwards:
//!
//! - every answer is a documented 2xx/4xx (the contract check panics on anything else), and
//!   guard-breaking requests never succeed;
//! - every activity entry written meanwhile belongs to exactly one successful request of the
//!   matching kind, and every successful change has exactly one entry (S7);
//! - replaying the entries in order from the state before the storm explains every entry's
//!   `before` values and ends in exactly the state the database holds: no change went
//!   unlogged, none was logged twice, none read stale data;
//! - in that order, every change of users or the Access tab was made by a caller who was
//!   elevated at that moment and still was afterwards (nobody demoted or deactivated
//!   themselves, and nobody acted on access a concurrent change had already taken away);
//! - every connection has exactly one owner after each step and at the end, the owner row
//!   and `connections.owner_user_id` agree, and no invitation is answered twice;
//! - the primary user is untouched and still the only one; every user's stored (sortable)
//!   access level equals the access computed from current data.
//!
//! Expected access levels are computed here from SPEC S2, never from `shared`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hubkeep_shared::api::{ElevatedLevels, NewConnection, NewInvitation, UserPatch};
use hubkeep_shared::{
    ConnectionRole, DirectoryFile, Elevation, InvitationId, PsaResource, PsaSecurityLevel,
};
use sea_orm::{ConnectionTrait, QueryResult, Statement};
use serde_json::Value;

use super::common::summary;
use crate::client::{Client, active, elevation, invitation};
use crate::helpers::{Backend, TestApp, TestTenant, grant, spawn_app_with};
use crate::on_each_backend;

on_each_backend!(hardening_concurrent_conflicting_requests_keep_the_invariants);

const ADMINISTRATOR: i64 = 1;
const FINANCE: i64 = 2;
const TECHNICIAN: i64 = 3;
const CONTROLLER: i64 = 6;

/// Everyone of the storm: name, PSA resource id, security level. `P` signs in first (the
/// primary user); `A*` and `F*` are elevated through the Access tab, `C*` by a per-user
/// grant (and their level is in the set too), `T*` are limited.
const PEOPLE: &[(&str, i64, i64)] = &[
    ("P", 100, ADMINISTRATOR),
    ("A1", 101, ADMINISTRATOR),
    ("A2", 102, ADMINISTRATOR),
    ("A3", 103, ADMINISTRATOR),
    ("A4", 104, ADMINISTRATOR),
    ("F1", 111, FINANCE),
    ("F2", 112, FINANCE),
    ("C1", 121, CONTROLLER),
    ("C2", 122, CONTROLLER),
    ("T1", 201, TECHNICIAN),
    ("T2", 202, TECHNICIAN),
    ("T3", 203, TECHNICIAN),
    ("T4", 204, TECHNICIAN),
    ("T5", 205, TECHNICIAN),
];

fn directory() -> DirectoryFile {
    let level = |id: i64, name: &str, admin: bool| PsaSecurityLevel {
        id,
        name: name.into(),
        is_active: true,
        hub_menu: true,
        qbo_extension_admin: admin,
        other_extensions_admin: admin,
        resource_impersonation: admin,
    };
    DirectoryFile {
        security_levels: vec![
            level(ADMINISTRATOR, "Administrator", true),
            level(FINANCE, "Finance Manager", true),
            level(TECHNICIAN, "Technician", false),
            level(CONTROLLER, "Controller", true),
        ],
        resources: PEOPLE
            .iter()
            .map(|&(name, id, level)| PsaResource {
                id,
                first_name: name.into(),
                last_name: "Racer".into(),
                email: format!("{}.racer@example.test", name.to_lowercase()),
                user_name: format!("{}racer", name.to_lowercase()),
                is_active: true,
                security_level_id: level,
            })
            .collect(),
    }
}

/// SPEC S2 for the levels of [`directory`]: every level is eligible for access; all but
/// Technician are eligible for elevation.
fn access(user: &UserState, set: &BTreeSet<i64>) -> &'static str {
    let eligible_for_elevation = user.level != TECHNICIAN;
    if !user.active {
        "none"
    } else if user.is_primary {
        if eligible_for_elevation {
            "elevated"
        } else {
            "limited"
        }
    } else if !eligible_for_elevation {
        "limited"
    } else {
        match user.elevation.as_str() {
            "granted" => "elevated",
            "revoked" => "limited",
            _ if set.contains(&user.level) => "elevated",
            _ => "limited",
        }
    }
}

/// The change of elevation named as the API names it.
fn elevation_of(name: &str) -> UserPatch {
    elevation(name.parse().unwrap())
}

fn rank(level: &str) -> i32 {
    match level {
        "elevated" => 2,
        "limited" => 1,
        _ => 0,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserState {
    active: bool,
    elevation: String,
    is_primary: bool,
    level: i64,
}

/// A signed-in person: a console session and a `read_write` API token.
struct Person {
    id: String,
    access_token: String,
    api_token: String,
}

/// What a request is, for matching answers with activity entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    PatchUser,
    SaveLevels,
    RefreshUsers,
    Invite,
    AcceptOwner,
    AcceptRole,
    Decline,
    Revoke,
    RemoveRole,
    Leave,
}

impl Op {
    /// The actions one successful request of this kind may write.
    fn actions(self) -> &'static [&'static str] {
        match self {
            Op::PatchUser => &[
                "user.activated",
                "user.deactivated",
                "user.elevation_changed",
                "user.updated",
            ],
            Op::SaveLevels => &["access.elevated_levels_saved"],
            Op::RefreshUsers => &["users.refreshed"],
            Op::Invite => &["invitation.created"],
            Op::AcceptOwner => &["connection.ownership_transferred"],
            Op::AcceptRole => &["invitation.accepted"],
            Op::Decline => &["invitation.declined"],
            Op::Revoke => &["invitation.revoked"],
            Op::RemoveRole => &["member.role_removed"],
            Op::Leave => &["member.left"],
        }
    }

    /// A success that changes nothing writes nothing: only a PATCH that sets what is already
    /// set, or a save of the set already saved.
    fn may_change_nothing(self) -> bool {
        matches!(self, Op::PatchUser | Op::SaveLevels)
    }

    /// The statuses this kind may answer in the storm (no 5xx, and 422 only where a
    /// concurrent deactivation can make a valid body invalid).
    fn statuses(self) -> &'static [u16] {
        match self {
            Op::PatchUser | Op::SaveLevels | Op::RefreshUsers => &[200, 401, 403, 409],
            Op::Invite => &[201, 401, 403, 404, 409, 422],
            Op::AcceptOwner | Op::AcceptRole | Op::Decline | Op::Revoke => {
                &[200, 401, 403, 404, 409]
            }
            Op::RemoveRole | Op::Leave => &[204, 401, 403, 404, 409],
        }
    }
}

/// The operation a call makes, with what it names and sends.
enum Req {
    AcceptInvitation(InvitationId),
    DeclineInvitation(InvitationId),
    RevokeInvitation(InvitationId),
    CreateInvitation(String, NewInvitation),
    RemoveMemberRole(String, String, &'static str),
    LeaveConnection(String),
    UpdateUser(String, UserPatch),
    SaveElevatedLevels(ElevatedLevels),
    RefreshUsers,
}

impl Req {
    /// Sends it through the typed client; the answer as it came.
    async fn send(self, c: Client<'static>) -> reqwest::Response {
        match self {
            Req::AcceptInvitation(id) => c.accept_invitation(&id).await.into_inner(),
            Req::DeclineInvitation(id) => c.decline_invitation(&id).await.into_inner(),
            Req::RevokeInvitation(id) => c.revoke_invitation(&id).await.into_inner(),
            Req::CreateInvitation(cid, body) => c.create_invitation(&cid, &body).await.into_inner(),
            Req::RemoveMemberRole(cid, user, role) => {
                c.remove_member_role(&cid, &user, role).await.into_inner()
            }
            Req::LeaveConnection(cid) => c.leave_connection(&cid).await.into_inner(),
            Req::UpdateUser(id, body) => c.update_user(&id, &body).await.into_inner(),
            Req::SaveElevatedLevels(body) => c.save_elevated_levels(&body).await.into_inner(),
            Req::RefreshUsers => c.refresh_users().await.into_inner(),
        }
    }
}

struct Call {
    op: Op,
    who: &'static str,
    req: Option<Req>,
    /// A guard forbids it whatever the interleaving (G1–G3, G7, the ladder).
    must_refuse: bool,
    what: String,
}

struct Outcome {
    status: u16,
    code: Option<String>,
    request_id: Option<String>,
}

/// Invariant checks and their failures.
#[derive(Default)]
struct Verdict {
    checks: usize,
    failures: Vec<String>,
}

impl Verdict {
    fn check(&mut self, ok: bool, failure: impl FnOnce() -> String) {
        self.checks += 1;
        if !ok {
            self.failures.push(failure());
        }
    }
}

async fn rows(app: &TestApp, sql: &str) -> Vec<QueryResult> {
    app.db
        .query_all_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
}

/// One connection of the world and who does what on it in the storm.
struct Conn {
    id: String,
    owner: &'static str,
    /// Invited to take over ownership before the storm.
    successor: &'static str,
    business_admin: &'static str,
    it_admin: &'static str,
    read_only: &'static str,
    /// Invited to `read_only` and to `it_admin` before the storm.
    ro_invitee: &'static str,
    it_invitee: &'static str,
    /// Whom the owner tries to offer ownership to during the storm.
    other: &'static str,
    owner_invitation: InvitationId,
    ro_invitation: InvitationId,
    it_invitation: InvitationId,
}

struct World {
    app: TestApp,
    tenant: TestTenant,
    people: HashMap<&'static str, Person>,
    conns: Vec<Conn>,
}

impl World {
    fn id(&self, who: &str) -> &str {
        &self.people[who].id
    }
}

/// Primary, eight elevated users, five limited ones, five connections with members of every
/// role, a pending ownership transfer and two pending invitations each.
async fn world(backend: Backend) -> World {
    // Several workers: requests are handled in parallel, not only interleaved.
    let app = spawn_app_with(backend, |s| s.workers = Some(4)).await;
    let tenant = app.tenant_with_directory(&directory()).await;
    let mut people = HashMap::new();
    for &(name, resource, _) in PEOPLE {
        let session = app.sign_in(&tenant, resource).await;
        if name == "P" {
            assert_eq!(session.user["is_primary"], true, "P signs in first");
            let levels = ElevatedLevels {
                level_ids: vec![ADMINISTRATOR, FINANCE, CONTROLLER],
            };
            app.as_(&session)
                .save_elevated_levels(&levels)
                .await
                .expect(200)
                .await;
        }
        let api_token = app.create_token(&session.access_token, "read_write").await;
        people.insert(
            name,
            Person {
                id: session.user["id"].as_str().unwrap().to_owned(),
                access_token: session.access_token,
                api_token,
            },
        );
    }
    for c in ["C1", "C2"] {
        app.with_token(&people["P"].access_token)
            .update_user(&people[c].id, &elevation(Elevation::Granted))
            .await
            .expect(200)
            .await;
    }
    let mut world = World {
        app,
        tenant,
        people,
        conns: Vec::new(),
    };
    // Per connection: owner, successor (invited to take ownership), the role the owner
    // retains ("" for none), business_admin, it_admin, read_only, invited to read_only,
    // invited to it_admin, offered ownership during the storm.
    const SPECS: [[&str; 9]; 5] = [
        [
            "A1",
            "A4",
            "business_admin",
            "F2",
            "T1",
            "T4",
            "T2",
            "T3",
            "C2",
        ],
        ["A2", "T1", "read_only", "C2", "T2", "T5", "T3", "T4", "A4"],
        ["F1", "C1", "", "A3", "T3", "T1", "T2", "T5", "A2"],
        ["P", "A1", "it_admin", "A2", "T4", "T2", "T3", "T5", "F1"],
        ["A3", "F2", "read_only", "A4", "T5", "T3", "T1", "T4", "P"],
    ];
    for (i, [owner, successor, retain, ba, it, ro, ro_inv, it_inv, other]) in
        SPECS.into_iter().enumerate()
    {
        let retain = Some(retain)
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<ConnectionRole>().unwrap());
        let as_owner = world.app.with_token(&world.people[owner].access_token);
        let cid = as_owner
            .create_connection(&NewConnection {
                name: format!("Contended {i}"),
                kind: "autotask_quickbooks".into(),
                timezone: None,
            })
            .await
            .expect(201)
            .await
            .id;
        for (who, role) in [(ba, "business_admin"), (it, "it_admin"), (ro, "read_only")] {
            grant(&world.app, &world.tenant, &cid, world.id(who), role).await;
        }
        let mut invitations = Vec::new();
        for body in [
            NewInvitation {
                retain_role: retain,
                ..invitation(world.id(successor), ConnectionRole::Owner)
            },
            invitation(world.id(ro_inv), ConnectionRole::ReadOnly),
            invitation(world.id(it_inv), ConnectionRole::ItAdmin),
        ] {
            let created = as_owner.create_invitation(&cid, &body).await;
            invitations.push(created.expect(201).await.id);
        }
        let [owner_invitation, ro_invitation, it_invitation] =
            <[InvitationId; 3]>::try_from(invitations).unwrap();
        world.conns.push(Conn {
            id: cid.into(),
            owner,
            successor,
            business_admin: ba,
            it_admin: it,
            read_only: ro,
            ro_invitee: ro_inv,
            it_invitee: it_inv,
            other,
            owner_invitation,
            ro_invitation,
            it_invitation,
        });
    }
    world
}

/// The 200 requests of the storm.
fn storm(w: &World) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut add = |op: Op, who: &'static str, req: Req, must_refuse: bool, what: String| {
        calls.push(Call {
            op,
            who,
            req: Some(req),
            must_refuse,
            what,
        });
    };

    // Connections: transfers, accepts racing revocations and declines, removals racing
    // removals and leaves, and the owner role that never moves but by a transfer.
    for c in &w.conns {
        let accept = |inv: &InvitationId| Req::AcceptInvitation(inv.clone());
        for _ in 0..3 {
            add(
                Op::AcceptOwner,
                c.successor,
                accept(&c.owner_invitation),
                false,
                format!("{} accepts ownership of {}", c.successor, c.id),
            );
        }
        add(
            Op::Decline,
            c.successor,
            Req::DeclineInvitation(c.owner_invitation.clone()),
            false,
            format!("{} declines ownership of {}", c.successor, c.id),
        );
        add(
            Op::Revoke,
            c.owner,
            Req::RevokeInvitation(c.owner_invitation.clone()),
            false,
            format!("{} revokes the transfer of {}", c.owner, c.id),
        );
        for _ in 0..2 {
            add(
                Op::Invite,
                c.owner,
                Req::CreateInvitation(
                    c.id.clone(),
                    invitation(w.id(c.other), ConnectionRole::Owner),
                ),
                false,
                format!("{} offers {} to {}", c.owner, c.id, c.other),
            );
        }
        add(
            Op::Invite,
            c.successor,
            Req::CreateInvitation(
                c.id.clone(),
                invitation(w.id(c.owner), ConnectionRole::Owner),
            ),
            false,
            format!("{} offers {} back to {}", c.successor, c.id, c.owner),
        );
        for (inv, invitee, revoker) in [
            (&c.ro_invitation, c.ro_invitee, c.business_admin),
            (&c.it_invitation, c.it_invitee, c.owner),
        ] {
            for _ in 0..2 {
                add(
                    Op::AcceptRole,
                    invitee,
                    accept(inv),
                    false,
                    format!("{invitee} accepts a role on {}", c.id),
                );
            }
            add(
                Op::Revoke,
                revoker,
                Req::RevokeInvitation(inv.clone()),
                false,
                format!("{revoker} revokes {invitee}'s invitation to {}", c.id),
            );
        }
        let remove = |member: &str, role: &'static str| {
            Req::RemoveMemberRole(c.id.clone(), w.id(member).to_owned(), role)
        };
        for (member, role, removers) in [
            (
                c.business_admin,
                "business_admin",
                [c.owner, c.business_admin],
            ),
            (c.it_admin, "it_admin", [c.owner, c.business_admin]),
            (c.read_only, "read_only", [c.it_admin, c.it_admin]),
        ] {
            let removers: &[&'static str] = if role == "read_only" {
                &removers[..1]
            } else {
                &removers[..]
            };
            for &remover in removers {
                add(
                    Op::RemoveRole,
                    remover,
                    remove(member, role),
                    false,
                    format!("{remover} removes {member}'s {role} on {}", c.id),
                );
            }
            add(
                Op::Leave,
                member,
                Req::LeaveConnection(c.id.clone()),
                false,
                format!("{member} leaves {}", c.id),
            );
        }
        add(
            Op::RemoveRole,
            c.business_admin,
            remove(c.owner, "owner"),
            true,
            format!("{} removes the owner role of {}", c.business_admin, c.id),
        );
        add(
            Op::Leave,
            c.owner,
            Req::LeaveConnection(c.id.clone()),
            false,
            format!("{} (owner at the start) leaves {}", c.owner, c.id),
        );
    }

    // Users and the Access tab.
    let mut patch_user =
        |who: &'static str, target: &'static str, body: UserPatch, must_refuse: bool| {
            let what = format!(
                "{who} sets {} on {target}",
                serde_json::to_string(&body).unwrap()
            );
            add(
                Op::PatchUser,
                who,
                Req::UpdateUser(w.id(target).to_owned(), body),
                must_refuse,
                what,
            );
        };
    // Elevated users deactivating each other (both at once), and reactivations.
    for (a, b, times) in [
        ("A2", "A3", 2),
        ("A4", "F2", 2),
        ("A1", "F1", 1),
        ("A1", "A4", 1),
    ] {
        for _ in 0..times {
            patch_user(a, b, active(false), false);
            patch_user(b, a, active(false), false);
        }
    }
    for (who, target) in [
        ("P", "A2"),
        ("P", "A3"),
        ("P", "A4"),
        ("P", "F2"),
        ("P", "A1"),
    ] {
        patch_user(who, target, active(true), false);
    }
    // G1 and G2: nobody deactivates themselves or revokes their own elevation (the primary
    // user is immutable even to themselves).
    for &(who, _, _) in &PEOPLE[..9] {
        patch_user(who, who, active(false), true);
        patch_user(who, who, elevation(Elevation::Revoked), true);
    }
    // G3: the primary user is immutable.
    for (who, body) in [
        ("A1", active(false)),
        ("A2", elevation(Elevation::Revoked)),
        ("F1", elevation(Elevation::Granted)),
        ("C1", active(true)),
    ] {
        patch_user(who, "P", body, true);
    }
    // G7: limited users change nothing.
    patch_user("T1", "A1", active(false), true);
    patch_user("T3", "T4", elevation(Elevation::Granted), true);
    // Elevation of others.
    for (who, target, elevation) in [
        ("A1", "F2", "granted"),
        ("A4", "F1", "revoked"),
        ("P", "A2", "inherit"),
        ("P", "F1", "inherit"),
        ("A3", "A4", "revoked"),
        ("F2", "A1", "granted"),
        ("C2", "A2", "revoked"),
    ] {
        patch_user(who, target, elevation_of(elevation), false);
    }
    // The race G2 is about: C1 and C2 are elevated by a grant and by their level being in
    // the set; each drops their grant (fine while the level is in the set) while saving a
    // set without their level (fine while granted). Whichever comes second must see the
    // first, or they end up limited by their own hand.
    for c in ["C1", "C2"] {
        for _ in 0..3 {
            patch_user(c, c, elevation(Elevation::Inherit), false);
        }
        for _ in 0..2 {
            patch_user(c, c, elevation(Elevation::Granted), false);
        }
    }
    let mut save = |who: &'static str, set: &[i64], must_refuse: bool| {
        add(
            Op::SaveLevels,
            who,
            Req::SaveElevatedLevels(ElevatedLevels {
                level_ids: set.to_vec(),
            }),
            must_refuse,
            format!("{who} saves {set:?}"),
        );
    };
    for c in ["C1", "C2"] {
        for _ in 0..3 {
            save(c, &[ADMINISTRATOR, FINANCE], false);
        }
    }
    let all = [ADMINISTRATOR, FINANCE, CONTROLLER];
    for (who, set) in [
        ("P", &all[..]),
        ("P", &all[..]),
        ("P", &[ADMINISTRATOR, CONTROLLER][..]),
        ("A1", &all[..]),
        ("A2", &[ADMINISTRATOR, CONTROLLER][..]),
        ("A4", &all[..]),
        ("F1", &[FINANCE, CONTROLLER][..]),
        ("F2", &all[..]),
        ("A2", &all[..]),
        ("F2", &[FINANCE][..]),
    ] {
        save(who, set, false);
    }
    // Saves that drop the saver's own level: refused whatever the interleaving (neither
    // A3 nor F1 is ever granted elevation).
    save("A3", &[FINANCE, CONTROLLER], true);
    save("F1", &[ADMINISTRATOR, CONTROLLER], true);
    // G7 on the Access tab.
    save("T2", &[ADMINISTRATOR], true);
    for who in ["P", "P", "A4"] {
        add(
            Op::RefreshUsers,
            who,
            Req::RefreshUsers,
            false,
            format!("{who} refreshes users"),
        );
    }
    calls
}

/// Shuffles the order requests are sent in, so that no kind always goes first; returns the
/// seed (printed in the summary; `HUBKEEP_CONCURRENCY_SEED=<seed>` replays that order).
fn shuffle(calls: &mut [Call]) -> u64 {
    let seed = std::env::var("HUBKEEP_CONCURRENCY_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        .max(1);
    let mut x = seed;
    for i in (1..calls.len()).rev() {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        calls.swap(i, (x % (i as u64 + 1)) as usize);
    }
    seed
}

async fn fire(w: &World, calls: &mut [Call]) -> Vec<Outcome> {
    let mut handles = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter_mut().enumerate() {
        let person = &w.people[call.who];
        // Sessions and API tokens both: a deactivation ends both for good (SPEC S12).
        let token = if i % 3 == 0 {
            person.api_token.clone()
        } else {
            person.access_token.clone()
        };
        let c = w.app.with_token(&token).detached();
        let req = call.req.take().expect("each call is fired once");
        handles.push(tokio::spawn(async move {
            let res = req.send(c).await;
            let status = res.status().as_u16();
            let request_id = res
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = res.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            Outcome {
                status,
                code: body["code"].as_str().map(str::to_owned),
                request_id,
            }
        }));
    }
    let mut outcomes = Vec::with_capacity(handles.len());
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    outcomes
}

/// Users (by id) and the Access-tab set, as stored now.
async fn tenant_state(
    app: &TestApp,
    tenant: &TestTenant,
) -> (BTreeMap<String, (UserState, i32)>, BTreeSet<i64>) {
    let users = rows(
        app,
        &format!(
            "SELECT id, active, elevation, is_primary, security_level_id, access_rank \
             FROM users WHERE tenant_id = '{}'",
            tenant.id
        ),
    )
    .await
    .iter()
    .map(|r| {
        (
            r.try_get_by_index::<String>(0).unwrap(),
            (
                UserState {
                    active: r.try_get_by_index(1).unwrap(),
                    elevation: r.try_get_by_index(2).unwrap(),
                    is_primary: r.try_get_by_index(3).unwrap(),
                    level: r.try_get_by_index(4).unwrap(),
                },
                r.try_get_by_index::<i32>(5).unwrap(),
            ),
        )
    })
    .collect();
    let set = rows(
        app,
        &format!(
            "SELECT level_id FROM elevated_levels WHERE tenant_id = '{}'",
            tenant.id
        ),
    )
    .await
    .iter()
    .map(|r| r.try_get_by_index::<i64>(0).unwrap())
    .collect();
    (users, set)
}

type Roles = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Roles per connection and user, and the pending invitations, as stored now.
async fn connection_state(app: &TestApp, tenant: &TestTenant) -> (Roles, BTreeSet<String>) {
    let mut roles: Roles = BTreeMap::new();
    for r in rows(
        app,
        &format!(
            "SELECT connection_id, user_id, role FROM role_assignments WHERE tenant_id = '{}'",
            tenant.id
        ),
    )
    .await
    {
        roles
            .entry(r.try_get_by_index(0).unwrap())
            .or_default()
            .entry(r.try_get_by_index(1).unwrap())
            .or_default()
            .insert(r.try_get_by_index(2).unwrap());
    }
    let pending = rows(
        app,
        &format!(
            "SELECT id FROM invitations WHERE tenant_id = '{}' AND status = 'pending'",
            tenant.id
        ),
    )
    .await
    .iter()
    .map(|r| r.try_get_by_index::<String>(0).unwrap())
    .collect();
    (roles, pending)
}

struct Entry {
    id: String,
    action: String,
    actor: Option<String>,
    target: Option<String>,
    connection: Option<String>,
    details: Value,
    request_id: Option<String>,
}

/// The tenant's activity entries in the order they were written.
async fn entries(app: &TestApp, tenant: &TestTenant) -> Vec<Entry> {
    rows(
        app,
        &format!(
            "SELECT id, action, actor_user_id, target_id, connection_id, details, request_id \
             FROM activity_log WHERE tenant_id = '{}' ORDER BY at, id",
            tenant.id
        ),
    )
    .await
    .iter()
    .map(|r| Entry {
        id: r.try_get_by_index(0).unwrap(),
        action: r.try_get_by_index(1).unwrap(),
        actor: r.try_get_by_index(2).unwrap(),
        target: r.try_get_by_index(3).unwrap(),
        connection: r.try_get_by_index(4).unwrap(),
        details: serde_json::from_str(&r.try_get_by_index::<String>(5).unwrap()).unwrap(),
        request_id: r.try_get_by_index(6).unwrap(),
    })
    .collect()
}

fn level_set(value: &Value) -> Option<BTreeSet<i64>> {
    value.as_array()?.iter().map(Value::as_i64).collect()
}

async fn hardening_concurrent_conflicting_requests_keep_the_invariants(backend: Backend) {
    let w = world(backend.clone()).await;
    let app = &w.app;
    let names: HashMap<String, &str> = w
        .people
        .iter()
        .map(|(name, p)| (p.id.clone(), *name))
        .collect();
    let name = |id: &Option<String>| {
        id.as_ref()
            .map_or("-", |id| names.get(id).copied().unwrap_or("?"))
            .to_owned()
    };
    let primary = w.people["P"].id.clone();

    let (users_before, set_before) = tenant_state(app, &w.tenant).await;
    let (roles_before, pending_before) = connection_state(app, &w.tenant).await;
    let old_entries: BTreeSet<String> = entries(app, &w.tenant)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();

    let mut calls = storm(&w);
    assert_eq!(calls.len(), 200, "the storm is 200 requests");
    let seed = shuffle(&mut calls);
    let outcomes = fire(&w, &mut calls).await;

    let mut v = Verdict::default();
    let mut tally: BTreeMap<(Op, u16, String), usize> = BTreeMap::new();

    // 1. Every answer is one this kind of request may give; guards hold whatever the order.
    let mut by_request: HashMap<String, usize> = HashMap::new();
    for (i, (call, out)) in calls.iter().zip(&outcomes).enumerate() {
        *tally
            .entry((call.op, out.status, out.code.clone().unwrap_or_default()))
            .or_default() += 1;
        v.check(call.op.statuses().contains(&out.status), || {
            format!(
                "#{i} {} answered {} {:?}, not one of {:?}",
                call.what,
                out.status,
                out.code,
                call.op.statuses()
            )
        });
        v.check(!(call.must_refuse && out.status < 300), || {
            format!(
                "#{i} {} succeeded ({}): a guard forbids it",
                call.what, out.status
            )
        });
        match &out.request_id {
            Some(rid) => {
                v.check(by_request.insert(rid.clone(), i).is_none(), || {
                    format!("request id {rid} answered twice")
                });
            }
            None => v.check(false, || format!("#{i} {} has no x-request-id", call.what)),
        }
    }

    // 2. S7: each entry of the storm belongs to one successful request of its kind; each
    //    successful change has exactly one entry.
    let all_entries = entries(app, &w.tenant).await;
    let new_entries: Vec<&Entry> = all_entries
        .iter()
        .filter(|e| !old_entries.contains(&e.id))
        .collect();
    let mut per_request = vec![0usize; calls.len()];
    for e in &new_entries {
        let owner = e.request_id.as_ref().and_then(|rid| by_request.get(rid));
        v.check(owner.is_some(), || {
            format!(
                "entry {} {} (request {:?}) belongs to no request of the storm",
                e.id, e.action, e.request_id
            )
        });
        let Some(&i) = owner else { continue };
        let (call, out) = (&calls[i], &outcomes[i]);
        // SPEC S12: a change that takes someone's access to `none` also revokes their
        // credentials, named in a second entry of the same request.
        if e.action == "user.credentials_revoked" {
            v.check(
                out.status < 300 && matches!(call.op, Op::PatchUser | Op::RefreshUsers),
                || format!("#{i} {} ({}) revoked credentials", call.what, out.status),
            );
            continue;
        }
        per_request[i] += 1;
        v.check(out.status < 300, || {
            format!(
                "#{i} {} was refused ({} {:?}) yet wrote {}",
                call.what, out.status, out.code, e.action
            )
        });
        v.check(call.op.actions().contains(&e.action.as_str()), || {
            format!("#{i} {} wrote {}", call.what, e.action)
        });
        v.check(e.actor.as_deref() == Some(w.id(call.who)), || {
            format!(
                "#{i} {} wrote {} as {}",
                call.what,
                e.action,
                name(&e.actor)
            )
        });
    }
    let mut succeeded = 0;
    let mut unchanged = 0;
    for (i, (call, out)) in calls.iter().zip(&outcomes).enumerate() {
        let n = per_request[i];
        if out.status < 300 {
            succeeded += 1;
            if n == 0 && call.op.may_change_nothing() {
                unchanged += 1;
                continue;
            }
            v.check(n == 1, || {
                format!("#{i} {} succeeded with {n} activity entries", call.what)
            });
        } else {
            v.check(n == 0, || {
                format!("#{i} {} was refused with {n} activity entries", call.what)
            });
        }
    }

    // 3. Users and the Access tab, replayed in the order the entries were written: every
    //    `before` is what the previous changes left; every actor was elevated before and
    //    after their change (G1, G2, and no action on access already taken away); G3.
    let mut users: BTreeMap<String, UserState> = users_before
        .iter()
        .map(|(id, (u, _))| (id.clone(), u.clone()))
        .collect();
    let mut set = set_before.clone();
    for e in &new_entries {
        let tenant_action = e.action.starts_with("user.")
            || e.action.starts_with("users.")
            || e.action.starts_with("access.");
        if !tenant_action || e.action == "user.credentials_revoked" {
            continue;
        }
        let actor = e.actor.clone().unwrap_or_default();
        let who = name(&e.actor);
        let target = name(&e.target);
        let actor_before = users.get(&actor).map(|u| access(u, &set));
        v.check(actor_before == Some("elevated"), || {
            format!(
                "{who} wrote {} on {target} with access {actor_before:?} at that moment",
                e.action
            )
        });
        match e.action.as_str() {
            "access.elevated_levels_saved" => {
                let before = level_set(&e.details["before"]);
                v.check(before.as_ref() == Some(&set), || {
                    format!("{who}'s save logged before={before:?}; the set was {set:?}")
                });
                if let Some(after) = level_set(&e.details["after"]) {
                    v.check(after != set, || format!("{who}'s save changed nothing"));
                    set = after;
                }
            }
            "users.refreshed" => {}
            _ => {
                let id = e.target.clone().unwrap_or_default();
                v.check(id != primary, || format!("{who} wrote {} on P", e.action));
                v.check(!(id == actor && e.action == "user.deactivated"), || {
                    format!("{who} deactivated themselves")
                });
                let Some(u) = users.get_mut(&id) else {
                    v.check(false, || format!("{} on an unknown user {id}", e.action));
                    continue;
                };
                let mut changed = false;
                if let Some(active) = e.details.get("active") {
                    v.check(active["before"].as_bool() == Some(u.active), || {
                        format!(
                            "{who}'s {} on {target} logged active before={}; it was {}",
                            e.action, active["before"], u.active
                        )
                    });
                    if let Some(after) = active["after"].as_bool() {
                        changed |= after != u.active;
                        u.active = after;
                    }
                }
                if let Some(elevation) = e.details.get("elevation") {
                    v.check(
                        elevation["before"].as_str() == Some(u.elevation.as_str()),
                        || {
                            format!(
                                "{who}'s {} on {target} logged elevation before={}; it was {}",
                                e.action, elevation["before"], u.elevation
                            )
                        },
                    );
                    if let Some(after) = elevation["after"].as_str() {
                        changed |= after != u.elevation;
                        u.elevation = after.to_owned();
                    }
                }
                v.check(changed, || {
                    format!("{who}'s {} on {target} changed nothing", e.action)
                });
            }
        }
        let actor_after = users.get(&actor).map(|u| access(u, &set));
        v.check(
            actor_before != Some("elevated") || actor_after == Some("elevated"),
            || {
                format!(
                    "{who} demoted themselves: {} on {target} left them {actor_after:?}",
                    e.action
                )
            },
        );
    }
    let (users_after, set_after) = tenant_state(app, &w.tenant).await;
    v.check(set_after == set, || {
        format!("the Access tab holds {set_after:?}; its entries explain {set:?}")
    });
    for (id, (stored, stored_rank)) in &users_after {
        let who = names.get(id).copied().unwrap_or("?");
        v.check(users.get(id) == Some(stored), || {
            format!(
                "{who} is {stored:?}; the entries explain {:?}",
                users.get(id)
            )
        });
        let computed = access(stored, &set_after);
        v.check(*stored_rank == rank(computed), || {
            format!("{who}'s stored access rank is {stored_rank}; their access is {computed}")
        });
    }

    // 4. The primary user: untouched, and the only one.
    v.check(
        users_after.get(&primary) == users_before.get(&primary),
        || {
            format!(
                "P changed: {:?} -> {:?}",
                users_before.get(&primary),
                users_after.get(&primary)
            )
        },
    );
    let primaries = users_after.values().filter(|(u, _)| u.is_primary).count();
    v.check(primaries == 1, || format!("{primaries} primary users"));
    v.check(
        users_after
            .get(&primary)
            .is_some_and(|(u, _)| access(u, &set_after) == "elevated"),
        || "P is no longer elevated".to_owned(),
    );

    // 5. Connections, replayed per connection: one owner after every step, every transfer
    //    from the owner of the moment, every removal of a role then held, every invitation
    //    answered at most once; the end state is what the database holds.
    let mut roles = roles_before.clone();
    let mut pending = pending_before.clone();
    for e in &new_entries {
        let Some(cid) = &e.connection else { continue };
        let members = roles.entry(cid.clone()).or_default();
        let who = name(&e.actor);
        let d = &e.details;
        let answered = match e.action.as_str() {
            "connection.ownership_transferred" => {
                let from = d["from_user_id"].as_str().unwrap_or_default().to_owned();
                let to = d["to_user_id"].as_str().unwrap_or_default().to_owned();
                v.check(
                    members.get(&from).is_some_and(|r| r.contains("owner")),
                    || {
                        format!(
                            "{who} took {cid} over from {}, who did not own it then",
                            name(&Some(from.clone()))
                        )
                    },
                );
                if let Some(r) = members.get_mut(&from) {
                    r.remove("owner");
                    if let Some(retain) = d["retain_role"].as_str() {
                        r.insert(retain.to_owned());
                    }
                }
                members.entry(to).or_default().insert("owner".into());
                d["invitation_id"].as_str().map(str::to_owned)
            }
            "invitation.accepted" => {
                let user = d["user_id"].as_str().unwrap_or_default().to_owned();
                let role = d["role"].as_str().unwrap_or_default().to_owned();
                members.entry(user).or_default().insert(role);
                e.target.clone()
            }
            "member.role_removed" => {
                let user = d["user_id"].as_str().unwrap_or_default().to_owned();
                let role = d["role"].as_str().unwrap_or_default();
                let held = members.get_mut(&user).is_some_and(|r| r.remove(role));
                v.check(held && role != "owner", || {
                    format!(
                        "{who} removed {role} of {} on {cid}, which they did not hold",
                        name(&Some(user.clone()))
                    )
                });
                None
            }
            "member.left" => {
                let actor = e.actor.clone().unwrap_or_default();
                let held = members.remove(&actor).unwrap_or_default();
                let logged: BTreeSet<String> = d["roles"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect();
                v.check(!held.contains("owner") && held == logged, || {
                    format!("{who} left {cid} holding {held:?}; the entry says {logged:?}")
                });
                None
            }
            "invitation.created" => {
                if let Some(id) = &e.target {
                    pending.insert(id.clone());
                }
                None
            }
            "invitation.declined" | "invitation.revoked" => e.target.clone(),
            other => {
                v.check(false, || format!("unexpected {other} on {cid}"));
                None
            }
        };
        if let Some(inv) = answered {
            v.check(pending.remove(&inv), || {
                format!(
                    "{who}'s {} answered invitation {inv}, not pending then",
                    e.action
                )
            });
        }
        members.retain(|_, r| !r.is_empty());
        let owners = members.values().filter(|r| r.contains("owner")).count();
        v.check(owners == 1, || {
            format!("{cid} had {owners} owners after {who}'s {}", e.action)
        });
    }
    let (roles_after, pending_after) = connection_state(app, &w.tenant).await;
    v.check(roles_after == roles, || {
        format!("the roles are {roles_after:?}; the entries explain {roles:?}")
    });
    v.check(pending_after == pending, || {
        format!("pending invitations are {pending_after:?}; the entries explain {pending:?}")
    });
    for c in &w.conns {
        let owners = rows(
            app,
            &format!(
                "SELECT user_id FROM role_assignments WHERE connection_id = '{}' \
                 AND role = 'owner'",
                c.id
            ),
        )
        .await;
        let owner_column = rows(
            app,
            &format!(
                "SELECT owner_user_id FROM connections WHERE id = '{}'",
                c.id
            ),
        )
        .await;
        let row_owner = owners
            .first()
            .map(|r| r.try_get_by_index::<String>(0).unwrap());
        let column_owner = owner_column
            .first()
            .map(|r| r.try_get_by_index::<String>(0).unwrap());
        v.check(owners.len() == 1 && row_owner == column_owner, || {
            format!(
                "{}: {} owner rows ({row_owner:?}), owner_user_id {column_owner:?}",
                c.id,
                owners.len()
            )
        });
    }

    let refused = calls.len() - succeeded;
    let mut kinds: BTreeMap<Op, (usize, usize)> = BTreeMap::new();
    for (call, out) in calls.iter().zip(&outcomes) {
        let k = kinds.entry(call.op).or_default();
        if out.status < 300 {
            k.0 += 1;
        } else {
            k.1 += 1;
        }
    }
    let answers: Vec<String> = tally
        .iter()
        .map(|((op, status, code), n)| format!("{op:?} {status} {code}: {n}"))
        .collect();
    summary(
        "concurrency",
        &backend,
        &format!(
            "{} concurrent requests ({}), {succeeded} succeeded ({unchanged} without a \
             change), {refused} refused, {} activity entries, {} invariants checked, order \
             seed {seed}",
            calls.len(),
            kinds
                .iter()
                .map(|(op, (ok, no))| format!("{op:?} {ok}/{}", ok + no))
                .collect::<Vec<_>>()
                .join(", "),
            new_entries.len(),
            v.checks
        ),
        v.failures.len(),
    );
    assert!(
        v.failures.is_empty(),
        "concurrency invariants broken (order seed {seed}):\n{}\n\nanswers:\n{}",
        v.failures.join("\n"),
        answers.join("\n")
    );
}
