//! Less common shapes of data and servers: a user without name or email, a SCIM server
//! without the `sw` filter, an organization name that does not exist.

use serde_json::json;
use std::time::Duration;

use testkit::activate::{ActivateOptions, FixtureUser};
use testkit::faults::{HttpFaults, Latency};
use testkit::request_log::Method;
use testkit::scim::{CW_USER_EXT, Faults, Quirks, Resource, ScimOptions, USER_SCHEMA};

use crate::expected::{assert_records, initial_state};
use crate::harness::{HttpRecorder, LogExt, World, slow_activate, writes};

#[tokio::test(flavor = "multi_thread")]
async fn a_user_without_name_or_email_is_created_with_the_username_and_converges() {
    let world = World::start().await;
    world
        .activate
        .add_user(FixtureUser {
            email: Some("   ".to_owned()),
            ..FixtureUser::new("65a1f3c2e4b0a1b2c3d4e0aa", "svc.batch")
        })
        .unwrap();
    world.sync().await;
    let mut stored = world.scim().user_by_user_name("svc.batch").unwrap();
    let object = stored.as_object_mut().unwrap();
    object.remove("id");
    object.remove("meta");
    assert_eq!(
        stored,
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "svc.batch",
            "externalId": "pw-activate:user:65a1f3c2e4b0a1b2c3d4e0aa",
            "name": {"formatted": "svc.batch"},
            "displayName": "svc.batch",
            "active": true,
        })
    );
    let from = world.scim().log().records().len();
    world.sync().await;
    assert!(writes(&world.scim().since(from)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_sw_is_listed_whole_and_selected_here() {
    let world = World::with(
        ActivateOptions::default(),
        ScimOptions {
            faults: Faults {
                reject_sw: true,
                ..Faults::default()
            },
            ..ScimOptions::default()
        },
    )
    .await;
    let foreign = world
        .scim()
        .seed_user(json!({"schemas": [USER_SCHEMA], "userName": "okta-admin",
                          "externalId": "okta:00u1", "active": true,
                          CW_USER_EXT: {"sunkSshKeys": ["ssh-ed25519 AAAA okta"]}}))
        .unwrap();
    let foreign_before = world.scim().user(&foreign).unwrap();
    world.sync().await;
    let state = world.target.state().await;
    let mut expected = initial_state(&world.activate.fixture(), None);
    let mut okta = state.users["okta-admin"].clone();
    okta.active = true;
    expected.users.insert("okta-admin".to_owned(), okta);
    assert_records(&state, &expected);
    assert_eq!(world.scim().user(&foreign).unwrap(), foreign_before);

    // Steady state: the ServiceProviderConfig (for the paging method), and each listing
    // refused once with `sw`, then read whole.
    let from = world.scim().log().records().len();
    let output = world.sync().await;
    assert!(
        output
            .stderr
            .contains("the server rejected the externalId filter"),
        "{output}"
    );
    let mut reads: Vec<(Method, Resource, Option<u16>, bool)> = world
        .scim()
        .since(from)
        .iter()
        .map(|r| {
            (
                r.method,
                r.resource,
                r.status,
                r.query.as_deref().unwrap_or("").contains("filter="),
            )
        })
        .collect();
    reads.sort();
    assert_eq!(
        reads,
        [
            (Method::Get, Resource::Users, Some(200), false),
            (Method::Get, Resource::Users, Some(400), true),
            (Method::Get, Resource::Groups, Some(200), false),
            (Method::Get, Resource::Groups, Some(400), true),
            (
                Method::Get,
                Resource::ServiceProviderConfig,
                Some(200),
                false
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_that_does_not_exist_is_fatal_and_named() {
    let world = World::start().await;
    let output = world
        .run(&[], &[("ACTIVATE_ORG_NAME", "no-such-org")])
        .await;
    output.expect_code(1);
    assert!(
        output
            .stderr
            .contains("organization \"no-such-org\" not found")
            && output.stderr.contains("ACTIVATE_ORG_NAME"),
        "{output}"
    );
    // The SCIM side is read beside ACTIVATE and may have been, in part: reads only.
    let asked: Vec<_> = world
        .scim()
        .log()
        .records()
        .iter()
        .map(|r| (r.method, r.resource))
        .collect();
    assert!(
        asked.iter().all(|&(method, _)| method == Method::Get),
        "{asked:?}"
    );
}

/// The two sides are read side by side; a target that fails at once does not
/// hide why ACTIVATE could not be read, and a target that fails alone is named.
#[tokio::test(flavor = "multi_thread")]
async fn the_activate_error_comes_first_and_a_failing_target_alone_is_named() {
    // ACTIVATE answers slowly and the target refuses at once: the target's error
    // is there first.
    let world = World::with(
        slow_activate(Duration::from_millis(300)),
        ScimOptions::default(),
    )
    .await;
    let broken = HttpRecorder::start(403).await;
    let both = world
        .run(
            &[],
            &[
                ("ACTIVATE_ORG_NAME", "no-such-org"),
                ("CW_SCIM_BASE_URL", broken.base_url()),
            ],
        )
        .await;
    both.expect_code(1);
    assert!(
        both.stderr
            .contains("organization \"no-such-org\" not found")
            && !both.stderr.contains("could not read the SCIM target"),
        "{both}"
    );

    let target_only = world
        .run(&[], &[("CW_SCIM_BASE_URL", broken.base_url())])
        .await;
    target_only.expect_code(1);
    assert!(
        target_only
            .stderr
            .contains("could not read the SCIM target completely; nothing was written")
            && target_only.stderr.contains("HTTP 403"),
        "{target_only}"
    );
    assert!(
        broken.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        broken.requests()
    );
}

/// Both owned listings page as the `ServiceProviderConfig` says, even when ACTIVATE
/// has been read before its answer arrives.
#[tokio::test(flavor = "multi_thread")]
async fn the_listings_wait_for_the_paging_the_server_advertises() {
    let slow_target = ScimOptions {
        quirks: Quirks {
            cursor_paging: true,
            ..Quirks::default()
        },
        faults: Faults {
            http: HttpFaults {
                latency: Latency::Fixed(Duration::from_millis(150)),
                ..HttpFaults::default()
            },
            ..Faults::default()
        },
        ..ScimOptions::default()
    };
    let world = World::with(ActivateOptions::default(), slow_target).await;
    world.sync().await;
    let from = world.scim().log().records().len();
    world.sync().await;
    let listings: Vec<String> = world
        .scim()
        .since(from)
        .into_iter()
        .filter(|r| matches!(r.resource, Resource::Users | Resource::Groups))
        .map(|r| format!("{:?} {}", r.resource, r.query.unwrap_or_default()))
        .collect();
    assert!(
        listings.iter().any(|l| l.starts_with("Users"))
            && listings.iter().any(|l| l.starts_with("Groups")),
        "{listings:?}"
    );
    assert!(
        listings
            .iter()
            .all(|l| l.contains("cursor=") && !l.contains("startIndex=")),
        "{listings:?}"
    );
}
