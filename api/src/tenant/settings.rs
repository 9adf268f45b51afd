//! Tenant settings (SPEC S6): defaults, the PSA connection, the launch secret and the
//! accounting mappings.
//!
//! Secrets (the Autotask integration code and secret, the launch secret) are write-only:
//! they go into the database and never come back out, not in a response, not in the
//! activity log (which shows `"***"` for a secret that changed), not in a log line.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use hubkeep_shared::fields::{FieldErrors, ShortName, TimezoneName};
use hubkeep_shared::{FieldError, HubAccess, ProblemCode};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value, json};

use crate::activity::{self, Target, actions};
use crate::db::{
    self, Keyring, SealError, SecretColumn, SecretText,
    entities::{accounting_mappings, psa_settings, tenant_oidc, tenant_settings, tenants},
};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::psa::zone::{ZoneError, ZonePolicy};
use crate::tenant::oidc_settings;
pub use hubkeep_shared::api::settings::{
    AccountingMapping, LaunchSecret, PsaProvider, PsaSettings, Settings, UpdatePsa, UpdateSettings,
};

pub const INVITATION_EXPIRY_DAYS: std::ops::RangeInclusive<i64> = 1..=30;
pub const SESSION_LIFETIME_HOURS: std::ops::RangeInclusive<i64> = 1..=168;
const MAX_CODE_CHARS: usize = 64;
const MAX_DESCRIPTION_CHARS: usize = 200;
/// A settings page, not a chart of accounts: a bound keeps one request from writing
/// unbounded rows.
const MAX_MAPPINGS: usize = 1000;
const MAX_CREDENTIAL_CHARS: usize = 500;
const MAX_PATH_CHARS: usize = 1000;
/// How a changed secret appears in the activity log.
const MASK: &str = "***";

struct Rows {
    tenant: tenants::Model,
    settings: tenant_settings::Model,
    psa: psa_settings::Model,
    mappings: Vec<accounting_mappings::Model>,
    oidc: Option<tenant_oidc::Model>,
}

fn missing(what: &str, tenant_id: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("tenant {tenant_id} has no {what} row"))
}

async fn rows(db: &impl ConnectionTrait, tenant_id: &str, lock: bool) -> Result<Rows, ApiError> {
    let mut settings = tenant_settings::Entity::find_by_id(tenant_id);
    if lock {
        // Serializes concurrent edits of one tenant on PostgreSQL (SQLite has a single
        // writer anyway, and sea-query leaves the clause out there).
        settings = settings.lock_exclusive();
    }
    let settings = settings
        .one(db)
        .await?
        .ok_or_else(|| missing("tenant_settings", tenant_id))?;
    let psa = psa_settings::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .ok_or_else(|| missing("psa_settings", tenant_id))?;
    let mappings = accounting_mappings::Entity::find()
        .filter(accounting_mappings::Column::TenantId.eq(tenant_id))
        .order_by_asc(accounting_mappings::Column::Position)
        .order_by_asc(accounting_mappings::Column::Id)
        .all(db)
        .await?;
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .ok_or_else(|| missing("tenants", tenant_id))?;
    let oidc = tenant_oidc::Entity::find_by_id(tenant_id).one(db).await?;
    Ok(Rows {
        tenant,
        settings,
        psa,
        mappings,
        oidc,
    })
}

/// Where the view's facts come from besides the rows.
#[derive(Debug)]
pub struct ViewContext {
    /// The caller's hub access.
    pub access: HubAccess,
    /// The redirect URI to register at an OpenID provider.
    pub redirect_uri: Option<String>,
}

