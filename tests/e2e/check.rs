//! `check`: every probe against the healthy emulator and `scim2-server`, and against
//! an emulator quirk or fault that behaves the other way. Only GETs are ever sent.

use serde_json::{Value, json};
use testkit::activate::ActivateOptions;
use testkit::request_log::Method;
use testkit::scim::{Faults, Quirks, ScimOptions};

use crate::harness::{Output, TargetKind, World};

/// Runs `check --output json`, asserts the exit status, and returns the report.
async fn check(world: &World, code: i32) -> Value {
    let output = world.run(&["check", "--output", "json"], &[]).await;
    output.expect_code(code);
    let report = output.json();
    assert_eq!(report["exit_code"], code, "{output}");
    report
}

/// The probe named `name` (panics when missing).
fn probe<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no probe {name:?} in {report:#}"))
}

fn verdict<'a>(report: &'a Value, name: &str) -> &'a str {
    probe(report, name)["verdict"].as_str().expect("a verdict")
}

fn answered<'a>(report: &'a Value, name: &str) -> &'a str {
    probe(report, name)["answered"].as_str().expect("an answer")
}

fn details(report: &Value, name: &str) -> Vec<String> {
    probe(report, name)["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d.as_str().expect("a string").to_owned())
        .collect()
}

const PROBES: [&str; 10] = [
    "ACTIVATE access",
    "ACTIVATE key lookup",
    "SCIM access",
    "sw filter",
    "paging",
    "schemas",
    "ownership",
    "name clashes",
    "round trip",
    "rate limits",
];

fn names(report: &Value) -> Vec<&str> {
    report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

fn assert_only_gets(world: &World) {
    let scim = world.scim();
    let methods: Vec<Method> = scim.log().records().iter().map(|r| r.method).collect();
    assert!(!methods.is_empty());
    assert!(
        methods.iter().all(|m| *m == Method::Get),
        "check sent {methods:?}"
    );
}

async fn world_with(quirks: Quirks, faults: Faults, page_cap: usize) -> World {
    World::with(
        ActivateOptions::default(),
        ScimOptions {
            quirks,
            faults,
            page_cap,
            ..ScimOptions::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_emulator_is_fine_before_and_after_the_first_sync_and_gets_only_gets() {
    let world = World::start().await;
    let report = check(&world, 0).await;
    assert_only_gets(&world);
    assert_eq!(names(&report), PROBES);
    for name in &PROBES {
        assert_eq!(verdict(&report, name), "fine", "{name}: {report:#}");
    }
    assert_eq!(
        report["summary"],
        json!({"fine": 10, "degraded": 0, "blocking": 0})
    );
    assert!(
        answered(&report, "ACTIVATE access")
            .starts_with("organization \"example-lab\": 12 users (9 active), 5 groups")
    );
    assert!(
        answered(&report, "ACTIVATE key lookup").contains("a JSON string"),
        "{report:#}"
    );
    assert!(answered(&report, "sw filter").contains("no record exists to test sw against"));
    assert_eq!(answered(&report, "round trip"), "no owned user yet");
    assert_eq!(
        answered(&report, "name clashes"),
        "no unowned record holds a desired name"
    );
    assert!(
        details(&report, "schemas").contains(
            &"CoreWeaveUser.sunkSshKeys: required false, mutability readWrite, returned default, caseExact true"
                .to_owned()
        ),
        "{report:#}"
    );

    world.sync().await;
    let report = check(&world, 0).await;
    assert_eq!(report["summary"]["fine"], 10, "{report:#}");
    assert_eq!(
        answered(&report, "sw filter"),
        "Users: 9, as many as the unfiltered listing holds; Groups: 5, as many as the unfiltered listing holds"
    );
    assert_eq!(
        answered(&report, "ownership"),
        "users: 9 listed, 9 with an externalId, 9 ours; groups: 5 listed, 5 with an externalId, 5 ours"
    );
    assert_eq!(
        answered(&report, "round trip"),
        "9 owned users; none would be updated"
    );
    let writes_before = world.scim().log().writes();
    check(&world, 0).await;
    assert_eq!(world.scim().log().writes(), writes_before);

    // The text form prints the same probes, each with what the sync does.
    let output = world.run(&["check"], &[]).await;
    output.expect_code(0);
    assert!(
        output.stdout.contains("[fine] sw filter\n  asked:    GET "),
        "{output}"
    );
    assert!(
        output
            .stdout
            .ends_with("10 fine, 0 degraded, 0 blocking: nothing blocks a sync.\n"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scim2_server_is_fine() {
    let Some(world) = World::start_on(TargetKind::Peer).await else {
        eprintln!("scim2-server is not installed; skipped");
        return;
    };
    let report = check(&world, 0).await;
    for name in &PROBES {
        assert_eq!(verdict(&report, name), "fine", "{name}: {report:#}");
    }
    world.sync().await;
    let report = check(&world, 0).await;
    for name in &PROBES {
        assert_eq!(verdict(&report, name), "fine", "{name}: {report:#}");
    }
    assert!(answered(&report, "sw filter").starts_with("Users: 9, as many"));
    assert_eq!(
        answered(&report, "round trip"),
        "9 owned users; none would be updated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sw_answered_with_nothing_is_told_apart_from_nothing_owned() {
    // Nothing owned, but a record exists: sw is tested on it.
    let world = world_with(Quirks::default(), Faults::default(), 100).await;
    world
        .scim()
        .seed_user(json!({"userName": "okta-admin", "externalId": "okta:1"}))
        .unwrap();
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "sw filter"), "fine");
    assert!(
        answered(&report, "sw filter")
            .ends_with("filter=userName sw \"okt\" found 1: sw works, nothing is owned yet"),
        "{report:#}"
    );

    world.scim().set_quirks(Quirks {
        sw_matches_nothing: true,
        ..Quirks::default()
    });
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "sw filter"), "degraded");
    assert!(
        answered(&report, "sw filter").ends_with(
            "filter=userName sw \"okt\" answered 200 with nothing although \"okta-admin\" exists: sw is not supported, and not refused"
        ),
        "{report:#}"
    );
    // After a sync: the owned records are there, the filter answers nothing.
    world.sync().await;
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "sw filter"), "degraded");
    assert!(
        answered(&report, "sw filter").starts_with(
            "Users: 200 with nothing, although the unfiltered listing holds 9 owned records"
        ),
        "{report:#}"
    );
    assert!(
        probe(&report, "sw filter")["consequence"]
            .as_str()
            .unwrap()
            .contains("no duplicates are created")
    );
    assert_eq!(
        answered(&report, "round trip"),
        "9 owned users; none would be updated"
    );
    assert_only_gets_after_sync(&world);
}

fn assert_only_gets_after_sync(world: &World) {
    let records = world.scim().log().records();
    let last_write = records.iter().rposition(|r| r.method.is_write()).unwrap();
    assert!(
        records[last_write + 1..]
            .iter()
            .all(|r| r.method == Method::Get)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sw_is_degraded() {
    let world = world_with(
        Quirks::default(),
        Faults {
            reject_sw: true,
            ..Faults::default()
        },
        100,
    )
    .await;
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "sw filter"), "degraded");
    assert!(
        answered(&report, "sw filter").starts_with("Users: refused ("),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_capped_at_50_and_cursor_paging_are_reported() {
    let world = world_with(
        Quirks {
            cursor_paging: true,
            ..Quirks::default()
        },
        Faults::default(),
        50,
    )
    .await;
    for i in 0..120 {
        world
            .scim()
            .seed_user(
                json!({"userName": format!("okta-{i:03}"), "externalId": format!("okta:{i}")}),
            )
            .unwrap();
    }
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "paging"), "fine", "{report:#}");
    let paging = probe(&report, "paging");
    assert_eq!(
        paging["answered"],
        "ServiceProviderConfig: filter.maxResults 50, cursor paging advertised (RFC 9865); \
         asked for 100, got 50 (itemsPerPage 50, totalResults 120); \
         the second page brought 50 new records; a cursor page held 50 records, nextCursor given"
    );
    assert_eq!(
        paging["consequence"],
        "pages hold 50 records whatever count asks for (as advertised); the sync pages by the records received; \
         the sync follows the advertised cursors (nextCursor), one page after another; \
         a full owned listing takes 1 + 1 pages (users + groups) now; an unfiltered one 3 + 1"
    );
    assert_only_gets(&world);

    // A server that ignores startIndex does not hold a sync that follows its cursors.
    world.scim().set_faults(Faults {
        ignore_start_index: true,
        ..Faults::default()
    });
    let report = check(&world, 0).await;
    assert!(!names(&report).contains(&"full listing"), "{report:#}");
    assert_eq!(verdict(&report, "paging"), "degraded", "{report:#}");
    let paging = probe(&report, "paging");
    assert!(
        paging["answered"]
            .as_str()
            .unwrap()
            .contains("the second page repeated the first (startIndex is ignored)"),
        "{paging:#}"
    );
    assert!(
        paging["consequence"]
            .as_str()
            .unwrap()
            .contains("the sync follows the cursors instead, so it is not held"),
        "{paging:#}"
    );
    let sync = world.run(&[], &[]).await;
    assert_eq!(sync.code, 0, "{}", sync.stderr);

    // Without cursors, it blocks every sync.
    world.scim().set_quirks(Quirks::default());
    let report = check(&world, 1).await;
    assert_eq!(verdict(&report, "full listing"), "blocking", "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_without_the_extension_is_degraded() {
    let world = world_with(
        Quirks {
            no_extension_schema: true,
            ..Quirks::default()
        },
        Faults::default(),
        100,
    )
    .await;
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "schemas"), "degraded");
    assert_eq!(
        answered(&report, "schemas"),
        "schemas: User, Group; ResourceType User: without the CoreWeave extension; \
         the CoreWeave user extension is not described (in /Schemas and on the User resource type)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_dropping_name_formatted_shows_in_the_round_trip() {
    let world = world_with(
        Quirks {
            drop_name_formatted: true,
            ..Quirks::default()
        },
        Faults::default(),
        100,
    )
    .await;
    world.sync().await;
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "round trip"), "degraded", "{report:#}");
    assert_eq!(
        answered(&report, "round trip"),
        "9 owned users; 9 would be updated (the first 5 below)"
    );
    let shown = details(&report, "round trip");
    assert_eq!(shown.len(), 5);
    assert!(
        shown
            .iter()
            .all(|d| d.contains("name.formatted (absent -> \"")),
        "{shown:#?}"
    );
}

/// The round trip follows the planner: whatever a plan would update right after a
/// sync against a server that lowercases userName and emails is what it reports.
#[tokio::test(flavor = "multi_thread")]
async fn a_lowercasing_server_is_judged_by_the_planner() {
    let world = world_with(
        Quirks {
            lowercase_names: true,
            ..Quirks::default()
        },
        Faults::default(),
        100,
    )
    .await;
    world.sync().await;
    let plan = world.run(&["plan", "--output", "json"], &[]).await;
    plan.expect_code(0);
    let updates = plan.json()["plan"]["summary"]["update_users"]
        .as_u64()
        .unwrap();
    let report = check(&world, 0).await;
    let expected = if updates == 0 {
        "9 owned users; none would be updated".to_owned()
    } else {
        format!(
            "9 owned users; {updates} would be updated (the first {} below)",
            updates.min(5)
        )
    };
    assert_eq!(answered(&report, "round trip"), expected, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_external_id_stored_is_degraded() {
    let world = world_with(
        Quirks {
            drop_external_id: true,
            ..Quirks::default()
        },
        Faults::default(),
        100,
    )
    .await;
    world
        .scim()
        .seed_user(json!({"userName": "console-user"}))
        .unwrap();
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "ownership"), "degraded", "{report:#}");
    assert_eq!(
        answered(&report, "ownership"),
        "users: 1 listed, 0 with an externalId, 0 ours; groups: 0 listed, 0 with an externalId, 0 ours"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn clashing_unowned_records_are_listed_with_the_fix() {
    let world = World::start().await;
    let scim = world.scim();
    let admin = scim.seed_group(json!({"displayName": "admin"})).unwrap();
    scim.seed_user(json!({"userName": "Alice.Nguyen", "externalId": "okta:1"}))
        .unwrap();
    let fixture = world.activate.fixture();
    let bob = fixture.user("bob.okafor").unwrap();
    let bob_email = bob.email.clone().unwrap();
    scim.seed_user(json!({"userName": "robert", "emails": [{"value": bob_email.to_uppercase()}]}))
        .unwrap();
    // Make "Admin" a desired group.
    world.activate.rename_group("interns", "Admin").unwrap();
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "name clashes"), "degraded", "{report:#}");
    assert_eq!(
        answered(&report, "name clashes"),
        "2 users and 1 groups clash with records this tool does not own"
    );
    let found = details(&report, "name clashes");
    assert!(
        found.iter().any(
            |d| d.starts_with("user \"alice.nguyen\": userName held by the record")
                && d.contains("externalId okta:1")
        ),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|d| d.starts_with("user \"bob.okafor\": email") && d.contains("\"robert\"")),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|d| d
            == &format!("group \"Admin\": displayName held by the group {admin} (\"admin\", one of CoreWeave's built-in groups). Fix: rename the ACTIVATE group, or rename or delete the built-in group in the CoreWeave Console first")),
        "{found:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_names_every_cause_and_exits_1() {
    let world = World::start().await;
    let output = world
        .run(
            &["check", "--output", "json"],
            &[("CW_SCIM_BEARER_TOKEN", "not-the-token")],
        )
        .await;
    output.expect_code(1);
    let report = output.json();
    assert_eq!(verdict(&report, "SCIM access"), "blocking");
    let consequence = probe(&report, "SCIM access")["consequence"]
        .as_str()
        .unwrap();
    for cause in [
        "wrong, expired or revoked",
        "Enable SCIM API",
        "Automated User Provisioning",
        "SAML SSO",
    ] {
        assert!(consequence.contains(cause), "{cause}: {consequence}");
    }
    assert!(!output.stdout.contains("not-the-token"), "{output}");
    assert_eq!(world.scim().log().writes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_headers_are_reported() {
    let world = World::start().await;
    world.scim().set_faults(Faults {
        http: testkit::faults::HttpFaults {
            rate_limit: Some(testkit::faults::RateLimit {
                requests: 4,
                per: std::time::Duration::from_millis(200),
            }),
            ..testkit::faults::HttpFaults::default()
        },
        ..Faults::default()
    });
    let output: Output = world.run(&["check", "--output", "json"], &[]).await;
    let report = output.json();
    assert_eq!(verdict(&report, "rate limits"), "degraded", "{output}");
    assert!(
        answered(&report, "rate limits").contains("429\u{d7}"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_activate_key_blocks_and_the_scim_side_is_still_probed() {
    let world = World::start().await;
    let wrong = testkit::activate::api_key(
        world.activate.base_url().trim_start_matches("http://"),
        "not-the-secret",
    );
    let output = world
        .run(
            &["check", "--output", "json"],
            &[("ACTIVATE_API_KEY", wrong.as_str())],
        )
        .await;
    output.expect_code(1);
    let report = output.json();
    assert_eq!(verdict(&report, "ACTIVATE access"), "blocking", "{output}");
    assert!(
        probe(&report, "ACTIVATE access")["consequence"]
            .as_str()
            .unwrap()
            .contains("ACTIVATE_API_KEY is wrong, expired or revoked"),
        "{output}"
    );
    assert!(!output.stdout.contains("not-the-secret"), "{output}");
    // The SCIM side does not depend on ACTIVATE.
    for name in ["SCIM access", "sw filter", "paging", "schemas", "ownership"] {
        assert_eq!(verdict(&report, name), "fine", "{name}: {output}");
    }
    for name in ["name clashes", "round trip"] {
        assert_eq!(
            answered(&report, name),
            "-",
            "{name} needs ACTIVATE: {output}"
        );
    }
}

/// Many small pages are no concern: a listing's page cap follows its `totalResults`
/// and the page size the server returns, within a maximum of 100,000 pages.
#[tokio::test(flavor = "multi_thread")]
async fn a_listing_of_many_small_pages_is_fine() {
    let world = world_with(Quirks::default(), Faults::default(), 2).await;
    for i in 0..1100 {
        world
            .scim()
            .seed_user(json!({"userName": format!("console-{i:04}")}))
            .unwrap();
    }
    let report = check(&world, 0).await;
    assert_eq!(verdict(&report, "paging"), "fine", "{report:#}");
    assert!(
        probe(&report, "paging")["consequence"]
            .as_str()
            .unwrap()
            .contains("an unfiltered one 550 + "),
        "{report:#}"
    );
}
