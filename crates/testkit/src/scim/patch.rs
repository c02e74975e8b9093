//! PATCH (RFC 7644 §3.5.2) applied to one resource.
//!
//! Supported paths: every core attribute of the resource (names case-insensitive,
//! optionally prefixed with the core schema URN), `name.<sub>`, the CoreWeave
//! extension as a whole (`urn:…:CoreWeaveUser`) or its `sunkSshKeys`, and on groups
//! `members[value eq "<id>"]` (with `remove` only). Without a path, `add`/`replace`
//! take an object whose keys are paths.
//!
//! Semantics: `replace` on a multi-valued attribute replaces the whole set; `add`
//! appends (skipping values already there); `add`/`replace` on a complex attribute
//! (`name`, the extension object) merge the given sub-attributes; `remove` unsets,
//! and `remove` of `members` with a value array (the form Entra sends) removes those
//! members. A filter that matches no member removes nothing.
//!
//! Member edits are staged in a [`MemberEdits`] rather than applied to the resource,
//! so that a group's stored members are neither copied nor rewritten by a PATCH.

use serde_json::{Map, Value};

use super::filter::{Op, parse_comparison};
use super::members::{MemberEdits, member_id};
use super::rejection::Rejection;
use super::schema::{
    CW_EXT_ATTRIBUTES, CW_USER_EXT, Kind, NAME_SUB_ATTRIBUTES, PATCH_OP, Shape, canonical,
    strip_urn,
};
use super::values::{append, coerce, coerce_extension, coerce_strings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Attr(&'static str, Shape),
    NameSub(&'static str),
    Extension,
    ExtensionAttr(&'static str),
    Member(String),
}

/// Applies every operation of a PATCH body: member edits to `members`, everything
/// else to `resource`. On failure both hold part of the operations; the caller
/// works on a copy of the resource without its members and keeps neither.
pub(crate) fn apply(
    kind: Kind,
    resource: &mut Map<String, Value>,
    members: &mut MemberEdits<'_>,
    body: &Value,
    strict: bool,
) -> Result<(), Rejection> {
    let Value::Object(body) = body else {
        return Err(Rejection::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        ));
    };
    if strict {
        let lists_patch_op = body
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
            });
        if !lists_patch_op {
            return Err(Rejection::bad(
                "invalidSyntax",
                format!("schemas must list {PATCH_OP}"),
            ));
        }
    }
    let operations = if strict {
        body.get("Operations")
    } else {
        body.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
            .map(|(_, v)| v)
    };
    let operations = operations
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| Rejection::bad("invalidSyntax", "Operations must be a non-empty array"))?;
    for operation in operations {
        apply_operation(kind, resource, members, operation, strict)?;
    }
    Ok(())
}

fn apply_operation(
    kind: Kind,
    resource: &mut Map<String, Value>,
    members: &mut MemberEdits<'_>,
    operation: &Value,
    strict: bool,
) -> Result<(), Rejection> {
    let Value::Object(operation) = operation else {
        return Err(Rejection::bad(
            "invalidSyntax",
            "each operation must be an object",
        ));
    };
    let field = |name: &str| {
        if strict {
            operation.get(name)
        } else {
            operation
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        }
    };
    let op_name = field("op")
        .and_then(Value::as_str)
        .ok_or_else(|| Rejection::bad("invalidValue", "each operation needs an \"op\""))?;
    let op = parse_op(op_name, strict)?;
    let value = field("value");
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) => Some(path.as_str()),
        Some(_) => return Err(Rejection::bad("invalidPath", "path must be a string")),
    };
    match path {
        Some(path) => {
            let target = parse_path(kind, path)?;
            apply_target(resource, members, op, &target, value, strict)
        }
        None if op == OpKind::Remove => Err(Rejection::bad("noTarget", "remove requires a path")),
        None => {
            let Some(Value::Object(attributes)) = value else {
                return Err(Rejection::bad(
                    "invalidValue",
                    "without a path, value must be an object of attributes",
                ));
            };
            for (key, value) in attributes {
                let target = parse_path(kind, key)?;
                apply_target(resource, members, op, &target, Some(value), strict)?;
            }
            Ok(())
        }
    }
}

