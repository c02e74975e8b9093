//! Reliability and security tests of the `pw-activate-scim-sync` binary: fault soak,
//! bad inputs, secrets.
