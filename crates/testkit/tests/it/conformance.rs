//! One conformance suite for the SCIM calls the reconciler makes, run against the
//! emulator and against `scim2-server` (an independent implementation), which must
//! observe the same results. Both cap pages at 2.
//!
//! The suite speaks plain HTTP (`reqwest` + `serde_json`) so that it checks the servers,
//! not our client. Where the peer is more lenient than the emulator, the differences
//! are listed in `LENIENCY` and each one is asserted explicitly.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use testkit::peer::{PeerOptions, Scim2Server};
use testkit::scim::{CW_USER_EXT, GROUP_SCHEMA, ScimOptions, USER_SCHEMA};

use crate::support::{Scim, id_of, scim_error, start_scim, status_and_body, user_body};

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSE6KRW4t7af5exSrbxpY9J1lRjxbmspMrQ2AXAoeyZ alice@laptop";
const KEY_B: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILm3FZt7QaYyY45KsTSUKXfKgWQ2OsrrwL9gT8QvjCG7 bob@ws";
const KEY_C: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPI2odKZe/HoJ1ZwCxeBrL3hBjLe6n2VmOaXLqYn1nQz zoe@tp";
const SW_PREFIX: &str = r#"externalId sw "pw-activate:""#;

async fn start_peer() -> Option<Scim2Server> {
    tokio::task::spawn_blocking(|| {
        Scim2Server::start_for_test(&PeerOptions {
            page_cap_2: true,
            ..PeerOptions::default()
        })
    })
    .await
    .expect("peer start task")
}

