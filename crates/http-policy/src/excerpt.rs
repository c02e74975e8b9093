//! Short excerpts of response bodies for error messages.

/// Returns a single-line excerpt of at most `max_chars` characters of `body`.
///
/// Invalid UTF-8 is replaced, HTML tags (a gateway's error page) are dropped together
/// with `<script>`/`<style>` contents, and runs of whitespace become one space, so an
/// error message stays one readable line.
///
/// ```
/// use http_policy::excerpt::body_excerpt;
///
/// let page = b"<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502</h1></body></html>";
/// assert_eq!(body_excerpt(page, 80), "502 Bad Gateway 502");
/// assert_eq!(body_excerpt(b"abcdef", 3), "abc\u{2026}");
/// ```
pub fn body_excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = if looks_like_html(&text) {
        strip_tags(&text)
    } else {
        text.into_owned()
    };
    let mut out = String::with_capacity(max_chars.min(text.len()) + 3);
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            if count >= max_chars {
                out.push('\u{2026}');
                return out;
            }
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= max_chars {
                out.truncate(out.trim_end().len());
                out.push('\u{2026}');
                return out;
            }
            out.push(if c.is_control() { '\u{fffd}' } else { c });
            count += 1;
        }
    }
    out
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.starts_with("<head")
        || head.starts_with("<body")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let lower: String = after
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            find_ci(after, "</script>")
        } else if lower.starts_with("<style") {
            find_ci(after, "</style>")
        } else {
            None
        };
        let from = skip_to.unwrap_or(0);
        match after[from..].find('>') {
            Some(close) => {
                out.push(' ');
                rest = &after[from + close + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_collapsed_and_cut() {
        assert_eq!(body_excerpt(b"  a \n\n b\tc  ", 10), "a b c");
        assert_eq!(body_excerpt(b"hello world", 5), "hello\u{2026}");
        assert_eq!(body_excerpt(b"hello world", 6), "hello\u{2026}");
        assert_eq!(body_excerpt(b"", 10), "");
    }

    #[test]
    fn html_pages_lose_markup_and_scripts() {
        let page =
            b"<!DOCTYPE html><html><head><style>body{x:1}</style><script>var t='x';</script>\
            <title>503 Service Unavailable</title></head><body>Try&nbsp;again</body></html>";
        assert_eq!(body_excerpt(page, 200), "503 Service Unavailable Try again");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            body_excerpt(b"ok \xff\xfe end", 50),
            "ok \u{fffd}\u{fffd} end"
        );
    }
}
