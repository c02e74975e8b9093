//! The SCIM error response body (RFC 7644 §3.12).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{ERROR_SCHEMA, de::LenientU64};

/// A SCIM error response: `{"schemas": [Error URN], "status": "409", "scimType": …,
/// "detail": …}`.
///
/// `status` is a JSON string by the RFC; a number is accepted too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScimErrorBody {
    /// The schema URNs the body declares.
    #[serde(default, deserialize_with = "super::de::null_as_default")]
    pub schemas: Vec<String>,
    /// The HTTP status the body repeats, if it parsed as a number.
    #[serde(default, deserialize_with = "status_code")]
    pub status: Option<u16>,
    /// The SCIM error keyword.
    #[serde(default)]
    pub scim_type: Option<ScimType>,
    /// The server's human-readable explanation.
    #[serde(default)]
    pub detail: Option<String>,
}

impl ScimErrorBody {
    /// Whether the body is recognisably a SCIM error (its schema, or one of the
    /// error's own attributes), rather than some other JSON a gateway sent.
    pub fn is_scim_error(&self) -> bool {
        self.schemas.iter().any(|s| s == ERROR_SCHEMA)
            || self.scim_type.is_some()
            || self.detail.is_some()
    }
}

impl Serialize for ScimErrorBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            schemas: [&'static str; 1],
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            scim_type: Option<&'a ScimType>,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<&'a str>,
        }
        Body {
            schemas: [ERROR_SCHEMA],
            status: self.status.map(|s| s.to_string()),
            scim_type: self.scim_type.as_ref(),
            detail: self.detail.as_deref(),
        }
        .serialize(serializer)
    }
}

fn status_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    // A status that is not a number (or out of range) is not worth failing the whole
    // error report over: it is dropped, the HTTP status line is authoritative.
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value
        .and_then(|v| serde_json::from_value::<LenientU64>(v).ok())
        .and_then(|n| n.0)
        .and_then(|n| u16::try_from(n).ok()))
}

/// The `scimType` keyword of an error (RFC 7644 §3.12, table 9).
///
/// Read in any case; unknown keywords are kept in [`ScimType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax is invalid, or the server does not support that filter.
    InvalidFilter,
    /// The filter matches more results than the server will process.
    TooMany,
    /// A value clashes with an existing one (409).
    Uniqueness,
    /// The attribute is read-only or immutable.
    Mutability,
    /// The request body does not fit the message schema.
    InvalidSyntax,
    /// The path is invalid or names an unknown attribute.
    InvalidPath,
    /// A path filter matched nothing.
    NoTarget,
    /// A value is of the wrong type or otherwise invalid.
    InvalidValue,
    /// The protocol version is not supported.
    InvalidVers,
    /// The request carries personal data in the URL.
    Sensitive,
    /// A keyword this client does not know, as sent.
    Other(String),
}

const KNOWN: [(ScimType, &str); 10] = [
    (ScimType::InvalidFilter, "invalidFilter"),
    (ScimType::TooMany, "tooMany"),
    (ScimType::Uniqueness, "uniqueness"),
    (ScimType::Mutability, "mutability"),
    (ScimType::InvalidSyntax, "invalidSyntax"),
    (ScimType::InvalidPath, "invalidPath"),
    (ScimType::NoTarget, "noTarget"),
    (ScimType::InvalidValue, "invalidValue"),
    (ScimType::InvalidVers, "invalidVers"),
    (ScimType::Sensitive, "sensitive"),
];

impl ScimType {
    /// The keyword as the RFC spells it (or as the server sent an unknown one).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => KNOWN
                .iter()
                .find(|(k, _)| k == known)
                .map_or("", |(_, s)| s),
        }
    }

    /// Reads a keyword in any case.
    pub fn parse(keyword: &str) -> Self {
        KNOWN
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(keyword))
            .map_or_else(|| Self::Other(keyword.to_owned()), |(k, _)| k.clone())
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ScimType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ScimType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeVisitor;
        impl Visitor<'_> for TypeVisitor {
            type Value = ScimType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scimType keyword")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScimType, E> {
                Ok(ScimType::parse(v))
            }
        }
        deserializer.deserialize_str(TypeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_as_string_or_number() {
        let body: ScimErrorBody = serde_json::from_value(json!({
            "schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness", "detail": "taken"
        }))
        .unwrap();
        assert_eq!(body.status, Some(409));
        assert_eq!(body.scim_type, Some(ScimType::Uniqueness));
        assert_eq!(body.detail.as_deref(), Some("taken"));
        assert!(body.is_scim_error());
        let body: ScimErrorBody =
            serde_json::from_value(json!({"status": 400, "scimType": "INVALIDFILTER"})).unwrap();
        assert_eq!(
            (body.status, body.scim_type),
            (Some(400), Some(ScimType::InvalidFilter))
        );
        let body: ScimErrorBody = serde_json::from_value(json!({"status": "bad"})).unwrap();
        assert_eq!(body.status, None);
        assert!(!body.is_scim_error());
    }

    #[test]
    fn unknown_keywords_are_kept() {
        let t = ScimType::parse("rateLimited");
        assert_eq!(t, ScimType::Other("rateLimited".into()));
        assert_eq!(t.to_string(), "rateLimited");
        for (known, s) in KNOWN {
            assert_eq!(known.as_str(), s);
            assert_eq!(ScimType::parse(&s.to_uppercase()), known);
        }
    }
}
