//! The ACTIVATE emulator: endpoints, auth, fixtures, mutation between runs, faults.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use testkit::activate::{
    ActivateEmulator, ActivateOptions, Faults, Fixture, FixtureError, FixtureUser, LicenseStatus,
    Resource, UserQuirk, api_key,
};
use testkit::request_log::Method;

use crate::support::{client, status_and_body};

async fn start(options: ActivateOptions) -> ActivateEmulator {
    ActivateEmulator::start(options)
        .await
        .expect("start ACTIVATE emulator")
}

/// GET with `Authorization: Basic base64("<key>:")`, as the SDKs send it.
fn get(emulator: &ActivateEmulator, path: &str) -> RequestBuilder {
    client()
        .get(format!("{}{path}", emulator.base_url()))
        .header(
            "authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:", emulator.api_key()))
            ),
        )
}

async fn json_of(emulator: &ActivateEmulator, path: &str) -> (u16, Value) {
    status_and_body(get(emulator, path).send().await.unwrap()).await
}

#[tokio::test]
async fn whoami_and_auth_schemes() {
    let emulator = start(ActivateOptions::default()).await;
    assert_eq!(
        json_of(&emulator, "/api/auth/whoami/organization").await,
        (200, json!("example-lab"))
    );
    let url = format!("{}/api/auth/whoami/organization", emulator.base_url());
    let bearer = client()
        .get(&url)
        .bearer_auth(emulator.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);

    let unauthenticated =
        json!({"error": true, "message": "a valid API key is required", "code": "unauthenticated"});
    let attempts = [
        client().get(&url),
        client().get(&url).bearer_auth("pwt_wrong.key"),
        client()
            .get(&url)
            .basic_auth(emulator.api_key(), Some("password")),
        client()
            .get(&url)
            .header("authorization", format!("Basic {}", emulator.api_key())),
    ];
    for attempt in attempts {
        assert_eq!(
            status_and_body(attempt.send().await.unwrap()).await,
            (401, unauthenticated.clone())
        );
    }
    // The key decodes to the emulator's host.
    let key = emulator.api_key();
    let host = key.strip_prefix("pwt_").unwrap().split_once('.').unwrap().0;
    assert_eq!(
        String::from_utf8(URL_SAFE_NO_PAD.decode(host).unwrap()).unwrap(),
        emulator.addr().to_string()
    );
    assert_eq!(
        api_key("cloud.parallel.works", "xxxxx"),
        "pwt_Y2xvdWQucGFyYWxsZWwud29ya3M.xxxxx"
    );
    let counts = emulator.log().counts();
    assert_eq!(counts.get(&(Method::Get, Resource::Whoami)), Some(&6));
}

#[tokio::test]
async fn users_are_paged_with_limit_skip_and_total() {
    let emulator = start(ActivateOptions::default()).await;
    let users = "/api/organizations/example-lab/users";
    let (status, page) = json_of(&emulator, &format!("{users}?limit=5&skip=0")).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], json!(12));
    assert_eq!(page["users"].as_array().unwrap().len(), 5);
    assert_eq!(
        page["users"][0],
        json!({
            "id": "65a1f3c2e4b0a1b2c3d4e001", "username": "alice.nguyen", "name": "Alice Nguyen",
            "email": "alice.nguyen@example-lab.org", "active": true, "admin": false, "billingAdmin": false,
            "complimentary": false, "licenseStatus": "active", "uid": 10001,
            "createdAt": "2024-02-11T09:11:00Z", "organization": "64f0a1b2c3d4e5f6a7b8c9d0"
        })
    );
    let (_, page) = json_of(&emulator, &format!("{users}?limit=5&skip=10")).await;
    let names: Vec<_> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, [json!("kwame.mensah"), json!("lena.fischer")]);
    let (_, page) = json_of(&emulator, &format!("{users}?limit=100000")).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 12);
    let (_, page) = json_of(&emulator, users).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 12);
    let (_, page) = json_of(&emulator, &format!("{users}?limit=500&skip=12")).await;
    assert_eq!(page, json!({"total": 12, "users": []}));
    let (_, page) = json_of(&emulator, &format!("{users}?limit=500")).await;
    let george = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "george.smith")
        .unwrap();
    assert_eq!(
        (george["active"].clone(), george["licenseStatus"].clone()),
        (json!(true), json!("inactive"))
    );
    let (status, body) = json_of(&emulator, &format!("{users}?limit=ten")).await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_request"))
    );
    let (status, body) = json_of(&emulator, "/api/organizations/other-org/users").await;
    assert_eq!(
        (status, body["code"].clone(), body["error"].clone()),
        (404, json!("not_found"), json!(true))
    );
}

