//! The full permission decision (hub matrix + connection matrix) three ways: Hubkeep's own
//! functions, casbin-rs (RBAC with domains) and cedar-policy.
//!
//! The two peers carry their own hand-written copy of the policy (SPEC S2.1, S4, S5): the
//! role and kind lists of [`Casbin`] and the Cedar text of [`CEDAR_SCHEMA`] and
//! [`CEDAR_POLICY`] never call `hubkeep_shared`'s matrix functions, so checking that all
//! three agree on every input ([`mismatches`] over [`all_inputs`]) is a real cross-check,
//! not a tautology. `shared` only names things: it enumerates the inputs and spells them.
//!
//! What is timed: Hubkeep decides from an [`Input`] as the API holds it. The peers decide
//! from a request prepared beforehand ([`Casbin::prepare`], [`Cedar::prepare`]): building
//! the subject, domain and action strings, or Cedar's `Request`, is left out of their time.
//! That choice favours the peers.

use std::fmt;
use std::str::FromStr;

use anyhow::Context as _;
use casbin::prelude::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet,
    Request, Schema, ValidationMode, Validator,
};
use hubkeep_shared::{
    ConnectionAction, ConnectionKind, ConnectionRole, HubAccess, HubAction, PermissionMatrix,
    connection_allows, hub_allows,
};

/// What the caller wants to do: a hub action or an action on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Hub(HubAction),
    Connection(ConnectionAction),
}

impl Action {
    /// The action's wire name (hub and connection names do not overlap).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Hub(a) => a.wire_name(),
            Self::Connection(a) => a.wire_name(),
        }
    }
}

/// One decision to make: who asks (hub access and roles on the connection), on what kind of
/// connection, for which action. Hub actions ignore the roles and the kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Input {
    pub access: HubAccess,
    /// Distinct roles, in declaration order (0 to 4 of them).
    pub roles: Vec<ConnectionRole>,
    pub kind: ConnectionKind,
    pub action: Action,
}

/// The three hub access levels.
const ACCESS_LEVELS: [HubAccess; 3] = [HubAccess::None, HubAccess::Limited, HubAccess::Elevated];

/// Every role, kind, hub action and connection action, as `shared` enumerates them.
struct Vocabulary {
    roles: Vec<ConnectionRole>,
    kinds: Vec<ConnectionKind>,
    actions: Vec<Action>,
}

fn vocabulary() -> Vocabulary {
    let m = PermissionMatrix::current();
    let hub = m.hub_actions.iter().map(|r| Action::Hub(r.action));
    let connection = m
        .connection_actions
        .iter()
        .map(|r| Action::Connection(r.action));
    Vocabulary {
        roles: m.roles.iter().map(|r| r.role).collect(),
        kinds: m.kinds.iter().map(|k| k.kind).collect(),
        actions: hub.chain(connection).collect(),
    }
}

/// Every subset of `roles`, in bitmask order (the empty set first).
fn role_subsets(roles: &[ConnectionRole]) -> Vec<Vec<ConnectionRole>> {
    (0..1u32 << roles.len())
        .map(|mask| {
            roles
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, r)| *r)
                .collect()
        })
        .collect()
}

/// Every (access, role set) combination: the principals both peers know.
fn principals() -> Vec<(HubAccess, Vec<ConnectionRole>)> {
    let subsets = role_subsets(&vocabulary().roles);
    ACCESS_LEVELS
        .iter()
        .flat_map(|a| subsets.iter().map(move |roles| (*a, roles.clone())))
        .collect()
}

/// The whole finite input space: 3 access levels × 16 role sets × 4 kinds × 33 actions.
pub fn all_inputs() -> Vec<Input> {
    let v = vocabulary();
    let mut inputs = Vec::new();
    for (access, roles) in principals() {
        for kind in &v.kinds {
            for action in &v.actions {
                inputs.push(Input {
                    access,
                    roles: roles.clone(),
                    kind: *kind,
                    action: *action,
                });
            }
        }
    }
    inputs
}

