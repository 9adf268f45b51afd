//! The `oidc` block of the tenant settings (SPEC S13): validated with the shared field rules,
//! the client secret write-only and sealed, and bound to its provider — a new issuer or
//! client id without the secret sent again is refused (`credentials_required`), so a stored
//! secret is never sent to a provider it was not entered for.

use hubkeep_shared::FieldError;
use hubkeep_shared::api::{OidcSettings, UpdateOidc};
use hubkeep_shared::fields::{
    EmailDomain, FieldErrors, Label, MAX_ALLOWED_EMAIL_DOMAINS, OidcClaimName, OidcClientId,
    OidcClientSecret, OidcIssuer,
};
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, DatabaseTransaction, EntityTrait as _};
use serde_json::{Map, Value, json};

use crate::db::entities::tenant_oidc;
use crate::db::{Keyring, SecretColumn, SecretText};
use crate::error::ApiError;

/// What anyone in the hub may read of the tenant's OIDC settings.
pub fn view(row: &tenant_oidc::Model, redirect_uri: Option<String>) -> OidcSettings {
    OidcSettings {
        issuer: row.issuer.clone(),
        client_id: row.client_id.clone(),
        client_secret_set: !row.client_secret.is_empty(),
        label: row.label.clone(),
        email_claim: row.email_claim.clone(),
        allowed_email_domains: row.domains(),
        require_email_verified: row.require_email_verified,
        redirect_uri,
    }
}

/// The OIDC settings an update leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcValues {
    pub issuer: String,
    pub client_id: String,
    /// `None`: the stored secret stays.
    pub client_secret: Option<SecretText>,
    pub label: String,
    pub email_claim: String,
    pub domains: Vec<String>,
    pub require_email_verified: bool,
}

/// What an update does to the OIDC settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcChange {
    /// Turn OIDC sign-in off and forget the secret.
    Remove,
    Set(OidcValues),
}

/// Validates `input` against the stored row. Field errors go to `errors`; a changed issuer
/// or client id without a new secret goes to `missing`.
pub fn apply(
    errors: &mut FieldErrors,
    missing: &mut Vec<FieldError>,
    allow_http: bool,
    current: Option<&tenant_oidc::Model>,
    input: Option<UpdateOidc>,
) -> Option<OidcChange> {
    let Some(input) = input else {
        return current.map(|_| OidcChange::Remove);
    };
    let issuer = match input.issuer.as_deref() {
        Some(raw) => issuer(errors, raw, allow_http),
        None => required(errors, "oidc.issuer", current.map(|c| c.issuer.clone())),
    };
    let client_id = match input.client_id.as_deref() {
        Some(raw) => errors
            .check::<OidcClientId>("oidc.client_id", raw)
            .map(String::from),
        None => required(
            errors,
            "oidc.client_id",
            current.map(|c| c.client_id.clone()),
        ),
    };
    let client_secret = secret(errors, missing, current, (&issuer, &client_id), &input);
    let (issuer, client_id) = (issuer?, client_id?);
    let label = match input.label.as_deref() {
        Some(raw) => errors.check::<Label<100>>("oidc.label", raw)?.into_string(),
        None => current.map_or_else(|| host_of(&issuer), |c| c.label.clone()),
    };
    let email_claim = match input.email_claim.as_deref() {
        Some(raw) => errors
            .check::<OidcClaimName>("oidc.email_claim", raw)?
            .into_string(),
        None => current.map_or_else(|| "email".to_owned(), |c| c.email_claim.clone()),
    };
    let domains = match input.allowed_email_domains {
        Some(list) => domains(errors, list)?,
        None => current.map(tenant_oidc::Model::domains).unwrap_or_default(),
    };
    Some(OidcChange::Set(OidcValues {
        issuer,
        client_id,
        client_secret,
        label,
        email_claim,
        domains,
        require_email_verified: input
            .require_email_verified
            .or(current.map(|c| c.require_email_verified))
            .unwrap_or(true),
    }))
}

/// A new issuer: the issuer rule, and `https://` unless the operator allows plain http.
fn issuer(errors: &mut FieldErrors, raw: &str, allow_http: bool) -> Option<String> {
    let issuer = errors.check::<OidcIssuer>("oidc.issuer", raw)?;
    if issuer.is_plain_http() && !allow_http {
        errors.add("oidc.issuer", "must be an https:// URL");
        return None;
    }
    Some(issuer.into_string())
}

