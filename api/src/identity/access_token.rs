//! Access tokens (SPEC S3.3): short-lived HS256 JWTs naming a session. They carry no
//! permissions: every request re-reads the user, the session and the access level.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::Keys;
use crate::error::ApiError;
use hubkeep_shared::ProblemCode;

/// The `aud` of access tokens.
pub const AUDIENCE: &str = "hubkeep-api";

/// Seconds of clock skew tolerated between API instances.
const LEEWAY_SECS: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The hub user id.
    pub sub: String,
    /// The tenant id.
    pub tid: String,
    /// The session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Signs an access token for a session; returns it and its lifetime in seconds.
pub fn issue(
    keys: &Keys,
    issuer: &str,
    ttl_secs: u64,
    tenant_id: &str,
    user_id: &str,
    session_id: &str,
) -> Result<(String, u64), ApiError> {
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2);
    let claims = Claims {
        iss: issuer.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: user_id.to_owned(),
        tid: tenant_id.to_owned(),
        sid: session_id.to_owned(),
        iat: now,
        exp: now.saturating_add(ttl),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.signing_kid().to_owned());
    let token = jsonwebtoken::encode(&header, &claims, keys.signing_key())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing an access token: {e}")))?;
    Ok((token, ttl_secs))
}

/// Access tokens this process has verified with its keys, by their text. A console sends the
/// same token with every request for its lifetime, and checking it again each time — two
/// base64 and JSON decodings, an HMAC, the claims — was a tenth of the CPU of an
/// authenticated request (issue 24). Only a token that passed every check is kept, and nothing that decided it can
/// change while the process runs (the keys are read once at start) except the clock: expiry
/// is checked on every use. What the token names — its session, its user — is still looked
/// up on every request ([`super::caller`]).
#[derive(Debug, Default)]
pub struct Verified(RwLock<HashMap<Box<str>, Arc<Claims>>>);

/// At most this many verified tokens are kept; when full, all are forgotten (and verified
/// again on their next use).
const VERIFIED_CAPACITY: usize = 10_000;

impl Verified {
    /// A token verified earlier for `issuer`: its claims, or 401 when it has expired since;
    /// `None` when it was not verified here.
    fn recall(&self, issuer: &str, token: &str, now: i64) -> Option<Result<Arc<Claims>, ApiError>> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        let claims = map.get(token).filter(|claims| claims.iss == issuer)?;
        // As jsonwebtoken judges `exp`: expired once it is more than the leeway behind now.
        if claims.exp < now - LEEWAY_SECS {
            return Some(Err(expired()));
        }
        Some(Ok(Arc::clone(claims)))
    }

    fn keep(&self, token: &str, claims: &Arc<Claims>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= VERIFIED_CAPACITY {
            map.clear();
        }
        map.insert(token.into(), Arc::clone(claims));
    }
}

fn expired() -> ApiError {
    ApiError::new(
        ProblemCode::Unauthenticated,
        "the access token has expired: refresh the session",
    )
}

/// Verifies signature, algorithm, `typ`, `kid`, `exp`, `nbf`, `iat`, `aud` and `iss` — once
/// per token and process: `verified` remembers what these `keys` verified
/// (`AppState::verified_tokens`), and later uses check expiry only.
pub fn verify(
    keys: &Keys,
    verified: &Verified,
    issuer: &str,
    token: &str,
) -> Result<Arc<Claims>, ApiError> {
    let now = chrono::Utc::now().timestamp();
    if let Some(known) = verified.recall(issuer, token, now) {
        return known;
    }
    let claims = Arc::new(verify_afresh(keys, issuer, token)?);
    verified.keep(token, &claims);
    Ok(claims)
}

