//! Records the tool does not own: never modified, never adopted; a desired user name
//! they hold is a conflict.

use serde_json::json;

use testkit::activate::ActivateOptions;
use testkit::request_log::Method;
use testkit::scim::{Quirks, ScimOptions};

use crate::expected::user_key;
use crate::harness::{LogExt, Target, TargetKind, World};

/// Two records this tool does not own, holding desired user names (one with another
/// system's key, one with none). Returns their ids.
fn seed_foreign(world: &World) -> [String; 2] {
    let scim = world.scim();
    let foreign_alice = scim
        .seed_user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ALICE.NGUYEN",
            "externalId": "okta:00u1alice",
            "displayName": "Alice (Okta)",
            "active": true,
        }))
        .unwrap();
    let foreign_bob = scim
        .seed_user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Bob.Okafor",
            "active": false,
        }))
        .unwrap();
    [foreign_alice, foreign_bob]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_record_holding_a_desired_user_name_is_a_conflict() {
    let world = World::start().await;
    let scim = world.scim();
    let [foreign_alice, foreign_bob] = seed_foreign(&world);
    let alice_before = scim.user(&foreign_alice).unwrap();
    let bob_before = scim.user(&foreign_bob).unwrap();

    let output = world.run(&[], &[]).await;
    output.expect_code(3);
    let conflicts = [
        "Conflicts, not written (2):",
        "  ! userName of \"alice.nguyen\" (ACTIVATE id 65a1f3c2e4b0a1b2c3d4e001) is held by a record not managed by pw-activate; not written",
        "  ! userName of \"bob.okafor\" (ACTIVATE id 65a1f3c2e4b0a1b2c3d4e002) is held by a record not managed by pw-activate; not written",
    ]
    .join("\n");
    assert!(
        output.stdout.contains(&conflicts),
        "the plan reports both\n{output}"
    );
    assert!(output.stdout.contains("2 conflicts"), "{output}");

    // The foreign records are untouched, byte for byte, and were not written to.
    assert_eq!(scim.user(&foreign_alice).unwrap(), alice_before);
    assert_eq!(scim.user(&foreign_bob).unwrap(), bob_before);
    for record in scim.log().records().iter().filter(|r| r.method.is_write()) {
        assert!(
            !record.path.ends_with(&foreign_alice) && !record.path.ends_with(&foreign_bob),
            "{record:?}"
        );
    }
    // Nothing created for them; the others are.
    assert_eq!(
        scim.count_by_external_id(&user_key("65a1f3c2e4b0a1b2c3d4e001")),
        0
    );
    assert_eq!(
        scim.count_by_external_id(&user_key("65a1f3c2e4b0a1b2c3d4e002")),
        0
    );
    let state = world.target.state().await;
    assert_eq!(state.users.len(), 2 + 7);
    let owned: Vec<&String> = state
        .users
        .iter()
        .filter(|(_, u)| {
            u.external_id
                .as_deref()
                .is_some_and(|e| e.starts_with("pw-activate:"))
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        owned,
        [
            "Ivan.Petrov",
            "carmen.ruiz",
            "dmitri.volkov",
            "hana.sato",
            "jules.martin",
            "lena.fischer",
            "zoe.lukasiewicz"
        ]
    );
    // Groups hold neither the foreign records nor anyone for the conflicted names.
    let groups = &state.groups;
    for (group, want) in [
        (
            "gpu-users",
            &["Ivan.Petrov", "carmen.ruiz", "hana.sato", "zoe.lukasiewicz"][..],
        ),
        (
            "ml-team",
            &["carmen.ruiz", "jules.martin", "zoe.lukasiewicz"][..],
        ),
        ("admins", &["lena.fischer"][..]),
    ] {
        assert_eq!(
            groups[group].members,
            want.iter().map(|s| (*s).to_owned()).collect(),
            "{group}"
        );
    }

    // The next run reports the same conflicts, writes nothing, and says so in JSON.
    let writes = scim.log().writes();
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(3);
    let document = output.json();
    assert_eq!(document["exit_code"], 3);
    assert_eq!(document["plan"]["summary"]["conflicts"], 2);
    let conflicts = document["plan"]["conflicts"].to_string();
    assert!(
        conflicts.contains("alice.nguyen") && conflicts.contains("bob.okafor"),
        "{conflicts}"
    );
    assert_eq!(scim.log().writes(), writes);
    assert_eq!(scim.user(&foreign_alice).unwrap(), alice_before);
    assert_eq!(scim.user(&foreign_bob).unwrap(), bob_before);
}

/// Creates a group that this tool does not own, through the target's own API.
async fn seed_foreign_group(world: &World, display_name: &str) -> String {
    match &world.target {
        Target::Emulator(scim) => scim
            .seed_group(json!({"displayName": display_name, "externalId": "okta:grp-1"}))
            .unwrap(),
        Target::Peer { server, http } => {
            let response = http
                .post(format!("{}/Groups", server.base_url()))
                .bearer_auth(server.token())
                .header("Content-Type", "application/scim+json")
                .json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": display_name,
                    "externalId": "okta:grp-1",
                }))
                .send()
                .await
                .expect("POST /Groups");
            assert_eq!(response.status().as_u16(), 201);
            let body: serde_json::Value = response.json().await.expect("the created group");
            body["id"].as_str().expect("an id").to_owned()
        }
    }
}

