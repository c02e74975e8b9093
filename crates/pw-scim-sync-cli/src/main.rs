//! `pw-activate-scim-sync`: see the `pw_scim_sync_cli` crate.

/// mimalloc instead of glibc's allocator: a run allocates on several runtime
/// threads and frees most of what it read before it plans, and glibc's per-thread
/// arenas keep much of that memory. It lowers the peak of the largest runs, a
/// 100,000-user steady state (`BENCHMARKS.md`, 6, compares the allocators).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pw_scim_sync_cli::main()
}
