//! `pw-activate-scim-sync`: see the `pw_scim_sync_cli` crate.

fn main() -> std::process::ExitCode {
    pw_scim_sync_cli::main()
}
