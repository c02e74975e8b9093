//! The SCIM bulk source gives the same snapshot as the REST source for the same data.

use std::num::NonZeroU32;

use activate_client::{ActivateClient, OrgSnapshot, RequestStats, ScimSource, Scope, SnapshotPart};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::snapshot::{mount_keys, mount_members, mount_org};
use crate::support;

const SCIM: &str = "/api/organizations/acme/scim/v2";
const TOKEN: &str = "scimT0KENscimT0KEN";
const USER_EXT: &str = "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser";

fn scim_user(id: &str, username: &str, active: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", USER_EXT],
        "id": id,
        "userName": username,
        "active": active,
        "displayName": format!("Name {username}"),
        "name": {"formatted": format!("Name {username}"), "givenName": "Name", "familyName": username},
        "emails": [{"value": format!("{username}@example.com"), "primary": true, "type": "work"}],
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z"},
        USER_EXT: {
            "sunkPosixUsername": username.to_lowercase(),
            "sunkPosixUserId": 1000,
            "sunkSshKeys": [format!("ssh-ed25519 AAAA {username}@host")]
        }
    })
}

fn scim_group(id: &str, name: &str, members: &[&str]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m, "type": "User"})).collect::<Vec<_>>(),
        "meta": {"resourceType": "Group", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z"}
    })
}

fn list(total: usize, start: usize, resources: &[Value]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources
        })
        .to_string(),
        "application/scim+json",
    )
}

