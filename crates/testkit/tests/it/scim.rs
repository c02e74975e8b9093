//! The SCIM emulator's protocol behaviour: create, list, filter, PATCH, strict mode,
//! auth, the request log and the state API.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::request_log::Method;
use testkit::scim::{
    CW_USER_EXT, ERROR, GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP, PatchResponse, Resource,
    ScimOptions, USER_SCHEMA,
};

use crate::support::{Scim, id_of, scim_error, start_scim, status_and_body, user_body};

const ED_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSE6KRW4t7af5exSrbxpY9J1lRjxbmspMrQ2AXAoeyZ a@b";

#[tokio::test]
async fn create_answers_201_with_id_meta_location_and_etag() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let response = scim
        .post(
            "Users",
            &user_body("alice", "pw-activate:user:1", &[ED_KEY]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/scim+json"
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = id_of(&body);
    assert_eq!(id.len(), 32);
    assert_eq!(location, format!("{}/Users/{id}", emulator.base_url()));
    assert_eq!(body["meta"]["location"], json!(location));
    assert_eq!(body["meta"]["resourceType"], json!("User"));
    assert_eq!(body["meta"]["version"], json!(etag));
    assert_eq!(body["meta"]["created"], body["meta"]["lastModified"]);
    assert_eq!(body["schemas"], json!([USER_SCHEMA, CW_USER_EXT]));
    assert_eq!(body[CW_USER_EXT], json!({"sunkSshKeys": [ED_KEY]}));
    assert_eq!(body["userName"], json!("alice"));
    assert_eq!(body["active"], json!(true));

    let fetched: Value = scim.get_json(&format!("/Users/{id}")).await;
    assert_eq!(fetched, body);
    assert_eq!(emulator.user(&id), Some(body));
    let (status, error) = status_and_body(scim.get("/Users/does-not-exist").await).await;
    assert_eq!(status, 404);
    assert_eq!(error["schemas"], json!([ERROR]));
    assert_eq!(error["status"], json!("404"));
}

#[tokio::test]
async fn lists_are_capped_paged_and_filtered() {
    let emulator = start_scim(ScimOptions {
        page_cap: 2,
        ..ScimOptions::default()
    })
    .await;
    let scim = Scim::of(&emulator);
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            scim.create_user(&format!("user{n}"), &format!("pw-activate:user:{n}"), &[])
                .await,
        );
    }
    scim.create_user("foreign", "okta:00u1", &[]).await;
    scim.create_user("shouty", "PW-ACTIVATE:user:9", &[]).await;

    let filter = Some(r#"externalId sw "pw-activate:""#);
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut start = 1;
    loop {
        let page: Value = scim.list_json("Users", filter, start, 100).await;
        assert_eq!(page["schemas"], json!([LIST_RESPONSE]));
        let resources = page["Resources"].as_array().unwrap().clone();
        pages.push((
            page["totalResults"].as_u64().unwrap(),
            page["startIndex"].as_u64().unwrap(),
            page["itemsPerPage"].as_u64().unwrap(),
        ));
        if resources.is_empty() {
            break;
        }
        start += resources.len();
        seen.extend(resources.iter().map(id_of));
    }
    assert_eq!(pages, [(5, 1, 2), (5, 3, 2), (5, 5, 1), (5, 6, 0)]);
    assert_eq!(seen, ids);

    // count=0 gives only the total; startIndex below 1 is read as 1.
    let page: Value = scim.list_json("Users", None, 0, 0).await;
    assert_eq!(page["totalResults"], json!(7));
    assert_eq!(page["startIndex"], json!(1));
    assert_eq!(page["Resources"], json!([]));
    // Without count, the page cap applies.
    let page: Value = scim.get_json("/Users").await;
    assert_eq!(page["itemsPerPage"], json!(2));
    let config: Value = scim.get_json("/ServiceProviderConfig").await;
    assert_eq!(
        config["filter"],
        json!({"supported": true, "maxResults": 2})
    );
    assert_eq!(config["patch"], json!({"supported": true}));
    assert_eq!(config["bulk"]["supported"], json!(false));

    emulator.set_page_cap(10);
    let page: Value = scim.list_json("Users", filter, 1, 100).await;
    assert_eq!(page["itemsPerPage"], json!(5));
}

