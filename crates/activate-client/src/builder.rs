//! Settings of an [`ActivateClient`], and their validation: the base URL is resolved
//! and normalised once, in [`ActivateClientBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http_policy::retry::RetryPolicy;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use url::Url;

use crate::client::{ActivateClient, Inner, MAX_PAGE_SIZE};
use crate::credentials::{Credential, CredentialError};
use crate::error::ConfigError;
use crate::path::is_addressable;

/// Settings for an [`ActivateClient`]; see [`ActivateClient::builder`].
///
/// `Debug` shows the credential's kind and host, never its secret.
#[derive(Debug, Clone)]
#[must_use]
pub struct ActivateClientBuilder {
    credential: Credential,
    api_url: Option<String>,
    org: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    concurrency: usize,
    page_size: u32,
    max_user_pages: u32,
    extra_root_ca_pem: Option<Vec<u8>>,
    user_agent: String,
}

/// The settings an [`ActivateClient`] works with, once checked.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) base_url: Url,
    pub(crate) credential: Credential,
    pub(crate) org: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) concurrency: usize,
    pub(crate) page_size: u32,
    pub(crate) max_user_pages: u32,
    pub(crate) extra_root_ca_pem: Option<Vec<u8>>,
    pub(crate) user_agent: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url.as_str())
            .field("credential", &self.credential)
            .field("org", &self.org)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("concurrency", &self.concurrency)
            .field("page_size", &self.page_size)
            .field("max_user_pages", &self.max_user_pages)
            .field(
                "extra_root_ca_pem",
                &self
                    .extra_root_ca_pem
                    .as_ref()
                    .map(|p| format!("{} bytes", p.len())),
            )
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl ActivateClientBuilder {
    pub(crate) fn new(credential: Credential) -> Self {
        Self {
            credential,
            api_url: None,
            org: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            concurrency: 8,
            page_size: MAX_PAGE_SIZE,
            max_user_pages: 10_000,
            extra_root_ca_pem: None,
            user_agent: concat!("activate-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// The ACTIVATE base URL, e.g. `https://cloud.parallel.works`; `https://` is put in
    /// front of a value without a scheme. Default: the host the credential carries
    /// (an opaque token carries none, so it needs this).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// The organization name; without one it is asked of
    /// `GET /api/auth/whoami/organization`.
    pub fn org(mut self, org: impl Into<String>) -> Self {
        self.org = Some(org.into());
        self
    }

    /// Time limit of one HTTP attempt, the body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit to connect (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries of transient failures (429, 502, 503, 504, transport errors); default
    /// [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Requests in flight at once in a snapshot (members, keys), 1 to 256 (default 8).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Users per page, 1 to 500 (default 500).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// The most user pages read before giving up (default 10 000).
    pub fn max_user_pages(mut self, pages: u32) -> Self {
        self.max_user_pages = pages;
        self
    }

    /// One or more PEM certificates to trust besides the system roots, e.g. a
    /// private CA.
    pub fn extra_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_root_ca_pem = Some(pem.into());
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails when no base URL can be found (an explicit one, or the credential's host),
    /// when it breaks the transport policy (plain `http://` to a remote host,
    /// credentials in the URL) or has a query or fragment, when a number is out of its
    /// range, when the organization name cannot be put in a URL path, or when the extra
    /// CA does not parse.
    pub fn build(self) -> Result<ActivateClient, ConfigError> {
        let chosen = match self.api_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => url,
            _ => self.credential.embedded_host().ok_or(ConfigError::NoHost {
                kind: self.credential.kind(),
            })?,
        };
        let base_url = normalise_base_url(chosen)?;
        range("concurrency", self.concurrency as u64, 1, 256)?;
        range(
            "page size",
            u64::from(self.page_size),
            1,
            u64::from(MAX_PAGE_SIZE),
        )?;
        range(
            "max user pages",
            u64::from(self.max_user_pages),
            1,
            u64::from(u32::MAX),
        )?;
        if let Some(org) = &self.org
            && (!is_addressable(org.trim()) || org.trim() != org)
        {
            return Err(ConfigError::BadOrgName { name: org.clone() });
        }
        let mut auth = HeaderValue::from_str(&self.credential.authorization())
            .map_err(|_| ConfigError::Credential(CredentialError::InvalidCharacters))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let mut http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &self.extra_root_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ConfigError::RootCa(Box::new(e)))?;
            if certs.is_empty() {
                return Err(ConfigError::RootCa("no certificate in the PEM data".into()));
            }
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http
            .build()
            .map_err(|e| ConfigError::HttpClient(Box::new(e)))?;
        let settings = Settings {
            base_url,
            credential: self.credential,
            org: self.org,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            retry: self.retry,
            concurrency: self.concurrency,
            page_size: self.page_size,
            max_user_pages: self.max_user_pages,
            extra_root_ca_pem: self.extra_root_ca_pem,
            user_agent: self.user_agent,
        };
        Ok(ActivateClient {
            inner: Arc::new(Inner { http, settings }),
        })
    }
}

fn range(setting: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            setting,
            value,
            min,
            max,
        })
    }
}