fn view(rows: &Rows, context: &ViewContext) -> Result<Settings, ApiError> {
    // Limited users see how the hub is wired, not where on the server its files live or
    // which PSA account it signs in with.
    let elevated = context.access == HubAccess::Elevated;
    let psa = &rows.psa;
    Ok(Settings {
        default_timezone: rows.settings.default_timezone.clone(),
        invitation_expiry_days: rows.settings.invitation_expiry_days,
        session_lifetime_hours: rows.settings.session_lifetime_hours,
        psa: PsaSettings {
            provider: psa.provider,
            directory_path: psa.directory_path.clone().filter(|_| elevated),
            zone_url: psa.autotask_zone_url.clone(),
            api_user: psa.autotask_api_user.clone().filter(|_| elevated),
            integration_code_set: psa.autotask_integration_code.is_some(),
            secret_set: psa.autotask_secret.is_some(),
            launch_secret_rotated_at: psa.launch_secret_rotated_at,
        },
        slug: rows.tenant.slug.clone(),
        oidc: rows
            .oidc
            .as_ref()
            .map(|o| oidc_settings::view(o, context.redirect_uri.clone())),
        accounting_mappings: rows.mappings.iter().map(mapping_of).collect(),
        email_sender_name: rows.settings.email_sender_name.clone(),
        updated_at: rows.settings.updated_at,
    })
}

fn mapping_of(row: &accounting_mappings::Model) -> AccountingMapping {
    AccountingMapping {
        source_code: row.source_code.clone(),
        account_code: row.account_code.clone(),
        description: row.description.clone(),
    }
}

/// The caller's view of their tenant's settings.
pub async fn get(
    db: &impl ConnectionTrait,
    caller: &Caller,
    redirect_uri: Option<String>,
) -> Result<Settings, ApiError> {
    let context = ViewContext {
        access: caller.access_level(),
        redirect_uri,
    };
    view(&rows(db, &caller.tenant_id, false).await?, &context)
}

/// What an update needs besides the request: the operator's policies and the keys.
#[derive(Debug)]
pub struct UpdateContext<'a> {
    pub zones: &'a ZonePolicy,
    pub secrets: &'a Keyring,
    /// `[oidc] allow_http`.
    pub allow_http_issuers: bool,
    pub redirect_uri: Option<String>,
}

/// Collects field errors so one response lists every problem of a request (the shared
/// collector the console's forms use too).
type Errors = FieldErrors;

/// A trimmed text of 1..=max characters, or an error on `field`.
fn text(errors: &mut Errors, field: &str, value: &str, max: usize) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        errors.add(field, format!("must be 1 to {max} characters"));
        None
    } else {
        Some(value.to_owned())
    }
}

fn in_range(
    errors: &mut Errors,
    field: &str,
    value: i64,
    range: &std::ops::RangeInclusive<i64>,
) -> Option<i32> {
    match i32::try_from(value) {
        Ok(v) if range.contains(&value) => Some(v),
        _ => {
            errors.add(
                field,
                format!("must be between {} and {}", range.start(), range.end()),
            );
            None
        }
    }
}

fn timezone(errors: &mut Errors, value: &str) -> Option<String> {
    errors
        .check::<TimezoneName>("default_timezone", value)
        .map(String::from)
}

fn zone_url(errors: &mut Errors, zones: &ZonePolicy, value: &str) -> Option<String> {
    let value = value.trim();
    if value.chars().count() > MAX_PATH_CHARS {
        errors.add(
            "psa.zone_url",
            format!("must be at most {MAX_PATH_CHARS} characters"),
        );
        return None;
    }
    match zones.rest_base(value) {
        Ok(_) => Some(value.trim_end_matches('/').to_owned()),
        Err(ZoneError::Invalid(_)) => {
            errors.add(
                "psa.zone_url",
                "must be the zone's https:// URL, such as \
                 https://webservices14.autotask.net/ATServicesRest/",
            );
            None
        }
        Err(e @ ZoneError::NotAllowed(_)) => {
            errors.add("psa.zone_url", e.to_string());
            None
        }
    }
}

