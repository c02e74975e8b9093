//! PATCH request bodies (RFC 7644 §3.5.2), limited to the operations this project
//! sends.
//!
//! Operations are built only through the typed constructors on [`PatchOperation`],
//! so every body carries lowercase ops, JSON booleans, full extension paths and
//! properly quoted filter paths. Several operations may go in one [`PatchOp`]; the
//! server applies them atomically.
//!
//! ```
//! use scim_client::{PatchOp, PatchOperation};
//!
//! let patch = PatchOp::new()
//!     .with(PatchOperation::replace_active(false))
//!     .with(PatchOperation::replace_sunk_ssh_keys(Vec::<String>::new()));
//! let json = serde_json::to_value(&patch).unwrap();
//! assert_eq!(json["Operations"][0], serde_json::json!({"op": "replace", "path": "active", "value": false}));
//! ```

use std::fmt;
use std::num::NonZeroUsize;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::group::member_refs;
use super::{Email, Name, PATCH_OP_SCHEMA, SUNK_SSH_KEYS_PATH};
use crate::filter::Filter;

/// The kind of a PATCH operation. Sent lowercase; read in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchKind {
    /// Add values (appends to a multi-valued attribute).
    Add,
    /// Remove the values a path selects.
    Remove,
    /// Replace an attribute's value (the whole set for a multi-valued one).
    Replace,
}

impl PatchKind {
    /// The wire spelling: `add`, `remove` or `replace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }
}

impl<'de> Deserialize<'de> for PatchKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl Visitor<'_> for KindVisitor {
            type Value = PatchKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"add\", \"remove\" or \"replace\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PatchKind, E> {
                [PatchKind::Add, PatchKind::Remove, PatchKind::Replace]
                    .into_iter()
                    .find(|k| k.as_str().eq_ignore_ascii_case(v))
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_str(KindVisitor)
    }
}

/// A component of a user's `name`, addressed by its sub-attribute path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameComponent {
    /// `name.givenName`.
    GivenName,
    /// `name.familyName`.
    FamilyName,
    /// `name.formatted`.
    Formatted,
}

impl NameComponent {
    /// The PATCH path, e.g. `name.givenName`.
    pub fn path(self) -> &'static str {
        match self {
            Self::GivenName => "name.givenName",
            Self::FamilyName => "name.familyName",
            Self::Formatted => "name.formatted",
        }
    }
}

/// One PATCH operation: `{"op", "path", "value"}`.
///
/// The constructors are the operations this project sends; the fields are read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchOperation {
    op: PatchKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
}

impl PatchOperation {
    fn replace(path: &str, value: Value) -> Self {
        Self {
            op: PatchKind::Replace,
            path: Some(path.to_owned()),
            value: Some(value),
        }
    }

    /// Replaces the CoreWeave `sunkSshKeys` (full extension path). An empty list
    /// clears them.
    pub fn replace_sunk_ssh_keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let keys = keys.into_iter().map(|k| Value::String(k.into())).collect();
        Self::replace(SUNK_SSH_KEYS_PATH, Value::Array(keys))
    }

    /// Replaces `active` with a JSON boolean.
    pub fn replace_active(active: bool) -> Self {
        Self::replace("active", Value::Bool(active))
    }

    /// Replaces a user's `userName`.
    pub fn replace_user_name(user_name: impl Into<String>) -> Self {
        Self::replace("userName", Value::String(user_name.into()))
    }

    /// Replaces a user's `name` (all its components).
    pub fn replace_name(name: &Name) -> Self {
        Self::replace("name", to_value(name))
    }

    /// Sets one component of a user's `name` through its sub-attribute path
    /// (`name.givenName`, …), leaving the other components alone; `None` removes it.
    pub fn replace_name_component(component: NameComponent, value: Option<String>) -> Self {
        match value {
            Some(value) => Self::replace(component.path(), Value::String(value)),
            None => Self {
                op: PatchKind::Remove,
                path: Some(component.path().to_owned()),
                value: None,
            },
        }
    }

    /// Replaces `displayName` (of a user or a group).
    pub fn replace_display_name(display_name: impl Into<String>) -> Self {
        Self::replace("displayName", Value::String(display_name.into()))
    }

    /// Replaces a user's `emails` (the whole list).
    pub fn replace_emails(emails: &[Email]) -> Self {
        Self::replace("emails", to_value(emails))
    }

    /// Replaces `externalId` (of a user or a group), e.g. to re-key a record.
    pub fn replace_external_id(external_id: impl Into<String>) -> Self {
        Self::replace("externalId", Value::String(external_id.into()))
    }

    /// Replaces a group's whole member list with these user ids; empty means no
    /// members.
    pub fn replace_members(ids: &[String]) -> Self {
        Self::replace("members", member_refs(ids))
    }

    /// Adds these user ids to a group: `add`, path `members`, a value array.
    pub fn add_members(ids: &[String]) -> Self {
        Self {
            op: PatchKind::Add,
            path: Some("members".to_owned()),
            value: Some(member_refs(ids)),
        }
    }

    /// Removes one user from a group with the RFC's filter path
    /// `members[value eq "<id>"]` (the id quoted as a JSON string).
    pub fn remove_member(id: &str) -> Self {
        Self {
            op: PatchKind::Remove,
            path: Some(format!("members[{}]", Filter::eq("value", id))),
            value: None,
        }
    }

    /// The kind of operation.
    pub fn op(&self) -> PatchKind {
        self.op
    }

    /// The attribute path, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The value, if any.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    // `Name` and `Email` hold only strings and booleans, whose serialization
    // cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A PATCH request body: `{"schemas": [PatchOp URN], "Operations": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchOp {
    operations: Vec<PatchOperation>,
}

