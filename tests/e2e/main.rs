//! End-to-end tests of the `pw-activate-scim-sync` binary: the real binary as a child
//! process with a clean environment, the ACTIVATE emulator as the source and the SCIM
//! emulator (or the independent `scim2-server`) as the target.

mod check;
mod config;
mod conflicts;
mod dry_run;
mod edge_cases;
mod expected;
mod guards;
mod harness;
mod large;
mod monitoring;
mod observability;
mod ownership;
mod scenarios;
mod scim_source;
mod scope;
mod secrets;
mod server_quirks;
mod unusable;