/// An optional text value: absent → unchanged, `null` → cleared, text → validated (an
/// invalid text keeps the current value so that later checks do not pile on).
fn nullable<T: Clone>(
    errors: &mut Errors,
    value: Option<Option<String>>,
    check: impl FnOnce(&mut Errors, &str) -> Option<T>,
    current: &Option<T>,
) -> Option<T> {
    match value {
        None => current.clone(),
        Some(None) => None,
        Some(Some(v)) => check(errors, &v).or_else(|| current.clone()),
    }
}

/// The PSA settings after applying `input`, or field errors. `missing_credentials` lists
/// the credential fields a change of destination needed and did not get (SPEC S11).
fn apply_psa(
    errors: &mut Errors,
    missing_credentials: &mut Vec<FieldError>,
    zones: &ZonePolicy,
    current: &psa_settings::Model,
    old: &PsaValues,
    input: UpdatePsa,
) -> PsaValues {
    let provider = input.provider.unwrap_or(current.provider);
    // Stored credentials never follow a new destination unless they are sent with it;
    // sending `null` (clearing them) also satisfies this, since nothing is then sent.
    let stored = current.autotask_integration_code.is_some() || current.autotask_secret.is_some();
    if stored && destination_changed(zones, current, provider, &input) {
        missing_credentials.extend(unsent_credentials(&input));
    }
    let zone = nullable(
        errors,
        input.zone_url,
        |e, v| zone_url(e, zones, v),
        &current.autotask_zone_url,
    );
    let api_user = nullable(
        errors,
        input.api_user,
        |e, v| text(e, "psa.api_user", v, MAX_CREDENTIAL_CHARS),
        &current.autotask_api_user,
    );
    let code = nullable(
        errors,
        input.integration_code,
        |e, v| text(e, "psa.integration_code", v, MAX_CREDENTIAL_CHARS).map(SecretText::new),
        &old.integration_code,
    );
    let secret = nullable(
        errors,
        input.secret,
        |e, v| text(e, "psa.secret", v, MAX_CREDENTIAL_CHARS).map(SecretText::new),
        &old.secret,
    );
    let values = PsaValues {
        provider,
        directory_path: current.directory_path.clone(),
        zone_url: zone,
        api_user,
        integration_code: code,
        secret,
    };
    check_provider(errors, current, &values);
    values
}

/// Whether `input` moves the tenant to another provider, zone or API user.
fn destination_changed(
    zones: &ZonePolicy,
    current: &psa_settings::Model,
    provider: PsaProvider,
    input: &UpdatePsa,
) -> bool {
    // Compared as they will be used: the zone by the REST base it normalises to, the API
    // user as stored (trimmed).
    let zone_of = |v: &str| {
        zones
            .rest_base(v)
            .map_or_else(|_| v.trim().to_owned(), |u| u.to_string())
    };
    let user_of = |v: &str| v.trim().to_owned();
    let changes =
        |new: &Option<Option<String>>, old: &Option<String>, key: &dyn Fn(&str) -> String| {
            new.as_ref()
                .is_some_and(|new| new.as_deref().map(key) != old.as_deref().map(key))
        };
    provider != current.provider
        || changes(&input.zone_url, &current.autotask_zone_url, &zone_of)
        || changes(&input.api_user, &current.autotask_api_user, &user_of)
}

/// The credential fields a change of destination needs and `input` did not send.
fn unsent_credentials(input: &UpdatePsa) -> Vec<FieldError> {
    [
        ("psa.integration_code", input.integration_code.is_some()),
        ("psa.secret", input.secret.is_some()),
    ]
    .into_iter()
    .filter(|(_, sent)| !sent)
    .map(|(field, _)| FieldError {
        field: field.to_owned(),
        message: "must be sent again when the provider, zone or API user changes".to_owned(),
    })
    .collect()
}

