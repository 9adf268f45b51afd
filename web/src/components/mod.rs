//! Pieces shared by the pages.

pub mod error;
pub mod people;
pub mod resource;
pub mod shell;
pub mod ui;
pub mod unsaved;
