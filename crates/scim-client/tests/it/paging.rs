//! Paging against servers that cap, ignore or misreport.

use std::sync::Arc;

use futures::StreamExt;
use scim_client::{ScimError, User};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::{Paged, Total, builder, ids, nz, scim, user};

/// Mounts `paged` on `GET /scim/org-1/Users` and returns the server and responder.
async fn serve(paged: Paged) -> (MockServer, Arc<Paged>) {
    let server = MockServer::start().await;
    let paged = Arc::new(paged);
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .respond_with(ArcResponder(Arc::clone(&paged)))
        .mount(&server)
        .await;
    (server, paged)
}

struct ArcResponder(Arc<Paged>);

impl wiremock::Respond for ArcResponder {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0.respond(request)
    }
}

fn users(n: usize) -> Vec<serde_json::Value> {
    (1..=n).map(user).collect()
}

fn expected(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("u{i}")).collect()
}

fn user_id(u: &User) -> &str {
    &u.id
}

#[tokio::test]
async fn a_server_capping_count_is_paged_by_what_it_returned() {
    let (server, paged) = serve(Paged {
        cap: Some(2),
        ..Paged::new(users(5))
    })
    .await;
    let client = builder(&server).page_size(nz(100)).build().unwrap();
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=5));
    assert_eq!(*paged.seen.lock().unwrap(), [(1, 100), (3, 100), (5, 100)]);
}

#[tokio::test]
async fn a_server_ignoring_count_is_read_in_one_page_and_one_confirming_page() {
    let (server, paged) = serve(Paged {
        ignore_count: true,
        ..Paged::new(users(5))
    })
    .await;
    let client = builder(&server).page_size(nz(2)).build().unwrap();
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=5));
    // The page held more than asked for, so an empty page confirms the end.
    assert_eq!(*paged.seen.lock().unwrap(), [(1, 2), (6, 2)]);
}

#[tokio::test]
async fn total_results_too_high_ends_in_an_incomplete_listing() {
    let (server, paged) = serve(Paged {
        total: Total::Claim(7),
        ..Paged::new(users(5))
    })
    .await;
    let client = builder(&server).page_size(nz(2)).build().unwrap();
    let results: Vec<Result<User, ScimError>> = client.list_users(None).collect().await;
    let (ok, err): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let ok: Vec<User> = ok.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        ids(&ok, user_id),
        expected(1..=5),
        "records stream out before the error"
    );
    assert_eq!(err.len(), 1);
    let error = err.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::IncompleteListing {
                expected: 7,
                got: 5,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        *paged.seen.lock().unwrap(),
        [(1, 2), (3, 2), (5, 2), (6, 2)]
    );
    // The convenience listing fails as a whole: never read as "these are all".
    assert!(client.list_all_users(None).await.is_err());
}

#[tokio::test]
async fn total_results_too_low_is_paged_past() {
    let (server, paged) = serve(Paged {
        total: Total::Claim(3),
        ..Paged::new(users(5))
    })
    .await;
    let client = builder(&server).page_size(nz(2)).build().unwrap();
    let listed = client.list_all_users(None).await.unwrap();
    // The second page brings the count to 4 of an announced 3: the count is distrusted
    // and the listing goes on to an empty page. Nothing owned is left unlisted.
    assert_eq!(ids(&listed, user_id), expected(1..=5));
    assert_eq!(
        *paged.seen.lock().unwrap(),
        [(1, 2), (3, 2), (5, 2), (6, 2)]
    );
}

#[tokio::test]
async fn missing_total_results_pages_until_an_empty_page() {
    let (server, paged) = serve(Paged {
        total: Total::Missing,
        ..Paged::new(users(3))
    })
    .await;
    let client = builder(&server).page_size(nz(2)).build().unwrap();
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=3));
    assert_eq!(*paged.seen.lock().unwrap(), [(1, 2), (3, 2), (4, 2)]);
}

#[tokio::test]
async fn an_ignored_start_index_is_an_error_not_an_endless_loop() {
    let (server, paged) = serve(Paged {
        ignore_start: true,
        ..Paged::new(users(5))
    })
    .await;
    let client = builder(&server).page_size(nz(2)).build().unwrap();
    let error = client.list_all_users(None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::NoNewIds {
                page: 2,
                start_index: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "/Users: page 2 (startIndex 3) brought no new records; the server appears to ignore startIndex"
    );
    assert_eq!(paged.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_page_cap_is_enforced() {
    let (server, paged) = serve(Paged::new(users(5))).await;
    let client = builder(&server)
        .page_size(nz(2))
        .max_pages(nz(2))
        .build()
        .unwrap();
    let error = client.list_all_users(None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::PageCapExceeded {
                max_pages: 2,
                collected: 4,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(paged.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_missing_resources_member_is_an_empty_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Groups"))
        .respond_with(scim(
            200,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    assert_eq!(client.list_all_groups(None).await.unwrap(), []);
}

#[tokio::test]
async fn envelope_keys_in_other_cases_and_duplicate_records() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .respond_with(scim(
            200,
            &json!({"TotalResults": "2", "StartIndex": 1, "resources": [user(1), user(1), user(2)]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), ["u1", "u2"]);
}
