//! Reading response bodies: JSON of an expected shape, or a JSON string that may also
//! arrive as plain text.

use serde::de::DeserializeOwned;

use crate::error::BoxError;

/// Why a body could not be read; the caller adds where it came from.
#[derive(Debug)]
pub(crate) struct BodyProblem {
    pub(crate) problem: String,
    pub(crate) source: Option<BoxError>,
}

impl BodyProblem {
    fn new(problem: &str, source: Option<BoxError>) -> Self {
        Self {
            problem: problem.to_owned(),
            source,
        }
    }
}

/// What a response (or a command's output) declared its body to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaType {
    /// `application/json` or any `…+json`.
    Json,
    /// `text/plain`.
    Text,
    /// Nothing declared (no `Content-Type`, or a command's output).
    Absent,
    /// Anything else (`text/html`, `application/xml`, …), lowercased, without
    /// parameters.
    Other(String),
}

impl MediaType {
    /// Reads a `Content-Type` header value.
    pub(crate) fn from_header(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Self::Absent;
        };
        let essence = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence == "application/json" || essence.ends_with("+json") {
            Self::Json
        } else if essence == "text/plain" {
            Self::Text
        } else if essence.is_empty() {
            Self::Absent
        } else {
            Self::Other(essence)
        }
    }
}

/// How much of an unexpected body a message quotes.
const EXCERPT_CHARS: usize = 80;

fn utf8(body: &[u8]) -> Result<&str, BodyProblem> {
    std::str::from_utf8(body)
        .map_err(|e| BodyProblem::new("the response body is not UTF-8", Some(Box::new(e))))
}

/// A body declared as something other than what the endpoint returns.
fn wrong_type(declared: &str, expected: &str, body: &[u8]) -> BodyProblem {
    let excerpt = http_policy::excerpt::body_excerpt(body, EXCERPT_CHARS);
    let quoted = if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt:?}")
    };
    BodyProblem::new(
        &format!("the response is {declared}, not {expected}{quoted}"),
        None,
    )
}

/// Whether `text` looks like an HTML (or XML) page rather than data: its first
/// non-blank character is `<`. No key line or organization name starts with one.
fn looks_like_markup(text: &str) -> bool {
    text.trim_start().starts_with('<')
}

/// Parses JSON of shape `T`. The response must be declared as JSON or declare
/// nothing; `serde_json`'s error (with line and column) is the source.
pub(crate) fn json<T: DeserializeOwned>(
    body: &[u8],
    media: &MediaType,
    shape: &str,
) -> Result<T, BodyProblem> {
    match media {
        MediaType::Json | MediaType::Absent => {}
        MediaType::Text => return Err(wrong_type("text/plain", "JSON", body)),
        MediaType::Other(other) => return Err(wrong_type(other, "JSON", body)),
    }
    let text = utf8(body)?;
    serde_json::from_str(text).map_err(|e| {
        BodyProblem::new(
            &format!("the response body is not {shape}"),
            Some(Box::new(e)),
        )
    })
}

