//! Connections (SPEC S4, S5, S7): the aggregate at the heart of the hub, and everything done
//! to one. [`guard`] applies the order of checks every write follows (load and lock, 404,
//! kind, roles, cancelled) once; the other modules are the services of one area each. Their
//! writes take the transaction their handler began, except answering an invitation, which
//! must commit the expiry of a stale one before refusing it (see `invitations`).

pub mod billing;
pub mod endpoints;
pub mod guard;
pub mod invitations;
pub mod members;
pub mod ownership;
pub mod read;
pub mod runs;
pub mod settings;
pub mod views;
