//! Tenant settings (SPEC S3, S11): what anyone may read, and the write-only secrets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// Where the hub reads identities and security levels from.
    pub enum PsaProvider {
        /// A TOML directory file on the server (demos, small offline installs).
        Directory,
        /// Autotask REST v1.0.
        Autotask,
    }
}

/// The tenant's settings as any hub user may read them: secrets appear only as "is set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    /// IANA time zone name new connections default to (e.g. `Europe/London`).
    pub default_timezone: String,
    /// Days an invitation stays open (1–30).
    pub invitation_expiry_days: i32,
    /// Hours a console session lasts before signing in again (1–168).
    pub session_lifetime_hours: i32,
    pub psa: PsaSettings,
    /// The tenant's slug: its sign-in page is `/t/{slug}` (set by the operator).
    pub slug: String,
    /// OpenID Connect sign-in (SPEC S13); `null` while it is not enabled.
    pub oidc: Option<super::OidcSettings>,
    /// In the order they were saved.
    pub accounting_mappings: Vec<AccountingMapping>,
    /// The name the tenant's notification emails come from (SPEC S15); `null`: the name of
    /// the operator's configured sender.
    pub email_sender_name: Option<String>,
    /// When any of these settings last changed (the launch secret has its own time).
    pub updated_at: DateTime<Utc>,
}

/// How the hub reaches the tenant's PSA. The integration code, the secret and the launch
/// secret are never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PsaSettings {
    pub provider: PsaProvider,
    /// The directory file on the server (`directory` provider); `null` when the bundled demo
    /// directory is used, and always `null` for limited users.
    pub directory_path: Option<String>,
    /// The Autotask zone URL; `null`: discovered from the API user.
    pub zone_url: Option<String>,
    /// The Autotask API user; always `null` for limited users.
    pub api_user: Option<String>,
    /// Whether an Autotask integration code is stored.
    pub integration_code_set: bool,
    /// Whether an Autotask secret is stored.
    pub secret_set: bool,
    /// When the launch secret was last replaced.
    pub launch_secret_rotated_at: DateTime<Utc>,
}

/// One accounting mapping: a source code and the account it posts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountingMapping {
    /// 1–64 characters, unique within the list.
    pub source_code: String,
    /// 1–64 characters.
    pub account_code: String,
    /// At most 200 characters.
    #[serde(default)]
    pub description: String,
}

/// `PUT /api/v1/settings` body: every field is optional; an absent field is left as it is.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"default_timezone": "America/New_York", "invitation_expiry_days": 7}))))]
pub struct UpdateSettings {
    /// An IANA time zone name, exactly as the tz database spells it.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_timezone: Option<String>,
    /// 1–30.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_expiry_days: Option<i64>,
    /// 1–168. New sessions get the new lifetime; running ones keep theirs.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_lifetime_hours: Option<i64>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psa: Option<UpdatePsa>,
    /// Replaces the whole list.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounting_mappings: Option<Vec<AccountingMapping>>,
    /// OpenID Connect sign-in; `null` turns it off and forgets the client secret.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<super::UpdateOidc>))]
    pub oidc: Option<Option<super::UpdateOidc>>,
    /// The name notification emails come from (1–100 characters); `null` goes back to the
    /// operator's.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email_sender_name: Option<Option<String>>,
}

/// Changes to the PSA connection. Absent: unchanged; `null` (where allowed): cleared.
/// Secrets are write-only: send them to set them; they are never sent back.
///
/// Credentials are bound to where they go (SPEC S11): on a tenant with a stored integration
/// code or secret, a request that changes `provider`, `zone_url` or `api_user` must send
/// `integration_code` and `secret` again, or it is refused with 422 `credentials_required`.
/// The directory file is the operator's (`hubkeep tenant set-directory`): `directory_path`
/// is not accepted here.
#[derive(Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdatePsa {
    /// `directory` only when the operator has set a directory file for the tenant.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<PsaProvider>,
    /// The zone as Autotask announces it (`https://webservicesN.autotask.net/ATServicesRest/`)
    /// or its bare host; only Autotask's hosts over HTTPS, and hosts the operator allowed in
    /// `[psa] extra_zone_hosts`, are accepted. `null` to discover the zone from the API user.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub zone_url: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub api_user: Option<Option<String>>,
    /// Write-only.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub integration_code: Option<Option<String>>,
    /// Write-only.
    #[serde(
        default,
        deserialize_with = "crate::api::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub secret: Option<Option<String>>,
}

/// The response of a launch-secret rotation: the only time the secret is shown.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LaunchSecret {
    /// Give this to the PSA-side launcher now; only the hub keeps a copy.
    pub launch_secret: String,
    pub rotated_at: DateTime<Utc>,
}

impl PsaProvider {
    /// The stable snake_case name (as stored and sent).
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Autotask => "autotask",
        }
    }
}

// The secrets never reach a log through `Debug`.

impl std::fmt::Debug for UpdatePsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdatePsa")
            .field("provider", &self.provider)
            .field("zone_url", &self.zone_url)
            .field("api_user", &self.api_user)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LaunchSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchSecret")
            .field("rotated_at", &self.rotated_at)
            .finish_non_exhaustive()
    }
}