#[tokio::test]
async fn groups_members_and_keys() {
    let emulator = start(ActivateOptions::default()).await;
    let (status, groups) = json_of(&emulator, "/api/organizations/example-lab/groups").await;
    assert_eq!(status, 200);
    let names: Vec<_> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "gpu-users",
            "ml-team",
            "admins",
            "research staff",
            "interns"
        ]
    );
    assert_eq!(
        groups[0],
        json!({"id": "66b2e4d3f5c1b2c3d4e5f001", "name": "gpu-users", "description": "Everyone allowed to submit GPU jobs",
               "gid": 5001, "createdAt": "2024-02-01T12:00:00Z", "members": 8, "organization": "example-lab"})
    );
    let (_, page) = json_of(
        &emulator,
        "/api/organizations/example-lab/groups?limit=2&skip=3",
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["name"], json!("research staff"));

    let (status, members) = json_of(
        &emulator,
        "/api/organizations/example-lab/groups/research%20staff/members",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        members,
        json!([
            {"id": "65a1f3c2e4b0a1b2c3d4e004", "username": "dmitri.volkov", "email": "dmitri.volkov@example-lab.org"},
            {"id": "65a1f3c2e4b0a1b2c3d4e008", "username": "hana.sato", "email": "hana.sato@example-lab.org"},
        ])
    );
    assert_eq!(
        json_of(
            &emulator,
            "/api/organizations/example-lab/groups/interns/members"
        )
        .await,
        (200, json!([]))
    );
    let (status, body) = json_of(
        &emulator,
        "/api/organizations/example-lab/groups/nope/members",
    )
    .await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));

    let fixture = Fixture::example();
    let hana = fixture.user("hana.sato").unwrap();
    let (status, keys) = json_of(&emulator, "/api/users/hana.sato/ssh-public-keys").await;
    assert_eq!(status, 200);
    assert_eq!(keys, json!(hana.ssh_keys.join("\n")));
    assert_eq!(keys.as_str().unwrap().lines().count(), 3);
    assert_eq!(
        json_of(&emulator, "/api/users/dmitri.volkov/ssh-public-keys").await,
        (200, json!(""))
    );
    assert_eq!(
        json_of(&emulator, "/api/users/nobody/ssh-public-keys")
            .await
            .0,
        404
    );
    // Usernames are case-sensitive.
    assert_eq!(
        json_of(&emulator, "/api/users/ivan.petrov/ssh-public-keys")
            .await
            .0,
        404
    );
    assert_eq!(
        json_of(&emulator, "/api/users/Ivan.Petrov/ssh-public-keys")
            .await
            .0,
        200
    );

    let counts = emulator.log().counts();
    assert_eq!(counts.get(&(Method::Get, Resource::Groups)), Some(&2));
    assert_eq!(counts.get(&(Method::Get, Resource::Members)), Some(&3));
    assert_eq!(counts.get(&(Method::Get, Resource::SshKeys)), Some(&5));
}

