//! ACTIVATE credentials: API keys and tokens, the platform host they carry, and the
//! `Authorization` header each one is sent with.
//!
//! | credential | looks like | host | sent as |
//! |---|---|---|---|
//! | API key | `pwt_<base64url(host)>.<secret>` | decoded from the key | HTTP Basic, the key as user, empty password |
//! | user token | `pwut_<base64url(host)>.<secret>` | decoded from the token | Bearer |
//! | JWT | three dot-separated segments | the `platform_host` claim | Bearer |
//! | opaque token | `pwoa_…` | none: an explicit URL is needed | Bearer |

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use secrecy::{ExposeSecret as _, SecretString};

const API_KEY_PREFIX: &str = "pwt_";
const USER_TOKEN_PREFIX: &str = "pwut_";
const OPAQUE_TOKEN_PREFIX: &str = "pwoa_";

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// Which kind of credential a string is, decided by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A `pwt_` API key, sent as HTTP Basic.
    ApiKey,
    /// A `pwut_` user token, which embeds the host like an API key but is sent as Bearer.
    UserToken,
    /// A JSON Web Token, sent as Bearer; its `platform_host` claim names the host.
    Jwt,
    /// A `pwoa_` opaque access token, sent as Bearer; it carries no host.
    OpaqueToken,
}

impl CredentialKind {
    /// A short name for messages ("API key", "JWT", …).
    pub fn describe(self) -> &'static str {
        match self {
            Self::ApiKey => "API key",
            Self::UserToken => "user token",
            Self::Jwt => "JWT",
            Self::OpaqueToken => "opaque access token",
        }
    }
}

/// Why a credential string was refused. No variant carries any part of the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The string is empty or only whitespace.
    #[error("the ACTIVATE credential is empty")]
    Empty,
    /// The string has whitespace, control or non-ASCII characters inside it.
    #[error("the ACTIVATE credential contains characters other than printable ASCII")]
    InvalidCharacters,
    /// No known prefix and not a JWT.
    #[error(
        "unrecognised ACTIVATE credential: expected an API key (pwt_…), a token (pwut_…, pwoa_…) or a JWT"
    )]
    UnknownFormat,
    /// A `pwt_`/`pwut_` credential without the `.` between host and secret.
    #[error("malformed ACTIVATE {}: no '.' between the encoded host and the secret", kind.describe())]
    MissingSeparator {
        /// The kind the prefix announced.
        kind: CredentialKind,
    },
    /// The host segment is empty, or decodes to nothing.
    #[error("malformed ACTIVATE {}: the encoded platform host is empty", kind.describe())]
    EmptyHost {
        /// The kind the prefix announced.
        kind: CredentialKind,
    },
    /// The host segment is not base64 (URL-safe or standard), or not UTF-8 once decoded.
    #[error("malformed ACTIVATE {}: the platform host is not valid base64 text", kind.describe())]
    BadHostEncoding {
        /// The kind the prefix announced.
        kind: CredentialKind,
    },
    /// Nothing follows the `.`.
    #[error("malformed ACTIVATE {}: the secret after the '.' is empty", kind.describe())]
    EmptySecret {
        /// The kind the prefix announced.
        kind: CredentialKind,
    },
}

/// An ACTIVATE API key or token.
///
/// The secret is held in a [`SecretString`]; `Debug` shows only the kind and the host.
///
/// ```
/// use activate_client::credentials::{Credential, CredentialKind};
///
/// let key = Credential::parse(" pwt_Y2xvdWQucGFyYWxsZWwud29ya3M.xxxxx\n").unwrap();
/// assert_eq!(key.kind(), CredentialKind::ApiKey);
/// assert_eq!(key.embedded_host(), Some("cloud.parallel.works"));
/// assert!(!format!("{key:?}").contains("xxxxx"));
///
/// let token = Credential::parse("pwoa_opaque").unwrap();
/// assert_eq!(token.embedded_host(), None); // the client then needs an explicit URL
/// ```
#[derive(Clone)]
pub struct Credential {
    kind: CredentialKind,
    secret: SecretString,
    host: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl Credential {
    /// Parses an API key or token. Surrounding whitespace is trimmed.
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(CredentialError::Empty);
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(CredentialError::InvalidCharacters);
        }
        let (kind, host) = if let Some(rest) = value.strip_prefix(API_KEY_PREFIX) {
            let kind = CredentialKind::ApiKey;
            (kind, Some(decode_embedded_host(kind, rest)?))
        } else if let Some(rest) = value.strip_prefix(USER_TOKEN_PREFIX) {
            let kind = CredentialKind::UserToken;
            (kind, Some(decode_embedded_host(kind, rest)?))
        } else if let Some(rest) = value.strip_prefix(OPAQUE_TOKEN_PREFIX) {
            if rest.is_empty() {
                return Err(CredentialError::EmptySecret {
                    kind: CredentialKind::OpaqueToken,
                });
            }
            (CredentialKind::OpaqueToken, None)
        } else if is_jwt_shaped(value) {
            (CredentialKind::Jwt, jwt_platform_host(value))
        } else {
            return Err(CredentialError::UnknownFormat);
        };
        Ok(Self {
            kind,
            secret: SecretString::from(value.to_owned()),
            host,
        })
    }

    /// The kind of credential.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The platform host carried by the credential, exactly as decoded (without the
    /// `https://` this crate adds), if it carries one.
    pub fn embedded_host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Replaces this credential, and its HTTP Basic encoding, wherever it appears in
    /// `body` with `[REDACTED]`, should a server echo it back in a response that ends
    /// up in an error message.
    pub(crate) fn mask_in(&self, body: &mut Vec<u8>) {
        let secret = self.secret.expose_secret();
        let mut needles = vec![secret.as_bytes().to_vec()];
        if self.kind == CredentialKind::ApiKey {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{secret}:"));
            needles.push(basic.trim_end_matches('=').as_bytes().to_vec());
        }
        for needle in &needles {
            http_policy::redact::redact_in(body, needle);
        }
    }

    /// The value of the `Authorization` header for this credential.
    pub(crate) fn authorization(&self) -> String {
        let secret = self.secret.expose_secret();
        match self.kind {
            CredentialKind::ApiKey => {
                let pair = format!("{secret}:");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            CredentialKind::UserToken | CredentialKind::Jwt | CredentialKind::OpaqueToken => {
                format!("Bearer {secret}")
            }
        }
    }
}

