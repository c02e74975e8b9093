//! The User resource (RFC 7643 §4.1) with CoreWeave's `sunkSshKeys` extension.

use serde::{Deserialize, Serialize, Serializer};

use super::{COREWEAVE_USER_SCHEMA, Meta, USER_SCHEMA, de};

/// A user as the server returns it.
///
/// Only the attributes this project maps are kept; others are ignored. `Serialize`
/// reproduces the attributes read (for logs and tests); bodies sent to the server use
/// [`NewUser`] and [`PatchOp`](super::PatchOp) instead.
///
/// ```
/// use scim_client::User;
///
/// let user: User = serde_json::from_str(r#"{
///     "id": "2819c223", "userName": "alice", "active": "False",
///     "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser": null
/// }"#).unwrap();
/// assert_eq!(user.active, Some(false));
/// assert!(user.sunk_ssh_keys().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The schema URNs the resource declares.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub schemas: Vec<String>,
    /// The id the server assigned: opaque, stable, used in paths and group members.
    pub id: String,
    /// The provisioning client's key for the record; ours start with `pw-activate:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The unique login name (unique without regard to case, RFC 7643 §4.1.1).
    pub user_name: String,
    /// The person's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The name to display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Email addresses.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub emails: Vec<Email>,
    /// Whether the account is active; `None` when the server did not say.
    #[serde(
        default,
        deserialize_with = "de::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    /// The CoreWeave extension. Absent, `null`, `{}` and `{"sunkSshKeys": []}` all read
    /// as the empty extension, which is not written back.
    #[serde(
        rename = "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser",
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "CoreWeaveUser::is_empty"
    )]
    pub coreweave: CoreWeaveUser,
    /// Server-maintained metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl User {
    /// The SSH public keys in the CoreWeave extension (empty when it is absent).
    pub fn sunk_ssh_keys(&self) -> &[String] {
        &self.coreweave.sunk_ssh_keys
    }

    /// Whether the account counts as active. An absent `active` counts as active, so
    /// that a deactivation is never skipped because the server left the attribute out.
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
}

/// The components of a user's name (RFC 7643 §4.1.1); all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The full name, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The given (first) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// The family (last) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// One email address of a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub value: String,
    /// Its label, e.g. `work`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether it is the user's primary address.
    #[serde(
        default,
        deserialize_with = "de::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary: Option<bool>,
}

impl Email {
    /// A `work` address marked primary: the one email this project writes.
    pub fn primary_work(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            kind: Some("work".to_owned()),
            primary: Some(true),
        }
    }
}

/// The attributes of the CoreWeave user extension that this project uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoreWeaveUser {
    /// SSH public keys provisioned to SUNK clusters, one OpenSSH line each.
    #[serde(default, deserialize_with = "de::string_list")]
    pub sunk_ssh_keys: Vec<String>,
}

impl CoreWeaveUser {
    /// Whether the extension carries nothing (the same as absent).
    pub fn is_empty(&self) -> bool {
        self.sunk_ssh_keys.is_empty()
    }
}

/// The body of `POST /Users`.
///
/// Serializing it lists `schemas` (the core User URN, plus the CoreWeave URN when keys
/// are sent), sends `active` as a JSON boolean, and never carries `id` or `meta`. An
/// empty key list leaves the extension out.
///
/// ```
/// use scim_client::{Email, NewUser};
///
/// let body = NewUser {
///     external_id: Some("pw-activate:user:42".into()),
///     emails: vec![Email::primary_work("alice@example.com")],
///     sunk_ssh_keys: vec!["ssh-ed25519 AAAAC3Nza alice@laptop".into()],
///     ..NewUser::new("alice")
/// };
/// let json = serde_json::to_value(&body).unwrap();
/// assert_eq!(json["schemas"][1], scim_client::model::COREWEAVE_USER_SCHEMA);
/// assert_eq!(json["active"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The unique login name.
    pub user_name: String,
    /// The provisioning key.
    pub external_id: Option<String>,
    /// The person's name.
    pub name: Option<Name>,
    /// The name to display.
    pub display_name: Option<String>,
    /// Email addresses.
    pub emails: Vec<Email>,
    /// Whether the account is active.
    pub active: bool,
    /// SSH public keys for the CoreWeave extension; empty leaves the extension out.
    pub sunk_ssh_keys: Vec<String>,
}

