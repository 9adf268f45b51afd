//! RFC 9457 problem details, with Hubkeep's stable error codes (SPEC S8).

use serde::{Deserialize, Serialize};

/// Every stable error code the API answers with. Clients switch on `code`, never on `title`
/// or `detail`; a code is never renamed once released.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::EnumMessage,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProblemCode {
    /// The request is malformed or a field is invalid; `errors` lists the fields.
    ValidationFailed,
    /// A security level that is not eligible for elevation was granted or saved.
    LevelNotEligible,
    /// The connection's kind does not have the setting the action changes.
    NotSupportedForKind,
    /// No valid credentials were sent.
    Unauthenticated,
    /// The session is over, revoked, or the user's access changed: sign in again.
    ReauthorizationRequired,
    /// The user is deactivated or no longer has hub access.
    UserInactive,
    /// The PSA says this resource may not use the hub: the resource or its security level is
    /// inactive, the level may not open the hub menu, or the PSA no longer knows the resource.
    AccessNotEligible,
    /// The caller's role does not allow the action.
    Forbidden,
    /// The action needs elevated hub access.
    ElevatedAccessRequired,
    /// The API token's scope does not allow the action.
    InsufficientScope,
    /// An elevated user tried to deactivate themselves (G1).
    SelfDeactivationForbidden,
    /// The primary user cannot be edited, deactivated or re-elevated (G3).
    PrimaryUserImmutable,
    /// A tenant's first sign-in must come from a level eligible for elevation (G4).
    PrimaryRequiresElevation,
    /// Nothing exists here, or it is not visible to the caller.
    NotFound,
    /// The HTTP method is not supported on this path.
    MethodNotAllowed,
    /// The change would break an invariant (for example a duplicate).
    Conflict,
    /// An elevated user tried to remove their own elevation (G2).
    SelfDemotionForbidden,
    /// The owner must transfer ownership before leaving.
    OwnerMustTransfer,
    /// The connection is cancelled: pay again first.
    ConnectionCancelled,
    /// An endpoint of the connection is disconnected.
    EndpointDisconnected,
    /// The invitation has expired.
    InvitationExpired,
    /// The person who sent the invitation no longer has hub access (deactivated in the hub or
    /// the PSA), so it can no longer be accepted (SPEC S12).
    InviterLostAccess,
    /// Too many requests; retry after `Retry-After` seconds.
    RateLimited,
    /// An unexpected error; details are in the server log under the request id.
    InternalError,
    /// The PSA could not be reached; nothing was changed. Try again shortly.
    PsaUnavailable,
    /// The PSA refuses the hub for good: `reason` says why (`bad_credentials`,
    /// `bad_integration_code`, `security_levels_bridge_missing`, `zone_not_found`,
    /// `zone_not_allowed`, `settings_invalid`); retrying will not help, an administrator must
    /// fix the PSA settings.
    PsaMisconfigured,
    /// The tenant's hourly budget of PSA calls is spent (`[psa] hourly_budget`); work that
    /// can wait is refused until `Retry-After`. Sign-in and refresh are never refused.
    PsaBudgetExhausted,
    /// Changing the PSA provider, zone or API user needs the integration code and secret
    /// again in the same request, so stored credentials never follow a new destination.
    CredentialsRequired,
    /// A dependency (the database) is not reachable.
    ServiceUnavailable,
    /// A reconciliation of this tenant is already running (here or on another instance);
    /// its result will show in `GET /api/v1/psa/status`.
    ReconcileInProgress,
    /// The tenant's PSA offers no webhook callouts for resources: the directory file never
    /// does, and Autotask only when `Resources/entityInformation` reports
    /// `supportsWebhookCallouts` (today it documents none for Resources). The reconciliation
    /// job keeps the hub current instead (SPEC S12).
    WebhooksUnsupported,
    /// Webhooks need the address the PSA calls back: set `[http] public_url`.
    PublicUrlMissing,
    /// A webhook callout whose `X-Hook-Signature` is missing or is not the HMAC-SHA1 of the
    /// body under the subscription's secret key; nothing was changed.
    WebhookSignatureInvalid,
    /// An OpenID Connect sign-in was refused: the `state` is unknown, used or expired, the
    /// provider answered with an error (`detail` names it; `login_required` after a silent
    /// attempt), or the ID token failed a check (signature, algorithm, `iss`, `aud`, `azp`,
    /// `exp`, `iat`, `nonce`). Nothing was created (SPEC S13).
    OidcRejected,
    /// The ID token's email is not verified and the tenant requires verified emails.
    EmailNotVerified,
    /// The ID token's email is outside the tenant's allowed email domains.
    EmailDomainNotAllowed,
    /// No PSA resource has the signed-in email address.
    PsaResourceNotFound,
    /// More than one PSA resource has the signed-in email address, so the hub cannot tell
    /// who this is; the PSA's records must be corrected.
    PsaResourceAmbiguous,
    /// The tenant's identity provider could not be reached or answered something that is not
    /// OpenID Connect; nothing was changed. Try again shortly.
    IdentityProviderUnavailable,
}

