//! Integration tests of the API: each test boots the real server on a free port against a
//! fresh database (SQLite by default, PostgreSQL too when `HUBKEEP_TEST_POSTGRES_URL` is set).

mod helpers;
mod standin;

mod activity_log;
mod autotask;
mod connection_actions;
mod connections;
mod console;
mod demo;
mod foundation;
mod hardening;
mod identity;
mod members;
mod openapi;
mod psa;
mod runs;
mod schema;
mod settings;
mod users;
mod views;
