//! The `pw-activate-scim-sync` command: configuration, wiring of the ACTIVATE and SCIM
//! clients into the reconcile engine, logging, metrics and exit codes.
//!
//! This crate is the thin outer layer; the logic lives in `reconcile-core`, the
//! protocols in `scim-client` and `activate-client`.

use std::process::ExitCode;

pub mod adapters;
pub mod app;
pub mod check;
pub mod cli;
pub mod clients;
#[cfg(feature = "demo")]
pub mod demo;
pub mod env_vars;
pub mod exit;
pub mod heartbeat;
pub mod hints;
pub mod logging;
pub mod metrics;
pub mod run;
pub mod settings;
pub mod values;

use exit::Exit;

/// Asks the kernel for no transparent huge pages in this process: a run is short,
/// and with them every 2 MiB region the allocator touches counts whole against the
/// CronJob's memory limit (the 100,000-user steady state peaked about 40 MiB higher
/// with them, `BENCHMARKS.md`, 6). A kernel that refuses (before Linux 3.15, or a
/// sandbox that filters `prctl`) leaves the run larger, not wrong: a warning says so.
fn disable_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!(
            %error,
            "transparent huge pages could not be disabled; the run may need more memory than the README's sizing table gives"
        );
    }
}

/// The program: `.env`, arguments, logging, then the command on a tokio runtime.
pub fn main() -> ExitCode {
    if let Err(error) = load_dotenv() {
        eprintln!("error: {error:#}");
        return Exit::Fatal.into();
    }
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    if let Err(error) = logging::init(cli.sync.log_level, cli.sync.log_format) {
        eprintln!("error: {error:#}");
        return Exit::Fatal.into();
    }
    disable_huge_pages();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return Exit::Fatal.into();
        }
    };
    runtime.block_on(app::run(cli)).into()
}

/// Reads `.env` from the working directory, if there is one; variables already set in
/// the environment win.
fn load_dotenv() -> anyhow::Result<()> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!(e).context(".env in the working directory cannot be read")),
    }
}
