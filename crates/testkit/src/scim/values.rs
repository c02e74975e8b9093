//! Checking and normalising attribute values, shared by create and PATCH.
//!
//! Every function returns `Ok(None)` for a value that means "no value" (`null`, an
//! empty array, an empty complex value): RFC 7643 §2.5 treats those as unassigned.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::rejection::Rejection;
use super::schema::{CW_EXT_ATTRIBUTES, NAME_SUB_ATTRIBUTES, Shape, canonical};

/// Checks a value against its attribute's shape; in lenient mode, string booleans
/// (`"True"`, `"false"`) become booleans.
pub(crate) fn coerce(
    attr: &str,
    shape: Shape,
    value: &Value,
    strict: bool,
) -> Result<Option<Value>, Rejection> {
    if value.is_null() {
        return Ok(None);
    }
    match shape {
        Shape::String => match value {
            Value::String(_) => Ok(Some(value.clone())),
            _ => Err(invalid(attr, "a string")),
        },
        Shape::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            Value::String(s) if !strict && s.eq_ignore_ascii_case("true") => {
                Ok(Some(Value::Bool(true)))
            }
            Value::String(s) if !strict && s.eq_ignore_ascii_case("false") => {
                Ok(Some(Value::Bool(false)))
            }
            Value::String(s) => Err(Rejection::bad(
                "invalidValue",
                format!("{attr} must be a JSON boolean, not the string {s:?}"),
            )),
            _ => Err(invalid(attr, "a JSON boolean")),
        },
        Shape::Name => {
            let Value::Object(object) = value else {
                return Err(invalid(attr, "an object"));
            };
            let mut name = Map::new();
            for (key, sub) in object {
                let Some(canonical) = canonical(NAME_SUB_ATTRIBUTES.iter().copied(), key) else {
                    return Err(Rejection::bad(
                        "invalidValue",
                        format!("name has no sub-attribute {key:?}"),
                    ));
                };
                match sub {
                    Value::Null => {}
                    Value::String(_) => {
                        name.insert(canonical.to_owned(), sub.clone());
                    }
                    _ => return Err(invalid(&format!("name.{canonical}"), "a string")),
                }
            }
            Ok((!name.is_empty()).then_some(Value::Object(name)))
        }
        Shape::MultiComplex => {
            let Value::Array(items) = value else {
                return Err(invalid(attr, "an array"));
            };
            if items.iter().any(|item| !item.is_object()) {
                return Err(invalid(attr, "an array of objects"));
            }
            Ok((!items.is_empty()).then(|| value.clone()))
        }
        Shape::Members => {
            let Value::Array(items) = value else {
                return Err(invalid(attr, "an array of {\"value\": id} objects"));
            };
            let mut members: Vec<Value> = Vec::with_capacity(items.len());
            let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
            for item in items {
                let id = item
                    .as_object()
                    .and_then(|o| o.get("value"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(attr, "an array of {\"value\": id} objects"))?;
                if seen.insert(id) {
                    let mut member = Map::new();
                    member.insert("value".to_owned(), Value::String(id.to_owned()));
                    members.push(Value::Object(member));
                }
            }
            Ok((!members.is_empty()).then_some(Value::Array(members)))
        }
    }
}

/// Checks the CoreWeave extension object; unknown sub-attributes are refused.
pub(crate) fn coerce_extension(
    value: &Value,
    strict: bool,
) -> Result<Option<Map<String, Value>>, Rejection> {
    if value.is_null() {
        return Ok(None);
    }
    let Value::Object(object) = value else {
        return Err(invalid("the CoreWeaveUser extension", "an object"));
    };
    let mut ext = Map::new();
    for (key, sub) in object {
        let Some(attr) = canonical(CW_EXT_ATTRIBUTES.iter().copied(), key) else {
            return Err(Rejection::bad(
                "invalidValue",
                format!("the CoreWeaveUser extension has no attribute {key:?}"),
            ));
        };
        if let Some(keys) = coerce_strings(attr, sub, strict)? {
            ext.insert(attr.to_owned(), keys);
        }
    }
    Ok((!ext.is_empty()).then_some(ext))
}

/// A multi-valued string attribute (`sunkSshKeys`).
pub(crate) fn coerce_strings(
    attr: &str,
    value: &Value,
    strict: bool,
) -> Result<Option<Value>, Rejection> {
    match value {
        Value::Null => Ok(None),
        Value::String(_) if !strict => Ok(Some(Value::Array(vec![value.clone()]))),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let mut unique: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                if !unique.contains(item) {
                    unique.push(item.clone());
                }
            }
            Ok((!unique.is_empty()).then_some(Value::Array(unique)))
        }
        _ => Err(invalid(attr, "an array of strings")),
    }
}

/// Appends the items of `extra` to the array `existing`, skipping equal values.
pub(crate) fn append(existing: Option<Value>, extra: Value) -> Value {
    let mut items = match existing {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    if let Value::Array(extra) = extra {
        for item in extra {
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    Value::Array(items)
}

fn invalid(attr: &str, expected: &str) -> Rejection {
    Rejection::bad("invalidValue", format!("{attr} must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_are_strict_unless_lenient() {
        assert_eq!(
            coerce("active", Shape::Boolean, &json!(false), true).unwrap(),
            Some(json!(false))
        );
        let err = coerce("active", Shape::Boolean, &json!("False"), true).unwrap_err();
        assert_eq!((err.status, err.scim_type), (400, Some("invalidValue")));
        assert_eq!(
            coerce("active", Shape::Boolean, &json!("False"), false).unwrap(),
            Some(json!(false))
        );
        assert!(coerce("active", Shape::Boolean, &json!("maybe"), false).is_err());
    }

    #[test]
    fn empty_values_mean_unassigned() {
        assert_eq!(
            coerce("emails", Shape::MultiComplex, &json!([]), true).unwrap(),
            None
        );
        assert_eq!(
            coerce("members", Shape::Members, &json!([]), true).unwrap(),
            None
        );
        assert_eq!(
            coerce("name", Shape::Name, &json!({"givenName": null}), true).unwrap(),
            None
        );
        assert_eq!(
            coerce_extension(&json!({"sunkSshKeys": []}), true).unwrap(),
            None
        );
        assert_eq!(
            coerce("displayName", Shape::String, &Value::Null, true).unwrap(),
            None
        );
    }

    #[test]
    fn members_and_keys_are_deduplicated() {
        let members = coerce(
            "members",
            Shape::Members,
            &json!([{"value": "a", "display": "x"}, {"value": "a"}, {"value": "b"}]),
            true,
        )
        .unwrap();
        assert_eq!(members, Some(json!([{"value": "a"}, {"value": "b"}])));
        let ext = coerce_extension(&json!({"SUNKSSHKEYS": ["k1", "k1", "k2"]}), true).unwrap();
        assert_eq!(
            Value::Object(ext.unwrap()),
            json!({"sunkSshKeys": ["k1", "k2"]})
        );
        assert!(coerce_extension(&json!({"nope": []}), true).is_err());
        assert!(coerce_strings("sunkSshKeys", &json!("k"), true).is_err());
        assert_eq!(
            coerce_strings("sunkSshKeys", &json!("k"), false).unwrap(),
            Some(json!(["k"]))
        );
    }
}
