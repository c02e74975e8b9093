//! Owned-record listings by `externalId` prefix, with the client-side fallback.

use scim_client::{ListingMode, User};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer};

use crate::support::{client, ids, scim, scim_error, user};

fn with_external_id(i: usize, external_id: &str) -> serde_json::Value {
    let mut u = user(i);
    u["externalId"] = json!(external_id);
    u
}

fn user_id(u: &User) -> &str {
    &u.id
}

#[tokio::test]
async fn the_server_filters_and_strays_are_still_dropped() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param("filter", "externalId sw \"pw-activate:\""))
        .respond_with(scim(
            200,
            &json!({"totalResults": 3, "startIndex": 1, "Resources": [
                user(1), with_external_id(2, "okta:2"), user(3)
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server)
        .list_users_with_prefix("pw-activate:")
        .await
        .unwrap();
    assert_eq!(listing.mode, ListingMode::ServerFilter);
    assert_eq!(ids(&listing.records, user_id), ["u1", "u3"]);
}

#[tokio::test]
async fn a_rejected_filter_falls_back_to_listing_everything() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param("filter", "externalId sw \"pw-activate:\""))
        .respond_with(scim_error(
            400,
            Some("invalidFilter"),
            "Unsupported operator sw",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut no_external_id = user(5);
    no_external_id.as_object_mut().unwrap().remove("externalId");
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param_is_missing("filter"))
        .respond_with(scim(
            200,
            &json!({"totalResults": 6, "startIndex": 1, "Resources": [
                user(1),
                with_external_id(2, "PW-ACTIVATE:user:2"),
                with_external_id(3, "okta:3"),
                user(4),
                no_external_id,
                with_external_id(6, "pw-activatex:user:6"),
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server)
        .list_users_with_prefix("pw-activate:")
        .await
        .unwrap();
    assert_eq!(listing.mode, ListingMode::ClientFilter);
    assert_eq!(listing.mode.to_string(), "client-side filter");
    assert_eq!(
        ids(&listing.records, user_id),
        ["u1", "u4"],
        "exact, case-sensitive prefix"
    );
}

#[tokio::test]
async fn a_501_also_falls_back_for_groups() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Groups"))
        .and(query_param("filter", "externalId sw \"pw-activate:\""))
        .respond_with(scim_error(501, None, "Not Implemented"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Groups"))
        .and(query_param_is_missing("filter"))
        .respond_with(scim(
            200,
            &json!({"totalResults": 2, "Resources": [
                {"id": "g1", "displayName": "eng", "externalId": "pw-activate:group:1"},
                {"id": "g2", "displayName": "admin"}
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server)
        .list_groups_with_prefix("pw-activate:")
        .await
        .unwrap();
    assert_eq!(listing.mode, ListingMode::ClientFilter);
    assert_eq!(listing.records.len(), 1);
    assert_eq!(listing.records[0].id, "g1");
}

#[tokio::test]
async fn other_errors_do_not_fall_back() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(403, None, "Forbidden"))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server)
        .list_users_with_prefix("pw-activate:")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(403));
}

/// A server that answers `sw` with `200` and nothing, whatever it holds.
async fn sw_answers_nothing(server: &MockServer, resource: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/scim/org-1/{resource}")))
        .and(query_param("filter", "externalId sw \"pw-activate:\""))
        .respond_with(scim(
            200,
            &json!({"totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}),
        ))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_empty_filtered_answer_is_confirmed_and_owned_records_are_selected_here() {
    let server = MockServer::start().await;
    sw_answers_nothing(&server, "Users").await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param_is_missing("filter"))
        .respond_with(scim(
            200,
            &json!({"totalResults": 3, "startIndex": 1, "Resources": [
                with_external_id(1, "okta:1"), user(2), user(3)
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server)
        .list_users_with_prefix("pw-activate:")
        .await
        .unwrap();
    assert_eq!(listing.mode, ListingMode::ClientFilterAfterEmptyAnswer);
    assert!(listing.mode.is_client_side());
    assert_eq!(
        listing.mode.to_string(),
        "client-side filter (the server's filter answered nothing)"
    );
    assert_eq!(ids(&listing.records, user_id), ["u2", "u3"]);
}

#[tokio::test]
async fn an_empty_filtered_answer_confirmed_by_the_full_listing_stays_a_server_filter() {
    let server = MockServer::start().await;
    sw_answers_nothing(&server, "Groups").await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Groups"))
        .and(query_param_is_missing("filter"))
        .respond_with(scim(
            200,
            &json!({"totalResults": 1, "Resources": [
                {"id": "g2", "displayName": "admin"}
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server)
        .list_groups_with_prefix("pw-activate:")
        .await
        .unwrap();
    assert_eq!(listing.mode, ListingMode::ServerFilter);
    assert!(!listing.mode.is_client_side());
    assert!(listing.records.is_empty());
}

#[tokio::test]
async fn a_failed_confirmation_fails_the_listing() {
    let server = MockServer::start().await;
    sw_answers_nothing(&server, "Users").await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param_is_missing("filter"))
        .respond_with(scim_error(403, None, "Forbidden"))
        .mount(&server)
        .await;
    let error = client(&server)
        .list_users_with_prefix("pw-activate:")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(403));
}
