//! The tenant (SPEC S6, S10): its settings ([`settings`]), and the operator's provisioning
//! ([`provision`], driven from the command line by [`cli`] and by the demo seeding).

pub mod cli;
pub mod oidc_settings;
pub mod provision;
pub mod settings;