impl NewUser {
    /// An active user with only a `userName`.
    pub fn new(user_name: impl Into<String>) -> Self {
        Self {
            user_name: user_name.into(),
            external_id: None,
            name: None,
            display_name: None,
            emails: Vec::new(),
            active: true,
            sunk_ssh_keys: Vec::new(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewUserBody<'a> {
    schemas: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    user_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Email]>::is_empty")]
    emails: &'a [Email],
    active: bool,
    #[serde(
        rename = "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser",
        skip_serializing_if = "Option::is_none"
    )]
    coreweave: Option<CoreWeaveKeysBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CoreWeaveKeysBody<'a> {
    sunk_ssh_keys: &'a [String],
}

impl Serialize for NewUser {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let coreweave = (!self.sunk_ssh_keys.is_empty()).then_some(CoreWeaveKeysBody {
            sunk_ssh_keys: &self.sunk_ssh_keys,
        });
        let mut schemas = vec![USER_SCHEMA];
        if coreweave.is_some() {
            schemas.push(COREWEAVE_USER_SCHEMA);
        }
        NewUserBody {
            schemas,
            external_id: self.external_id.as_deref(),
            user_name: &self.user_name,
            name: self.name.as_ref(),
            display_name: self.display_name.as_deref(),
            emails: &self.emails,
            active: self.active,
            coreweave,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_full_user() {
        let user: User = serde_json::from_value(json!({
            "schemas": [USER_SCHEMA, COREWEAVE_USER_SCHEMA],
            "id": "u-1",
            "externalId": "pw-activate:user:1",
            "userName": "alice",
            "name": {"formatted": "Alice Liddell", "givenName": "Alice", "familyName": "Liddell", "middleName": "x"},
            "displayName": "Alice Liddell",
            "emails": [{"value": "alice@example.com", "type": "work", "primary": "TRUE"}],
            "active": true,
            "nickName": "al",
            COREWEAVE_USER_SCHEMA: {"sunkSshKeys": ["ssh-ed25519 AAAA a@b"], "other": 1},
            "meta": {"resourceType": "User", "version": "W/\"1\"", "created": "2024-01-01T00:00:00Z"}
        }))
        .unwrap();
        assert_eq!(user.id, "u-1");
        assert_eq!(user.external_id.as_deref(), Some("pw-activate:user:1"));
        assert_eq!(user.user_name, "alice");
        assert_eq!(
            user.name,
            Some(Name {
                formatted: Some("Alice Liddell".into()),
                given_name: Some("Alice".into()),
                family_name: Some("Liddell".into()),
            })
        );
        assert_eq!(user.display_name.as_deref(), Some("Alice Liddell"));
        assert_eq!(user.emails, [Email::primary_work("alice@example.com")]);
        assert_eq!(user.active, Some(true));
        assert_eq!(user.sunk_ssh_keys(), ["ssh-ed25519 AAAA a@b"]);
        assert_eq!(
            user.meta.and_then(|m| m.version).as_deref(),
            Some("W/\"1\"")
        );
    }

    #[test]
    fn extension_absent_null_and_empty_are_the_same() {
        let base = json!({"id": "u", "userName": "a"});
        let expected: User = serde_json::from_value(base.clone()).unwrap();
        for ext in [
            json!(null),
            json!({}),
            json!({"sunkSshKeys": null}),
            json!({"sunkSshKeys": []}),
        ] {
            let mut v = base.clone();
            v[COREWEAVE_USER_SCHEMA] = ext.clone();
            let user: User = serde_json::from_value(v).unwrap();
            assert_eq!(user, expected, "{ext}");
            assert!(user.sunk_ssh_keys().is_empty());
        }
        assert!(expected.is_active(), "absent active counts as active");
    }

    #[test]
    fn new_user_without_keys_leaves_the_extension_out() {
        let json = serde_json::to_value(NewUser {
            active: false,
            ..NewUser::new("bob")
        })
        .unwrap();
        assert_eq!(
            json,
            json!({"schemas": [USER_SCHEMA], "userName": "bob", "active": false})
        );
    }
}
