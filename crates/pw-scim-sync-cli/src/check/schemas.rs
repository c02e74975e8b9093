//! `/Schemas` and `/ResourceTypes` against the attributes the sync writes.

use scim_client::model::{COREWEAVE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use scim_client::{AttributeDefinition, ResourceTypeDefinition, SchemaDefinition, ScimClient};

use super::report::{Probe, Verdict};
use http_policy::chain::render as chain;

/// Whether the sync sends an attribute in every write of its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// In every create.
    Always,
    /// Only when there is a value (a name, an email, keys, members).
    WhenSet,
}

/// The attributes the sync writes: schema, path, and whether it is always sent.
/// `externalId` is a common attribute (RFC 7643 §3.1), not part of any schema.
const WRITTEN: &[(&str, &str, Sent)] = &[
    (USER_SCHEMA, "userName", Sent::Always),
    (USER_SCHEMA, "active", Sent::Always),
    (USER_SCHEMA, "displayName", Sent::WhenSet),
    (USER_SCHEMA, "name.givenName", Sent::WhenSet),
    (USER_SCHEMA, "name.familyName", Sent::WhenSet),
    (USER_SCHEMA, "name.formatted", Sent::WhenSet),
    (USER_SCHEMA, "emails.value", Sent::WhenSet),
    (COREWEAVE_USER_SCHEMA, "sunkSshKeys", Sent::WhenSet),
    (GROUP_SCHEMA, "displayName", Sent::Always),
    (GROUP_SCHEMA, "members.value", Sent::WhenSet),
];

/// Attributes compared on every run: if the server does not return them, they look
/// changed every time.
const COMPARED: &[&str] = &[
    "userName",
    "active",
    "displayName",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "emails.value",
    "sunkSshKeys",
    "members.value",
];

fn short(urn: &str) -> &str {
    match urn {
        USER_SCHEMA => "User",
        GROUP_SCHEMA => "Group",
        COREWEAVE_USER_SCHEMA => "CoreWeaveUser",
        other => other,
    }
}

/// Reads both documents and judges them.
pub(super) async fn probe(client: &ScimClient, base: &str) -> Probe {
    let asked = format!("GET {base}/Schemas; GET {base}/ResourceTypes");
    let (schemas, types) = tokio::join!(client.schemas(), client.resource_types());
    let schemas = match schemas {
        Ok(schemas) => schemas,
        Err(error) => {
            return Probe::new(
                "schemas",
                asked,
                format!("/Schemas: {}", chain(&error)),
                Verdict::Degraded,
                "the server does not describe its attributes; the sync assumes RFC 7643 (userName and emails compared case-insensitively) and still sends sunkSshKeys; confirm with CoreWeave that the CoreWeave user extension is enabled",
            );
        }
    };
    let types = types.map_err(|e| chain(&e));
    let mut probe = judge(&schemas, types.as_deref().map_err(String::as_str));
    probe.asked = asked;
    probe
}

/// The verdict on what the server's documents say.
fn judge(schemas: &[SchemaDefinition], types: Result<&[ResourceTypeDefinition], &str>) -> Probe {
    let find = |urn: &str| schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn));
    let mut verdict = Verdict::Fine;
    let mut answered = Vec::new();
    let mut consequence = Vec::new();
    let mut details = Vec::new();

    extension(
        schemas,
        types,
        &mut verdict,
        &mut answered,
        &mut consequence,
    );
    attributes(schemas, &mut verdict, &mut details);
    for urn in [USER_SCHEMA, GROUP_SCHEMA, COREWEAVE_USER_SCHEMA] {
        let Some(schema) = find(urn) else { continue };
        for attribute in schema.attributes.iter().filter(|a| a.required) {
            if required_is_sent(urn, attribute) {
                continue;
            }
            verdict = Verdict::Blocking;
            details.push(format!(
                "{}.{}: required by the server, but the sync may omit it: BLOCKING",
                short(urn),
                attribute.name
            ));
        }
    }
    if verdict == Verdict::Blocking {
        consequence
            .push("writes would be refused: report the schema to CoreWeave before the first sync");
    }
    if consequence.is_empty() {
        consequence.push("every attribute the sync writes is known and writable; values compare by the server's caseExact");
    }
    Probe::new(
        "schemas",
        String::new(),
        answered.join("; "),
        verdict,
        consequence.join("; "),
    )
    .with_details(details)
}

