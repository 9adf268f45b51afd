//! Who the caller is (SPEC S3): launch sign-in, sessions, access tokens, API tokens, and the
//! [`Caller`] extractor every protected handler takes.

pub mod access_token;
pub mod api_tokens;
pub mod caller;
pub mod engine;
pub mod keys;
pub mod launch;
pub mod lookup;
pub mod oidc;
pub mod prune;
pub mod rate_limit;
pub mod secret;
pub mod session;
pub mod users;

pub use caller::{Caller, Credential};
