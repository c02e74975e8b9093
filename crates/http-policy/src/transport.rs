//! Which URLs a client may send credentials to.

use std::net::IpAddr;

use url::{Host, Url};

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InsecureUrl {
    /// `http://` to a host that is not loopback: the bearer token would cross the
    /// network in clear text.
    #[error("plain http:// is only allowed to loopback hosts, not to {host:?}; use https://")]
    PlainHttp {
        /// The host that was named.
        host: String,
    },
    /// A scheme other than `http` or `https`.
    #[error("unsupported URL scheme {scheme:?}; expected https://")]
    Scheme {
        /// The scheme that was given.
        scheme: String,
    },
    /// The URL carries a user name or password, which would end up in logs.
    #[error("the URL must not contain credentials; pass them through the token settings")]
    Credentials,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
}

/// Accepts `https://` URLs, and `http://` URLs whose host is loopback
/// (`localhost`, `127.0.0.0/8`, `::1`).
///
/// ```
/// use http_policy::transport::check_url;
/// use url::Url;
///
/// assert!(check_url(&Url::parse("https://api.coreweave.com/scim/x").unwrap()).is_ok());
/// assert!(check_url(&Url::parse("http://127.0.0.1:8080/").unwrap()).is_ok());
/// assert!(check_url(&Url::parse("http://api.coreweave.com/").unwrap()).is_err());
/// ```
pub fn check_url(url: &Url) -> Result<(), InsecureUrl> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InsecureUrl::Credentials);
    }
    let host = url.host().ok_or(InsecureUrl::NoHost)?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err(InsecureUrl::PlainHttp {
            host: host.to_string(),
        }),
        other => Err(InsecureUrl::Scheme {
            scheme: other.to_owned(),
        }),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), InsecureUrl> {
        check_url(&Url::parse(s).unwrap())
    }

    #[test]
    fn loopback_only_for_plain_http() {
        for ok in [
            "https://api.coreweave.com/scim/abc",
            "http://localhost:1234/",
            "http://LOCALHOST/",
            "http://app.localhost/",
            "http://127.0.0.1/",
            "http://127.8.9.1:80/",
            "http://[::1]:8080/",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check("http://api.coreweave.com/"),
            Err(InsecureUrl::PlainHttp {
                host: "api.coreweave.com".into()
            })
        );
        assert!(matches!(
            check("http://10.0.0.1/"),
            Err(InsecureUrl::PlainHttp { .. })
        ));
        assert!(matches!(
            check("http://localhost.evil.com/"),
            Err(InsecureUrl::PlainHttp { .. })
        ));
        assert!(matches!(
            check("ftp://localhost/"),
            Err(InsecureUrl::Scheme { .. })
        ));
        assert_eq!(
            check("https://u:p@example.com/"),
            Err(InsecureUrl::Credentials)
        );
    }
}
