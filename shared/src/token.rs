//! API token scopes (SPEC S3.4).

use serde::{Deserialize, Serialize};

/// What a personal API token may do on behalf of its user.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenScope {
    /// Safe methods only (`GET`, `HEAD`).
    Read,
    /// Everything the user may do.
    ReadWrite,
}

impl TokenScope {
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::ReadWrite => "read_write",
        }
    }

    /// Whether a request with this HTTP method is within the scope.
    pub fn allows_method(self, method: &str) -> bool {
        match self {
            Self::ReadWrite => true,
            Self::Read => matches!(method, "GET" | "HEAD" | "OPTIONS"),
        }
    }
}
