//! What the API says about the tenant's PSA connection (SPEC S11): why it is misconfigured,
//! and the steps of a connection test. The console renders both from these types.

use serde::{Deserialize, Serialize};

wire_enum! {
    /// Why the PSA refuses the hub for good: retrying will not help, an administrator must act.
    /// Sent as `reason` with 502 `psa_misconfigured`, and on a failed connection-test step.
    pub enum PsaMisconfiguration {
        /// Autotask refused the API user name or secret (401).
        BadCredentials,
        /// Autotask refused the API integration code (its 500 naming the integration code).
        BadIntegrationCode,
        /// The `SecurityLevels` entity, or the `securityLevelID` of resources, is missing: the
        /// PSA-side bridge is not installed.
        SecurityLevelsBridgeMissing,
        /// Zone discovery does not know the API user.
        ZoneNotFound,
        /// The zone is not an Autotask host (`https://webservices*.autotask.net`) nor one the
        /// operator allowed in `[psa] extra_zone_hosts`: the credentials are not sent there.
        ZoneNotAllowed,
        /// The tenant's PSA settings are incomplete or unusable (missing credentials, an
        /// unreadable directory file).
        SettingsInvalid,
    }
}

impl PsaMisconfiguration {
    /// What an administrator should do about it, in one sentence.
    pub const fn advice(self) -> &'static str {
        match self {
            Self::BadCredentials => {
                "Autotask refused the API user name or secret: enter the API-only user's \
                 current user name and secret in Settings."
            }
            Self::BadIntegrationCode => {
                "Autotask refused the API integration code: copy the API tracking identifier \
                 of the API-only user into Settings."
            }
            Self::SecurityLevelsBridgeMissing => {
                "The SecurityLevels entity is missing: install the PSA-side bridge described \
                 in the README (Autotask's public API has no security levels)."
            }
            Self::ZoneNotFound => {
                "Autotask's zone discovery does not know this API user: check the API user \
                 name in Settings."
            }
            Self::ZoneNotAllowed => {
                "The zone is not an Autotask web-services host: use \
                 https://webservicesN.autotask.net, or ask the operator to allow the host in \
                 [psa] extra_zone_hosts."
            }
            Self::SettingsInvalid => {
                "The PSA settings are incomplete or unusable: the operator must fix the \
                 tenant's PSA configuration."
            }
        }
    }
}

wire_enum! {
    /// One step of `POST /api/v1/psa/test`, in the order they run.
    pub enum PsaTestStep {
        /// Finding the Autotask zone of the API user (or checking the configured one).
        ZoneDiscovery,
        /// An authenticated call: the API user, secret and integration code.
        Credentials,
        /// Reading resources (the people who sign in), with their `securityLevelID`.
        Resources,
        /// Reading the security levels from the bridge's `SecurityLevels` entity.
        SecurityLevels,
    }
}

impl PsaTestStep {
    /// How the console labels the step.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ZoneDiscovery => "Zone discovery",
            Self::Credentials => "Credentials",
            Self::Resources => "Resources",
            Self::SecurityLevels => "Security levels",
        }
    }
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PsaTestStepResult {
    pub step: PsaTestStep,
    /// Whether the step succeeded.
    pub ok: bool,
    /// What happened, in a sentence a person can act on.
    pub detail: String,
    /// When the step failed for good: why (the same codes as `psa_misconfigured`);
    /// `null` when it passed or failed for a passing reason (an outage).
    #[serde(default)]
    pub reason: Option<PsaMisconfiguration>,
}

/// The answer of `POST /api/v1/psa/test`. Steps after a failed one are not run, so they are
/// not listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "ok": false,
    "steps": [
        {"step": "zone_discovery", "ok": true, "detail": "Autotask placed the API user in the zone https://webservices14.autotask.net/ATServicesRest/v1.0/.", "reason": null},
        {"step": "credentials", "ok": true, "detail": "Autotask accepted the API user, secret and integration code.", "reason": null},
        {"step": "resources", "ok": true, "detail": "Resources can be read, with their security level.", "reason": null},
        {"step": "security_levels", "ok": false, "detail": "The SecurityLevels entity is missing: install the PSA-side bridge described in the README (Autotask's public API has no security levels).", "reason": "security_levels_bridge_missing"}
    ]
})))]
pub struct PsaTestReport {
    /// Every step passed.
    pub ok: bool,
    pub steps: Vec<PsaTestStepResult>,
}