/// `n` inputs drawn uniformly (with replacement) from [`all_inputs`]; the same `seed` gives
/// the same inputs.
pub fn random_inputs(n: usize, seed: u64) -> Vec<Input> {
    let all = all_inputs();
    let mut state = seed;
    (0..n)
        .map(|_| {
            let pick = splitmix64(&mut state) % all.len() as u64;
            all[usize::try_from(pick).expect("an index below the input count fits usize")].clone()
        })
        .collect()
}

/// SplitMix64: a tiny, well-mixed pseudo-random generator (no dependency needed).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hubkeep's decision, combined as the API combines it: access `none` is refused before any
/// handler runs; a hub action is the hub matrix; a connection action needs the connection
/// matrix, and a manual run also the hub's `run_connection` (`POST …/runs`).
pub fn hubkeep_decide(input: &Input) -> bool {
    match input.action {
        Action::Hub(action) => hub_allows(input.access, action),
        Action::Connection(action) => {
            input.access != HubAccess::None
                && connection_allows(&input.roles, input.kind, action)
                && (action != ConnectionAction::RunManually
                    || hub_allows(input.access, HubAction::RunConnection))
        }
    }
}

/// The principal's name in both peers, e.g. `limited:owner+it_admin` (`elevated:` for no role).
fn subject(access: HubAccess, roles: &[ConnectionRole]) -> String {
    let roles: Vec<&str> = roles.iter().map(|r| r.wire_name()).collect();
    format!("{}:{}", access.wire_name(), roles.join("+"))
}

// ---------------------------------------------------------------------------------------
// casbin-rs
// ---------------------------------------------------------------------------------------

/// The casbin model: RBAC with domains. The domain is `hub` for hub actions and the kind's
/// name for connection actions; `g(r.sub, "limited", "hub")` is the hub access gate (every
/// level with access is, or inherits, `limited`; it also stands for the hub's `run_connection`
/// that a manual run needs, which `limited` grants). The cheap equality tests come before the
/// role look-ups so that most policy lines are rejected early (again in casbin's favour).
pub const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && r.obj == p.obj && r.dom == p.dom && g(r.sub, p.sub, r.dom) && g(r.sub, "limited", "hub")
"#;

/// Hub actions each level grants (SPEC S2.1). `elevated` also inherits `limited`'s.
const CASBIN_HUB_GRANTS: &[(&str, &[&str])] = &[
    (
        "limited",
        &[
            "sign_in",
            "view_sync_status",
            "view_activity_log",
            "run_connection",
            "manage_own_tokens",
            "view_settings",
        ],
    ),
    (
        "elevated",
        &[
            "create_connection",
            "manage_access",
            "manage_users",
            "edit_settings",
            "govern_connections",
            "manage_all_tokens",
            "refresh_users",
        ],
    ),
];

/// Connection actions each role grants (SPEC S5).
const CASBIN_ROLE_GRANTS: &[(&str, &[&str])] = &[
    (
        "owner",
        &[
            "view",
            "pay",
            "cancel",
            "transfer_ownership",
            "change_postgres_db",
            "disconnect_endpoint",
            "rename",
            "manage_views",
            "change_locked_period_export",
            "change_reporting_currency",
            "change_forecast_budget",
            "invite_business_admin",
            "reconnect_endpoint",
            "change_timezone",
            "hide_sync_records",
            "invite_it_admin",
            "invite_read_only",
            "run_manually",
            "group",
            "ungroup",
        ],
    ),
    (
        "business_admin",
        &[
            "view",
            "disconnect_endpoint",
            "rename",
            "manage_views",
            "change_locked_period_export",
            "change_reporting_currency",
            "change_forecast_budget",
            "invite_business_admin",
            "reconnect_endpoint",
            "change_timezone",
            "hide_sync_records",
            "invite_it_admin",
            "invite_read_only",
            "run_manually",
            "group",
            "ungroup",
        ],
    ),
    (
        "it_admin",
        &[
            "view",
            "reconnect_endpoint",
            "change_timezone",
            "hide_sync_records",
            "invite_it_admin",
            "invite_read_only",
            "run_manually",
            "group",
            "ungroup",
        ],
    ),
    ("read_only", &["view"]),
];

