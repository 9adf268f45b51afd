//! The hardening suite (issue 8): attacks, faults and concurrency against the real server.
//! Every family prints one summary line (`hardening summary | family | backend | counts |
//! failures`) and fails when anything mismatched; `just test` runs these tests apart with
//! `--show-output` so that the lines appear in the log. docs/security.md maps each family to
//! the OWASP API Top 10 / ASVS items it checks.

pub mod common;
pub mod world;

mod bad_input;
mod concurrency;
mod function_sweep;
mod object_sweep;
mod properties;
mod tokens;
