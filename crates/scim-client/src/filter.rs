//! SCIM filter expressions (RFC 7644 §3.4.2.2) and their encoding in a query string.
//!
//! A string value in a filter is a JSON string literal, so it is produced with
//! `serde_json`, which adds the quotes and escapes `"`, `\` and control characters.
//! Attribute names are code, not data: they are `&'static str`.
//!
//! ```
//! use scim_client::filter::{encode_query_value, Filter};
//!
//! let f = Filter::sw("externalId", "pw-activate:");
//! assert_eq!(f.as_str(), r#"externalId sw "pw-activate:""#);
//! assert_eq!(encode_query_value(f.as_str()), "externalId%20sw%20%22pw-activate%3A%22");
//! assert_eq!(Filter::eq("userName", r#"a"b"#).as_str(), r#"userName eq "a\"b""#);
//! ```

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except RFC 3986 "unreserved" characters is percent-encoded in a query
/// value: space becomes `%20` (never `+`), `+` becomes `%2B`, and `&`, `=`, `#`, `%`
/// and non-ASCII bytes are encoded too.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` for use as one query parameter value.
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A filter expression such as `externalId sw "pw-activate:"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter(String);

impl Filter {
    /// `attr eq "value"`: equal (case-sensitive only for caseExact attributes).
    pub fn eq(attr: &'static str, value: &str) -> Self {
        Self::compare(attr, "eq", value)
    }

    /// `attr sw "value"`: starts with.
    pub fn sw(attr: &'static str, value: &str) -> Self {
        Self::compare(attr, "sw", value)
    }

    fn compare(attr: &str, op: &str, value: &str) -> Self {
        Self(format!("{attr} {op} {}", quote(value)))
    }

    /// The expression as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The expression percent-encoded as a query parameter value.
    pub fn to_query_value(&self) -> String {
        encode_query_value(&self.0)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `value` as a JSON string literal, quotes included.
fn quote(value: &str) -> String {
    // Serializing a `str` to JSON cannot fail; the fallback is unreachable.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_json_specials() {
        assert_eq!(
            Filter::eq("externalId", "a\\b\"c\n").as_str(),
            r#"externalId eq "a\\b\"c\n""#
        );
    }

    #[test]
    fn query_encoding_covers_the_dangerous_characters() {
        assert_eq!(
            encode_query_value(r#"a b"c+d%e&f=g#h/i?j"#),
            "a%20b%22c%2Bd%25e%26f%3Dg%23h%2Fi%3Fj"
        );
        assert_eq!(encode_query_value("é-._~"), "%C3%A9-._~");
    }
}
