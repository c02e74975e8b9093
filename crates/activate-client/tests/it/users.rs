//! Paging of `GET /api/organizations/{org}/users` and its completeness checks.

use activate_client::{ActivateError, LicenseStatus, UnusableUser};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{self, user};

const USERS: &str = "/api/organizations/acme/users";

async fn page(server: &MockServer, skip: u32, total: u64, users: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("limit", "2"))
        .and(query_param("skip", skip.to_string()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total": total, "users": users})),
        )
        .mount(server)
        .await;
}

async fn one_page(server: &MockServer, total: u64, users: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total": total, "users": users})),
        )
        .mount(server)
        .await;
}

fn small_pages(server: &MockServer) -> activate_client::ActivateClient {
    support::builder(server).page_size(2).build().unwrap()
}

#[tokio::test]
async fn pages_until_total_with_exact_skips() {
    let server = support::server().await;
    page(
        &server,
        0,
        5,
        json!([
            user("u5", "eve", true, "active"),
            user("u2", "bob", true, "complimentary")
        ]),
    )
    .await;
    page(
        &server,
        2,
        5,
        json!([
            user("u3", "carol", false, "active"),
            user("u1", "alice", true, "inactive")
        ]),
    )
    .await;
    page(
        &server,
        4,
        5,
        json!([user("u4", "dave", true, "somethingelse")]),
    )
    .await;

    let users = small_pages(&server).list_users("acme").await.unwrap();

    assert_eq!(support::skips(&server).await, ["0", "2", "4"]);
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2", "u3", "u4", "u5"], "sorted by id");
    let alice = &users[0];
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.name.as_deref(), Some("Name alice"));
    assert_eq!(alice.uid, Some(1000));
    assert_eq!(alice.license_status, Some(LicenseStatus::Inactive));
    assert!(!alice.is_enabled());
    assert_eq!(
        users[3].license_status,
        Some(LicenseStatus::Other("somethingelse".into()))
    );
    assert!(users[3].is_enabled());
    assert!(!users[2].is_enabled(), "carol is not active");
    assert!(users.iter().all(|u| u.ssh_keys.is_none()));
}

#[tokio::test]
async fn default_page_size_is_500_and_null_users_is_an_empty_page() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("limit", "500"))
        .and(query_param("skip", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 0, "users": null})))
        .expect(1)
        .mount(&server)
        .await;
    let users = support::client(&server).list_users("acme").await.unwrap();
    assert!(users.is_empty());
}

/// Listings that are not the whole list, page by page (`skip`, `total`, the ids on the
/// page; `None` is `"users": null`): an error naming what is wrong, after exactly the
/// pages it took to see it.
#[tokio::test]
async fn listings_that_are_not_the_whole_list_fail() {
    type Page = (u32, u64, Option<&'static [&'static str]>);
    /// What, the pages, the page cap, the error, the `skip`s requested.
    type Case = (
        &'static str,
        &'static [Page],
        u32,
        &'static str,
        &'static [&'static str],
    );
    let cases: [Case; 5] = [
        (
            "fewer users than total",
            &[
                (0, 5, Some(&["a", "b"])),
                (2, 5, Some(&["c", "d"])),
                (4, 5, None),
            ],
            10_000,
            "incomplete user list: the server announced 5 users, 4 arrived",
            &["0", "2", "4"],
        ),
        (
            "more users than total",
            &[(0, 1, Some(&["a", "b"]))],
            10_000,
            "incomplete user list: the server announced 1 users, 2 arrived",
            &["0"],
        ),
        (
            "an id twice",
            &[(0, 4, Some(&["a", "b"])), (2, 4, Some(&["b", "c"]))],
            10_000,
            "the user list holds the id \"b\" twice",
            &["0", "2"],
        ),
        (
            "a changing total",
            &[(0, 4, Some(&["a", "b"])), (2, 5, Some(&["c", "d"]))],
            10_000,
            "the user count changed from 4 to 5 while paging",
            &["0", "2"],
        ),
        (
            "more pages than the cap",
            &[(0, 10, Some(&["a", "b"])), (2, 10, Some(&["c", "d"]))],
            2,
            "more than 2 user pages; refusing to page further",
            &["0", "2"],
        ),
    ];
    for (what, pages, max_pages, expected, skips) in cases {
        let server = support::server().await;
        for &(skip, total, ids) in pages {
            let users = ids.map(|ids| {
                ids.iter()
                    .map(|id| user(id, &format!("{id}{skip}"), true, "active"))
                    .collect::<Vec<_>>()
            });
            page(&server, skip, total, json!(users)).await;
        }
        let err = support::builder(&server)
            .page_size(2)
            .max_user_pages(max_pages)
            .build()
            .unwrap()
            .list_users("acme")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), expected, "{what}");
        assert_eq!(support::skips(&server).await, skips, "{what}");
    }
}

#[tokio::test]
async fn a_server_ignoring_skip_is_detected() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"total": 6, "users": [user("a", "a1", true, "active"), user("b", "b1", true, "active")]}),
        ))
        .mount(&server)
        .await;
    let err = small_pages(&server).list_users("acme").await.unwrap_err();
    assert!(
        matches!(err, ActivateError::SkipIgnored { skip: 2 }),
        "{err:?}"
    );
    assert_eq!(support::skips(&server).await, ["0", "2"]);
}

