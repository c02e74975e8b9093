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

/// The service provider configuration; `maxResults` is the page cap, and cursor
/// paging (RFC 9865 `pagination`) is advertised when `cursor_paging`.
pub(crate) fn service_provider_config(
    base_url: &str,
    page_cap: usize,
    cursor_paging: bool,
) -> Value {
    let mut config = json!({
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
    });
    if cursor_paging {
        config["pagination"] = json!({
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": page_cap,
            "maxPageSize": page_cap,
            "cursorTimeout": 3600
        });
    }
    config
}

/// Every schema the emulator implements (the CoreWeave extension only when
/// `with_extension`).
pub(crate) fn schemas(with_extension: bool) -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(SCHEMAS_JSON).unwrap_or_default();
    all.into_iter()
        .filter(|s| {
            let id = s.get("id").and_then(Value::as_str);
            id != Some(ENTERPRISE) && (with_extension || id != Some(CW_USER_EXT))
        })
        .collect()
}

/// The `User` and `Group` resource types (`User` with the CoreWeave extension when
/// `with_extension`).
pub(crate) fn resource_types(with_extension: bool) -> Vec<Value> {
    let mut all: Vec<Value> = serde_json::from_str(RESOURCE_TYPES_JSON).unwrap_or_default();
    for resource_type in &mut all {
        if let Some(Value::Array(extensions)) = resource_type.get_mut("schemaExtensions") {
            extensions.retain(|e| {
                with_extension && e.get("schema").and_then(Value::as_str) == Some(CW_USER_EXT)
            });
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
        let ids: Vec<_> = schemas(true)
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
        let types = resource_types(true);
        assert_eq!(types.len(), 2);
        assert_eq!(
            types[0]["schemaExtensions"],
            json!([{"schema": CW_USER_EXT, "required": false}])
        );
        assert_eq!(schemas(false).len(), 2);
        assert!(
            resource_types(false)
                .iter()
                .all(|t| t["schemaExtensions"].as_array().is_none_or(Vec::is_empty))
        );
    }
}
