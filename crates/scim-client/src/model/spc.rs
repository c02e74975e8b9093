//! The service provider configuration (RFC 7643 §5): what the server says it supports.
//!
//! Discovery is a hint. Every part reads as "not supported" when absent.

use serde::{Deserialize, Serialize};

use super::de;

/// `GET {base}/ServiceProviderConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceProviderConfig {
    /// PATCH support.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub patch: Supported,
    /// Bulk support and its limits.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub bulk: BulkConfig,
    /// Filter support and the page cap.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub filter: FilterConfig,
    /// Password change support.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub change_password: Supported,
    /// Sorting support.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub sort: Supported,
    /// `ETag` support.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub etag: Supported,
    /// Paging methods (RFC 9865); absent on servers that predate it.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub pagination: PaginationConfig,
}

/// The paging methods a server offers (RFC 9865 §4); all unset when not advertised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaginationConfig {
    /// Cursor paging (`cursor` query parameter, `nextCursor` in answers).
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub cursor: bool,
    /// Index paging (`startIndex`).
    #[serde(
        default,
        deserialize_with = "lenient_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub index: Option<bool>,
    /// `cursor` or `index`: what a request naming neither gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pagination_method: Option<String>,
    /// The page size when `count` is not given.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_page_size: Option<u64>,
    /// The largest page.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_page_size: Option<u64>,
}

fn lenient_opt_bool<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    de::lenient_bool(deserializer)
}

/// A feature flag: `{"supported": true}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Supported {
    /// Whether the feature is supported.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub supported: bool,
}

/// The bulk feature and its limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkConfig {
    /// Whether bulk requests are supported.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub supported: bool,
    /// The most operations in one bulk request.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_operations: Option<u64>,
    /// The largest bulk payload, in bytes.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_payload_size: Option<u64>,
}

/// Filtering and its page cap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FilterConfig {
    /// Whether filters are supported.
    #[serde(default, deserialize_with = "de::lenient_flag")]
    pub supported: bool,
    /// The most results the server returns for one query page.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_results: Option<u64>,
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    de::LenientU64::deserialize(deserializer).map(|n| n.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_peer_config_and_tolerates_gaps() {
        let spc: ServiceProviderConfig = serde_json::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": "True", "maxResults": 2},
            "sort": null,
            "authenticationSchemes": [{"type": "oauthbearertoken"}]
        }))
        .unwrap();
        assert!(spc.patch.supported);
        assert!(spc.filter.supported);
        assert_eq!(spc.filter.max_results, Some(2));
        assert_eq!(spc.bulk.max_operations, Some(0));
        assert!(!spc.sort.supported);
        assert!(!spc.etag.supported);
        assert_eq!(spc.pagination, PaginationConfig::default());
        let with_cursors: ServiceProviderConfig = serde_json::from_value(json!({
            "pagination": {"cursor": true, "index": true, "defaultPaginationMethod": "index",
                           "defaultPageSize": 50, "maxPageSize": "200", "cursorTimeout": 3600}
        }))
        .unwrap();
        assert!(with_cursors.pagination.cursor);
        assert_eq!(with_cursors.pagination.index, Some(true));
        assert_eq!(with_cursors.pagination.max_page_size, Some(200));
        assert_eq!(
            serde_json::from_value::<ServiceProviderConfig>(json!({})).unwrap(),
            ServiceProviderConfig::default()
        );
    }
}
