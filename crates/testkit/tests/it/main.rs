//! Integration tests of the emulators, over real HTTP on loopback.

// Scenario tests read top to bottom, like the runs they stand for.
#![allow(clippy::too_many_lines)]

mod activate;
mod activate_scim;
mod conformance;
mod proxy;
mod scim;
mod scim_faults;
mod scim_quirks;
mod support;
mod synthetic;
mod transport_faults;