/// Checks that the chosen provider can work: Autotask credentials set, a directory file known.
fn check_provider(errors: &mut Errors, current: &psa_settings::Model, values: &PsaValues) {
    if values.provider == PsaProvider::Autotask {
        for (field, set) in [
            ("psa.api_user", values.api_user.is_some()),
            ("psa.integration_code", values.integration_code.is_some()),
            ("psa.secret", values.secret.is_some()),
        ] {
            if !set && !errors.has(field) {
                errors.add(field, "is required for the autotask provider");
            }
        }
    }
    if values.provider == PsaProvider::Directory
        && current.provider != PsaProvider::Directory
        && current.directory_path.is_none()
    {
        errors.add(
            "psa.provider",
            "the operator must set a directory file first (hubkeep tenant set-directory)",
        );
    }
}

#[derive(PartialEq, Eq)]
struct PsaValues {
    provider: PsaProvider,
    directory_path: Option<String>,
    zone_url: Option<String>,
    api_user: Option<String>,
    integration_code: Option<SecretText>,
    secret: Option<SecretText>,
}

impl PsaValues {
    /// The values as `row` stores them (the secrets opened), to compare an update with.
    fn stored(row: &psa_settings::Model, secrets: &Keyring) -> Result<Self, SealError> {
        let (integration_code, secret) = secrets.autotask_credentials(row)?;
        Ok(Self {
            provider: row.provider,
            directory_path: row.directory_path.clone(),
            zone_url: row.autotask_zone_url.clone(),
            api_user: row.autotask_api_user.clone(),
            integration_code,
            secret,
        })
    }
}

