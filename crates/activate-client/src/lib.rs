//! `activate-client`: under construction in this commit; see the crate description.
