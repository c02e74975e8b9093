//! The Group resource (RFC 7643 §4.2). Groups are flat here: members are users.

use serde::{Deserialize, Serialize, Serializer};

use super::member_ids::{MemberIds, member_values};
use super::{GROUP_SCHEMA, Meta, de};

/// A group as the server returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Group {
    /// The schema URNs the resource declares.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub schemas: Vec<String>,
    /// The id the server assigned.
    pub id: String,
    /// The provisioning client's key; ours start with `pw-activate:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group's name.
    pub display_name: String,
    /// Its members; absent, `null` and `[]` all read as no members.
    #[serde(
        default,
        deserialize_with = "de::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub members: Vec<Member>,
    /// Server-maintained metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl Group {
    /// The ids of the members (`members[].value`).
    pub fn member_ids(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.value.as_str())
    }
}

/// One member of a group as the server returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// A display name the server may add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `User` or `Group`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The member's URI.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The body of `POST /Groups`.
///
/// Serializing it lists `schemas`, sends each member as `{"value": id}`, leaves out an
/// empty member list, and never carries `id` or `meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    /// The group's name.
    pub display_name: String,
    /// The provisioning key.
    pub external_id: Option<String>,
    /// The SCIM ids of the member users.
    pub members: Vec<String>,
}

#[derive(Serialize)]
struct MemberRef<'a> {
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewGroupBody<'a> {
    schemas: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    members: Vec<MemberRef<'a>>,
}

impl Serialize for NewGroup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        NewGroupBody {
            schemas: [GROUP_SCHEMA],
            external_id: self.external_id.as_deref(),
            display_name: &self.display_name,
            members: self
                .members
                .iter()
                .map(|id| MemberRef { value: id })
                .collect(),
        }
        .serialize(serializer)
    }
}

/// A group as a listing of owned records needs it: its id, `externalId`,
/// `displayName` and the ids of its members, nothing else.
///
/// Decoding it skips the rest without keeping it: `schemas`, `meta`, and every
/// member attribute but `value` (`display`, `type`, `$ref`). A group of 90,000
/// members read as a [`Group`] holds a [`Member`] of four strings per member; this
/// holds one id. Members read as in [`Group`]: absent, `null` and `[]` are no
/// members, and a member without `value` is an error.
///
/// ```
/// use scim_client::ListedGroup;
///
/// let group: ListedGroup = serde_json::from_str(
///     r#"{"id": "g1", "displayName": "eng", "externalId": "pw-activate:group:7",
///         "members": [{"value": "u1", "$ref": "https://x/Users/u1", "type": "User"}]}"#,
/// )
/// .unwrap();
/// assert_eq!(group.member_ids.iter().collect::<Vec<_>>(), ["u1"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListedGroup {
    /// The id the server assigned.
    pub id: String,
    /// The provisioning client's key; ours start with `pw-activate:`.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The group's name.
    pub display_name: String,
    /// The members' ids (`members[].value`), in the server's order.
    #[serde(rename = "members", default, deserialize_with = "member_values")]
    pub member_ids: MemberIds,
}

/// Serializes member ids as `[{"value": id}, …]`, the form PATCH values use too.
pub(crate) fn member_refs(ids: &[String]) -> serde_json::Value {
    serde_json::Value::Array(
        ids.iter()
            .map(|id| serde_json::json!({ "value": id }))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_members_in_every_shape() {
        let group: Group = serde_json::from_value(json!({
            "id": "g", "displayName": "eng",
            "members": [{"value": "u1", "display": "Alice", "type": "User", "$ref": "https://x/Users/u1"}, {"value": "u2"}]
        }))
        .unwrap();
        assert_eq!(group.member_ids().collect::<Vec<_>>(), ["u1", "u2"]);
        assert_eq!(
            group.members[0].reference.as_deref(),
            Some("https://x/Users/u1")
        );
        assert_eq!(group.members[0].kind.as_deref(), Some("User"));
        for members in [json!(null), json!([])] {
            let g: Group = serde_json::from_value(
                json!({"id": "g", "displayName": "eng", "members": members}),
            )
            .unwrap();
            assert!(g.members.is_empty());
        }
    }

    #[test]
    fn a_listed_group_keeps_the_member_ids_only() {
        let full = json!({
            "schemas": [GROUP_SCHEMA], "id": "g", "externalId": "pw-activate:group:1",
            "displayName": "eng",
            "members": [{"value": "u1", "display": "Alice", "type": "User", "$ref": "https://x/Users/u1"}, {"value": "u2"}],
            "meta": {"resourceType": "Group", "location": "https://x/Groups/g"}
        });
        let listed: ListedGroup = serde_json::from_value(full.clone()).unwrap();
        let group: Group = serde_json::from_value(full).unwrap();
        assert_eq!(listed.id, group.id);
        assert_eq!(listed.external_id, group.external_id);
        assert_eq!(listed.display_name, group.display_name);
        assert_eq!(
            listed.member_ids.iter().collect::<Vec<_>>(),
            group.member_ids().collect::<Vec<_>>()
        );
        for members in [json!(null), json!([])] {
            let g: ListedGroup = serde_json::from_value(
                json!({"id": "g", "displayName": "eng", "members": members}),
            )
            .unwrap();
            assert!(g.member_ids.is_empty());
            assert_eq!(g.external_id, None);
        }
        let no_members: ListedGroup =
            serde_json::from_value(json!({"id": "g", "displayName": "eng"})).unwrap();
        assert!(no_members.member_ids.is_empty());
        let error = serde_json::from_value::<ListedGroup>(
            json!({"id": "g", "displayName": "eng", "members": [{"display": "Alice"}]}),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("missing field `value`"),
            "{error}"
        );
        assert!(
            serde_json::from_value::<Group>(
                json!({"id": "g", "displayName": "eng", "members": [{"display": "Alice"}]})
            )
            .is_err(),
            "a Group reads the same member as an error too"
        );
    }

    #[test]
    fn new_group_body() {
        let body = NewGroup {
            display_name: "eng".into(),
            external_id: None,
            members: vec![],
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "eng"})
        );
    }
}