fn parse_op(op: &str, strict: bool) -> Result<OpKind, Rejection> {
    let parsed = match op.to_ascii_lowercase().as_str() {
        "add" => OpKind::Add,
        "remove" => OpKind::Remove,
        "replace" => OpKind::Replace,
        _ => {
            return Err(Rejection::bad(
                "invalidValue",
                format!("unknown op {op:?} (add, remove or replace)"),
            ));
        }
    };
    if strict && op.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Rejection::bad(
            "invalidValue",
            format!("op {op:?} must be lowercase"),
        ));
    }
    Ok(parsed)
}

fn parse_path(kind: Kind, path: &str) -> Result<Target, Rejection> {
    let path = path.trim();
    if kind == Kind::User
        && let Some(rest) = strip_urn(path, CW_USER_EXT)
    {
        if rest.is_empty() {
            return Ok(Target::Extension);
        }
        return canonical(CW_EXT_ATTRIBUTES.iter().copied(), rest)
            .map(Target::ExtensionAttr)
            .ok_or_else(|| Rejection::bad("invalidPath", format!("unknown attribute {path:?}")));
    }
    let bare = strip_urn(path, kind.core_schema()).unwrap_or(path);
    if let Some(open) = bare.find('[') {
        let attr = &bare[..open];
        if kind != Kind::Group || !attr.eq_ignore_ascii_case("members") {
            return Err(Rejection::bad(
                "invalidPath",
                format!("value filters are supported only on group members, not in {path:?}"),
            ));
        }
        let Some(inner) = bare[open + 1..].strip_suffix(']') else {
            return Err(Rejection::bad(
                "invalidPath",
                format!("{path:?} must end with the closing ']' of its filter"),
            ));
        };
        let comparison = parse_comparison(inner).map_err(|e| Rejection::bad("invalidFilter", e))?;
        if !comparison.attr.eq_ignore_ascii_case("value") || comparison.op != Op::Eq {
            return Err(Rejection::bad(
                "invalidFilter",
                format!("member filters must be value eq \"<id>\", not {inner:?}"),
            ));
        }
        return Ok(Target::Member(comparison.value));
    }
    if let Some((parent, sub)) = bare.split_once('.') {
        if kind == Kind::User
            && parent.eq_ignore_ascii_case("name")
            && let Some(sub) = canonical(NAME_SUB_ATTRIBUTES.iter().copied(), sub)
        {
            return Ok(Target::NameSub(sub));
        }
        return Err(Rejection::bad(
            "invalidPath",
            format!("unknown attribute {path:?}"),
        ));
    }
    if let Some(read_only) = canonical(kind.read_only().iter().copied(), bare) {
        return Err(Rejection::bad(
            "mutability",
            format!("{read_only} is read-only"),
        ));
    }
    kind.attributes()
        .iter()
        .copied()
        .find(|(name, _)| name.eq_ignore_ascii_case(bare))
        .map(|(name, shape)| Target::Attr(name, shape))
        .ok_or_else(|| Rejection::bad("invalidPath", format!("unknown attribute {path:?}")))
}

