//! Reliability and security tests of the `pw-activate-scim-sync` binary: fault soak,
//! bad inputs, secrets.
//!
//! Every test runs the real binary against the local emulators (`testkit`), each
//! behind a fault-injecting proxy (`testkit::proxy`). See `RELIABILITY.md` for what
//! is injected, the figures, and the commands that reproduce them.

mod catalogue;
mod findings;
mod fuzz_harness;
mod fuzz_smoke;
mod secrets;
mod soak;
mod support;
mod tls;
