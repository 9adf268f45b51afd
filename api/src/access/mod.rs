//! Who gets hub access (SPEC S2, S2.1, S2.2): the Users tab ([`users`]) and the Access tab's
//! set of elevated security levels ([`levels`]), for elevated callers only; and the people
//! picker's search ([`people`], SPEC S16), open to inviters as well.

pub mod levels;
pub mod people;
pub(crate) mod search;
pub mod users;
