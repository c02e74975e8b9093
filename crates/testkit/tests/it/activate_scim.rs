//! The ACTIVATE emulator's read-only SCIM endpoint: paging, the CoreWeave extension,
//! filters, auth.

use serde_json::{Value, json};
use testkit::activate::{
    ActivateEmulator, ActivateOptions, DEFAULT_SCIM_TOKEN, Faults, LicenseStatus, Resource,
};
use testkit::request_log::Method;
use testkit::scim::CW_USER_EXT;
use testkit::synthetic::SyntheticOrg;

use crate::support::{client, status_and_body};

async fn scim_get(emulator: &ActivateEmulator, token: &str, path_and_query: &str) -> (u16, Value) {
    let response = client()
        .get(format!("{}{path_and_query}", emulator.scim_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

#[tokio::test]
async fn users_and_groups_are_paged_with_keys_and_members() {
    let fixture = SyntheticOrg {
        organization: "lab".to_owned(),
        users: 450,
        groups: 5,
        seed: 7,
    }
    .generate();
    let emulator = ActivateEmulator::start(ActivateOptions {
        fixture: fixture.clone(),
        ..ActivateOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(emulator.scim_token(), DEFAULT_SCIM_TOKEN);
    assert!(
        emulator
            .scim_url()
            .ends_with("/api/organizations/lab/scim/v2")
    );
    let token = emulator.scim_token().to_owned();

    // count is clamped to 200; pages follow startIndex.
    let mut seen = Vec::new();
    for (start, expected) in [(1, 200), (201, 200), (401, 50), (451, 0)] {
        let (status, page) = scim_get(
            &emulator,
            &token,
            &format!("/Users?startIndex={start}&count=500"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(page["totalResults"], json!(450));
        assert_eq!(page["startIndex"], json!(start));
        assert_eq!(page["itemsPerPage"], json!(expected));
        let resources = page["Resources"].as_array().unwrap();
        assert_eq!(resources.len(), expected);
        seen.extend(resources.iter().cloned());
    }
    assert_eq!(seen.len(), 450);
    for (record, user) in seen.iter().zip(&fixture.users) {
        assert_eq!(record["id"], json!(user.id));
        assert_eq!(record["userName"], json!(user.username));
        assert_eq!(
            record["active"],
            json!(user.active && user.license_status != LicenseStatus::Inactive)
        );
        assert_eq!(record["schemas"][1], json!(CW_USER_EXT));
        assert_eq!(record[CW_USER_EXT]["sunkSshKeys"], json!(user.ssh_keys));
    }

    let (status, groups) = scim_get(&emulator, &token, "/Groups?startIndex=1&count=200").await;
    assert_eq!(status, 200);
    assert_eq!(groups["totalResults"], json!(fixture.groups.len()));
    for (record, group) in groups["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&fixture.groups)
    {
        assert_eq!(record["displayName"], json!(group.name));
        let ids: Vec<&str> = record["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = group
            .members
            .iter()
            .map(|name| fixture.user(name).unwrap().id.as_str())
            .collect();
        assert_eq!(ids, expected);
    }
    let counts = emulator.log().counts();
    assert_eq!(counts.get(&(Method::Get, Resource::ScimUsers)), Some(&4));
    assert_eq!(counts.get(&(Method::Get, Resource::ScimGroups)), Some(&1));
}

#[tokio::test]
async fn the_extension_follows_attributes_and_can_be_withheld_unless_asked() {
    let emulator = ActivateEmulator::start(ActivateOptions::default())
        .await
        .unwrap();
    let token = emulator.scim_token().to_owned();
    let has_extension = |page: &Value| {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.get(CW_USER_EXT).is_some())
    };
    let asked = format!("/Users?attributes=userName,{CW_USER_EXT}");
    let excluded = format!("/Users?excludedAttributes={CW_USER_EXT}:sunkSshKeys");
    assert!(has_extension(
        &scim_get(&emulator, &token, "/Users").await.1
    ));
    assert!(has_extension(&scim_get(&emulator, &token, &asked).await.1));
    assert!(!has_extension(
        &scim_get(&emulator, &token, &excluded).await.1
    ));
    assert!(!has_extension(
        &scim_get(&emulator, &token, "/Users?attributes=userName")
            .await
            .1
    ));

    emulator.set_faults(Faults {
        scim_extension_on_request: true,
        ..Faults::default()
    });
    assert!(!has_extension(
        &scim_get(&emulator, &token, "/Users").await.1
    ));
    assert!(has_extension(&scim_get(&emulator, &token, &asked).await.1));
}

#[tokio::test]
async fn eq_filters_auth_and_errors() {
    let emulator = ActivateEmulator::start(ActivateOptions::default())
        .await
        .unwrap();
    let token = emulator.scim_token().to_owned();
    let first = emulator.fixture().users[0].clone();

    let (status, page) = scim_get(
        &emulator,
        &token,
        &format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            first.username.to_uppercase()
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["totalResults"], json!(1));
    assert_eq!(page["Resources"][0]["id"], json!(first.id));

    let (status, body) = scim_get(&emulator, &token, "/Users?filter=userName%20sw%20%22a%22").await;
    assert_eq!(status, 400);
    assert_eq!(body["scimType"], json!("invalidFilter"));

    // The API key is not the SCIM token, and the SCIM token is not an API key.
    let (status, body) = scim_get(&emulator, emulator.api_key(), "/Users").await;
    assert_eq!(status, 401);
    assert_eq!(
        body["schemas"][0],
        json!("urn:ietf:params:scim:api:messages:2.0:Error")
    );
    let response = client()
        .get(format!(
            "{}/api/auth/whoami/organization",
            emulator.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let wrong_org = format!(
        "{}/api/organizations/elsewhere/scim/v2/Users",
        emulator.base_url()
    );
    let response = client()
        .get(wrong_org)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
