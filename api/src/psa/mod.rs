//! The PSA directory (SPEC S3.1): where identities and security levels come from.
//!
//! One trait, two providers: [`directory::DirectoryPsa`] reads a TOML file (demos, small
//! offline installs) and [`autotask::AutotaskPsa`] speaks the Autotask REST v1.0 conventions.
//! The hub never writes to the PSA.

pub mod autotask;
pub mod directory;
pub mod registry;

use std::fmt::Debug;

pub use hubkeep_shared::directory::{DirectoryFile, PsaResource, PsaSecurityLevel};

/// Why the PSA could not answer. Every variant means "try again later" to the caller: sign-in
/// and refresh answer 503 `psa_unavailable` and change nothing.
#[derive(Debug, thiserror::Error)]
pub enum PsaError {
    /// Network failure, timeout, a 5xx, or a 429 that outlasted the retry budget.
    #[error("the PSA could not be reached: {0}")]
    Unavailable(String),
    /// The PSA refused the hub's API credentials (401, or Autotask's 500 for a bad
    /// integration code).
    #[error("the PSA refused the configured credentials: {0}")]
    Credentials(String),
    /// The PSA answered, but not in a shape the hub understands (malformed JSON, missing
    /// fields).
    #[error("the PSA answered something the hub cannot read: {0}")]
    Protocol(String),
    /// The provider's own configuration is unusable (unreadable directory file, bad URL).
    #[error("the PSA provider is misconfigured: {0}")]
    Config(String),
}

/// Read-only access to the PSA's security levels and resources.
#[async_trait::async_trait]
pub trait PsaDirectory: Send + Sync + Debug {
    /// Every security level, active or not.
    async fn security_levels(&self) -> Result<Vec<PsaSecurityLevel>, PsaError>;

    /// One resource by id; `Ok(None)` when the PSA has no such resource.
    async fn resource(&self, id: i64) -> Result<Option<PsaResource>, PsaError>;

    /// The resource with this email (compared case-insensitively); `Ok(None)` when none.
    async fn resource_by_email(&self, email: &str) -> Result<Option<PsaResource>, PsaError>;

    /// Every resource (the Users tab's "refresh from the PSA" reads them in one pass).
    async fn resources(&self) -> Result<Vec<PsaResource>, PsaError>;
}
