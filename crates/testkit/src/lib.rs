//! Local stand-ins for CoreWeave's SCIM endpoint and the ACTIVATE API, for tests,
//! the `demo` command and benchmarks.
//!
//! - [`peer`]: starts `scim2-server`, an independent SCIM implementation, as a
//!   conformance peer.
//! - [`scim`]: a strict, in-memory SCIM emulator.
//! - [`activate`]: an ACTIVATE API emulator serving a [`activate::Fixture`].
//! - [`synthetic`]: large, deterministic synthetic organizations.
//!
//! This crate is test support. It is not part of the production sync path; the CLI
//! links it only for its `demo` subcommand.

pub mod activate;
mod clock;
pub mod faults;
mod gate;
mod net;
pub mod peer;
pub mod request_log;
pub mod scim;
pub mod synthetic;

use std::net::SocketAddr;

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listening socket could not be bound.
    #[error("could not listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An option is out of range.
    #[error("invalid emulator option: {0}")]
    InvalidOption(String),
}
