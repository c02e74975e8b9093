//! `ACTIVATE_SOURCE=scim`: users, keys, groups and members read from ACTIVATE's own
//! read-only SCIM server (played by a second SCIM emulator) in a few pages.

use testkit::activate::Fixture;
use testkit::request_log::Method;
use testkit::scim::{ScimEmulator, ScimOptions};

use crate::expected::{assert_records, initial_state};
use crate::harness::{LogExt, World, writes};

/// ACTIVATE's SCIM server holding `fixture` (see `Fixture::scim_view`).
async fn activate_scim(fixture: &Fixture, with_extension: bool) -> ScimEmulator {
    let scim = ScimEmulator::start(ScimOptions::default())
        .await
        .expect("the SCIM emulator starts");
    scim.seed_snapshot(&fixture.scim_view(with_extension))
        .expect("seed the organization");
    scim
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scim_source_syncs_the_same_records_in_a_few_requests() {
    let world = World::start().await;
    let fixture = world.activate.fixture();
    let source = activate_scim(&fixture, true).await;
    let env = [
        ("ACTIVATE_SOURCE", "scim"),
        ("ACTIVATE_SCIM_TOKEN", source.token()),
        ("ACTIVATE_SCIM_URL", source.base_url()),
        ("ACTIVATE_ORG_NAME", "example-lab"),
        ("LOG_LEVEL", "trace"),
    ];
    let output = world.run(&[], &env).await;
    output.expect_code(0);
    assert!(
        !output.stdout.contains(source.token()) && !output.stderr.contains(source.token()),
        "the ACTIVATE SCIM token is never printed"
    );
    assert_records(&world.target.state().await, &initial_state(&fixture, None));
    // Nothing was asked of the REST API; ACTIVATE's SCIM got one page per listing.
    assert_eq!(world.activate.log().total(), 0);
    assert!(
        source.log().records().iter().all(|r| !r.method.is_write()),
        "the source is only read"
    );
    assert!(
        source.log().total() <= 4,
        "{} requests",
        source.log().total()
    );
    // A second run converges.
    let from = world.scim().log().records().len();
    world.run(&[], &env).await.expect_code(0);
    let since: Vec<_> = world
        .scim()
        .log()
        .records()
        .into_iter()
        .skip(from)
        .collect();
    assert!(writes(&since).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scim_listing_without_the_extension_is_incomplete_and_writes_nothing() {
    let world = World::start().await;
    world.sync().await;
    let before = world.scim().snapshot();
    let source = activate_scim(&world.activate.fixture(), false).await;
    let output = world
        .run(
            &[],
            &[
                ("ACTIVATE_SOURCE", "scim"),
                ("ACTIVATE_SCIM_TOKEN", source.token()),
                ("ACTIVATE_SCIM_URL", source.base_url()),
            ],
        )
        .await;
    output.expect_code(1);
    assert!(
        output.stderr.contains(
            "none of the 12 users carries the CoreWeave user extension (urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser), so their SSH keys were not returned; the listing is incomplete"
        ),
        "{output}"
    );
    assert_eq!(world.scim().snapshot(), before, "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scim_source_needs_a_token_and_no_pw_program() {
    let world = World::start().await;
    let output = world.run(&[], &[("ACTIVATE_SOURCE", "scim")]).await;
    output.expect_code(1);
    assert!(
        output.stderr.contains(
            "ACTIVATE_SOURCE=scim needs a SCIM token: ACTIVATE_SCIM_TOKEN (or ACTIVATE_SCIM_TOKEN_FILE) is required"
        ),
        "{output}"
    );
    let output = world
        .run(
            &[],
            &[
                ("ACTIVATE_SOURCE", "scim"),
                ("ACTIVATE_SCIM_TOKEN", "t0ken"),
                ("ACTIVATE_SSH_KEYS_SOURCE", "pw-cli"),
            ],
        )
        .await;
    output.expect_code(1);
    assert!(
        output
            .stderr
            .contains("ACTIVATE_SSH_KEYS_SOURCE=pw-cli applies to ACTIVATE_SOURCE=rest only"),
        "{output}"
    );
    assert_eq!(world.activate.log().total(), 0);
    assert_eq!(world.scim().log().total(), 0);
}

/// A switch of source whose user ids differ from the REST ids would re-key every
/// record: withheld as a mass re-key (exit 4, nothing re-keyed, no membership gained)
/// until `--allow-mass-rekey`, and then converged without a single POST.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_switch_with_other_ids_is_a_mass_rekey_withheld_until_the_override() {
    let world = World::start().await;
    world.sync().await;
    let before = world.scim().snapshot();
    let mut fixture = world.activate.fixture();
    for user in &mut fixture.users {
        user.id = format!("scim-{}", user.id);
    }
    for group in &mut fixture.groups {
        group.id = format!("scim-{}", group.id);
    }
    let source = activate_scim(&fixture, true).await;
    let env = [
        ("ACTIVATE_SOURCE", "scim"),
        ("ACTIVATE_SCIM_TOKEN", source.token()),
        ("ACTIVATE_SCIM_URL", source.base_url()),
        ("ACTIVATE_ORG_NAME", "example-lab"),
        ("MAX_REKEYS", "5"),
    ];
    let output = world.run(&["--output", "json"], &env).await;
    output.expect_code(4);
    let plan = &output.json()["plan"];
    assert_eq!(
        plan["guards"]["tripped"],
        serde_json::json!(["rekey_limit"]),
        "{output}"
    );
    // 9 users and 5 groups, adopted by name under their new keys.
    assert_eq!(plan["guards"]["rekeys_planned"], 14, "{output}");
    assert_eq!(plan["summary"]["create_groups"], 0, "{output}");
    assert_eq!(plan["summary"]["empty_groups"], 0, "{output}");
    assert_eq!(world.scim().snapshot(), before, "nothing written");

    let from = world.scim().log().records().len();
    let before = world.target.state().await;
    let output = world.run(&["--allow-mass-rekey"], &env).await;
    output.expect_code(0);
    let after = world.target.state().await;
    assert_eq!(after.user_ids, before.user_ids, "the same user records");
    assert_eq!(after.group_ids, before.group_ids, "the same group records");
    for (name, group) in &after.groups {
        assert_eq!(
            group.members, before.groups[name].members,
            "{name} keeps its members"
        );
    }
    assert!(
        output.stderr.contains("--allow-mass-rekey"),
        "the override is logged\n{output}"
    );
    let since = world.scim().since(from);
    assert!(
        writes(&since).iter().all(|r| r.method != Method::Post),
        "re-keyed in place: no POST"
    );
    let from = world.scim().log().records().len();
    world.run(&[], &env).await.expect_code(0);
    assert!(writes(&world.scim().since(from)).is_empty(), "converged");
}

/// `check` with `ACTIVATE_SOURCE=scim` reads the organization the same way and says
/// whether its users carry the CoreWeave extension: fine with it, blocking without.
#[tokio::test(flavor = "multi_thread")]
async fn check_says_whether_the_scim_source_carries_the_extension() {
    let world = World::start().await;
    for (with_extension, code, verdict) in [(true, 0, "fine"), (false, 1, "blocking")] {
        let source = activate_scim(&world.activate.fixture(), with_extension).await;
        let output = world
            .run(
                &["check", "--output", "json"],
                &[
                    ("ACTIVATE_SOURCE", "scim"),
                    ("ACTIVATE_SCIM_TOKEN", source.token()),
                    ("ACTIVATE_SCIM_URL", source.base_url()),
                    ("ACTIVATE_ORG_NAME", "example-lab"),
                ],
            )
            .await;
        output.expect_code(code);
        let report = output.json();
        let probe = report["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "ACTIVATE SCIM source")
            .unwrap_or_else(|| panic!("no SCIM source probe\n{output}"));
        assert_eq!(probe["verdict"], verdict, "{output}");
        let answered = probe["answered"].as_str().unwrap();
        if with_extension {
            assert!(
                answered.starts_with(
                    "12 users (the SSH keys of the 9 who will be active read from the CoreWeave extension), 5 groups"
                ),
                "{answered}"
            );
        } else {
            assert!(
                answered.contains("carries the CoreWeave user extension"),
                "{answered}"
            );
        }
        assert!(
            source
                .log()
                .records()
                .iter()
                .all(|r| r.method == Method::Get),
            "only GETs"
        );
    }
}
