//! Records the tool does not own: never modified, never adopted; a desired user name
//! they hold is a conflict.

use serde_json::json;

use crate::expected::user_key;
use crate::harness::World;

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
