//! Integration tests of `scim-client`: one binary, one module per concern.

mod bodies;
mod concurrent_paging;
mod config;
mod diagnostics;
mod errors;
mod limiter;
mod paging;
mod peer;
mod prefix;
mod props;
mod requests;
mod support;
