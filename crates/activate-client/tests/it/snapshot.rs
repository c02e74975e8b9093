//! `fetch_snapshot`: one complete read, keys only for users who will be active in
//! scope, request counts, and the part named on failure.

use std::collections::BTreeSet;
use std::sync::Arc;

use activate_client::{
    Group, LicenseStatus, OrgSnapshot, RequestStats, Scope, SnapshotPart, UnusableUser,
};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{self, member, user};

/// alice: active, in gpu. bob: license inactive, in gpu. carol: not active, in gpu.
/// dave: active, only in cpu. eve: complimentary, in gpu.
pub async fn mount_org(server: &MockServer, page_size: u32) {
    let users = [
        user("u3", "carol", false, "active"),
        user("u1", "alice", true, "active"),
        user("u4", "dave", true, "active"),
        user("u2", "bob", true, "inactive"),
        user("u5", "eve", true, "complimentary"),
    ];
    for (i, chunk) in users.chunks(page_size as usize).enumerate() {
        Mock::given(method("GET"))
            .and(path("/api/organizations/acme/users"))
            .and(query_param("limit", page_size.to_string()))
            .and(query_param("skip", (i * page_size as usize).to_string()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"total": 5, "users": chunk})),
            )
            .expect(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "g2", "name": "cpu", "members": 1},
            {"id": "g1", "name": "gpu users", "members": 5}
        ])))
        .expect(1)
        .mount(server)
        .await;
}

pub async fn mount_members(server: &MockServer, cpu_expected: u64) {
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/gpu%20users/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            member("u5", "eve"),
            member("u1", "alice"),
            member("u2", "bob"),
            member("u3", "carol"),
            member("ghost", "ghost"),
            member("u1", "alice")
        ])))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/cpu/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([member("u4", "dave")])))
        .expect(cpu_expected)
        .mount(server)
        .await;
}

pub async fn mount_keys(server: &MockServer, expected: &[(&str, u64)]) {
    for (username, times) in expected {
        Mock::given(method("GET"))
            .and(path(format!("/api/users/{username}/ssh-public-keys")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                format!("\"ssh-ed25519 AAAA {username}@host\\n\""),
                "application/json",
            ))
            .expect(*times)
            .mount(server)
            .await;
    }
}

fn keys_of(snapshot: &OrgSnapshot) -> Vec<(&str, Option<Vec<String>>)> {
    snapshot
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.ssh_keys.clone()))
        .collect()
}

fn key(username: &str) -> Vec<String> {
    vec![format!("ssh-ed25519 AAAA {username}@host")]
}

#[tokio::test]
async fn scoped_snapshot_fetches_keys_only_for_active_in_scope_users() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/auth/whoami/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#""acme""#, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    mount_org(&server, 2).await;
    mount_members(&server, 0).await;
    mount_keys(
        &server,
        &[
            ("alice", 1),
            ("eve", 1),
            ("bob", 0),
            ("carol", 0),
            ("dave", 0),
        ],
    )
    .await;

    let client = support::builder_without_org(&server)
        .page_size(2)
        .build()
        .unwrap();
    let scope = Scope::groups(["gpu users", "no such group"]);
    let snapshot = client.fetch_snapshot(&scope).await.unwrap();

    assert_eq!(snapshot.org, "acme");
    assert_eq!(snapshot.scope, scope);
    assert_eq!(
        keys_of(&snapshot),
        [
            ("alice", Some(key("alice"))),
            ("bob", None),
            ("carol", None),
            ("dave", None),
            ("eve", Some(key("eve")))
        ]
    );
    assert_eq!(
        snapshot.groups,
        [Group {
            id: "g1".into(),
            name: "gpu users".into(),
            member_ids: ["ghost", "u1", "u2", "u3", "u5"].map(Arc::from).to_vec(),
        }]
    );
    assert_eq!(
        snapshot.unknown_groups,
        BTreeSet::from(["no such group".to_owned()])
    );
    assert_eq!(
        snapshot.members_not_in_org,
        BTreeSet::from(["ghost".to_owned()])
    );
    let active: Vec<&str> = snapshot
        .users
        .iter()
        .filter(|u| snapshot.will_be_active(u))
        .map(|u| u.id.as_str())
        .collect();
    assert_eq!(active, ["u1", "u5"]);
    assert_eq!(
        snapshot.users[4].license_status,
        Some(LicenseStatus::Complimentary)
    );

    // ceil(5 / 2) user pages + 1 group list + 1 member list + 2 key lookups + 1 whoami.
    assert_eq!(
        snapshot.stats,
        RequestStats {
            whoami: 1,
            user_pages: 3,
            group_lists: 1,
            member_lists: 1,
            key_lookups: 2,
            ..RequestStats::default()
        }
    );
    assert_eq!(snapshot.stats.total(), 8);
    assert_eq!(
        support::paths(&server).await.len(),
        8,
        "the stats match what the server saw"
    );
    // wiremock verifies the `expect(0)` mocks (no keys for bob, carol, dave; no cpu
    // members) when the server drops.
}

