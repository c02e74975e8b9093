//! The main scenarios, run against both SCIM targets: the project's emulator (state
//! and request log) and the independent `scim2-server` (state only).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use testkit::request_log::Method;
use testkit::scim::{Resource, ScimOptions};

use crate::expected::{
    INVALID_KEY_LINES, assert_records, group_json, initial_state, is_active, normal_key,
    stored_group, stored_user, user_json,
};
use crate::harness::{LogExt, State, TargetKind, World, count_map, counts, writes};

/// The query of the owned listings, decoded: `filter=externalId sw "pw-activate:"`.
const OWNED_FILTER: &str = r#"filter=externalId sw "pw-activate:""#;

fn decode(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Messy key lines for alice: re-spaced, with a duplicate of the same key under
/// another comment and a blank line. The record must carry the key once, normalised,
/// with the first comment.
fn messy_alice_keys(world: &World) -> Vec<String> {
    let fixture = world.activate.fixture();
    let line = &fixture.user("alice.nguyen").unwrap().ssh_keys[0];
    let mut parts = line.split(' ');
    let (algorithm, data) = (parts.next().unwrap(), parts.next().unwrap());
    vec![
        format!("  {algorithm}\t {data}   alice.nguyen@laptop  "),
        String::new(),
        format!("{algorithm} {data} alice@same-key-other-comment"),
    ]
}

/// First sync into an empty target: exactly the users and groups the rules derive from
/// the fixture. Returns the resulting state.
async fn first_sync(world: &World) -> State {
    world
        .activate
        .set_ssh_keys("alice.nguyen", messy_alice_keys(world))
        .unwrap();
    let fixture = world.activate.fixture();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    let summary = &output.json()["plan"]["summary"];
    assert_eq!(summary["create_users"], 9, "{output}");
    assert_eq!(summary["create_groups"], 5, "{output}");

    let state = world.target.state().await;
    let expected = initial_state(&fixture, None);
    // Spelled out, so that the derivation itself is checked against the fixture.
    assert_eq!(
        expected.users.keys().collect::<Vec<_>>(),
        [
            "Ivan.Petrov",
            "alice.nguyen",
            "bob.okafor",
            "carmen.ruiz",
            "dmitri.volkov",
            "hana.sato",
            "jules.martin",
            "lena.fischer",
            "zoe.lukasiewicz"
        ]
    );
    assert_eq!(
        expected.users["alice.nguyen"].ssh_keys,
        [normal_key(
            &fixture.user("alice.nguyen").unwrap().ssh_keys[0]
        )]
        .into()
    );
    assert_eq!(expected.users["hana.sato"].ssh_keys.len(), 2);
    assert!(
        fixture.user("hana.sato").unwrap().ssh_keys[1] == INVALID_KEY_LINES[0],
        "the invalid line is in the fixture"
    );
    assert_eq!(
        expected.groups["gpu-users"].members,
        [
            "Ivan.Petrov",
            "alice.nguyen",
            "bob.okafor",
            "carmen.ruiz",
            "hana.sato",
            "zoe.lukasiewicz"
        ]
        .map(str::to_owned)
        .into()
    );
    assert!(expected.groups["interns"].members.is_empty());
    assert_records(&state, &expected);

    if let Some(scim) = world.target.emulator() {
        // Exact stored JSON, attribute for attribute.
        for user in fixture.users.iter().filter(|u| is_active(u)) {
            let stored = scim.user_by_user_name(&user.username).unwrap();
            assert_eq!(stored_user(stored), user_json(user), "{}", user.username);
        }
        for group in &fixture.groups {
            let stored = scim
                .groups()
                .into_iter()
                .find(|g| g["displayName"] == group.name.as_str())
                .unwrap();
            let member_ids: Vec<String> = expected.groups[&group.name]
                .members
                .iter()
                .map(|name| state.user_ids[name].clone())
                .collect();
            assert_eq!(
                stored_group(stored),
                group_json(&group.name, &group.id, &member_ids),
                "{}",
                group.name
            );
        }
        let written = counts(
            &writes(&scim.log().records())
                .into_iter()
                .cloned()
                .collect::<Vec<_>>(),
        );
        // The first user and the first group go out disarmed (inactive and
        // without keys; without members) and are armed by one PATCH each once
        // their answers proved that the server keeps the ownership mark.
        assert_eq!(
            written,
            count_map(&[
                ("Post Users", 9),
                ("Patch Users", 1),
                ("Post Groups", 5),
                ("Patch Groups", 1)
            ])
        );
    }
    state
}

/// One more run that must find nothing to do and write nothing.
async fn assert_converged(world: &World, before: &State) {
    let from = world.target.emulator().map(|s| s.log().records().len());
    let snapshot = world
        .target
        .emulator()
        .map(testkit::scim::ScimEmulator::snapshot);
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    let document = output.json();
    for (key, value) in document["plan"]["summary"].as_object().unwrap() {
        if key != "warnings" {
            assert_eq!(value, &json!(0), "plan.summary.{key}\n{output}");
        }
    }
    // The binary's own count of SCIM requests: the ServiceProviderConfig (for the
    // paging method) and the two owned listings, all 200.
    assert_eq!(document["requests"]["scim"], json!({"200": 3}), "{output}");
    assert_eq!(&world.target.state().await, before);
    if let (Some(scim), Some(from), Some(snapshot)) = (world.target.emulator(), from, snapshot) {
        let records = scim.since(from);
        let mut reads: Vec<(Method, Resource, String)> = records
            .iter()
            .map(|r| {
                (
                    r.method,
                    r.resource,
                    decode(r.query.as_deref().unwrap_or("")),
                )
            })
            .collect();
        reads.sort();
        assert_eq!(
            reads,
            [
                (
                    Method::Get,
                    Resource::Users,
                    format!("{OWNED_FILTER}&startIndex=1&count=100")
                ),
                (
                    Method::Get,
                    Resource::Groups,
                    format!("{OWNED_FILTER}&startIndex=1&count=100")
                ),
                (Method::Get, Resource::ServiceProviderConfig, String::new()),
            ]
        );
        assert_eq!(scim.snapshot(), snapshot, "records unchanged byte for byte");
    }
}

/// The writes a run made, per `"Method Resource"`, and the paths written.
fn writes_since(world: &World, from: usize) -> (BTreeMap<String, u64>, Vec<String>) {
    let records = world.scim().since(from);
    let written: Vec<_> = writes(&records).into_iter().cloned().collect();
    let paths = written.iter().map(|r| r.path.clone()).collect();
    (counts(&written), paths)
}

fn checkpoint(world: &World) -> Option<usize> {
    world.target.emulator().map(|s| s.log().records().len())
}

/// Initial sync: exact state.
pub async fn initial_sync(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    first_sync(&world).await;
}

/// A second run writes nothing; its SCIM reads are the two owned listings.
pub async fn second_run_writes_nothing(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let state = first_sync(&world).await;
    assert_converged(&world, &state).await;
}

/// Leaving (removed, set inactive, license inactive) deactivates in place, empties the
/// keys in the same PATCH and drops group memberships; coming back reactivates the same
/// records with their keys.
pub async fn leave_and_return(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    let carmen = world
        .activate
        .fixture()
        .user("carmen.ruiz")
        .unwrap()
        .clone();
    world.activate.remove_user("carmen.ruiz").unwrap();
    world
        .activate
        .set_user_active("alice.nguyen", false)
        .unwrap();
    world
        .activate
        .set_license_status("bob.okafor", testkit::activate::LicenseStatus::Inactive)
        .unwrap();

    let from = checkpoint(&world);
    world.sync().await;
    let left = world.target.state().await;
    let mut expected = before.clone();
    for name in ["carmen.ruiz", "alice.nguyen", "bob.okafor"] {
        // nsscache does not read `active`: the keys go in the same PATCH.
        let user = expected.users.get_mut(name).unwrap();
        (user.active, user.ssh_keys) = (false, BTreeSet::new());
        for group in expected.groups.values_mut() {
            group.members.remove(name);
        }
    }
    assert_records(&left, &expected);
    assert_eq!(
        left.user_ids, before.user_ids,
        "no record deleted or replaced"
    );
    if let Some(from) = from {
        let (written, mut paths) = writes_since(&world, from);
        assert_eq!(
            written,
            count_map(&[("Patch Users", 3), ("Patch Groups", 3)])
        );
        paths.sort();
        let base = world
            .scim()
            .base_url()
            .split("/scim/")
            .nth(1)
            .unwrap()
            .to_owned();
        let mut want: Vec<String> = ["carmen.ruiz", "alice.nguyen", "bob.okafor"]
            .iter()
            .map(|n| format!("/scim/{base}/Users/{}", before.user_ids[*n]))
            .chain(
                ["gpu-users", "ml-team", "admins"]
                    .iter()
                    .map(|g| format!("/scim/{base}/Groups/{}", before.group_ids[*g])),
            )
            .collect();
        want.sort();
        assert_eq!(paths, want);
    }

    world.activate.add_user(carmen).unwrap();
    world
        .activate
        .add_member("gpu-users", "carmen.ruiz")
        .unwrap();
    world.activate.add_member("ml-team", "carmen.ruiz").unwrap();
    world
        .activate
        .set_user_active("alice.nguyen", true)
        .unwrap();
    world
        .activate
        .set_license_status("bob.okafor", testkit::activate::LicenseStatus::Active)
        .unwrap();
    // Bob also changed a key while away: reactivated with the change, in one PATCH.
    let bob_key = testkit::synthetic::ed25519_key_line(&[11; 32], "bob@back");
    world
        .activate
        .set_ssh_keys("bob.okafor", vec![bob_key.clone()])
        .unwrap();
    let from = checkpoint(&world);
    world.sync().await;
    let back = world.target.state().await;
    let mut expected = before.clone();
    expected.users.get_mut("bob.okafor").unwrap().ssh_keys = [normal_key(&bob_key)].into();
    assert_eq!(
        back, expected,
        "the same records, active and in their groups again"
    );
    if let Some(from) = from {
        let (written, _) = writes_since(&world, from);
        assert_eq!(
            written,
            count_map(&[("Patch Users", 3), ("Patch Groups", 3)]),
            "reactivated in place: no POST"
        );
    }
    assert_converged(&world, &back).await;
}

/// Reordered, re-spaced key lines are no change; a rotation is one PATCH of the keys.
pub async fn key_rotation(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    let hana = world.activate.fixture().user("hana.sato").unwrap().clone();

    let mut shuffled: Vec<String> = hana
        .ssh_keys
        .iter()
        .rev()
        .map(|l| format!("\t{}  ", l.replace(' ', "   ")))
        .collect();
    shuffled.insert(1, "   ".to_owned());
    world.activate.set_ssh_keys("hana.sato", shuffled).unwrap();
    assert_converged(&world, &before).await;

    let new_key = testkit::synthetic::ed25519_key_line(&[7; 32], "hana@new-laptop");
    let kept = hana.ssh_keys[0].clone();
    world
        .activate
        .set_ssh_keys("hana.sato", vec![new_key.clone(), kept.clone()])
        .unwrap();
    let hana_id = before.user_ids["hana.sato"].clone();
    let stored_before = world.target.emulator().map(|s| s.user(&hana_id).unwrap());
    let from = checkpoint(&world);
    world.sync().await;

    let after = world.target.state().await;
    let mut expected = before.clone();
    expected.users.get_mut("hana.sato").unwrap().ssh_keys =
        [normal_key(&new_key), normal_key(&kept)].into();
    assert_records(&after, &expected);
    assert_eq!(after.user_ids, before.user_ids);
    if let (Some(from), Some(stored_before)) = (from, stored_before) {
        let (written, paths) = writes_since(&world, from);
        assert_eq!(written, count_map(&[("Patch Users", 1)]));
        assert!(
            paths[0].ends_with(&format!("/Users/{hana_id}")),
            "{paths:?}"
        );
        // The record changed in its keys only (and the server's meta).
        let strip = |mut v: serde_json::Value| {
            let o = v.as_object_mut().unwrap();
            o.remove("meta");
            o.remove(testkit::scim::CW_USER_EXT);
            v
        };
        let stored_after = world.scim().user(&hana_id).unwrap();
        assert_eq!(strip(stored_after), strip(stored_before));
    }
    assert_converged(&world, &after).await;
}

/// A membership change is one PATCH of that group and no user write.
pub async fn membership_change(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    world
        .activate
        .add_member("ml-team", "dmitri.volkov")
        .unwrap();
    world
        .activate
        .remove_member("ml-team", "alice.nguyen")
        .unwrap();
    let from = checkpoint(&world);
    world.sync().await;

    let after = world.target.state().await;
    let mut expected = before.clone();
    let ml = expected.groups.get_mut("ml-team").unwrap();
    ml.members.insert("dmitri.volkov".to_owned());
    ml.members.remove("alice.nguyen");
    assert_records(&after, &expected);
    assert_eq!(after.group_ids, before.group_ids);
    if let Some(from) = from {
        let (written, paths) = writes_since(&world, from);
        assert_eq!(written, count_map(&[("Patch Groups", 1)]));
        assert!(
            paths[0].ends_with(&format!("/Groups/{}", before.group_ids["ml-team"])),
            "{paths:?}"
        );
    }
    assert_converged(&world, &after).await;
}

/// A change of name or email is one PATCH of that user, and nothing else.
pub async fn attribute_change(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    world
        .activate
        .update(|f| {
            let alice = f
                .users
                .iter_mut()
                .find(|u| u.username == "alice.nguyen")
                .unwrap();
            alice.name = Some("Alice  Nguyen-Tran".to_owned());
            alice.email = Some("alice.nguyen-tran@example-lab.org".to_owned());
            let dmitri = f
                .users
                .iter_mut()
                .find(|u| u.username == "dmitri.volkov")
                .unwrap();
            dmitri.name = Some("Dmitri".to_owned());
            Ok(())
        })
        .unwrap();
    let from = checkpoint(&world);
    world.sync().await;

    let after = world.target.state().await;
    let mut expected = before.clone();
    let alice = expected.users.get_mut("alice.nguyen").unwrap();
    alice.family_name = Some("Nguyen-Tran".to_owned());
    alice.formatted = Some("Alice Nguyen-Tran".to_owned());
    alice.display_name = Some("Alice Nguyen-Tran".to_owned());
    alice.emails = vec![(
        "alice.nguyen-tran@example-lab.org".to_owned(),
        Some("work".to_owned()),
        true,
    )];
    // One word: the given name only; the family name is removed.
    let dmitri = expected.users.get_mut("dmitri.volkov").unwrap();
    dmitri.given_name = Some("Dmitri".to_owned());
    dmitri.family_name = None;
    dmitri.formatted = Some("Dmitri".to_owned());
    dmitri.display_name = Some("Dmitri".to_owned());
    assert_records(&after, &expected);
    assert_eq!(after.user_ids, before.user_ids);
    if let Some(from) = from {
        let (written, _) = writes_since(&world, from);
        assert_eq!(written, count_map(&[("Patch Users", 2)]));
    }
    assert_converged(&world, &after).await;
}

/// A user renamed in ACTIVATE (same id) is renamed in place: one PATCH, same record,
/// still in the same groups.
pub async fn user_renamed(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    world
        .activate
        .update(|f| {
            for user in &mut f.users {
                if user.username == "jules.martin" {
                    "jules.martin-dupont".clone_into(&mut user.username);
                }
            }
            for member in f.groups.iter_mut().flat_map(|g| g.members.iter_mut()) {
                if member == "jules.martin" {
                    "jules.martin-dupont".clone_into(member);
                }
            }
            Ok(())
        })
        .unwrap();
    let from = checkpoint(&world);
    world.sync().await;

    let after = world.target.state().await;
    let mut expected = before.clone();
    let jules = expected.users.remove("jules.martin").unwrap();
    expected
        .users
        .insert("jules.martin-dupont".to_owned(), jules);
    let ml = expected.groups.get_mut("ml-team").unwrap();
    ml.members.remove("jules.martin");
    ml.members.insert("jules.martin-dupont".to_owned());
    assert_records(&after, &expected);
    assert_eq!(
        after.user_ids["jules.martin-dupont"],
        before.user_ids["jules.martin"]
    );
    if let Some(from) = from {
        let (written, _) = writes_since(&world, from);
        assert_eq!(written, count_map(&[("Patch Users", 1)]));
    }
    assert_converged(&world, &after).await;
}

/// Removing every key and the email clears them on the record; the next run sees no
/// difference (an empty list and an absent attribute are the same).
pub async fn keys_and_email_removed(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    world
        .activate
        .set_ssh_keys("lena.fischer", Vec::new())
        .unwrap();
    world
        .activate
        .update(|f| {
            for user in &mut f.users {
                if user.username == "lena.fischer" {
                    user.email = None;
                }
            }
            Ok(())
        })
        .unwrap();
    let from = checkpoint(&world);
    world.sync().await;
    let after = world.target.state().await;
    let mut expected = before.clone();
    let lena = expected.users.get_mut("lena.fischer").unwrap();
    lena.ssh_keys.clear();
    lena.emails.clear();
    assert_records(&after, &expected);
    if let Some(from) = from {
        let (written, _) = writes_since(&world, from);
        assert_eq!(written, count_map(&[("Patch Users", 1)]));
    }
    assert_converged(&world, &after).await;
}

/// A group deleted in ACTIVATE is emptied, not deleted; when it comes back (same id)
/// the same record is filled again.
pub async fn group_removed_and_restored(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let before = first_sync(&world).await;
    let fixture = world.activate.fixture();
    let admins = fixture.group("admins").unwrap().clone();
    world
        .activate
        .update(|f| {
            f.groups.retain(|g| g.name != "admins");
            Ok(())
        })
        .unwrap();
    let from = checkpoint(&world);
    world.sync().await;
    let emptied = world.target.state().await;
    let mut expected = before.clone();
    expected.groups.get_mut("admins").unwrap().members.clear();
    assert_records(&emptied, &expected);
    assert_eq!(emptied.group_ids, before.group_ids, "the record is kept");
    if let Some(from) = from {
        let (written, _) = writes_since(&world, from);
        assert_eq!(written, count_map(&[("Patch Groups", 1)]));
    }
    assert_converged(&world, &emptied).await;

    world.activate.update(|f| f.add_group(admins)).unwrap();
    world.sync().await;
    let restored = world.target.state().await;
    assert_eq!(restored, before);
    assert_converged(&world, &restored).await;
}

/// Defines one test per scenario and target.
macro_rules! on_both_targets {
    ($($scenario:ident),* $(,)?) => {
        mod emulator {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario(super::TargetKind::Emulator).await;
                }
            )*
        }
        mod scim2_server {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario(super::TargetKind::Peer).await;
                }
            )*
        }
    };
}

