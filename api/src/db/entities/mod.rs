//! sea-orm entities for the tables the API reads and writes. The schema itself is SQL in the
//! migrations crate; these mirror it column for column.

pub mod accounting_mappings;
pub mod activity_log;
pub mod api_tokens;
pub mod connection_endpoints;
pub mod connection_groups;
pub mod connection_views;
pub mod connections;
pub mod elevated_levels;
pub mod invitations;
pub mod launch_assertions;
pub mod payments;
pub mod psa_settings;
pub mod refresh_tokens;
pub mod role_assignments;
pub mod security_levels;
pub mod sessions;
pub mod sync_runs;
pub mod tenant_settings;
pub mod tenants;
pub mod users;