/// The connection actions each kind lacks the setting for (SPEC S4).
const CASBIN_KIND_LACKS: &[(&str, &[&str])] = &[
    (
        "autotask_quickbooks",
        &[
            "manage_views",
            "change_locked_period_export",
            "change_reporting_currency",
            "change_forecast_budget",
            "change_postgres_db",
        ],
    ),
    ("autotask_xero", &["manage_views", "change_postgres_db"]),
    ("xero_power_bi", &[]),
    ("quickbooks_power_bi", &[]),
];

/// The object of hub requests and of connection requests.
const HUB_OBJECT: &str = "hub";
const CONNECTION_OBJECT: &str = "connection";
const HUB_DOMAIN: &str = "hub";

/// The policy in casbin-rs: [`CASBIN_MODEL`], `p` lines from the grant lists above (for a
/// kind, minus what it lacks) and `g` lines assigning each principal its access level in
/// the `hub` domain and its roles in every kind's domain.
pub struct Casbin {
    enforcer: Enforcer,
}

impl fmt::Debug for Casbin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Casbin")
            .field("policies", &self.enforcer.get_policy().len())
            .field(
                "role_assignments",
                &self.enforcer.get_grouping_policy().len(),
            )
            .finish()
    }
}

/// A casbin request with its four strings built in advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasbinRequest {
    pub subject: String,
    pub domain: String,
    pub object: String,
    pub action: String,
}

