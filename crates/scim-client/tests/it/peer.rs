//! Conformance against `scim2-server`, an independent SCIM implementation, with pages
//! capped at two results.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scim_client::{
    Email, Endpoint, Group, ListingMode, Method, Name, NameComponent, NewGroup, NewUser, PatchOp,
    PatchOperation, RequestEvent, ScimClient, ScimType, User,
};
use secrecy::SecretString;
use testkit::peer::{PeerOptions, Scim2Server};
use url::Url;

use crate::support::fast_retries;

const KEY_A1: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";
const KEY_A2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhXv6mbSSnqn9XV2v6KF0sM2hQ7pM2y5nW1Gd3sLDyq alice@desktop";
const KEY_B1: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ1c2VyYm9ia2V5Ym9ia2V5Ym9ia2V5Ym9ia2V5Ym9i bob@laptop";

fn start() -> Option<Scim2Server> {
    Scim2Server::start_for_test(&PeerOptions {
        page_cap_2: true,
        ..PeerOptions::default()
    })
}

/// A client for the peer, and a counter of `GET /Users` attempts.
fn client_for(peer: &Scim2Server) -> (ScimClient, Arc<AtomicUsize>) {
    let user_gets = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&user_gets);
    let client = ScimClient::builder(
        Url::parse(peer.base_url()).unwrap(),
        SecretString::from(peer.token()),
    )
    .retry_policy(fast_retries(2))
    .observer(Arc::new(move |e: &RequestEvent| {
        if e.method == Method::Get && e.endpoint == Endpoint::Users {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }))
    .build()
    .unwrap();
    (client, user_gets)
}

fn owned_user(n: u32, user_name: &str, full_name: &str, keys: &[&str]) -> NewUser {
    let (given, family) = full_name.split_once(' ').unwrap();
    NewUser {
        external_id: Some(format!("pw-activate:user:{n}")),
        name: Some(Name {
            formatted: Some(full_name.into()),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
        }),
        display_name: Some(full_name.into()),
        emails: vec![Email::primary_work(format!("{user_name}@example.com"))],
        sunk_ssh_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        ..NewUser::new(user_name)
    }
}

fn by_name<'a>(users: &'a [User], user_name: &str) -> &'a User {
    users.iter().find(|u| u.user_name == user_name).unwrap()
}

