//! `ACTIVATE_SOURCE=scim`: users, keys, groups and members read from ACTIVATE's own
//! read-only SCIM server (played by a second SCIM emulator) in a few pages.

use testkit::activate::Fixture;
use testkit::scim::{ScimEmulator, ScimOptions};

use crate::expected::{assert_records, initial_state};
use crate::harness::{World, writes};

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