/// Runs the reconciler's calls in order and records what was observed (nothing
/// server-specific: no ids, URLs or timestamps).
async fn observe(scim: &Scim) -> Vec<(&'static str, Value)> {
    let mut seen = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();

    // POST /Users with the extension.
    let response = scim
        .post("Users", &user_body("alice", "pw-activate:user:a", &[KEY_A]))
        .await;
    let status = response.status().as_u16();
    let location = response.headers().contains_key("location");
    let body: Value = response.json().await.unwrap();
    seen.push((
        "create user with extension",
        json!({
            "status": status,
            "location header": location,
            "id assigned": body["id"].as_str().is_some_and(|s| !s.is_empty()),
            "extension urn listed": body["schemas"].as_array().unwrap().contains(&json!(CW_USER_EXT)),
            "keys": body[CW_USER_EXT]["sunkSshKeys"],
        }),
    ));
    let alice = id_of(&body);
    names.insert(alice.clone(), "alice".into());
    let mut statuses = Vec::new();
    for (user, external_id, keys) in [
        ("bob", "pw-activate:user:b", vec![KEY_B]),
        ("carol", "pw-activate:user:c", vec![]),
        ("dave", "pw-activate:user:d", vec![]),
        ("okta-admin", "okta:00u1", vec![]),
        ("shouty", "PW-ACTIVATE:user:s", vec![]),
    ] {
        let response = scim
            .post("Users", &user_body(user, external_id, &keys))
            .await;
        statuses.push(response.status().as_u16());
        let body: Value = response.json().await.unwrap();
        names.insert(id_of(&body), user.into());
    }
    seen.push(("create more users", json!(statuses)));
    let id = |name: &str| {
        names
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.clone())
            .unwrap()
    };

    // List with the ownership filter across capped pages.
    let mut pages = Vec::new();
    let mut listed = Vec::new();
    let mut start = 1;
    loop {
        let page: Value = scim.list_json("Users", Some(SW_PREFIX), start, 100).await;
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        pages.push(json!([
            page["totalResults"],
            page["itemsPerPage"],
            resources.len()
        ]));
        listed.extend(
            resources
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned()),
        );
        start += resources.len();
        if resources.is_empty()
            || listed.len() >= usize::try_from(page["totalResults"].as_u64().unwrap()).unwrap()
        {
            break;
        }
    }
    listed.sort();
    seen.push((
        "list sw pages",
        json!({"pages": pages, "userNames": listed}),
    ));

    // userName eq, case-insensitive.
    let page: Value = scim
        .list_json("Users", Some(r#"userName eq "ALICE""#), 1, 10)
        .await;
    seen.push((
        "filter userName eq case-insensitive",
        json!([page["totalResults"], page["Resources"][0]["userName"]]),
    ));

    // PATCH the attributes the reconciler manages.
    let keys_path = format!("{CW_USER_EXT}:sunkSshKeys");
    let mut patch_statuses = Vec::new();
    for operations in [
        json!([{"op": "replace", "path": keys_path, "value": [KEY_B, KEY_C]}]),
        json!([{"op": "replace", "path": "active", "value": false}]),
        json!([{"op": "replace", "path": "displayName", "value": "Alice N."}]),
        json!([{"op": "replace", "path": "externalId", "value": "pw-activate:user:a2"}]),
    ] {
        let response = scim.patch_ops("Users", &alice, operations).await;
        let status = response.status().as_u16();
        patch_statuses.push(json!([status, response.text().await.unwrap()]));
    }
    let user: Value = scim.get_json(&format!("/Users/{alice}")).await;
    seen.push((
        "patch keys, active, displayName, externalId",
        json!({
            "statuses": patch_statuses,
            "keys": user[CW_USER_EXT]["sunkSshKeys"],
            "active": user["active"],
            "displayName": user["displayName"],
            "externalId": user["externalId"],
        }),
    ));

    // Clear keys: replace with [] and remove by path.
    let cleared = scim
        .patch_ops(
            "Users",
            &alice,
            json!([{"op": "replace", "path": keys_path, "value": []}]),
        )
        .await
        .status()
        .as_u16();
    let removed = scim
        .patch_ops(
            "Users",
            &id("bob"),
            json!([{"op": "remove", "path": keys_path}]),
        )
        .await
        .status()
        .as_u16();
    let mut after = Vec::new();
    for user in [alice.clone(), id("bob")] {
        let body: Value = scim.get_json(&format!("/Users/{user}")).await;
        after.push(json!({
            "keys": body[CW_USER_EXT]["sunkSshKeys"].as_array().cloned().unwrap_or_default(),
            "urn listed": body["schemas"].as_array().unwrap().contains(&json!(CW_USER_EXT)),
        }));
    }
    seen.push((
        "clear keys",
        json!({"statuses": [cleared, removed], "after": after}),
    ));

    // Groups: create with members, replace members, rename, empty.
    let response = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "gpu-users", "externalId": "pw-activate:group:1",
                    "members": [{"value": alice}, {"value": id("bob")}]}),
        )
        .await;
    let status = response.status().as_u16();
    let group = id_of(&response.json().await.unwrap());
    let member_names = |body: &Value| {
        let mut out: Vec<String> = body["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| names[m["value"].as_str().unwrap()].clone())
            .collect();
        out.sort();
        out
    };
    let body: Value = scim.get_json(&format!("/Groups/{group}")).await;
    let created = json!([status, member_names(&body)]);
    let mut group_patches = Vec::new();
    for operations in [
        json!([{"op": "replace", "path": "members", "value": [{"value": id("carol")}]}]),
        json!([{"op": "replace", "path": "displayName", "value": "gpu"}]),
    ] {
        group_patches.push(
            scim.patch_ops("Groups", &group, operations)
                .await
                .status()
                .as_u16(),
        );
    }
    let body: Value = scim.get_json(&format!("/Groups/{group}")).await;
    let replaced = json!([member_names(&body), body["displayName"]]);
    let emptied = scim
        .patch_ops(
            "Groups",
            &group,
            json!([{"op": "replace", "path": "members", "value": []}]),
        )
        .await
        .status()
        .as_u16();
    let body: Value = scim.get_json(&format!("/Groups/{group}")).await;
    let page: Value = scim.list_json("Groups", Some(SW_PREFIX), 1, 10).await;
    seen.push((
        "groups",
        json!({
            "created": created,
            "patches": group_patches,
            "replaced": replaced,
            "emptied": [emptied, member_names(&body)],
            "listed": page["totalResults"],
        }),
    ));

    // Errors.
    let duplicate = scim_error(
        scim.post("Users", &user_body("ALICE", "pw-activate:user:x", &[]))
            .await,
    )
    .await;
    let unquoted = scim_error(scim.list("Users", Some("userName eq alice"), 1, 10).await).await;
    let no_token = scim
        .client
        .get(format!("{}/Users", scim.base))
        .send()
        .await
        .unwrap();
    let (no_token, no_token_body) = status_and_body(no_token).await;
    let wrong_token = scim
        .client
        .get(format!("{}/Users", scim.base))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    seen.push((
        "errors",
        json!({
            "duplicate userName": duplicate,
            "unquoted filter": unquoted,
            "no token": [no_token, no_token_body["status"]],
            "wrong token": wrong_token,
        }),
    ));
    seen
}

fn expected() -> Vec<(&'static str, Value)> {
    vec![
        (
            "create user with extension",
            json!({"status": 201, "location header": true, "id assigned": true,
                   "extension urn listed": true, "keys": [KEY_A]}),
        ),
        ("create more users", json!([201, 201, 201, 201, 201])),
        (
            "list sw pages",
            json!({"pages": [[4, 2, 2], [4, 2, 2]], "userNames": ["alice", "bob", "carol", "dave"]}),
        ),
        ("filter userName eq case-insensitive", json!([1, "alice"])),
        (
            "patch keys, active, displayName, externalId",
            json!({"statuses": [[204, ""], [204, ""], [204, ""], [204, ""]], "keys": [KEY_B, KEY_C],
                   "active": false, "displayName": "Alice N.", "externalId": "pw-activate:user:a2"}),
        ),
        (
            "clear keys",
            json!({"statuses": [204, 204], "after": [{"keys": [], "urn listed": false}, {"keys": [], "urn listed": false}]}),
        ),
        (
            "groups",
            json!({"created": [201, ["alice", "bob"]], "patches": [204, 204], "replaced": [["carol"], "gpu"],
                   "emptied": [204, []], "listed": 1}),
        ),
        (
            "errors",
            json!({"duplicate userName": [409, "uniqueness"], "unquoted filter": [400, "invalidFilter"],
                   "no token": [401, "401"], "wrong token": 401}),
        ),
    ]
}

