//! The PSA change feed (SPEC S12): offboarding in the PSA reaches every credential without
//! waiting for the person to sign in. A background job per tenant re-reads every hub user's
//! resource and the security levels ([`reconcile`]), one instance at a time through a lease
//! row ([`lease`]); `GET /api/v1/psa/status` tells how it went ([`status`]). Where Autotask
//! offers webhooks for Resources, a subscription ([`webhook`]) makes Autotask call the hub
//! when a resource changes ([`callout`]), which applies it within seconds.

pub mod apply;
pub mod callout;
pub mod lease;
pub mod reconcile;
pub mod status;
pub mod webhook;
