//! `pw-activate-scim-sync`: see the `pw_scim_sync_cli` crate.

/// mimalloc instead of glibc's allocator: a run allocates on several runtime
/// threads and frees most of what it read before it plans, and glibc's per-thread
/// arenas keep much of that memory. Its version 2 (the `v2` feature in the root
/// manifest) returns freed memory to the system 10 to 100 ms after it was freed, when
/// the allocator next runs; version 3 waits a second, and a run frees and allocates
/// tens of megabytes within a second (a page of large groups). Both lower the peak of
/// the largest runs, a 100,000-user steady state; `BENCHMARKS.md`, 6, compares them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pw_scim_sync_cli::main()
}