/// Whether the CoreWeave extension is described and attached to the User type.
fn extension(
    schemas: &[SchemaDefinition],
    types: Result<&[ResourceTypeDefinition], &str>,
    verdict: &mut Verdict,
    answered: &mut Vec<String>,
    consequence: &mut Vec<&str>,
) {
    let find = |urn: &str| schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn));
    let ids: Vec<&str> = schemas.iter().map(|s| short(s.id.as_str())).collect();
    answered.push(format!("schemas: {}", ids.join(", ")));
    let extension = find(COREWEAVE_USER_SCHEMA);
    let keys = extension.and_then(|e| e.attribute("sunkSshKeys"));
    let in_user_type = match types {
        Ok(types) => {
            let user = types
                .iter()
                .find(|t| t.schema.eq_ignore_ascii_case(USER_SCHEMA));
            let listed = user.is_some_and(|t| {
                t.schema_extensions
                    .iter()
                    .any(|e| e.schema.eq_ignore_ascii_case(COREWEAVE_USER_SCHEMA))
            });
            answered.push(format!(
                "ResourceType User: {}",
                if listed {
                    "carries the CoreWeave extension"
                } else {
                    "without the CoreWeave extension"
                }
            ));
            Some(listed)
        }
        Err(error) => {
            answered.push(format!("/ResourceTypes: {error}"));
            None
        }
    };
    match (extension, keys) {
        (Some(_), Some(_)) if in_user_type != Some(false) => {
            answered.push("the CoreWeave extension has sunkSshKeys".to_owned());
        }
        (Some(_), None) => {
            answered.push("the CoreWeave extension has no sunkSshKeys".to_owned());
            *verdict = (*verdict).max(Verdict::Degraded);
            consequence.push("SSH keys are still sent in sunkSshKeys, but the server does not describe it: check with CoreWeave that SUNK user provisioning is enabled, or keys will not reach the clusters");
        }
        _ => {
            answered.push(
                "the CoreWeave user extension is not described (in /Schemas and on the User resource type)"
                    .to_owned(),
            );
            *verdict = (*verdict).max(Verdict::Degraded);
            consequence.push("SSH keys are still sent in the CoreWeave extension; if the server ignores it, keys never reach the clusters: enable \"Enable SUNK User Provisioning\" in the Console's SCIM Configuration, or ask CoreWeave");
        }
    }
}

/// The characteristics of every attribute the sync writes.
fn attributes(schemas: &[SchemaDefinition], verdict: &mut Verdict, details: &mut Vec<String>) {
    let find = |urn: &str| schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn));
    for (urn, path, sent) in WRITTEN {
        let Some(schema) = find(urn) else {
            if *urn != COREWEAVE_USER_SCHEMA {
                details.push(format!("{}.{path}: schema not described", short(urn)));
            }
            continue;
        };
        let Some(attribute) = schema.attribute(path) else {
            if *sent == Sent::Always {
                *verdict = Verdict::Blocking;
                details.push(format!(
                    "{}.{path}: unknown to the server, and sent in every write: BLOCKING",
                    short(urn)
                ));
            } else {
                details.push(format!(
                    "{}.{path}: unknown to the server (sent when set)",
                    short(urn)
                ));
            }
            continue;
        };
        let mut notes = Vec::new();
        if attribute.mutability.eq_ignore_ascii_case("readOnly") {
            *verdict = Verdict::Blocking;
            notes.push("read-only, but the sync writes it: BLOCKING");
        } else if attribute.mutability.eq_ignore_ascii_case("immutable")
            && !path.starts_with("emails.")
            && !path.starts_with("members.")
        {
            // A member's or an email's `value` is immutable in RFC 7643 itself; the sync
            // replaces whole lists, which that does not forbid.
            *verdict = (*verdict).max(Verdict::Degraded);
            notes.push("immutable: a change after creation will be refused");
        }
        if COMPARED.contains(path)
            && (attribute.returned.eq_ignore_ascii_case("never")
                || attribute.returned.eq_ignore_ascii_case("request"))
        {
            *verdict = (*verdict).max(Verdict::Degraded);
            notes.push("not returned in listings: the sync sees it missing and sends it again on every run");
        }
        details.push(format!(
            "{}.{path}: required {}, mutability {}, returned {}, caseExact {}{}{}",
            short(urn),
            attribute.required,
            attribute.mutability,
            attribute.returned,
            attribute.case_exact,
            if notes.is_empty() { "" } else { "; " },
            notes.join("; ")
        ));
    }
}

