//! Schema and resource type definitions (RFC 7643 §6, §7): what the server says its
//! resources hold.
//!
//! Read tolerantly: absent characteristics take the RFC 7643 §2.2 defaults
//! (`required: false`, `caseExact: false`, `mutability: readWrite`,
//! `returned: default`), names match in any case, and unknown keys are ignored.

use serde::{Deserialize, Serialize};

use super::de;

/// One schema from `GET /Schemas`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SchemaDefinition {
    /// The schema URN.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub id: String,
    /// Its human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its top-level attributes.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub attributes: Vec<AttributeDefinition>,
}

impl SchemaDefinition {
    /// The attribute at `path` (`userName`, `name.formatted`, `emails.value`), names
    /// compared case-insensitively (RFC 7643 §2.1).
    pub fn attribute(&self, path: &str) -> Option<&AttributeDefinition> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut found = self
            .attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(first))?;
        for part in parts {
            found = found
                .sub_attributes
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(part))?;
        }
        Some(found)
    }
}

/// One attribute definition and its characteristics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AttributeDefinition {
    /// The attribute name.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub name: String,
    /// `string`, `boolean`, `complex`, `reference`…
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether it holds a list of values.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub multi_valued: bool,
    /// Whether the server requires it.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub required: bool,
    /// Whether string values compare case-sensitively.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub case_exact: bool,
    /// `readOnly`, `readWrite`, `immutable` or `writeOnly`.
    #[serde(default = "read_write", deserialize_with = "or_read_write")]
    pub mutability: String,
    /// `always`, `never`, `default` or `request`.
    #[serde(default = "default_returned", deserialize_with = "or_default_returned")]
    pub returned: String,
    /// Sub-attributes of a complex attribute.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub sub_attributes: Vec<AttributeDefinition>,
}

fn read_write() -> String {
    "readWrite".to_owned()
}

fn default_returned() -> String {
    "default".to_owned()
}

fn or_read_write<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_else(read_write))
}

fn or_default_returned<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_else(default_returned))
}

/// One resource type from `GET /ResourceTypes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceTypeDefinition {
    /// `User`, `Group`…
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub name: String,
    /// The endpoint, e.g. `/Users`.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub endpoint: String,
    /// The core schema URN.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub schema: String,
    /// The extension schemas it carries.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub schema_extensions: Vec<SchemaExtension>,
}

/// A schema extension of a resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaExtension {
    /// The extension's schema URN.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub schema: String,
    /// Whether every resource must carry it.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_definitions_with_rfc_defaults() {
        let schema: SchemaDefinition = serde_json::from_value(json!({
            "id": "urn:ietf:params:scim:schemas:core:2.0:User",
            "attributes": [
                {"name": "userName", "type": "string", "required": true, "caseExact": false,
                 "mutability": "readWrite", "returned": "default", "uniqueness": "server"},
                {"name": "name", "type": "complex", "subAttributes": [
                    {"name": "formatted", "type": "string"}
                ]},
                {"name": "password", "mutability": "writeOnly", "returned": "never", "required": "False"}
            ]
        }))
        .unwrap();
        let user_name = schema.attribute("USERNAME").unwrap();
        assert!(user_name.required && !user_name.case_exact);
        let formatted = schema.attribute("name.formatted").unwrap();
        assert_eq!(
            (
                formatted.mutability.as_str(),
                formatted.returned.as_str(),
                formatted.required
            ),
            ("readWrite", "default", false)
        );
        assert_eq!(schema.attribute("password").unwrap().returned, "never");
        assert!(schema.attribute("name.nope").is_none());
        assert!(schema.attribute("emails").is_none());

        let types: ResourceTypeDefinition = serde_json::from_value(json!({
            "name": "User", "endpoint": "/Users", "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
            "schemaExtensions": [{"schema": "urn:x", "required": "true"}]
        }))
        .unwrap();
        assert_eq!(types.schema_extensions[0].schema, "urn:x");
        assert!(types.schema_extensions[0].required);
    }
}
