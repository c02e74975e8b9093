//! Schema URNs and the attribute table the SCIM emulator knows.

/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// CoreWeave's user extension URN (holds `sunkSshKeys`).
pub const CW_USER_EXT: &str =
    "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser";
/// PATCH request message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// List response message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Error message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The two resource types the emulator stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
}

impl Kind {
    pub(crate) fn core_schema(self) -> &'static str {
        match self {
            Self::User => USER_SCHEMA,
            Self::Group => GROUP_SCHEMA,
        }
    }

    pub(crate) fn resource_type(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    /// Attributes clients may not set.
    pub(crate) fn read_only(self) -> &'static [&'static str] {
        match self {
            Self::User => &["id", "meta", "groups"],
            Self::Group => &["id", "meta"],
        }
    }

    /// Writable top-level attributes with their shape (extensions excluded).
    pub(crate) fn attributes(self) -> &'static [(&'static str, Shape)] {
        match self {
            Self::User => USER_ATTRIBUTES,
            Self::Group => GROUP_ATTRIBUTES,
        }
    }

    /// Attributes a list filter may name, with their `caseExact` property.
    pub(crate) fn filterable(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::User => &[
                ("externalId", true),
                ("userName", false),
                ("displayName", false),
            ],
            Self::Group => &[("externalId", true), ("displayName", false)],
        }
    }
}

/// The shape of an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A single string.
    String,
    /// A single boolean.
    Boolean,
    /// A complex attribute whose sub-attributes are strings (only `name`).
    Name,
    /// A multi-valued attribute of complex values (`emails`, …).
    MultiComplex,
    /// Group `members`: user references only.
    Members,
}

const USER_ATTRIBUTES: &[(&str, Shape)] = &[
    ("userName", Shape::String),
    ("externalId", Shape::String),
    ("displayName", Shape::String),
    ("nickName", Shape::String),
    ("profileUrl", Shape::String),
    ("title", Shape::String),
    ("userType", Shape::String),
    ("preferredLanguage", Shape::String),
    ("locale", Shape::String),
    ("timezone", Shape::String),
    ("password", Shape::String),
    ("active", Shape::Boolean),
    ("name", Shape::Name),
    ("emails", Shape::MultiComplex),
    ("phoneNumbers", Shape::MultiComplex),
    ("ims", Shape::MultiComplex),
    ("photos", Shape::MultiComplex),
    ("addresses", Shape::MultiComplex),
    ("entitlements", Shape::MultiComplex),
    ("roles", Shape::MultiComplex),
    ("x509Certificates", Shape::MultiComplex),
];

const GROUP_ATTRIBUTES: &[(&str, Shape)] = &[
    ("displayName", Shape::String),
    ("externalId", Shape::String),
    ("members", Shape::Members),
];

/// Sub-attributes of `name`.
pub(crate) const NAME_SUB_ATTRIBUTES: &[&str] = &[
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
];

/// Attributes of the CoreWeave user extension (all multi-valued strings).
pub(crate) const CW_EXT_ATTRIBUTES: &[&str] = &["sunkSshKeys"];

/// Finds `name` case-insensitively in `names`, returning the canonical spelling.
pub(crate) fn canonical<'a>(
    names: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    names.into_iter().find(|n| n.eq_ignore_ascii_case(name))
}

/// Strips `prefix` followed by `:` from `path`, comparing the prefix case-insensitively.
pub(crate) fn strip_urn<'p>(path: &'p str, urn: &str) -> Option<&'p str> {
    let head = path.get(..urn.len())?;
    if !head.eq_ignore_ascii_case(urn) {
        return None;
    }
    let rest = &path[urn.len()..];
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(':')
    }
}
