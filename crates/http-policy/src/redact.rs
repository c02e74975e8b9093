//! Masking a secret that a server echoes back, before the response can reach an error
//! message or a log.

/// What a masked secret reads as.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every occurrence of `secret` in `body` with [`REDACTED`]. Secrets shorter
/// than 4 bytes are left alone: masking them would garble ordinary text.
///
/// Masking the body as it arrives covers everything derived from it: parsed error
/// details, decode-error locations and messages, excerpts.
///
/// ```
/// use http_policy::redact::redact_in;
///
/// let mut body = b"{\"detail\":\"token s3cr3t is expired\"}".to_vec();
/// redact_in(&mut body, b"s3cr3t");
/// assert_eq!(body, b"{\"detail\":\"token [REDACTED] is expired\"}");
/// ```
pub fn redact_in(body: &mut Vec<u8>, secret: &[u8]) {
    if secret.len() < 4 || !body.windows(secret.len()).any(|w| w == secret) {
        return;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body.as_slice();
    while let Some(&first) = rest.first() {
        if rest.starts_with(secret) {
            out.extend_from_slice(REDACTED.as_bytes());
            rest = &rest[secret.len()..];
        } else {
            out.push(first);
            rest = &rest[1..];
        }
    }
    *body = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_masked_and_short_secrets_are_not() {
        let mut body = b"abcd-xx-abcdabcd".to_vec();
        redact_in(&mut body, b"abcd");
        assert_eq!(body, b"[REDACTED]-xx-[REDACTED][REDACTED]");
        let mut body = b"abc abc".to_vec();
        redact_in(&mut body, b"abc");
        assert_eq!(body, b"abc abc");
        let mut body = b"nothing here".to_vec();
        redact_in(&mut body, b"secret");
        assert_eq!(body, b"nothing here");
    }
}
