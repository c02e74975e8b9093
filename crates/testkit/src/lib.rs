//! Local stand-ins for CoreWeave's SCIM endpoint and the ACTIVATE API, for tests,
//! the `demo` command and benchmarks.
//!
//! - [`peer`]: starts `scim2-server`, an independent SCIM implementation, as a
//!   conformance peer.
//!
//! This crate is test support. It is not part of the production sync path; the CLI
//! links it only for its `demo` subcommand.

pub mod peer;
