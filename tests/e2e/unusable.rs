//! One ACTIVATE user record that cannot be used holds only itself: an empty username,
//! an entry that does not decode, a keys endpoint answering a sign-in page. Nothing is
//! written for that user, everyone else is synced, and the run exits 3.

use std::collections::BTreeMap;

use serde_json::Value;
use testkit::activate::{Faults, UserQuirk};

use crate::expected::user_key;
use crate::harness::{TargetKind, World};

const CARMEN: (&str, &str) = ("65a1f3c2e4b0a1b2c3d4e003", "carmen.ruiz");
const HANA: (&str, &str) = ("65a1f3c2e4b0a1b2c3d4e008", "hana.sato");
const BOB: (&str, &str) = ("65a1f3c2e4b0a1b2c3d4e002", "bob.okafor");

fn quirks(pairs: &[(&str, UserQuirk)]) -> Faults {
    Faults {
        user_quirks: pairs
            .iter()
            .map(|(name, quirk)| ((*name).to_owned(), *quirk))
            .collect(),
        ..Faults::default()
    }
}

/// The user's record and the display names of the groups that list it.
fn record_and_groups(world: &World, user_name: &str) -> (Value, Vec<String>) {
    let record = world
        .scim()
        .user_by_user_name(user_name)
        .expect("the user has a record");
    let id = record["id"].as_str().unwrap().to_owned();
    let mut groups: Vec<String> = world
        .scim()
        .groups()
        .into_iter()
        .filter(|g| {
            g["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["value"] == id.as_str()))
        })
        .map(|g| g["displayName"].as_str().unwrap().to_owned())
        .collect();
    groups.sort();
    (record, groups)
}

/// The writes the SCIM emulator received since `from` that address `scim_id`.
fn writes_to(world: &World, from: usize, scim_id: &str) -> usize {
    world
        .scim()
        .log()
        .records()
        .into_iter()
        .skip(from)
        .filter(|r| r.method.is_write() && r.path.ends_with(scim_id))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keys_endpoint_answering_a_sign_in_page_holds_that_user_and_keeps_their_keys() {
    let world = World::start().await;
    world.sync().await;
    let (hana_before, hana_groups) = record_and_groups(&world, HANA.1);
    assert!(
        hana_before["urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser"]
            ["sunkSshKeys"]
            .as_array()
            .is_some_and(|k| !k.is_empty()),
        "hana has keys to lose: {hana_before}"
    );
    assert_eq!(hana_groups, ["gpu-users", "research staff"]);

    // Hana's keys endpoint now answers a sign-in page with 200; Bob leaves, so
    // there is something else to do.
    world
        .activate
        .set_faults(quirks(&[(HANA.1, UserQuirk::KeysLoginPage)]));
    world.activate.set_user_active(BOB.1, false).unwrap();
    let from = world.scim().log().records().len();
    let output = world.run(&[], &[]).await;
    output.expect_code(3);
    let held = format!(
        "  ! ACTIVATE user \"{}\" (ACTIVATE id {}) cannot be used: its SSH keys cannot be read: \
         GET /api/users/{}/ssh-public-keys: the response is text/html, not a JSON string or \
         text/plain: \"Sign in - ACTIVATE Sign in to continue\"; nothing is written for it \
         (record and group memberships left as they are)",
        HANA.1, HANA.0, HANA.1
    );
    assert!(output.stdout.contains(&held), "{output}");
    assert!(
        output.stderr.contains("an ACTIVATE user cannot be used"),
        "the log names it too\n{output}"
    );

    // Hana: exactly as before, not written to.
    let (hana_after, hana_groups_after) = record_and_groups(&world, HANA.1);
    assert_eq!(hana_after, hana_before);
    assert_eq!(hana_groups_after, hana_groups);
    assert_eq!(
        writes_to(&world, from, hana_before["id"].as_str().unwrap()),
        0
    );
    // Bob: deactivated, keys cleared, out of his groups.
    let (bob, bob_groups) = record_and_groups(&world, BOB.1);
    assert_eq!(bob["active"], false, "{bob}");
    assert!(bob_groups.is_empty(), "{bob_groups:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_with_an_empty_username_among_good_users_is_held() {
    let world = World::start().await;
    world
        .activate
        .set_faults(quirks(&[(CARMEN.1, UserQuirk::EmptyUsername)]));
    // A first run: everyone but Carmen is created.
    let output = world.run(&[], &[]).await;
    output.expect_code(3);
    assert!(
        output.stdout.contains(&format!(
            "  ! ACTIVATE user with id {} cannot be used: the username is empty; nothing is written for it",
            CARMEN.0
        )),
        "{output}"
    );
    assert_eq!(world.scim().count_by_external_id(&user_key(CARMEN.0)), 0);
    assert_eq!(
        world.scim().users().len(),
        8,
        "the 9 active users but Carmen"
    );
    for group in world.scim().groups() {
        let members = group["members"].as_array().map_or(0, Vec::len);
        if group["displayName"] == "ml-team" {
            assert_eq!(members, 3, "alice, zoe and jules, not carmen: {group}");
        }
    }

    // Fixed in ACTIVATE: the next run creates her and converges.
    world.activate.set_faults(Faults::default());
    world.sync().await;
    assert_eq!(world.scim().count_by_external_id(&user_key(CARMEN.0)), 1);
    let (_, groups) = record_and_groups(&world, CARMEN.1);
    assert_eq!(groups, ["gpu-users", "ml-team"]);

    // Broken again: her record and memberships stay as they are.
    world
        .activate
        .set_faults(quirks(&[(CARMEN.1, UserQuirk::EmptyUsername)]));
    let before = record_and_groups(&world, CARMEN.1);
    world.run(&[], &[]).await.expect_code(3);
    assert_eq!(record_and_groups(&world, CARMEN.1), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_user_entry_in_a_page_holds_only_that_user() {
    let world = World::start().await;
    world.sync().await;
    let before = record_and_groups(&world, CARMEN.1);
    world
        .activate
        .set_faults(quirks(&[(CARMEN.1, UserQuirk::WrongType)]));
    world.activate.set_user_active(BOB.1, false).unwrap();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(3);
    let document = output.json();
    assert_eq!(
        document["plan"]["conflicts"],
        serde_json::json!([{
            "kind": "unusable_user",
            "user": CARMEN.0,
            "user_name": CARMEN.1,
            "reason": "the record does not decode: invalid type: string \"yes\", expected a boolean",
        }])
    );
    assert_eq!(record_and_groups(&world, CARMEN.1), before);
    assert_eq!(record_and_groups(&world, BOB.1).0["active"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_entry_without_an_id_makes_the_source_incomplete_and_removes_no_access() {
    let world = World::start().await;
    world.sync().await;
    // Carmen's entry loses its id: she cannot be told apart from a user who left.
    // Bob really leaves: his deactivation waits, like everyone's, for a complete
    // source.
    world
        .activate
        .set_faults(quirks(&[(CARMEN.1, UserQuirk::NoId)]));
    world.activate.remove_user(BOB.1).unwrap();
    let carmen = record_and_groups(&world, CARMEN.1);
    let bob = record_and_groups(&world, BOB.1);
    let output = world.run(&[], &[]).await;
    output.expect_code(4);
    assert!(
        output.stdout.contains(&format!(
            "  ! an ACTIVATE user record (\"{}\") has no usable id: the record does not decode: \
             missing field `id`; it cannot be told apart from a user who left, so the source \
             counts as incomplete and no access is removed this run",
            CARMEN.1
        )),
        "{output}"
    );
    assert!(
        output
            .stdout
            .contains("the source snapshot is incomplete: deactivations, group emptying and member removals are withheld"),
        "{output}"
    );
    assert_eq!(record_and_groups(&world, CARMEN.1), carmen);
    assert_eq!(record_and_groups(&world, BOB.1), bob);
}

/// The users a target holds by `userName`, and the sorted member names of each group.
async fn target_view(world: &World) -> (BTreeMap<String, Value>, BTreeMap<String, Vec<String>>) {
    let users: BTreeMap<String, Value> = world
        .target
        .users()
        .await
        .into_iter()
        .map(|mut u| {
            // What a server may recompute on a read; the attributes this tool writes stay.
            if let Some(object) = u.as_object_mut() {
                object.remove("meta");
            }
            (u["userName"].as_str().unwrap_or_default().to_owned(), u)
        })
        .collect();
    let name_of: BTreeMap<String, String> = users
        .iter()
        .map(|(name, u)| {
            (
                u["id"].as_str().unwrap_or_default().to_owned(),
                name.clone(),
            )
        })
        .collect();
    let groups = world
        .target
        .groups()
        .await
        .into_iter()
        .map(|g| {
            let mut members: Vec<String> = g["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| name_of.get(m["value"].as_str()?).cloned())
                .collect();
            members.sort();
            (
                g["displayName"].as_str().unwrap_or_default().to_owned(),
                members,
            )
        })
        .collect();
    (users, groups)
}

/// On either target: Hana's keys answer a sign-in page and Carmen's entry has an
/// empty username, while Bob leaves. Hana and Carmen are left exactly as they were
/// (records and memberships); Bob is deactivated and leaves his groups.
async fn held_users_are_left_as_they_were(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return; // scim2-server is not installed.
    };
    world.sync().await;
    let (users, groups) = target_view(&world).await;
    world.activate.set_faults(quirks(&[
        (HANA.1, UserQuirk::KeysLoginPage),
        (CARMEN.1, UserQuirk::EmptyUsername),
    ]));
    world.activate.set_user_active(BOB.1, false).unwrap();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(3);
    let document = output.json();
    let held: Vec<&str> = document["plan"]["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(held, [CARMEN.0, HANA.0], "{output}");

    let (users_after, groups_after) = target_view(&world).await;
    for name in [HANA.1, CARMEN.1] {
        assert_eq!(users_after[name], users[name], "{name}'s record");
        for (group, members) in &groups {
            assert_eq!(
                members.contains(&name.to_owned()),
                groups_after[group].contains(&name.to_owned()),
                "{name} in {group}"
            );
        }
    }
    assert_eq!(users_after[BOB.1]["active"], false);
    assert!(
        groups_after
            .values()
            .all(|m| !m.contains(&BOB.1.to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn held_users_are_left_as_they_were_on_the_emulator() {
    held_users_are_left_as_they_were(TargetKind::Emulator).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn held_users_are_left_as_they_were_on_scim2_server() {
    held_users_are_left_as_they_were(TargetKind::Peer).await;
}