impl PatchOp {
    /// A body with no operations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an operation (builder style).
    #[must_use]
    pub fn with(mut self, operation: PatchOperation) -> Self {
        self.operations.push(operation);
        self
    }

    /// Adds an operation.
    pub fn push(&mut self, operation: PatchOperation) {
        self.operations.push(operation);
    }

    /// The operations, in order.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.operations
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Membership changes for a large group, as several bodies of at most
    /// `changes_per_request` member changes each.
    ///
    /// Additions come first, then removals. In each body the additions form one `add`
    /// operation and each removal is its own `remove` with a filter path. Send the
    /// bodies in order; each one is atomic on its own. Nothing to change gives no body.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use scim_client::PatchOp;
    ///
    /// let added = vec!["u1".to_owned(), "u2".to_owned(), "u3".to_owned()];
    /// let removed = vec!["u9".to_owned()];
    /// let bodies = PatchOp::member_changes(&added, &removed, NonZeroUsize::new(2).unwrap());
    /// assert_eq!(bodies.len(), 2);
    /// assert_eq!(bodies[1].operations().len(), 2); // add [u3], remove u9
    /// ```
    pub fn member_changes(
        added: &[String],
        removed: &[String],
        changes_per_request: NonZeroUsize,
    ) -> Vec<PatchOp> {
        let chunk = changes_per_request.get();
        let total = added.len() + removed.len();
        let mut bodies = Vec::with_capacity(total.div_ceil(chunk));
        let mut start = 0;
        while start < total {
            let end = (start + chunk).min(total);
            let mut body = PatchOp::new();
            let additions = &added[start.min(added.len())..end.min(added.len())];
            if !additions.is_empty() {
                body.push(PatchOperation::add_members(additions));
            }
            let removals =
                &removed[start.saturating_sub(added.len())..end.saturating_sub(added.len())];
            for id in removals {
                body.push(PatchOperation::remove_member(id));
            }
            bodies.push(body);
            start = end;
        }
        bodies
    }
}

impl FromIterator<PatchOperation> for PatchOp {
    fn from_iter<I: IntoIterator<Item = PatchOperation>>(iter: I) -> Self {
        Self {
            operations: iter.into_iter().collect(),
        }
    }
}

impl Extend<PatchOperation> for PatchOp {
    fn extend<I: IntoIterator<Item = PatchOperation>>(&mut self, iter: I) {
        self.operations.extend(iter);
    }
}

#[derive(Serialize)]
struct PatchOpBody<'a> {
    schemas: [&'static str; 1],
    #[serde(rename = "Operations")]
    operations: &'a [PatchOperation],
}

impl Serialize for PatchOp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PatchOpBody {
            schemas: [PATCH_OP_SCHEMA],
            operations: &self.operations,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PatchOp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "Operations", alias = "operations")]
            operations: Vec<PatchOperation>,
        }
        Body::deserialize(deserializer).map(|b| Self {
            operations: b.operations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    #[test]
    fn remove_member_quotes_the_id() {
        let op = PatchOperation::remove_member("a\"b\\c");
        assert_eq!(op.path(), Some(r#"members[value eq "a\"b\\c"]"#));
        assert_eq!(op.value(), None);
        assert_eq!(op.op(), PatchKind::Remove);
    }

    #[test]
    fn ops_read_in_any_case() {
        let patch: PatchOp = serde_json::from_value(json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{"op": "Replace", "path": "active", "value": false}, {"op": "ADD", "path": "members", "value": []}]
        }))
        .unwrap();
        assert_eq!(patch.operations()[0], PatchOperation::replace_active(false));
        assert_eq!(patch.operations()[1], PatchOperation::add_members(&[]));
        assert!(
            serde_json::from_value::<PatchOp>(json!({"Operations": [{"op": "move"}]})).is_err()
        );
    }

    #[test]
    fn member_changes_respect_the_chunk_size() {
        let three = NonZeroUsize::new(3).unwrap();
        let bodies = PatchOp::member_changes(&ids("a", 4), &ids("r", 3), three);
        let shape: Vec<Vec<(PatchKind, usize)>> = bodies
            .iter()
            .map(|b| {
                b.operations()
                    .iter()
                    .map(|op| {
                        let n = op.value().and_then(Value::as_array).map_or(1, Vec::len);
                        (op.op(), n)
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            shape,
            [
                vec![(PatchKind::Add, 3)],
                vec![
                    (PatchKind::Add, 1),
                    (PatchKind::Remove, 1),
                    (PatchKind::Remove, 1)
                ],
                vec![(PatchKind::Remove, 1)],
            ]
        );
        assert_eq!(
            bodies[2].operations()[0].path(),
            Some(r#"members[value eq "r2"]"#)
        );
        assert!(PatchOp::member_changes(&[], &[], three).is_empty());
    }
}
