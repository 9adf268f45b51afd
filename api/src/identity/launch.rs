//! Launch assertions (SPEC S3.2): the PSA-side launcher's proof that a resource opened the
//! hub from the PSA menu.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::ApiError;
use hubkeep_shared::ProblemCode;

/// The `aud` every launch assertion must carry.
pub const AUDIENCE: &str = "hubkeep";
/// The longest lifetime (`exp - iat`) an assertion may declare.
pub const MAX_LIFETIME_SECS: i64 = 120;
/// Clock skew tolerated between the PSA side and the hub.
pub const LEEWAY_SECS: i64 = 5;

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub resource_id: i64,
    pub jti: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Deserialize)]
struct Issuer {
    iss: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: SubjectId,
    iat: i64,
    exp: i64,
    jti: String,
}

/// `sub` is a string in JWTs, but launchers written against Autotask's numeric ids send a
/// number; both are accepted.
#[derive(Deserialize)]
#[serde(untagged)]
enum SubjectId {
    Text(String),
    Number(i64),
}

fn rejected(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ProblemCode::Unauthenticated,
        format!("the launch assertion was rejected: {why}"),
    )
}

/// The one answer for "no tenant has this issuer" and "not signed with this tenant's launch
/// secret" (SPEC S14): a caller cannot use launches to learn which PSA ids are tenants.
pub fn not_from_a_known_launcher() -> ApiError {
    rejected("unknown issuer or bad signature")
}

/// Reads `iss` without verifying anything, to find the tenant whose secret verifies the
/// rest. Nothing else from an unverified token is used. Every check that does not need the
/// tenant's secret (the header, HS256, the shape) runs here, before the tenant is looked
/// up, so its answer cannot depend on whether the issuer is a tenant (SPEC S14).
pub fn peek_issuer(assertion: &str) -> Result<String, ApiError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| rejected("malformed"))?;
    if header.alg != Algorithm::HS256 {
        return Err(rejected("the algorithm must be HS256"));
    }
    let issuer: Issuer = jsonwebtoken::dangerous::insecure_decode_claims(assertion.as_bytes())
        .map_err(|_| rejected("it is not a JWT"))?;
    let issuer = issuer
        .iss
        .filter(|iss| !iss.is_empty())
        .ok_or_else(|| rejected("it has no issuer"))?;
    // No tenant's PSA id has control characters, and PostgreSQL cannot even compare text
    // with a NUL: such an issuer is unknown without asking the database.
    if issuer.chars().any(char::is_control) {
        return Err(not_from_a_known_launcher());
    }
    Ok(issuer)
}

/// Verifies an assertion with the tenant's launch secret: HS256 only, `aud` = `hubkeep`,
/// `iss` = the tenant's PSA id, `exp`/`nbf` with a small leeway, a lifetime of at most
/// [`MAX_LIFETIME_SECS`], a `jti`. Single use is the caller's job (the database).
pub fn verify(assertion: &str, psa_id: &str, launch_secret: &str) -> Result<Assertion, ApiError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| rejected("malformed"))?;
    if header.alg != Algorithm::HS256 {
        return Err(rejected("the algorithm must be HS256"));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    validation.validate_nbf = true;
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[psa_id]);
    // `sub` is checked by deserialising `Claims`: the library's own check wants a string.
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    let key = DecodingKey::from_secret(launch_secret.as_bytes());
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => rejected("it has expired"),
                ErrorKind::ImmatureSignature => rejected("it is not valid yet"),
                // Everything the library checks before the signature holds (an undecodable
                // signature, a broken shape) answers like a wrong signature: only the
                // tenant's secret may tell more.
                ErrorKind::InvalidSignature
                | ErrorKind::Base64(_)
                | ErrorKind::InvalidToken
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName => not_from_a_known_launcher(),
                ErrorKind::InvalidAudience => rejected("wrong audience"),
                ErrorKind::InvalidIssuer => rejected("wrong issuer"),
                ErrorKind::MissingRequiredClaim(claim) => rejected(format!("no {claim}")),
                _ => rejected("malformed claims (sub, iat, exp and jti are required)"),
            }
        })?
        .claims;
    if claims.exp - claims.iat > MAX_LIFETIME_SECS {
        return Err(rejected(format!(
            "its lifetime exceeds {MAX_LIFETIME_SECS} seconds"
        )));
    }
    if claims.iat > chrono::Utc::now().timestamp() + LEEWAY_SECS {
        return Err(rejected("it was issued in the future"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 200 || claims.jti.chars().any(char::is_control) {
        return Err(rejected(
            "jti must be 1 to 200 characters without control characters",
        ));
    }
    let resource_id = match claims.sub {
        SubjectId::Number(id) => id,
        SubjectId::Text(text) => text
            .parse()
            .map_err(|_| rejected("sub must be a resource id"))?,
    };
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0)
        .ok_or_else(|| rejected("exp is out of range"))?;
    Ok(Assertion {
        resource_id,
        jti: claims.jti,
        expires_at,
    })
}
