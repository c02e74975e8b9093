//! A larger organization: several pages on both sides.

use testkit::activate::{ActivateOptions, Resource as ActivateResource};
use testkit::request_log::Method;
use testkit::scim::{Resource, ScimOptions};
use testkit::synthetic::SyntheticOrg;

use crate::expected::{assert_records, initial_state};
use crate::harness::{LogExt, World, writes};

#[tokio::test(flavor = "multi_thread")]
async fn a_larger_organization_syncs_exactly_and_converges() {
    let fixture = SyntheticOrg {
        organization: "big-lab".to_owned(),
        users: 620,
        groups: 8,
        seed: 7,
    }
    .generate();
    let world = World::with(
        ActivateOptions {
            fixture: fixture.clone(),
            ..ActivateOptions::default()
        },
        ScimOptions::default(),
    )
    .await;
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    let expected = initial_state(&fixture, None);
    assert!(expected.users.len() > 500, "{}", expected.users.len());
    assert_records(&world.target.state().await, &expected);
    // Two pages of ACTIVATE users (limit 500).
    assert_eq!(
        world
            .activate
            .log()
            .count(Method::Get, ActivateResource::Users),
        2
    );

    let from = world.scim().log().records().len();
    let output = world.sync().await;
    assert!(
        output
            .stdout
            .starts_with("No changes: the target matches the source."),
        "{output}"
    );
    let records = world.scim().since(from);
    assert!(writes(&records).is_empty());
    let pages = |resource| {
        records
            .iter()
            .filter(|r| r.method == Method::Get && r.resource == resource)
            .count()
    };
    assert_eq!(pages(Resource::Users), expected.users.len().div_ceil(100));
    assert_eq!(pages(Resource::Groups), 1);
}
