//! What goes on the wire: headers, bodies, paths, PATCH answers, redirects, discovery
//! and the request observer.

use std::sync::{Arc, Mutex};

use scim_client::{
    Email, Endpoint, Filter, Method, NewGroup, NewUser, PatchOp, PatchOperation, RequestEvent,
    RequestOutcome,
};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{TOKEN, builder, client, nz, scim, scim_error, user};

fn alice() -> NewUser {
    NewUser {
        external_id: Some("pw-activate:user:1".into()),
        emails: vec![Email::primary_work("alice@example.com")],
        sunk_ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop".into()],
        ..NewUser::new("alice")
    }
}

#[tokio::test]
async fn a_create_sends_scim_json_with_the_bearer_token_and_keeps_the_server_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/scim/org-1/Users"))
        .and(header("content-type", "application/scim+json"))
        .and(header("accept", "application/scim+json"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(serde_json::to_value(alice()).unwrap()))
        .respond_with(scim(
            201,
            &json!({"id": "srv-42", "userName": "alice", "active": true}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&server).create_user(&alice()).await.unwrap();
    assert_eq!(created.id, "srv-42");
    assert_eq!(created.user_name, "alice");
}

#[tokio::test]
async fn a_get_has_no_content_type_and_ids_are_encoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::to_vec(&user(1)).unwrap(),
            "application/json; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let got = client(&server).get_user("a/b c?d").await.unwrap();
    assert_eq!(got.id, "u1");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/scim/org-1/Users/a%2Fb%20c%3Fd");
    assert_eq!(requests[0].url.query(), None);
    assert!(requests[0].headers.get("content-type").is_none());
    assert_eq!(
        requests[0].headers["authorization"],
        format!("Bearer {TOKEN}").as_str()
    );
}

#[tokio::test]
async fn list_queries_carry_the_encoded_filter_and_paging() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param("filter", "userName eq \"a+b c\""))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "25"))
        .respond_with(scim(200, &json!({"totalResults": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).page_size(nz(25)).build().unwrap();
    let listed = client
        .list_all_users(Some(Filter::eq("userName", "a+b c")))
        .await
        .unwrap();
    assert!(listed.is_empty());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.query(),
        Some("filter=userName%20eq%20%22a%2Bb%20c%22&startIndex=1&count=25")
    );
}

#[tokio::test]
async fn a_patch_answered_200_returns_the_resource_and_204_returns_none() {
    let server = MockServer::start().await;
    let patch = PatchOp::new()
        .with(PatchOperation::replace_active(false))
        .with(PatchOperation::replace_sunk_ssh_keys([
            "ssh-ed25519 AAAA k1",
        ]));
    let mut updated = user(1);
    updated["active"] = json!(false);
    Mock::given(method("PATCH"))
        .and(path("/scim/org-1/Users/u1"))
        .and(header("content-type", "application/scim+json"))
        .and(body_json(serde_json::to_value(&patch).unwrap()))
        .respond_with(scim(200, &updated))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/org-1/Groups/g1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let user = client.patch_user("u1", &patch).await.unwrap().unwrap();
    assert_eq!((user.id.as_str(), user.active), ("u1", Some(false)));
    let members = PatchOp::new().with(PatchOperation::replace_members(&["u1".to_owned()]));
    assert_eq!(client.patch_group("g1", &members).await.unwrap(), None);
}

#[tokio::test]
async fn an_empty_patch_sends_nothing() {
    let server = MockServer::start().await;
    let outcome = client(&server)
        .patch_user("u1", &PatchOp::new())
        .await
        .unwrap();
    assert_eq!(outcome, None);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_patch_is_retried_as_idempotent() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let patch = PatchOp::new().with(PatchOperation::replace_active(true));
    assert_eq!(
        client(&server).patch_user("u1", &patch).await.unwrap(),
        None
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_group_is_created_with_its_members() {
    let server = MockServer::start().await;
    let group = NewGroup {
        display_name: "eng".into(),
        external_id: Some("pw-activate:group:7".into()),
        members: vec!["u1".into(), "u2".into()],
    };
    Mock::given(method("POST"))
        .and(path("/scim/org-1/Groups"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "pw-activate:group:7",
            "displayName": "eng",
            "members": [{"value": "u1"}, {"value": "u2"}]
        })))
        .respond_with(scim(
            201,
            &json!({"id": "g-9", "displayName": "eng", "externalId": "pw-activate:group:7",
                    "members": [{"value": "u1", "display": "user1"}, {"value": "u2"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&server).create_group(&group).await.unwrap();
    assert_eq!(created.id, "g-9");
    assert_eq!(created.member_ids().collect::<Vec<_>>(), ["u1", "u2"]);
}

#[tokio::test]
async fn a_307_within_the_origin_is_followed_with_method_body_and_token() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/scim/org-1/Users/u1"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/v2/Users/u1"))
        .expect(1)
        .mount(&server)
        .await;
    let patch = PatchOp::new().with(PatchOperation::replace_active(false));
    Mock::given(method("PATCH"))
        .and(path("/v2/Users/u1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(serde_json::to_value(&patch).unwrap()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client(&server).patch_user("u1", &patch).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn other_redirects_are_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/u1"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/login?next=x"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users/u2"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let error = client.get_user("u1").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "GET /Users/u1: HTTP 302: redirect to {}/login not followed (only 307/308 within the same origin are)",
            server.uri()
        )
    );
    let error = client.get_user("u2").await.unwrap_err();
    assert_eq!(error.status(), Some(307));
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "another origin never sees the request"
    );
}

#[tokio::test]
async fn discovery_lowers_the_page_size_and_failure_keeps_the_defaults() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/ServiceProviderConfig"))
        .respond_with(scim(
            200,
            &json!({"patch": {"supported": true}, "filter": {"supported": true, "maxResults": 2}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).page_size(nz(50)).build().unwrap();
    let config = client.discover().await.unwrap();
    assert_eq!(config.filter.max_results, Some(2));
    assert!(config.patch.supported);
    assert_eq!(client.page_size(), 2);

    let failing = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(500, None, "boom"))
        .mount(&failing)
        .await;
    let client = builder(&failing).page_size(nz(50)).build().unwrap();
    let error = client.discover().await.unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert_eq!(client.page_size(), 50);
}

#[tokio::test]
async fn the_observer_sees_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(scim(200, &json!({"totalResults": 0})))
        .mount(&server)
        .await;
    let events: Arc<Mutex<Vec<RequestEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    let client = builder(&server)
        .observer(Arc::new(move |e: &RequestEvent| {
            sink.lock().unwrap().push(e.clone());
        }))
        .build()
        .unwrap();
    client.list_all_groups(None).await.unwrap();
    let seen: Vec<(Method, Endpoint, RequestOutcome, u32)> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.method, e.endpoint, e.outcome, e.attempt))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Method::Get,
                Endpoint::Groups,
                RequestOutcome::Status(503),
                1
            ),
            (
                Method::Get,
                Endpoint::Groups,
                RequestOutcome::Status(200),
                2
            ),
        ]
    );
}

#[tokio::test]
async fn responses_that_omit_optional_parts_still_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"id":"u1","userName":"a","emails":null,"active":"True","extra":{"x":1}}"#,
            "application/scim+json",
        ))
        .mount(&server)
        .await;
    let user = client(&server).get_user("u1").await.unwrap();
    assert_eq!(user.active, Some(true));
    assert!(user.emails.is_empty());
    assert_eq!(
        serde_json::to_value(&user).unwrap(),
        json!({"id": "u1", "userName": "a", "active": true})
    );
}
