//! Access-token keys (SPEC S3.3): several may verify, one signs, each named by `kid`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

use crate::config::{AuthSettings, SigningKey};

/// The key ring built from configuration.
pub struct Keys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("signing_kid", &self.signing_kid)
            .field("verifying", &self.verifying.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

const GENERATED_KEY_FILE: &str = "signing-key.json";

#[derive(Serialize, Deserialize)]
struct StoredKey {
    id: String,
    secret: String,
}

impl Keys {
    /// Configured keys, or else the key kept in the data directory (generated on first use,
    /// so restarts keep sessions valid).
    pub fn load(auth: &AuthSettings, data_dir: &Path) -> anyhow::Result<Self> {
        let (keys, signing_kid) = if auth.keys.is_empty() {
            let key = generated_key(data_dir)?;
            let kid = key.id.clone();
            (vec![key], kid)
        } else {
            let kid = match &auth.signing_key_id {
                Some(kid) => kid.clone(),
                None if auth.keys.len() == 1 => auth.keys[0].id.clone(),
                None => bail!(
                    "auth.signing_key_id must name one of the {} keys",
                    auth.keys.len()
                ),
            };
            (auth.keys.clone(), kid)
        };
        Self::from_keys(&keys, &signing_kid)
    }

    pub fn from_keys(keys: &[SigningKey], signing_kid: &str) -> anyhow::Result<Self> {
        let mut verifying = HashMap::new();
        let mut signing = None;
        for key in keys {
            if key.id.is_empty() {
                bail!("a signing key has an empty id");
            }
            if key.secret.len() < 32 {
                bail!("signing key {:?} is shorter than 32 bytes", key.id);
            }
            if verifying
                .insert(
                    key.id.clone(),
                    DecodingKey::from_secret(key.secret.as_bytes()),
                )
                .is_some()
            {
                bail!("signing key id {:?} appears twice", key.id);
            }
            if key.id == signing_kid {
                signing = Some(EncodingKey::from_secret(key.secret.as_bytes()));
            }
        }
        let signing =
            signing.with_context(|| format!("no key with id {signing_kid:?} to sign with"))?;
        Ok(Self {
            signing_kid: signing_kid.to_owned(),
            signing,
            verifying,
        })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }
}

fn generated_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = data_dir.join(GENERATED_KEY_FILE);
    if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let stored: StoredKey = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a signing key file", path.display()))?;
        return Ok(SigningKey {
            id: stored.id,
            secret: stored.secret,
        });
    }
    crate::db::pool::private_dir(data_dir)?;
    let secret = super::secret::random_secret();
    let id = format!("gen-{}", &super::secret::hash(&secret)[..8]);
    let text = serde_json::to_string_pretty(&StoredKey {
        id: id.clone(),
        secret: secret.clone(),
    })?;
    crate::db::pool::write_private(&path, text.as_bytes())?;
    tracing::warn!(
        path = %path.display(),
        "no auth.keys configured: generated a signing key in the data directory; \
         configure auth.keys when several instances share a database"
    );
    Ok(SigningKey { id, secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let auth = crate::config::Settings::default().auth;
        let a = Keys::load(&auth, dir.path()).unwrap();
        let b = Keys::load(&auth, dir.path()).unwrap();
        assert_eq!(a.signing_kid(), b.signing_kid());
        assert!(a.signing_kid().starts_with("gen-"));
    }

    #[test]
    fn short_or_duplicate_or_missing_signing_keys_are_refused() {
        let long = "x".repeat(32);
        let key = |id: &str, secret: &str| SigningKey {
            id: id.into(),
            secret: secret.into(),
        };
        assert!(Keys::from_keys(&[key("a", "short")], "a").is_err());
        assert!(Keys::from_keys(&[key("a", &long), key("a", &long)], "a").is_err());
        assert!(Keys::from_keys(&[key("a", &long)], "b").is_err());
        let ring = Keys::from_keys(&[key("old", &long), key("new", &long)], "new").unwrap();
        assert!(ring.verifying_key("old").is_some());
        assert_eq!(ring.signing_kid(), "new");
    }
}
