//! The OIDC settings form's values checked with the server's own field rules (`oidc.issuer`,
//! `oidc.client_secret`, …, the same fields a 422 names), and the change they make.

use super::*;
use hubkeep_shared::api::{OidcSettings, UpdateOidc};
use hubkeep_shared::fields::{
    EmailDomain, FieldErrors, FieldRule, MAX_ALLOWED_EMAIL_DOMAINS, OidcClaimName, OidcClientId,
    OidcClientSecret, OidcIssuer,
};
use hubkeep_shared::{Problem, ProblemCode};

/// The form's fields, as typed.
#[derive(Debug, Clone, Copy)]
pub(super) struct OidcInputs {
    pub(super) issuer: RwSignal<String>,
    pub(super) client_id: RwSignal<String>,
    pub(super) client_secret: RwSignal<String>,
    pub(super) label: RwSignal<String>,
    pub(super) email_claim: RwSignal<String>,
    /// One per line, or separated by commas.
    pub(super) domains: RwSignal<String>,
    pub(super) require_verified: RwSignal<bool>,
}

impl OidcInputs {
    pub(super) fn new(current: Option<&OidcSettings>) -> Self {
        let text =
            |f: fn(&OidcSettings) -> String| RwSignal::new(current.map(f).unwrap_or_default());
        Self {
            issuer: text(|c| c.issuer.clone()),
            client_id: text(|c| c.client_id.clone()),
            client_secret: RwSignal::new(String::new()),
            label: text(|c| c.label.clone()),
            email_claim: text(|c| c.email_claim.clone()),
            domains: text(|c| c.allowed_email_domains.join("\n")),
            require_verified: RwSignal::new(current.is_none_or(|c| c.require_email_verified)),
        }
    }
}

/// The form's values once the server's rules accept them.
struct Checked {
    issuer: String,
    client_id: String,
    /// `None`: keep the stored one.
    client_secret: Option<String>,
    /// `None`: unchanged (or, when turning OIDC on, the server's default).
    label: Option<String>,
    email_claim: Option<String>,
    domains: Vec<String>,
    require_verified: bool,
}

/// Applies the server's rules to the form; the refusals by field (`oidc.issuer`, …).
fn check(i: &OidcInputs, current: Option<&OidcSettings>) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::new();
    let issuer = errors
        .check::<OidcIssuer>("oidc.issuer", &i.issuer.get_untracked())
        .map(String::from);
    let client_id = errors
        .check::<OidcClientId>("oidc.client_id", &i.client_id.get_untracked())
        .map(String::from);
    let secret = i.client_secret.get_untracked();
    let client_secret = if secret.trim().is_empty() {
        None
    } else {
        errors
            .check::<OidcClientSecret>("oidc.client_secret", &secret)
            .map(String::from)
    };
    let label = optional::<ShortName>(&mut errors, "oidc.label", &i.label.get_untracked());
    let email_claim = optional::<OidcClaimName>(
        &mut errors,
        "oidc.email_claim",
        &i.email_claim.get_untracked(),
    );
    let domains = domains(&mut errors, &i.domains.get_untracked());
    if secret.trim().is_empty()
        && let Some(message) = secret_needed(current, issuer.as_deref(), client_id.as_deref())
    {
        errors.add("oidc.client_secret", message);
    }
    match (issuer, client_id) {
        (Some(issuer), Some(client_id)) if errors.is_empty() => Ok(Checked {
            issuer,
            client_id,
            client_secret,
            label,
            email_claim,
            domains,
            require_verified: i.require_verified.get_untracked(),
        }),
        _ => Err(errors),
    }
}

/// Why the client secret must be sent, when the form leaves it empty: turning OIDC on, or a
/// new issuer or client id (a stored secret only goes to the provider it was entered for).
fn secret_needed(
    current: Option<&OidcSettings>,
    issuer: Option<&str>,
    client_id: Option<&str>,
) -> Option<&'static str> {
    match current {
        None => Some("is required to enable OpenID Connect sign-in"),
        Some(c)
            if issuer.is_some_and(|v| v != c.issuer)
                || client_id.is_some_and(|v| v != c.client_id) =>
        {
            Some("send the client secret again with a new issuer or client id")
        }
        Some(_) => None,
    }
}

