//! Stored secrets as a whole (SPEC S14): at start every value still in clear (rows written
//! before secrets were sealed) or sealed under another key is sealed under the current one
//! ([`reseal_all`]); `hubkeep secrets rotate-key` ([`rotate`]) moves every value to a new key
//! and retires the old. Also the openers of a tenant's PSA secrets.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
    TransactionTrait as _,
};
use serde::Serialize;

use super::entities::{connections, oidc_logins, psa_settings, psa_webhooks, tenant_oidc};
use super::sealed::{
    Keyring, SealError, Sealed, SecretColumn, decode_key, key_id, random_key, read_key_file,
    write_key_file,
};
use super::secret::SecretText;
use crate::config::SecretsSettings;

impl Keyring {
    /// A tenant's launch secret, to verify (or, in demo mode, sign) a launch assertion.
    pub fn launch_secret(&self, psa: &psa_settings::Model) -> Result<SecretText, SealError> {
        self.open(
            SecretColumn::LaunchSecret,
            &psa.tenant_id,
            &psa.launch_secret,
        )
    }

    /// A tenant's Autotask integration code and secret, for Autotask only.
    pub fn autotask_credentials(
        &self,
        psa: &psa_settings::Model,
    ) -> Result<(Option<SecretText>, Option<SecretText>), SealError> {
        let id = &psa.tenant_id;
        Ok((
            self.open_optional(
                SecretColumn::AutotaskIntegrationCode,
                id,
                psa.autotask_integration_code.as_ref(),
            )?,
            self.open_optional(
                SecretColumn::AutotaskSecret,
                id,
                psa.autotask_secret.as_ref(),
            )?,
        ))
    }
}

/// What [`reseal_all`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values that were in clear.
    pub were_clear: usize,
    /// Values sealed under another key.
    pub were_other_key: usize,
}

impl Resealed {
    pub fn total(&self) -> usize {
        self.were_clear + self.were_other_key
    }
}

/// Seals every stored secret still in clear and re-seals every one sealed under another key
/// than the current one, in one transaction. A value sealed under a key the ring does not
/// have stops it with [`SealError::UnknownKey`], and nothing is changed.
pub async fn reseal_all(db: &DatabaseConnection, keyring: &Keyring) -> anyhow::Result<Resealed> {
    let txn = db.begin().await?;
    let mut done = Resealed::default();
    let mut pass = Pass {
        keyring,
        current: keyring.current_id(),
        done: &mut done,
    };
    for row in psa_settings::Entity::find().all(&txn).await? {
        let id = row.tenant_id.clone();
        let mut active: psa_settings::ActiveModel = row.clone().into();
        let mut changed = false;
        if let Some(Some(v)) =
            pass.step(SecretColumn::LaunchSecret, &id, Some(&row.launch_secret))?
        {
            active.launch_secret = Set(v);
            changed = true;
        }
        let code = row.autotask_integration_code.as_ref();
        if let Some(v) = pass.step(SecretColumn::AutotaskIntegrationCode, &id, code)? {
            active.autotask_integration_code = Set(v);
            changed = true;
        }
        let secret = row.autotask_secret.as_ref();
        if let Some(v) = pass.step(SecretColumn::AutotaskSecret, &id, secret)? {
            active.autotask_secret = Set(v);
            changed = true;
        }
        if changed {
            active.update(&txn).await?;
        }
    }
    for row in connections::Entity::find().all(&txn).await? {
        let old = row.postgres_db.as_ref();
        if let Some(v) = pass.step(SecretColumn::PostgresDb, row.id.as_str(), old)? {
            let mut active: connections::ActiveModel = row.clone().into();
            active.postgres_db = Set(v);
            active.update(&txn).await?;
        }
    }
    reseal_webhooks_and_sign_in(&txn, &mut pass).await?;
    txn.commit().await?;
    if done.total() > 0 && db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        empty_the_wal(db).await?;
    }
    Ok(done)
}

/// The webhook keys and the OpenID Connect secrets, for [`reseal_all`].
async fn reseal_webhooks_and_sign_in(
    txn: &sea_orm::DatabaseTransaction,
    pass: &mut Pass<'_>,
) -> anyhow::Result<()> {
    for row in psa_webhooks::Entity::find().all(txn).await? {
        let old = Some(&row.secret_key);
        if let Some(Some(v)) = pass.step(SecretColumn::PsaWebhookSecret, &row.tenant_id, old)? {
            let mut active: psa_webhooks::ActiveModel = row.clone().into();
            active.secret_key = Set(v);
            active.update(txn).await?;
        }
    }
    for row in tenant_oidc::Entity::find().all(txn).await? {
        let old = Some(&row.client_secret);
        if let Some(Some(v)) = pass.step(SecretColumn::OidcClientSecret, &row.tenant_id, old)? {
            let mut active: tenant_oidc::ActiveModel = row.clone().into();
            active.client_secret = Set(v);
            active.update(txn).await?;
        }
    }
    for row in oidc_logins::Entity::find().all(txn).await? {
        let old = Some(&row.pkce_verifier);
        if let Some(Some(v)) = pass.step(SecretColumn::OidcPkceVerifier, &row.state_hash, old)? {
            let mut active: oidc_logins::ActiveModel = row.clone().into();
            active.pkce_verifier = Set(v);
            active.update(txn).await?;
        }
    }
    Ok(())
}

/// One pass of [`reseal_all`]: what it seals under, and what it counted.
struct Pass<'a> {
    keyring: &'a Keyring,
    current: String,
    done: &'a mut Resealed,
}

