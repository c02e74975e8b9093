//! `reconcile-core`: under construction in this commit; see the crate description.