fn line(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

impl Casbin {
    /// Builds the enforcer (in memory; the async API needs a runtime, no I/O happens).
    pub async fn new() -> anyhow::Result<Self> {
        let model = DefaultModel::from_str(CASBIN_MODEL)
            .await
            .context("parsing the casbin model")?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
            .await
            .context("building the casbin enforcer")?;

        let mut policies = Vec::new();
        for (level, actions) in CASBIN_HUB_GRANTS {
            for action in *actions {
                policies.push(line(&[level, HUB_DOMAIN, HUB_OBJECT, action]));
            }
        }
        for (kind, lacks) in CASBIN_KIND_LACKS {
            for (role, actions) in CASBIN_ROLE_GRANTS {
                for action in actions.iter().filter(|a| !lacks.contains(a)) {
                    policies.push(line(&[role, kind, CONNECTION_OBJECT, action]));
                }
            }
        }

        let mut groupings = vec![line(&["elevated", "limited", HUB_DOMAIN])];
        for (access, roles) in principals() {
            let sub = subject(access, &roles);
            if access != HubAccess::None {
                groupings.push(line(&[&sub, access.wire_name(), HUB_DOMAIN]));
            }
            for (kind, _) in CASBIN_KIND_LACKS {
                for role in &roles {
                    groupings.push(line(&[&sub, role.wire_name(), kind]));
                }
            }
        }

        enforcer
            .add_policies(policies)
            .await
            .context("adding casbin policies")?;
        enforcer
            .add_grouping_policies(groupings)
            .await
            .context("adding casbin role assignments")?;
        Ok(Self { enforcer })
    }

    /// The request strings for `input`.
    pub fn prepare(&self, input: &Input) -> CasbinRequest {
        let (domain, object) = match input.action {
            Action::Hub(_) => (HUB_DOMAIN, HUB_OBJECT),
            Action::Connection(_) => (input.kind.wire_name(), CONNECTION_OBJECT),
        };
        CasbinRequest {
            subject: subject(input.access, &input.roles),
            domain: domain.to_owned(),
            object: object.to_owned(),
            action: input.action.wire_name().to_owned(),
        }
    }

    /// casbin's answer to a prepared request (the timed call).
    pub fn decide_prepared(&self, request: &CasbinRequest) -> bool {
        self.enforcer
            .enforce((
                &request.subject,
                &request.domain,
                &request.object,
                &request.action,
            ))
            .expect("the casbin matcher evaluates on every request")
    }

    pub fn decide(&self, input: &Input) -> bool {
        self.decide_prepared(&self.prepare(input))
    }
}

// ---------------------------------------------------------------------------------------
// cedar-policy
// ---------------------------------------------------------------------------------------

/// The Cedar schema: principals are `User`s with an `access` string and a `roles` set;
/// resources are the `Hub` and one `Connection` per kind with a `kind` string. What each
/// access level and each role grants is written as action groups (the usual Cedar way for
/// long action lists, and much faster than `action in [...]` lists, which Cedar rebuilds as
/// sets on every request).
pub const CEDAR_SCHEMA: &str = r#"
entity User { access: String, roles: Set<String> };
entity Hub;
entity Connection { kind: String };

// Groups: what a hub access level or a connection role grants (SPEC S2.1, S5).
action hub_with_access, hub_elevated;
action owner, business_admin, it_admin, read_only;
// Group: the three financial settings (SPEC S4).
action financial_settings;

action sign_in, view_sync_status, view_activity_log, run_connection, manage_own_tokens,
    view_settings
    in [hub_with_access]
    appliesTo { principal: User, resource: Hub };

action create_connection, manage_access, manage_users, edit_settings, govern_connections,
    manage_all_tokens, refresh_users
    in [hub_elevated]
    appliesTo { principal: User, resource: Hub };

action view
    in [owner, business_admin, it_admin, read_only]
    appliesTo { principal: User, resource: Connection };

action reconnect_endpoint, change_timezone, hide_sync_records, invite_it_admin,
    invite_read_only, run_manually, group, ungroup
    in [owner, business_admin, it_admin]
    appliesTo { principal: User, resource: Connection };

action disconnect_endpoint, rename, manage_views, invite_business_admin
    in [owner, business_admin]
    appliesTo { principal: User, resource: Connection };

action change_locked_period_export, change_reporting_currency, change_forecast_budget
    in [owner, business_admin, financial_settings]
    appliesTo { principal: User, resource: Connection };

action pay, cancel, transfer_ownership, change_postgres_db
    in [owner]
    appliesTo { principal: User, resource: Connection };
"#;

/// The Cedar policies over [`CEDAR_SCHEMA`] (checked by Cedar's validator on load).
pub const CEDAR_POLICY: &str = r#"
// No hub access, nothing at all (not even signing in).
forbid (principal, action, resource)
when { principal.access == "none" };

// The hub matrix (SPEC S2.1); access `none` is forbidden above. A manual run also needs
// the hub's run_connection, which every level with access has, so that forbid covers it.
permit (principal, action in Action::"hub_with_access", resource is Hub);

permit (principal, action in Action::"hub_elevated", resource is Hub)
when { principal.access == "elevated" };

// The connection matrix (SPEC S5): one permit per role; several roles add up.
permit (principal, action in Action::"owner", resource is Connection)
when { principal.roles.contains("owner") };

permit (principal, action in Action::"business_admin", resource is Connection)
when { principal.roles.contains("business_admin") };

permit (principal, action in Action::"it_admin", resource is Connection)
when { principal.roles.contains("it_admin") };

permit (principal, action in Action::"read_only", resource is Connection)
when { principal.roles.contains("read_only") };

// Settings a kind does not have (SPEC S4), whatever the roles.
forbid (principal, action == Action::"manage_views", resource is Connection)
unless { ["xero_power_bi", "quickbooks_power_bi"].contains(resource.kind) };

forbid (principal, action in Action::"financial_settings", resource is Connection)
unless { ["autotask_xero", "xero_power_bi", "quickbooks_power_bi"].contains(resource.kind) };

forbid (principal, action == Action::"change_postgres_db", resource is Connection)
unless { ["xero_power_bi", "quickbooks_power_bi"].contains(resource.kind) };
"#;

/// The policy in cedar-policy: [`CEDAR_POLICY`] over [`CEDAR_SCHEMA`], and an entity store
/// holding every principal, the hub, one connection per kind and the schema's actions.
#[derive(Debug)]
pub struct Cedar {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
}

/// A Cedar request built in advance.
#[derive(Debug, Clone)]
pub struct CedarRequest(Request);

fn uid(type_name: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(type_name).expect("a valid Cedar type name"),
        EntityId::new(id),
    )
}