/// The same organization as `snapshot::mount_org`, as ACTIVATE's SCIM shows it: the
/// license folded into `active` (bob's inactive license makes him inactive).
async fn mount_scim(server: &MockServer) {
    let users = [
        scim_user("u1", "alice", true),
        scim_user("u2", "bob", false),
        scim_user("u3", "carol", false),
        scim_user("u4", "dave", true),
        scim_user("u5", "eve", true),
    ];
    for (i, chunk) in users.chunks(2).enumerate() {
        let start = 1 + 2 * i;
        Mock::given(method("GET"))
            .and(path(format!("{SCIM}/Users")))
            .and(query_param("startIndex", start.to_string()))
            .and(query_param("count", "2"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(list(users.len(), start, chunk))
            .expect(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("{SCIM}/Groups")))
        .and(query_param("startIndex", "1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(list(
            2,
            1,
            &[
                scim_group("g2", "cpu", &["u4"]),
                scim_group("g1", "gpu users", &["u5", "u1", "u2", "u3", "ghost", "u1"]),
            ],
        ))
        .expect(1)
        .mount(server)
        .await;
    // That page was full (2 of 2), so the listing confirms its end with one more page.
    Mock::given(method("GET"))
        .and(path(format!("{SCIM}/Groups")))
        .and(query_param("startIndex", "3"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(list(2, 3, &[]))
        .expect(1)
        .mount(server)
        .await;
}

fn source(server: &MockServer) -> ScimSource {
    ScimSource::new(
        support::client(server),
        &SecretString::from(format!("{TOKEN}\n")),
    )
    .unwrap()
    .with_page_size(NonZeroU32::new(2).unwrap())
    .unwrap()
}

/// What the SCIM source cannot know (license status, UID) and the request counts
/// removed; `active` as SCIM reports it (the license folded in).
fn comparable(mut snapshot: OrgSnapshot) -> OrgSnapshot {
    for user in &mut snapshot.users {
        user.active = user.is_enabled();
        user.license_status = None;
        user.uid = None;
    }
    snapshot.stats = RequestStats::default();
    snapshot
}

#[tokio::test]
async fn scim_and_rest_give_the_same_snapshot() {
    let server = support::server().await;
    mount_org(&server, 500).await;
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
    mount_scim(&server).await;
    let scope = Scope::groups(["gpu users", "no such group"]);

    let rest = support::client(&server)
        .fetch_snapshot(&scope)
        .await
        .unwrap();
    let scim = source(&server).fetch_snapshot(&scope).await.unwrap();

    assert_eq!(
        rest.stats,
        RequestStats {
            user_pages: 1,
            group_lists: 1,
            member_lists: 1,
            key_lookups: 2,
            ..RequestStats::default()
        }
    );
    // ceil(5 / 2) user pages + ceil(2 / 2) group pages, and one page confirming the
    // end of the group listing, whose last page was full.
    assert_eq!(
        scim.stats,
        RequestStats {
            scim_user_pages: 3,
            scim_group_pages: 2,
            ..RequestStats::default()
        }
    );
    assert_eq!(scim.stats.total(), 5);
    let keyed: Vec<&str> = scim
        .users
        .iter()
        .filter(|u| u.ssh_keys.is_some())
        .map(|u| u.username.as_str())
        .collect();
    assert_eq!(
        keyed,
        ["alice", "eve"],
        "keys kept only for users active in scope"
    );
    assert_eq!(scim.users[0].license_status, None);
    let scim_active: Vec<&str> = scim
        .users
        .iter()
        .filter(|u| scim.will_be_active(u))
        .map(|u| u.id.as_str())
        .collect();
    let rest_active: Vec<&str> = rest
        .users
        .iter()
        .filter(|u| rest.will_be_active(u))
        .map(|u| u.id.as_str())
        .collect();
    assert_eq!(scim_active, rest_active);
    assert_eq!(comparable(scim), comparable(rest));
}

#[tokio::test]
async fn scim_unscoped_equals_rest_unscoped() {
    let server = support::server().await;
    mount_org(&server, 500).await;
    mount_members(&server, 1).await;
    mount_keys(&server, &[("alice", 1), ("dave", 1), ("eve", 1)]).await;
    mount_scim(&server).await;

    let rest = support::client(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap();
    let scim = source(&server).fetch_snapshot(&Scope::all()).await.unwrap();
    assert_eq!(comparable(scim), comparable(rest));
}

#[tokio::test]
async fn a_scim_failure_names_the_part() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(format!("{SCIM}/Users")))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"invalid token"}"#,
            "application/scim+json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{SCIM}/Groups")))
        .respond_with(list(0, 1, &[]))
        .mount(&server)
        .await;
    let err = source(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap_err();
    assert_eq!(err.part, SnapshotPart::Users);
    let chain = support::chain(&err);
    assert!(
        chain.starts_with(
            "could not read the organization's users: ACTIVATE SCIM listing GET /api/organizations/acme/scim/v2/Users failed: "
        ),
        "{chain}"
    );
    assert!(chain.contains("401"), "{chain}");
    assert!(chain.contains("invalid token"), "{chain}");
    assert!(!chain.contains(TOKEN), "{chain}");
}

#[test]
fn an_empty_scim_token_is_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    let client: ActivateClient = support::client(&server);
    let err = ScimSource::new(client, &SecretString::from(" \n".to_owned())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the ACTIVATE SCIM token is empty or holds characters other than printable ASCII"
    );
}

/// A source with pages of 200, so that one short page ends each listing.
fn big_pages(server: &MockServer) -> ScimSource {
    ScimSource::new(support::client(server), &SecretString::from(TOKEN)).unwrap()
}

