//! Integration tests of the ACTIVATE client against wiremock and a fake `pw` program.

mod auth;
mod errors;
mod groups;
mod keys;
mod probe;
#[cfg(unix)]
mod pw_cli;
mod scim;
mod snapshot;
mod support;
mod users;
