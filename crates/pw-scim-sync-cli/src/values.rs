//! The typed values of the command line and environment, each checked where it is
//! parsed (its `FromStr`, or a value parser), so that a bad value is a usage error
//! naming the flag or variable it came from. Checks that involve two settings are in
//! [`crate::settings`].

use std::fmt;
use std::str::FromStr;

use reconcile_core::DeactivationLimit;
use url::Url;

/// An `http(s)://` URL that passes the transport policy: `https://`, or plain
/// `http://` to a loopback host only, and no credentials in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(pub Url);

impl FromStr for EndpointUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let url = absolute_url(raw, "https://host/path")?;
        http_policy::transport::check_url(&url).map_err(|e| e.to_string())?;
        Ok(Self(url))
    }
}

/// An API's base URL: an [`EndpointUrl`] without a query or a fragment, below which
/// the endpoints' paths go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(pub Url);

impl FromStr for BaseUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let EndpointUrl(url) = raw.parse()?;
        if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
            return Err("expected a base URL, without a query or a fragment".to_owned());
        }
        Ok(Self(url))
    }
}

/// The Pushgateway's base URL: the one endpoint that may be plain `http://` to any
/// host (an in-cluster Pushgateway rarely has TLS, and a push carries no credential
/// and no secret, only counts); credentials in it are still refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushgatewayUrl(pub Url);

impl FromStr for PushgatewayUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let url = absolute_url(raw, "http://pushgateway:9091")?;
        match http_policy::transport::check_url(&url) {
            Ok(()) | Err(http_policy::transport::InsecureUrl::PlainHttp { .. }) => Ok(Self(url)),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn absolute_url(raw: &str, example: &str) -> Result<Url, String> {
    Url::parse(raw.trim()).map_err(|e| format!("expected an absolute URL such as {example}: {e}"))
}

/// CoreWeave's organization id, the last segment of
/// `https://api.coreweave.com/scim/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgId(pub String);

impl FromStr for OrgId {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let id = raw.trim();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || matches!(id, "." | "..")
        {
            return Err(
                "expected the organization id segment (letters, digits, '-', '_', '.')".to_owned(),
            );
        }
        Ok(Self(id.to_owned()))
    }
}

/// An ACTIVATE organization name: trimmed, and usable as a URL path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(pub String);

impl FromStr for OrgName {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let name = raw.trim();
        if !activate_client::path::is_addressable(name) {
            return Err("expected an organization name (not empty, '.' or '..')".to_owned());
        }
        Ok(Self(name.to_owned()))
    }
}

/// One ACTIVATE group name of a comma-separated list, trimmed. An empty entry (a
/// trailing or doubled comma) is kept here and skipped by the settings, which
/// refuse a list that names no group at all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupName(pub String);

impl FromStr for GroupName {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Self(raw.trim().to_owned()))
    }
}

/// The log level; `RUST_LOG` overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Nothing is logged.
    Off,
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// What a run did (the default).
    Info,
    /// Every request.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The `tracing` directive.
    pub fn directive(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;

    /// The levels in any case, and Python's spellings (`warning`, `critical`,
    /// `fatal`) of the earlier tool.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "error" | "critical" | "fatal" => Ok(Self::Error),
            "warn" | "warning" => Ok(Self::Warn),
            "info" => Ok(Self::Info),
            "debug" => Ok(Self::Debug),
            "trace" => Ok(Self::Trace),
            _ => Err("expected one of error, warn, info, debug, trace (or off)".to_owned()),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.directive())
    }
}

/// `MAX_DEACTIVATIONS`: `25` or `10%` of the owned active users (at most 100%).
pub fn max_deactivations(raw: &str) -> Result<DeactivationLimit, String> {
    limit(raw, "owned active users")
}

/// `MAX_REKEYS`: `25` or `10%` of the owned users (at most 100%).
pub fn max_rekeys(raw: &str) -> Result<DeactivationLimit, String> {
    limit(raw, "owned users")
}

fn limit(raw: &str, share_of: &str) -> Result<DeactivationLimit, String> {
    let limit = raw.parse().map_err(|e| format!("{e}"))?;
    if let DeactivationLimit::Percent(p) = limit
        && p > 100
    {
        return Err(format!(
            "{p}% is more than 100%; give a share of the {share_of} from 0% to 100%, or an absolute number"
        ));
    }
    Ok(limit)
}