#[tokio::test]
async fn filter_semantics_and_malformed_filters() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let alice = scim.create_user("Alice", "pw-activate:user:a", &[]).await;
    let quoted = scim
        .create_user("we\"ird\\name", "pw-activate:user:q", &[])
        .await;
    let group = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "ML Team", "externalId": "pw-activate:group:1"}),
        )
        .await;
    let group = id_of(&group.json().await.unwrap());

    let quoted_filter = format!(
        "userName eq {}",
        serde_json::to_string("WE\"IRD\\NAME").unwrap()
    );
    // (resource, filter, the ids it matches)
    let cases = [
        ("Users", r#"userName eq "ALICE""#, vec![&alice]),
        ("Users", r#"USERNAME Eq "alice""#, vec![&alice]),
        ("Users", r#"username sw "al""#, vec![&alice]),
        ("Users", r#"externalId eq "PW-ACTIVATE:user:a""#, vec![]),
        ("Users", quoted_filter.as_str(), vec![&quoted]),
        ("Users", r#"displayName eq "alice DISPLAY""#, vec![&alice]),
        (
            "Users",
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice""#,
            vec![&alice],
        ),
        ("Groups", r#"displayName eq "ml team""#, vec![&group]),
        (
            "Groups",
            r#"externalId sw "pw-activate:group:""#,
            vec![&group],
        ),
    ];
    for (resource, filter, expected) in cases {
        let page: Value = scim.list_json(resource, Some(filter), 1, 50).await;
        let ids: Vec<String> = page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            expected,
            "{resource} {filter}"
        );
    }

    for bad in [
        "userName eq alice",
        r#"userName eq "alice"#,
        r#"userName co "al""#,
        r#"userName eq "a" or userName eq "b""#,
        r#"emails eq "x""#,
        "active eq true",
        "userName",
    ] {
        let response = scim.list("Users", Some(bad), 1, 10).await;
        assert_eq!(
            scim_error(response).await,
            (400, Some("invalidFilter".to_owned())),
            "{bad}"
        );
    }
    let response = scim.list("Groups", Some(r#"userName eq "a""#), 1, 10).await;
    assert_eq!(
        scim_error(response).await,
        (400, Some("invalidFilter".to_owned()))
    );
    // A '+' in a query value is a space, so an unencoded '+' breaks the filter.
    let response = scim.get("/Users?filter=userName+eq+%22alice%22").await;
    assert_eq!(status_and_body(response).await.0, 200);
}

#[tokio::test]
async fn user_name_is_unique_case_insensitively() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    scim.create_user("alice", "pw-activate:user:1", &[]).await;
    let bob = scim.create_user("bob", "pw-activate:user:2", &[]).await;
    let response = scim
        .post("Users", &user_body("ALICE", "pw-activate:user:3", &[]))
        .await;
    assert_eq!(
        scim_error(response).await,
        (409, Some("uniqueness".to_owned()))
    );
    let before = emulator.snapshot();
    let response = scim
        .patch_ops(
            "Users",
            &bob,
            json!([{"op": "replace", "path": "userName", "value": "Alice"}]),
        )
        .await;
    assert_eq!(
        scim_error(response).await,
        (409, Some("uniqueness".to_owned()))
    );
    assert_eq!(emulator.snapshot(), before);
    // Renaming to a different case of one's own name is fine.
    let response = scim
        .patch_ops(
            "Users",
            &bob,
            json!([{"op": "replace", "path": "userName", "value": "BOB"}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        emulator.user_by_user_name("bob").unwrap()["userName"],
        json!("BOB")
    );
    assert_eq!(emulator.users().len(), 2);
}

#[tokio::test]
async fn patch_forms_the_reconciler_and_idps_send() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let id = scim.create_user("carol", "legacy:carol", &[ED_KEY]).await;
    let keys_path = format!("{CW_USER_EXT}:sunkSshKeys");

    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([
                {"op": "replace", "path": keys_path, "value": ["ssh-ed25519 AAAA k1", "ssh-rsa AAAA k2"]},
                {"op": "replace", "path": "active", "value": false},
                {"op": "replace", "path": "displayName", "value": "Carol C."},
                {"op": "replace", "path": "externalId", "value": "pw-activate:user:7"},
                {"op": "replace", "path": "name", "value": {"givenName": "Caroline"}},
                {"op": "replace", "path": "emails", "value": [{"value": "c@new.org", "type": "work", "primary": true}]},
            ]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.text().await.unwrap(), "");
    let user = emulator.user(&id).unwrap();
    assert_eq!(
        user[CW_USER_EXT],
        json!({"sunkSshKeys": ["ssh-ed25519 AAAA k1", "ssh-rsa AAAA k2"]})
    );
    assert_eq!(user["active"], json!(false));
    assert_eq!(user["displayName"], json!("Carol C."));
    assert_eq!(user["externalId"], json!("pw-activate:user:7"));
    assert_eq!(
        user["name"],
        json!({"formatted": "carol display", "givenName": "Caroline", "familyName": "display"})
    );
    assert_eq!(
        user["emails"],
        json!([{"value": "c@new.org", "type": "work", "primary": true}])
    );
    assert_ne!(user["meta"]["version"], user["meta"]["created"]);

    // Okta: replace without a path.
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "value": {"active": true, "userName": "carol2"}}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let user = emulator.user(&id).unwrap();
    assert_eq!(
        (user["active"].clone(), user["userName"].clone()),
        (json!(true), json!("carol2"))
    );

    // Clearing keys by replace [] and by remove both drop the extension and its URN.
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": keys_path, "value": []}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let user = emulator.user(&id).unwrap();
    assert!(user.get(CW_USER_EXT).is_none());
    assert_eq!(user["schemas"], json!([USER_SCHEMA]));
    scim.patch_ops(
        "Users",
        &id,
        json!([{"op": "add", "value": {CW_USER_EXT: {"sunkSshKeys": ["k"]}}}]),
    )
    .await;
    assert_eq!(
        emulator.user(&id).unwrap()["schemas"],
        json!([USER_SCHEMA, CW_USER_EXT])
    );
    let response = scim
        .patch_ops("Users", &id, json!([{"op": "remove", "path": keys_path}]))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(emulator.user(&id).unwrap().get(CW_USER_EXT).is_none());

    // 200 with the resource when configured, or when `attributes` is asked for.
    emulator.set_patch_response(PatchResponse::Resource);
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": "title", "value": "Dr"}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["title"], json!("Dr"));
    emulator.set_patch_response(PatchResponse::NoContent);
    let response = scim
        .client
        .patch(format!("{}/Users/{id}?attributes=id,active", scim.base))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // An error anywhere leaves the resource untouched (atomic).
    let before = emulator.user(&id).unwrap();
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([
                {"op": "replace", "path": "displayName", "value": "changed"},
                {"op": "replace", "path": "nope", "value": 1},
            ]),
        )
        .await;
    assert_eq!(
        scim_error(response).await,
        (400, Some("invalidPath".to_owned()))
    );
    assert_eq!(emulator.user(&id).unwrap(), before);
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": "id", "value": "x"}]),
        )
        .await;
    assert_eq!(
        scim_error(response).await,
        (400, Some("mutability".to_owned()))
    );
    let response = scim
        .patch_ops(
            "Users",
            "missing",
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn groups_are_flat_and_members_can_be_patched() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let u1 = scim.create_user("u1", "pw-activate:user:1", &[]).await;
    let u2 = scim.create_user("u2", "pw-activate:user:2", &[]).await;
    let u3 = scim.create_user("u3", "pw-activate:user:3", &[]).await;
    let response = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "gpu", "externalId": "pw-activate:group:1",
                    "members": [{"value": u1}, {"value": u2}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let group: Value = response.json().await.unwrap();
    let gid = id_of(&group);
    assert_eq!(
        group["members"],
        json!([
            {"value": u1, "$ref": format!("{}/Users/{u1}", emulator.base_url()), "type": "User"},
            {"value": u2, "$ref": format!("{}/Users/{u2}", emulator.base_url()), "type": "User"},
        ])
    );
    let members = |emulator: &testkit::scim::ScimEmulator| -> Vec<String> {
        emulator.group(&gid).unwrap()["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    let ok = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "add", "path": "members", "value": [{"value": u3}]}]),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(members(&emulator), [u1.clone(), u2.clone(), u3.clone()]);
    let ok = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(members(&emulator), [u2.clone(), u3.clone()]);
    let ok = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "replace", "path": "members", "value": [{"value": u1}]},
                   {"op": "replace", "path": "displayName", "value": "gpu-users"}]),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(members(&emulator), [u1.as_str()]);
    assert_eq!(
        emulator.group(&gid).unwrap()["displayName"],
        json!("gpu-users")
    );

    let other = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "other"}),
        )
        .await;
    let other = id_of(&other.json().await.unwrap());
    let before = emulator.snapshot();
    for member in [other.as_str(), gid.as_str(), "no-such-user"] {
        let response = scim
            .patch_ops(
                "Groups",
                &gid,
                json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
            )
            .await;
        assert_eq!(
            scim_error(response).await,
            (400, Some("invalidValue".to_owned())),
            "{member}"
        );
        let response = scim
            .post(
                "Groups",
                &json!({"schemas": [GROUP_SCHEMA], "displayName": "nested", "members": [{"value": member}]}),
            )
            .await;
        assert_eq!(
            scim_error(response).await,
            (400, Some("invalidValue".to_owned())),
            "{member}"
        );
    }
    assert_eq!(emulator.snapshot(), before);

    let ok = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "replace", "path": "members", "value": []}]),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert!(emulator.group(&gid).unwrap().get("members").is_none());
}