/// One page of users and an empty group listing at `base`.
async fn mount_users_only(server: &MockServer, base: &str, users: &[Value]) {
    Mock::given(method("GET"))
        .and(path(format!("{base}/Users")))
        .respond_with(list(users.len(), 1, users))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/Groups")))
        .respond_with(list(0, 1, &[]))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_listing_in_which_no_user_carries_the_extension_is_incomplete() {
    let server = support::server().await;
    let without = |id: &str, name: &str| {
        let mut user = scim_user(id, name, true);
        let object = user.as_object_mut().unwrap();
        object.remove(USER_EXT);
        object["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
        user
    };
    mount_users_only(
        &server,
        SCIM,
        &[without("u1", "alice"), without("u2", "bob")],
    )
    .await;
    let err = big_pages(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap_err();
    assert_eq!(err.part, SnapshotPart::Users);
    assert_eq!(
        support::chain(&err),
        format!(
            "could not read the organization's users: GET {SCIM}/Users: none of the 2 users carries the CoreWeave user extension ({USER_EXT}), so their SSH keys were not returned; the listing is incomplete"
        )
    );
}

/// An empty key list in the extension is "no keys"; so is a user without the
/// extension in a listing where others carry it (the extension was returned).
#[tokio::test]
async fn users_that_carry_the_extension_without_keys_have_no_keys() {
    let server = support::server().await;
    let mut keyless = scim_user("u2", "bob", true);
    keyless[USER_EXT]["sunkSshKeys"] = json!([]);
    let mut absent = scim_user("u3", "carol", true);
    absent.as_object_mut().unwrap().remove(USER_EXT);
    mount_users_only(
        &server,
        SCIM,
        &[scim_user("u1", "alice", true), keyless, absent],
    )
    .await;
    let snapshot = big_pages(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap();
    let keys: Vec<(&str, usize)> = snapshot
        .users
        .iter()
        .map(|u| {
            (
                u.username.as_str(),
                u.ssh_keys.as_ref().map_or(99, Vec::len),
            )
        })
        .collect();
    assert_eq!(keys, [("alice", 1), ("bob", 0), ("carol", 0)]);
}

#[tokio::test]
async fn a_scim_user_without_username_or_active_is_held() {
    let server = support::server().await;
    let mut nameless = scim_user("u2", "bob", true);
    nameless["userName"] = json!(" ");
    let mut no_active = scim_user("u3", "carol", true);
    no_active.as_object_mut().unwrap().remove("active");
    mount_users_only(
        &server,
        SCIM,
        &[scim_user("u1", "alice", true), nameless, no_active],
    )
    .await;
    let snapshot = big_pages(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 1);
    let held: Vec<(Option<&str>, &str)> = snapshot
        .unusable_users
        .iter()
        .map(|u| (u.id.as_deref(), u.reason.as_str()))
        .collect();
    assert_eq!(
        held,
        [
            (Some("u2"), "the userName is empty"),
            (Some("u3"), "it has no `active` attribute")
        ]
    );
    assert!(snapshot.is_complete());
}

#[tokio::test]
async fn the_scim_url_can_be_given() {
    let server = support::server().await;
    mount_users_only(
        &server,
        "/elsewhere/scim/v2",
        &[scim_user("u1", "alice", true)],
    )
    .await;
    let snapshot = big_pages(&server)
        .with_base_url(&format!("{}/elsewhere/scim/v2", server.uri()))
        .unwrap()
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 1);
    let refused = big_pages(&server).with_base_url("http://scim.example.com/scim/v2");
    assert!(refused.is_err(), "plain http:// to a remote host");
}

/// The user listing asks for the CoreWeave extension explicitly (with every
/// attribute the sync reads): a server may return it only when asked.
#[tokio::test]
async fn the_user_listing_asks_for_the_extension() {
    let server = support::server().await;
    mount_users_only(&server, SCIM, &[scim_user("u1", "alice", true)]).await;
    big_pages(&server)
        .fetch_snapshot(&Scope::all())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap_or_default();
    let users: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/Users"))
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect();
    assert!(!users.is_empty());
    for query in users {
        let attributes = query
            .split('&')
            .find_map(|p| p.strip_prefix("attributes="))
            .unwrap_or_else(|| panic!("no attributes in {query}"));
        let attributes = percent_encoding::percent_decode_str(attributes)
            .decode_utf8()
            .unwrap()
            .into_owned();
        assert_eq!(
            attributes,
            format!("userName,name,displayName,emails,active,{USER_EXT}")
        );
    }
}
