//! The async SCIM client.

mod builder;
mod discovery;
mod listing;
mod prefix;
mod probe;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use futures::{Stream, TryStreamExt};
use http_policy::limiter::{AdaptiveLimiter, LimiterSnapshot};
use http_policy::retry::RetryPolicy;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::HeaderValue;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use builder::ScimClientBuilder;
pub use listing::Paging;
pub use prefix::{ListingMode, PrefixListing};
pub use probe::{PageProbe, PageStart};

use crate::error::ScimError;
use crate::filter::Filter;
use crate::model::{Group, ListedGroup, NewGroup, NewUser, PatchOp, ServiceProviderConfig, User};
use crate::observe::{Endpoint, Method, RequestObserver};
use transport::Call;

/// The SCIM media type, sent as `Accept` and as the `Content-Type` of bodies.
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// Characters percent-encoded in a resource id used as a path segment: all but
/// RFC 3986 "unreserved" ones.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A SCIM 2.0 client for one service provider (one base URL and bearer token).
///
/// Cheap to clone; clones share the connection pool. Requests carry
/// `Authorization: Bearer …`, `Accept: application/scim+json` and, with a body,
/// `Content-Type: application/scim+json`. `GET` and `PATCH` are retried on transient
/// failures; a `POST` is retried only when the server cannot have processed it (see
/// [`ScimError::OutcomeUnknown`]). `Debug` never shows the token.
#[derive(Clone)]
pub struct ScimClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    auth: HeaderValue,
    token: SecretString,
    retry: RetryPolicy,
    page_size: AtomicU32,
    max_pages: u32,
    observer: Option<RequestObserver>,
    limiter: Option<Arc<AdaptiveLimiter>>,
    /// Whether listings page by cursor (RFC 9865).
    cursor_paging: AtomicBool,
    /// `attributes=…` for user listings, when set.
    user_attributes: Option<Arc<str>>,
}

impl fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("retry", &self.inner.retry)
            .field("page_size", &self.page_size())
            .field("max_pages", &self.inner.max_pages)
            .field("observer", &self.inner.observer.is_some())
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

/// What the listing and fetching code needs to know of a resource type.
pub(crate) trait Resource: DeserializeOwned + Send + 'static {
    const ENDPOINT: Endpoint;
    /// For decode errors: `User`.
    const WHAT: &'static str;
    /// For decode errors: `ListResponse<User>`.
    const LIST_WHAT: &'static str;
    fn id(&self) -> &str;
    fn external_id(&self) -> Option<&str>;
}

impl Resource for User {
    const ENDPOINT: Endpoint = Endpoint::Users;
    const WHAT: &'static str = "User";
    const LIST_WHAT: &'static str = "ListResponse<User>";
    fn id(&self) -> &str {
        &self.id
    }
    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

impl Resource for Group {
    const ENDPOINT: Endpoint = Endpoint::Groups;
    const WHAT: &'static str = "Group";
    const LIST_WHAT: &'static str = "ListResponse<Group>";
    fn id(&self) -> &str {
        &self.id
    }
    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

impl Resource for ListedGroup {
    const ENDPOINT: Endpoint = Endpoint::Groups;
    const WHAT: &'static str = "Group";
    const LIST_WHAT: &'static str = "ListResponse<Group>";
    fn id(&self) -> &str {
        &self.id
    }
    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

impl ScimClient {
    /// Starts configuring a client for `base_url` (e.g.
    /// `https://api.coreweave.com/scim/<org>`) with a bearer `token`.
    pub fn builder(base_url: Url, token: SecretString) -> ScimClientBuilder {
        ScimClientBuilder::new(base_url, token)
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// What the client's limiter allows now (`None` without a limiter).
    pub fn limits(&self) -> Option<LimiterSnapshot> {
        self.inner.limiter.as_ref().map(|l| l.current())
    }

    /// The `count` asked for per page.
    pub fn page_size(&self) -> u32 {
        self.inner.page_size.load(Ordering::Relaxed)
    }

    /// The most pages any listing may take before it fails with
    /// [`ScimError::PageCapExceeded`]; a listing whose server announces
    /// `totalResults` is held to far fewer (see [`ScimClientBuilder::max_pages`]).
    pub fn max_pages(&self) -> u32 {
        self.inner.max_pages
    }

    /// Reads `GET /ServiceProviderConfig`, lowers the page size to the server's
    /// `filter.maxResults` when that is smaller. It leaves the paging method as it
    /// is: [`learn_paging`](Self::learn_paging) takes that from the same document.
    ///
    /// Discovery is only a hint: on error the client keeps its settings and stays fully
    /// usable (paging copes with servers that cap pages silently). Log the error and go
    /// on.
    pub async fn discover(&self) -> Result<ServiceProviderConfig, ScimError> {
        let config = self.service_provider_config().await?;
        if let Some(max) = config
            .filter
            .max_results
            .and_then(|m| u32::try_from(m).ok())
            .filter(|&m| m > 0)
        {
            let previous = self.inner.page_size.fetch_min(max, Ordering::Relaxed);
            if max < previous {
                tracing::info!(
                    page_size = max,
                    "using the server's filter.maxResults as page size"
                );
            }
        }
        Ok(config)
    }

    /// Lists users, optionally filtered, page by page, as a stream of distinct users.
    ///
    /// The stream ends after its first error; a listing that ended in an error is
    /// incomplete and must not be read as "no more users".
    pub fn list_users(
        &self,
        filter: Option<Filter>,
    ) -> impl Stream<Item = Result<User, ScimError>> + Send + 'static {
        self.list::<User>(filter)
    }

