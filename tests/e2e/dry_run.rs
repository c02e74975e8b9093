//! `--dry-run`, `plan` and `DRY_RUN=true`: only reads, and the same plan the next real
//! run applies; `--output json`: one JSON document.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use testkit::activate::{FixtureUser, LicenseStatus};

use crate::harness::{LogExt, World, counts};

fn maya() -> FixtureUser {
    FixtureUser {
        name: Some("Maya Cohen".to_owned()),
        email: Some("maya.cohen@example-lab.org".to_owned()),
        uid: Some(10_099),
        ssh_keys: vec![testkit::synthetic::ed25519_key_line(&[9; 32], "maya@ws")],
        ..FixtureUser::new("65a1f3c2e4b0a1b2c3d4e0ff", "maya.cohen")
    }
}

/// Every kind of change at once.
fn change_everything(world: &World) {
    let a = &world.activate;
    a.remove_user("carmen.ruiz").unwrap();
    a.set_license_status("alice.nguyen", LicenseStatus::Inactive)
        .unwrap();
    a.set_ssh_keys(
        "hana.sato",
        vec![testkit::synthetic::ed25519_key_line(&[5; 32], "hana@new")],
    )
    .unwrap();
    a.add_user(maya()).unwrap();
    a.add_member("gpu-users", "maya.cohen").unwrap();
    a.add_member("interns", "dmitri.volkov").unwrap();
    a.rename_group("research staff", "research-staff").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_only_read_and_print_the_plan_the_next_run_applies() {
    let world = World::start().await;
    world.sync().await;
    change_everything(&world);
    let snapshot = world.scim().snapshot();

    let mut plans = Vec::new();
    for (args, env) in [
        (&["--dry-run", "--output", "json"][..], &[][..]),
        (&["plan", "--output", "json"][..], &[][..]),
        (&["--output", "json"][..], &[("DRY_RUN", "true")][..]),
        (&["sync", "--dry-run", "--output", "json"][..], &[][..]),
    ] {
        let from = world.scim().log().records().len();
        let output = world.run(args, env).await;
        output.expect_code(0);
        let methods: BTreeSet<String> = counts(&world.scim().since(from))
            .into_keys()
            .map(|k| k.split(' ').next().unwrap().to_owned())
            .collect();
        assert_eq!(methods, ["Get".to_owned()].into(), "{args:?} {env:?}");
        assert_eq!(world.scim().snapshot(), snapshot, "{args:?} {env:?}");
        let document = output.json();
        assert_eq!(document["mode"], "plan", "{args:?} {env:?}");
        assert_eq!(document["exit_code"], 0);
        assert_eq!(document["result"], Value::Null);
        plans.push(document["plan"].clone());
    }
    for plan in &plans[1..] {
        assert_eq!(plan, &plans[0]);
    }
    assert_eq!(
        plans[0]["summary"],
        json!({
            "create_users": 1, "update_users": 1, "reactivate_users": 0, "rekey_users": 0,
            "deactivate_users": 2, "revoke_keys": 0, "create_groups": 0, "update_groups": 4, "empty_groups": 0,
            "withheld": 0, "conflicts": 0, "warnings": 0
        })
    );

    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    let document = output.json();
    assert_eq!(document["mode"], "apply");
    assert_eq!(
        document["plan"], plans[0],
        "the real run applies the plan shown"
    );
    for (kind, n) in [
        ("create_user", 1),
        ("update_user", 1),
        ("deactivate", 2),
        ("update_group", 4),
    ] {
        assert_eq!(
            document["result"]["counts"][kind]["applied"], n,
            "{kind}\n{output}"
        );
    }

    let state = world.target.state().await;
    assert!(!state.users["carmen.ruiz"].active && !state.users["alice.nguyen"].active);
    assert!(state.users["maya.cohen"].active);
    assert!(!state.groups.contains_key("research staff"));
    assert_eq!(
        state.groups["research-staff"].members,
        ["dmitri.volkov", "hana.sato"].map(str::to_owned).into()
    );
    assert_eq!(
        state.groups["interns"].members,
        ["dmitri.volkov"].map(str::to_owned).into()
    );

    // Text: the dry run prints exactly the plan part of the real run's output.
    world
        .activate
        .set_user_active("kwame.mensah", true)
        .unwrap();
    let dry = world.run(&["plan"], &[]).await;
    dry.expect_code(0);
    assert!(!dry.stdout.contains("Result:"), "{dry}");
    let real = world.run(&[], &[]).await;
    real.expect_code(0);
    assert!(
        real.stdout.starts_with(&dry.stdout)
            && real.stdout[dry.stdout.len()..].starts_with("\nResult:"),
        "dry run:\n{dry}\nreal run:\n{real}"
    );
    assert!(dry.stdout.contains("kwame.mensah"), "{dry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_exactly_one_document() {
    let world = World::start().await;
    let mut documents = Vec::new();
    for (args, env) in [
        (&["--output", "json"][..], &[][..]),
        (&[][..], &[("OUTPUT", "json"), ("LOG_LEVEL", "debug")][..]),
    ] {
        let output = world.run(args, env).await;
        output.expect_code(0);
        // The whole of stdout parses as one document (logs go to stderr).
        let document = output.json();
        let keys: Vec<&String> = document.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "attributes_not_kept",
                "exit_code",
                "mode",
                "plan",
                "requests",
                "result",
                "version"
            ],
            "{output}"
        );
        assert_eq!(document["version"], 1);
        assert_eq!(document["mode"], "apply");
        assert_eq!(document["exit_code"], 0);
        assert!(
            output.stdout.starts_with('{') && output.stdout.ends_with("}\n"),
            "{output}"
        );
        documents.push(document);
    }

    // The first run created everything.
    let document = &documents[0];
    assert_eq!(
        document["plan"]["summary"],
        json!({
            "create_users": 9, "update_users": 0, "reactivate_users": 0, "rekey_users": 0,
            "deactivate_users": 0, "revoke_keys": 0, "create_groups": 5, "update_groups": 0, "empty_groups": 0,
            "withheld": 0, "conflicts": 0, "warnings": 1
        })
    );
    let result = &document["result"];
    assert_eq!(result["counts"]["create_user"]["applied"], 9);
    assert_eq!(result["counts"]["create_group"]["applied"], 5);
    assert_eq!(result["failures"], json!([]));
    assert_eq!(document["requests"]["activate"], 17);
    assert_eq!(
        document["requests"]["scim"]["201"], 14,
        "one POST per user and group"
    );
    let warnings = &document["plan"]["warnings"];
    assert_eq!(warnings[0]["kind"], "invalid_ssh_key");
    assert_eq!(warnings[0]["user"]["user_name"], "hana.sato");
    assert_eq!(warnings[0]["line"], 2);

    // The second found nothing to do and applied nothing.
    let document = &documents[1];
    for (key, value) in document["plan"]["summary"].as_object().unwrap() {
        let want = i32::from(key == "warnings");
        assert_eq!(value, &json!(want), "plan.summary.{key}");
    }
    for (kind, counts) in document["result"]["counts"].as_object().unwrap() {
        assert_eq!(counts["applied"], 0, "{kind}");
    }
}