fn verify_afresh(keys: &Keys, issuer: &str, token: &str) -> Result<Claims, ApiError> {
    let rejected = |why: &str| {
        ApiError::new(
            ProblemCode::Unauthenticated,
            format!("the access token is not valid: {why}"),
        )
    };
    let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed"))?;
    if header.alg != Algorithm::HS256 {
        return Err(rejected("unexpected algorithm"));
    }
    // Explicit typing (RFC 8725 section 3.11): every access token this API signs says `JWT`.
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case("JWT"))
    {
        return Err(rejected("unexpected token type"));
    }
    let kid = header.kid.ok_or_else(|| rejected("no key id"))?;
    let key = keys
        .verifying_key(&kid)
        .ok_or_else(|| rejected("unknown key id"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    validation.validate_nbf = true;
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::ExpiredSignature => expired(),
            ErrorKind::ImmatureSignature => rejected("not valid yet"),
            ErrorKind::InvalidSignature => rejected("bad signature"),
            ErrorKind::InvalidAudience => rejected("wrong audience"),
            ErrorKind::InvalidIssuer => rejected("wrong issuer"),
            _ => rejected("malformed claims"),
        }
    })?;
    if data.claims.iat > chrono::Utc::now().timestamp() + LEEWAY_SECS {
        return Err(rejected("issued in the future"));
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningKey;

    fn keys(secret: &str) -> (Keys, Verified) {
        let key = SigningKey {
            id: "k1".to_owned(),
            secret: secret.to_owned(),
        };
        (Keys::from_keys(&[key], "k1").unwrap(), Verified::default())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_verified_token_is_recalled_only_until_it_expires_and_only_for_its_issuer() {
        let (keys, verified) = keys(SECRET);
        let (token, _) = issue(&keys, "hubkeep", 60, "t1", "u1", "s1").unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(verified.recall("hubkeep", &token, now).is_none());
        let claims = verify(&keys, &verified, "hubkeep", &token).unwrap();
        assert_eq!(claims.sid, "s1");
        let recalled = verified.recall("hubkeep", &token, now).unwrap();
        assert_eq!(*recalled.unwrap(), *claims);
        assert!(
            verified.recall("other", &token, now).is_none(),
            "another issuer verifies afresh"
        );
        let later = claims.exp + LEEWAY_SECS + 1;
        let err = verified
            .recall("hubkeep", &token, later)
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        assert!(
            verified
                .recall("hubkeep", &token, claims.exp + LEEWAY_SECS)
                .unwrap()
                .is_ok(),
            "the leeway jsonwebtoken allows"
        );
    }

    #[test]
    fn a_token_that_fails_any_check_is_not_kept() {
        let (keys, verified) = keys(SECRET);
        let (other, _) = self::keys("fedcba9876543210fedcba9876543210");
        let (forged, _) = issue(&other, "hubkeep", 60, "t1", "u1", "s1").unwrap();
        let (wrong_issuer, _) = issue(&keys, "someone-else", 60, "t1", "u1", "s1").unwrap();
        let now = chrono::Utc::now().timestamp();
        for bad in [forged.as_str(), wrong_issuer.as_str(), "not.a.token"] {
            assert!(verify(&keys, &verified, "hubkeep", bad).is_err(), "{bad}");
            assert!(verified.recall("hubkeep", bad, now).is_none());
        }
        assert!(
            verified
                .recall("someone-else", &wrong_issuer, now)
                .is_none(),
            "refused for its issuer, so not kept under its own either"
        );
    }

    #[test]
    fn a_full_memory_of_tokens_is_emptied() {
        let (keys, verified) = keys(SECRET);
        let (token, _) = issue(&keys, "hubkeep", 60, "t1", "u1", "s1").unwrap();
        let claims = verify(&keys, &verified, "hubkeep", &token).unwrap();
        for n in 0..VERIFIED_CAPACITY {
            verified.keep(&format!("token-{n}"), &claims);
        }
        let now = chrono::Utc::now().timestamp();
        assert!(verified.recall("hubkeep", &token, now).is_none());
        assert!(verified.0.read().unwrap().len() <= VERIFIED_CAPACITY);
    }
}