    /// Lists groups; as [`list_users`](Self::list_users).
    pub fn list_groups(
        &self,
        filter: Option<Filter>,
    ) -> impl Stream<Item = Result<Group, ScimError>> + Send + 'static {
        self.list::<Group>(filter)
    }

    /// Lists groups as [`list_groups`](Self::list_groups) does, each decoded as a
    /// [`ListedGroup`]: the id, `externalId`, name and member ids only, so that a
    /// page of large groups costs their member ids and not every member's full
    /// record.
    pub fn list_listed_groups(
        &self,
        filter: Option<Filter>,
    ) -> impl Stream<Item = Result<ListedGroup, ScimError>> + Send + 'static {
        self.list::<ListedGroup>(filter)
    }

    /// Lists all users matching `filter` (all users for `None`); only a complete
    /// listing is returned.
    pub async fn list_all_users(&self, filter: Option<Filter>) -> Result<Vec<User>, ScimError> {
        self.list_users(filter).try_collect().await
    }

    /// Lists all groups matching `filter`; only a complete listing is returned.
    pub async fn list_all_groups(&self, filter: Option<Filter>) -> Result<Vec<Group>, ScimError> {
        self.list_groups(filter).try_collect().await
    }

    /// The distinct records of a listing as a stream (see [`list_users`](Self::list_users)).
    fn list<T: Resource>(
        &self,
        filter: Option<Filter>,
    ) -> impl Stream<Item = Result<T, ScimError>> + Send + 'static {
        self.list_pages::<T>(filter)
            .map_ok(|page| futures::stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Reads one user by id.
    pub async fn get_user(&self, id: &str) -> Result<User, ScimError> {
        self.get(id).await
    }

    /// Reads one group by id.
    pub async fn get_group(&self, id: &str) -> Result<Group, ScimError> {
        self.get(id).await
    }

    async fn get<T: Resource>(&self, id: &str) -> Result<T, ScimError> {
        let call = Call {
            method: Method::Get,
            endpoint: T::ENDPOINT,
            path: resource_path(T::ENDPOINT, id),
            query: None,
            body: None,
        };
        let reply = self.call(&call).await?;
        Self::decode(&call, &reply, T::WHAT)
    }

    /// Creates a user (`POST /Users`) and returns it as created, with the id the
    /// server assigned.
    ///
    /// Never repeated when its outcome is unknown: see [`ScimError::OutcomeUnknown`].
    pub async fn create_user(&self, user: &NewUser) -> Result<User, ScimError> {
        self.create(user).await
    }

    /// Creates a group (`POST /Groups`) and returns it as created.
    pub async fn create_group(&self, group: &NewGroup) -> Result<Group, ScimError> {
        self.create(group).await
    }

    async fn create<T: Resource>(&self, body: &impl Serialize) -> Result<T, ScimError> {
        let call = Call {
            method: Method::Post,
            endpoint: T::ENDPOINT,
            path: format!("/{}", T::ENDPOINT.as_str()),
            query: None,
            body: Some(to_body(body)),
        };
        let reply = self.call(&call).await?;
        Self::decode(&call, &reply, T::WHAT)
    }

    /// Applies `patch` to a user. Returns the updated user when the server sends it
    /// (`200`), `None` when it answers `204 No Content`. An empty patch sends nothing
    /// and returns `None`.
    pub async fn patch_user(&self, id: &str, patch: &PatchOp) -> Result<Option<User>, ScimError> {
        self.patch(id, patch).await
    }

    /// Applies `patch` to a group; as [`patch_user`](Self::patch_user).
    pub async fn patch_group(&self, id: &str, patch: &PatchOp) -> Result<Option<Group>, ScimError> {
        self.patch(id, patch).await
    }

    async fn patch<T: Resource>(&self, id: &str, patch: &PatchOp) -> Result<Option<T>, ScimError> {
        if patch.is_empty() {
            return Ok(None);
        }
        let call = Call {
            method: Method::Patch,
            endpoint: T::ENDPOINT,
            path: resource_path(T::ENDPOINT, id),
            query: None,
            body: Some(to_body(patch)),
        };
        let reply = self.call(&call).await?;
        if reply.status == 204 || reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        Self::decode(&call, &reply, T::WHAT).map(Some)
    }
}

/// `/Users/{id}` with the opaque id percent-encoded as one path segment.
fn resource_path(endpoint: Endpoint, id: &str) -> String {
    let mut segment = utf8_percent_encode(id, PATH_SEGMENT).to_string();
    if segment == "." || segment == ".." {
        segment = segment.replace('.', "%2E");
    }
    format!("/{}/{segment}", endpoint.as_str())
}

fn to_body(body: &impl Serialize) -> Vec<u8> {
    // The write types hold only strings, booleans and JSON values, whose
    // serialization cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_segment() {
        assert_eq!(
            resource_path(Endpoint::Users, "2819c223-7f76"),
            "/Users/2819c223-7f76"
        );
        assert_eq!(
            resource_path(Endpoint::Groups, "a/b?c#d%e f"),
            "/Groups/a%2Fb%3Fc%23d%25e%20f"
        );
        assert_eq!(resource_path(Endpoint::Users, ".."), "/Users/%2E%2E");
        assert_eq!(resource_path(Endpoint::Users, "é"), "/Users/%C3%A9");
    }
}
