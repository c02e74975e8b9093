//! The list response envelope (RFC 7644 §3.4.2).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::LIST_RESPONSE_SCHEMA;
use super::de::LenientU64;

/// One page of a query result.
///
/// Reading is tolerant: the envelope's keys match in any case (`Resources`,
/// `resources`, `TotalResults`…, RFC 7643 §2.1), a missing or `null` `Resources` is an
/// empty page, and the numbers may come as strings. Whether a page is trustworthy is
/// the pager's business, not this type's.
///
/// ```
/// use scim_client::{Group, ListResponse};
///
/// let page: ListResponse<Group> = serde_json::from_str(r#"{"TotalResults": "0"}"#).unwrap();
/// assert_eq!(page.total_results, Some(0));
/// assert!(page.resources.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListResponse<T> {
    /// The number of results the query matched in total, across all pages.
    pub total_results: Option<u64>,
    /// The 1-based index of the first result of this page.
    pub start_index: Option<u64>,
    /// The number of results on this page, as the server states it.
    pub items_per_page: Option<u64>,
    /// The results on this page.
    pub resources: Vec<T>,
    /// The cursor of the next page (RFC 9865), absent on the last page of a cursor
    /// listing and on index paging. An empty string reads as absent.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// A page holding `resources`, with the other fields unset.
    pub fn new(resources: Vec<T>) -> Self {
        Self {
            total_results: None,
            start_index: None,
            items_per_page: None,
            resources,
            next_cursor: None,
        }
    }
}

impl<T: Serialize> Serialize for ListResponse<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ListResponse", 6)?;
        s.serialize_field("schemas", &[LIST_RESPONSE_SCHEMA])?;
        if let Some(total) = self.total_results {
            s.serialize_field("totalResults", &total)?;
        }
        if let Some(start) = self.start_index {
            s.serialize_field("startIndex", &start)?;
        }
        if let Some(per_page) = self.items_per_page {
            s.serialize_field("itemsPerPage", &per_page)?;
        }
        s.serialize_field("Resources", &self.resources)?;
        if let Some(cursor) = &self.next_cursor {
            s.serialize_field("nextCursor", cursor)?;
        }
        s.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListResponse<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = ListResponse<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SCIM ListResponse object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut page = ListResponse::new(Vec::new());
        while let Some(key) = map.next_key::<String>()? {
            match key.to_ascii_lowercase().as_str() {
                "totalresults" => page.total_results = map.next_value::<LenientU64>()?.0,
                "startindex" => page.start_index = map.next_value::<LenientU64>()?.0,
                "itemsperpage" => page.items_per_page = map.next_value::<LenientU64>()?.0,
                "resources" => {
                    page.resources = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
                }
                "nextcursor" => {
                    page.next_cursor = map
                        .next_value::<Option<String>>()?
                        .filter(|cursor| !cursor.is_empty());
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
    struct Item {
        id: String,
    }

    fn read(v: serde_json::Value) -> ListResponse<Item> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn standard_envelope() {
        let page = read(json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": 3, "startIndex": 1, "itemsPerPage": 2,
            "Resources": [{"id": "a"}, {"id": "b"}]
        }));
        assert_eq!(
            (page.total_results, page.start_index, page.items_per_page),
            (Some(3), Some(1), Some(2))
        );
        assert_eq!(
            page.resources,
            [Item { id: "a".into() }, Item { id: "b".into() }]
        );
    }

    #[test]
    fn keys_in_any_case_and_missing_resources() {
        let page = read(json!({"TOTALRESULTS": "2", "startindex": 1, "resources": [{"id": "a"}]}));
        assert_eq!((page.total_results, page.start_index), (Some(2), Some(1)));
        assert_eq!(page.resources.len(), 1);
        let page = read(json!({"totalResults": 0}));
        assert!(page.resources.is_empty());
        assert_eq!(page.next_cursor, None);
        let page = read(json!({"totalResults": 0, "Resources": null}));
        assert!(page.resources.is_empty());
    }

    #[test]
    fn next_cursor_is_read_and_an_empty_one_is_absent() {
        let page = read(json!({"Resources": [{"id": "a"}], "nextCursor": "c-2"}));
        assert_eq!(page.next_cursor.as_deref(), Some("c-2"));
        let page = read(json!({"Resources": [], "NEXTCURSOR": ""}));
        assert_eq!(page.next_cursor, None);
        let page = read(json!({"Resources": [], "nextCursor": null}));
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn serializes_the_standard_envelope() {
        let mut page = ListResponse::new(vec![Item { id: "a".into() }]);
        page.total_results = Some(1);
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 1, "Resources": [{"id": "a"}]})
        );
    }
}
