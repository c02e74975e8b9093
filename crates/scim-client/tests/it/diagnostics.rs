//! The read-only diagnostics: `/Schemas`, `/ResourceTypes`, and one raw list page.

use scim_client::{Endpoint, Filter, PageStart};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

use crate::support::{client, scim, scim_error};

const EXT: &str = "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser";

#[tokio::test]
async fn schemas_and_resource_types_from_a_list_or_a_bare_array() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Schemas"))
        .respond_with(scim(
            200,
            &json!({"totalResults": 1, "Resources": [
                {"id": EXT, "attributes": [{"name": "sunkSshKeys", "multiValued": true, "caseExact": true, "returned": "request"}]}
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/ResourceTypes"))
        .respond_with(scim(
            200,
            &json!([{"name": "User", "endpoint": "/Users",
                     "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
                     "schemaExtensions": [{"schema": EXT, "required": false}]}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let schemas = client.schemas().await.unwrap();
    assert_eq!(schemas.len(), 1);
    let keys = schemas[0].attribute("sunkSshKeys").unwrap();
    assert!(keys.multi_valued && keys.case_exact && !keys.required);
    assert_eq!(
        (keys.mutability.as_str(), keys.returned.as_str()),
        ("readWrite", "request")
    );
    let types = client.resource_types().await.unwrap();
    assert_eq!(types[0].name, "User");
    assert_eq!(types[0].schema_extensions[0].schema, EXT);
}

#[tokio::test]
async fn a_missing_schemas_endpoint_is_an_error_with_its_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(scim_error(404, None, "Not Found"))
        .mount(&server)
        .await;
    let error = client(&server).schemas().await.unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert!(error.to_string().contains("/Schemas"), "{error}");
}

#[tokio::test]
async fn a_probed_page_keeps_the_envelope_the_cursor_and_the_rate_limit_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .and(query_param("filter", "externalId sw \"pw-activate:\""))
        .and(query_param("cursor", "a b/c"))
        .and(query_param("count", "50"))
        .respond_with(
            scim(
                200,
                &json!({"totalResults": 120, "itemsPerPage": 2, "NextCursor": "n-2",
                        "Resources": [{"id": "u1", "userName": "a"}, {"id": "u2", "userName": "b"}]}),
            )
            .insert_header("RateLimit-Remaining", "7")
            .insert_header("RateLimit-Reset", "30")
            .insert_header("X-Request-Id", "r-1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .probe_page(
            Endpoint::Users,
            Some(&Filter::sw("externalId", "pw-activate:")),
            &PageStart::Cursor("a b/c".to_owned()),
            Some(50),
        )
        .await
        .unwrap();
    assert_eq!(
        page.query,
        "filter=externalId%20sw%20%22pw-activate%3A%22&cursor=a%20b%2Fc&count=50"
    );
    assert_eq!(
        (page.total_results, page.start_index, page.items_per_page),
        (Some(120), None, Some(2))
    );
    assert_eq!(page.next_cursor.as_deref(), Some("n-2"));
    assert_eq!(page.resources.len(), 2);
    assert_eq!(page.resources[1]["userName"], "b");
    assert_eq!(
        page.limit_headers,
        [
            ("ratelimit-remaining".to_owned(), "7".to_owned()),
            ("ratelimit-reset".to_owned(), "30".to_owned())
        ]
    );
}

#[tokio::test]
async fn an_index_page_without_count_lets_the_server_choose() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Groups"))
        .and(query_param("startIndex", "51"))
        .respond_with(scim(200, &json!({"totalResults": 0, "startIndex": 51})))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .probe_page(Endpoint::Groups, None, &PageStart::Index(51), None)
        .await
        .unwrap();
    assert_eq!(page.query, "startIndex=51");
    assert_eq!((page.total_results, page.start_index), (Some(0), Some(51)));
    assert!(page.resources.is_empty() && page.next_cursor.is_none());
    assert!(page.limit_headers.is_empty());
}
