//! Local stand-ins for CoreWeave's SCIM endpoint and the ACTIVATE API, for the
//! end-to-end tests, the `demo` command, the reliability suite and the benchmarks.
//!
//! - [`scim`]: a strict, in-memory SCIM 2.0 server shaped like CoreWeave IAM
//!   ([`scim::ScimEmulator`]).
//! - [`activate`]: the ACTIVATE read API over a JSON [`activate::Fixture`]
//!   ([`activate::ActivateEmulator`]); [`activate::Fixture::example`] is a bundled
//!   example organization.
//! - [`synthetic`]: large, deterministic organizations for benchmarks and soak tests.
//! - [`faults`]: the one fault model (latency, rate limit, 429/500/503, connection
//!   resets, stalls, lost `POST` answers): a pure function of a seed, the request's
//!   identity and its occurrence, applied by both emulators and the proxy.
//! - [`proxy`]: a fault-injecting HTTP proxy for any server on loopback, with
//!   scripted answers and a request log.
//! - [`request_log`]: the per-request log and counters the emulators and the proxy
//!   keep.
//! - [`peer`]: starts `scim2-server`, an independent SCIM implementation, as a
//!   conformance peer.
//!
//! Each emulator starts on `127.0.0.1:0` inside the caller's tokio runtime, returns a
//! handle with its base URL, credentials, state and log accessors, and stops when the
//! handle is dropped. The binaries `scim-emulator` and `activate-emulator` wrap them
//! for manual use.
//!
//! This crate is test support. It is not part of the production sync path (the CLI
//! links it only for its `demo` subcommand), and it does not depend on the project's
//! client crates: the emulators check those clients independently.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use testkit::activate::{ActivateEmulator, ActivateOptions};
//! use testkit::request_log::Method;
//! use testkit::scim::{ScimEmulator, ScimOptions};
//!
//! let activate = ActivateEmulator::start(ActivateOptions::default()).await?;
//! let scim = ScimEmulator::start(ScimOptions::default()).await?;
//! // Point the reconciler at:
//! //   ACTIVATE_API_URL = activate.base_url(), ACTIVATE_API_KEY = activate.api_key()
//! //   CW_SCIM_BASE_URL = scim.base_url(),     CW_SCIM_BEARER_TOKEN = scim.token()
//! // … run it, then:
//! assert_eq!(scim.log().count_method(Method::Delete), 0);
//! println!("{} users in CoreWeave", scim.users().len());
//! # Ok(()) }
//! ```

pub mod activate;
mod clock;
pub mod faults;
mod gate;
mod net;
pub mod peer;
pub mod proxy;
pub mod request_log;
pub mod scim;
pub mod synthetic;

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Why an emulator or the proxy could not start.
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
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

/// Locks `mutex`, also when a panicking holder poisoned it (the state of a test
/// server stays usable for the test that reports the panic).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