fn apply_target(
    resource: &mut Map<String, Value>,
    members: &mut MemberEdits<'_>,
    op: OpKind,
    target: &Target,
    value: Option<&Value>,
    strict: bool,
) -> Result<(), Rejection> {
    if op == OpKind::Remove {
        remove(resource, members, target, value);
        return Ok(());
    }
    let value =
        value.ok_or_else(|| Rejection::bad("invalidValue", format!("{op:?} needs a value")))?;
    match target {
        Target::Attr(name, shape) => {
            let coerced = coerce(name, *shape, value, strict)?;
            match (shape, op, coerced) {
                (Shape::Members, _, None) if op == OpKind::Replace || !value.is_array() => {
                    members.clear();
                }
                (Shape::Members, _, None) => {}
                (Shape::Members, _, Some(items)) => {
                    if op == OpKind::Replace {
                        members.clear();
                    }
                    for item in items.as_array().into_iter().flatten() {
                        if let Some(id) = member_id(item) {
                            members.add(id);
                        }
                    }
                }
                (_, _, None) if op == OpKind::Replace || !value.is_array() => {
                    resource.remove(*name);
                }
                (_, _, None) => {}
                (Shape::Name, _, Some(Value::Object(subs))) => {
                    let name_value = resource
                        .entry((*name).to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(existing) = name_value {
                        existing.extend(subs);
                    }
                }
                (Shape::MultiComplex, OpKind::Add, Some(items)) => {
                    let merged = append(resource.remove(*name), items);
                    resource.insert((*name).to_owned(), merged);
                }
                (_, _, Some(v)) => {
                    resource.insert((*name).to_owned(), v);
                }
            }
        }
        Target::NameSub(sub) => match value {
            Value::Null => remove(resource, members, target, None),
            Value::String(_) => {
                let name = resource
                    .entry("name".to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(name) = name {
                    name.insert((*sub).to_owned(), value.clone());
                }
            }
            _ => {
                return Err(Rejection::bad(
                    "invalidValue",
                    format!("name.{sub} must be a string"),
                ));
            }
        },
        Target::Extension => match coerce_extension(value, strict)? {
            None if value.is_null() => {
                resource.remove(CW_USER_EXT);
            }
            None => {}
            Some(attrs) => {
                for (attr, items) in attrs {
                    set_extension_attr(resource, &attr, op, items);
                }
            }
        },
        Target::ExtensionAttr(attr) => match coerce_strings(attr, value, strict)? {
            None if op == OpKind::Replace || value.is_null() => {
                remove(resource, members, target, None);
            }
            None => {}
            Some(items) => set_extension_attr(resource, attr, op, items),
        },
        Target::Member(_) => {
            return Err(Rejection::bad(
                "invalidPath",
                "a members value filter is supported only with remove",
            ));
        }
    }
    Ok(())
}

fn set_extension_attr(resource: &mut Map<String, Value>, attr: &str, op: OpKind, items: Value) {
    let ext = resource
        .entry(CW_USER_EXT.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(ext) = ext {
        let value = if op == OpKind::Add {
            append(ext.remove(attr), items)
        } else {
            items
        };
        ext.insert(attr.to_owned(), value);
    }
}

fn remove(
    resource: &mut Map<String, Value>,
    members: &mut MemberEdits<'_>,
    target: &Target,
    value: Option<&Value>,
) {
    match target {
        Target::Attr("members", _) => match value.and_then(Value::as_array) {
            // Entra's form: remove the listed members.
            Some(listed) => {
                for id in listed.iter().filter_map(member_id) {
                    members.remove(id);
                }
            }
            None => members.clear(),
        },
        Target::Attr(name, _) => {
            resource.remove(*name);
        }
        Target::NameSub(sub) => {
            if let Some(Value::Object(name)) = resource.get_mut("name") {
                name.remove(*sub);
                if name.is_empty() {
                    resource.remove("name");
                }
            }
        }
        Target::Extension => {
            resource.remove(CW_USER_EXT);
        }
        Target::ExtensionAttr(attr) => {
            if let Some(Value::Object(ext)) = resource.get_mut(CW_USER_EXT) {
                ext.remove(*attr);
                if ext.is_empty() {
                    resource.remove(CW_USER_EXT);
                }
            }
        }
        Target::Member(id) => members.remove(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    /// Applies a PATCH to a resource held whole, members included (as `{"value": id}`).
    fn patch(kind: Kind, resource: Value, ops: &Value, strict: bool) -> Result<Value, Rejection> {
        let Value::Object(mut resource) = resource else {
            panic!("object")
        };
        let mut list = match resource.remove("members") {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        let mut ids: HashSet<String> = list
            .iter()
            .filter_map(member_id)
            .map(str::to_owned)
            .collect();
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        let mut members = MemberEdits::new(&ids);
        apply(kind, &mut resource, &mut members, &body, strict)?;
        let change = members.finish();
        change.commit(&mut list, &mut ids, |id| json!({"value": id}));
        if !list.is_empty() {
            resource.insert("members".to_owned(), Value::Array(list));
        }
        Ok(Value::Object(resource))
    }

    #[test]
    fn replace_add_and_remove_on_users() {
        let user =
            json!({"userName": "a", "active": true, "name": {"givenName": "A", "familyName": "B"}});
        let out = patch(
            Kind::User,
            user,
            &json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "replace", "path": "NAME", "value": {"givenName": "Ann"}},
                {"op": "add", "path": format!("{CW_USER_EXT}:sunkSshKeys"), "value": ["k1"]},
                {"op": "add", "path": format!("{CW_USER_EXT}:sunkSshKeys"), "value": ["k1", "k2"]},
                {"op": "replace", "value": {"displayName": "Ann B", "externalId": "pw-activate:user:1"}},
                {"op": "remove", "path": "name.familyName"},
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "userName": "a", "active": false, "name": {"givenName": "Ann"},
                "displayName": "Ann B", "externalId": "pw-activate:user:1",
                CW_USER_EXT: {"sunkSshKeys": ["k1", "k2"]}
            })
        );
        let cleared = patch(
            Kind::User,
            out.clone(),
            &json!([{"op": "replace", "path": format!("{CW_USER_EXT}:sunkSshKeys"), "value": []}]),
            true,
        )
        .unwrap();
        assert!(cleared.get(CW_USER_EXT).is_none());
        let cleared = patch(
            Kind::User,
            out,
            &json!([{"op": "replace", "value": {CW_USER_EXT: {"sunkSshKeys": ["k9"]}}}]),
            true,
        )
        .unwrap();
        assert_eq!(cleared[CW_USER_EXT], json!({"sunkSshKeys": ["k9"]}));
    }

    #[test]
    fn members_add_remove_and_filters() {
        let group = json!({"displayName": "g", "members": [{"value": "u1"}, {"value": "u2"}]});
        let out = patch(
            Kind::Group,
            group,
            &json!([
                {"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]},
                {"op": "remove", "path": "members[value eq \"u2\"]"},
                {"op": "remove", "path": "members[value eq \"absent\"]"},
            ]),
            true,
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u1"}, {"value": "u3"}]));
        let out = patch(
            Kind::Group,
            out,
            &json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}]}]),
            true,
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u3"}]));
        let out = patch(
            Kind::Group,
            out,
            &json!([{"op": "replace", "path": "members", "value": []}]),
            true,
        )
        .unwrap();
        assert_eq!(out, json!({"displayName": "g"}));
    }

    #[test]
    fn errors_carry_the_right_scim_type() {
        let user = json!({"userName": "a"});
        let cases = [
            (
                json!([{"op": "Replace", "path": "active", "value": false}]),
                "invalidValue",
            ),
            (
                json!([{"op": "replace", "path": "active", "value": "False"}]),
                "invalidValue",
            ),
            (
                json!([{"op": "replace", "path": "nope", "value": 1}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": format!("{CW_USER_EXT}:nope"), "value": []}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
            ),
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "move", "path": "active"}]), "invalidValue"),
            (
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x"}]),
                "invalidPath",
            ),
            (json!([]), "invalidSyntax"),
        ];
        for (ops, scim_type) in cases {
            let err = patch(Kind::User, user.clone(), &ops, true).unwrap_err();
            assert_eq!((err.status, err.scim_type), (400, Some(scim_type)), "{ops}");
        }
        // Lenient mode accepts the capitalised op and the string boolean.
        let out = patch(
            Kind::User,
            user,
            &json!([{"op": "Replace", "path": "active", "value": "False"}]),
            false,
        )
        .unwrap();
        assert_eq!(out["active"], json!(false));
    }
}