#[tokio::test]
async fn state_changes_between_runs() {
    let emulator = start(ActivateOptions::default()).await;
    emulator.remove_user("bob.okafor").unwrap();
    emulator.set_user_active("alice.nguyen", false).unwrap();
    emulator
        .set_license_status("carmen.ruiz", LicenseStatus::Inactive)
        .unwrap();
    emulator
        .set_ssh_keys(
            "lena.fischer",
            vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA new@key".into()],
        )
        .unwrap();
    emulator.rename_group("ml-team", "ml-research").unwrap();
    emulator.add_member("admins", "dmitri.volkov").unwrap();
    emulator.remove_member("gpu-users", "carmen.ruiz").unwrap();
    emulator
        .add_user(FixtureUser {
            name: Some("New Hire".into()),
            email: Some("new.hire@example-lab.org".into()),
            ..FixtureUser::new("65a1f3c2e4b0a1b2c3d4e0ff", "new.hire")
        })
        .unwrap();

    let (_, page) = json_of(&emulator, "/api/organizations/example-lab/users?limit=500").await;
    assert_eq!(page["total"], json!(12));
    let users = page["users"].as_array().unwrap();
    assert!(users.iter().all(|u| u["username"] != "bob.okafor"));
    assert_eq!(
        users.last().unwrap(),
        &json!({
            "id": "65a1f3c2e4b0a1b2c3d4e0ff", "username": "new.hire", "name": "New Hire",
            "email": "new.hire@example-lab.org", "active": true, "admin": false, "billingAdmin": false,
            "complimentary": false, "licenseStatus": "active", "organization": "64f0a1b2c3d4e5f6a7b8c9d0"
        })
    );
    assert_eq!(users[0]["active"], json!(false));
    let (_, admins) = json_of(
        &emulator,
        "/api/organizations/example-lab/groups/admins/members",
    )
    .await;
    let admins: Vec<_> = admins
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].clone())
        .collect();
    assert_eq!(admins, [json!("lena.fischer"), json!("dmitri.volkov")]);
    assert_eq!(
        json_of(
            &emulator,
            "/api/organizations/example-lab/groups/ml-team/members"
        )
        .await
        .0,
        404
    );
    assert_eq!(
        json_of(
            &emulator,
            "/api/organizations/example-lab/groups/ml-research/members"
        )
        .await
        .0,
        200
    );
    assert_eq!(
        json_of(&emulator, "/api/users/lena.fischer/ssh-public-keys")
            .await
            .1,
        json!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA new@key")
    );
    let fixture = emulator.fixture();
    assert_eq!(
        fixture.user("carmen.ruiz").unwrap().license_status,
        LicenseStatus::Inactive
    );
    assert!(
        !fixture
            .group("gpu-users")
            .unwrap()
            .members
            .contains(&"carmen.ruiz".to_owned())
    );
    assert!(
        !fixture
            .group("gpu-users")
            .unwrap()
            .members
            .contains(&"bob.okafor".to_owned())
    );

    // Invalid changes fail and leave the state alone.
    let before = emulator.fixture();
    assert!(matches!(
        emulator.remove_user("bob.okafor"),
        Err(FixtureError::Invalid(_))
    ));
    assert!(emulator.add_member("admins", "ghost").is_err());
    assert!(emulator.rename_group("admins", "interns").is_err());
    let result = emulator.update(|f| {
        f.groups[0].members.push("ghost".into());
        Ok(())
    });
    assert!(matches!(result, Err(FixtureError::Invalid(message)) if message.contains("ghost")));
    assert_eq!(emulator.fixture(), before);
}

#[tokio::test]
async fn the_users_total_can_lie() {
    let emulator = start(ActivateOptions {
        faults: Faults {
            total_offset: 3,
            ..Faults::default()
        },
        ..ActivateOptions::default()
    })
    .await;
    let (_, page) = json_of(&emulator, "/api/organizations/example-lab/users?limit=500").await;
    assert_eq!(
        (
            page["total"].clone(),
            page["users"].as_array().unwrap().len()
        ),
        (json!(15), 12)
    );
}

