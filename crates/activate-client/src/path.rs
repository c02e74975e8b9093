//! Percent-encoding of names (organization, group, username) used as one URL path segment.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`), as
/// Python's `quote(name, safe="")` does in the ACTIVATE SDK.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes `name` as a single path segment: `/`, `%`, `?`, `#`, spaces, every other
/// reserved character and all non-ASCII text are percent-encoded (UTF-8).
///
/// ```
/// use activate_client::path::encode_segment;
///
/// assert_eq!(encode_segment("gpu users/a%b?#é"), "gpu%20users%2Fa%25b%3F%23%C3%A9");
/// assert_eq!(encode_segment("Jake.Thayne"), "Jake.Thayne");
/// ```
pub fn encode_segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// Whether `name` can be addressed as a path segment at all: URL parsers collapse
/// `.` and `..` (even percent-encoded), and an empty segment is ambiguous.
pub fn is_addressable(name: &str) -> bool {
    !matches!(name, "" | "." | "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::percent_decode_str;
    use proptest::prelude::*;
    use url::Url;

    #[test]
    fn reserved_characters_are_encoded() {
        assert_eq!(encode_segment("a/b"), "a%2Fb");
        assert_eq!(encode_segment("100%"), "100%25");
        assert_eq!(encode_segment("gpu users"), "gpu%20users");
        assert_eq!(encode_segment("q?x#y"), "q%3Fx%23y");
        assert_eq!(encode_segment("Ünïcode"), "%C3%9Cn%C3%AFcode");
        assert_eq!(encode_segment("a+b;c=d"), "a%2Bb%3Bc%3Dd");
        assert_eq!(encode_segment("x-y_z.w~v"), "x-y_z.w~v");
    }

    #[test]
    fn dot_segments_are_not_addressable() {
        assert!(!is_addressable(""));
        assert!(!is_addressable("."));
        assert!(!is_addressable(".."));
        assert!(is_addressable("..."));
        assert!(is_addressable(".hidden"));
    }

    proptest! {
        #[test]
        fn any_name_is_one_segment_that_decodes_back(name in any::<String>()) {
            let encoded = encode_segment(&name);
            prop_assert!(!encoded.contains(['/', '?', '#']), "{}", encoded);
            let decoded = percent_decode_str(&encoded).decode_utf8().unwrap();
            prop_assert_eq!(decoded.as_ref(), name.as_str());
            if is_addressable(&name) {
                let base = Url::parse("https://h.example/base/").unwrap();
                let url = base.join(&format!("api/{encoded}/members")).unwrap();
                let segments: Vec<&str> = url.path_segments().unwrap().collect();
                prop_assert_eq!(segments, vec!["base", "api", encoded.as_str(), "members"]);
                prop_assert_eq!(url.query(), None);
                prop_assert_eq!(url.fragment(), None);
            }
        }
    }
}
