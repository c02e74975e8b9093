//! The filter subset the emulator understands: `attrPath SP op SP "string"`.
//!
//! Operators and attribute names are case-insensitive; the value must be a JSON
//! string literal (quotes, `\"`, `\\`, `\uXXXX` escapes). Only `eq` and `sw` are
//! supported; every other operator, logical expressions (`and`, `or`, `not`),
//! grouping and non-string values are answered with `400 invalidFilter`, as a
//! minimal real server would.

use super::schema::{Kind, strip_urn};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Sw,
}

/// One parsed comparison (the attribute as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub(crate) attr: String,
    pub(crate) op: Op,
    pub(crate) value: String,
}

/// A list filter resolved against a resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Canonical attribute name.
    pub(crate) attr: &'static str,
    pub(crate) op: Op,
    pub(crate) value: String,
    pub(crate) case_exact: bool,
}

const KNOWN_OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"];

/// Parses `attr op "value"`; the error is a detail for an `invalidFilter` answer.
pub(crate) fn parse_comparison(input: &str) -> Result<Comparison, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err("empty filter".to_owned());
    }
    if text.starts_with('(') {
        return Err("grouping is not supported".to_owned());
    }
    let (attr, rest) = split_token(text);
    if !attr
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '$'))
    {
        return Err(format!("invalid attribute path {attr:?}"));
    }
    let rest = rest.trim_start();
    let (op, rest) = split_token(rest);
    if op.is_empty() {
        return Err(format!("missing operator after {attr:?}"));
    }
    let op_lower = op.to_ascii_lowercase();
    let op = match op_lower.as_str() {
        "eq" => Op::Eq,
        "sw" => Op::Sw,
        other if KNOWN_OPS.contains(&other) => {
            return Err(format!(
                "operator {other:?} is not supported (only eq and sw)"
            ));
        }
        _ => return Err(format!("unknown operator {op:?}")),
    };
    let rest = rest.trim_start();
    if !rest.starts_with('"') {
        return Err(format!(
            "the value for {attr:?} must be a JSON string literal in double quotes"
        ));
    }
    let end = closing_quote(rest).ok_or_else(|| "unterminated string literal".to_owned())?;
    let value: String =
        serde_json::from_str(&rest[..=end]).map_err(|e| format!("invalid string literal: {e}"))?;
    let trailing = rest[end + 1..].trim();
    if !trailing.is_empty() {
        return Err(format!(
            "unexpected {trailing:?} after the comparison (logical operators are not supported)"
        ));
    }
    Ok(Comparison {
        attr: attr.to_owned(),
        op,
        value,
    })
}

/// Parses a list filter for `kind`, checking that the attribute may be filtered on.
pub(crate) fn parse(kind: Kind, input: &str) -> Result<Filter, String> {
    let comparison = parse_comparison(input)?;
    let bare = strip_urn(&comparison.attr, kind.core_schema()).unwrap_or(&comparison.attr);
    let Some((attr, case_exact)) = kind
        .filterable()
        .iter()
        .copied()
        .find(|(name, _)| name.eq_ignore_ascii_case(bare))
    else {
        return Err(format!(
            "filtering {} on {:?} is not supported",
            kind.endpoint(),
            comparison.attr
        ));
    };
    Ok(Filter {
        attr,
        op: comparison.op,
        value: comparison.value,
        case_exact,
    })
}

impl Filter {
    /// Whether an attribute value matches.
    pub(crate) fn matches(&self, actual: Option<&str>) -> bool {
        let Some(actual) = actual else {
            return false;
        };
        if self.case_exact {
            compare(self.op, actual, &self.value)
        } else {
            compare(self.op, &actual.to_lowercase(), &self.value.to_lowercase())
        }
    }
}

fn compare(op: Op, actual: &str, wanted: &str) -> bool {
    match op {
        Op::Eq => actual == wanted,
        Op::Sw => actual.starts_with(wanted),
    }
}

fn split_token(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    }
}

/// Byte index of the quote closing the literal that opens at index 0.
fn closing_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_values_with_escapes_and_any_case() {
        let f = parse(Kind::User, r#"externalid SW "pw-activate:""#).unwrap();
        assert_eq!(
            f,
            Filter {
                attr: "externalId",
                op: Op::Sw,
                value: "pw-activate:".into(),
                case_exact: true
            }
        );
        let f = parse(Kind::User, r#"userName eq "a\"b\\c""#).unwrap();
        assert_eq!(f.value, "a\"b\\c");
        assert!(!f.case_exact);
        let f = parse(
            Kind::User,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#,
        )
        .unwrap();
        assert_eq!(f.attr, "userName");
        let f = parse(Kind::Group, r#"displayName eq "ml team""#).unwrap();
        assert_eq!(f.value, "ml team");
    }

    #[test]
    fn rejects_what_it_does_not_support() {
        for bad in [
            "userName eq alice",
            r#"userName eq "alice"#,
            r#"userName co "al""#,
            r#"userName eq "a" and active eq true"#,
            "active eq true",
            r#"emails eq "x""#,
            "userName",
            r#"(userName eq "a")"#,
            r#"userName xx "a""#,
            "",
        ] {
            assert!(parse(Kind::User, bad).is_err(), "{bad}");
        }
        assert!(parse(Kind::Group, r#"userName eq "a""#).is_err());
    }

    #[test]
    fn matching_honours_case_exactness() {
        let ext = parse(Kind::User, r#"externalId sw "pw-activate:""#).unwrap();
        assert!(ext.matches(Some("pw-activate:user:1")));
        assert!(!ext.matches(Some("PW-ACTIVATE:user:1")));
        assert!(!ext.matches(None));
        let name = parse(Kind::User, r#"userName eq "ALICE""#).unwrap();
        assert!(name.matches(Some("alice")));
        assert!(!name.matches(Some("alice2")));
    }
}
