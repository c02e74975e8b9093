//! Safety guards: the deactivation limit and its override, an incomplete source, an
//! empty organization.

use std::sync::Arc;

use serde_json::json;
use testkit::activate::{ActivateOptions, Faults, Fixture};
use testkit::scim::ScimOptions;

use crate::expected::assert_records;
use crate::harness::{FaultProxy, LogExt, World, count_map, counts, writes};

/// Writes the SCIM emulator received from log position `from` on.
fn writes_since(world: &World, from: usize) -> std::collections::BTreeMap<String, u64> {
    let records = world.scim().since(from);
    counts(&writes(&records).into_iter().cloned().collect::<Vec<_>>())
}

fn position(world: &World) -> usize {
    world.scim().log().records().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_deactivations_are_withheld_until_the_override() {
    let world = World::start().await;
    world.sync().await;
    let before = world.target.state().await;
    let snapshot = world.scim().snapshot();
    let leavers = ["carmen.ruiz", "dmitri.volkov", "lena.fischer"];
    for name in leavers {
        world.activate.remove_user(name).unwrap();
    }

    // Three planned, one allowed: all three withheld, and nothing else to do.
    let from = position(&world);
    let output = world
        .run(&["--output", "json"], &[("MAX_DEACTIVATIONS", "1")])
        .await;
    output.expect_code(4);
    let document = output.json();
    assert_eq!(document["exit_code"], 4);
    let guards = &document["plan"]["guards"];
    assert_eq!(guards["tripped"], json!(["deactivation_limit"]), "{output}");
    assert_eq!(guards["deactivations_planned"], 3);
    assert_eq!(guards["deactivations_allowed"], 1);
    assert_eq!(document["plan"]["summary"]["deactivate_users"], 0);
    assert_eq!(
        document["result"]["counts"]["deactivate"]["withheld"], 3,
        "{output}"
    );
    assert!(
        output.stderr.contains("safety guard tripped"),
        "{}",
        output.stderr
    );
    assert!(writes_since(&world, from).is_empty(), "{output}");
    assert_eq!(world.scim().snapshot(), snapshot, "nothing changed at all");

    // The environment form of the override, in a plan: shows what would be applied.
    let from = position(&world);
    let output = world
        .run(
            &["plan", "--output", "json"],
            &[
                ("MAX_DEACTIVATIONS", "1"),
                ("ALLOW_MASS_DEACTIVATION", "true"),
            ],
        )
        .await;
    output.expect_code(0);
    let document = output.json();
    assert_eq!(document["plan"]["guards"]["limit_overridden"], true);
    assert_eq!(document["plan"]["summary"]["deactivate_users"], 3);
    assert!(writes_since(&world, from).is_empty());

    // The flag applies them, and says so.
    let from = position(&world);
    let output = world
        .run(
            &["--allow-mass-deactivation"],
            &[("MAX_DEACTIVATIONS", "1")],
        )
        .await;
    output.expect_code(0);
    assert!(
        output.stderr.contains("--allow-mass-deactivation"),
        "the override is logged\n{output}"
    );
    assert_eq!(
        writes_since(&world, from),
        count_map(&[("Patch Users", 3), ("Patch Groups", 4)])
    );
    let mut expected = before.clone();
    for name in leavers {
        let user = expected.users.get_mut(name).unwrap();
        user.active = false;
        user.ssh_keys.clear();
        for group in expected.groups.values_mut() {
            group.members.remove(name);
        }
    }
    assert_records(&world.target.state().await, &expected);

    // Nothing pending any more: the limit does not matter.
    let from = position(&world);
    world
        .run(&[], &[("MAX_DEACTIVATIONS", "1")])
        .await
        .expect_code(0);
    assert!(writes_since(&world, from).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_percentage_limit_is_of_the_owned_active_users_rounded_down() {
    let world = World::start().await;
    world.sync().await;
    world.activate.remove_user("carmen.ruiz").unwrap();
    // 9 owned active users: 10% allows 0, 12% allows 1.
    let from = position(&world);
    let output = world
        .run(&["--output", "json"], &[("MAX_DEACTIVATIONS", "10%")])
        .await;
    output.expect_code(4);
    assert_eq!(output.json()["plan"]["guards"]["deactivations_allowed"], 0);
    assert!(writes_since(&world, from).is_empty());

    let from = position(&world);
    world
        .run(&[], &[("MAX_DEACTIVATIONS", "12%")])
        .await
        .expect_code(0);
    assert_eq!(
        writes_since(&world, from),
        count_map(&[("Patch Users", 1), ("Patch Groups", 2)])
    );
    assert!(!world.target.state().await.users["carmen.ruiz"].active);
}

/// A change that a complete read would apply: a departure, a key rotation, a new
/// member.
fn change_the_org(world: &World) {
    world.activate.remove_user("carmen.ruiz").unwrap();
    world
        .activate
        .set_ssh_keys(
            "hana.sato",
            vec![testkit::synthetic::ed25519_key_line(&[3; 32], "hana@new")],
        )
        .unwrap();
    world
        .activate
        .add_member("ml-team", "dmitri.volkov")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_total_that_does_not_match_writes_nothing_at_all() {
    let world = World::start().await;
    world.sync().await;
    let snapshot = world.scim().snapshot();
    change_the_org(&world);
    for offset in [1, -1] {
        world.activate.set_faults(Faults {
            total_offset: offset,
            ..Faults::default()
        });
        let from = position(&world);
        let output = world.run(&["--allow-mass-deactivation"], &[]).await;
        output.expect_code(1);
        assert!(
            output.stderr.contains(
                "could not read the ACTIVATE organization completely; nothing was written"
            ),
            "offset {offset}\n{output}"
        );
        assert!(writes_since(&world, from).is_empty(), "offset {offset}");
        assert_eq!(world.scim().snapshot(), snapshot);
    }
    // Once the source is whole again, the change goes through.
    world.activate.set_faults(Faults::default());
    let from = position(&world);
    world.sync().await;
    assert_eq!(
        writes_since(&world, from),
        count_map(&[("Patch Users", 2), ("Patch Groups", 2)])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_member_list_writes_nothing_at_all_and_a_failing_key_list_holds_its_user() {
    let world = World::start().await;
    let failing = "/api/organizations/example-lab/groups/research%20staff/members";
    let proxy = FaultProxy::start(
        world.activate.base_url(),
        Arc::new(move |target: &str| target.starts_with(failing).then_some(500)),
    )
    .await;
    let from = position(&world);
    let output = world
        .run(&[], &[("ACTIVATE_API_URL", proxy.base_url())])
        .await;
    output.expect_code(1);
    assert!(output.stderr.contains("nothing was written"), "{output}");
    assert!(writes_since(&world, from).is_empty(), "{output}");
    assert!(world.scim().users().is_empty() && world.scim().groups().is_empty());

    // One user's keys failing holds only that user: the others are created.
    let failing = "/api/users/hana.sato/ssh-public-keys";
    let proxy = FaultProxy::start(
        world.activate.base_url(),
        Arc::new(move |target: &str| target.starts_with(failing).then_some(500)),
    )
    .await;
    let output = world
        .run(&[], &[("ACTIVATE_API_URL", proxy.base_url())])
        .await;
    output.expect_code(3);
    assert!(
        output.stdout.contains(
            "ACTIVATE user \"hana.sato\" (ACTIVATE id 65a1f3c2e4b0a1b2c3d4e008) cannot be used: its SSH keys cannot be read: GET /api/users/hana.sato/ssh-public-keys: HTTP 500"
        ),
        "{output}"
    );
    assert!(world.scim().user_by_user_name("hana.sato").is_none());
    assert_eq!(world.scim().users().len(), 8);

    // Through the same proxy with no fault, the run works: the proxy is not the cause.
    let proxy = FaultProxy::start(world.activate.base_url(), Arc::new(|_: &str| None)).await;
    world
        .run(&[], &[("ACTIVATE_API_URL", proxy.base_url())])
        .await
        .expect_code(0);
    assert_eq!(world.scim().users().len(), 9);
}

fn empty_org() -> Fixture {
    Fixture {
        organization: "example-lab".to_owned(),
        organization_id: None,
        users: Vec::new(),
        groups: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_organization_deactivates_nothing() {
    let world = World::start().await;
    world.sync().await;
    let snapshot = world.scim().snapshot();
    world.activate.set_fixture(empty_org()).unwrap();
    for args in [
        &["--output", "json"][..],
        &["--output", "json", "--allow-mass-deactivation"],
    ] {
        let from = position(&world);
        let output = world.run(args, &[]).await;
        output.expect_code(4);
        let document = output.json();
        assert_eq!(
            document["plan"]["guards"]["tripped"],
            json!(["empty_source"])
        );
        assert_eq!(document["plan"]["summary"]["deactivate_users"], 0);
        assert_eq!(document["plan"]["summary"]["empty_groups"], 0);
        assert!(writes_since(&world, from).is_empty(), "{args:?}\n{output}");
        assert_eq!(world.scim().snapshot(), snapshot, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_organization_against_an_empty_target_is_fine() {
    let world = World::with(
        ActivateOptions {
            fixture: empty_org(),
            ..ActivateOptions::default()
        },
        ScimOptions::default(),
    )
    .await;
    let output = world.sync().await;
    assert!(
        output
            .stdout
            .starts_with("No changes: the target matches the source."),
        "{output}"
    );
    assert_eq!(world.scim().log().writes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fatal_run_still_prints_one_json_document() {
    let world = World::start().await;
    world.activate.set_faults(Faults {
        total_offset: 1,
        ..Faults::default()
    });
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(1);
    let document = output.json();
    assert_eq!(document["exit_code"], 1);
    assert_eq!(document["mode"], "apply");
    assert_eq!(document["plan"], serde_json::Value::Null);
    let error = document["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "could not read the ACTIVATE organization completely; nothing was written: "
        ),
        "{error}"
    );
    assert!(error.contains("incomplete user list"), "{error}");
}