impl Pass<'_> {
    /// What becomes of one stored value: `None` when it stays (absent, or sealed under the
    /// current key); `Some(None)` for an empty value, which an older version stored for
    /// "none"; `Some(Some(v))` for its value sealed under the current key.
    fn step(
        &mut self,
        column: SecretColumn,
        row: &str,
        value: Option<&Sealed>,
    ) -> Result<Option<Option<Sealed>>, SealError> {
        let Some(value) = value else { return Ok(None) };
        if value.is_empty() {
            return Ok(Some(None));
        }
        let secret = match value.key_id() {
            Some(kid) if kid == self.current => return Ok(None),
            Some(_) => {
                self.done.were_other_key += 1;
                self.keyring.open(column, row, value)?
            }
            None => {
                self.done.were_clear += 1;
                SecretText::new(value.stored_text())
            }
        };
        Ok(Some(Some(self.keyring.seal(column, row, &secret))))
    }
}

/// The replaced values must not live on in the SQLite file: `secure_delete` (set on every
/// connection, `db::pool`) zeroes freed content, and this moves the write-ahead log into the
/// file and empties it, old page versions with it.
async fn empty_the_wal(db: &DatabaseConnection) -> anyhow::Result<()> {
    let busy = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    if busy != 0 {
        tracing::warn!(
            "the write-ahead log could not be emptied while readers were busy: replaced \
             secrets stay in it until the next checkpoint"
        );
    }
    Ok(())
}

/// How many stored secrets are sealed under each key id (`None`: in clear).
pub async fn key_ids_in_use(
    db: &impl ConnectionTrait,
) -> anyhow::Result<HashMap<Option<String>, usize>> {
    let mut counts = HashMap::new();
    let mut count = |value: &Sealed| {
        *counts.entry(value.key_id().map(str::to_owned)).or_insert(0) += 1;
    };
    for row in psa_settings::Entity::find().all(db).await? {
        count(&row.launch_secret);
        row.autotask_integration_code.iter().for_each(&mut count);
        row.autotask_secret.iter().for_each(&mut count);
    }
    for row in connections::Entity::find().all(db).await? {
        row.postgres_db.iter().for_each(&mut count);
    }
    for row in psa_webhooks::Entity::find().all(db).await? {
        count(&row.secret_key);
    }
    Ok(counts)
}

/// The master key of stored secrets (SPEC S14), and every stored secret sealed under it:
/// rows from before sealing, or sealed under a previous key, are sealed now.
pub async fn open_keyring(
    settings: &crate::config::Settings,
    db: &sea_orm::DatabaseConnection,
) -> anyhow::Result<Keyring> {
    let keyring =
        Keyring::load(&settings.secrets, &settings.data_dir).context("the [secrets] key")?;
    let resealed = reseal_all(db, &keyring)
        .await
        .context("sealing the stored secrets")?;
    if resealed.total() > 0 {
        tracing::info!(
            in_clear = resealed.were_clear,
            other_key = resealed.were_other_key,
            key_id = %keyring.current_id(),
            "sealed stored secrets under the current key"
        );
    }
    Ok(keyring)
}

/// What `hubkeep secrets rotate-key` did.
#[derive(Debug, Serialize)]
pub struct Rotation {
    pub key_id: String,
    pub retired: Vec<String>,
    pub resealed: usize,
}

/// `hubkeep secrets rotate-key`. With the key file: a new key is generated and written as the
/// current one beside the old (so every running server can open both), every secret is
/// re-sealed under it, and the old keys are then removed from the file. With `[secrets] key`:
/// every secret is re-sealed under it, and the `previous_keys` can then be dropped from the
/// configuration.
pub async fn rotate(
    db: &DatabaseConnection,
    settings: &SecretsSettings,
    data_dir: &Path,
) -> anyhow::Result<Rotation> {
    let keyring = Keyring::load(settings, data_dir)?;
    // Plaintext left from before sealing, and values under a previous key, first: they must
    // open before anything changes.
    let mut resealed = reseal_all(db, &keyring).await?.total();
    let Some(path) = keyring.file.clone() else {
        let retired = settings
            .previous_keys
            .iter()
            .filter_map(|k| decode_key(k).ok())
            .map(|k| key_id(&k))
            .collect();
        return Ok(Rotation {
            key_id: keyring.current_id(),
            retired,
            resealed,
        });
    };
    let (old, _) = read_key_file(&path)?;
    let new = random_key();
    let mut both = vec![new];
    both.extend_from_slice(&old);
    write_key_file(&path, &both)?;
    let keyring = Keyring::load(settings, data_dir)?;
    // A server that sealed under the old key while this ran leaves a value behind: go again
    // until none is left (each pass is one transaction), and once more after a pause that
    // outlasts a settings change a server began before it saw the new key file.
    let mut clean_passes = 0;
    while clean_passes < 2 {
        resealed += reseal_all(db, &keyring).await?.total();
        let in_use = key_ids_in_use(db).await?;
        if in_use
            .keys()
            .all(|kid| kid.as_deref() == Some(keyring.current_id().as_str()))
        {
            clean_passes += 1;
            if clean_passes < 2 {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        } else {
            clean_passes = 0;
        }
    }
    write_key_file(&path, &[new])?;
    Ok(Rotation {
        key_id: key_id(&new),
        retired: old.iter().map(key_id).collect(),
        resealed,
    })
}