fn mappings(errors: &mut Errors, input: Vec<AccountingMapping>) -> Vec<AccountingMapping> {
    if input.len() > MAX_MAPPINGS {
        errors.add(
            "accounting_mappings",
            format!("at most {MAX_MAPPINGS} mappings"),
        );
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(input.len());
    for (i, m) in input.into_iter().enumerate() {
        let field = |name: &str| format!("accounting_mappings.{i}.{name}");
        let source = text(
            errors,
            &field("source_code"),
            &m.source_code,
            MAX_CODE_CHARS,
        );
        let account = text(
            errors,
            &field("account_code"),
            &m.account_code,
            MAX_CODE_CHARS,
        );
        let description = m.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.add(
                field("description"),
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        if let Some(source) = &source
            && !seen.insert(source.clone())
        {
            errors.add(
                field("source_code"),
                "appears more than once; source codes are unique",
            );
        }
        if let (Some(source_code), Some(account_code)) = (source, account) {
            out.push(AccountingMapping {
                source_code,
                account_code,
                description,
            });
        }
    }
    out
}

/// Records `before → after` for a changed field.
fn change(changes: &mut Map<String, Value>, field: &str, before: Value, after: Value) {
    if before != after {
        changes.insert(
            field.to_owned(),
            json!({ "before": before, "after": after }),
        );
    }
}

/// A secret as the log shows it: whether it is set, never what it is.
fn masked<T>(value: Option<&T>) -> Value {
    value.map_or(Value::Null, |_| Value::from(MASK))
}

/// Applies an update in the handler's transaction with one `settings.updated` entry. A
/// request that changes nothing writes nothing (and logs nothing); an invalid one changes
/// nothing.
pub async fn update(
    txn: &DatabaseTransaction,
    context: UpdateContext<'_>,
    caller: &Caller,
    input: UpdateSettings,
) -> Result<Settings, ApiError> {
    let mut errors = Errors::new();
    let mut missing_credentials = Vec::new();
    let parsed = parse(&mut errors, input);
    let secrets = context.secrets;

    let current = rows(txn, &caller.tenant_id, true).await?;
    let old_psa = PsaValues::stored(&current.psa, secrets)?;
    let psa = parsed.psa.map(|p| {
        apply_psa(
            &mut errors,
            &mut missing_credentials,
            context.zones,
            &current.psa,
            &old_psa,
            p,
        )
    });
    let oidc = parsed.oidc.and_then(|o| {
        oidc_settings::apply(
            &mut errors,
            &mut missing_credentials,
            context.allow_http_issuers,
            current.oidc.as_ref(),
            o,
        )
    });
    refuse_invalid(errors, missing_credentials)?;

    let mut plan = compare(&current, &old_psa, &parsed.defaults, psa, parsed.mappings);
    let oidc =
        oidc.filter(|change| oidc_settings::note(&mut plan.changes, current.oidc.as_ref(), change));
    let view_context = ViewContext {
        access: caller.access_level(),
        redirect_uri: context.redirect_uri,
    };
    if plan.changes.is_empty() {
        // Nothing was written: the handler's commit only releases the lock.
        return view(&current, &view_context);
    }

    let now = db::now();
    write_defaults(txn, &current.settings, parsed.defaults, caller, now).await?;
    if let Some(new) = plan.psa {
        write_psa(txn, secrets, &current.psa, &old_psa, new, now).await?;
    }
    if let Some(new) = plan.mappings {
        write_mappings(txn, &caller.tenant_id, new).await?;
    }
    if let Some(change) = oidc {
        oidc_settings::write(
            txn,
            secrets,
            &caller.tenant_id,
            current.oidc.clone(),
            change,
            now,
        )
        .await?;
    }
    log_update(txn, caller, plan.changes).await?;
    view(&rows(txn, &caller.tenant_id, false).await?, &view_context)
}

/// The tenant defaults an update sets, each `None` when not sent (or invalid).
struct Defaults {
    timezone: Option<String>,
    expiry: Option<i32>,
    lifetime: Option<i32>,
    /// `Some(None)`: back to the operator's sender name.
    sender_name: Option<Option<String>>,
}

/// An update with the parts that need no stored row validated.
struct Parsed {
    defaults: Defaults,
    mappings: Option<Vec<AccountingMapping>>,
    psa: Option<UpdatePsa>,
    /// `Some(None)`: turn OIDC sign-in off.
    oidc: Option<Option<hubkeep_shared::api::UpdateOidc>>,
}

/// Validates the defaults and the mappings of `input` (the PSA part needs the stored row).
fn parse(errors: &mut Errors, input: UpdateSettings) -> Parsed {
    let tz = input
        .default_timezone
        .as_deref()
        .and_then(|v| timezone(errors, v));
    let expiry = input
        .invitation_expiry_days
        .and_then(|v| in_range(errors, "invitation_expiry_days", v, &INVITATION_EXPIRY_DAYS));
    let lifetime = input
        .session_lifetime_hours
        .and_then(|v| in_range(errors, "session_lifetime_hours", v, &SESSION_LIFETIME_HOURS));
    let new_mappings = input.accounting_mappings.map(|m| mappings(errors, m));
    let sender_name = match input.email_sender_name {
        None => None,
        Some(None) => Some(None),
        Some(Some(name)) => errors
            .check::<ShortName>("email_sender_name", &name)
            .map(|n| Some(n.into_string())),
    };
    Parsed {
        defaults: Defaults {
            timezone: tz,
            expiry,
            lifetime,
            sender_name,
        },
        mappings: new_mappings,
        psa: input.psa,
        oidc: input.oidc,
    }
}

/// Fails an invalid update: missing credentials first (with the field errors), then 422.
fn refuse_invalid(
    errors: Errors,
    mut missing_credentials: Vec<FieldError>,
) -> Result<(), ApiError> {
    if !missing_credentials.is_empty() {
        let detail = if missing_credentials
            .iter()
            .all(|e| e.field.starts_with("oidc."))
        {
            "The settings were not changed: the stored OpenID Connect client secret is only \
             used with the provider and client it was entered for. Send it again with the new \
             issuer or client id."
        } else {
            "The settings were not changed: the stored Autotask credentials are only \
             used with the destination they were entered for. Send the integration \
             code and the secret again with the new provider, zone or API user."
        };
        missing_credentials.extend(errors.into_vec());
        return Err(ApiError::Problem {
            code: ProblemCode::CredentialsRequired,
            detail: detail.to_owned(),
            errors: missing_credentials,
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(
            "The settings were not changed.",
            errors.into_vec(),
        ));
    }
    Ok(())
}

/// What a valid update changes: the logged details and the parts that need writing.
struct Plan {
    changes: Map<String, Value>,
    /// The new PSA values, only when they differ from the stored ones.
    psa: Option<PsaValues>,
    /// The new mappings, only when they differ from the stored ones.
    mappings: Option<Vec<AccountingMapping>>,
}

/// Compares a validated update with the stored rows.
fn compare(
    current: &Rows,
    old_psa: &PsaValues,
    defaults: &Defaults,
    psa: Option<PsaValues>,
    new_mappings: Option<Vec<AccountingMapping>>,
) -> Plan {
    let mut changes = Map::new();
    note_defaults(&mut changes, &current.settings, defaults);
    let psa = psa.filter(|new| new != old_psa);
    if let Some(new) = &psa {
        note_psa(&mut changes, old_psa, new);
    }
    let old_mappings: Vec<AccountingMapping> = current.mappings.iter().map(mapping_of).collect();
    let new_mappings = new_mappings.filter(|m| *m != old_mappings);
    if let Some(new) = &new_mappings {
        change(
            &mut changes,
            "accounting_mappings",
            json!(old_mappings),
            json!(new),
        );
    }
    Plan {
        changes,
        psa,
        mappings: new_mappings,
    }
}

/// Notes the tenant defaults that change.
fn note_defaults(changes: &mut Map<String, Value>, old: &tenant_settings::Model, new: &Defaults) {
    if let Some(tz) = &new.timezone {
        change(
            changes,
            "default_timezone",
            json!(old.default_timezone),
            json!(tz),
        );
    }
    if let Some(days) = new.expiry {
        change(
            changes,
            "invitation_expiry_days",
            json!(old.invitation_expiry_days),
            json!(days),
        );
    }
    if let Some(hours) = new.lifetime {
        change(
            changes,
            "session_lifetime_hours",
            json!(old.session_lifetime_hours),
            json!(hours),
        );
    }
    if let Some(name) = &new.sender_name {
        change(
            changes,
            "email_sender_name",
            json!(old.email_sender_name),
            json!(name),
        );
    }
}

/// Notes the PSA fields that change, secrets masked.
fn note_psa(changes: &mut Map<String, Value>, old: &PsaValues, new: &PsaValues) {
    change(
        changes,
        "psa.provider",
        json!(old.provider),
        json!(new.provider),
    );
    change(
        changes,
        "psa.directory_path",
        json!(old.directory_path),
        json!(new.directory_path),
    );
    change(
        changes,
        "psa.zone_url",
        json!(old.zone_url),
        json!(new.zone_url),
    );
    change(
        changes,
        "psa.api_user",
        json!(old.api_user),
        json!(new.api_user),
    );
    // A replaced secret shows as "***" → "***": the entry says it changed, nothing more.
    for (field, before, after) in [
        (
            "psa.integration_code",
            &old.integration_code,
            &new.integration_code,
        ),
        ("psa.secret", &old.secret, &new.secret),
    ] {
        if before != after {
            changes.insert(
                field.to_owned(),
                json!({ "before": masked(before.as_ref()), "after": masked(after.as_ref()) }),
            );
        }
    }
}

/// Writes the tenant defaults sent, stamping who changed the settings and when.
async fn write_defaults(
    txn: &impl ConnectionTrait,
    old: &tenant_settings::Model,
    new: Defaults,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut settings: tenant_settings::ActiveModel = old.clone().into();
    if let Some(tz) = new.timezone {
        settings.default_timezone = Set(tz);
    }
    if let Some(days) = new.expiry {
        settings.invitation_expiry_days = Set(days);
    }
    if let Some(hours) = new.lifetime {
        settings.session_lifetime_hours = Set(hours);
    }
    if let Some(name) = new.sender_name {
        settings.email_sender_name = Set(name);
    }
    settings.updated_at = Set(now);
    settings.updated_by = Set(Some(caller.user.id.clone()));
    settings.update(txn).await?;
    Ok(())
}

/// Writes the new PSA values and drops the cached levels.
async fn write_psa(
    txn: &impl ConnectionTrait,
    secrets: &Keyring,
    old: &psa_settings::Model,
    old_values: &PsaValues,
    new: PsaValues,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut row: psa_settings::ActiveModel = old.clone().into();
    row.provider = Set(new.provider);
    row.directory_path = Set(new.directory_path);
    row.autotask_zone_url = Set(new.zone_url);
    row.autotask_api_user = Set(new.api_user);
    // A secret that did not change keeps its sealed value; a new one is sealed.
    let id = &old.tenant_id;
    if new.integration_code != old_values.integration_code {
        row.autotask_integration_code = Set(new
            .integration_code
            .map(|v| secrets.seal(SecretColumn::AutotaskIntegrationCode, id, &v)));
    }
    if new.secret != old_values.secret {
        row.autotask_secret = Set(new
            .secret
            .map(|v| secrets.seal(SecretColumn::AutotaskSecret, id, &v)));
    }
    // The registry rebuilds a tenant's provider when `updated_at` moves, and the level
    // cache came from the old PSA: the next read must ask the new one.
    row.updated_at = Set(now);
    row.levels_fetched_at = Set(None);
    row.update(txn).await?;
    Ok(())
}

/// Replaces the tenant's accounting mappings with `new`, in its order.
async fn write_mappings(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    new: Vec<AccountingMapping>,
) -> Result<(), ApiError> {
    accounting_mappings::Entity::delete_many()
        .filter(accounting_mappings::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await?;
    for (position, m) in new.into_iter().enumerate() {
        accounting_mappings::ActiveModel {
            id: Set(db::new_id()),
            tenant_id: Set(tenant_id.to_owned()),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            source_code: Set(m.source_code),
            account_code: Set(m.account_code),
            description: Set(m.description),
        }
        .insert(txn)
        .await
        .map_err(conflict)?;
    }
    Ok(())
}

/// Logs `settings.updated` on the caller's tenant with `changes` as its details.
async fn log_update(
    txn: &impl ConnectionTrait,
    caller: &Caller,
    changes: Map<String, Value>,
) -> Result<(), ApiError> {
    let tenant = tenants::Entity::find_by_id(caller.tenant_id.clone())
        .one(txn)
        .await?
        .ok_or_else(|| missing("tenants", &caller.tenant_id))?;
    activity::record_by(
        txn,
        caller,
        actions::SETTINGS_UPDATED,
        Target::new("tenant", &tenant.id, &tenant.name),
        None,
        Value::Object(changes),
    )
    .await?;
    Ok(())
}

fn conflict(err: sea_orm::DbErr) -> ApiError {
    if db::violates(&err, &[db::Unique::MappingSourceCode]) {
        ApiError::new(
            ProblemCode::Conflict,
            "The accounting mappings were changed by another request; reload and try again.",
        )
    } else {
        err.into()
    }
}

/// Rotates the launch secret on behalf of the caller (`tenant.launch_secret_rotated`).
pub async fn rotate_launch_secret(
    db: &DatabaseConnection,
    secrets: &Keyring,
    caller: &Caller,
) -> Result<LaunchSecret, ApiError> {
    let rotated = crate::tenant::provision::rotate_launch_secret_as(
        db,
        secrets,
        &caller.tenant_id,
        &caller.actor(),
        &caller.meta,
    )
    .await
    .map_err(|e| match e {
        crate::tenant::provision::TenantError::Db(e) => ApiError::from(e),
        other => ApiError::Internal(other.into()),
    })?
    .ok_or_else(|| missing("tenants", &caller.tenant_id))?;
    Ok(LaunchSecret {
        launch_secret: rotated.launch_secret,
        rotated_at: rotated.rotated_at,
    })
}
