//! Reusable view pieces.

pub mod error;
