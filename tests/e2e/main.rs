//! End-to-end tests of the `pw-activate-scim-sync` binary.
