//! Source and target answers that look consistent to one request but are not, and
//! what the binary must do with them: write nothing that takes access away, and never
//! create a second record for one it already owns.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::activate::Fixture;
use testkit::proxy::{Rule, respond_json, rewrite_json};
use testkit::scim::ScimOptions;

use crate::support::world::World;
use crate::support::writes_since;

async fn synced_world() -> World {
    let world = World::start(Fixture::example(), ScimOptions::default()).await;
    let out = world.run(&["sync"], &[]).await;
    assert_eq!(out.code, 0, "the preparing sync: {}", out.stderr);
    world
}

fn member_count(world: &World, group: &str) -> usize {
    world
        .scim
        .groups()
        .iter()
        .find(|g| g["displayName"] == json!(group))
        .and_then(|g| g["members"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The group list says `gpu-users` has 8 members; its member list comes back `null`
/// (or `[]`). That is an inconsistent source: the run must not empty the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_member_list_does_not_empty_a_group_that_has_members() {
    let world = synced_world().await;
    assert_eq!(member_count(&world, "gpu-users"), 6, "six active members");
    world.activate_proxy.add_rule(Rule::always(
        Some("GET"),
        "/groups/gpu-users/members$",
        respond_json(200, "application/json", "null"),
    ));
    let from = world.scim_proxy.log().next_seq();
    let out = world.run(&["sync"], &[]).await;
    world.scim_proxy.settle(Duration::from_secs(5)).await;
    let writes = writes_since(&world.scim_proxy, from);
    assert_eq!(
        member_count(&world, "gpu-users"),
        6,
        "the group was emptied: exit {}, writes {writes:?}",
        out.code
    );
    assert_eq!(out.code, 1, "an inconsistent source is a fatal error");
    assert!(
        out.errors().contains("gpu-users"),
        "the message names the group: {}",
        out.errors()
    );
    assert!(writes.is_empty(), "nothing is written: {writes:?}");
}

/// A SCIM server whose `totalResults` is lower than the truth ends the owned-group
/// listing early; the group it did not list must not be created a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_total_results_never_duplicates_an_owned_group() {
    let world = synced_world().await;
    world.scim.set_page_cap(2);
    world.scim_proxy.add_rule(Rule::always(
        Some("GET"),
        "/Groups$",
        rewrite_json(|v| {
            let total = v["totalResults"].as_i64().unwrap_or(0);
            v["totalResults"] = json!((total - 2).max(0));
        }),
    ));
    let out = world.run(&["sync"], &[]).await;
    world.scim_proxy.settle(Duration::from_secs(5)).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for group in world.scim.groups() {
        if let Some(x) = group["externalId"].as_str() {
            *seen.entry(x.to_owned()).or_default() += 1;
        }
    }
    let duplicated: Vec<(&String, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "groups created twice: {duplicated:?} (exit {}; stderr {})",
        out.code,
        out.stderr
    );
}

/// The same lie on the user listing: the listing goes on to an empty page, every
/// owned user is found, nothing is created or refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_total_results_on_users_still_lists_every_user() {
    let world = synced_world().await;
    world.scim.set_page_cap(2);
    world.scim_proxy.add_rule(Rule::always(
        Some("GET"),
        "/Users$",
        rewrite_json(|v| {
            if v["Resources"].as_array().is_some_and(|r| r.len() > 1) {
                let total = v["totalResults"].as_i64().unwrap_or(0);
                v["totalResults"] = json!((total - 2).max(0));
            }
        }),
    ));
    let users_before = world.scim.users().len();
    let from = world.scim_proxy.log().next_seq();
    let out = world.run(&["sync"], &[]).await;
    world.scim_proxy.settle(Duration::from_secs(5)).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(world.scim.users().len(), users_before, "no user was added");
    assert!(
        writes_since(&world.scim_proxy, from).is_empty(),
        "nothing to write: every owned user was listed"
    );
    let doc: Value = out.json().expect("JSON output");
    assert_eq!(doc["plan"]["operations"], json!([]));
}
