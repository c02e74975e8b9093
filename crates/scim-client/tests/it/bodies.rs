//! Snapshots of every request body the client sends.
//!
//! The client sends exactly the serialization of these values (see the `body_json`
//! matchers in `requests.rs`), so these snapshots are the wire format.

use std::num::NonZeroUsize;

use insta::assert_json_snapshot;
use scim_client::{Email, Name, NameComponent, NewGroup, NewUser, PatchOp, PatchOperation};

const KEY_1: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";
const KEY_2: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 alice@desktop";

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn create_user_with_the_extension() {
    let user = NewUser {
        external_id: Some("pw-activate:user:6500a1b2".into()),
        name: Some(Name {
            formatted: Some("Alice Liddell".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Liddell".into()),
        }),
        display_name: Some("Alice Liddell".into()),
        emails: vec![Email::primary_work("alice@example.com")],
        sunk_ssh_keys: ids(&[KEY_1, KEY_2]),
        ..NewUser::new("alice")
    };
    assert_json_snapshot!("create_user_with_extension", user);
}

#[test]
fn create_user_without_keys() {
    let user = NewUser {
        external_id: Some("pw-activate:user:42".into()),
        active: false,
        ..NewUser::new("bob")
    };
    assert_json_snapshot!("create_user_without_keys", user);
}

#[test]
fn create_group_with_members() {
    let group = NewGroup {
        display_name: "eng".into(),
        external_id: Some("pw-activate:group:77".into()),
        members: ids(&["2819c223-7f76-453a", "b8d1f1e0"]),
    };
    assert_json_snapshot!("create_group_with_members", group);
}

#[test]
fn replace_keys() {
    let patch = PatchOp::new().with(PatchOperation::replace_sunk_ssh_keys([KEY_1, KEY_2]));
    assert_json_snapshot!("patch_replace_keys", patch);
}

#[test]
fn clear_keys() {
    let patch = PatchOp::new().with(PatchOperation::replace_sunk_ssh_keys(Vec::<String>::new()));
    assert_json_snapshot!("patch_clear_keys", patch);
}

#[test]
fn replace_active() {
    let patch = PatchOp::new().with(PatchOperation::replace_active(false));
    assert_json_snapshot!("patch_replace_active", patch);
}

#[test]
fn replace_profile_and_reactivate() {
    let patch = PatchOp::new()
        .with(PatchOperation::replace_user_name("alice2"))
        .with(PatchOperation::replace_name(&Name {
            formatted: Some("Alice Kingsleigh".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Kingsleigh".into()),
        }))
        .with(PatchOperation::replace_display_name("Alice Kingsleigh"))
        .with(PatchOperation::replace_emails(&[Email::primary_work(
            "alice@wonder.land",
        )]))
        .with(PatchOperation::replace_active(true));
    assert_json_snapshot!("patch_replace_profile", patch);
}

#[test]
fn replace_and_remove_name_components() {
    let patch = PatchOp::new()
        .with(PatchOperation::replace_name_component(
            NameComponent::GivenName,
            Some("Alice".into()),
        ))
        .with(PatchOperation::replace_name_component(
            NameComponent::Formatted,
            Some("Alice Liddell".into()),
        ))
        .with(PatchOperation::replace_name_component(
            NameComponent::FamilyName,
            None,
        ));
    assert_json_snapshot!("patch_name_components", patch);
}

#[test]
fn replace_external_id() {
    let patch = PatchOp::new().with(PatchOperation::replace_external_id(
        "pw-activate:user:6500a1b2",
    ));
    assert_json_snapshot!("patch_replace_external_id", patch);
}

#[test]
fn replace_group_display_name() {
    let patch = PatchOp::new().with(PatchOperation::replace_display_name("platform-eng"));
    assert_json_snapshot!("patch_replace_group_display_name", patch);
}

#[test]
fn replace_members() {
    let patch = PatchOp::new().with(PatchOperation::replace_members(&ids(&["u1", "u2", "u3"])));
    assert_json_snapshot!("patch_replace_members", patch);
    let empty = PatchOp::new().with(PatchOperation::replace_members(&[]));
    assert_json_snapshot!("patch_replace_members_empty", empty);
}

#[test]
fn add_and_remove_members_in_chunks() {
    let bodies = PatchOp::member_changes(
        &ids(&["u1", "u2", "u3"]),
        &ids(&["u8", "id with \"quotes\""]),
        NonZeroUsize::new(2).unwrap(),
    );
    assert_json_snapshot!("patch_member_changes_chunks_of_2", bodies);
}
