//! What the hardening families share: the summary line.

use crate::helpers::Backend;

/// Prints a family's summary line: `hardening summary | <family> | <backend> | <counts> |
/// <failures> failures`. Call it before asserting that `failures` is zero, so that the log
/// shows the counts either way.
pub fn summary(family: &str, backend: &Backend, counts: &str, failures: usize) {
    println!(
        "hardening summary | {family} | {} | {counts} | {failures} failures",
        backend.name()
    );
}
