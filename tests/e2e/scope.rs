//! `ACTIVATE_SYNC_GROUPS`, the hard scope.

use testkit::activate::Resource as ActivateResource;
use testkit::request_log::Method;

use crate::expected::{assert_records, initial_state};
use crate::harness::World;

#[tokio::test(flavor = "multi_thread")]
async fn only_members_of_the_selected_groups_and_those_groups_are_synced() {
    let world = World::start().await;
    let output = world
        .run(&[], &[("ACTIVATE_SYNC_GROUPS", "ml-team, no-such-group")])
        .await;
    output.expect_code(0);
    assert!(
        output
            .stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains("no-such-group")),
        "the unknown group is warned about\n{output}"
    );
    let fixture = world.activate.fixture();
    let expected = initial_state(&fixture, Some(&["ml-team"]));
    assert_eq!(
        expected.users.keys().collect::<Vec<_>>(),
        [
            "alice.nguyen",
            "carmen.ruiz",
            "jules.martin",
            "zoe.lukasiewicz"
        ]
    );
    assert_eq!(expected.groups.keys().collect::<Vec<_>>(), ["ml-team"]);
    assert_records(&world.target.state().await, &expected);
    // Keys were fetched only for those who became users (kwame is an inactive member).
    assert_eq!(
        world
            .activate
            .log()
            .count(Method::Get, ActivateResource::SshKeys),
        4
    );

    // Moving the scope: the old members leave (deactivated), the old group is emptied
    // but kept, the new group and its members are created.
    let before = world.target.state().await;
    let output = world.run(&[], &[("ACTIVATE_SYNC_GROUPS", "admins")]).await;
    output.expect_code(0);
    let after = world.target.state().await;
    for name in [
        "alice.nguyen",
        "carmen.ruiz",
        "jules.martin",
        "zoe.lukasiewicz",
    ] {
        assert!(!after.users[name].active, "{name}");
        assert_eq!(after.user_ids[name], before.user_ids[name]);
    }
    for name in ["bob.okafor", "lena.fischer"] {
        assert!(after.users[name].active, "{name}");
    }
    assert_eq!(after.users.len(), 6);
    assert!(after.groups["ml-team"].members.is_empty());
    assert_eq!(after.group_ids["ml-team"], before.group_ids["ml-team"]);
    assert_eq!(
        after.groups["admins"].members,
        ["bob.okafor", "lena.fischer"].map(str::to_owned).into()
    );
    assert_eq!(after.groups.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_that_selects_nobody_takes_nothing_away() {
    let world = World::start().await;
    world.sync().await;
    let snapshot = world.scim().snapshot();
    let writes = world.scim().log().writes();
    // A typo in the only group name: nobody is in scope. That looks exactly like
    // everyone leaving, so nothing is deactivated and no group is emptied.
    let output = world
        .run(
            &["--output", "json"],
            &[("ACTIVATE_SYNC_GROUPS", "gpu-userz")],
        )
        .await;
    output.expect_code(4);
    let document = output.json();
    assert_eq!(
        document["plan"]["guards"]["tripped"],
        serde_json::json!(["empty_source"])
    );
    assert_eq!(document["plan"]["summary"]["deactivate_users"], 0);
    assert_eq!(document["plan"]["summary"]["empty_groups"], 0);
    assert!(
        output
            .stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains("gpu-userz")),
        "{output}"
    );
    assert_eq!(world.scim().log().writes(), writes);
    assert_eq!(world.scim().snapshot(), snapshot);
}
