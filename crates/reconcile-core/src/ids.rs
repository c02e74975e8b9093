//! Identifier newtypes, so a SCIM id can never be passed where an ACTIVATE id is meant.
//!
//! An id is an immutable shared string: cloning one (a group's member list, a
//! map key, an operation in a plan) shares the text instead of copying it.
//!
//! Ownership lives in [`ExternalId`]: a target record is ours if and only if its
//! `externalId` starts with [`OWNED_PREFIX`].

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The prefix that marks a target record as owned by this reconciler.
pub const OWNED_PREFIX: &str = "pw-activate:";

const USER_PREFIX: &str = "pw-activate:user:";
const GROUP_PREFIX: &str = "pw-activate:group:";

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a raw identifier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(Arc::from(id.into()))
            }

            /// The raw identifier.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Lets maps keyed by this id be searched with a `&str`.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(Arc::from(id))
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(Arc::from(id))
            }
        }
    };
}

string_id!(
    /// An ACTIVATE user id (immutable; the anchor of a user's `externalId`).
    SourceUserId
);
string_id!(
    /// An ACTIVATE group id (immutable; the anchor of a group's `externalId`).
    SourceGroupId
);
string_id!(
    /// The `id` the SCIM target assigned to a record.
    ScimId
);
string_id!(
    /// A SCIM `externalId` as stored on a target record (owned or not).
    ExternalId
);

/// What an owned `externalId` points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedKey {
    /// `pw-activate:user:<ACTIVATE user id>`.
    User(SourceUserId),
    /// `pw-activate:group:<ACTIVATE group id>`.
    Group(SourceGroupId),
    /// Carries the prefix but follows no current scheme (for example an earlier key scheme).
    Other,
}

impl ExternalId {
    /// The key of the user record for an ACTIVATE user: `pw-activate:user:<id>`.
    pub fn for_user(id: &SourceUserId) -> Self {
        Self(Arc::from(format!("{USER_PREFIX}{id}")))
    }

    /// The key of the group record for an ACTIVATE group: `pw-activate:group:<id>`.
    pub fn for_group(id: &SourceGroupId) -> Self {
        Self(Arc::from(format!("{GROUP_PREFIX}{id}")))
    }

    /// Whether the record carrying this key is ours (starts with [`OWNED_PREFIX`]).
    pub fn is_owned(&self) -> bool {
        self.0.starts_with(OWNED_PREFIX)
    }

    /// The ACTIVATE user id of a `pw-activate:user:<id>` key; `None` for any
    /// other key.
    pub fn user_id(&self) -> Option<&str> {
        self.0.strip_prefix(USER_PREFIX).filter(|id| !id.is_empty())
    }

    /// Parses an owned key; `None` when the key is not ours.
    pub fn owned_key(&self) -> Option<OwnedKey> {
        if !self.is_owned() {
            return None;
        }
        if let Some(id) = self.0.strip_prefix(USER_PREFIX).filter(|id| !id.is_empty()) {
            return Some(OwnedKey::User(SourceUserId::new(id)));
        }
        if let Some(id) = self
            .0
            .strip_prefix(GROUP_PREFIX)
            .filter(|id| !id.is_empty())
        {
            return Some(OwnedKey::Group(SourceGroupId::new(id)));
        }
        Some(OwnedKey::Other)
    }
}

/// Case-folds a `userName` for uniqueness checks (SCIM servers compare them
/// case-insensitively): `str::to_lowercase`, copied only when that changes it.
pub fn fold(user_name: &str) -> Cow<'_, str> {
    if user_name.is_ascii() {
        return if user_name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(user_name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(user_name)
        };
    }
    // Not only capitals change: a titlecase letter (`ǅ`) lower-cases too.
    let lower = user_name.to_lowercase();
    if lower == user_name {
        Cow::Borrowed(user_name)
    } else {
        Cow::Owned(lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lower_cases_as_to_lowercase_and_copies_only_on_change() {
        for name in ["Ada", "ADA", "Émile", "ǅemal", "ǈ", "ΣΟΦΙΑ"] {
            let folded = fold(name);
            assert_eq!(folded, name.to_lowercase(), "{name}");
            assert!(matches!(folded, Cow::Owned(_)), "{name}");
        }
        for name in ["ada", "émile", "ǆemal", "", "σοφια"] {
            assert!(
                matches!(fold(name), Cow::Borrowed(n) if n == name),
                "{name}"
            );
        }
    }

    #[test]
    fn keys_round_trip_through_owned_key() {
        let user = ExternalId::for_user(&SourceUserId::new("42"));
        assert_eq!(user.as_str(), "pw-activate:user:42");
        assert_eq!(
            user.owned_key(),
            Some(OwnedKey::User(SourceUserId::new("42")))
        );
        let group = ExternalId::for_group(&SourceGroupId::new("g7"));
        assert_eq!(group.as_str(), "pw-activate:group:g7");
        assert_eq!(
            group.owned_key(),
            Some(OwnedKey::Group(SourceGroupId::new("g7")))
        );
    }

    #[test]
    fn ownership_is_the_prefix_only() {
        assert_eq!(ExternalId::new("okta:123").owned_key(), None);
        assert!(!ExternalId::new("PW-ACTIVATE:user:1").is_owned());
        assert!(!ExternalId::new("").is_owned());
        assert_eq!(
            ExternalId::new("pw-activate:alice").owned_key(),
            Some(OwnedKey::Other)
        );
        assert_eq!(
            ExternalId::new("pw-activate:user:").owned_key(),
            Some(OwnedKey::Other)
        );
    }
}
