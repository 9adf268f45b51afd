//! Secrets at rest (SPEC S14): every stored secret is sealed with AES-256-GCM under the
//! deployment's master key, never kept in clear.
//!
//! A sealed value is `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id
//! names the key it was sealed under (so a rotation knows what is left to re-seal), and the
//! associated data names the column and the row (`psa_settings.launch_secret/<tenant id>`), so
//! a value copied into another row or column does not open.
//!
//! The master key is `[secrets] key` (base64 of 32 random bytes), with `[secrets]
//! previous_keys` that still open during a rotation; or, when none is configured, the keys
//! kept in `<data_dir>/secrets-key.json` (created 0600, generated on first start).
//! `db::rekey` seals what is still in clear and re-seals what another key sealed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::secret::SecretText;
use crate::config::SecretsSettings;

const PREFIX: &str = "sealed:v1:";
const KEY_FILE: &str = "secrets-key.json";
const NONCE_BYTES: usize = 12;

/// A secret as a column stores it: sealed, never the secret itself.
#[derive(Clone, PartialEq, Eq, sea_orm::DeriveValueType)]
pub struct Sealed(String);

impl Sealed {
    /// The id of the key this value was sealed under; `None` when it is not sealed at all
    /// (a row written before secrets were sealed).
    pub fn key_id(&self) -> Option<&str> {
        let rest = self.0.strip_prefix(PREFIX)?;
        rest.split_once(':').map(|(kid, _)| kid)
    }
}

impl Sealed {
    /// The stored text (for sealing a value left in clear by an older version).
    pub(super) fn stored_text(&self) -> &str {
        &self.0
    }

    /// An empty value left by an older version for "no value"; never written now.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({})", self.key_id().unwrap_or("not sealed"))
    }
}

/// The columns that hold a secret; each one is part of what its values are sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    LaunchSecret,
    AutotaskIntegrationCode,
    AutotaskSecret,
    PostgresDb,
    PsaWebhookSecret,
    OidcClientSecret,
    OidcPkceVerifier,
}

impl SecretColumn {
    const fn name(self) -> &'static str {
        match self {
            Self::LaunchSecret => "psa_settings.launch_secret",
            Self::AutotaskIntegrationCode => "psa_settings.autotask_integration_code",
            Self::AutotaskSecret => "psa_settings.autotask_secret",
            Self::PostgresDb => "connections.postgres_db",
            Self::PsaWebhookSecret => "psa_webhooks.secret_key",
            Self::OidcClientSecret => "tenant_oidc.client_secret",
            Self::OidcPkceVerifier => "oidc_logins.pkce_verifier",
        }
    }
}

/// Why a stored secret could not be opened. The server answers 500 and logs this (never the
/// value).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "a stored secret is sealed under key {0}, which this server does not have \
         ([secrets] key / previous_keys, or the data directory's secrets-key.json)"
    )]
    UnknownKey(String),
    #[error("a stored secret does not open: it was altered or moved from another row or column")]
    Tampered,
    #[error("a stored secret is not sealed")]
    NotSealed,
}

impl From<SealError> for crate::error::ApiError {
    fn from(e: SealError) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

/// The master keys: the one that seals, and every one that may still open.
pub struct Keyring {
    ring: RwLock<Ring>,
    /// The key file, when the keys come from the data directory: re-read when it changes, so
    /// a running server follows `hubkeep secrets rotate-key`.
    pub(super) file: Option<PathBuf>,
}

struct Ring {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
    stamp: Option<FileStamp>,
}

type FileStamp = (SystemTime, u64);

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_id())
            .finish_non_exhaustive()
    }
}

/// `secrets-key.json`.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    current: String,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    id: String,
    key: String,
}

impl Keyring {
    /// The configured keys, or else the key file in `data_dir` (generated when missing).
    pub fn load(settings: &SecretsSettings, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(key) = &settings.key {
            let current = decode_key(key).context("[secrets] key")?;
            let mut all = vec![current];
            for (i, old) in settings.previous_keys.iter().enumerate() {
                all.push(decode_key(old).with_context(|| format!("[secrets] previous_keys[{i}]"))?);
            }
            let ring = Ring::new(&all, None);
            return Ok(Self {
                ring: RwLock::new(ring),
                file: None,
            });
        }
        let path = data_dir.join(KEY_FILE);
        if !path.is_file() {
            super::pool::private_dir(data_dir)?;
            create_key_file(&path, &[random_key()])?;
            tracing::warn!(
                path = %path.display(),
                "no [secrets] key configured: generated the key that seals stored secrets in \
                 the data directory; back it up with the database, or the secrets are lost"
            );
        }
        let (keys, stamp) = read_key_file(&path)?;
        Ok(Self {
            ring: RwLock::new(Ring::new(&keys, Some(stamp))),
            file: Some(path),
        })
    }

