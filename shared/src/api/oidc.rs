//! Sign-in with OpenID Connect (SPEC S13): the public sign-in page's facts, the one-time
//! code exchange, and the tenant's `oidc` settings.

use serde::{Deserialize, Serialize};

wire_enum! {
    /// A way into a tenant's console besides the PSA launch.
    pub enum SignInMethod {
        /// OpenID Connect at the tenant's identity provider.
        Oidc,
    }
}

/// `GET /api/v1/auth/tenants/{slug}`: what the sign-in page `/t/{slug}` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSignIn {
    /// The tenant's display name.
    pub name: String,
    /// `["oidc"]` when the tenant has enabled OpenID Connect sign-in, else empty (the PSA
    /// launch is then the only way in).
    pub sign_in: Vec<SignInMethod>,
    /// The button's words: "Sign in with <label>"; `null` without OIDC.
    pub oidc_label: Option<String>,
}

/// `POST /api/v1/auth/oidc/exchange` body.
#[derive(Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"code": "9Jq3m2Yw0s8kK1bq7n4Xc2VtQe5rUa6h"}))))]
pub struct OidcExchange {
    /// The one-time code from the fragment of `/signin/complete#code=…` (60 seconds, single
    /// use).
    pub code: String,
}

impl std::fmt::Debug for OidcExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcExchange").finish_non_exhaustive()
    }
}

/// The tenant's OpenID Connect sign-in as anyone in the hub may read it: never the client
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcSettings {
    /// The provider's issuer; its `/.well-known/openid-configuration` is read.
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is stored.
    pub client_secret_set: bool,
    /// "Sign in with <label>".
    pub label: String,
    /// The ID-token claim holding the email address.
    pub email_claim: String,
    /// When not empty, only emails of these domains may sign in.
    pub allowed_email_domains: Vec<String>,
    /// Whether the ID token must say `email_verified: true`.
    pub require_email_verified: bool,
    /// The redirect URI to register at the provider: `[http] public_url` +
    /// `/api/v1/auth/oidc/callback`; `null` while the server has no public URL.
    pub redirect_uri: Option<String>,
}

/// Changes to OIDC sign-in (`oidc` of `PUT /api/v1/settings`). Absent fields are unchanged.
/// Enabling it needs `issuer`, `client_id` and `client_secret`. The client secret is bound to
/// its provider: a request that changes `issuer` or `client_id` of a stored secret must send
/// `client_secret` again, or it is refused with 422 `credentials_required`.
#[derive(Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateOidc {
    /// `https://` (plain `http://` only where the operator allows it, `[oidc] allow_http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// 1–300 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Write-only; 1–500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// 1–100 characters (default: the issuer's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Default `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_claim: Option<String>,
    /// Replaces the list (at most 50 domains); empty: any domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_email_domains: Option<Vec<String>>,
    /// Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_email_verified: Option<bool>,
}

impl std::fmt::Debug for UpdateOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateOidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}