fn sorted_members(group: &Group) -> Vec<String> {
    let mut ids: Vec<String> = group.member_ids().map(str::to_owned).collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

/// The records created at the start of the lifecycle test.
struct Fixture {
    alice: User,
    bob: User,
    carol: User,
    outsider: User,
    group: Group,
}

/// Creates three owned users (with and without keys), one that is not ours, and an
/// owned group with two members.
async fn create_fixture(client: &ScimClient) -> Fixture {
    let alice = client
        .create_user(&owned_user(1, "alice", "Alice Liddell", &[KEY_A1, KEY_A2]))
        .await
        .unwrap();
    assert!(!alice.id.is_empty());
    assert_eq!(alice.sunk_ssh_keys(), [KEY_A1, KEY_A2]);
    assert_eq!(alice.active, Some(true));
    let bob = client
        .create_user(&owned_user(2, "bob", "Bob Builder", &[KEY_B1]))
        .await
        .unwrap();
    let carol = client
        .create_user(&owned_user(3, "carol", "Carol Danvers", &[]))
        .await
        .unwrap();
    assert!(carol.sunk_ssh_keys().is_empty());
    let outsider = client
        .create_user(&NewUser {
            external_id: Some("okta:00u1".into()),
            ..NewUser::new("dave")
        })
        .await
        .unwrap();
    let group = client
        .create_group(&NewGroup {
            display_name: "eng".into(),
            external_id: Some("pw-activate:group:10".into()),
            members: vec![alice.id.clone(), bob.id.clone()],
        })
        .await
        .unwrap();
    assert_eq!(group.display_name, "eng");
    assert_eq!(sorted_members(&group), sorted(&[&alice.id, &bob.id]));
    Fixture {
        alice,
        bob,
        carol,
        outsider,
        group,
    }
}

/// Lists what we own, two results per page, without the outsider.
async fn check_owned_listing(client: &ScimClient, user_gets: &AtomicUsize, f: &Fixture) {
    user_gets.store(0, Ordering::Relaxed);
    let owned = client.list_users_with_prefix("pw-activate:").await.unwrap();
    assert_eq!(owned.mode, ListingMode::ServerFilter);
    let mut names: Vec<&str> = owned.records.iter().map(|u| u.user_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert!(owned.records.iter().all(|u| u.id != f.outsider.id));
    assert_eq!(
        user_gets.load(Ordering::Relaxed),
        2,
        "3 results in pages of 2"
    );
    let alice = by_name(&owned.records, "alice");
    assert_eq!(alice.id, f.alice.id);
    assert_eq!(alice.external_id.as_deref(), Some("pw-activate:user:1"));
    assert_eq!(alice.sunk_ssh_keys(), [KEY_A1, KEY_A2]);
    assert_eq!(alice.emails, [Email::primary_work("alice@example.com")]);
    assert_eq!(alice.display_name.as_deref(), Some("Alice Liddell"));

    let groups = client
        .list_groups_with_prefix("pw-activate:")
        .await
        .unwrap();
    assert_eq!(groups.records.len(), 1);
    assert_eq!(groups.records[0].id, f.group.id);
}

/// Patches keys, active and the profile, then reads every user back.
async fn patch_users(client: &ScimClient, f: &Fixture) {
    let keys = PatchOp::new().with(PatchOperation::replace_sunk_ssh_keys([KEY_A2]));
    client.patch_user(&f.alice.id, &keys).await.unwrap();
    let deactivate = PatchOp::new().with(PatchOperation::replace_active(false));
    client.patch_user(&f.bob.id, &deactivate).await.unwrap();
    let carol_name = Name {
        formatted: Some("Carol Marvel".into()),
        given_name: Some("Carol".into()),
        family_name: Some("Marvel".into()),
    };
    let profile = PatchOp::new()
        .with(PatchOperation::replace_display_name("Carol Marvel"))
        .with(PatchOperation::replace_name(&carol_name))
        .with(PatchOperation::replace_emails(&[Email::primary_work(
            "carol@marvel.example",
        )]))
        .with(PatchOperation::replace_external_id("pw-activate:user:33"));
    client.patch_user(&f.carol.id, &profile).await.unwrap();

    let alice = client.get_user(&f.alice.id).await.unwrap();
    assert_eq!(alice.sunk_ssh_keys(), [KEY_A2]);
    assert_eq!(alice.active, Some(true));
    let bob = client.get_user(&f.bob.id).await.unwrap();
    assert_eq!(bob.active, Some(false));
    assert!(!bob.is_active());
    assert_eq!(bob.sunk_ssh_keys(), [KEY_B1]);
    let carol = client.get_user(&f.carol.id).await.unwrap();
    assert_eq!(carol.display_name.as_deref(), Some("Carol Marvel"));
    assert_eq!(carol.name, Some(carol_name));
    assert_eq!(carol.emails, [Email::primary_work("carol@marvel.example")]);
    assert_eq!(carol.external_id.as_deref(), Some("pw-activate:user:33"));
    assert_eq!(carol.user_name, "carol");

    // One name component by its sub-attribute path; the others stay.
    let family = PatchOp::new()
        .with(PatchOperation::replace_name_component(
            NameComponent::FamilyName,
            Some("Danvers".into()),
        ))
        .with(PatchOperation::replace_name_component(
            NameComponent::Formatted,
            None,
        ));
    client.patch_user(&f.carol.id, &family).await.unwrap();
    let carol = client.get_user(&f.carol.id).await.unwrap();
    assert_eq!(
        carol.name,
        Some(Name {
            formatted: None,
            given_name: Some("Carol".into()),
            family_name: Some("Danvers".into()),
        })
    );

    // Clearing the keys: the extension disappears, which reads as "no keys".
    let clear = PatchOp::new().with(PatchOperation::replace_sunk_ssh_keys(Vec::<String>::new()));
    client.patch_user(&f.alice.id, &clear).await.unwrap();
    let alice = client.get_user(&f.alice.id).await.unwrap();
    assert!(alice.sunk_ssh_keys().is_empty());
    assert!(alice.coreweave.is_empty());
}

/// Renames the group, replaces its members, then applies chunked add/remove.
async fn patch_group(client: &ScimClient, f: &Fixture) {
    let (alice, bob, carol) = (&f.alice.id, &f.bob.id, &f.carol.id);
    let rename_and_replace = PatchOp::new()
        .with(PatchOperation::replace_display_name("platform"))
        .with(PatchOperation::replace_members(&[
            alice.clone(),
            carol.clone(),
        ]));
    client
        .patch_group(&f.group.id, &rename_and_replace)
        .await
        .unwrap();
    let group = client.get_group(&f.group.id).await.unwrap();
    assert_eq!(group.display_name, "platform");
    assert_eq!(group.external_id.as_deref(), Some("pw-activate:group:10"));
    assert_eq!(sorted_members(&group), sorted(&[alice, carol]));

    let bodies = PatchOp::member_changes(
        std::slice::from_ref(bob),
        &[alice.clone(), carol.clone()],
        std::num::NonZeroUsize::new(2).unwrap(),
    );
    assert_eq!(bodies.len(), 2);
    for body in &bodies {
        client.patch_group(&f.group.id, body).await.unwrap();
    }
    let group = client.get_group(&f.group.id).await.unwrap();
    assert_eq!(sorted_members(&group), sorted(&[bob]));

    let empty = PatchOp::new().with(PatchOperation::replace_members(&[]));
    client.patch_group(&f.group.id, &empty).await.unwrap();
    assert!(
        client
            .get_group(&f.group.id)
            .await
            .unwrap()
            .members
            .is_empty()
    );
}

#[tokio::test]
async fn the_full_lifecycle_against_the_peer() {
    let Some(peer) = start() else { return };
    let (client, user_gets) = client_for(&peer);

    let config = client.discover().await.unwrap();
    assert_eq!(config.filter.max_results, Some(2));
    assert_eq!(client.page_size(), 2);

    let fixture = create_fixture(&client).await;
    check_owned_listing(&client, &user_gets, &fixture).await;
    patch_users(&client, &fixture).await;
    patch_group(&client, &fixture).await;

    // The outsider was never touched.
    let dave = client.get_user(&fixture.outsider.id).await.unwrap();
    assert_eq!(dave.external_id.as_deref(), Some("okta:00u1"));
    assert_eq!(dave.active, Some(true));
}

#[tokio::test]
async fn a_user_name_differing_only_in_case_conflicts() {
    let Some(peer) = start() else { return };
    let (client, _) = client_for(&peer);
    client
        .create_user(&owned_user(1, "erin", "Erin Hannon", &[]))
        .await
        .unwrap();
    let error = client
        .create_user(&owned_user(2, "ERIN", "Erin Hannon", &[]))
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error:?}");
    assert_eq!(error.status(), Some(409));
    assert_eq!(error.scim_type(), Some(&ScimType::Uniqueness));
    assert!(!error.maybe_processed());
    let error = client.get_user("no-such-id").await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_peer_describes_the_coreweave_extension_and_pages_by_two() {
    let Some(peer) = tokio::task::spawn_blocking(start).await.unwrap() else {
        return;
    };
    let (client, _) = client_for(&peer);
    let schemas = client.schemas().await.unwrap();
    let extension = schemas
        .iter()
        .find(|s| s.id == scim_client::model::COREWEAVE_USER_SCHEMA)
        .expect("the CoreWeave extension is described");
    let keys = extension.attribute("sunkSshKeys").unwrap();
    assert!(keys.multi_valued);
    assert_eq!(keys.mutability, "readWrite");
    let user = schemas
        .iter()
        .find(|s| s.id == scim_client::model::USER_SCHEMA)
        .unwrap();
    assert!(user.attribute("userName").unwrap().required);
    assert!(!user.attribute("userName").unwrap().case_exact);
    assert!(user.attribute("name.formatted").is_some());
    let types = client.resource_types().await.unwrap();
    let user_type = types.iter().find(|t| t.name == "User").unwrap();
    assert!(
        user_type
            .schema_extensions
            .iter()
            .any(|e| e.schema == scim_client::model::COREWEAVE_USER_SCHEMA)
    );

    for n in 0..3 {
        client
            .create_user(&owned_user(n, &format!("pager{n}"), "Page Er", &[]))
            .await
            .unwrap();
    }
    let page = client
        .probe_page(
            Endpoint::Users,
            None,
            &scim_client::PageStart::Index(1),
            Some(100),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            page.total_results,
            page.items_per_page,
            page.resources.len()
        ),
        (Some(3), Some(2), 2)
    );
    assert!(page.next_cursor.is_none());
}
