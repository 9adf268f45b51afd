//! Hubkeep's shared vocabulary: the permission matrix (who may do what, at hub level and on a
//! connection), the access-level computation of SPEC S2, connection kinds and their
//! capabilities (S4), and the problem+json error shape (S8).
//!
//! The API enforces with these functions and the console uses the very same ones to decide
//! what to show, so the two can never disagree. This crate always compiles for
//! `wasm32-unknown-unknown`: its server-side dependencies are optional, utoipa's schema
//! derives behind the `openapi` feature and sea-orm's `ActiveEnum`/value types behind `db`,
//! which only the server enables.

#[macro_use]
mod wire;

pub mod access;
pub mod api;
pub mod connection;
pub mod directory;
pub mod fields;
pub mod ids;
pub use ids::{ConnectionId, InvitationId, NotificationId, RunId, TokenId, UserId, ViewId};
pub mod hub;
pub mod matrix;
pub mod problem;
pub mod psa;
pub mod token;
pub mod users;

pub use access::{
    AccessDecision, AccessInputs, AccessSource, Elevation, HubAccess, LevelFact, LevelFacts,
    access_decision, access_level,
};
pub use connection::{
    ConnectionAction, ConnectionKind, ConnectionRole, KindCapabilities, System,
    allowed_connection_actions, can_invite, can_invite_anyone, can_remove_role, connection_allows,
    role_allows,
};
pub use directory::{DirectoryFile, DirectoryProblem, PsaResource, PsaSecurityLevel};
pub use hub::{HubAction, allowed_hub_actions, hub_allows};
pub use matrix::{PermissionMatrix, permissions_markdown};
pub use problem::{FieldError, Problem, ProblemCode};
pub use psa::{PsaMisconfiguration, PsaTestReport, PsaTestStep, PsaTestStepResult};
pub use token::TokenScope;
pub use users::{UserAction, UserChange, UserRow, allowed_user_actions, check_user_change};
