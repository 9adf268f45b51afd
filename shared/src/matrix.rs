//! The whole permission matrix as data (served at `GET /api/v1/permissions`) and as the
//! Markdown of `docs/permissions.md`. Both are derived from the functions in [`crate::hub`]
//! and [`crate::connection`], never written by hand.

use serde::{Deserialize, Serialize};
use strum::VariantArray;

use crate::access::HubAccess;
use crate::connection::{
    ConnectionAction, ConnectionKind, ConnectionRole, KindCapabilities, System, can_invite,
    can_remove_role, role_allows,
};
use crate::hub::{HubAction, hub_allows};

/// One row of the hub matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubActionRule {
    pub action: HubAction,
    pub description: String,
    /// The hub access levels that allow the action.
    pub allowed_for: Vec<HubAccess>,
}

/// One row of the connection matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionActionRule {
    pub action: ConnectionAction,
    pub description: String,
    /// The roles that allow the action.
    pub roles: Vec<ConnectionRole>,
    /// The connection kinds that support the action.
    pub kinds: Vec<ConnectionKind>,
}

/// One connection kind and its capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindRule {
    pub kind: ConnectionKind,
    pub source: System,
    pub target: System,
    pub capabilities: KindCapabilities,
}

/// Who may invite to, and remove from, one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleRule {
    pub role: ConnectionRole,
    /// Roles whose holders may invite someone to this role (for `owner`: the transfer).
    pub invited_by: Vec<ConnectionRole>,
    /// Roles whose holders may remove this role from another member.
    pub removable_by: Vec<ConnectionRole>,
}

/// The complete permission matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PermissionMatrix {
    /// Hub actions and the access levels that allow each (SPEC S2.1).
    pub hub_actions: Vec<HubActionRule>,
    /// Connection actions and the roles and kinds that allow each (SPEC S5, S4).
    pub connection_actions: Vec<ConnectionActionRule>,
    /// Connection kinds and their capabilities (SPEC S4).
    pub kinds: Vec<KindRule>,
    /// The invitation ladder and who may remove each role (SPEC S5.1, S5.2).
    pub roles: Vec<RoleRule>,
}

fn roles_where(pred: impl Fn(ConnectionRole) -> bool) -> Vec<ConnectionRole> {
    ConnectionRole::VARIANTS
        .iter()
        .copied()
        .filter(|r| pred(*r))
        .collect()
}

impl PermissionMatrix {
    /// The matrix as the code decides it.
    pub fn current() -> Self {
        Self {
            hub_actions: HubAction::VARIANTS
                .iter()
                .map(|&action| HubActionRule {
                    action,
                    description: action.description().to_owned(),
                    allowed_for: HubAccess::VARIANTS
                        .iter()
                        .copied()
                        .filter(|l| hub_allows(*l, action))
                        .collect(),
                })
                .collect(),
            connection_actions: ConnectionAction::VARIANTS
                .iter()
                .map(|&action| ConnectionActionRule {
                    action,
                    description: action.description().to_owned(),
                    roles: roles_where(|r| role_allows(r, action)),
                    kinds: ConnectionKind::VARIANTS
                        .iter()
                        .copied()
                        .filter(|k| k.supports(action))
                        .collect(),
                })
                .collect(),
            kinds: ConnectionKind::VARIANTS
                .iter()
                .map(|&kind| KindRule {
                    kind,
                    source: kind.source(),
                    target: kind.target(),
                    capabilities: kind.capabilities(),
                })
                .collect(),
            roles: ConnectionRole::VARIANTS
                .iter()
                .map(|&role| RoleRule {
                    role,
                    invited_by: roles_where(|r| can_invite(&[r], role)),
                    removable_by: roles_where(|r| can_remove_role(&[r], role)),
                })
                .collect(),
        }
    }
}

fn mark(b: bool) -> &'static str {
    if b { "✓" } else { "–" }
}

fn code<T: Into<&'static str>>(v: T) -> String {
    format!("`{}`", v.into())
}

/// `docs/permissions.md`, generated from the matrix. A test fails when the committed file
/// differs; `just permissions-doc` rewrites it.
pub fn permissions_markdown() -> String {
    let m = PermissionMatrix::current();
    let mut out = String::new();
    out.push_str("# Hubkeep permissions\n\n");
    out.push_str(
        "Generated from `shared/src` by `just permissions-doc`; do not edit by hand. \
         The same data is served at `GET /api/v1/permissions`.\n\n",
    );

    out.push_str("## Hub actions (SPEC S2.1)\n\n");
    out.push_str("Access level `none` allows nothing.\n\n");
    out.push_str("| action | description | limited | elevated |\n| --- | --- | :-: | :-: |\n");
    for r in &m.hub_actions {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            code(r.action),
            r.description,
            mark(r.allowed_for.contains(&HubAccess::Limited)),
            mark(r.allowed_for.contains(&HubAccess::Elevated)),
        ));
    }

    out.push_str("\n## Connection actions (SPEC S5)\n\n");
    out.push_str("A user holding several roles has the union of their permissions.\n\n");
    out.push_str("| action | description |");
    for role in ConnectionRole::VARIANTS {
        out.push_str(&format!(" {} |", code(*role)));
    }
    out.push_str(" kinds |\n| --- | --- |");
    for _ in ConnectionRole::VARIANTS {
        out.push_str(" :-: |");
    }
    out.push_str(" --- |\n");
    for r in &m.connection_actions {
        out.push_str(&format!("| {} | {} |", code(r.action), r.description));
        for role in ConnectionRole::VARIANTS {
            out.push_str(&format!(" {} |", mark(r.roles.contains(role))));
        }
        let kinds = if r.kinds.len() == ConnectionKind::VARIANTS.len() {
            "all".to_owned()
        } else {
            r.kinds
                .iter()
                .map(|k| code(*k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(" {kinds} |\n"));
    }

    out.push_str("\n## Connection kinds (SPEC S4)\n\n");
    out.push_str("| kind | source → target | views | financial settings | Postgres DB |\n");
    out.push_str("| --- | --- | :-: | :-: | :-: |\n");
    for k in &m.kinds {
        out.push_str(&format!(
            "| {} | {} → {} | {} | {} | {} |\n",
            code(k.kind),
            code(k.source),
            code(k.target),
            mark(k.capabilities.views),
            mark(k.capabilities.financial_settings),
            mark(k.capabilities.postgres_db),
        ));
    }

    out.push_str("\n## Invitations and removals (SPEC S5.1, S5.2)\n\n");
    out.push_str(
        "Inviting an `owner` is the ownership transfer. The owner role is never removed: \
         it moves only by transfer or recovery.\n\n",
    );
    out.push_str("| role | may be invited by | may be removed by |\n| --- | --- | --- |\n");
    for r in &m.roles {
        let list = |v: &[ConnectionRole]| {
            if v.is_empty() {
                "nobody".to_owned()
            } else {
                v.iter().map(|x| code(*x)).collect::<Vec<_>>().join(", ")
            }
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code(r.role),
            list(&r.invited_by),
            list(&r.removable_by)
        ));
    }
    out
}
