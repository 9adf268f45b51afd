//! Pieces shared by the pages.

pub mod error;
pub mod shell;
pub mod ui;