impl ProblemCode {
    /// The HTTP status this code is always sent with.
    pub const fn status(self) -> u16 {
        use ProblemCode::*;
        match self {
            ValidationFailed | LevelNotEligible | NotSupportedForKind | CredentialsRequired => 422,
            Unauthenticated | ReauthorizationRequired | WebhookSignatureInvalid | OidcRejected => {
                401
            }
            UserInactive
            | AccessNotEligible
            | Forbidden
            | ElevatedAccessRequired
            | InsufficientScope
            | SelfDeactivationForbidden
            | PrimaryUserImmutable
            | PrimaryRequiresElevation
            | EmailNotVerified
            | EmailDomainNotAllowed
            | PsaResourceNotFound
            | PsaResourceAmbiguous => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Conflict
            | SelfDemotionForbidden
            | OwnerMustTransfer
            | ConnectionCancelled
            | EndpointDisconnected
            | InviterLostAccess
            | ReconcileInProgress
            | WebhooksUnsupported
            | PublicUrlMissing => 409,
            InvitationExpired => 410,
            RateLimited => 429,
            InternalError => 500,
            PsaMisconfigured => 502,
            PsaUnavailable
            | PsaBudgetExhausted
            | ServiceUnavailable
            | IdentityProviderUnavailable => 503,
        }
    }

    /// A short human-readable summary that does not change between occurrences.
    pub const fn title(self) -> &'static str {
        use ProblemCode::*;
        match self {
            ValidationFailed => "The request is not valid",
            LevelNotEligible => "Security level not eligible for elevation",
            NotSupportedForKind => "Not supported for this kind of connection",
            Unauthenticated => "Authentication required",
            ReauthorizationRequired => "Sign in again",
            UserInactive => "User has no hub access",
            AccessNotEligible => "Not eligible for hub access",
            Forbidden => "Not allowed",
            ElevatedAccessRequired => "Elevated hub access required",
            InsufficientScope => "API token scope does not allow this",
            SelfDeactivationForbidden => "You cannot deactivate yourself",
            PrimaryUserImmutable => "The primary user cannot be changed",
            PrimaryRequiresElevation => "The first user must be eligible for elevation",
            NotFound => "Not found",
            MethodNotAllowed => "Method not allowed",
            Conflict => "Conflict",
            SelfDemotionForbidden => "You cannot remove your own elevation",
            OwnerMustTransfer => "Transfer ownership first",
            ConnectionCancelled => "The connection is cancelled",
            EndpointDisconnected => "An endpoint is disconnected",
            InvitationExpired => "The invitation has expired",
            InviterLostAccess => "The inviter no longer has hub access",
            RateLimited => "Too many requests",
            InternalError => "Internal error",
            PsaUnavailable => "The PSA is unavailable",
            PsaMisconfigured => "The PSA refuses the hub's settings",
            PsaBudgetExhausted => "The hourly budget of PSA calls is spent",
            CredentialsRequired => "Send the PSA credentials again",
            ServiceUnavailable => "Service unavailable",
            ReconcileInProgress => "A reconciliation is already running",
            WebhooksUnsupported => "The PSA offers no webhooks for resources",
            PublicUrlMissing => "The server's public URL is not configured",
            WebhookSignatureInvalid => "The callout's signature is not valid",
            OidcRejected => "The sign-in at the identity provider was refused",
            EmailNotVerified => "The email address is not verified",
            EmailDomainNotAllowed => "The email domain may not sign in",
            PsaResourceNotFound => "No PSA person has this email address",
            PsaResourceAmbiguous => "Several PSA people have this email address",
            IdentityProviderUnavailable => "The identity provider is unavailable",
        }
    }

    /// Every code, in declaration order.
    pub fn all() -> &'static [Self] {
        <Self as strum::VariantArray>::VARIANTS
    }

    /// What the code means: its documentation above, for generated docs and examples.
    pub fn description(self) -> &'static str {
        strum::EnumMessage::get_documentation(&self).unwrap_or_else(|| self.title())
    }

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The problem `type` URI. A URN rather than a web address: it names the problem
    /// without promising a page that a deployment may not have.
    pub fn type_uri(self) -> String {
        format!("urn:hubkeep:problem:{}", self.as_str())
    }
}

/// One invalid field of a 422 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field, as a JSON pointer-like dotted path (`level_ids.2`), or `body`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 `application/problem+json` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the problem type (`urn:hubkeep:problem:<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The stable error code to switch on.
    #[cfg_attr(feature = "openapi", schema(value_type = ProblemCode))]
    pub code: String,
    /// For 422: the invalid fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For 502 `psa_misconfigured`: why the PSA refuses the hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::psa::PsaMisconfiguration>,
    /// The id of the request, as in the `x-request-id` header and the server log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    /// A problem of the given code with an occurrence-specific detail.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            type_uri: code.type_uri(),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code: code.as_str().to_owned(),
            errors: Vec::new(),
            reason: None,
            request_id: None,
        }
    }

    /// The code as the enum, when this client knows it.
    pub fn known_code(&self) -> Option<ProblemCode> {
        self.code.parse().ok()
    }
}
