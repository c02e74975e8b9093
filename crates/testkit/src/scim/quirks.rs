//! Quirks: ways a real SCIM server may differ from the strict reference behaviour
//! without answering an error. Each is off by default.
//!
//! Unlike [`Faults`](super::Faults), which make requests fail or lie about a listing,
//! a quirk is a consistent behaviour of the server: it answers every request
//! successfully, but keeps or reports less than a client sent or expected. They are
//! the behaviours `check` probes for and the sync must converge against.
//!
//! Quirks apply to client requests only; seeded records are stored as given.

use serde_json::{Map, Value};

use super::schema::Kind;

/// Consistent ways the SCIM emulator departs from the reference behaviour.
///
/// The page cap is not here: it is [`ScimOptions::page_cap`](super::ScimOptions::page_cap),
/// which caps every page whatever `count` asks for.
// Each bool is one independent switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// A filter using `sw` is answered `200` with zero results (`totalResults: 0`), as
    /// a server that ignores an operator it does not support would.
    pub sw_matches_nothing: bool,
    /// Cursor paging (RFC 9865): advertised in `ServiceProviderConfig.pagination`; a
    /// list with a `cursor` query parameter (empty for the first page) answers with
    /// `nextCursor` (absent on the last page) and no `startIndex`; an unknown cursor is
    /// `400 invalidCursor`. Index paging keeps working.
    pub cursor_paging: bool,
    /// `/Schemas` and `/ResourceTypes` leave out the CoreWeave user extension (the
    /// extension is still stored when sent).
    pub no_extension_schema: bool,
    /// `userName` and every `emails[].value` are stored lowercased.
    pub lowercase_names: bool,
    /// `name.formatted` is not stored (a `name` left empty disappears).
    pub drop_name_formatted: bool,
    /// `externalId` is not stored at all, on users and groups: a POST is answered
    /// without it, listings never show it, and a PATCH of it changes nothing.
    pub drop_external_id: bool,
    /// A list whose `startIndex` is past the last result is answered with the first
    /// page again (`startIndex` 1), as one open-source SCIM library does, instead of
    /// an empty page. A listing of exactly full pages then asks for such a page to
    /// confirm its end.
    pub restart_past_end: bool,
}

impl Quirks {
    /// Rewrites a resource about to be stored from a client request into what this
    /// server keeps of it.
    pub(crate) fn keep(self, kind: Kind, resource: &mut Map<String, Value>) {
        if self.drop_external_id {
            resource.remove("externalId");
        }
        if kind != Kind::User {
            return;
        }
        if self.lowercase_names {
            if let Some(Value::String(user_name)) = resource.get_mut("userName") {
                *user_name = user_name.to_lowercase();
            }
            if let Some(Value::Array(emails)) = resource.get_mut("emails") {
                for email in emails {
                    if let Some(Value::String(value)) = email.get_mut("value") {
                        *value = value.to_lowercase();
                    }
                }
            }
        }
        if self.drop_name_formatted
            && let Some(Value::Object(name)) = resource.get_mut("name")
        {
            name.remove("formatted");
            if name.is_empty() {
                resource.remove("name");
            }
        }
    }
}

impl Quirks {
    /// Like [`keep`](Self::keep) for a patched resource; a server that does not
    /// store `externalId` leaves the record's `externalId` as it was (absent, unless
    /// the record was seeded with one).
    pub(crate) fn keep_patched(
        self,
        kind: Kind,
        resource: &mut Map<String, Value>,
        before: &Map<String, Value>,
    ) {
        self.keep(kind, resource);
        if self.drop_external_id
            && let Some(previous) = before.get("externalId")
        {
            resource.insert("externalId".to_owned(), previous.clone());
        }
    }
}

/// The RFC 9865 cursor of a position in a listing: opaque to clients.
pub(crate) fn cursor_at(offset: usize) -> String {
    format!("cur-{offset:x}")
}

/// The position a cursor stands for; `None` when it is not one this server issued.
pub(crate) fn cursor_offset(cursor: &str) -> Option<usize> {
    let hex = cursor.strip_prefix("cur-")?;
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kept(quirks: Quirks, kind: Kind, resource: Value) -> Value {
        let Value::Object(mut map) = resource else {
            panic!("an object")
        };
        quirks.keep(kind, &mut map);
        Value::Object(map)
    }

    #[test]
    fn each_quirk_changes_only_its_attribute() {
        let user = json!({
            "userName": "Alice.Smith",
            "externalId": "pw-activate:user:1",
            "name": {"formatted": "Alice Smith", "givenName": "Alice"},
            "emails": [{"value": "Alice@Example.ORG", "primary": true}],
        });
        assert_eq!(kept(Quirks::default(), Kind::User, user.clone()), user);
        let lower = Quirks {
            lowercase_names: true,
            ..Quirks::default()
        };
        let out = kept(lower, Kind::User, user.clone());
        assert_eq!(out["userName"], "alice.smith");
        assert_eq!(out["emails"][0]["value"], "alice@example.org");
        assert_eq!(out["name"], user["name"]);
        let no_formatted = Quirks {
            drop_name_formatted: true,
            ..Quirks::default()
        };
        let out = kept(no_formatted, Kind::User, user.clone());
        assert_eq!(out["name"], json!({"givenName": "Alice"}));
        assert_eq!(out["userName"], "Alice.Smith");
        let only_formatted = json!({"userName": "a", "name": {"formatted": "A"}});
        assert_eq!(
            kept(no_formatted, Kind::User, only_formatted),
            json!({"userName": "a"})
        );
        let no_external = Quirks {
            drop_external_id: true,
            ..Quirks::default()
        };
        assert!(
            kept(no_external, Kind::User, user)
                .get("externalId")
                .is_none()
        );
        let group = json!({"displayName": "Ops", "externalId": "pw-activate:group:1"});
        assert_eq!(
            kept(no_external, Kind::Group, group),
            json!({"displayName": "Ops"})
        );
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        for offset in [0, 1, 50, 12_345] {
            assert_eq!(cursor_offset(&cursor_at(offset)), Some(offset));
        }
        for bad in ["", "cur-", "cur-xyz", "12", "cur-+1"] {
            assert_eq!(cursor_offset(bad), None, "{bad:?}");
        }
    }
}