    /// A ring of one key, for tests.
    pub fn of_key(key: [u8; 32]) -> Self {
        Self {
            ring: RwLock::new(Ring::new(&[key], None)),
            file: None,
        }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> String {
        self.read().current.clone()
    }

    /// Seals `secret` for `column` of the row `row_id`.
    pub fn seal(&self, column: SecretColumn, row_id: &str, secret: &SecretText) -> Sealed {
        self.follow_key_file();
        let ring = self.read();
        let cipher = &ring.keys[&ring.current];
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(column, row_id);
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message shorter than 64 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Sealed(format!(
            "{PREFIX}{}:{}",
            ring.current,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Opens a value [`Keyring::seal`] sealed for the same column and row.
    pub fn open(
        &self,
        column: SecretColumn,
        row_id: &str,
        sealed: &Sealed,
    ) -> Result<SecretText, SealError> {
        let rest = sealed.0.strip_prefix(PREFIX).ok_or(SealError::NotSealed)?;
        let (kid, body) = rest.split_once(':').ok_or(SealError::Tampered)?;
        if !self.read().keys.contains_key(kid) {
            self.follow_key_file();
        }
        let ring = self.read();
        let cipher = ring
            .keys
            .get(kid)
            .ok_or_else(|| SealError::UnknownKey(kid.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Tampered)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SealError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Tampered)?;
        let aad = associated_data(column, row_id);
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretText::new)
            .map_err(|_| SealError::Tampered)
    }

    /// [`Keyring::open`] for a nullable column.
    pub fn open_optional(
        &self,
        column: SecretColumn,
        row_id: &str,
        sealed: Option<&Sealed>,
    ) -> Result<Option<SecretText>, SealError> {
        sealed.map(|s| self.open(column, row_id, s)).transpose()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Re-reads the key file when it changed since it was read (a rotation by another
    /// process). A file that cannot be read keeps the keys already known.
    fn follow_key_file(&self) {
        let Some(path) = &self.file else { return };
        let Ok(stamp) = file_stamp(path) else { return };
        if self.read().stamp == Some(stamp) {
            return;
        }
        match read_key_file(path) {
            Ok((keys, stamp)) => {
                let mut ring = self
                    .ring
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                // The file's current key seals from now on; a key the file no longer lists
                // still opens here (a value this server sealed just before a rotation
                // retired its key stays readable until the next rotation re-seals it).
                let mut fresh = Ring::new(&keys, Some(stamp));
                for (id, cipher) in ring.keys.drain() {
                    fresh.keys.entry(id).or_insert(cipher);
                }
                *ring = fresh;
            }
            Err(e) => {
                tracing::error!(error = %e, "the secrets key file changed and could not be read")
            }
        }
    }
}

impl Ring {
    /// The first key seals; every key opens.
    fn new(keys: &[[u8; 32]], stamp: Option<FileStamp>) -> Self {
        let current = key_id(&keys[0]);
        let keys = keys
            .iter()
            .map(|k| (key_id(k), Aes256Gcm::new(k.into())))
            .collect();
        Self {
            current,
            keys,
            stamp,
        }
    }
}

fn associated_data(column: SecretColumn, row_id: &str) -> String {
    format!("{}/{row_id}", column.name())
}

/// A key's id: from its SHA-256, so the same key has the same id on every instance.
pub(super) fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(b"hubkeep secrets key id\0")
        .chain_update(key)
        .finalize();
    format!("k{}", hex::encode(&digest[..6]))
}

pub(super) fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

pub(super) fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = STANDARD
        .decode(text.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
        .context("is not base64")?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "must be 32 bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
        )
    })
}

fn file_stamp(path: &Path) -> std::io::Result<FileStamp> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.modified()?, meta.len()))
}

pub(super) fn read_key_file(path: &Path) -> anyhow::Result<(Vec<[u8; 32]>, FileStamp)> {
    let stamp = file_stamp(path).with_context(|| format!("reading {}", path.display()))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a secrets key file", path.display()))?;
    let mut keys = Vec::with_capacity(file.keys.len());
    for stored in &file.keys {
        let key = decode_key(&stored.key)
            .with_context(|| format!("key {} of {}", stored.id, path.display()))?;
        if key_id(&key) != stored.id {
            bail!(
                "key {} of {} does not match its id",
                stored.id,
                path.display()
            );
        }
        if stored.id == file.current {
            keys.insert(0, key);
        } else {
            keys.push(key);
        }
    }
    if keys.is_empty() || key_id(&keys[0]) != file.current {
        bail!("{} names no current key among its keys", path.display());
    }
    Ok((keys, stamp))
}

