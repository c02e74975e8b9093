//! Reads a whole organization from the bundled ACTIVATE emulator and prints it.
//!
//! ```sh
//! cargo run -p activate-client --example snapshot
//! ```
//!
//! Against a real platform, build the client from your API key instead:
//! `ActivateClient::builder(Credential::parse(&key)?).build()?`.

use activate_client::{ActivateClient, Credential, Scope};
use testkit::activate::{ActivateEmulator, ActivateOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = ActivateEmulator::start(ActivateOptions::default()).await?;
    let credential = Credential::parse(emulator.api_key())?;
    let client = ActivateClient::builder(credential)
        .api_url(emulator.base_url())
        .build()?;

    let snapshot = client.fetch_snapshot(&Scope::all()).await?;
    println!("organization {:?}", snapshot.org);
    for user in &snapshot.users {
        println!(
            "  {:<18} active={:<5} license={:?} keys={}",
            user.username,
            user.active,
            user.license_status,
            user.ssh_keys.as_ref().map_or(0, Vec::len)
        );
    }
    for group in &snapshot.groups {
        println!(
            "  group {:?}: {} members",
            group.name,
            group.member_ids.len()
        );
    }
    println!("{} requests", snapshot.stats.total());
    Ok(())
}
