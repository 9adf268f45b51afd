//! The PSA change feed (SPEC S12): offboarding in the PSA reaches every credential without
//! waiting for the person to sign in. A background job per tenant re-reads every hub user's
//! resource and the security levels ([`reconcile`]), one instance at a time through a lease
//! row ([`lease`]); `GET /api/v1/psa/status` tells how it went ([`status`]).

pub mod lease;
pub mod reconcile;
pub mod status;