#[tokio::test]
async fn unscoped_snapshot_reads_every_group() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    mount_members(&server, 1).await;
    mount_keys(
        &server,
        &[
            ("alice", 1),
            ("dave", 1),
            ("eve", 1),
            ("bob", 0),
            ("carol", 0),
        ],
    )
    .await;

    let snapshot = support::client(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap();

    let names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["cpu", "gpu users"], "sorted by name");
    assert_eq!(snapshot.groups[0].member_ids, [Arc::from("u4")]);
    assert_eq!(
        keys_of(&snapshot),
        [
            ("alice", Some(key("alice"))),
            ("bob", None),
            ("carol", None),
            ("dave", Some(key("dave"))),
            ("eve", Some(key("eve")))
        ]
    );
    assert!(snapshot.unknown_groups.is_empty());
    // 1 user page + 1 group list + 2 member lists + 3 key lookups; the org was configured.
    assert_eq!(
        snapshot.stats,
        RequestStats {
            whoami: 0,
            user_pages: 1,
            group_lists: 1,
            member_lists: 2,
            key_lookups: 3,
            ..RequestStats::default()
        }
    );
    assert_eq!(snapshot.stats.total(), 7);
    assert_eq!(support::paths(&server).await.len(), 7);
}

#[tokio::test]
async fn a_failed_member_list_fails_the_snapshot_and_names_the_group() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/gpu%20users/members"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"error": true, "message": "database unavailable"})),
        )
        .mount(&server)
        .await;
    let err = support::client(&server)
        .fetch_snapshot(&Scope::groups(["gpu users"]))
        .await
        .unwrap_err();
    assert_eq!(
        err.part,
        SnapshotPart::Members {
            group: "gpu users".into()
        }
    );
    assert_eq!(
        support::chain(&err),
        "could not read members of group \"gpu users\": GET /api/organizations/acme/groups/gpu%20users/members: HTTP 503: database unavailable (after 3 attempts, retries exhausted)"
    );
}

#[tokio::test]
async fn a_null_member_list_of_a_group_counted_with_members_fails_the_snapshot() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/gpu%20users/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(null)))
        .mount(&server)
        .await;
    let err = support::client(&server)
        .fetch_snapshot(&Scope::groups(["gpu users"]))
        .await
        .unwrap_err();
    assert_eq!(
        support::chain(&err),
        "could not read members of group \"gpu users\": members of group \"gpu users\": the member list is empty, but the group list counts 5 members"
    );
}

#[tokio::test]
async fn a_failed_key_lookup_holds_only_that_user() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    mount_members(&server, 0).await;
    mount_keys(&server, &[("alice", 1)]).await;
    Mock::given(method("GET"))
        .and(path("/api/users/eve/ssh-public-keys"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": true, "message": "user not found"})),
        )
        .mount(&server)
        .await;
    let snapshot = support::client(&server)
        .fetch_snapshot(&Scope::groups(["gpu users"]))
        .await
        .unwrap();
    assert_eq!(
        snapshot.unusable_users,
        [UnusableUser {
            id: Some("u5".into()),
            username: Some("eve".into()),
            reason: "its SSH keys cannot be read: GET /api/users/eve/ssh-public-keys: HTTP 404: user not found".into(),
        }]
    );
    assert!(snapshot.is_complete(), "eve has an id");
    assert_eq!(
        keys_of(&snapshot),
        [
            ("alice", Some(key("alice"))),
            ("bob", None),
            ("carol", None),
            ("dave", None)
        ],
        "eve is not among the usable users"
    );
    assert_eq!(snapshot.stats.key_lookups, 2);
}

#[tokio::test]
async fn every_key_lookup_failing_fails_the_snapshot() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    mount_members(&server, 0).await;
    Mock::given(method("GET"))
        .and(path_regex("^/api/users/[^/]+/ssh-public-keys$"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let err = support::client(&server)
        .fetch_snapshot(&Scope::groups(["gpu users"]))
        .await
        .unwrap_err();
    assert_eq!(err.part, SnapshotPart::AllKeys);
    assert_eq!(
        support::chain(&err),
        "could not read the users' SSH keys: 2 of 2 SSH key lookups failed, among them user \"alice\"'s: \
         failures of more than max(5, 10%) of the lookups, or of all of at least 2, are not a problem \
         of single users: GET /api/users/alice/ssh-public-keys: HTTP 500: boom"
    );
}

#[tokio::test]
async fn more_than_five_failed_key_lookups_stop_the_snapshot_early() {
    let server = support::server().await;
    let users: Vec<_> = (0..40)
        .map(|i| user(&format!("u{i:02}"), &format!("user{i:02}"), true, "active"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total": 40, "users": users})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/api/users/[^/]+/ssh-public-keys$"))
        .respond_with(ResponseTemplate::new(404).set_body_string("gone"))
        .mount(&server)
        .await;
    let err = support::builder(&server)
        .concurrency(1)
        .build()
        .unwrap()
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap_err();
    assert_eq!(err.part, SnapshotPart::AllKeys);
    assert!(
        err.source
            .to_string()
            .starts_with("6 of 40 SSH key lookups failed"),
        "{err:?}"
    );
    let lookups = support::paths(&server)
        .await
        .iter()
        .filter(|p| p.ends_with("/ssh-public-keys"))
        .count();
    assert_eq!(lookups, 6, "the read stopped at the sixth failure");
}

#[tokio::test]
async fn a_refused_credential_on_a_key_lookup_fails_the_snapshot() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    mount_members(&server, 0).await;
    mount_keys(&server, &[("alice", 1)]).await;
    Mock::given(method("GET"))
        .and(path("/api/users/eve/ssh-public-keys"))
        .respond_with(ResponseTemplate::new(401).set_body_string("expired"))
        .mount(&server)
        .await;
    let err = support::client(&server)
        .fetch_snapshot(&Scope::groups(["gpu users"]))
        .await
        .unwrap_err();
    assert_eq!(
        err.part,
        SnapshotPart::Keys {
            username: "eve".into()
        }
    );
    assert!(err.source.is_auth(), "{err:?}");
}

