//! Ownership: records without the `pw-activate:` prefix are never touched; owned
//! records that match no source user are deactivated; records under an earlier key
//! scheme are re-keyed; ACTIVATE user names that differ only by case are conflicts.

use serde_json::json;
use testkit::activate::FixtureUser;
use testkit::scim::USER_SCHEMA;

use crate::expected::{user_key, user_view};
use crate::harness::{LogExt, World, count_map, counts, writes};

#[tokio::test(flavor = "multi_thread")]
async fn records_without_the_prefix_are_never_touched() {
    let world = World::start().await;
    let scim = world.scim();
    let mut foreign = Vec::new();
    for user in [
        json!({"schemas": [USER_SCHEMA], "userName": "okta-admin", "externalId": "okta:00u1", "active": true}),
        json!({"schemas": [USER_SCHEMA], "userName": "break-glass", "active": true}),
        // The prefix is case-sensitive: this one is not ours.
        json!({"schemas": [USER_SCHEMA], "userName": "legacy.carmen",
               "externalId": "PW-ACTIVATE:user:65a1f3c2e4b0a1b2c3d4e003", "active": true}),
    ] {
        foreign.push(scim.seed_user(user).unwrap());
    }
    let okta_group = scim
        .seed_group(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": "okta-admins", "externalId": "okta:g1",
                           "members": [{"value": foreign[0]}]}),
        )
        .unwrap();
    let before: Vec<_> = foreign.iter().map(|id| scim.user(id).unwrap()).collect();
    let group_before = scim.group(&okta_group).unwrap();

    world.sync().await;
    // Departures everywhere: still nothing happens to them.
    for name in ["carmen.ruiz", "alice.nguyen"] {
        world.activate.remove_user(name).unwrap();
    }
    world.sync().await;

    let after: Vec<_> = foreign.iter().map(|id| scim.user(id).unwrap()).collect();
    assert_eq!(after, before);
    assert_eq!(scim.group(&okta_group).unwrap(), group_before);
    for record in scim.log().records().iter().filter(|r| r.method.is_write()) {
        assert!(
            !foreign
                .iter()
                .chain([&okta_group])
                .any(|id| record.path.ends_with(id.as_str())),
            "{record:?}"
        );
    }
    assert_eq!(scim.users().len(), 3 + 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owned_record_of_someone_not_in_activate_is_deactivated_not_deleted() {
    let world = World::start().await;
    let orphan = world
        .scim()
        .seed_user(json!({"schemas": [USER_SCHEMA], "userName": "former.employee",
                          "externalId": "pw-activate:user:0000000000000000000000ff", "active": true}))
        .unwrap();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    assert_eq!(output.json()["plan"]["summary"]["deactivate_users"], 1);
    let record = world.scim().user(&orphan).unwrap();
    assert_eq!(record["active"], false);
    assert_eq!(record["userName"], "former.employee");
    let patches: Vec<_> = world
        .scim()
        .log()
        .records()
        .into_iter()
        .filter(|r| r.method.is_write() && r.path.ends_with(&orphan))
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(
        world
            .scim()
            .log()
            .count_method(testkit::request_log::Method::Delete),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_under_an_earlier_key_is_rekeyed_in_place() {
    let world = World::start().await;
    let legacy = world
        .scim()
        .seed_user(
            json!({"schemas": [USER_SCHEMA], "userName": "dmitri.volkov",
                          "externalId": "pw-activate:dmitri.volkov", "displayName": "D. Volkov",
                          "active": true}),
        )
        .unwrap();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    let summary = &output.json()["plan"]["summary"];
    assert_eq!(summary["rekey_users"], 1, "{output}");
    assert_eq!(summary["create_users"], 8, "{output}");

    let state = world.target.state().await;
    assert_eq!(state.user_ids["dmitri.volkov"], legacy, "the same record");
    let fixture = world.activate.fixture();
    assert_eq!(
        state.users["dmitri.volkov"],
        user_view(fixture.user("dmitri.volkov").unwrap(), true),
        "re-keyed and brought up to date"
    );
    assert_eq!(
        world
            .scim()
            .count_by_external_id(&user_key("65a1f3c2e4b0a1b2c3d4e004")),
        1
    );
    assert!(
        state.groups["research staff"]
            .members
            .contains("dmitri.volkov")
    );
    let written = counts(
        &writes(&world.scim().since(0))
            .into_iter()
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(written["Post Users"], 8);

    // Converged: the next run writes nothing.
    let from = world.scim().log().records().len();
    world.sync().await;
    assert!(writes(&world.scim().since(from)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn activate_user_names_differing_only_by_case_are_both_conflicts() {
    let world = World::start().await;
    world
        .activate
        .add_user(FixtureUser {
            name: Some("Alice Other".to_owned()),
            email: Some("alice.other@example-lab.org".to_owned()),
            ..FixtureUser::new("65a1f3c2e4b0a1b2c3d4e0fe", "Alice.Nguyen")
        })
        .unwrap();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(3);
    let document = output.json();
    assert_eq!(document["exit_code"], 3);
    let conflicts = document["plan"]["conflicts"].to_string();
    assert!(
        conflicts.contains("65a1f3c2e4b0a1b2c3d4e001")
            && conflicts.contains("65a1f3c2e4b0a1b2c3d4e0fe"),
        "both are reported: {conflicts}"
    );
    let state = world.target.state().await;
    assert!(
        !state
            .users
            .keys()
            .any(|n| n.eq_ignore_ascii_case("alice.nguyen")),
        "neither is written: {:?}",
        state.users.keys()
    );
    assert_eq!(state.users.len(), 8);
    let written = counts(
        &writes(&world.scim().since(0))
            .into_iter()
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        written,
        count_map(&[
            ("Post Users", 8),
            ("Patch Users", 1),
            ("Post Groups", 5),
            ("Patch Groups", 1)
        ])
    );
}
