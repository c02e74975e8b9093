//! Creates a user with SSH keys on the bundled SCIM emulator, lists the records owned by
//! the `pw-activate:` prefix, and deactivates one with a PATCH.
//!
//! ```sh
//! cargo run -p scim-client --example owned_users
//! ```

use scim_client::{Email, Name, NewUser, PatchOp, PatchOperation, ScimClient};
use secrecy::SecretString;
use testkit::scim::{ScimEmulator, ScimOptions};
use url::Url;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = ScimEmulator::start(ScimOptions::default()).await?;
    let client = ScimClient::builder(
        Url::parse(emulator.base_url())?,
        SecretString::from(emulator.token().to_owned()),
    )
    .build()?;

    let created = client
        .create_user(&NewUser {
            external_id: Some("pw-activate:user:42".to_owned()),
            name: Some(Name {
                formatted: Some("Ada Lovelace".to_owned()),
                given_name: Some("Ada".to_owned()),
                family_name: Some("Lovelace".to_owned()),
            }),
            display_name: Some("Ada Lovelace".to_owned()),
            emails: vec![Email::primary_work("ada@example.org")],
            sunk_ssh_keys: vec![testkit::synthetic::ed25519_key_line(&[1; 32], "ada@laptop")],
            ..NewUser::new("ada")
        })
        .await?;
    println!("created {} with id {}", created.user_name, created.id);

    let owned = client.list_users_with_prefix("pw-activate:").await?;
    println!("{} owned users ({})", owned.records.len(), owned.mode);

    let patch = PatchOp::new().with(PatchOperation::replace_active(false));
    client.patch_user(&created.id, &patch).await?;
    let after = client.get_user(&created.id).await?;
    println!("{} active: {}", after.user_name, after.is_active());
    Ok(())
}