on_both_targets!(
    initial_sync,
    second_run_writes_nothing,
    leave_and_return,
    key_rotation,
    membership_change,
    attribute_change,
    user_renamed,
    keys_and_email_removed,
    group_removed_and_restored,
);

/// In steady state the reads are exactly the `ServiceProviderConfig` (for the paging
/// method) and the pages of the two owned listings, also when the server pages them
/// (page cap 4: 9 users in 3 pages, 5 groups in 2, the pages after the first fetched
/// concurrently).
#[tokio::test(flavor = "multi_thread")]
async fn steady_state_reads_are_the_owned_listing_pages() {
    let world = World::with(
        testkit::activate::ActivateOptions::default(),
        ScimOptions {
            page_cap: 4,
            ..ScimOptions::default()
        },
    )
    .await;
    world.sync().await;
    let from = world.scim().log().records().len();
    let output = world.sync().await;
    assert!(
        output
            .stdout
            .starts_with("No changes: the target matches the source."),
        "{output}"
    );
    let mut reads: Vec<(Method, Resource, String)> = world
        .scim()
        .since(from)
        .iter()
        .map(|r| {
            (
                r.method,
                r.resource,
                decode(r.query.as_deref().unwrap_or("")),
            )
        })
        .collect();
    reads.sort();
    let page = |resource, start: u32| {
        (
            Method::Get,
            resource,
            format!("{OWNED_FILTER}&startIndex={start}&count=100"),
        )
    };
    assert_eq!(
        reads,
        [
            page(Resource::Users, 1),
            page(Resource::Users, 5),
            page(Resource::Users, 9),
            page(Resource::Groups, 1),
            page(Resource::Groups, 5),
            (Method::Get, Resource::ServiceProviderConfig, String::new()),
        ]
    );
}
