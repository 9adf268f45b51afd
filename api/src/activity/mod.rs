//! The activity log (SPEC S7): [`write`] appends an entry inside the transaction of the change
//! it records; [`query`] reads entries back for the people allowed to see them.

pub mod query;
pub mod write;

pub use write::*;
