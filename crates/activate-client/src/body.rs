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

fn utf8(body: &[u8]) -> Result<&str, BodyProblem> {
    std::str::from_utf8(body)
        .map_err(|e| BodyProblem::new("the response body is not UTF-8", Some(Box::new(e))))
}

/// Parses JSON of shape `T`. `serde_json`'s error (with line and column) is the source.
pub(crate) fn json<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, BodyProblem> {
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
/// - a body starting with `"` must be one JSON string;
/// - JSON `null` is the empty string;
/// - a JSON object, array, number or boolean is an error when `declared_json`;
/// - anything else is the text itself.
pub(crate) fn json_string_or_text(body: &[u8], declared_json: bool) -> Result<String, BodyProblem> {
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
    if declared_json && let Ok(other) = serde_json::from_str::<serde_json::Value>(trimmed) {
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
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_string_text_and_null() {
        assert_eq!(
            json_string_or_text(br#" "acme\norg" "#, true).unwrap(),
            "acme\norg"
        );
        assert_eq!(json_string_or_text(b"acme\n", false).unwrap(), "acme\n");
        assert_eq!(json_string_or_text(b"acme", true).unwrap(), "acme");
        assert_eq!(json_string_or_text(b"null", true).unwrap(), "");
        assert_eq!(
            json_string_or_text(br#"{"a":1}"#, true)
                .unwrap_err()
                .problem,
            "expected a JSON string or text, got an object"
        );
        assert_eq!(
            json_string_or_text(br#"["k"]"#, false).unwrap(),
            r#"["k"]"#,
            "undeclared bodies are text"
        );
        assert_eq!(
            json_string_or_text(br#""unterminated"#, false)
                .unwrap_err()
                .problem,
            "the response body is not a valid JSON string"
        );
        assert_eq!(
            json_string_or_text(b"\xff\xfe", false).unwrap_err().problem,
            "the response body is not UTF-8"
        );
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = json::<Vec<u32>>(b"[1,\n\"x\"]", "a list of numbers").unwrap_err();
        assert_eq!(err.problem, "the response body is not a list of numbers");
        let source = err.source.unwrap().to_string();
        assert!(source.ends_with("at line 2 column 3"), "{source}");
    }
}