#[tokio::test]
async fn member_patches_are_atomic_and_bump_the_version_only_on_a_change() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let mut users = Vec::new();
    for n in 1..=5 {
        users.push(
            scim.create_user(&format!("m{n}"), &format!("pw-activate:user:{n}"), &[])
                .await,
        );
    }
    let [u1, u2, u3, u4, u5] = <[String; 5]>::try_from(users).unwrap();
    let response = scim
        .post(
            "Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "big",
                    "members": [{"value": u1}, {"value": u2}, {"value": u3}]}),
        )
        .await;
    let gid = id_of(&response.json().await.unwrap());
    let group = || emulator.group(&gid).unwrap();
    let member = |id: &str| json!({"value": id, "$ref": format!("{}/Users/{id}", emulator.base_url()), "type": "User"});
    let members = |ids: &[&String]| Value::Array(ids.iter().map(|id| member(id)).collect());

    // Edits that leave the members as they were answer 204 and change nothing, not
    // even the version.
    let unchanged = group();
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": u2}, {"value": u1}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{u4}\"]")}]),
        json!([{"op": "remove", "path": "members", "value": [{"value": u5}, {"value": "nobody"}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{u3}\"]")},
               {"op": "add", "path": "members", "value": [{"value": u3}]}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": u1}, {"value": u2}, {"value": u3}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": u4}]},
               {"op": "remove", "path": "members", "value": [{"value": u4}]}]),
    ] {
        let response = scim.patch_ops("Groups", &gid, ops.clone()).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{ops}");
        assert_eq!(group(), unchanged, "{ops}");
    }

    // Duplicates are skipped, within the request and against the stored members.
    let response = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "add", "path": "members", "value": [{"value": u4}, {"value": u1}, {"value": u4}]}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after_add = group();
    assert_eq!(after_add["members"], members(&[&u1, &u2, &u3, &u4]));
    assert_ne!(after_add["meta"]["version"], unchanged["meta"]["version"]);

    // A PATCH that fails after valid member edits keeps none of them. The member
    // named is the first invalid one of the resulting list.
    let failing = [
        (
            json!([
                {"op": "remove", "path": format!("members[value eq \"{u1}\"]")},
                {"op": "add", "path": "members", "value": [{"value": u5}, {"value": "ghost-1"}]},
                {"op": "add", "path": "members", "value": [{"value": "ghost-2"}]},
                {"op": "replace", "path": "displayName", "value": "renamed"},
            ]),
            "member ghost-1 is not an existing user".to_owned(),
        ),
        (
            json!([
                {"op": "add", "path": "members", "value": [{"value": u5}, {"value": gid}]},
            ]),
            format!("member {gid} is a group; only flat groups are supported"),
        ),
        (
            json!([
                {"op": "replace", "path": "members", "value": [{"value": u5}]},
                {"op": "remove", "path": "members"},
                {"op": "replace", "path": "nope", "value": 1},
            ]),
            "unknown attribute \"nope\"".to_owned(),
        ),
        (
            json!([
                {"op": "add", "path": "members", "value": [{"value": u5}]},
                {"op": "replace", "path": "displayName", "value": ""},
            ]),
            "displayName is required".to_owned(),
        ),
    ];
    for (ops, detail) in failing {
        let (status, body) =
            status_and_body(scim.patch_ops("Groups", &gid, ops.clone()).await).await;
        assert_eq!(status, 400, "{ops}");
        assert_eq!(body["detail"], json!(detail), "{ops}");
        assert_eq!(group(), after_add, "{ops}");
    }

    // What is checked is the result: a non-user added and removed again is no error.
    let response = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}, {"value": u5}]},
                   {"op": "remove", "path": "members[value eq \"ghost\"]"}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(group()["members"], members(&[&u1, &u2, &u3, &u4, &u5]));

    // Removing and adding back a member that is not the last moves it to the end.
    let version = group()["meta"]["version"].clone();
    let response = scim
        .patch_ops(
            "Groups",
            &gid,
            json!([{"op": "remove", "path": "members", "value": [{"value": u2}]},
                   {"op": "add", "path": "members", "value": [{"value": u2}]}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(group()["members"], members(&[&u1, &u3, &u4, &u5, &u2]));
    assert_ne!(group()["meta"]["version"], version);

    // With If-Match and a 200 answer, the body is the stored group.
    emulator.set_patch_response(PatchResponse::Resource);
    let version = group()["meta"]["version"].as_str().unwrap().to_owned();
    let send = |if_match: &str| {
        scim.client
            .patch(format!("{}/Groups/{gid}", scim.base))
            .bearer_auth(&scim.token)
            .header("content-type", "application/scim+json")
            .header("if-match", if_match)
            .body(
                json!({"schemas": [PATCH_OP], "Operations": [
                    {"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]})
                .to_string(),
            )
            .send()
    };
    let response = send("W/\"1\"").await.unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let response = send(&version).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, group());
    assert_eq!(body["meta"]["version"], json!(etag));
    assert_eq!(body["members"], members(&[&u3, &u4, &u5, &u2]));
}

#[tokio::test]
async fn an_id_names_one_resource() {
    let emulator = start_scim(ScimOptions::default()).await;
    emulator
        .seed_user(json!({"id": "shared-1", "userName": "u"}))
        .unwrap();
    emulator
        .seed_group(json!({"id": "shared-2", "displayName": "g"}))
        .unwrap();
    let group = emulator
        .seed_group(json!({"id": "shared-1", "displayName": "h"}))
        .unwrap_err();
    let user = emulator
        .seed_user(json!({"id": "shared-2", "userName": "v"}))
        .unwrap_err();
    for rejection in [group, user] {
        assert_eq!(
            (rejection.status, rejection.scim_type),
            (409, Some("uniqueness"))
        );
    }
    assert_eq!(emulator.users().len(), 1);
    assert_eq!(emulator.groups().len(), 1);
}

#[tokio::test]
async fn strict_mode_rejects_what_lenient_servers_accept() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let id = scim.create_user("dave", "pw-activate:user:1", &[]).await;
    let no_schemas = json!({"userName": "e1"});
    let ext_without_urn =
        json!({"schemas": [USER_SCHEMA], "userName": "e2", CW_USER_EXT: {"sunkSshKeys": ["k"]}});
    let string_boolean = json!({"schemas": [USER_SCHEMA], "userName": "e3", "active": "true"});
    let with_id = json!({"schemas": [USER_SCHEMA], "userName": "e4", "id": "chosen"});
    let with_meta =
        json!({"schemas": [USER_SCHEMA], "userName": "e5", "meta": {"resourceType": "User"}});
    let unknown = json!({"schemas": [USER_SCHEMA], "userName": "e6", "favouriteColour": "teal"});
    let posts = [
        (&no_schemas, "invalidSyntax"),
        (&ext_without_urn, "invalidSyntax"),
        (&string_boolean, "invalidValue"),
        (&with_id, "mutability"),
        (&with_meta, "mutability"),
        (&unknown, "invalidValue"),
    ];
    for (body, scim_type) in posts {
        let response = scim.post("Users", body).await;
        assert_eq!(
            scim_error(response).await,
            (400, Some(scim_type.to_owned())),
            "{body}"
        );
    }
    let capital_op = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": false}]});
    let string_bool_patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": "False"}]});
    let no_patch_schema =
        json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
    let patches = [
        (&capital_op, "invalidValue"),
        (&string_bool_patch, "invalidValue"),
        (&no_patch_schema, "invalidSyntax"),
    ];
    for (body, scim_type) in patches {
        let response = scim.patch("Users", &id, body).await;
        assert_eq!(
            scim_error(response).await,
            (400, Some(scim_type.to_owned())),
            "{body}"
        );
    }
    assert_eq!(emulator.users().len(), 1);
    assert_eq!(emulator.user(&id).unwrap()["active"], json!(true));

    emulator.set_strict(false);
    for (body, _) in posts {
        let response = scim.post("Users", body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let created: Value = response.json().await.unwrap();
        assert_ne!(created["id"], json!("chosen"));
        assert!(created.get("favouriteColour").is_none());
    }
    let lenient_user = emulator.user_by_user_name("e2").unwrap();
    assert_eq!(lenient_user["schemas"], json!([USER_SCHEMA, CW_USER_EXT]));
    assert_eq!(
        emulator.user_by_user_name("e3").unwrap()["active"],
        json!(true)
    );
    for (body, _) in patches {
        let response = scim.patch("Users", &id, body).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{body}");
    }
    assert_eq!(emulator.user(&id).unwrap()["active"], json!(false));
}

#[tokio::test]
async fn bearer_token_is_required() {
    let emulator = start_scim(ScimOptions::default()).await;
    let mut scim = Scim::of(&emulator);
    let response = scim
        .client
        .get(format!("{}/Users", scim.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"scim\""
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["schemas"], json!([ERROR]));
    assert_eq!(body["status"], json!("401"));
    scim.token = "wrong".into();
    assert_eq!(
        scim.get("/ServiceProviderConfig").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let response = scim
        .post("Users", &user_body("x", "pw-activate:user:x", &[]))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(emulator.users().is_empty());
}

#[tokio::test]
async fn deletes_are_refused_and_every_request_is_logged() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let id = scim.create_user("erin", "pw-activate:user:1", &[]).await;
    scim.patch_ops(
        "Users",
        &id,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    scim.list("Users", Some(r#"externalId sw "pw-activate:""#), 1, 10)
        .await;
    let response = scim
        .client
        .delete(format!("{}/Users/{id}", scim.base))
        .bearer_auth(&scim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(scim_error(response).await, (405, None));
    let response = scim
        .client
        .put(format!("{}/Users/{id}", scim.base))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body(user_body("erin", "pw-activate:user:1", &[]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
    assert!(emulator.user(&id).is_some());
    scim.get("/Nope").await;

    let log = emulator.log();
    assert_eq!(log.count(Method::Delete, Resource::Users), 1);
    assert_eq!(log.writes(), 4);
    assert_eq!(log.total(), 6);
    let counts: Vec<_> = log.counts().into_iter().collect();
    assert_eq!(
        counts,
        [
            ((Method::Get, Resource::Users), 1),
            ((Method::Get, Resource::Other), 1),
            ((Method::Post, Resource::Users), 1),
            ((Method::Put, Resource::Users), 1),
            ((Method::Patch, Resource::Users), 1),
            ((Method::Delete, Resource::Users), 1),
        ]
    );
    let records: Vec<_> = log
        .records()
        .into_iter()
        .map(|r| (r.method, r.path, r.query, r.status, r.fault))
        .collect();
    let users = "/scim/org-emulator/Users";
    assert_eq!(
        records,
        [
            (Method::Post, users.to_owned(), None, Some(201), None),
            (
                Method::Patch,
                format!("{users}/{id}"),
                None,
                Some(204),
                None
            ),
            (
                Method::Get,
                users.to_owned(),
                Some("startIndex=1&count=10&filter=externalId+sw+%22pw-activate%3A%22".to_owned()),
                Some(200),
                None
            ),
            (
                Method::Delete,
                format!("{users}/{id}"),
                None,
                Some(405),
                None
            ),
            (Method::Put, format!("{users}/{id}"), None, Some(501), None),
            (
                Method::Get,
                "/scim/org-emulator/Nope".to_owned(),
                None,
                Some(404),
                None
            ),
        ]
    );
    log.clear();
    assert_eq!(log.total(), 0);
}

#[tokio::test]
async fn seeding_snapshots_and_external_id_counts() {
    let emulator = start_scim(ScimOptions::default()).await;
    let foreign = json!({
        "id": "okta-0001",
        "schemas": [USER_SCHEMA],
        "userName": "root-admin",
        "externalId": "okta:00u1",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "IT"},
        "meta": {"resourceType": "User", "created": "2020-01-01T00:00:00Z", "lastModified": "2020-01-01T00:00:00Z", "version": "W/\"x\""},
    });
    assert_eq!(emulator.seed_user(foreign.clone()).unwrap(), "okta-0001");
    assert_eq!(emulator.user("okta-0001").unwrap(), foreign);
    let seeded = emulator
        .seed_user(json!({"userName": "pw", "externalId": "pw-activate:user:1"}))
        .unwrap();
    let duplicate = emulator
        .seed_user(json!({"userName": "ROOT-ADMIN"}))
        .unwrap_err();
    assert_eq!(
        (duplicate.status, duplicate.scim_type),
        (409, Some("uniqueness"))
    );
    let group = emulator
        .seed_group(json!({"displayName": "it", "externalId": "okta:g1", "members": [{"value": "okta-0001"}]}))
        .unwrap();
    let bad = emulator
        .seed_group(json!({"displayName": "bad", "members": [{"value": "nobody"}]}))
        .unwrap_err();
    assert_eq!((bad.status, bad.scim_type), (400, Some("invalidValue")));
    assert_eq!(emulator.count_by_external_id("okta:00u1"), 1);
    assert_eq!(emulator.count_by_external_id("okta:g1"), 1);
    assert_eq!(emulator.count_by_external_id("pw-activate:user:2"), 0);

    let snapshot = emulator.snapshot();
    assert_eq!(snapshot["Users"].as_array().unwrap().len(), 2);
    assert_eq!(snapshot["Users"][0], foreign);
    assert_eq!(snapshot["Users"][1]["id"], json!(seeded));
    assert_eq!(snapshot["Groups"][0]["id"], json!(group));

    // A snapshot seeds an identical second emulator (same ids, same meta); only the
    // member references now point at the second emulator.
    let copy = start_scim(ScimOptions::default()).await;
    copy.seed_snapshot(&snapshot).unwrap();
    let mut expected = snapshot.clone();
    expected["Groups"][0]["members"][0]["$ref"] =
        json!(format!("{}/Users/okta-0001", copy.base_url()));
    assert_eq!(copy.snapshot(), expected);
    // Seeding is not a request.
    assert_eq!(emulator.log().total(), 0);
}

#[tokio::test]
async fn if_match_content_type_and_discovery() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    let id = scim.create_user("fay", "pw-activate:user:1", &[]).await;
    let version = emulator.user(&id).unwrap()["meta"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let send = |if_match: &str| {
        scim.client
            .patch(format!("{}/Users/{id}", scim.base))
            .bearer_auth(&scim.token)
            .header("content-type", "application/scim+json")
            .header("if-match", if_match)
            .body(body.to_string())
            .send()
    };
    assert_eq!(
        send("W/\"999\"").await.unwrap().status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        send(&version).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_ne!(
        emulator.user(&id).unwrap()["meta"]["version"],
        json!(version)
    );

    let response = scim
        .client
        .post(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .header("content-type", "text/plain")
        .body(user_body("g", "pw-activate:user:2", &[]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = scim
        .client
        .post(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .header("content-type", "application/json; charset=utf-8")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response).await,
        (400, Some("invalidSyntax".to_owned()))
    );

    let types: Value = scim.get_json("/ResourceTypes").await;
    assert_eq!(types["totalResults"], json!(2));
    assert_eq!(
        types["Resources"][0]["schemaExtensions"],
        json!([{"schema": CW_USER_EXT, "required": false}])
    );
    let schema: Value = scim.get_json(&format!("/Schemas/{CW_USER_EXT}")).await;
    assert_eq!(schema["attributes"][0]["name"], json!("sunkSshKeys"));
    assert_eq!(schema["attributes"][0]["multiValued"], json!(true));
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    assert_eq!(scim.get("/Users").await.status(), StatusCode::OK);
    let addr = emulator.addr();
    drop(emulator);
    // The server task notices the shutdown on its next poll; give it a few turns.
    let mut refused = false;
    for _ in 0..200 {
        tokio::task::yield_now().await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(refused, "{addr} still accepts connections");
    assert!(
        scim.client
            .get(format!("{}/Users", scim.base))
            .bearer_auth(&scim.token)
            .send()
            .await
            .is_err()
    );
}
