//! Sessions, personal API tokens and sync-engine tokens (SPEC S3, S8.2).

use super::users::User;
use crate::TokenScope;
use crate::ids::{TokenId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/engine-tokens` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"name": "Sync engine (eu-west)"}))))]
pub struct CreateEngineToken {
    /// What the token is for, such as the engine's host (1–100 characters).
    pub name: String,
}

/// An engine token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EngineToken {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: TokenId,
    pub name: String,
    /// The first characters of the secret (`hk_…`), to recognise it.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A newly created engine token: the only response that carries `token`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedEngineToken {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: TokenId,
    pub name: String,
    /// The secret. Shown this once; only its hash is stored.
    pub token: String,
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/me/tokens` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"name": "Nightly user report", "scope": "read", "expires_at": "2027-06-30T00:00:00Z"}))))]
pub struct CreateToken {
    /// What the token is for: 1–100 characters after trimming, no control characters.
    pub name: String,
    pub scope: TokenScope,
    /// When the token stops working; absent: never (until revoked or the user loses access).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    /// The first characters of the secret (`hk_…`), to recognise it.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A newly created token: the only response that carries `token`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"id": "01a20abe-417b-71e4-a5ae-8a6bd9084b2f", "name": "Nightly user report", "scope": "read", "token": "hk_lcnHHV8q3W0dT9xY2mZrB7kP4sJ6vN1cF5gE8aL0uQ", "token_prefix": "hk_lcnHHV8", "created_at": "2026-11-23T08:02:10Z", "expires_at": "2027-06-30T00:00:00Z", "last_used_at": null}))))]
pub struct CreatedToken {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    /// The secret. Shown this once; only its hash is stored.
    pub token: String,
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token as the elevated oversight list shows it: whose it is, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantApiToken {
    #[serde(flatten)]
    pub token: ApiToken,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user_id: UserId,
    pub user_display_name: String,
}

/// `POST /api/v1/auth/launch` body.
// Its `Debug` (below) never shows the assertion.
#[derive(Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"assertion": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ0ZW5hbnQtcHNhLWlkIiwic3ViIjoiMjkxODQ3NjUifQ.c2lnbmF0dXJl"}))))]
pub struct LaunchRequest {
    /// The launch assertion: an HS256 JWT signed with the tenant's launch secret, `iss` =
    /// the tenant's PSA id, `aud` = `hubkeep`, `sub` = the resource id, `iat`, `exp` (at
    /// most 120 s after `iat`), `jti` (single use).
    pub assertion: String,
}

/// `POST /api/v1/auth/refresh` body.
#[derive(Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(examples(json!({"refresh_token": "hkr_4f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a"}))))]
pub struct RefreshRequest {
    /// The refresh token from the last launch or refresh. Each is valid once.
    pub refresh_token: String,
}

/// A session's tokens (SPEC S8.1).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMWEyMGFiZSJ9.c2lnbmF0dXJl", "refresh_token": "hkr_4f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a", "token_type": "Bearer", "expires_in": 900, "user": {"id": "01a20abe-40f5-7629-ada0-6271426b0f54", "display_name": "Margaret Chen", "email": "margaret.chen@northwindit.example", "psa_resource_id": 29682885, "is_primary": true, "active": true, "elevation": "inherit", "access_level": "elevated", "access_source": "primary", "security_level": {"id": 1, "name": "Administrator"}, "first_sign_in_at": "2026-11-02T09:14:03Z", "last_accessed_at": "2026-11-23T08:01:44Z"}}))))]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer …`; valid `expires_in` seconds.
    pub access_token: String,
    /// Opaque; exchange it at `/api/v1/auth/refresh` for new tokens. Single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of `access_token` in seconds.
    pub expires_in: u64,
    pub user: User,
}

// The secrets never reach a log through `Debug`.

impl std::fmt::Debug for CreatedEngineToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedEngineToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for LaunchRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LaunchRequest")
            .field("assertion", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::connections::ConnectionPatch;
    use super::*;

    /// SPEC S14: a secret never reaches a log, `Debug` included.
    #[test]
    fn debug_never_shows_the_secrets_a_request_carries() {
        let launch = LaunchRequest {
            assertion: "eyJ.secret-assertion.sig".into(),
        };
        assert!(!format!("{launch:?}").contains("secret-assertion"));
        let patch = ConnectionPatch {
            name: Some("Books".into()),
            postgres_db: Some(Some("postgres://bi:pa55word@db/bi".into())),
            ..Default::default()
        };
        let shown = format!("{patch:?}");
        assert!(!shown.contains("pa55word"), "{shown}");
        assert!(shown.contains("Books") && shown.contains("***"), "{shown}");
    }
}