#[tokio::test]
async fn a_server_capping_the_limit_is_paged_by_what_arrived() {
    let server = support::server().await;
    // Asked for 500, the server sends 2 at a time.
    for (skip, ids) in [(0, ["a", "b"]), (2, ["c", "d"])] {
        Mock::given(method("GET"))
            .and(path(USERS))
            .and(query_param("skip", skip.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"total": 4, "users": ids.iter().map(|i| user(i, i, true, "active")).collect::<Vec<_>>()}),
            ))
            .mount(&server)
            .await;
    }
    let users = support::client(&server).list_users("acme").await.unwrap();
    assert_eq!(users.len(), 4);
    assert_eq!(support::skips(&server).await, ["0", "2"]);
}

#[tokio::test]
async fn a_page_of_the_wrong_shape_names_the_endpoint_and_the_line() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "{\"total\": \"1\",\n \"users\": [{\"id\": \"a\", \"username\": \"a\", \"active\": true}]}",
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = support::client(&server)
        .list_users("acme")
        .await
        .unwrap_err();
    assert!(matches!(err, ActivateError::Decode { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/users?limit=500&skip=0: the response body is not a users page"
    );
    let chain = support::chain(&err);
    assert!(chain.contains("expected u64 at line 1 column"), "{chain}");
}

#[tokio::test]
async fn entries_that_cannot_be_used_are_set_aside_and_the_rest_is_read() {
    let server = support::server().await;
    let mut wrong_type = user("u2", "bob", true, "active");
    wrong_type["active"] = json!("yes");
    let mut no_username = user("u3", "x", true, "active");
    no_username.as_object_mut().unwrap().remove("username");
    one_page(
        &server,
        7,
        json!([
            user("u1", "alice", true, "active"),
            wrong_type,
            no_username,
            user("u4", "  ", true, "active"),
            {"username": "nobody", "active": true},
            42,
            user("u7", "grace", true, "active"),
        ]),
    )
    .await;
    let listing = support::client(&server)
        .list_user_entries("acme")
        .await
        .unwrap();
    let ids: Vec<&str> = listing.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u7"]);
    let unusable = |id: Option<&str>, username: Option<&str>, reason: &str| UnusableUser {
        id: id.map(str::to_owned),
        username: username.map(str::to_owned),
        reason: reason.to_owned(),
    };
    assert_eq!(
        listing.unusable,
        [
            unusable(
                Some("u2"),
                Some("bob"),
                "the record does not decode: invalid type: string \"yes\", expected a boolean"
            ),
            unusable(
                Some("u3"),
                None,
                "the record does not decode: missing field `username`"
            ),
            unusable(Some("u4"), None, "the username is empty"),
            unusable(
                None,
                Some("nobody"),
                "the record does not decode: missing field `id`"
            ),
            unusable(
                None,
                None,
                "the record does not decode: it is a number, not an object"
            ),
        ]
    );
    // `list_users` returns the usable ones.
    let users = support::client(&server).list_users("acme").await.unwrap();
    assert_eq!(users.len(), 2);
}

#[tokio::test]
async fn many_entries_that_do_not_decode_fail_the_listing() {
    let server = support::server().await;
    // The API renamed a field: every entry lacks `username`.
    let entries: Vec<_> = (0..3)
        .map(|i| json!({"id": format!("u{i}"), "userName": format!("n{i}"), "active": true}))
        .collect();
    one_page(&server, 3, json!(entries)).await;
    let err = support::client(&server)
        .list_user_entries("acme")
        .await
        .unwrap_err();
    assert!(matches!(err, ActivateError::InvalidEntry { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/users?limit=500&skip=0: 3 of 3 user entries do not decode \
         (the first: the record does not decode: missing field `username`); too many to hold only \
         those users"
    );
}

#[tokio::test]
async fn a_users_page_that_is_not_json_is_an_error_whatever_the_status() {
    let cases: [(&str, &str, &str); 2] = [
        (
            "text/html",
            "<html><head><title>Sign in</title></head></html>",
            "the response is text/html, not JSON: \"Sign in\"",
        ),
        (
            "text/plain",
            r#"{"total": 0, "users": []}"#,
            r#"the response is text/plain, not JSON: "{\"total\": 0, \"users\": []}""#,
        ),
    ];
    for (content_type, body, problem) in cases {
        let server = support::server().await;
        Mock::given(method("GET"))
            .and(path(USERS))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
            .mount(&server)
            .await;
        let err = support::client(&server)
            .list_users("acme")
            .await
            .unwrap_err();
        assert!(matches!(err, ActivateError::Decode { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("GET /api/organizations/acme/users?limit=500&skip=0: {problem}")
        );
    }
}

#[tokio::test]
async fn a_non_utf8_body_is_a_clear_decode_error() {
    let server = support::server().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"{\"total\": \xff}".to_vec(), "application/json"),
        )
        .mount(&server)
        .await;
    let err = support::client(&server)
        .list_users("acme")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /api/organizations/acme/users?limit=500&skip=0: the response body is not UTF-8"
    );
}
