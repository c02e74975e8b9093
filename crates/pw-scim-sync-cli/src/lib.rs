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
