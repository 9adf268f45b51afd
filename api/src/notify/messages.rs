//! The messages (SPEC S15), one function each: who gets it, its category, subject and text.
//! Names go in as they are; `render` escapes them.

use hubkeep_shared::api::NotificationCategory;
use hubkeep_shared::{ConnectionRole, HubAccess};

use super::{Body, Link, Mail, Recipient};
use crate::activity::actions;
use crate::db::entities::{connections as conn, invitations, users};

fn members_link(connection: &conn::Model) -> Link {
    Link {
        label: "Open the connection's members".into(),
        path: format!("/connections/{}/members", connection.id),
    }
}

fn invitations_link() -> Link {
    Link {
        label: "Open your invitations".into(),
        path: "/invitations".into(),
    }
}

/// The invitee of `row`: the hub user it names, else its email address.
pub fn invitee_label(row: &invitations::Model, invitee: Option<&users::Model>) -> String {
    invitee
        .map(|u| u.display_name.clone())
        .or_else(|| row.invitee_email.clone())
        .unwrap_or_default()
}

/// To the invitee: an invitation to a role, or a request to become the owner.
pub fn invitation_created(
    row: &invitations::Model,
    connection: &conn::Model,
    inviter: &users::Model,
    invitee: Recipient,
) -> Mail {
    let expires = row.expires_at.format("%Y-%m-%d %H:%M UTC");
    let (subject, first) = if row.role == ConnectionRole::Owner {
        (
            format!(
                "{} asks you to become the owner of {}",
                inviter.display_name, connection.name
            ),
            format!(
                "{} asks you to become the Subscription Owner of the connection {} ({}).",
                inviter.display_name,
                connection.name,
                connection.kind.label()
            ),
        )
    } else {
        (
            format!(
                "{} invited you to {}",
                inviter.display_name, connection.name
            ),
            format!(
                "{} invited you to be {} on the connection {} ({}).",
                inviter.display_name,
                row.role.label(),
                connection.name,
                connection.kind.label()
            ),
        )
    };
    Mail {
        category: NotificationCategory::Invitations,
        kind: actions::INVITATION_CREATED,
        to: invitee,
        subject,
        body: Body {
            paragraphs: vec![
                first,
                format!("Accept or decline it in the console before {expires}."),
            ],
            action: Some(invitations_link()),
        },
    }
}

/// What became of an invitation, to its inviter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Declined,
    Revoked,
    Expired,
}

/// To the inviter: their invitation was accepted, declined, revoked (by someone else) or
/// expired.
pub fn invitation_outcome(
    outcome: Outcome,
    row: &invitations::Model,
    connection: &conn::Model,
    inviter: &users::Model,
    invitee: &str,
    by: Option<&str>,
) -> Mail {
    let role = row.role.label();
    let (kind, subject, first) = match outcome {
        Outcome::Accepted => (
            actions::INVITATION_ACCEPTED,
            format!("{invitee} accepted your invitation to {}", connection.name),
            format!(
                "{invitee} accepted your invitation and is now {role} on {}.",
                connection.name
            ),
        ),
        Outcome::Declined => (
            actions::INVITATION_DECLINED,
            format!("{invitee} declined your invitation to {}", connection.name),
            format!(
                "{invitee} declined your invitation to be {role} on {}.",
                connection.name
            ),
        ),
        Outcome::Revoked => (
            actions::INVITATION_REVOKED,
            format!(
                "Your invitation of {invitee} to {} was revoked",
                connection.name
            ),
            format!(
                "{} revoked your invitation of {invitee} to be {role} on {}.",
                by.unwrap_or("Someone"),
                connection.name
            ),
        ),
        Outcome::Expired => (
            actions::INVITATION_EXPIRED,
            format!(
                "Your invitation of {invitee} to {} expired",
                connection.name
            ),
            format!(
                "Your invitation of {invitee} to be {role} on {} expired unanswered.",
                connection.name
            ),
        ),
    };
    Mail {
        category: NotificationCategory::InvitationUpdates,
        kind,
        to: Recipient::user(inviter),
        subject,
        body: Body {
            paragraphs: vec![first],
            action: Some(members_link(connection)),
        },
    }
}

/// To the new owner of a connection whose ownership an elevated user recovered.
pub fn ownership_recovered(connection: &conn::Model, owner: &users::Model, by: &str) -> Mail {
    Mail {
        category: NotificationCategory::Ownership,
        kind: actions::CONNECTION_OWNERSHIP_RECOVERED,
        to: Recipient::user(owner),
        subject: format!("You are now the owner of {}", connection.name),
        body: Body {
            paragraphs: vec![format!(
                "{by} made you the Subscription Owner of the connection {} ({}): its previous \
                 owner no longer has hub access.",
                connection.name,
                connection.kind.label()
            )],
            action: Some(Link {
                label: "Open the connection".into(),
                path: format!("/connections/{}/overview", connection.id),
            }),
        },
    }
}

/// What changed in a person's hub access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChange {
    Deactivated,
    Reactivated,
    ElevationGranted,
    ElevationRevoked,
}

impl AccessChange {
    /// The elevation change between two access levels: granted when one becomes elevated,
    /// revoked when one keeps access without elevation; nothing otherwise.
    pub fn of(before: HubAccess, after: HubAccess) -> Option<Self> {
        match (before, after) {
            (HubAccess::Elevated, HubAccess::Elevated) => None,
            (_, HubAccess::Elevated) => Some(Self::ElevationGranted),
            (HubAccess::Elevated, HubAccess::Limited) => Some(Self::ElevationRevoked),
            _ => None,
        }
    }
}

/// To the person whose hub access an elevated user changed.
pub fn access_changed(change: AccessChange, person: &users::Model, by: &str) -> Mail {
    let (kind, subject, first, action) = match change {
        AccessChange::Deactivated => (
            actions::USER_DEACTIVATED,
            "Your Hubkeep access was deactivated".to_owned(),
            format!(
                "{by} deactivated your access to Hubkeep: you can no longer sign in, and your \
                 sessions and API tokens have stopped working."
            ),
            None,
        ),
        AccessChange::Reactivated => (
            actions::USER_ACTIVATED,
            "Your Hubkeep access was reactivated".to_owned(),
            format!("{by} reactivated your access to Hubkeep: you can sign in again."),
            Some(Link {
                label: "Open Hubkeep".into(),
                path: "/".into(),
            }),
        ),
        AccessChange::ElevationGranted => (
            actions::USER_ELEVATION_CHANGED,
            "You were granted elevated access in Hubkeep".to_owned(),
            format!(
                "{by} granted you elevated hub access: you may now manage users, access and \
                 settings, and every connection of your organization."
            ),
            Some(Link {
                label: "Open Hubkeep".into(),
                path: "/".into(),
            }),
        ),
        AccessChange::ElevationRevoked => (
            actions::USER_ELEVATION_CHANGED,
            "Your elevated access in Hubkeep was revoked".to_owned(),
            format!(
                "{by} revoked your elevated hub access: you keep limited access and your \
                 connection roles."
            ),
            None,
        ),
    };
    Mail {
        category: NotificationCategory::HubAccess,
        kind,
        to: Recipient::user(person),
        subject,
        body: Body {
            paragraphs: vec![first],
            action,
        },
    }
}
