//! Notifications (SPEC S15): the outbox an elevated user reads and retries, and the
//! categories each person may turn off.

use crate::ids::{NotificationId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What a message is about; each person may turn a category off.
    pub enum NotificationCategory {
        /// An invitation to a connection role, or a request to become a connection's owner
        /// (to the invitee).
        Invitations,
        /// An invitation you sent was accepted, declined, revoked or expired (to the inviter).
        InvitationUpdates,
        /// You became a connection's owner by recovery (to the new owner).
        Ownership,
        /// Your hub access was deactivated or reactivated, or your elevation granted or
        /// revoked (to the person).
        HubAccess,
    }
}

wire_enum! {
    /// Where a message is. `queued` → `sent` | `failed`; `failed` → `sent` | `failed` |
    /// `dead` (after the operator's bound of attempts); a retry puts `failed` or `dead` back
    /// to `queued`.
    pub enum NotificationStatus {
        Queued,
        Sent,
        Failed,
        Dead,
    }
}

/// One message of the outbox, as an elevated user sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"id": "01933b1e-8f3a-7c4e-b7c1-4a1f0e2d9c11", "category": "invitations", "kind": "invitation.created", "recipient_user_id": null, "recipient_email": "dana.okafor@northwindit.example", "recipient_name": "", "subject": "Margaret Chen invited you to Autotask → QuickBooks", "body_text": "Margaret Chen invited you to be Read-only on Autotask → QuickBooks.\n…", "message_id": "<01933b1e-8f3a-7c4e-b7c1-4a1f0e2d9c11@hub.example.com>", "status": "sent", "attempts": 1, "last_error": null, "created_at": "2026-12-04T09:00:00Z", "next_attempt_at": "2026-12-04T09:00:00Z", "sent_at": "2026-12-04T09:00:02Z"}))))]
pub struct Notification {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: NotificationId,
    pub category: NotificationCategory,
    /// The event, as the activity log names it (`invitation.created`, `user.deactivated`, …).
    pub kind: String,
    /// The hub user it is for, when it is for one (an invitation by email to someone who
    /// never signed in has none).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub recipient_user_id: Option<UserId>,
    pub recipient_email: String,
    /// The recipient's display name (empty when unknown).
    pub recipient_name: String,
    pub subject: String,
    /// The plain-text part, as sent.
    pub body_text: String,
    /// The `Message-ID` header: the same on every attempt.
    pub message_id: String,
    pub status: NotificationStatus,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// The SMTP server's (or the connection's) answer to the last failed attempt.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the sender tries next (`queued`, `failed`).
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/notifications` filters and paging.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only messages in this state.
    pub status: Option<NotificationStatus>,
    /// Items per page, 1–200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Which categories of email a person receives (all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"invitations": true, "invitation_updates": false, "ownership": true, "hub_access": true}))))]
pub struct NotificationPreferences {
    pub invitations: bool,
    pub invitation_updates: bool,
    pub ownership: bool,
    pub hub_access: bool,
}

impl Default for NotificationPreferences {
    fn default() -> Self {
        Self {
            invitations: true,
            invitation_updates: true,
            ownership: true,
            hub_access: true,
        }
    }
}

impl NotificationPreferences {
    /// Whether `category` is on.
    pub fn allows(&self, category: NotificationCategory) -> bool {
        match category {
            NotificationCategory::Invitations => self.invitations,
            NotificationCategory::InvitationUpdates => self.invitation_updates,
            NotificationCategory::Ownership => self.ownership,
            NotificationCategory::HubAccess => self.hub_access,
        }
    }

    /// Turns `category` on or off.
    pub fn set(&mut self, category: NotificationCategory, on: bool) {
        match category {
            NotificationCategory::Invitations => self.invitations = on,
            NotificationCategory::InvitationUpdates => self.invitation_updates = on,
            NotificationCategory::Ownership => self.ownership = on,
            NotificationCategory::HubAccess => self.hub_access = on,
        }
    }

    /// The categories with their setting, in the enum's order.
    pub fn entries(&self) -> impl Iterator<Item = (NotificationCategory, bool)> + '_ {
        use strum::VariantArray as _;
        NotificationCategory::VARIANTS
            .iter()
            .map(|c| (*c, self.allows(*c)))
    }
}

/// `PATCH /api/v1/me/preferences`: the categories to change; the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"invitation_updates": false}))))]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferencesPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitations: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_updates: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_access: Option<bool>,
}

impl NotificationPreferencesPatch {
    /// The patch that turns `before` into `after`: only the categories that differ.
    pub fn between(before: &NotificationPreferences, after: &NotificationPreferences) -> Self {
        let differs = |c| (before.allows(c) != after.allows(c)).then_some(after.allows(c));
        Self {
            invitations: differs(NotificationCategory::Invitations),
            invitation_updates: differs(NotificationCategory::InvitationUpdates),
            ownership: differs(NotificationCategory::Ownership),
            hub_access: differs(NotificationCategory::HubAccess),
        }
    }

    /// The categories this patch sets, with their new value.
    pub fn changes(&self) -> Vec<(NotificationCategory, bool)> {
        [
            (NotificationCategory::Invitations, self.invitations),
            (
                NotificationCategory::InvitationUpdates,
                self.invitation_updates,
            ),
            (NotificationCategory::Ownership, self.ownership),
            (NotificationCategory::HubAccess, self.hub_access),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s15_preferences_default_on_and_patch_changes_only_what_it_names() {
        let mut prefs = NotificationPreferences::default();
        assert!(prefs.entries().all(|(_, on)| on));
        let patch: NotificationPreferencesPatch =
            serde_json::from_str(r#"{"invitation_updates": false}"#).unwrap();
        for (c, on) in patch.changes() {
            prefs.set(c, on);
        }
        assert!(!prefs.allows(NotificationCategory::InvitationUpdates));
        assert!(prefs.allows(NotificationCategory::Invitations));
        assert!(
            serde_json::from_str::<NotificationPreferencesPatch>(r#"{"email": false}"#).is_err()
        );
        let back =
            NotificationPreferencesPatch::between(&prefs, &NotificationPreferences::default());
        assert_eq!(
            back.changes(),
            [(NotificationCategory::InvitationUpdates, true)]
        );
    }
}
