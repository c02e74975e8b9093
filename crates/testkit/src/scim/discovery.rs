//! `ServiceProviderConfig`, `ResourceTypes` and `Schemas` (RFC 7643 §5–7).
//!
//! The schemas are the ones the conformance peer is started with
//! (`peer/coreweave-schemas.json`), minus the enterprise extension, which this
//! emulator does not implement.

use serde_json::{Value, json};

use super::schema::{CW_USER_EXT, LIST_RESPONSE};

const SCHEMAS_JSON: &str = include_str!("../../peer/coreweave-schemas.json");
const RESOURCE_TYPES_JSON: &str = include_str!("../../peer/coreweave-resource-types.json");
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The service provider configuration; `maxResults` is the page cap.
pub(crate) fn service_provider_config(base_url: &str, page_cap: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": page_cap},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

/// Every schema the emulator implements.
pub(crate) fn schemas() -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(SCHEMAS_JSON).unwrap_or_default();
    all.into_iter()
        .filter(|s| s.get("id").and_then(Value::as_str) != Some(ENTERPRISE))
        .collect()
}

/// The `User` and `Group` resource types (`User` with the CoreWeave extension).
pub(crate) fn resource_types() -> Vec<Value> {
    let mut all: Vec<Value> = serde_json::from_str(RESOURCE_TYPES_JSON).unwrap_or_default();
    for resource_type in &mut all {
        if let Some(Value::Array(extensions)) = resource_type.get_mut("schemaExtensions") {
            extensions.retain(|e| e.get("schema").and_then(Value::as_str) == Some(CW_USER_EXT));
        }
    }
    all
}

/// A `ListResponse` holding every item (these lists are never paged).
pub(crate) fn list(items: &[Value]) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_discovery_documents_parse() {
        let ids: Vec<_> = schemas()
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            ids,
            [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                CW_USER_EXT
            ]
        );
        let types = resource_types();
        assert_eq!(types.len(), 2);
        assert_eq!(
            types[0]["schemaExtensions"],
            json!([{"schema": CW_USER_EXT, "required": false}])
        );
    }
}
