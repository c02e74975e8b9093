//! A larger organization: several pages on both sides.

use testkit::activate::{ActivateOptions, Resource as ActivateResource};
use testkit::request_log::Method;
use testkit::scim::{Resource, ScimOptions};
use testkit::synthetic::SyntheticOrg;

use crate::expected::{assert_records, initial_state, is_active};
use crate::harness::{LogExt, World, writes};

#[tokio::test(flavor = "multi_thread")]
async fn a_larger_organization_syncs_exactly_around_a_conflict() {
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
    // A record this tool does not own holds one of the user names (in upper case).
    // With this many users to create, the name check lists every SCIM user once.
    let taken = fixture.users.iter().find(|u| is_active(u)).unwrap().clone();
    let foreign = world
        .scim()
        .seed_user(serde_json::json!({
            "schemas": [testkit::scim::USER_SCHEMA],
            "userName": taken.username.to_uppercase(),
            "externalId": "okta:00u9",
        }))
        .unwrap();
    let foreign_before = world.scim().user(&foreign).unwrap();

    let output = world.run(&["--output", "json"], &[]).await;
    output.expect_code(3);
    assert!(
        output.stderr.contains("foreign_name_check=FullListing"),
        "{}",
        output.stderr
    );
    let document = output.json();
    assert_eq!(document["plan"]["summary"]["conflicts"], 1);
    assert!(
        document["plan"]["conflicts"]
            .to_string()
            .contains(&taken.id),
        "{}",
        document["plan"]["conflicts"]
    );
    let mut expected = initial_state(&fixture, None);
    expected.users.remove(&taken.username);
    for group in expected.groups.values_mut() {
        group.members.remove(&taken.username);
    }
    assert!(expected.users.len() > 500, "{}", expected.users.len());
    let mut state = world.target.state().await;
    assert_eq!(
        state
            .users
            .remove(&taken.username.to_uppercase())
            .unwrap()
            .external_id
            .as_deref(),
        Some("okta:00u9")
    );
    assert_records(&state, &expected);
    assert_eq!(world.scim().user(&foreign).unwrap(), foreign_before);
    // Two pages of ACTIVATE users (limit 500).
    assert_eq!(
        world
            .activate
            .log()
            .count(Method::Get, ActivateResource::Users),
        2
    );

    let from = world.scim().log().records().len();
    let output = world.run(&[], &[]).await;
    output.expect_code(3);
    assert!(output.stdout.starts_with("Nothing to apply."), "{output}");
    let records = world.scim().since(from);
    assert!(writes(&records).is_empty());
    let reads = |resource, needle: &str| {
        records
            .iter()
            .filter(|r| {
                r.method == Method::Get
                    && r.resource == resource
                    && r.query.as_deref().unwrap_or("").contains(needle)
            })
            .count()
    };
    // The ServiceProviderConfig (for the paging method), the owned listings, page by
    // page, and one name lookup for the conflicted user.
    assert_eq!(
        reads(Resource::Users, "externalId"),
        expected.users.len().div_ceil(100)
    );
    assert_eq!(reads(Resource::Users, "userName"), 1);
    assert_eq!(reads(Resource::Groups, "externalId"), 1);
    assert_eq!(reads(Resource::ServiceProviderConfig, ""), 1);
    assert_eq!(records.len(), expected.users.len().div_ceil(100) + 3);
}

/// The process asks the kernel for no transparent huge pages, so that its memory is
/// counted in 4 KiB pages against the CronJob's limit, not in 2 MiB ones.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn the_process_runs_without_transparent_huge_pages() {
    use std::time::Duration;

    use crate::harness::slow_activate;

    /// `THP_enabled` of the process whose `/proc/<pid>/status` this is.
    fn thp_enabled(status_path: &str) -> Option<String> {
        let status = std::fs::read_to_string(status_path).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("THP_enabled:"))
            .map(|value| value.trim().to_owned())
    }

    // The setting is inherited by the binary: this process clears it first, so that
    // what the binary shows is its own request. Only a kernel without transparent
    // huge pages (or without the `THP_enabled` line, before Linux 5.0) leaves nothing
    // to see, and then the test says so.
    rustix::thread::disable_transparent_huge_pages(false)
        .expect("this test process may clear its own setting");
    let here = thp_enabled("/proc/self/status");
    if here.as_deref() != Some("1") {
        eprintln!(
            "skipped: THP_enabled of this process is {here:?} after clearing it: this kernel has no transparent huge pages to disable"
        );
        return;
    }
    // ACTIVATE answers slowly, so that the process lives long enough to be read.
    let world = World::with(
        slow_activate(Duration::from_millis(300)),
        ScimOptions::default(),
    )
    .await;
    let mut child = tokio::process::Command::new(crate::harness::BIN)
        .env_clear()
        .envs(world.base_env())
        .current_dir(world.dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let status_path = format!("/proc/{}/status", child.id().expect("a running child"));
    // The setting is made before the run starts; read until it shows or the run ends.
    let mut seen = None;
    for _ in 0..200 {
        let Some(now) = thp_enabled(&status_path) else {
            break;
        };
        seen = Some(now);
        if seen.as_deref() == Some("0") || child.try_wait().expect("waitable").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the run ends within 2 minutes")
        .expect("the binary exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        seen.as_deref(),
        Some("0"),
        "THP_enabled in {status_path} while the binary ran; its stderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