/// Adds `https://` when no scheme is given, parses, checks the transport policy, and
/// makes the path end with `/` so that endpoint paths join below it.
pub(crate) fn normalise_base_url(value: &str) -> Result<Url, ConfigError> {
    let lower = value.to_ascii_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        value.to_owned()
    } else {
        format!("https://{value}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| ConfigError::InvalidUrl(Box::new(e)))?;
    http_policy::transport::check_url(&url).map_err(|e| ConfigError::InsecureUrl(Box::new(e)))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::UrlHasQuery);
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn key(host: &str) -> Credential {
        Credential::parse(&format!("pwt_{}.s3cr3t", URL_SAFE_NO_PAD.encode(host))).unwrap()
    }

    fn base_url(credential: Credential, api_url: Option<&str>) -> Result<String, ConfigError> {
        let mut builder = ActivateClient::builder(credential);
        if let Some(url) = api_url {
            builder = builder.api_url(url);
        }
        builder.build().map(|c| c.base_url().to_string())
    }

    #[test]
    fn the_base_url_comes_from_the_key_or_the_explicit_url() {
        let cases = [
            (
                "cloud.parallel.works",
                None,
                "https://cloud.parallel.works/",
            ),
            ("http://127.0.0.1:8080", None, "http://127.0.0.1:8080/"),
            (
                "cloud.parallel.works",
                Some("https://other.example/prefix"),
                "https://other.example/prefix/",
            ),
            (
                "cloud.parallel.works",
                Some("other.example"),
                "https://other.example/",
            ),
            (
                "cloud.parallel.works",
                Some("  "),
                "https://cloud.parallel.works/",
            ),
        ];
        for (host, explicit, expected) in cases {
            assert_eq!(
                base_url(key(host), explicit).unwrap(),
                expected,
                "{host} {explicit:?}"
            );
        }
    }

    #[test]
    fn unusable_base_urls_are_refused() {
        let cases: [(&str, Option<&str>, &str); 4] = [
            ("http://evil.example", None, "refusing the base URL"),
            (
                "h.example",
                Some("https://u:p@h.example/"),
                "refusing the base URL",
            ),
            (
                "h.example",
                Some("https://h.example/?x=1"),
                "the base URL must not have a query or fragment",
            ),
            (
                "h.example",
                Some("https://exa mple.com"),
                "the base URL does not parse",
            ),
        ];
        for (host, explicit, expected) in cases {
            let error = base_url(key(host), explicit).unwrap_err();
            assert_eq!(error.to_string(), expected, "{host} {explicit:?}");
        }
    }

    #[test]
    fn a_credential_without_a_host_needs_an_explicit_url() {
        let opaque = Credential::parse("pwoa_abcdef").unwrap();
        assert_eq!(
            base_url(opaque.clone(), None).unwrap_err().to_string(),
            "the ACTIVATE opaque access token carries no platform host: an explicit API URL is required"
        );
        assert_eq!(
            base_url(opaque, Some("https://x.example")).unwrap(),
            "https://x.example/"
        );
    }

    #[test]
    fn numbers_and_the_org_name_are_checked() {
        type Change = fn(ActivateClientBuilder) -> ActivateClientBuilder;
        let cases: [(Change, &str); 5] = [
            (
                |b| b.concurrency(0),
                "concurrency must be between 1 and 256, got 0",
            ),
            (
                |b| b.page_size(501),
                "page size must be between 1 and 500, got 501",
            ),
            (
                |b| b.max_user_pages(0),
                "max user pages must be between 1 and 4294967295, got 0",
            ),
            (
                |b| b.org(".."),
                "the organization name \"..\" cannot be used in a URL path",
            ),
            (
                |b| b.org(" acme"),
                "the organization name \" acme\" cannot be used in a URL path",
            ),
        ];
        for (change, expected) in cases {
            let builder = change(ActivateClient::builder(key("h.example")));
            assert_eq!(builder.build().unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let builder = ActivateClient::builder(key("h.example")).org("acme");
        let client = builder.clone().build().unwrap();
        let shown = format!("{builder:?} {client:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("h.example"), "{shown}");
    }
}
