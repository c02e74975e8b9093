//! Diagnostics of ACTIVATE's answers, for a preflight: what one SSH-key lookup
//! looks like on the wire, and whether this client reads it. Read-only.

use std::fmt;

use crate::body;
use crate::client::{ACCEPT_JSON_OR_TEXT, ActivateClient, NotFound, segment};
use crate::error::ActivateError;
use crate::keys::parse_key_lines;

/// The shape of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyShape {
    /// No bytes, or only whitespace.
    Empty,
    /// A JSON string (the documented form: key lines in one string).
    JsonString,
    /// JSON `null`.
    JsonNull,
    /// A JSON array.
    JsonArray,
    /// A JSON object.
    JsonObject,
    /// A JSON number or boolean.
    JsonScalar,
    /// Not JSON: plain text.
    Text,
}

impl BodyShape {
    /// Classifies `body`.
    pub fn of(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Self::Empty;
        }
        match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(serde_json::Value::String(_)) => Self::JsonString,
            Ok(serde_json::Value::Null) => Self::JsonNull,
            Ok(serde_json::Value::Array(_)) => Self::JsonArray,
            Ok(serde_json::Value::Object(_)) => Self::JsonObject,
            Ok(_) => Self::JsonScalar,
            Err(_) => Self::Text,
        }
    }

    /// `a JSON string`, `text`…
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "an empty body",
            Self::JsonString => "a JSON string",
            Self::JsonNull => "JSON null",
            Self::JsonArray => "a JSON array",
            Self::JsonObject => "a JSON object",
            Self::JsonScalar => "a JSON number or boolean",
            Self::Text => "text",
        }
    }
}

impl fmt::Display for BodyShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one `GET /api/users/{username}/ssh-public-keys` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyLookupProbe {
    /// Whether the `Content-Type` declared JSON.
    pub declared_json: bool,
    /// The body's shape.
    pub shape: BodyShape,
    /// The body's size in bytes.
    pub bytes: usize,
    /// The key lines this client reads from it, or why it cannot read it.
    pub read: Result<usize, String>,
}

impl ActivateClient {
    /// Looks up `username`'s SSH keys once and describes the answer (the keys
    /// themselves are not returned).
    pub async fn probe_ssh_keys(&self, username: &str) -> Result<KeyLookupProbe, ActivateError> {
        let path = format!("api/users/{}/ssh-public-keys", segment("user", username)?);
        let (_, fetched) = self
            .get(&path, ACCEPT_JSON_OR_TEXT, NotFound::Generic)
            .await?;
        let read = body::json_string_or_text(&fetched.body, &fetched.media)
            .map(|listing| parse_key_lines(&listing).len())
            .map_err(|problem| problem.problem);
        Ok(KeyLookupProbe {
            declared_json: fetched.media == body::MediaType::Json,
            shape: BodyShape::of(&fetched.body),
            bytes: fetched.body.len(),
            read,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for (body, shape) in [
            (&b""[..], BodyShape::Empty),
            (b"  \n", BodyShape::Empty),
            (b"\"ssh-ed25519 AAAA a@b\\n\"", BodyShape::JsonString),
            (b"null", BodyShape::JsonNull),
            (b"[\"k\"]", BodyShape::JsonArray),
            (b"{\"keys\": []}", BodyShape::JsonObject),
            (b"12", BodyShape::JsonScalar),
            (b"ssh-ed25519 AAAA a@b\n", BodyShape::Text),
        ] {
            assert_eq!(BodyShape::of(body), shape, "{body:?}");
        }
    }
}
