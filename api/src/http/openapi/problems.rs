//! Which problem codes each operation answers with: the one place the document's error
//! responses come from (SPEC S8). An operation that is not listed here fails the document's
//! test, so a new endpoint must say what can go wrong. With `contract_check` on (the tests),
//! every answer the server gives is checked against this list (`super::check`).

use hubkeep_shared::ProblemCode::{self, *};

/// What every operation of a given shape can answer, whatever it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Which credentials the operation takes (`None` for public operations).
    pub credentials: Credentials,
    /// It has path parameters: an id that does not exist, or is not visible, is 404.
    pub has_path_ids: bool,
    /// It reads a body or query parameters: they can be invalid (422).
    pub has_input: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    Public,
    /// A session access token or a personal API token of a user.
    User,
    /// An engine token.
    Engine,
}

impl Shape {
    fn codes(self) -> Vec<ProblemCode> {
        let mut codes = Vec::new();
        match self.credentials {
            Credentials::Public => {}
            // An API token of a user without hub access is `user_inactive`; a `read` token
            // on a write, or an engine token on a user endpoint, is `insufficient_scope`.
            Credentials::User => codes.extend([
                Unauthenticated,
                ReauthorizationRequired,
                UserInactive,
                InsufficientScope,
            ]),
            Credentials::Engine => codes.extend([Unauthenticated, InsufficientScope]),
        }
        if self.has_path_ids {
            codes.push(NotFound);
        }
        if self.has_input {
            codes.push(ValidationFailed);
        }
        codes
    }
}

