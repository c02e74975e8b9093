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
    if secret.len() < 4 {
        return;
    }
    // Every response body passes through here, so the search must cost little: a
    // 50 MB listing page is scanned in milliseconds, and copied only when it holds
    // the secret.
    let finder = memchr::memmem::Finder::new(secret);
    let mut found = finder.find_iter(body).peekable();
    if found.peek().is_none() {
        return;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut copied = 0;
    for at in found {
        out.extend_from_slice(&body[copied..at]);
        out.extend_from_slice(REDACTED.as_bytes());
        copied = at + secret.len();
    }
    out.extend_from_slice(&body[copied..]);
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
        let mut body = b"aaaaaaaaa".to_vec();
        redact_in(&mut body, b"aaaa");
        assert_eq!(body, b"[REDACTED][REDACTED]a");
    }

    /// What masking means, one byte at a time: at each position, the secret if it
    /// starts there, else the byte.
    fn masked_by_hand(body: &[u8], secret: &[u8]) -> Vec<u8> {
        if secret.len() < 4 {
            return body.to_vec();
        }
        let mut out = Vec::new();
        let mut rest = body;
        while let Some(&first) = rest.first() {
            if rest.starts_with(secret) {
                out.extend_from_slice(REDACTED.as_bytes());
                rest = &rest[secret.len()..];
            } else {
                out.push(first);
                rest = &rest[1..];
            }
        }
        out
    }

    proptest::proptest! {
        /// Over a two-letter alphabet, so that secrets occur, overlap and run into each
        /// other often.
        #[test]
        fn masking_agrees_with_the_definition(
            body in proptest::collection::vec(proptest::sample::select(b"ab".to_vec()), 0..64),
            secret in proptest::collection::vec(proptest::sample::select(b"ab".to_vec()), 0..6),
        ) {
            let mut masked = body.clone();
            redact_in(&mut masked, &secret);
            proptest::prop_assert_eq!(masked, masked_by_hand(&body, &secret));
        }
    }
}
