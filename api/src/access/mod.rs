//! Who gets hub access (SPEC S2, S2.1, S2.2): the Users tab ([`users`]) and the Access tab's
//! set of elevated security levels ([`levels`]). Elevated callers only.

pub mod levels;
pub mod users;
