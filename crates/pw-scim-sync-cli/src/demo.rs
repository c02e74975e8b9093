//! `pw-activate-scim-sync demo`: a real sync against the bundled emulators, through
//! the same HTTP code paths as production, with no credentials.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use testkit::activate::{ActivateEmulator, ActivateOptions, FixtureUser};
use testkit::request_log::Method;
use testkit::scim::{ScimEmulator, ScimOptions};
use url::Url;

use crate::cli::KeysSource;
use crate::exit::Exit;
use crate::run::{self, Mode};
use crate::settings::{ActivateSettings, RunSettings, ScimSettings, Settings, SourceSettings};

/// Runs the demo: first sync, a second one with nothing to do, a change in the
/// organization (someone leaves, a key rotates, someone joins), and a last sync.
pub async fn demo(run_settings: RunSettings) -> Result<Exit> {
    let activate = ActivateEmulator::start(ActivateOptions::default())
        .await
        .context("cannot start the ACTIVATE emulator")?;
    let scim = ScimEmulator::start(ScimOptions::default())
        .await
        .context("cannot start the SCIM emulator")?;
    let settings = Settings {
        activate: ActivateSettings {
            credential: SecretString::from(activate.api_key().to_owned()),
            credential_var: crate::env_vars::ACTIVATE_API_KEY.to_owned(),
            api_url: Some(Url::parse(activate.base_url())?),
            org_name: None,
            source: SourceSettings::Rest,
            keys_source: KeysSource::Api,
            pw_cli_path: "pw".into(),
        },
        scim: ScimSettings {
            base_url: Url::parse(scim.base_url())?,
            token: SecretString::from(scim.token().to_owned()),
        },
        run: run_settings,
    };
    let fixture = activate.fixture();
    println!(
        "Demo: the ACTIVATE emulator at {} serves organization {:?} ({} users, {} groups);\n\
         the SCIM emulator at {} stands in for CoreWeave IAM.\n",
        activate.base_url(),
        fixture.organization,
        fixture.users.len(),
        fixture.groups.len(),
        scim.base_url()
    );

    step(1, "first sync: every active user, key and group is created");
    sync(&settings, &scim).await?;

    step(2, "second sync: nothing changed, so nothing is written");
    let writes = sync(&settings, &scim).await?;
    if writes != 0 {
        bail!("the second sync wrote {writes} times; it should have converged");
    }

    step(
        3,
        "the organization changes: carmen.ruiz leaves, hana.sato rotates a key, \
         maya.cohen joins gpu-users",
    );
    activate.remove_user("carmen.ruiz")?;
    let rotated = testkit::synthetic::ed25519_key_line(&[7; 32], "hana@new-laptop");
    activate.set_ssh_keys("hana.sato", vec![rotated])?;
    activate.add_user(FixtureUser {
        name: Some("Maya Cohen".to_owned()),
        email: Some("maya.cohen@example-lab.org".to_owned()),
        uid: Some(10_013),
        ssh_keys: vec![testkit::synthetic::ed25519_key_line(
            &[9; 32],
            "maya@workstation",
        )],
        ..FixtureUser::new("65a1f3c2e4b0a1b2c3d4e00d", "maya.cohen")
    })?;
    activate.add_member("gpu-users", "maya.cohen")?;

    step(
        4,
        "third sync: deactivate (never delete), re-key, create, fix memberships",
    );
    sync(&settings, &scim).await?;

    show_no_access(&scim, "carmen.ruiz")?;

    step(5, "fourth sync: converged again");
    let writes = sync(&settings, &scim).await?;
    if writes != 0 {
        bail!("the last sync wrote {writes} times; it should have converged");
    }
    bulk_source_pass(&settings, &activate, &scim).await?;
    let deletes = scim.log().count_method(Method::Delete);
    if deletes != 0 {
        bail!("the SCIM emulator received {deletes} DELETE requests");
    }
    println!(
        "Demo complete: {} SCIM records, {} requests, none of them a DELETE.",
        scim.users().len() + scim.groups().len(),
        scim.log().total()
    );
    Ok(Exit::Success)
}

/// Step 6: a sync through ACTIVATE's read-only SCIM server (a SCIM emulator seeded
/// with the organization as that server shows it) must find nothing to change.
async fn bulk_source_pass(
    settings: &Settings,
    activate: &ActivateEmulator,
    scim: &ScimEmulator,
) -> Result<()> {
    step(
        6,
        "the same organization read through ACTIVATE's read-only SCIM server \
         (ACTIVATE_SOURCE=scim, a few pages instead of a key lookup per user): nothing to change",
    );
    let activate_scim = ScimEmulator::start(ScimOptions::default())
        .await
        .context("cannot start the SCIM emulator playing ACTIVATE's SCIM server")?;
    activate_scim
        .seed_snapshot(&activate.fixture().scim_view(true))
        .context("cannot seed ACTIVATE's SCIM server")?;
    let bulk = Settings {
        activate: ActivateSettings {
            source: SourceSettings::Scim {
                token: SecretString::from(activate_scim.token().to_owned()),
                url: Some(Url::parse(activate_scim.base_url())?),
            },
            credential: SecretString::from(activate.api_key().to_owned()),
            credential_var: crate::env_vars::ACTIVATE_API_KEY.to_owned(),
            api_url: settings.activate.api_url.clone(),
            org_name: Some(activate.organization()),
            keys_source: KeysSource::Api,
            pw_cli_path: "pw".into(),
        },
        scim: ScimSettings {
            base_url: settings.scim.base_url.clone(),
            token: SecretString::from(scim.token().to_owned()),
        },
        run: settings.run.clone(),
    };
    let writes = sync(&bulk, scim).await?;
    if writes != 0 {
        bail!(
            "the sync through ACTIVATE's SCIM server wrote {writes} times; both sources should agree"
        );
    }
    Ok(())
}

/// Checks and says that a departed user's record is kept but gives no access:
/// inactive, no SSH keys, in no group (removal must not depend on the cluster's
/// nsscache reading `active`).
fn show_no_access(scim: &ScimEmulator, user_name: &str) -> Result<()> {
    let user = scim
        .user_by_user_name(user_name)
        .with_context(|| format!("{user_name}'s record is gone; it should have been kept"))?;
    let keys = user[scim_client::model::COREWEAVE_USER_SCHEMA]["sunkSshKeys"]
        .as_array()
        .map_or(0, Vec::len);
    let id = user["id"].as_str().unwrap_or("?");
    let groups = scim
        .groups()
        .iter()
        .filter(|g| g["members"].to_string().contains(id))
        .count();
    if user["active"] != serde_json::json!(false) || keys != 0 || groups != 0 {
        bail!("{user_name} left but keeps access: {keys} keys, {groups} groups");
    }
    println!(
        "\n{user_name}'s record is kept, inactive, with no SSH keys and in no group: \
         no access, whatever the cluster's nsscache filter."
    );
    Ok(())
}

fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}\n");
}

/// One sync; returns the number of writes the SCIM emulator received.
async fn sync(settings: &Settings, scim: &ScimEmulator) -> Result<u64> {
    let before = scim.log().writes();
    let mut stdout = std::io::stdout();
    let report = run::sync(
        settings,
        Mode::Apply,
        Arc::new(AtomicBool::new(false)),
        &mut stdout,
    )
    .await?;
    if report.exit != Exit::Success {
        bail!("a demo sync ended with exit status {}", report.exit.code());
    }
    Ok(scim.log().writes() - before)
}