// long: a table, one arm per operation (60 of them); splitting it would only scatter the
// one place the document's error responses are decided.
/// The codes an operation answers with beyond those of its shape; `None` for an operation
/// this table does not know (a test fails on it).
pub fn specific(operation_id: &str) -> Option<&'static [ProblemCode]> {
    Some(match operation_id {
        "get_healthz" | "get_openapi" | "get_permissions" => &[],
        "get_readyz" => &[ServiceUnavailable],

        // Sign-in (SPEC S3.2): a bad assertion is `unauthenticated`; the PSA's answer decides
        // the rest; G4 for a tenant's first user.
        "launch_session" => &[
            Unauthenticated,
            AccessNotEligible,
            UserInactive,
            PrimaryRequiresElevation,
            Conflict,
            RateLimited,
            PsaUnavailable,
            PsaMisconfigured,
        ],
        "launch_demo_session" => &[
            NotFound,
            Unauthenticated,
            AccessNotEligible,
            UserInactive,
            PrimaryRequiresElevation,
            Conflict,
            RateLimited,
            PsaUnavailable,
            PsaMisconfigured,
        ],
        "list_demo_identities" => &[NotFound],
        // OpenID Connect sign-in (SPEC S13). A browser is redirected to `/t/{slug}?error=`
        // instead; scripts get these.
        "get_tenant_sign_in" => &[],
        "start_oidc_sign_in" => &[Forbidden, RateLimited, IdentityProviderUnavailable],
        "finish_oidc_sign_in" => &[
            NotFound,
            OidcRejected,
            EmailNotVerified,
            EmailDomainNotAllowed,
            PsaResourceNotFound,
            PsaResourceAmbiguous,
            AccessNotEligible,
            UserInactive,
            PrimaryRequiresElevation,
            Conflict,
            RateLimited,
            PsaUnavailable,
            PsaMisconfigured,
            IdentityProviderUnavailable,
        ],
        "exchange_oidc_code" => &[OidcRejected, RateLimited],
        "refresh_session" => &[
            Unauthenticated,
            ReauthorizationRequired,
            RateLimited,
            PsaUnavailable,
            PsaMisconfigured,
        ],
        // API tokens cannot sign out or mint tokens: `forbidden`.
        "end_session" | "create_my_token" => &[Forbidden],
        "get_me" | "list_my_invitations" | "list_my_tokens" | "revoke_my_token" => &[],
        // Email preferences and the outbox (SPEC S15).
        "get_my_preferences" | "update_my_preferences" => &[],
        "list_notifications" => &[ElevatedAccessRequired],
        "retry_notification" => &[ElevatedAccessRequired, Conflict],

        // The Access and Users tabs (SPEC S2): elevated users only.
        // PSA reads other than sign-in and refresh are background work (SPEC S11).
        "list_security_levels" | "refresh_users" => &[
            ElevatedAccessRequired,
            PsaUnavailable,
            PsaMisconfigured,
            PsaBudgetExhausted,
        ],
        "get_elevated_levels" => &[ElevatedAccessRequired],
        "save_elevated_levels" => &[
            ElevatedAccessRequired,
            LevelNotEligible,
            SelfDemotionForbidden,
            PsaUnavailable,
            PsaMisconfigured,
            PsaBudgetExhausted,
        ],
        "list_users" | "get_user" => &[ElevatedAccessRequired],
        // The people picker (SPEC S16): elevated users and inviters; others are refused as
        // on an elevated-only action.
        "search_people" => &[ElevatedAccessRequired],
        "update_user" => &[
            ElevatedAccessRequired,
            SelfDeactivationForbidden,
            PrimaryUserImmutable,
            SelfDemotionForbidden,
            LevelNotEligible,
        ],
        "list_tenant_tokens" | "revoke_tenant_token" => &[ElevatedAccessRequired],

        // Settings (SPEC S6).
        "get_settings" => &[],
        "update_settings" => &[ElevatedAccessRequired, Conflict, CredentialsRequired],
        // Failures of the PSA are the report's steps, not errors.
        "test_psa_connection" => &[ElevatedAccessRequired],
        "rotate_launch_secret" => &[ElevatedAccessRequired, Forbidden],

        // The PSA change feed (SPEC S12).
        "get_psa_status" => &[ElevatedAccessRequired],
        "reconcile_psa" => &[
            ElevatedAccessRequired,
            ReconcileInProgress,
            PsaUnavailable,
            PsaMisconfigured,
            PsaBudgetExhausted,
        ],
        "subscribe_psa_webhook" => &[
            ElevatedAccessRequired,
            WebhooksUnsupported,
            PublicUrlMissing,
            Conflict,
            PsaUnavailable,
            PsaMisconfigured,
            PsaBudgetExhausted,
        ],
        "unsubscribe_psa_webhook" => &[
            ElevatedAccessRequired,
            PsaUnavailable,
            PsaMisconfigured,
            PsaBudgetExhausted,
        ],
        // Public: the signature is the credential; an unknown tenant is `not_found`.
        "receive_autotask_callout" | "receive_autotask_deactivation" => &[WebhookSignatureInvalid],

        // The activity log (SPEC S7): limited users see their own entries.
        "list_activity" | "get_activity" | "export_activity" => &[],

        // Connections (SPEC S4, S5).
        "list_connections" | "get_connection" | "list_connection_members" => &[],
        "create_connection" => &[ElevatedAccessRequired, Forbidden],
        "list_governance_connections" => &[ElevatedAccessRequired],
        "update_connection" => &[Forbidden, NotSupportedForKind, ConnectionCancelled],
        "pay_connection" => &[Forbidden],
        "cancel_connection" => &[Forbidden, ConnectionCancelled],
        "disconnect_endpoint" | "reconnect_endpoint" => &[Forbidden, ConnectionCancelled],
        "list_connection_invitations" => &[Forbidden],
        "create_invitation" => &[Forbidden, ConnectionCancelled, Conflict],
        "leave_connection" => &[OwnerMustTransfer, Conflict],
        "remove_member_role" => &[Forbidden, OwnerMustTransfer, Conflict],
        "recover_ownership" => &[ElevatedAccessRequired, Conflict],
        // An invitation by email asks the PSA for the caller's current email (SPEC S14).
        "accept_invitation" => &[
            Forbidden,
            Conflict,
            InvitationExpired,
            InviterLostAccess,
            ConnectionCancelled,
            PsaUnavailable,
            PsaMisconfigured,
        ],
        "decline_invitation" => &[
            Forbidden,
            Conflict,
            InvitationExpired,
            ConnectionCancelled,
            PsaUnavailable,
            PsaMisconfigured,
        ],
        "revoke_invitation" => &[Forbidden, Conflict, InvitationExpired],

        // Sync (SPEC S4).
        "list_runs" => &[Forbidden],
        "request_run" => &[
            Forbidden,
            ConnectionCancelled,
            EndpointDisconnected,
            NotSupportedForKind,
            Conflict,
        ],
        "hide_run" | "unhide_run" => &[Forbidden, Conflict],
        "report_run_progress" => &[Conflict],
        "get_sync_status" => &[],
        "create_engine_token" => &[ElevatedAccessRequired, Forbidden],
        "list_engine_tokens" | "revoke_engine_token" => &[ElevatedAccessRequired],

        // Views.
        "list_views" => &[Forbidden, NotSupportedForKind],
        "create_view" | "update_view" | "delete_view" => &[
            Forbidden,
            NotSupportedForKind,
            ConnectionCancelled,
            Conflict,
        ],
        _ => return None,
    })
}

/// Every code the operation may answer with, in the enum's order, without repeats.
pub fn codes(operation_id: &str, shape: Shape) -> Option<Vec<ProblemCode>> {
    let mut codes = shape.codes();
    codes.extend_from_slice(specific(operation_id)?);
    codes.sort();
    codes.dedup();
    Some(codes)
}