/// The new client secret, if one was sent; a missing one where it is needed is an error
/// (enabling) or goes to `missing` (a new, valid issuer or client id).
fn secret(
    errors: &mut FieldErrors,
    missing: &mut Vec<FieldError>,
    current: Option<&tenant_oidc::Model>,
    (issuer, client_id): (&Option<String>, &Option<String>),
    input: &UpdateOidc,
) -> Option<SecretText> {
    if let Some(raw) = input.client_secret.as_deref() {
        return errors
            .check::<OidcClientSecret>("oidc.client_secret", raw)
            .map(|secret| SecretText::new(secret.into_string()));
    }
    match current {
        None => errors.add(
            "oidc.client_secret",
            "is required to enable OpenID Connect sign-in",
        ),
        // Only a valid new destination needs the secret again (an invalid one is a 422 of
        // its own field).
        Some(c)
            if issuer.as_ref().is_some_and(|i| *i != c.issuer)
                || client_id.as_ref().is_some_and(|id| *id != c.client_id) =>
        {
            missing.push(FieldError {
                field: "oidc.client_secret".to_owned(),
                message: "send the client secret again with a new issuer or client id".to_owned(),
            });
        }
        Some(_) => {}
    }
    None
}

fn required(errors: &mut FieldErrors, field: &str, stored: Option<String>) -> Option<String> {
    if stored.is_none() {
        errors.add(field, "is required to enable OpenID Connect sign-in");
    }
    stored
}

fn domains(errors: &mut FieldErrors, list: Vec<String>) -> Option<Vec<String>> {
    if list.len() > MAX_ALLOWED_EMAIL_DOMAINS {
        errors.add(
            "oidc.allowed_email_domains",
            format!("at most {MAX_ALLOWED_EMAIL_DOMAINS} domains"),
        );
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (i, raw) in list.iter().enumerate() {
        match errors.check::<EmailDomain>(&format!("oidc.allowed_email_domains.{i}"), raw) {
            Some(d) if !out.contains(&d.as_str().to_owned()) => out.push(d.into_string()),
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The issuer's host, the default label.
fn host_of(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "your identity provider".to_owned())
}

/// Whether the change changes anything, noting what in `changes` (the secret as `***`).
pub fn note(
    changes: &mut Map<String, Value>,
    current: Option<&tenant_oidc::Model>,
    change: &OidcChange,
) -> bool {
    let before = current.map(|c| {
        json!({
            "issuer": c.issuer, "client_id": c.client_id, "label": c.label,
            "email_claim": c.email_claim, "allowed_email_domains": c.domains(),
            "require_email_verified": c.require_email_verified,
        })
    });
    let after = match change {
        OidcChange::Remove => None,
        OidcChange::Set(v) => Some(json!({
            "issuer": v.issuer, "client_id": v.client_id, "label": v.label,
            "email_claim": v.email_claim, "allowed_email_domains": v.domains,
            "require_email_verified": v.require_email_verified,
        })),
    };
    let new_secret = matches!(change, OidcChange::Set(v) if v.client_secret.is_some());
    if before == after && !new_secret {
        return false;
    }
    let mut entry = json!({ "before": before, "after": after });
    if new_secret {
        entry["client_secret"] = json!("***");
    }
    changes.insert("oidc".to_owned(), entry);
    true
}

/// Writes the change: deletes the row, or inserts or updates it (sealing a new secret).
pub async fn write(
    txn: &DatabaseTransaction,
    secrets: &Keyring,
    tenant_id: &str,
    current: Option<tenant_oidc::Model>,
    change: OidcChange,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let values = match change {
        OidcChange::Remove => {
            tenant_oidc::Entity::delete_by_id(tenant_id.to_owned())
                .exec(txn)
                .await?;
            return Ok(());
        }
        OidcChange::Set(values) => values,
    };
    let sealed = values
        .client_secret
        .as_ref()
        .map(|s| secrets.seal(SecretColumn::OidcClientSecret, tenant_id, s));
    let domains = serde_json::to_string(&values.domains).map_err(anyhow::Error::from)?;
    match current {
        Some(row) => {
            let mut active: tenant_oidc::ActiveModel = row.into();
            if let Some(sealed) = sealed {
                active.client_secret = Set(sealed);
            }
            active.issuer = Set(values.issuer);
            active.client_id = Set(values.client_id);
            active.label = Set(values.label);
            active.email_claim = Set(values.email_claim);
            active.allowed_email_domains = Set(domains);
            active.require_email_verified = Set(values.require_email_verified);
            active.updated_at = Set(now);
            active.update(txn).await?;
        }
        None => {
            let sealed = sealed.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a new OIDC setting without a secret"))
            })?;
            tenant_oidc::ActiveModel {
                tenant_id: Set(tenant_id.to_owned()),
                issuer: Set(values.issuer),
                client_id: Set(values.client_id),
                client_secret: Set(sealed),
                label: Set(values.label),
                email_claim: Set(values.email_claim),
                allowed_email_domains: Set(domains),
                require_email_verified: Set(values.require_email_verified),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}
