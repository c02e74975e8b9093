//! `Retry-After` header values (RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value: either a number of seconds or an HTTP date.
///
/// A date in the past means "now" ([`Duration::ZERO`]). Anything else that does not
/// parse gives `None`, and the caller falls back to its own backoff.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http_policy::retry_after::parse_retry_after;
///
/// assert_eq!(parse_retry_after(" 3 ", SystemTime::now()), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means retry now"
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