/// A body documented as a JSON string, tolerating plain text.
///
/// - declared as anything but JSON, `text/plain` or nothing: an error;
/// - a body starting with `"` must be one JSON string;
/// - JSON `null` is the empty string;
/// - a JSON object, array, number or boolean is an error when declared as JSON;
/// - text that looks like an HTML page (starts with `<`) is an error;
/// - anything else is the text itself.
pub(crate) fn json_string_or_text(body: &[u8], media: &MediaType) -> Result<String, BodyProblem> {
    if let MediaType::Other(other) = media {
        return Err(wrong_type(other, "a JSON string or text/plain", body));
    }
    let text = utf8(body)?;
    let trimmed = text.trim();
    if trimmed.starts_with('"') {
        return serde_json::from_str::<String>(trimmed).map_err(|e| {
            BodyProblem::new(
                "the response body is not a valid JSON string",
                Some(Box::new(e)),
            )
        });
    }
    if trimmed == "null" {
        return Ok(String::new());
    }
    if *media == MediaType::Json
        && let Ok(other) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        {
            let kind = match other {
                serde_json::Value::Object(_) => "an object",
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::String(_) | serde_json::Value::Null => "a value",
            };
            return Err(BodyProblem::new(
                &format!("expected a JSON string or text, got {kind}"),
                None,
            ));
        }
    }
    if looks_like_markup(trimmed) {
        return Err(wrong_type(
            "an HTML page",
            "a JSON string or text/plain",
            body,
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert_eq!(MediaType::from_header(None), MediaType::Absent);
        assert_eq!(
            MediaType::from_header(Some("Application/JSON; charset=utf-8")),
            MediaType::Json
        );
        assert_eq!(
            MediaType::from_header(Some("application/problem+json")),
            MediaType::Json
        );
        assert_eq!(
            MediaType::from_header(Some("text/plain;charset=UTF-8")),
            MediaType::Text
        );
        assert_eq!(
            MediaType::from_header(Some("text/html; charset=utf-8")),
            MediaType::Other("text/html".into())
        );
    }

    #[test]
    fn pages_are_never_data() {
        let page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>";
        let html = MediaType::Other("text/html".into());
        assert_eq!(
            json_string_or_text(page, &html).unwrap_err().problem,
            "the response is text/html, not a JSON string or text/plain: \"Sign in\""
        );
        for media in [MediaType::Text, MediaType::Absent] {
            assert_eq!(
                json_string_or_text(page, &media).unwrap_err().problem,
                "the response is an HTML page, not a JSON string or text/plain: \"Sign in\""
            );
        }
        assert_eq!(
            json::<Vec<u32>>(page, &html, "a list").unwrap_err().problem,
            "the response is text/html, not JSON: \"Sign in\""
        );
        assert_eq!(
            json::<Vec<u32>>(b"[1]", &MediaType::Text, "a list")
                .unwrap_err()
                .problem,
            "the response is text/plain, not JSON: \"[1]\""
        );
        assert_eq!(
            json::<Vec<u32>>(b"[1]", &MediaType::Absent, "a list").unwrap(),
            [1]
        );
        assert_eq!(
            json_string_or_text(b"", &MediaType::Other("application/octet-stream".into()))
                .unwrap_err()
                .problem,
            "the response is application/octet-stream, not a JSON string or text/plain"
        );
    }

    #[test]
    fn json_string_text_and_null() {
        let json = &MediaType::Json;
        let text = &MediaType::Text;
        let absent = &MediaType::Absent;
        assert_eq!(
            json_string_or_text(br#" "acme\norg" "#, json).unwrap(),
            "acme\norg"
        );
        assert_eq!(json_string_or_text(b"acme\n", absent).unwrap(), "acme\n");
        assert_eq!(json_string_or_text(b"acme\n", text).unwrap(), "acme\n");
        assert_eq!(json_string_or_text(b"acme", json).unwrap(), "acme");
        assert_eq!(json_string_or_text(b"null", json).unwrap(), "");
        assert_eq!(
            json_string_or_text(br#"{"a":1}"#, json)
                .unwrap_err()
                .problem,
            "expected a JSON string or text, got an object"
        );
        assert_eq!(
            json_string_or_text(br#"["k"]"#, absent).unwrap(),
            r#"["k"]"#,
            "undeclared bodies are text"
        );
        assert_eq!(
            json_string_or_text(br#""unterminated"#, absent)
                .unwrap_err()
                .problem,
            "the response body is not a valid JSON string"
        );
        assert_eq!(
            json_string_or_text(b"\xff\xfe", absent)
                .unwrap_err()
                .problem,
            "the response body is not UTF-8"
        );
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err =
            json::<Vec<u32>>(b"[1,\n\"x\"]", &MediaType::Json, "a list of numbers").unwrap_err();
        assert_eq!(err.problem, "the response body is not a list of numbers");
        let source = err.source.unwrap().to_string();
        assert!(source.ends_with("at line 2 column 3"), "{source}");
    }
}
