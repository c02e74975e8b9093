//! Reading a listing page by page: which paging the server gets, and how many pages
//! are in flight.
//!
//! Where the server advertises cursor paging (RFC 9865, `ServiceProviderConfig`
//! `pagination.cursor`), listings follow `nextCursor`, one page after another.
//! Otherwise they page by `startIndex`: once the first page has told the announced
//! `totalResults` and the page size the server really returns, the pages expected
//! next (see [`Pager::plan`]) are fetched ahead, up to the limiter's concurrency at a
//! time, and taken in order. Every page goes through the same defensive [`Pager`]
//! as a sequential listing would; a page that departs from the plan (shorter than
//! the first, another `startIndex`) cancels the pages fetched ahead and the listing
//! goes on one page after another.
//!
//! The paging method is learnt from the `ServiceProviderConfig` when the caller asks
//! for it ([`ScimClient::learn_paging`]: one request); until then, and when that read
//! fails, listings page by `startIndex`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::stream::FuturesOrdered;
use futures::{Stream, StreamExt};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::transport::Call;
use super::{Resource, ScimClient};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::model::{ListResponse, ServiceProviderConfig};
use crate::observe::{Endpoint, Method};
use crate::paging::{CursorPager, CursorRequest, PageRequest, Pager, Plan};

/// How a client pages listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Paging {
    /// `startIndex` and `count` (RFC 7644 §3.4.2.4), pages after the first fetched
    /// concurrently.
    Index,
    /// `cursor` and `nextCursor` (RFC 9865), one page after another.
    Cursor,
}

impl Paging {
    /// Cursors where the configuration advertises them, `startIndex` otherwise.
    fn of(config: &ServiceProviderConfig) -> Self {
        if config.pagination.cursor {
            Self::Cursor
        } else {
            Self::Index
        }
    }
}

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<ListResponse<T>, ScimError>> + Send>>;

/// An index listing with the pages fetched ahead of the one being read.
struct IndexListing<T> {
    client: ScimClient,
    query: Option<Arc<str>>,
    pager: Pager,
    /// The most pages in flight at once.
    window: usize,
    /// The pages expected next, not yet requested; `None` before the first page
    /// and once the server departed from it.
    plan: Option<Plan>,
    /// Whether a plan may still be made (only after the first page).
    first: bool,
    ahead: FuturesOrdered<PageFuture<T>>,
    ahead_requests: VecDeque<PageRequest>,
}

struct CursorListing {
    client: ScimClient,
    query: Option<Arc<str>>,
    pager: CursorPager,
}

enum Listing<T> {
    Index(Box<IndexListing<T>>),
    Cursor(Box<CursorListing>),
}

impl ScimClient {
    /// How listings page: by cursor once [`learn_paging`](Self::learn_paging) found
    /// the server advertising it, by `startIndex` otherwise.
    pub fn paging(&self) -> Paging {
        if self.inner.cursor_paging.load(Ordering::Relaxed) {
            Paging::Cursor
        } else {
            Paging::Index
        }
    }

    /// Reads `GET /ServiceProviderConfig` and pages by cursor from now on if the
    /// server advertises cursor paging (RFC 9865 `pagination.cursor`); nothing else
    /// changes. One request; on error the client keeps paging by `startIndex` and
    /// stays fully usable.
    pub async fn learn_paging(&self) -> Result<Paging, ScimError> {
        let config = self.service_provider_config().await?;
        Ok(self.adopt_paging(&config))
    }

    /// Pages as `config` advertises (what [`learn_paging`](Self::learn_paging)
    /// does with the document it reads), for a caller that already holds it, such as
    /// one that called [`discover`](Self::discover).
    pub fn adopt_paging(&self, config: &ServiceProviderConfig) -> Paging {
        let paging = Paging::of(config);
        self.inner
            .cursor_paging
            .store(paging == Paging::Cursor, Ordering::Relaxed);
        paging
    }

    /// `GET /ServiceProviderConfig`, decoded.
    pub(crate) async fn service_provider_config(&self) -> Result<ServiceProviderConfig, ScimError> {
        let call = Call {
            method: Method::Get,
            endpoint: Endpoint::ServiceProviderConfig,
            path: "/ServiceProviderConfig".to_owned(),
            query: None,
            body: None,
        };
        let reply = self.call(&call).await?;
        Self::decode(&call, &reply, "ServiceProviderConfig")
    }

