//! The `pw-activate-scim-sync` command: configuration, wiring of the ACTIVATE and SCIM
//! clients into the reconcile engine, logging, metrics and exit codes.
//!
//! This crate is the thin outer layer; the logic lives in `reconcile-core`, the
//! protocols in `scim-client` and `activate-client`.

pub mod cli;
pub mod env_vars;
pub mod exit;
pub mod heartbeat;
pub mod logging;
pub mod metrics;
pub mod settings;
