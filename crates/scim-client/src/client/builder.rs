//! Settings of a [`ScimClient`] and their validation.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

use http_policy::limiter::AdaptiveLimiter;
use http_policy::retry::RetryPolicy;
use http_policy::transport::check_url;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::redirect;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{Inner, SCIM_JSON, ScimClient};
use crate::error::ScimError;
use crate::observe::RequestObserver;

/// Redirects followed for one request at most.
const MAX_REDIRECTS: usize = 5;

/// Settings for a [`ScimClient`]; see [`ScimClient::builder`].
///
/// `Debug` shows everything but the token.
#[must_use]
pub struct ScimClientBuilder {
    base_url: Url,
    token: SecretString,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    page_size: NonZeroU32,
    max_pages: NonZeroU32,
    extra_root_ca_pem: Option<Vec<u8>>,
    user_agent: String,
    observer: Option<RequestObserver>,
    limiter: Option<Arc<AdaptiveLimiter>>,
    user_attributes: Option<String>,
}

impl ScimClientBuilder {
    pub(super) fn new(base_url: Url, token: SecretString) -> Self {
        Self {
            base_url,
            token,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            page_size: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            max_pages: NonZeroU32::new(100_000).unwrap_or(NonZeroU32::MIN),
            extra_root_ca_pem: None,
            user_agent: concat!("pw-activate-scim-sync/", env!("CARGO_PKG_VERSION")).to_owned(),
            observer: None,
            limiter: None,
            user_attributes: None,
        }
    }

    /// Time limit of one HTTP attempt, reading the response included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit for establishing a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed requests are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `count` asked for per page (default 100). [`ScimClient::discover`] lowers
    /// it to the server's `filter.maxResults`.
    pub fn page_size(mut self, page_size: NonZeroU32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Asks user listings for exactly these attributes (`attributes=` of RFC 7644
    /// §3.4.2.5), for a server that returns an extension only when asked for it.
    /// `id` and the attributes a server always returns come back anyway.
    pub fn user_attributes<I, S>(mut self, attributes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = attributes
            .into_iter()
            .map(|a| a.as_ref().to_owned())
            .collect();
        self.user_attributes = Some(list.join(","));
        self
    }

    /// The most pages any listing may take before it fails (default 100 000).
    ///
    /// Once a listing's first page announces `totalResults`, its cap follows that
    /// instead: `ceil(totalResults / page size)` pages plus a tenth and two more, the
    /// page size being what the first page held (servers may return fewer than
    /// `count` asks), and never more than this maximum. A listing without
    /// `totalResults`, or whose server returned more records than it announced, is
    /// held to this maximum alone.
    pub fn max_pages(mut self, max_pages: NonZeroU32) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// One or more PEM certificates to trust besides the system roots, e.g. a
    /// corporate TLS-inspecting proxy's CA.
    pub fn extra_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_root_ca_pem = Some(pem.into());
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// A hook called after every HTTP attempt (for request metrics).
    pub fn observer(mut self, observer: RequestObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Limits the requests of this client and its clones with `limiter`: every
    /// attempt (retries included) waits for a permit, and reports a 2xx as a success,
    /// a `429` as rate limited (its `Retry-After` pauses every request sharing the
    /// limiter) and a `503` as overloaded. Without one (the default) only the callers
    /// bound concurrency.
    ///
    /// The limiter's `max_concurrency` is also how many pages of one `startIndex`
    /// listing are fetched at once, once its first page announced `totalResults`;
    /// without a limiter, pages are read one after another.
    pub fn limiter(mut self, limiter: Arc<AdaptiveLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails when the base URL is not `https://` (plain `http://` is allowed to
    /// loopback hosts only), carries credentials, a query or a fragment; when the token
    /// is empty or not a valid header value; or when the extra CA does not parse.
    pub fn build(self) -> Result<ScimClient, ScimError> {
        check_url(&self.base_url).map_err(ScimError::InsecureUrl)?;
        if self.base_url.cannot_be_a_base() {
            return Err(ScimError::InvalidUrl {
                reason: "it is not a hierarchical URL",
            });
        }
        if self.base_url.query().is_some() || self.base_url.fragment().is_some() {
            return Err(ScimError::InvalidUrl {
                reason: "it must not have a query or a fragment",
            });
        }
        let auth = bearer_header(&self.token)?;

        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));
        let mut http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(self.user_agent.clone())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(redirect_policy());
        if let Some(pem) = &self.extra_root_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                ScimError::InvalidCaCertificate {
                    reason: "the PEM data does not parse",
                    source: Some(Box::new(e)),
                }
            })?;
            if certs.is_empty() {
                return Err(ScimError::InvalidCaCertificate {
                    reason: "no certificate found in the PEM data",
                    source: None,
                });
            }
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| {
            if self.extra_root_ca_pem.is_some() {
                ScimError::InvalidCaCertificate {
                    reason: "the TLS library rejected it",
                    source: Some(Box::new(e)),
                }
            } else {
                ScimError::HttpClient(Box::new(e))
            }
        })?;
        Ok(ScimClient {
            inner: Arc::new(Inner {
                http,
                base_url: self.base_url,
                auth,
                token: self.token,
                retry: self.retry,
                page_size: AtomicU32::new(self.page_size.get()),
                max_pages: self.max_pages.get(),
                observer: self.observer,
                limiter: self.limiter,
                cursor_paging: AtomicBool::new(false),
                user_attributes: self.user_attributes.map(|a| {
                    Arc::from(format!(
                        "attributes={}",
                        crate::filter::encode_query_value(&a)
                    ))
                }),
            }),
        })
    }
}

fn bearer_header(token: &SecretString) -> Result<HeaderValue, ScimError> {
    let token = token.expose_secret();
    if token.trim().is_empty() {
        return Err(ScimError::InvalidToken {
            reason: "it is empty",
        });
    }
    if token.trim() != token {
        return Err(ScimError::InvalidToken {
            reason: "it has leading or trailing whitespace (a trailing newline?)",
        });
    }
    let mut value =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ScimError::InvalidToken {
            reason: "it contains characters not allowed in an HTTP header",
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Follows only `307`/`308` (which keep the method and body) to the same origin, and
/// only to a URL [`check_url`] accepts. Anything else is returned to the caller as a
/// redirect status, which becomes an error.
fn redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let follow = matches!(attempt.status().as_u16(), 307 | 308)
            && attempt.previous().len() <= MAX_REDIRECTS
            && attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin())
            && check_url(attempt.url()).is_ok();
        if follow {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

impl fmt::Debug for ScimClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimClientBuilder")
            .field("base_url", &self.base_url.as_str())
            .field("token", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .field(
                "extra_root_ca_pem",
                &self
                    .extra_root_ca_pem
                    .as_ref()
                    .map(|p| format!("{} bytes", p.len())),
            )
            .field("user_agent", &self.user_agent)
            .field("observer", &self.observer.is_some())
            .field("limiter", &self.limiter)
            .field("user_attributes", &self.user_attributes)
            .finish()
    }
}
