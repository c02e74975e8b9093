//! `pw-activate-scim-sync`: see the `pw_scim_sync_cli` crate.

/// mimalloc instead of glibc's allocator: a run allocates on several runtime
/// threads and frees most of what it read before it plans, and glibc's per-thread
/// arenas keep much of that memory. Its version 2 (the `v2` feature in the root
/// manifest) returns freed memory to the system after 10 ms; version 3 waits a
/// second, and a run frees and allocates tens of megabytes within a second (a page
/// of large groups). Both lower the peak of the largest runs, a 100,000-user steady
/// state; `BENCHMARKS.md`, 6, compares them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // No transparent huge pages: a run is short, and with them every 2 MiB region
    // the allocator touches counts whole against the CronJob's memory limit. The
    // 100,000-user steady state peaked about 40 MiB higher with them (`BENCHMARKS.md`,
    // 6). The kernel may refuse (before Linux 3.15, or under a seccomp filter); the
    // run is then only larger, so the error is not fatal.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    pw_scim_sync_cli::main()
}
