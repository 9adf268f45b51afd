//! Tells the black-box tests whether PostgreSQL is configured (SPEC S17: a
//! PostgreSQL variant whose URL is unset is skipped visibly, never counted as passed).
//!
//! `cargo test` can only mark a test skipped ("ignored") at compile time, so the URL is read
//! here: with `HUBKEEP_TEST_POSTGRES_URL` set and non-empty, the `hubkeep_test_postgres` cfg
//! is on and each `::postgres` variant runs; without it, each shows as `ignored` with the
//! reason, and `tests/revocation.rs` fails the run when `CI` is set.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hubkeep_test_postgres)");
    println!("cargo::rerun-if-env-changed=HUBKEEP_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=build.rs");
    let configured =
        std::env::var("HUBKEEP_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty());
    if configured {
        println!("cargo::rustc-cfg=hubkeep_test_postgres");
    }
}
