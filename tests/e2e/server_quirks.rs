//! Syncs against servers that answer successfully but differently from the reference
//! behaviour (the SCIM emulator's quirks).

use testkit::activate::ActivateOptions;
use testkit::scim::{Quirks, ScimOptions};

use crate::expected::{assert_records, initial_state, user_key};
use crate::harness::{LogExt, World, writes};

/// A server that answers `externalId sw` with `200` and nothing: the second run finds
/// its records through the unfiltered confirmation, creates nothing and exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn an_sw_filter_answered_with_nothing_creates_no_duplicates() {
    let world = World::with(
        ActivateOptions::default(),
        ScimOptions {
            quirks: Quirks {
                sw_matches_nothing: true,
                ..Quirks::default()
            },
            ..ScimOptions::default()
        },
    )
    .await;
    world.sync().await;
    let fixture = world.activate.fixture();
    let expected = initial_state(&fixture, None);
    assert_records(&world.target.state().await, &expected);

    for _ in 0..2 {
        let from = world.scim().log().records().len();
        let output = world.sync().await;
        assert!(
            output
                .stdout
                .starts_with("No changes: the target matches the source."),
            "{output}"
        );
        assert!(
            output.stderr.contains("ignores the filter"),
            "the run says how it selected its records\n{output}"
        );
        let since = world.scim().since(from);
        assert_eq!(writes(&since).len(), 0, "{since:#?}");
    }
    assert_records(&world.target.state().await, &expected);
    assert_eq!(world.scim().users().len(), expected.users.len());
    for user in &fixture.users {
        assert!(
            world.scim().count_by_external_id(&user_key(&user.id)) <= 1,
            "{} was created twice",
            user.username
        );
    }
}
