//! Each quirk of the SCIM emulator, seen from a plain reqwest client, next to the
//! reference behaviour it departs from.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::scim::{CW_USER_EXT, Quirks, ScimEmulator, ScimOptions};

use crate::support::{Scim, id_of, scim_error, start_scim, status_and_body};

const ED_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSE6KRW4t7af5exSrbxpY9J1lRjxbmspMrQ2AXAoeyZ a@b";
const OWNED_SW: &str = "externalId sw \"pw-activate:\"";

async fn with_quirks(quirks: Quirks) -> ScimEmulator {
    start_scim(ScimOptions {
        quirks,
        ..ScimOptions::default()
    })
    .await
}

fn seed_users(emulator: &ScimEmulator, n: usize) {
    for i in 0..n {
        emulator
            .seed_user(json!({"userName": format!("u{i:03}"), "externalId": format!("pw-activate:user:{i}")}))
            .unwrap();
    }
}

async fn body(response: reqwest::Response) -> Value {
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn user_names(page: &Value) -> Vec<String> {
    page["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sw_matches_nothing_answers_200_with_zero_results() {
    let emulator = with_quirks(Quirks::default()).await;
    seed_users(&emulator, 3);
    emulator
        .seed_user(json!({"userName": "okta-admin", "externalId": "okta:1"}))
        .unwrap();
    let scim = Scim::of(&emulator);
    let page = body(scim.list("Users", Some(OWNED_SW), 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(3));
    assert_eq!(user_names(&page), ["u000", "u001", "u002"]);

    emulator.set_quirks(Quirks {
        sw_matches_nothing: true,
        ..Quirks::default()
    });
    let page = body(scim.list("Users", Some(OWNED_SW), 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(0));
    assert_eq!(page["itemsPerPage"], json!(0));
    assert_eq!(page["Resources"], json!([]));
    let page = body(scim.list("Groups", Some(OWNED_SW), 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(0));
    // Other filters and unfiltered listings still answer truthfully.
    let page = body(
        scim.list("Users", Some("externalId eq \"pw-activate:user:1\""), 1, 10)
            .await,
    )
    .await;
    assert_eq!(user_names(&page), ["u001"]);
    let page = body(scim.list("Users", None, 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(4));
}

#[tokio::test]
async fn pages_are_capped_whatever_count_asks_for() {
    let emulator = start_scim(ScimOptions {
        page_cap: 50,
        ..ScimOptions::default()
    })
    .await;
    seed_users(&emulator, 120);
    let scim = Scim::of(&emulator);
    for count in [51, 100, 500] {
        let page = body(scim.list("Users", Some(OWNED_SW), 1, count).await).await;
        assert_eq!(
            (
                page["totalResults"].clone(),
                page["itemsPerPage"].clone(),
                page["startIndex"].clone()
            ),
            (json!(120), json!(50), json!(1)),
            "count={count}"
        );
        assert_eq!(user_names(&page).len(), 50);
    }
    let last = body(scim.list("Users", None, 101, 100).await).await;
    assert_eq!(last["itemsPerPage"], json!(20));
    assert_eq!(user_names(&last).first().map(String::as_str), Some("u100"));
    let no_count = body(scim.get("/Users").await).await;
    assert_eq!(no_count["itemsPerPage"], json!(50));
    let small = body(scim.list("Users", None, 1, 7).await).await;
    assert_eq!(small["itemsPerPage"], json!(7));
}

#[tokio::test]
async fn cursor_paging_is_advertised_and_walks_the_whole_listing() {
    let plain = with_quirks(Quirks::default()).await;
    seed_users(&plain, 5);
    let scim = Scim::of(&plain);
    let config = body(scim.get("/ServiceProviderConfig").await).await;
    assert!(config.get("pagination").is_none(), "{config}");
    // A server without cursor paging ignores the parameter.
    let page = body(scim.get("/Users?cursor=&count=2").await).await;
    assert_eq!(page["startIndex"], json!(1));
    assert!(page.get("nextCursor").is_none(), "{page}");

    let emulator = start_scim(ScimOptions {
        page_cap: 50,
        quirks: Quirks {
            cursor_paging: true,
            ..Quirks::default()
        },
        ..ScimOptions::default()
    })
    .await;
    seed_users(&emulator, 120);
    let scim = Scim::of(&emulator);
    let config = body(scim.get("/ServiceProviderConfig").await).await;
    assert_eq!(config["pagination"]["cursor"], json!(true));
    assert_eq!(config["pagination"]["index"], json!(true));
    assert_eq!(config["pagination"]["maxPageSize"], json!(50));

    let mut cursor = String::new();
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = body(
            scim.get(&format!(
                "/Users?count=100&cursor={cursor}&filter=externalId%20sw%20%22pw-activate%3A%22"
            ))
            .await,
        )
        .await;
        assert_eq!(page["totalResults"], json!(120));
        assert!(page.get("startIndex").is_none(), "{page}");
        sizes.push(page["itemsPerPage"].as_u64().unwrap());
        names.extend(user_names(&page));
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
    let expected: Vec<String> = (0..120).map(|i| format!("u{i:03}")).collect();
    assert_eq!(names, expected);

    assert_eq!(
        scim_error(scim.get("/Users?cursor=not-ours").await).await,
        (400, Some("invalidCursor".to_owned()))
    );
    // Index paging keeps working next to it.
    let page = body(scim.list("Users", None, 51, 10).await).await;
    assert_eq!(user_names(&page).first().map(String::as_str), Some("u050"));
    assert!(page.get("nextCursor").is_none());
}

#[tokio::test]
async fn discovery_without_the_extension() {
    let emulator = with_quirks(Quirks {
        no_extension_schema: true,
        ..Quirks::default()
    })
    .await;
    let scim = Scim::of(&emulator);
    let schemas = body(scim.get("/Schemas").await).await;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group"
        ]
    );
    assert_eq!(
        scim.get(&format!("/Schemas/{CW_USER_EXT}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let types = body(scim.get("/ResourceTypes").await).await;
    for resource_type in types["Resources"].as_array().unwrap() {
        assert!(
            resource_type["schemaExtensions"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "{resource_type}"
        );
    }
    let user = body(scim.get("/ResourceTypes/User").await).await;
    assert_eq!(user["schemaExtensions"], json!([]));

    emulator.set_quirks(Quirks::default());
    let user = body(scim.get("/ResourceTypes/User").await).await;
    assert_eq!(
        user["schemaExtensions"],
        json!([{"schema": CW_USER_EXT, "required": false}])
    );
    assert_eq!(
        scim.get(&format!("/Schemas/{CW_USER_EXT}")).await.status(),
        StatusCode::OK
    );
}

fn mixed_case_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", CW_USER_EXT],
        "userName": "Alice.Smith",
        "externalId": "pw-activate:user:7",
        "active": true,
        "displayName": "Alice Smith",
        "name": {"formatted": "Alice Smith", "givenName": "Alice", "familyName": "Smith"},
        "emails": [{"value": "Alice.Smith@Example.ORG", "type": "work", "primary": true}],
        CW_USER_EXT: {"sunkSshKeys": [ED_KEY]},
    })
}

/// An emulator with `quirks`, a client of it, and [`mixed_case_user`] as it was
/// created (asserting `201`).
async fn created_with(quirks: Quirks) -> (ScimEmulator, Scim, Value) {
    let emulator = with_quirks(quirks).await;
    let scim = Scim::of(&emulator);
    let response = scim.post("Users", &mixed_case_user()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = response.json().await.unwrap();
    (emulator, scim, created)
}

#[tokio::test]
async fn lowercase_names_stores_user_name_and_emails_lowercased() {
    let (emulator, scim, created) = created_with(Quirks {
        lowercase_names: true,
        ..Quirks::default()
    })
    .await;
    assert_eq!(created["userName"], json!("alice.smith"));
    assert_eq!(
        created["emails"][0]["value"],
        json!("alice.smith@example.org")
    );
    // Everything else is kept as sent.
    assert_eq!(created["displayName"], json!("Alice Smith"));
    assert_eq!(created["name"]["formatted"], json!("Alice Smith"));
    let id = id_of(&created);
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": "emails", "value": [{"value": "A.Smith@Example.ORG", "primary": true}]},
                   {"op": "replace", "path": "userName", "value": "A.Smith"}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let stored = emulator.user(&id).unwrap();
    assert_eq!(stored["userName"], json!("a.smith"));
    assert_eq!(stored["emails"][0]["value"], json!("a.smith@example.org"));

    // The reference behaviour keeps case as sent.
    let plain = with_quirks(Quirks::default()).await;
    let created: Value = Scim::of(&plain)
        .post("Users", &mixed_case_user())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["userName"], json!("Alice.Smith"));
    assert_eq!(
        created["emails"][0]["value"],
        json!("Alice.Smith@Example.ORG")
    );
}

#[tokio::test]
async fn drop_name_formatted_keeps_the_other_name_parts() {
    let (emulator, scim, created) = created_with(Quirks {
        drop_name_formatted: true,
        ..Quirks::default()
    })
    .await;
    assert_eq!(
        created["name"],
        json!({"givenName": "Alice", "familyName": "Smith"})
    );
    assert_eq!(created["userName"], json!("Alice.Smith"));
    let id = id_of(&created);
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": "name.formatted", "value": "Alice B. Smith"}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        emulator.user(&id).unwrap()["name"],
        json!({"givenName": "Alice", "familyName": "Smith"})
    );
}

#[tokio::test]
async fn drop_external_id_never_stores_it() {
    let (emulator, scim, created) = created_with(Quirks {
        drop_external_id: true,
        ..Quirks::default()
    })
    .await;
    assert!(created.get("externalId").is_none(), "{created}");
    assert_eq!(created["userName"], json!("Alice.Smith"));
    let id = id_of(&created);
    let group: Value = scim
        .post(
            "Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "ops", "externalId": "pw-activate:group:1",
                    "members": [{"value": id}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(group.get("externalId").is_none(), "{group}");
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": "externalId", "value": "pw-activate:user:8"}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(emulator.user(&id).unwrap().get("externalId").is_none());
    assert_eq!(emulator.count_by_external_id("pw-activate:user:7"), 0);
    let page = body(scim.list("Users", None, 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(1));
    assert!(page["Resources"][0].get("externalId").is_none());
    let page = body(scim.list("Users", Some(OWNED_SW), 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(0));

    // A record seeded with an externalId keeps it through a PATCH.
    let seeded = emulator
        .seed_user(json!({"userName": "bob", "externalId": "pw-activate:user:9"}))
        .unwrap();
    let response = scim
        .patch_ops(
            "Users",
            &seeded,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        emulator.user(&seeded).unwrap()["externalId"],
        json!("pw-activate:user:9")
    );
}

#[tokio::test]
async fn a_pre_existing_unowned_group_is_listed_as_seeded() {
    let emulator = with_quirks(Quirks::default()).await;
    let id = emulator
        .seed_group(json!({"displayName": "admin"}))
        .unwrap();
    emulator
        .seed_group(json!({"displayName": "Billing_Viewer", "externalId": "okta:g2"}))
        .unwrap();
    let scim = Scim::of(&emulator);
    let page = body(scim.list("Groups", None, 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(2));
    let admin = &page["Resources"][0];
    assert_eq!(
        (admin["id"].as_str(), admin["displayName"].as_str()),
        (Some(id.as_str()), Some("admin"))
    );
    assert!(admin.get("externalId").is_none());
    assert!(admin.get("members").is_none());
    let page = body(scim.list("Groups", Some(OWNED_SW), 1, 10).await).await;
    assert_eq!(page["totalResults"], json!(0));
    let page = body(
        scim.list("Groups", Some("displayName eq \"billing_viewer\""), 1, 10)
            .await,
    )
    .await;
    assert_eq!(page["Resources"][0]["externalId"], json!("okta:g2"));
}

#[tokio::test]
async fn restart_past_end_answers_the_first_page_again() {
    let emulator = with_quirks(Quirks::default()).await;
    seed_users(&emulator, 4);
    let scim = Scim::of(&emulator);
    let page = body(scim.list("Users", Some(OWNED_SW), 5, 2).await).await;
    assert_eq!(page["Resources"], json!([]), "the reference: an empty page");

    emulator.set_quirks(Quirks {
        restart_past_end: true,
        ..Quirks::default()
    });
    let page = body(scim.list("Users", Some(OWNED_SW), 5, 2).await).await;
    assert_eq!(user_names(&page), ["u000", "u001"]);
    assert_eq!(page["startIndex"], json!(1));
    assert_eq!(page["totalResults"], json!(4));
    // Pages within the listing are unchanged.
    let page = body(scim.list("Users", Some(OWNED_SW), 3, 2).await).await;
    assert_eq!(user_names(&page), ["u002", "u003"]);
    assert_eq!(page["startIndex"], json!(3));
}