#[tokio::test]
async fn fixtures_load_from_files_and_are_validated() {
    let example = Fixture::example();
    assert_eq!(example.organization, "example-lab");
    assert_eq!(example.users.len(), 12);
    assert_eq!(example.groups.len(), 5);
    assert_eq!(example.users.iter().filter(|u| !u.active).count(), 2);
    assert_eq!(
        example
            .users
            .iter()
            .filter(|u| u.license_status == LicenseStatus::Inactive)
            .count(),
        1
    );
    assert!(example.users.iter().any(|u| u.ssh_keys.len() >= 2));
    assert!(
        example
            .users
            .iter()
            .any(|u| u.name.as_deref().is_some_and(|n| !n.is_ascii()))
    );
    let invalid_lines: Vec<_> = example
        .users
        .iter()
        .flat_map(|u| &u.ssh_keys)
        .filter(|k| {
            k.split(' ')
                .nth(1)
                .is_none_or(|b| STANDARD.decode(b).is_err())
        })
        .collect();
    assert_eq!(
        invalid_lines,
        ["ssh-ed25519 not*valid*base64 hana@broken-paste"]
    );
    // The file on disk and the embedded copy are the same.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example-org.json");
    assert_eq!(Fixture::load(&path).unwrap(), example);
    assert_eq!(
        Fixture::from_json(&example.to_json_pretty()).unwrap(),
        example
    );

    let small = r#"{"organization": "tiny", "users": [{"id": "1", "username": "Ann"}],
                    "groups": [{"id": "g", "name": "team", "members": ["Ann"]}]}"#;
    let dir = std::env::temp_dir().join(format!("testkit-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tiny.json");
    std::fs::write(&file, small).unwrap();
    let tiny = Fixture::load(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(tiny.users[0].active);
    assert_eq!(tiny.users[0].license_status, LicenseStatus::Active);
    let emulator = start(ActivateOptions {
        fixture: tiny,
        api_key: Some("pwt_custom.key".into()),
        ..ActivateOptions::default()
    })
    .await;
    assert_eq!(emulator.api_key(), "pwt_custom.key");
    assert_eq!(
        json_of(&emulator, "/api/organizations/tiny/groups/team/members")
            .await
            .1[0]["email"],
        json!("")
    );

    assert!(matches!(
        Fixture::load(&dir.join("missing.json")),
        Err(FixtureError::Read { .. })
    ));
    assert!(matches!(
        Fixture::from_json(r#"{"organization": "x", "userz": []}"#),
        Err(FixtureError::Parse(_))
    ));
    for (bad, needle) in [
        (
            r#"{"organization": "x", "users": [{"id": "1", "username": "a"}, {"id": "2", "username": "a"}]}"#,
            "appears twice",
        ),
        (
            r#"{"organization": "x", "groups": [{"id": "g", "name": "n", "members": ["who"]}]}"#,
            "not a user",
        ),
        (r#"{"organization": ""}"#, "organization"),
    ] {
        let error = Fixture::from_json(bad).unwrap_err();
        assert!(error.to_string().contains(needle), "{error}");
    }
    // Users differing only by case are distinct ACTIVATE users.
    Fixture::from_json(r#"{"organization": "x", "users": [{"id": "1", "username": "Jake.Thayne"}, {"id": "2", "username": "jake.thayne"}]}"#)
        .unwrap();
    let error = ActivateEmulator::start(ActivateOptions {
        fixture: Fixture {
            organization: String::new(),
            ..Fixture::example()
        },
        ..ActivateOptions::default()
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("fixture"), "{error}");
}

#[tokio::test]
async fn user_quirks_break_single_records() {
    let emulator = start(ActivateOptions::default()).await;
    let users = emulator.fixture().users;
    let [a, b, c, d] = [0, 1, 2, 3].map(|i| users[i].username.clone());
    emulator.set_faults(Faults {
        user_quirks: [
            (a.clone(), UserQuirk::EmptyUsername),
            (b.clone(), UserQuirk::WrongType),
            (c.clone(), UserQuirk::NoId),
            (d.clone(), UserQuirk::KeysLoginPage),
        ]
        .into(),
        ..Faults::default()
    });
    let (_, page) = json_of(&emulator, "/api/organizations/example-lab/users?limit=500").await;
    let entries = page["users"].as_array().unwrap();
    assert_eq!(entries[0]["username"], json!(""));
    assert_eq!(entries[0]["id"], json!(users[0].id));
    assert_eq!(entries[1]["active"], json!("yes"));
    assert!(entries[2].get("id").is_none());
    assert_eq!(entries[2]["username"], json!(c));
    assert_eq!(entries[3]["username"], json!(d));
    assert_eq!(entries[4]["username"], json!(users[4].username));

    let response = get(&emulator, &format!("/api/users/{d}/ssh-public-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(response.text().await.unwrap().contains("<title>Sign in"));
    let (status, keys) = json_of(&emulator, &format!("/api/users/{a}/ssh-public-keys")).await;
    assert_eq!((status, keys.is_string()), (200, true));
}