/// Creates the key file unless another process just did (then its key is the one).
fn create_key_file(path: &Path, keys: &[[u8; 32]]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(key_file_text(keys)?.as_bytes())?;
            file.sync_all()?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating {}", path.display()))),
    }
}

fn key_file_text(keys: &[[u8; 32]]) -> anyhow::Result<String> {
    let file = KeyFile {
        current: key_id(&keys[0]),
        keys: keys
            .iter()
            .map(|k| StoredKey {
                id: key_id(k),
                key: STANDARD.encode(k),
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&file)?)
}

/// Replaces the key file (the first key seals): a temporary file created 0600 with the old
/// file's owner (a rotation run as root must not leave a file the server cannot read), then
/// renamed over the old one, so a reader sees the old file or the new one, never half of one.
pub(super) fn write_key_file(path: &Path, keys: &[[u8; 32]]) -> anyhow::Result<()> {
    let text = key_file_text(keys)?;
    let mut nonce = [0u8; 6];
    rand::rng().fill_bytes(&mut nonce);
    let suffix = hex::encode(nonce);
    let temp = path.with_extension(format!("json.{suffix}.new"));
    super::pool::write_private(&temp, text.as_bytes())?;
    #[cfg(unix)]
    if let Ok(old) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt as _;
        if let Err(e) = std::os::unix::fs::chown(&temp, Some(old.uid()), Some(old.gid())) {
            let _ = std::fs::remove_file(&temp);
            bail!(
                "{} belongs to another user; run this as that user ({e})",
                path.display()
            );
        }
    }
    std::fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_column_and_row() {
        let ring = Keyring::of_key([7; 32]);
        let secret = SecretText::new("launch-secret-of-acme");
        let sealed = ring.seal(SecretColumn::LaunchSecret, "tenant-a", &secret);
        assert!(!sealed.0.contains("launch-secret-of-acme"));
        assert_eq!(sealed.key_id(), Some(ring.current_id().as_str()));
        let opened = ring
            .open(SecretColumn::LaunchSecret, "tenant-a", &sealed)
            .unwrap();
        assert_eq!(opened, secret);
        // Another row, another column: the associated data differs.
        assert!(matches!(
            ring.open(SecretColumn::LaunchSecret, "tenant-b", &sealed),
            Err(SealError::Tampered)
        ));
        assert!(matches!(
            ring.open(SecretColumn::AutotaskSecret, "tenant-a", &sealed),
            Err(SealError::Tampered)
        ));
        // Two seals of one secret differ (a fresh nonce each time).
        assert_ne!(
            ring.seal(SecretColumn::LaunchSecret, "tenant-a", &secret),
            sealed
        );
        // Another key does not open it, and says which key it would need.
        let other = Keyring::of_key([8; 32]);
        assert!(matches!(
            other.open(SecretColumn::LaunchSecret, "tenant-a", &sealed),
            Err(SealError::UnknownKey(kid)) if kid == ring.current_id()
        ));
        assert!(matches!(
            ring.open(
                SecretColumn::LaunchSecret,
                "tenant-a",
                &Sealed("in clear".into())
            ),
            Err(SealError::NotSealed)
        ));
    }

    #[test]
    fn configured_keys_seal_with_the_first_and_open_with_the_previous_ones() {
        let dir = tempfile::tempdir().unwrap();
        let old = STANDARD.encode([1u8; 32]);
        let new = STANDARD.encode([2u8; 32]);
        let before = Keyring::load(
            &SecretsSettings {
                key: Some(old.clone()),
                previous_keys: vec![],
            },
            dir.path(),
        )
        .unwrap();
        let sealed = before.seal(SecretColumn::PostgresDb, "c1", &SecretText::new("pg"));
        let after = Keyring::load(
            &SecretsSettings {
                key: Some(new),
                previous_keys: vec![old],
            },
            dir.path(),
        )
        .unwrap();
        assert_ne!(after.current_id(), before.current_id());
        assert_eq!(
            after
                .open(SecretColumn::PostgresDb, "c1", &sealed)
                .unwrap()
                .expose_secret(),
            "pg"
        );
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "a configured key writes no file"
        );
        let short = Keyring::load(
            &SecretsSettings {
                key: Some(STANDARD.encode([1u8; 16])),
                previous_keys: vec![],
            },
            dir.path(),
        );
        assert!(format!("{:#}", short.unwrap_err()).contains("32 bytes"));
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_key_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let a = Keyring::load(&SecretsSettings::default(), &data).unwrap();
        let b = Keyring::load(&SecretsSettings::default(), &data).unwrap();
        assert_eq!(a.current_id(), b.current_id());
        let mode = std::fs::metadata(data.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