/// Bodies a keys endpoint may answer with 200 that are not a key listing: each holds
/// its user (never "no keys"), and the others are read.
#[tokio::test]
async fn a_keys_body_that_is_not_a_key_listing_holds_the_user() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>...</body></html>",
            "the response is text/html, not a JSON string or text/plain: \"Sign in ...\"",
        ),
        (
            "text/plain",
            b"\n<html><body>Down for maintenance</body></html>",
            "the response is an HTML page, not a JSON string or text/plain: \"Down for maintenance\"",
        ),
        (
            "application/octet-stream",
            b"\x00\x01",
            "the response is application/octet-stream, not a JSON string or text/plain: \"\u{fffd}\u{fffd}\"",
        ),
        (
            "application/json",
            br#"{"keys": []}"#,
            "expected a JSON string or text, got an object",
        ),
        (
            "text/plain",
            b"\xff\xfe",
            "the response body is not UTF-8: invalid utf-8 sequence of 1 bytes from index 0",
        ),
    ];
    for (content_type, body, problem) in cases {
        let server = support::server().await;
        mount_org(&server, 500).await;
        mount_members(&server, 0).await;
        mount_keys(&server, &[("alice", 1)]).await;
        Mock::given(method("GET"))
            .and(path("/api/users/eve/ssh-public-keys"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_vec(), content_type))
            .mount(&server)
            .await;
        let snapshot = support::client(&server)
            .fetch_snapshot(&Scope::groups(["gpu users"]))
            .await
            .unwrap();
        assert_eq!(
            snapshot.unusable_users,
            [UnusableUser {
                id: Some("u5".into()),
                username: Some("eve".into()),
                reason: format!(
                    "its SSH keys cannot be read: GET /api/users/eve/ssh-public-keys: {problem}"
                ),
            }],
            "{content_type}"
        );
        assert!(snapshot.users.iter().all(|u| u.username != "eve"));
        assert_eq!(
            snapshot
                .users
                .iter()
                .find(|u| u.username == "alice")
                .unwrap()
                .ssh_keys,
            Some(key("alice"))
        );
    }
}

#[tokio::test]
async fn an_incomplete_user_list_fails_the_snapshot() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"total": 3, "users": [user("u1", "a", true, "active")]})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/users"))
        .and(query_param("skip", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 3, "users": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let err = support::client(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap_err();
    assert_eq!(err.part, SnapshotPart::Users);
    assert_eq!(
        support::chain(&err),
        "could not read the organization's users: incomplete user list: the server announced 3 users, 1 arrived"
    );
}

#[tokio::test]
async fn a_nameless_group_fails_an_unscoped_snapshot_but_not_a_scoped_one() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 0, "users": null})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "g9", "name": null}, {"id": "g1", "name": "gpu"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/gpu/members"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("null", "application/json"))
        .mount(&server)
        .await;
    let client = support::client(&server);
    let err = client.fetch_snapshot(&Scope::all()).await.unwrap_err();
    assert_eq!(
        support::chain(&err),
        "could not read the organization's groups: GET /api/organizations/acme/groups: group \"g9\" has no name, so its members cannot be read"
    );
    let snapshot = client
        .fetch_snapshot(&Scope::groups(["gpu"]))
        .await
        .unwrap();
    assert_eq!(
        snapshot.groups,
        [Group {
            id: "g1".into(),
            name: "gpu".into(),
            member_ids: vec![]
        }]
    );
    assert!(snapshot.users.is_empty());
}

/// The snapshot futures can be spawned on a multi-threaded runtime.
#[test]
fn snapshot_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    let client = support::client(&server);
    let scope = Scope::all();
    let pw = activate_client::PwCliKeys::default();
    let scim =
        activate_client::ScimSource::new(client.clone(), &"t0ken".to_owned().into()).unwrap();
    assert_send(&client.fetch_snapshot(&scope));
    assert_send(&client.fetch_snapshot_with(&scope, &pw));
    assert_send(&scim.fetch_snapshot(&scope));
}
