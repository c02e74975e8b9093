//! The member ids of a listed group, held in one buffer.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The ids of a group's members (`members[].value`), in the server's order, held in
/// two buffers (their text, and where each ends), not a `String` each: a group of
/// 90,000 members is not 90,000 allocations.
///
/// ```
/// use scim_client::MemberIds;
///
/// let ids: MemberIds = ["u1", "u2"].into_iter().collect();
/// assert_eq!(ids.len(), 2);
/// assert_eq!(ids.iter().collect::<Vec<_>>(), ["u1", "u2"]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemberIds {
    /// The ids, one after another.
    text: String,
    /// Where each id ends in `text`.
    ends: Vec<usize>,
}

impl MemberIds {
    /// How many ids there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The ids, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.text[start..self.ends[i]]
        })
    }

    fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len());
    }
}

impl fmt::Debug for MemberIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> FromIterator<&'a str> for MemberIds {
    fn from_iter<I: IntoIterator<Item = &'a str>>(ids: I) -> Self {
        let mut all = Self::default();
        for id in ids {
            all.push(id);
        }
        all
    }
}

/// `members` keeping only each member's `value`: absent (through `#[serde(default)]`),
/// `null` and `[]` are no members, every other attribute is skipped unread, and a
/// member without `value`, or with one that is not a string, is an error.
pub(crate) fn member_values<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<MemberIds, D::Error> {
    deserializer.deserialize_option(Members)
}

/// The `members` array.
struct Members;

impl<'de> Visitor<'de> for Members {
    type Value = MemberIds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of members")
    }

    fn visit_none<E: de::Error>(self) -> Result<MemberIds, E> {
        Ok(MemberIds::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<MemberIds, E> {
        Ok(MemberIds::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<MemberIds, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut members: A) -> Result<MemberIds, A::Error> {
        let mut ids = MemberIds::default();
        if let Some(count) = members.size_hint() {
            // A hint, from whatever format decodes; the ids grow as they come.
            ids.ends.reserve(count.min(4096));
        }
        while members.next_element_seed(Member(&mut ids))?.is_some() {}
        Ok(ids)
    }
}

/// One member object, appended to the ids by its `value`.
struct Member<'a>(&'a mut MemberIds);

impl<'de> DeserializeSeed<'de> for Member<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// A member's attribute name: `value`, or one this skips.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Value,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for Member<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut member: A) -> Result<(), A::Error> {
        let mut value = false;
        while let Some(key) = member.next_key::<Key>()? {
            match key {
                Key::Value if value => return Err(de::Error::duplicate_field("value")),
                Key::Value => {
                    member.next_value_seed(Id(self.0))?;
                    value = true;
                }
                Key::Other => {
                    member.next_value::<IgnoredAny>()?;
                }
            }
        }
        if value {
            Ok(())
        } else {
            Err(de::Error::missing_field("value"))
        }
    }
}

/// A member's `value`, appended without a `String` of its own.
struct Id<'a>(&'a mut MemberIds);

impl<'de> DeserializeSeed<'de> for Id<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Id<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member id (a string)")
    }

    fn visit_str<E: de::Error>(self, id: &str) -> Result<(), E> {
        self.0.push(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "member_values")]
        members: MemberIds,
    }

    fn read(json: &str) -> Result<Vec<String>, String> {
        serde_json::from_str::<Holder>(json)
            .map(|h| h.members.iter().map(str::to_owned).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ids_in_order_with_every_other_attribute_skipped() {
        assert_eq!(
            read(
                r#"{"members": [{"$ref": "https://x/Users/u1", "value": "u1", "display": {"x": [1]}},
                               {"value": ""}, {"type": "User", "value": "u\u00e9\"2"}]}"#
            ),
            Ok(vec![
                "u1".to_owned(),
                String::new(),
                "u\u{e9}\"2".to_owned()
            ])
        );
        for none in ["{}", r#"{"members": null}"#, r#"{"members": []}"#] {
            assert_eq!(read(none), Ok(vec![]), "{none}");
        }
    }

    #[test]
    fn a_member_without_a_string_value_is_an_error_that_names_it() {
        for (json, expected) in [
            (
                r#"{"members": [{"display": "Alice"}]}"#,
                "missing field `value`",
            ),
            (
                r#"{"members": [{"value": 7}]}"#,
                "expected a member id (a string)",
            ),
            (
                r#"{"members": [{"value": null}]}"#,
                "expected a member id (a string)",
            ),
            (
                r#"{"members": [{"value": "a", "value": "b"}]}"#,
                "duplicate field `value`",
            ),
            (r#"{"members": ["u1"]}"#, "expected a member object"),
            (
                r#"{"members": {"value": "u1"}}"#,
                "expected a list of members",
            ),
        ] {
            let error = read(json).unwrap_err();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    proptest! {
        /// Whatever the ids, they read back as the members listed them, and as a
        /// list of `String`s would hold them.
        #[test]
        fn ids_read_back_as_listed(ids in proptest::collection::vec(".{0,12}", 0..20)) {
            let members: Vec<_> = ids.iter().map(|id| serde_json::json!({"value": id, "type": "User"})).collect();
            let json = serde_json::json!({ "members": members }).to_string();
            prop_assert_eq!(read(&json), Ok(ids.clone()));
            let collected: MemberIds = ids.iter().map(String::as_str).collect();
            prop_assert_eq!(collected.len(), ids.len());
            prop_assert_eq!(collected.iter().collect::<Vec<_>>(), ids.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