/// An optional field: empty leaves it to the server (unchanged, or its default).
fn optional<T: FieldRule + Into<String>>(
    errors: &mut FieldErrors,
    field: &str,
    raw: &str,
) -> Option<String> {
    if raw.trim().is_empty() {
        None
    } else {
        errors.check::<T>(field, raw).map(Into::into)
    }
}

/// The allowed domains: one per line or separated by commas, each by the domain rule.
fn domains(errors: &mut FieldErrors, raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let entries = raw
        .split([',', ';', '\n', '\r', ' ', '\t'])
        .filter(|d| !d.trim().is_empty());
    for (n, entry) in entries.enumerate() {
        let field = format!("oidc.allowed_email_domains.{n}");
        if let Some(d) = errors.check::<EmailDomain>(&field, entry).map(String::from)
            && !out.contains(&d)
        {
            out.push(d);
        }
    }
    if out.len() > MAX_ALLOWED_EMAIL_DOMAINS {
        errors.add(
            "oidc.allowed_email_domains",
            format!("at most {MAX_ALLOWED_EMAIL_DOMAINS} domains"),
        );
    }
    out
}

/// The change the form asks for, or the refusals of its fields.
pub(super) fn oidc_update(
    inputs: &OidcInputs,
    current: Option<&OidcSettings>,
) -> Result<UpdateOidc, FieldErrors> {
    check(inputs, current).map(|v| changes(v, current))
}

/// What differs from the stored settings (everything, when turning OIDC on).
fn changes(v: Checked, current: Option<&OidcSettings>) -> UpdateOidc {
    let differs = |new: &str, old: fn(&OidcSettings) -> &str| current.is_none_or(|c| old(c) != new);
    UpdateOidc {
        issuer: differs(&v.issuer, |c| &c.issuer).then(|| v.issuer.clone()),
        client_id: differs(&v.client_id, |c| &c.client_id).then(|| v.client_id.clone()),
        client_secret: v.client_secret,
        label: v.label.filter(|l| differs(l, |c| &c.label)),
        email_claim: v.email_claim.filter(|e| differs(e, |c| &c.email_claim)),
        allowed_email_domains: current
            .map_or(!v.domains.is_empty(), |c| {
                c.allowed_email_domains != v.domains
            })
            .then_some(v.domains),
        require_email_verified: current
            .map_or(!v.require_verified, |c| {
                c.require_email_verified != v.require_verified
            })
            .then_some(v.require_verified),
    }
}

pub(super) fn changes_nothing(u: &UpdateOidc) -> bool {
    u.issuer.is_none()
        && u.client_id.is_none()
        && u.client_secret.is_none()
        && u.label.is_none()
        && u.email_claim.is_none()
        && u.allowed_email_domains.is_none()
        && u.require_email_verified.is_none()
}

/// The form's refusals as the server would answer them (a 422 with `errors`).
pub(super) fn refused(errors: FieldErrors) -> ClientError {
    let mut problem = Problem::new(
        ProblemCode::ValidationFailed,
        "Sign-in with OpenID Connect was not saved.",
    );
    problem.errors = errors.into_vec();
    ClientError::Problem(problem)
}

/// The messages of `field`, and of its entries (`field.N`), in a refused save.
pub(super) fn messages_for(error: &Option<ClientError>, field: &str) -> Option<String> {
    let Some(ClientError::Problem(p)) = error else {
        return None;
    };
    let lines: Vec<String> = p
        .errors
        .iter()
        .filter_map(|e| {
            if e.field == field {
                return Some(e.message.clone());
            }
            let entry = e.field.strip_prefix(field)?.strip_prefix('.')?;
            Some(match entry.parse::<usize>() {
                Ok(n) => format!("entry {}: {}", n + 1, e.message),
                Err(_) => e.message.clone(),
            })
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}