    /// The distinct records of a listing, one page at a time, in the server's order.
    /// The stream ends after its first error.
    pub(crate) fn list_pages<T: Resource>(
        &self,
        filter: Option<Filter>,
    ) -> impl Stream<Item = Result<Vec<T>, ScimError>> + Send + 'static {
        let client = self.clone();
        let filter = filter.map(|f| format!("filter={}", f.to_query_value()));
        let attributes = self
            .inner
            .user_attributes
            .as_deref()
            .filter(|_| T::ENDPOINT == Endpoint::Users);
        let query: Option<Arc<str>> = match (filter, attributes) {
            (Some(filter), Some(attributes)) => Some(Arc::from(format!("{filter}&{attributes}"))),
            (Some(filter), None) => Some(Arc::from(filter)),
            (None, Some(attributes)) => Some(Arc::from(attributes)),
            (None, None) => None,
        };
        let path = format!("/{}", T::ENDPOINT.as_str());
        let listing = match self.paging() {
            Paging::Index => Listing::Index(Box::new(IndexListing {
                pager: Pager::new(path, self.page_size(), self.max_pages()),
                window: self.page_window(),
                client,
                query,
                plan: None,
                first: true,
                ahead: FuturesOrdered::new(),
                ahead_requests: VecDeque::new(),
            })),
            Paging::Cursor => Listing::Cursor(Box::new(CursorListing {
                pager: CursorPager::new(path, self.page_size(), self.max_pages()),
                client,
                query,
            })),
        };
        futures::stream::try_unfold(listing, |mut listing| async move {
            let page = match &mut listing {
                Listing::Index(index) => index.next_page().await?,
                Listing::Cursor(cursor) => cursor.next_page().await?,
            };
            Ok(page.map(|page| (page, listing)))
        })
    }

    /// How many index pages one listing keeps in flight: the limiter's concurrency,
    /// or one without a limiter.
    fn page_window(&self) -> usize {
        self.inner
            .limiter
            .as_ref()
            .map_or(1, |limiter| limiter.config().max_concurrency.max(1))
    }

    async fn fetch_page<T: Resource>(
        &self,
        filter: Option<&str>,
        paging: String,
    ) -> Result<ListResponse<T>, ScimError> {
        let call = Call {
            method: Method::Get,
            endpoint: T::ENDPOINT,
            path: format!("/{}", T::ENDPOINT.as_str()),
            query: Some(match filter {
                Some(filter) => format!("{filter}&{paging}"),
                None => paging,
            }),
            body: None,
        };
        let reply = self.call(&call).await?;
        Self::decode(&call, &reply, T::LIST_WHAT)
    }
}

fn index_query(request: PageRequest) -> String {
    format!("startIndex={}&count={}", request.start_index, request.count)
}

fn cursor_query(request: &CursorRequest) -> String {
    format!(
        "cursor={}&count={}",
        utf8_percent_encode(&request.cursor, NON_ALPHANUMERIC),
        request.count
    )
}

impl<T: Resource> IndexListing<T> {
    /// The new records of the next page that has any, `None` at the end.
    async fn next_page(&mut self) -> Result<Option<Vec<T>>, ScimError> {
        loop {
            let Some(request) = self.pager.next_request()? else {
                return Ok(None);
            };
            let page = if self.ahead_requests.front() == Some(&request) {
                self.ahead_requests.pop_front();
                match self.ahead.next().await {
                    Some(page) => page?,
                    None => self.fetch(request).await?,
                }
            } else {
                if !self.ahead_requests.is_empty() {
                    tracing::debug!(
                        path = T::ENDPOINT.as_str(),
                        start_index = request.start_index,
                        "a page departed from what the first announced; reading the rest one page after another"
                    );
                    self.ahead = FuturesOrdered::new();
                    self.ahead_requests.clear();
                    self.plan = None;
                }
                self.fetch(request).await?
            };
            let fresh = self.pager.accept(request, page, |r: &T| r.id())?;
            if self.first {
                self.first = false;
                self.plan = Some(self.pager.plan());
            }
            self.fetch_ahead();
            if !fresh.is_empty() {
                return Ok(Some(fresh));
            }
        }
    }

    fn fetch(&self, request: PageRequest) -> PageFuture<T> {
        let client = self.client.clone();
        let query = self.query.clone();
        Box::pin(async move {
            client
                .fetch_page::<T>(query.as_deref(), index_query(request))
                .await
        })
    }

    /// Starts the planned pages until `window` are in flight.
    fn fetch_ahead(&mut self) {
        while self.ahead.len() < self.window {
            let Some(request) = self.plan.as_mut().and_then(Iterator::next) else {
                return;
            };
            self.ahead.push_back(self.fetch(request));
            self.ahead_requests.push_back(request);
        }
    }
}

impl CursorListing {
    async fn next_page<T: Resource>(&mut self) -> Result<Option<Vec<T>>, ScimError> {
        loop {
            let Some(request) = self.pager.next_request()? else {
                return Ok(None);
            };
            let page = self
                .client
                .fetch_page::<T>(self.query.as_deref(), cursor_query(&request))
                .await?;
            let fresh = self.pager.accept(page, |r: &T| r.id())?;
            if !fresh.is_empty() {
                return Ok(Some(fresh));
            }
        }
    }
}