/// `value`, with any user name, password and query in it (as a URL) replaced by `***`,
/// for messages that repeat a value the user gave: a URL may carry a credential there.
pub fn masked(value: &str) -> String {
    match Url::parse(value.trim()) {
        Ok(mut url)
            if !url.username().is_empty() || url.password().is_some() || url.query().is_some() =>
        {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("***");
                let _ = url.set_password(Some("***"));
            }
            if url.query().is_some() {
                url.set_query(Some("***"));
            }
            url.to_string()
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let cases: [(&str, Result<&str, &str>); 5] = [
            (
                "https://scim.example.com/x",
                Ok("https://scim.example.com/x"),
            ),
            ("  http://127.0.0.1:9/x ", Ok("http://127.0.0.1:9/x")),
            (
                "http://scim.example.com/x",
                Err(
                    "plain http:// is only allowed to loopback hosts, not to \"scim.example.com\"; use https://",
                ),
            ),
            (
                "https://u:p@h.example/",
                Err("the URL must not contain credentials; pass them through the token settings"),
            ),
            (
                "scim.example.com",
                Err(
                    "expected an absolute URL such as https://host/path: relative URL without a base",
                ),
            ),
        ];
        for (raw, expected) in cases {
            let parsed = raw.parse::<EndpointUrl>().map(|u| u.0.to_string());
            assert_eq!(parsed.as_deref().map_err(String::as_str), expected, "{raw}");
        }
        assert_eq!(
            "https://h.example/scim?x=1".parse::<BaseUrl>().unwrap_err(),
            "expected a base URL, without a query or a fragment"
        );
        assert!(
            "https://h.example/ping?rid=1"
                .parse::<EndpointUrl>()
                .is_ok()
        );
        assert!("https://h.example/scim/v2".parse::<BaseUrl>().is_ok());
        assert!(
            "http://pushgateway.monitoring:9091"
                .parse::<PushgatewayUrl>()
                .is_ok()
        );
        assert_eq!(
            "http://u:p@pushgateway:9091"
                .parse::<PushgatewayUrl>()
                .unwrap_err(),
            "the URL must not contain credentials; pass them through the token settings"
        );
    }

    #[test]
    fn names() {
        assert_eq!("ab12".parse::<OrgId>().unwrap().0, "ab12");
        for bad in ["a/b", "", "..", "a b"] {
            assert!(bad.parse::<OrgId>().is_err(), "{bad:?}");
        }
        assert_eq!(" acme ".parse::<OrgName>().unwrap().0, "acme");
        assert!("..".parse::<OrgName>().is_err());
        assert_eq!(" ml team ".parse::<GroupName>().unwrap().0, "ml team");
        assert_eq!(" ".parse::<GroupName>().unwrap().0, "");
    }

    #[test]
    fn log_levels_accept_python_spellings() {
        let cases = [
            ("INFO", LogLevel::Info),
            ("warning", LogLevel::Warn),
            ("DEBUG", LogLevel::Debug),
            ("critical", LogLevel::Error),
            ("trace", LogLevel::Trace),
            ("off", LogLevel::Off),
        ];
        for (raw, level) in cases {
            assert_eq!(raw.parse::<LogLevel>(), Ok(level), "{raw}");
        }
        assert_eq!(
            "loud".parse::<LogLevel>().unwrap_err(),
            "expected one of error, warn, info, debug, trace (or off)"
        );
    }

    #[test]
    fn limits() {
        let cases: [(&str, Result<DeactivationLimit, &str>); 7] = [
            ("25", Ok(DeactivationLimit::Absolute(25))),
            (" 10% ", Ok(DeactivationLimit::Percent(10))),
            ("100%", Ok(DeactivationLimit::Percent(100))),
            // An absolute number may exceed the users there are.
            ("1000", Ok(DeactivationLimit::Absolute(1000))),
            (
                "101%",
                Err(
                    "101% is more than 100%; give a share of the owned active users from 0% to 100%, or an absolute number",
                ),
            ),
            (
                "ten",
                Err(
                    "invalid deactivation limit \"ten\": expected a whole number like `25` or a percentage like `10%`",
                ),
            ),
            (
                "-1",
                Err(
                    "invalid deactivation limit \"-1\": expected a whole number like `25` or a percentage like `10%`",
                ),
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                max_deactivations(raw).as_ref().map_err(String::as_str),
                expected.as_ref().map_err(|e| *e),
                "{raw}"
            );
        }
        for bad in ["", "1.5", "%"] {
            assert!(max_deactivations(bad).is_err(), "{bad:?}");
        }
        assert!(
            max_rekeys("150%")
                .unwrap_err()
                .contains("owned users from 0%")
        );
    }

    #[test]
    fn credentials_in_a_repeated_value_are_masked() {
        assert_eq!(
            masked("https://user:hunter2@h.example/x"),
            "https://***:***@h.example/x"
        );
        assert_eq!(masked("https://h.example/x"), "https://h.example/x");
        assert_eq!(
            masked("https://h.example/scim?token=hunter2"),
            "https://h.example/scim?***"
        );
        assert_eq!(masked("ten"), "ten");
    }
}