#[tokio::test]
async fn emulator_and_scim2_server_observe_the_same_results() {
    let peer = start_peer().await;
    let emulator = start_scim(ScimOptions {
        page_cap: 2,
        ..ScimOptions::default()
    })
    .await;
    let from_emulator = observe(&Scim::of(&emulator)).await;
    assert_eq!(from_emulator, expected());
    if let Some(peer) = peer {
        let from_peer = observe(&Scim::new(peer.base_url(), peer.token())).await;
        assert_eq!(from_peer, from_emulator);
    }
}

/// Requests where the servers disagree: what is sent, the emulator's refusal
/// (status, `scimType`), and the peer's acceptance.
const LENIENCY: &[(&str, (u16, &str), u16)] = &[
    ("POST /Users without schemas", (400, "invalidSyntax"), 201),
    (
        "POST /Users with the extension but its URN not in schemas",
        (400, "invalidSyntax"),
        201,
    ),
    ("PATCH with a capitalised op", (400, "invalidValue"), 204),
    (
        "PATCH active with a string boolean",
        (400, "invalidValue"),
        204,
    ),
    (
        "POST /Groups with an unknown member id",
        (400, "invalidValue"),
        201,
    ),
    (
        "PATCH members adding a group (nesting)",
        (400, "invalidValue"),
        204,
    ),
];

/// Sets up what case `n` needs (names made unique by `n`, as the peer is shared by
/// all cases) and sends the request that the servers treat differently.
async fn attempt(scim: &Scim, n: usize) -> (u16, Option<String>) {
    let user = scim
        .create_user(
            &format!("lenient-{n}"),
            &format!("pw-activate:user:l{n}"),
            &[],
        )
        .await;
    let group = |name: String| async move {
        let response = scim
            .post(
                "Groups",
                &json!({"schemas": [GROUP_SCHEMA], "displayName": name}),
            )
            .await;
        id_of(&response.json().await.unwrap())
    };
    let response = match LENIENCY[n].0 {
        "POST /Users without schemas" => {
            scim.post("Users", &json!({"userName": format!("no-schemas-{n}")}))
                .await
        }
        "POST /Users with the extension but its URN not in schemas" => {
            scim.post(
                "Users",
                &json!({"schemas": [USER_SCHEMA], "userName": format!("no-urn-{n}"),
                        CW_USER_EXT: {"sunkSshKeys": [KEY_A]}}),
            )
            .await
        }
        "PATCH with a capitalised op" => {
            scim.patch_ops(
                "Users",
                &user,
                json!([{"op": "Replace", "path": "active", "value": false}]),
            )
            .await
        }
        "PATCH active with a string boolean" => {
            scim.patch_ops(
                "Users",
                &user,
                json!([{"op": "replace", "path": "active", "value": "False"}]),
            )
            .await
        }
        "POST /Groups with an unknown member id" => {
            scim.post(
                "Groups",
                &json!({"schemas": [GROUP_SCHEMA], "displayName": format!("ghosts-{n}"),
                        "members": [{"value": "no-such-id"}]}),
            )
            .await
        }
        "PATCH members adding a group (nesting)" => {
            let inner = group(format!("inner-{n}")).await;
            let outer = group(format!("outer-{n}")).await;
            scim.patch_ops(
                "Groups",
                &outer,
                json!([{"op": "add", "path": "members", "value": [{"value": inner}]}]),
            )
            .await
        }
        other => panic!("unknown case {other}"),
    };
    scim_error(response).await
}

#[tokio::test]
async fn where_scim2_server_is_more_lenient_the_emulator_refuses() {
    let peer = start_peer().await;
    let emulator = start_scim(ScimOptions::default()).await;
    for (n, &(what, (status, scim_type), peer_status)) in LENIENCY.iter().enumerate() {
        let got = attempt(&Scim::of(&emulator), n).await;
        assert_eq!(
            got,
            (status, Some(scim_type.to_owned())),
            "emulator: {what}"
        );
        if let Some(peer) = &peer {
            let got = attempt(&Scim::new(peer.base_url(), peer.token()), n).await;
            assert_eq!(got.0, peer_status, "peer: {what}");
        }
    }
}
