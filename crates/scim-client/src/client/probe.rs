//! Reading one list page as the server sent it, for diagnostics: the envelope's
//! numbers, an RFC 9865 `nextCursor`, the records as raw JSON, and any rate-limit
//! headers. Read-only; the defensive pager is not involved, so nothing here decides
//! whether a listing is complete.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::ScimClient;
use super::transport::Call;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::model::ListResponse;
use crate::observe::{Endpoint, Method};

/// Where a probed page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// Index paging: the 1-based `startIndex`.
    Index(u64),
    /// Cursor paging (RFC 9865): the cursor of the page; empty for the first page.
    Cursor(String),
}

/// One list page, as the server answered it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PageProbe {
    /// The query sent (percent-encoded), for reports.
    pub query: String,
    /// `totalResults`.
    pub total_results: Option<u64>,
    /// `startIndex`.
    pub start_index: Option<u64>,
    /// `itemsPerPage`, as stated.
    pub items_per_page: Option<u64>,
    /// `nextCursor` (RFC 9865), when given.
    pub next_cursor: Option<String>,
    /// The records on the page.
    pub resources: Vec<Value>,
    /// Rate-limit headers of the answer (`RateLimit-*`, `X-RateLimit-*`,
    /// `Retry-After`), lowercased names.
    pub limit_headers: Vec<(String, String)>,
}

impl ScimClient {
    /// `GET /Users` or `GET /Groups` (by `endpoint`) for one page: `filter`, where
    /// the page starts, and `count` (the server chooses when `None`).
    pub async fn probe_page(
        &self,
        endpoint: Endpoint,
        filter: Option<&Filter>,
        start: &PageStart,
        count: Option<u32>,
    ) -> Result<PageProbe, ScimError> {
        let mut query = Vec::new();
        if let Some(filter) = filter {
            query.push(format!("filter={}", filter.to_query_value()));
        }
        match start {
            PageStart::Index(index) => query.push(format!("startIndex={index}")),
            PageStart::Cursor(cursor) => query.push(format!(
                "cursor={}",
                utf8_percent_encode(cursor, NON_ALPHANUMERIC)
            )),
        }
        if let Some(count) = count {
            query.push(format!("count={count}"));
        }
        let query = query.join("&");
        let call = Call {
            method: Method::Get,
            endpoint,
            path: format!("/{}", endpoint.as_str()),
            query: Some(query.clone()),
            body: None,
        };
        let reply = self.call(&call).await?;
        let body: Value = Self::decode(&call, &reply, "ListResponse")?;
        let next_cursor = body.as_object().and_then(|object| {
            object
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("nextCursor"))
                .and_then(|(_, value)| value.as_str())
                .filter(|cursor| !cursor.is_empty())
                .map(str::to_owned)
        });
        let page: ListResponse<Value> =
            serde_json::from_value(body).map_err(|source| ScimError::Decode {
                method: call.method,
                path: call.path.clone(),
                status: reply.status,
                what: "ListResponse",
                location: "the top level".to_owned(),
                excerpt: String::new(),
                source: Box::new(source),
            })?;
        Ok(PageProbe {
            query,
            total_results: page.total_results,
            start_index: page.start_index,
            items_per_page: page.items_per_page,
            next_cursor,
            resources: page.resources,
            limit_headers: reply.limit_headers,
        })
    }
}
