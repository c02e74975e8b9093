//! Groups and members.

use activate_client::{GroupInfo, Member};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{self, member};

#[tokio::test]
async fn groups_null_is_empty() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("null", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        support::client(&server)
            .list_groups("acme")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn groups_are_a_bare_array_with_extra_fields_ignored() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "g1", "name": "gpu users", "gid": 5000, "members": 3, "roles": ["org:users"],
             "allocations": {"total": 10.5}, "newField": true},
            {"name": null},
            {"id": "g3", "name": "cpu"}
        ])))
        .mount(&server)
        .await;
    let groups = support::client(&server).list_groups("acme").await.unwrap();
    assert_eq!(
        groups,
        [
            GroupInfo {
                id: Some("g1".into()),
                name: Some("gpu users".into()),
                member_count: Some(3),
            },
            GroupInfo {
                id: None,
                name: None,
                member_count: None,
            },
            GroupInfo {
                id: Some("g3".into()),
                name: Some("cpu".into()),
                member_count: None,
            },
        ]
    );
    let requested = &server.received_requests().await.unwrap()[0];
    assert_eq!(requested.url.query(), None, "no paging parameters");
}

#[tokio::test]
async fn members_path_is_one_encoded_segment() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(
            "/api/organizations/acme/groups/gpu%20users%2Fa%25b%3F%23%C3%A9/members",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([member("u1", "alice"), member("u2", "bob")])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let members = support::client(&server)
        .group_members("acme", "gpu users/a%b?#é")
        .await
        .unwrap();
    assert_eq!(
        members,
        [
            Member {
                id: "u1".into(),
                username: "alice".into()
            },
            Member {
                id: "u2".into(),
                username: "bob".into()
            }
        ]
    );
}

#[tokio::test]
async fn members_null_is_empty_and_dot_names_are_refused() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/empty/members"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("null", "application/json"))
        .mount(&server)
        .await;
    let client = support::client(&server);
    assert!(
        client
            .group_members("acme", "empty")
            .await
            .unwrap()
            .is_empty()
    );
    let err = client.group_members("acme", "..").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the group name \"..\" cannot be addressed in a URL path"
    );
}

#[tokio::test]
async fn group_and_member_lists_declared_as_anything_but_json_are_errors() {
    let page = "<html><head><title>Maintenance</title></head></html>";
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/acme/groups/gpu/members"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[]", "text/plain"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/auth/whoami/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    let client = support::client(&server);
    assert_eq!(
        client.list_groups("acme").await.unwrap_err().to_string(),
        "GET /api/organizations/acme/groups: the response is text/html, not JSON: \"Maintenance\""
    );
    assert_eq!(
        client
            .group_members("acme", "gpu")
            .await
            .unwrap_err()
            .to_string(),
        "GET /api/organizations/acme/groups/gpu/members: the response is text/plain, not JSON: \"[]\""
    );
    assert_eq!(
        client.whoami_organization().await.unwrap_err().to_string(),
        "GET /api/auth/whoami/organization: the response is text/html, not a JSON string or text/plain: \"Maintenance\""
    );
}