/// Whether a required attribute is one the sync always sends.
fn required_is_sent(urn: &str, attribute: &AttributeDefinition) -> bool {
    WRITTEN.iter().any(|(u, path, sent)| {
        *u == urn
            && *sent == Sent::Always
            && path
                .split('.')
                .next()
                .is_some_and(|top| top.eq_ignore_ascii_case(&attribute.name))
    }) || attribute.name.eq_ignore_ascii_case("id")
        || attribute.name.eq_ignore_ascii_case("externalId")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(value: serde_json::Value) -> SchemaDefinition {
        serde_json::from_value(value).unwrap()
    }

    fn rfc() -> Vec<SchemaDefinition> {
        vec![
            schema(json!({"id": USER_SCHEMA, "attributes": [
                {"name": "userName", "required": true, "caseExact": false},
                {"name": "active"}, {"name": "displayName"},
                {"name": "name", "subAttributes": [{"name": "givenName"}, {"name": "familyName"}, {"name": "formatted"}]},
                {"name": "emails", "subAttributes": [{"name": "value"}]}
            ]})),
            schema(json!({"id": GROUP_SCHEMA, "attributes": [
                {"name": "displayName", "required": true},
                {"name": "members", "subAttributes": [{"name": "value"}]}
            ]})),
            schema(json!({"id": COREWEAVE_USER_SCHEMA, "attributes": [
                {"name": "sunkSshKeys", "multiValued": true, "caseExact": true}
            ]})),
        ]
    }

    fn types(with_extension: bool) -> Vec<ResourceTypeDefinition> {
        serde_json::from_value(json!([
            {"name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
             "schemaExtensions": if with_extension { json!([{"schema": COREWEAVE_USER_SCHEMA}]) } else { json!([]) }},
            {"name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA}
        ]))
        .unwrap()
    }

    #[test]
    fn the_rfc_schemas_with_the_extension_are_fine() {
        let probe = judge(&rfc(), Ok(&types(true)));
        assert_eq!(probe.verdict, Verdict::Fine, "{probe:#?}");
        assert!(probe.details.contains(&"User.userName: required true, mutability readWrite, returned default, caseExact false".to_owned()));
        assert!(probe.details.contains(&"CoreWeaveUser.sunkSshKeys: required false, mutability readWrite, returned default, caseExact true".to_owned()));
    }

    #[test]
    fn a_missing_extension_is_degraded() {
        let without: Vec<_> = rfc()
            .into_iter()
            .filter(|s| s.id != COREWEAVE_USER_SCHEMA)
            .collect();
        let probe = judge(&without, Ok(&types(false)));
        assert_eq!(probe.verdict, Verdict::Degraded);
        assert!(
            probe.answered.contains("without the CoreWeave extension"),
            "{}",
            probe.answered
        );
        assert!(probe.answered.contains("not described"));
        // Listed in /Schemas but not attached to the User type: still degraded.
        let probe = judge(&rfc(), Ok(&types(false)));
        assert_eq!(probe.verdict, Verdict::Degraded);
    }

    #[test]
    fn blocking_findings() {
        let mut schemas = rfc();
        schemas[0].attributes.retain(|a| a.name != "active");
        let probe = judge(&schemas, Ok(&types(true)));
        assert_eq!(probe.verdict, Verdict::Blocking);
        assert!(probe.details.contains(
            &"User.active: unknown to the server, and sent in every write: BLOCKING".to_owned()
        ));

        let mut schemas = rfc();
        schemas[0].attributes.push(
            schema(json!({"id": "x", "attributes": [{"name": "title", "required": true}]}))
                .attributes
                .remove(0),
        );
        let probe = judge(&schemas, Ok(&types(true)));
        assert_eq!(probe.verdict, Verdict::Blocking);
        assert!(
            probe
                .details
                .iter()
                .any(|d| d
                    == "User.title: required by the server, but the sync may omit it: BLOCKING")
        );

        let mut schemas = rfc();
        schemas[0].attributes[1].mutability = "readOnly".to_owned();
        assert_eq!(judge(&schemas, Ok(&types(true))).verdict, Verdict::Blocking);
    }

    #[test]
    fn attributes_not_returned_are_degraded() {
        let mut schemas = rfc();
        schemas[0].attributes[2].returned = "never".to_owned();
        let probe = judge(&schemas, Err("404"));
        assert_eq!(probe.verdict, Verdict::Degraded);
        assert!(probe.details.iter().any(
            |d| d.starts_with("User.displayName:") && d.contains("sends it again on every run")
        ));
    }
}