/// A group that CoreWeave already has under the name of an ACTIVATE group (like the
/// built-in `admin`) is a conflict: the ACTIVATE group is not created (no second group
/// of that name), the other one is not touched, and the run exits 3, run after run.
async fn a_foreign_group_holding_an_activate_group_name_is_a_conflict(kind: TargetKind) {
    let Some(world) = World::start_on(kind).await else {
        return;
    };
    let foreign = seed_foreign_group(&world, "ADMINS").await;
    let output = world.run(&[], &[]).await;
    output.expect_code(3);
    let line = format!(
        "  ! group \"admins\" (ACTIVATE id {}): displayName is held by group \"ADMINS\" (SCIM id {foreign}), which pw-activate does not own; not created or renamed. Fix: rename the group in ACTIVATE, or rename or delete the CoreWeave group (older organizations have built-in groups admin, metrics, read, write and billing_viewer that clash this way)",
        world
            .activate
            .fixture()
            .groups
            .iter()
            .find(|g| g.name == "admins")
            .map(|g| g.id.clone())
            .unwrap()
    );
    assert!(output.stdout.contains(&line), "{output}");
    let groups = world.target.groups().await;
    let named = |name: &str| {
        groups
            .iter()
            .filter(|g| {
                g["displayName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .count()
    };
    assert_eq!(named("admins"), 1, "no second group of that name");
    assert_eq!(named("gpu-users"), 1, "the other groups are created");
    let foreign_now = groups
        .iter()
        .find(|g| g["id"].as_str() == Some(foreign.as_str()))
        .expect("the foreign group is still there");
    assert_eq!(foreign_now["displayName"], "ADMINS");
    assert_eq!(foreign_now["externalId"], "okta:grp-1");
    assert!(
        foreign_now["members"].as_array().is_none_or(Vec::is_empty),
        "nobody was added to it: {foreign_now}"
    );

    // The next run says the same and creates nothing.
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(3);
    let document = output.json();
    assert_eq!(document["plan"]["summary"]["create_groups"], 0);
    assert_eq!(
        document["plan"]["conflicts"][0]["kind"],
        "foreign_group_name"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_group_holding_an_activate_group_name_is_a_conflict_on_the_emulator() {
    a_foreign_group_holding_an_activate_group_name_is_a_conflict(TargetKind::Emulator).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_group_holding_an_activate_group_name_is_a_conflict_on_scim2_server() {
    a_foreign_group_holding_an_activate_group_name_is_a_conflict(TargetKind::Peer).await;
}

/// A server that does not keep `externalId` costs one record per run, never a batch
/// and never a second copy of anyone: the run stops creating and exits 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_drops_the_ownership_mark_stops_creating() {
    let world = World::with(
        ActivateOptions::default(),
        ScimOptions {
            quirks: Quirks {
                drop_external_id: true,
                ..Quirks::default()
            },
            ..ScimOptions::default()
        },
    )
    .await;
    for run in 1..=2 {
        let from = world.scim().log().records().len();
        let output = world.run(&[], &[]).await;
        output.expect_code(1);
        assert!(
            output.stderr.contains("did not keep the ownership mark")
                && output.stdout.contains("creation stopped for this run"),
            "run {run}\n{output}"
        );
        let posts = world
            .scim()
            .since(from)
            .iter()
            .filter(|r| r.method == Method::Post)
            .count();
        assert_eq!(posts, 1, "run {run}: one POST, then none");
        let users = world.scim().users();
        assert_eq!(users.len(), run, "one record per run");
        let mut names: Vec<String> = users
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_lowercase())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), run, "nobody twice");
        assert!(world.scim().groups().is_empty(), "no group created");
    }
}
