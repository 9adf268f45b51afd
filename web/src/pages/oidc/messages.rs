//! What a refused sign-in means, in the words of the person who tried: the server sends the
//! browser back to `/t/{slug}?error=<problem code>[&reason=<provider error>]`, and this page
//! says what happened and what to do, never just the code.

use hubkeep_shared::ProblemCode;

/// The sentence for `?error=code&reason=…`; `label` names the identity provider.
pub(super) fn failure_text(code: &str, reason: Option<&str>, label: &str) -> String {
    let Ok(known) = code.parse::<ProblemCode>() else {
        return match code_like(code) {
            Some(code) => format!("The sign-in did not complete ({code}). Try again."),
            None => "The sign-in did not complete. Try again.".to_owned(),
        };
    };
    match known {
        ProblemCode::OidcRejected => provider_refusal(reason, label),
        ProblemCode::EmailNotVerified => format!(
            "{label} has not verified your email address, and this hub only accepts verified addresses. Verify it at {label}, then sign in again."
        ),
        ProblemCode::EmailDomainNotAllowed => "Your email address is not in a domain this hub accepts. Sign in with your work account, or ask your administrator which domains are allowed.".to_owned(),
        ProblemCode::PsaResourceNotFound => "No person in the PSA has your email address, so Hubkeep cannot tell who you are. Ask your administrator to add your email address to your resource in the PSA.".to_owned(),
        ProblemCode::PsaResourceAmbiguous => "Several people in the PSA have your email address, so Hubkeep cannot tell which one you are. Ask your administrator to correct the PSA's records.".to_owned(),
        ProblemCode::IdentityProviderUnavailable => format!(
            "{label} could not be reached or did not answer as expected. Nothing was changed; try again in a few minutes."
        ),
        other => launch_refusal(other, code),
    }
}

/// `oidc_rejected`: the provider said no, or its answer failed a check.
fn provider_refusal(reason: Option<&str>, label: &str) -> String {
    match reason {
        Some(
            "login_required"
            | "interaction_required"
            | "consent_required"
            | "account_selection_required",
        ) => {
            format!("Your session at {label} has ended. Sign in again.")
        }
        Some("access_denied") => {
            format!("{label} did not let you sign in (or the sign-in was cancelled). Try again.")
        }
        Some(other) => match code_like(other) {
            Some(error) => {
                format!(
                    "{label} refused the sign-in ({error}). Try again, or ask your administrator."
                )
            }
            None => format!("{label} refused the sign-in. Try again, or ask your administrator."),
        },
        None => format!("The sign-in with {label} did not complete or has expired. Try again."),
    }
}

/// The refusals a PSA launch can meet too: the person was found, but the hub says no.
fn launch_refusal(code: ProblemCode, raw: &str) -> String {
    match code {
        ProblemCode::UserInactive => "Your hub access has been turned off. Ask an administrator of the hub.".to_owned(),
        ProblemCode::AccessNotEligible => "The PSA does not let you use the hub: your resource or its security level is inactive, or the level may not open the hub. Ask your administrator.".to_owned(),
        ProblemCode::PrimaryRequiresElevation => "The first person to sign in to this hub must have a security level eligible for elevated access. Ask your administrator to sign in first.".to_owned(),
        ProblemCode::PsaUnavailable | ProblemCode::ServiceUnavailable => "The hub could not check your access in the PSA just now. Nothing was changed; try again in a few minutes.".to_owned(),
        ProblemCode::RateLimited => "Too many sign-in attempts. Wait a minute, then try again.".to_owned(),
        other => format!("{}. Try again, or ask your administrator ({raw}).", other.title()),
    }
}

/// `raw` when it reads as an error code (`invalid_request`): anything else in the address may
/// have been written by whoever made the link, and is not repeated to the person.
fn code_like(raw: &str) -> Option<&str> {
    let ok =
        (1..=60).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    ok.then_some(raw)
}