fn decode_embedded_host(kind: CredentialKind, rest: &str) -> Result<String, CredentialError> {
    let (encoded, secret) = rest
        .split_once('.')
        .ok_or(CredentialError::MissingSeparator { kind })?;
    if encoded.is_empty() {
        return Err(CredentialError::EmptyHost { kind });
    }
    if secret.is_empty() {
        return Err(CredentialError::EmptySecret { kind });
    }
    let bytes = decode_base64(encoded).ok_or(CredentialError::BadHostEncoding { kind })?;
    let host = String::from_utf8(bytes).map_err(|_| CredentialError::BadHostEncoding { kind })?;
    if host.trim().is_empty() {
        return Err(CredentialError::EmptyHost { kind });
    }
    Ok(host)
}

/// URL-safe base64 first (padding optional), then the standard alphabet.
fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    URL_SAFE_LENIENT
        .decode(encoded)
        .or_else(|_| STANDARD_LENIENT.decode(encoded))
        .ok()
}

fn is_jwt_shaped(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3 && parts[..2].iter().all(|p| !p.is_empty())
}

/// The `platform_host` claim of a JWT's payload, if it decodes and holds a non-empty
/// string. The signature is not checked: the server does that.
fn jwt_platform_host(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = decode_base64(payload)?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let host = claims.get("platform_host")?.as_str()?.trim();
    (!host.is_empty()).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echoed_key_and_its_basic_encoding_are_masked() {
        let key = "pwt_Y2xvdWQucGFyYWxsZWwud29ya3M.s3cr3t-value";
        let credential = Credential::parse(key).unwrap();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        let mut body =
            format!(r#"{{"message":"bad key {key}","header":"Basic {basic}"}}"#).into_bytes();
        credential.mask_in(&mut body);
        let body = String::from_utf8(body).unwrap();
        let padding = "=".repeat(basic.len() - basic.trim_end_matches('=').len());
        assert_eq!(
            body,
            format!(r#"{{"message":"bad key [REDACTED]","header":"Basic [REDACTED]{padding}"}}"#)
        );
        let mut clean = b"nothing to hide".to_vec();
        credential.mask_in(&mut clean);
        assert_eq!(clean, b"nothing to hide");
    }
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    fn key(host: &str, secret: &str) -> String {
        format!("pwt_{}.{secret}", URL_SAFE_NO_PAD.encode(host))
    }

    #[test]
    fn worked_example_gives_cloud_parallel_works() {
        let c = Credential::parse("pwt_Y2xvdWQucGFyYWxsZWwud29ya3M.xxxxx").unwrap();
        assert_eq!(c.kind(), CredentialKind::ApiKey);
        assert_eq!(c.embedded_host(), Some("cloud.parallel.works"));
        let a = Credential::parse("pwt_YWN0aXZhdGUucGFyYWxsZWwud29ya3M.s3cr3t").unwrap();
        assert_eq!(a.embedded_host(), Some("activate.parallel.works"));
    }

    #[test]
    fn padding_and_standard_alphabet_are_tolerated() {
        // "???" encodes with '/' in the standard alphabet and '_' in the URL-safe one.
        let host = "???.example";
        let padded = format!("pwt_{}.sec", URL_SAFE.encode(host));
        let standard = format!("pwt_{}.sec", STANDARD.encode(host));
        assert!(STANDARD.encode(host).contains('/'));
        for k in [padded, standard] {
            assert_eq!(
                Credential::parse(&k).unwrap().embedded_host(),
                Some(host),
                "{k}"
            );
        }
    }

    #[test]
    fn secret_may_contain_dots_and_whitespace_is_trimmed() {
        let c = Credential::parse(&format!("\t{}\r\n", key("h.example", "a.b.c"))).unwrap();
        assert_eq!(c.embedded_host(), Some("h.example"));
        assert_eq!(
            c.authorization(),
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:", key("h.example", "a.b.c")))
            )
        );
    }

    #[test]
    fn tokens_go_as_bearer() {
        let ut = format!("pwut_{}.tok", URL_SAFE_NO_PAD.encode("u.example"));
        let c = Credential::parse(&ut).unwrap();
        assert_eq!(c.kind(), CredentialKind::UserToken);
        assert_eq!(c.embedded_host(), Some("u.example"));
        assert_eq!(c.authorization(), format!("Bearer {ut}"));

        let c = Credential::parse("pwoa_abcdef").unwrap();
        assert_eq!(c.kind(), CredentialKind::OpaqueToken);
        assert_eq!(c.embedded_host(), None);
        assert_eq!(c.authorization(), "Bearer pwoa_abcdef");
    }

    #[test]
    fn jwt_host_comes_from_the_platform_host_claim() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"u1","platform_host":"jwt.example"}"#);
        let jwt = format!("{header}.{payload}.c2lnbmF0dXJl");
        let c = Credential::parse(&jwt).unwrap();
        assert_eq!(c.kind(), CredentialKind::Jwt);
        assert_eq!(c.embedded_host(), Some("jwt.example"));
        assert_eq!(c.authorization(), format!("Bearer {jwt}"));

        let no_claim = format!("{header}.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"sub":"u1"}"#));
        let c = Credential::parse(&no_claim).unwrap();
        assert_eq!(c.embedded_host(), None);
    }

    #[test]
    fn malformed_keys_are_rejected_with_specific_errors() {
        let api = CredentialKind::ApiKey;
        let cases = [
            ("", CredentialError::Empty),
            ("   \n", CredentialError::Empty),
            (
                "pwt_nodotatall",
                CredentialError::MissingSeparator { kind: api },
            ),
            ("pwt_.secretpart", CredentialError::EmptyHost { kind: api }),
            (
                "pwt_!!!$$$.secretpart",
                CredentialError::BadHostEncoding { kind: api },
            ),
            // "/w==" decodes to the byte 0xff, which is not UTF-8.
            (
                "pwt_/w==.secretpart",
                CredentialError::BadHostEncoding { kind: api },
            ),
            (
                "pwt_ICAg.secretpart",
                CredentialError::EmptyHost { kind: api },
            ),
            ("pwt_aGVsbG8.", CredentialError::EmptySecret { kind: api }),
            ("pwk_aGVsbG8.secretpart", CredentialError::UnknownFormat),
            ("secretpart", CredentialError::UnknownFormat),
            (
                "pwt_aGVsbG8.secret part",
                CredentialError::InvalidCharacters,
            ),
            (
                "pwoa_",
                CredentialError::EmptySecret {
                    kind: CredentialKind::OpaqueToken,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Credential::parse(input).unwrap_err(), expected, "{input:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credential::parse(&key("h.example", "TOPSECRETVALUE")).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("TOPSECRETVALUE"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(debug.contains("h.example"), "{debug}");
        let c = Credential::parse("pwoa_TOPSECRETVALUE").unwrap();
        assert!(!format!("{c:?}").contains("TOPSECRETVALUE"));
    }

    proptest! {
        #[test]
        fn any_host_round_trips(host in "\\PC*[^\\s]\\PC*", secret in "[A-Za-z0-9_-]{1,40}") {
            let c = Credential::parse(&key(&host, &secret)).unwrap();
            prop_assert_eq!(c.embedded_host(), Some(host.as_str()));
            prop_assert_eq!(c.kind(), CredentialKind::ApiKey);
            let padded = format!("pwt_{}.{secret}", URL_SAFE.encode(&host));
            let c = Credential::parse(&padded).unwrap();
            prop_assert_eq!(c.embedded_host(), Some(host.as_str()));
        }

        #[test]
        fn errors_never_contain_the_secret(
            bad_host in prop_oneof![
                Just(String::new()),
                Just("!!".to_owned()),
                Just("/w".to_owned()),
                "[A-Za-z0-9]{0,12}",
            ],
            prefix in prop_oneof![Just("pwt_"), Just("pwut_"), Just("pwx_"), Just("")],
            secret in "[A-Za-z0-9]{12,40}",
            shape in 0..3u8,
        ) {
            let raw = match shape {
                0 => format!("{prefix}{bad_host}.{secret}"),
                1 => format!("{prefix}{secret}"),
                _ => format!("{prefix}{bad_host}{secret}"),
            };
            match Credential::parse(&raw) {
                Err(e) => {
                    let shown = format!("{e} {e:?}");
                    prop_assert!(!shown.contains(&secret), "{}", shown);
                }
                Ok(c) => {
                    let debug = format!("{c:?}");
                    prop_assert!(!debug.contains(&secret), "{}", debug);
                }
            }
        }
    }
}
