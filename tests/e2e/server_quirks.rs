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

/// The organization of the paging tests: exactly 100 groups, the page size the
/// binary asks for, so the owned group listing is one full page.
fn hundred_groups() -> testkit::activate::Fixture {
    testkit::synthetic::SyntheticOrg {
        organization: "paged-lab".to_owned(),
        users: 150,
        groups: 100,
        seed: 11,
    }
    .generate()
}

/// A server that answers a `startIndex` past the end with the first page again:
/// with the owned groups an exact multiple of the page size, the page confirming
/// the end of their listing repeats records already read, and that ends the listing
/// (every announced record was read) instead of failing the run.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_restarting_past_the_end_syncs_owned_records_in_full_pages() {
    let fixture = hundred_groups();
    let world = World::with(
        ActivateOptions {
            fixture: fixture.clone(),
            ..ActivateOptions::default()
        },
        ScimOptions {
            quirks: Quirks {
                restart_past_end: true,
                ..Quirks::default()
            },
            ..ScimOptions::default()
        },
    )
    .await;
    let expected = initial_state(&fixture, None);
    assert_eq!(expected.groups.len(), 100, "one full page of owned groups");
    world.sync().await;
    assert_records(&world.target.state().await, &expected);

    let from = world.scim().log().records().len();
    let output = world.sync().await;
    assert!(
        output
            .stdout
            .starts_with("No changes: the target matches the source."),
        "{output}"
    );
    let since = world.scim().since(from);
    assert_eq!(writes(&since).len(), 0, "{since:#?}");
    let confirming: Vec<_> = since
        .iter()
        .filter(|r| {
            r.resource == testkit::scim::Resource::Groups
                && r.query
                    .as_deref()
                    .is_some_and(|q| q.contains("startIndex=101"))
        })
        .collect();
    assert_eq!(
        confirming.len(),
        1,
        "the page past the end was asked for once and answered with the first page\n{since:#?}"
    );
    assert_records(&world.target.state().await, &expected);
}

/// A server advertising cursor paging (RFC 9865) is listed by `nextCursor`, and a
/// steady-state run against it changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_offering_cursors_is_listed_by_cursor() {
    let fixture = hundred_groups();
    let world = World::with(
        ActivateOptions {
            fixture: fixture.clone(),
            ..ActivateOptions::default()
        },
        ScimOptions {
            page_cap: 30,
            quirks: Quirks {
                cursor_paging: true,
                ..Quirks::default()
            },
            ..ScimOptions::default()
        },
    )
    .await;
    let expected = initial_state(&fixture, None);
    world.sync().await;
    assert_records(&world.target.state().await, &expected);

    let from = world.scim().log().records().len();
    let output = world.sync().await;
    assert!(
        output
            .stdout
            .starts_with("No changes: the target matches the source."),
        "{output}"
    );
    let since = world.scim().since(from);
    assert_eq!(writes(&since).len(), 0, "{since:#?}");
    let group_pages: Vec<&str> = since
        .iter()
        .filter(|r| r.resource == testkit::scim::Resource::Groups)
        .filter_map(|r| r.query.as_deref())
        .collect();
    // 100 groups in pages of 30: four pages, each but the first naming the cursor
    // the previous one gave; none by startIndex.
    assert_eq!(group_pages.len(), 4, "{group_pages:#?}");
    assert!(
        group_pages
            .iter()
            .all(|q| q.contains("cursor=") && !q.contains("startIndex")),
        "{group_pages:#?}"
    );
    assert_eq!(
        group_pages
            .iter()
            .filter(|q| q.contains("cursor=&"))
            .count(),
        1,
        "one first page: {group_pages:#?}"
    );
}

fn quirky(quirks: Quirks) -> ScimOptions {
    ScimOptions {
        quirks,
        ..ScimOptions::default()
    }
}

/// A server that stores `userName` and emails lowercased: compared by RFC 7643's
/// `caseExact: false`, the second run makes zero writes and says in one line per
/// attribute that the differences are only of case.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_lowercases_user_names_and_emails_converges() {
    let world = World::with(
        ActivateOptions::default(),
        quirky(Quirks {
            lowercase_names: true,
            ..Quirks::default()
        }),
    )
    .await;
    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(0);
    assert_eq!(output.json()["attributes_not_kept"], 0, "{output}");
    for _ in 0..2 {
        let from = world.scim().log().records().len();
        let output = world.run(&["--output", "json"], &[]).await;
        output.expect_code(0);
        assert!(writes(&world.scim().since(from)).is_empty(), "{output}");
        let warnings = output.json()["plan"]["warnings"].to_string();
        assert!(
            warnings.contains("case_only_difference") && warnings.contains("\"userName\""),
            "{warnings}"
        );
    }
}

/// A server that does not keep `name.formatted`: every run says which attribute of
/// which user was not kept, exits 0, and sends the same writes, never more.
#[tokio::test(flavor = "multi_thread")]
async fn an_attribute_the_server_drops_is_reported_and_the_writes_do_not_grow() {
    let world = World::with(
        ActivateOptions::default(),
        quirky(Quirks {
            drop_name_formatted: true,
            ..Quirks::default()
        }),
    )
    .await;
    let mut per_run = Vec::new();
    for run in 0..3 {
        let from = world.scim().log().records().len();
        let output = world.run(&["--output", "json"], &[]).await;
        output.expect_code(0);
        let document = output.json();
        let not_kept = document["attributes_not_kept"].as_u64().unwrap();
        assert!(not_kept > 0, "run {run}\n{output}");
        let first = &document["result"]["not_kept"][0];
        assert_eq!(first["attribute"], "name.formatted", "{output}");
        assert_eq!(first["kept"], "(none)");
        assert!(
            output
                .stderr
                .contains("this will be sent again on every run"),
            "{output}"
        );
        if run > 0 {
            per_run.push(writes(&world.scim().since(from)).len());
        }
    }
    assert_eq!(
        per_run[0], per_run[1],
        "the writes do not grow: {per_run:?}"
    );
}
