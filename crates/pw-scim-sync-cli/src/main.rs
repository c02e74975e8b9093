//! `pw-activate-scim-sync`: the CLI wiring is not written yet.

fn main() {
    eprintln!("pw-activate-scim-sync: not built yet");
    std::process::exit(1);
}
