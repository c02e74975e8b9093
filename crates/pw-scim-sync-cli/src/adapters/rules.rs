//! The target's comparison rules ([`ServerRules`]) from its `/Schemas`.

use reconcile_core::{NotKept, ServerRules};
use scim_client::model::USER_SCHEMA;
use scim_client::model::schema::{AttributeDefinition, SchemaDefinition};
use scim_client::{ScimClient, ScimError};

/// Reads `/Schemas` and derives the rules; the RFC 7643 defaults when the
/// server does not describe its User schema.
pub async fn read(client: &ScimClient) -> Result<ServerRules, ScimError> {
    Ok(from_schemas(&client.schemas().await?))
}

/// The rules a set of schema definitions implies. Without a User schema, the
/// RFC 7643 defaults.
pub fn from_schemas(schemas: &[SchemaDefinition]) -> ServerRules {
    // Absence means "not kept" only in a schema that visibly describes the core
    // attributes; a sparse one says nothing.
    let Some(user) = schemas
        .iter()
        .find(|s| s.id == USER_SCHEMA && s.attribute("userName").is_some())
    else {
        return ServerRules::default();
    };
    let kept = |path: &str| user.attribute(path).is_some_and(is_returned);
    ServerRules {
        user_name_case_exact: user.attribute("userName").is_some_and(|a| a.case_exact),
        email_case_exact: user.attribute("emails.value").is_some_and(|a| a.case_exact),
        not_kept: NotKept {
            given_name: !kept("name.givenName"),
            family_name: !kept("name.familyName"),
            formatted_name: !kept("name.formatted"),
            display_name: !kept("displayName"),
            emails: !kept("emails"),
        },
    }
}

fn is_returned(attribute: &AttributeDefinition) -> bool {
    !attribute.returned.eq_ignore_ascii_case("never")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_schema(attributes: &serde_json::Value) -> Vec<SchemaDefinition> {
        vec![
            serde_json::from_value(serde_json::json!({
                "id": USER_SCHEMA,
                "attributes": attributes,
            }))
            .expect("a schema definition"),
        ]
    }

    #[test]
    fn rfc_defaults_without_a_user_schema_that_describes_user_name() {
        assert_eq!(from_schemas(&[]), ServerRules::default());
        assert_eq!(
            from_schemas(&user_schema(&serde_json::json!([]))),
            ServerRules::default()
        );
    }

    #[test]
    fn case_exactness_and_missing_attributes_come_from_the_schema() {
        let schemas = user_schema(&serde_json::json!([
            {"name": "userName", "type": "string", "caseExact": true},
            {"name": "name", "type": "complex", "subAttributes": [
                {"name": "givenName", "type": "string"},
                {"name": "familyName", "type": "string"},
                {"name": "formatted", "type": "string", "returned": "never"}
            ]},
            {"name": "emails", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "value", "type": "string"}
            ]}
        ]));
        let rules = from_schemas(&schemas);
        assert!(rules.user_name_case_exact);
        assert!(!rules.email_case_exact);
        assert_eq!(
            rules.not_kept.paths(),
            vec!["name.formatted", "displayName"]
        );
    }
}