impl Cedar {
    /// Parses the schema and the policies, validates the policies (strict mode) and builds
    /// the entities.
    pub fn new() -> anyhow::Result<Self> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(CEDAR_SCHEMA).context("parsing the Cedar schema")?;
        let policies = PolicySet::from_str(CEDAR_POLICY).context("parsing the Cedar policy")?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        anyhow::ensure!(
            validation.validation_passed(),
            "the Cedar policy does not validate against its schema:\n{validation}"
        );

        let mut entities = vec![serde_json::json!({
            "uid": { "type": "Hub", "id": HUB_OBJECT },
            "attrs": {},
            "parents": [],
        })];
        for kind in vocabulary().kinds {
            entities.push(serde_json::json!({
                "uid": { "type": "Connection", "id": kind.wire_name() },
                "attrs": { "kind": kind.wire_name() },
                "parents": [],
            }));
        }
        for (access, roles) in principals() {
            let role_names: Vec<&str> = roles.iter().map(|r| r.wire_name()).collect();
            entities.push(serde_json::json!({
                "uid": { "type": "User", "id": subject(access, &roles) },
                "attrs": { "access": access.wire_name(), "roles": role_names },
                "parents": [],
            }));
        }
        // With the schema, the action entities (and their groups) are added as well.
        let entities = Entities::from_json_value(serde_json::Value::Array(entities), Some(&schema))
            .context("building the Cedar entities")?;
        Ok(Self {
            policies,
            entities,
            authorizer: Authorizer::new(),
        })
    }

    /// The Cedar request for `input`.
    pub fn prepare(&self, input: &Input) -> CedarRequest {
        let resource = match input.action {
            Action::Hub(_) => uid("Hub", HUB_OBJECT),
            Action::Connection(_) => uid("Connection", input.kind.wire_name()),
        };
        let request = Request::new(
            uid("User", &subject(input.access, &input.roles)),
            uid("Action", input.action.wire_name()),
            resource,
            Context::empty(),
            None,
        )
        .expect("without a schema every request is valid");
        CedarRequest(request)
    }

    /// Cedar's answer to a prepared request (the timed call).
    pub fn decide_prepared(&self, request: &CedarRequest) -> bool {
        self.authorizer
            .is_authorized(&request.0, &self.policies, &self.entities)
            .decision()
            == Decision::Allow
    }

    pub fn decide(&self, input: &Input) -> bool {
        self.decide_prepared(&self.prepare(input))
    }
}

/// Both peers, loaded: casbin's enforcer is built on a tokio runtime of its own (its loading
/// is async; its decisions are not).
pub fn engines() -> anyhow::Result<(Casbin, Cedar)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("a tokio runtime")?;
    let casbin = runtime.block_on(Casbin::new())?;
    Ok((casbin, Cedar::new()?))
}

/// Each input on which casbin or Cedar does not give Hubkeep's answer, described.
pub fn mismatches(casbin: &Casbin, cedar: &Cedar, inputs: &[Input]) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|input| {
            let expected = hubkeep_decide(input);
            let (by_casbin, by_cedar) = (casbin.decide(input), cedar.decide(input));
            (by_casbin != expected || by_cedar != expected).then(|| {
                format!("{input:?}: hubkeep {expected}, casbin {by_casbin}, cedar {by_cedar}")
            })
        })
        .collect()
}
