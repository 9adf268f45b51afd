//! One module per screen.

pub mod activity;
pub mod connection;
pub mod connections;
pub mod invitations;
pub mod not_found;
pub mod oidc;
pub mod outbox;
pub mod permissions;
pub mod preferences;
pub mod settings;
pub mod signin;
pub mod sync_status;
pub mod tokens;
pub mod users;
