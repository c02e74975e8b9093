//! Integration tests for reconcile-core: one scenario per reconcile rule
//! (insta snapshots of text and JSON plans), the apply orchestrator, and
//! proptest properties over generated organizations.

mod access;
mod apply;
mod held;
mod planner;
mod properties;
mod rules;
mod scale;
mod strategies;
mod support;
