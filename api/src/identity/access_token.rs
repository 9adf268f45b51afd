//! Access tokens (SPEC S3.3): short-lived HS256 JWTs naming a session. They carry no
//! permissions: every request re-reads the user, the session and the access level.

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

/// Verifies signature, algorithm, `typ`, `kid`, `exp`, `nbf`, `iat`, `aud` and `iss`.
pub fn verify(keys: &Keys, issuer: &str, token: &str) -> Result<Claims, ApiError> {
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
            ErrorKind::ExpiredSignature => ApiError::new(
                ProblemCode::Unauthenticated,
                "the access token has expired: refresh the session",
            ),
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
