//! End-to-end test support: drives the built binary.
