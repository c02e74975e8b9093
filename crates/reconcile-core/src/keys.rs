//! SSH public keys: parsed and validated with the `ssh-key` crate, normalized,
//! deduplicated, compared as sets, and shown only by fingerprint.
//!
//! Normal form: `<algorithm> <base64 key data>[ <comment>]` as `ssh-key`
//! encodes it, with the comment's whitespace collapsed to single spaces.
//! ACTIVATE is the source of truth for comments too, so a changed comment is a
//! change; but reordering lines, extra blanks, tabs or trailing whitespace are
//! not. Two lines with the same key data are one key (the first line's comment
//! wins).
//!
//! A line already in normal form (as ACTIVATE usually gives keys) is checked
//! without `ssh-key`'s slower base64 and kept as it is; any other line goes
//! through `ssh-key` as a whole. Either way a line is accepted or rejected, with
//! the same reason, exactly as `ssh-key` alone decides (see `parse_normal`).
//!
//! Source keys must also be usable and strong enough: RSA keys with a modulus
//! under [`MIN_RSA_BITS`], DSA (`ssh-dss`) keys and key types this parser does
//! not know are rejected like unparsable lines. Keys already stored in
//! the target are read without that check, so a weak stored key is still shown
//! by its fingerprint (and removed, since no desired key matches it).

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Serialize, Serializer};
use ssh_encoding::{Decode, Encode, Writer};
use ssh_key::public::KeyData;
use ssh_key::{HashAlg, Mpint, PublicKey};

/// The smallest RSA modulus accepted from the source, in bits (NIST SP 800-131A
/// retired RSA keys below 2048 bits).
pub const MIN_RSA_BITS: usize = 2048;

/// A valid SSH public key in normal form.
///
/// `Debug` and `Serialize` show the algorithm, the SHA256 fingerprint and the
/// comment, never the key data; [`SshKey::as_openssh`] gives the full line for
/// the request body.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SshKey {
    /// `algorithm base64[ comment]`. Shared: the desired state and every plan
    /// operation that carries the key hold one copy of the text.
    openssh: Arc<str>,
    /// End of the algorithm name in `openssh`.
    algorithm_end: usize,
    /// End of the key data (algorithm and base64) in `openssh`.
    data_end: usize,
}

impl SshKey {
    /// Parses one OpenSSH public key line (`algorithm base64 [comment]`) and
    /// rejects what no current `sshd` would accept for login: RSA keys shorter
    /// than [`MIN_RSA_BITS`], DSA keys (disabled by default in OpenSSH 7.0 and
    /// removed in 9.8), and algorithms the parser does not know.
    pub fn parse(line: &str) -> Result<Self, InvalidKey> {
        let (key, data) = Self::parse_any_strength(line)?;
        match data {
            KeyData::Rsa(rsa) => {
                let bits = modulus_bits(&rsa.n);
                if bits < MIN_RSA_BITS {
                    return Err(InvalidKey(format!(
                        "RSA key of {bits} bits is too weak (at least {MIN_RSA_BITS} are required)"
                    )));
                }
            }
            KeyData::Dsa(_) => {
                return Err(InvalidKey(
                    "DSA (ssh-dss) keys are not accepted: OpenSSH disabled them in 7.0 and \
                     removed them in 9.8"
                        .to_owned(),
                ));
            }
            KeyData::Other(_) => {
                return Err(InvalidKey(format!(
                    "unknown key type {:?}",
                    key.algorithm()
                )));
            }
            _ => {}
        }
        Ok(key)
    }

    /// Parses a key line without the strength check (for values already stored).
    fn parse_any_strength(line: &str) -> Result<(Self, KeyData), InvalidKey> {
        let line = line.trim();
        let collapsed;
        let line = if line.contains(['\t', '\n', '\r', '\u{b}', '\u{c}']) || line.contains("  ") {
            collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
            collapsed.as_str()
        } else {
            line
        };
        let (openssh, data): (Arc<str>, KeyData) = if let Some(data) = parse_normal(line) {
            (Arc::from(line), data)
        } else {
            let key = PublicKey::from_openssh(line).map_err(|e| InvalidKey(e.to_string()))?;
            let openssh = key.to_openssh().map_err(|e| InvalidKey(e.to_string()))?;
            (Arc::from(openssh), key.into())
        };
        let algorithm_end = openssh.find(' ').unwrap_or(openssh.len());
        let data_end = openssh[algorithm_end + 1..]
            .find(' ')
            .map_or(openssh.len(), |i| algorithm_end + 1 + i);
        let parsed = Self {
            openssh,
            algorithm_end,
            data_end,
        };
        Ok((parsed, data))
    }

    /// The full key in normal form, for the SCIM request body.
    pub fn as_openssh(&self) -> &str {
        &self.openssh
    }

    /// The SHA256 fingerprint, `SHA256:<base64>` (computed on each call).
    pub fn fingerprint(&self) -> String {
        PublicKey::from_openssh(&self.openssh)
            .map(|key| key.fingerprint(HashAlg::Sha256).to_string())
            .unwrap_or_default()
    }

    /// The algorithm name, for example `ssh-ed25519`.
    pub fn algorithm(&self) -> &str {
        &self.openssh[..self.algorithm_end]
    }

    /// The comment (may be empty).
    pub fn comment(&self) -> &str {
        self.openssh.get(self.data_end + 1..).unwrap_or("")
    }

    /// The algorithm and key data, without the comment.
    fn data(&self) -> &str {
        &self.openssh[..self.data_end]
    }

    /// A display summary of this key.
    pub fn summary(&self) -> KeySummary {
        KeySummary::Valid {
            algorithm: self.algorithm().to_owned(),
            fingerprint: self.fingerprint(),
            comment: self.comment().to_owned(),
        }
    }
}

impl fmt::Debug for SshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshKey")
            .field("algorithm", &self.algorithm())
            .field("fingerprint", &self.fingerprint())
            .field("comment", &self.comment())
            .finish_non_exhaustive()
    }
}

impl Serialize for SshKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.summary().serialize(serializer)
    }
}

/// The key data on `line` (trimmed, single spaces) when `line` is already its
/// own normal form, or `None` to take the general path
/// ([`PublicKey::from_openssh`], then [`PublicKey::to_openssh`]).
///
/// It accepts only what the general path accepts, and only where the general
/// path would give back `line` unchanged: the key data is strict, canonical
/// base64 (padded, no stray bits: one text per byte string) of a known key type
/// whose name is the line's algorithm, it decodes with nothing left over, and it
/// encodes back to the same bytes. Everything else, including every line the
/// general path rejects, goes the general path, so its errors stay the same.
/// The point is speed: `ssh-key` decodes base64 in constant time, several times
/// slower than this, and encodes the key a second time, allocating as it goes;
/// this compares the key's encoding with the decoded bytes in place.
fn parse_normal(line: &str) -> Option<KeyData> {
    let (algorithm, rest) = line.split_once(' ')?;
    let base64 = rest.split_once(' ').map_or(rest, |(data, _comment)| data);
    let mut buffer = [0; NORMAL_BLOB_MAX];
    let len = STANDARD.decode_slice(base64, &mut buffer).ok()?;
    let blob = &buffer[..len];
    let mut rest = blob;
    let key = KeyData::decode(&mut rest).ok()?;
    let known = !matches!(key, KeyData::Other(_));
    (known && rest.is_empty() && key.algorithm().as_str() == algorithm && encodes_to(&key, blob))
        .then_some(key)
}

/// The longest key blob [`parse_normal`] decodes (an 8192-bit RSA key takes
/// about 1,050 bytes); longer ones take the general path.
const NORMAL_BLOB_MAX: usize = 2048;

/// Whether `key` encodes to exactly `blob`.
fn encodes_to(key: &KeyData, blob: &[u8]) -> bool {
    /// Compares what is written with the bytes still expected.
    struct Expect<'b>(Option<&'b [u8]>);
    impl Writer for Expect<'_> {
        fn write(&mut self, bytes: &[u8]) -> ssh_encoding::Result<()> {
            self.0 = self.0.and_then(|rest| rest.strip_prefix(bytes));
            Ok(())
        }
    }
    let mut expect = Expect(Some(blob));
    key.encode(&mut expect).is_ok() && expect.0.is_some_and(<[u8]>::is_empty)
}

/// The size in bits of an RSA modulus (its positive big-endian value).
fn modulus_bits(n: &Mpint) -> usize {
    let bytes = n.as_positive_bytes().unwrap_or_default();
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

/// Why a key line was rejected (the parser's message; never contains the key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid OpenSSH public key: {0}")]
pub struct InvalidKey(String);

/// How a key is shown in plans: by fingerprint, never in full.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum KeySummary {
    /// A key that parses.
    Valid {
        /// Algorithm name.
        algorithm: String,
        /// `SHA256:<base64>` fingerprint.
        fingerprint: String,
        /// Comment (may be empty).
        comment: String,
    },
    /// A stored value that does not parse as a key.
    Invalid {
        /// Its length in characters.
        invalid_length: usize,
    },
}

impl fmt::Display for KeySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid {
                algorithm,
                fingerprint,
                comment,
            } if comment.is_empty() => write!(f, "{fingerprint} ({algorithm})"),
            Self::Valid {
                algorithm,
                fingerprint,
                comment,
            } => write!(f, "{fingerprint} ({algorithm}, {comment:?})"),
            Self::Invalid { invalid_length } => {
                write!(f, "unparsable value ({invalid_length} characters)")
            }
        }
    }
}

/// A rejected source key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RejectedLine {
    /// 1-based line number across all of the user's key entries.
    pub line: usize,
    pub reason: String,
}

/// Parses a user's raw key entries: skips blank and `#` lines, rejects invalid
/// lines, removes duplicates (same key data; the first line wins), returns the
/// keys sorted.
pub(crate) fn parse_source_keys(entries: &[String]) -> (Vec<SshKey>, Vec<RejectedLine>) {
    let mut keys = Vec::new();
    let mut rejected = Vec::new();
    let lines = entries.iter().flat_map(|entry| entry.lines());
    for (index, line) in lines.enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match SshKey::parse(trimmed) {
            Ok(key) => keys.push(key),
            Err(InvalidKey(reason)) => rejected.push(RejectedLine {
                line: index + 1,
                reason,
            }),
        }
    }
    if keys.len() > 1 {
        // A stable sort keeps lines with the same key data in line order, so
        // `dedup_by` keeps the first of them.
        keys.sort_by(|a, b| a.data().cmp(b.data()));
        keys.dedup_by(|later, first| later.data() == first.data());
        keys.sort_unstable();
    }
    (keys, rejected)
}

/// Whether the stored key values are, as a set of normal forms, exactly
/// `desired` (which is in normal form and free of duplicates).
pub(crate) fn same_key_set(desired: &[SshKey], stored: &[String]) -> bool {
    // Fastest path: the values are the desired normal forms in order (as this
    // tool writes them).
    if desired.len() == stored.len()
        && desired
            .iter()
            .zip(stored)
            .all(|(key, value)| key.as_openssh() == value)
    {
        return true;
    }
    let wanted: HashSet<&str> = desired.iter().map(SshKey::as_openssh).collect();
    // Fast path: every stored value is already one of the desired normal forms.
    let mut seen: HashSet<&str> = HashSet::with_capacity(stored.len());
    let mut all_normal = true;
    for value in stored {
        if wanted.contains(value.as_str()) {
            seen.insert(value.as_str());
        } else if !value.trim().is_empty() {
            all_normal = false;
            break;
        }
    }
    if all_normal {
        return seen.len() == wanted.len();
    }
    let normalized = observed_key_set(stored);
    normalized.len() == wanted.len() && normalized.iter().all(|k| wanted.contains(k.as_str()))
}

/// The keys of `desired` whose key data `stored` already holds (a changed
/// comment does not make a key new), in `desired`'s order.
pub(crate) fn keys_already_held(desired: &[SshKey], stored: &[String]) -> Vec<SshKey> {
    let held: HashSet<String> = stored
        .iter()
        .filter_map(|value| SshKey::parse_any_strength(value).ok())
        .map(|(key, _)| key.data().to_owned())
        .collect();
    desired
        .iter()
        .filter(|key| held.contains(key.data()))
        .cloned()
        .collect()
}

/// The normal forms of stored key values (unparsable values kept as trimmed,
/// whitespace-collapsed text so they compare unequal to any valid key).
fn observed_key_set(stored: &[String]) -> BTreeSet<String> {
    stored
        .iter()
        .filter(|value| !value.trim().is_empty())
        .map(|value| match SshKey::parse_any_strength(value) {
            Ok((key, _)) => key.openssh.to_string(),
            Err(_) => value.split_whitespace().collect::<Vec<_>>().join(" "),
        })
        .collect()
}

/// Display summaries of stored key values, sorted, duplicates removed.
pub(crate) fn observed_key_summaries(stored: &[String]) -> Vec<KeySummary> {
    let set: BTreeSet<KeySummary> = stored
        .iter()
        .filter(|value| !value.trim().is_empty())
        .map(|value| match SshKey::parse_any_strength(value) {
            Ok((key, _)) => key.summary(),
            Err(_) => KeySummary::Invalid {
                invalid_length: value.trim().chars().count(),
            },
        })
        .collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    /// `ssh-keygen -t rsa -b 1024`.
    const RSA_1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC6no78XxQu0GbZzXXXg3xgt5DsbYUsLNnxDv8oJGwbCaKc8sdiJBpERhBANBGLNqmpRfTIN+DNBoUq7e14R8tf5aVl+0jNubBOcmqOWH/sij2cmfjSTETQb7M1ACCHMMn3JsjiowCDkTRoI8Bbfw1IcodB/xXRCTfLa4u7R0uASQ== weak";
    /// `ssh-keygen -t rsa -b 2048`.
    const RSA_2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCs0PmU+nDi3LJ2GEyNQO9lG+c4UPfCvhpxBiMvVsbanZTBVJiaT8e0FqBcdkgjqkhWWVCAOsKBz5Gefo509FgNbIY3kOy8oU0YCiduyiE+Fc4O+5C1zbft/QnIb6YYQPiYhxpe+hF5fvDaL+xzcgo8Z9PPhRZ1eIANR118bfkgbT50FbwNukQ9zt+XfCMSRWZ5LDQHUnZ3s+uNLy4frM4ixHfSgTfWwRzY33a4LCMILA8HP71ipwDCAQlqWMSvIWyQdFqyv7YS/MWz0XSohmUpkYTvIbKeE5y1ZqdNhDQab1Ar7+THQLpwmDkFtxGdh00A1fFkr2/fuIWcYR4sm3Df ok";

    #[test]
    fn rsa_keys_parse_and_fingerprint_and_weak_ones_are_rejected() {
        let key = SshKey::parse(RSA_2048).unwrap();
        assert_eq!(key.algorithm(), "ssh-rsa");
        assert_eq!(key.comment(), "ok");
        // `ssh-keygen -l` prints the same fingerprint.
        assert_eq!(
            key.fingerprint(),
            "SHA256:A8U0IlhdZjzs8B1Gq6aa1Ei3p45yK8ezJ1rnbf1CqzA"
        );
        let weak = SshKey::parse(RSA_1024).unwrap_err();
        assert_eq!(
            weak.to_string(),
            "not a valid OpenSSH public key: RSA key of 1024 bits is too weak \
             (at least 2048 are required)"
        );
        let (keys, rejected) = parse_source_keys(&[format!("{RSA_1024}\n{RSA_2048}")]);
        assert_eq!(keys, vec![key]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 1);
        assert!(rejected[0].reason.contains("1024 bits"));
        // A weak key already stored is shown by its fingerprint, and is not a desired key.
        assert_eq!(
            observed_key_summaries(&[RSA_1024.to_owned()]),
            vec![KeySummary::Valid {
                algorithm: "ssh-rsa".into(),
                fingerprint: "SHA256:xojW4+5Lm2VIMdJtFA0iZNC++V/EP0Qh7LmRVSPowDw".into(),
                comment: "weak".into(),
            }]
        );
        assert!(!same_key_set(&[], &[RSA_1024.to_owned()]));
    }

    /// `ssh-keygen -t dsa` (OpenSSH 9.2).
    const DSA: &str = "ssh-dss AAAAB3NzaC1kc3MAAACBAKNRRu1lAgAVXHJxYUK5oF5/4GJqwAmJCq2XTV8E3zNjVgikKtduQztHjk4hTcI8Cfb9+4ssj0bNJQxN+40BGNp/7wiGgmw9FtZulA1X4iTA8QBUWG2I+KSZAflJxEy3IeE5rlKkof1vWSEFSbuNGIMexRgnKdOZIGzCG0AYQicHAAAAFQDdOh75/JO91995GNlOs7XRif6aCwAAAIBuUtsAfV+mg1FOVQ3Z22LrrE1649c1zY7ztU7ACeqjpuy6RhJLWUh3Lsc0aMHVIn/0mW55Z7R+KgrWHG64NRH4vsBCIOvYwYDShEPdhhOqvaudd8iZJ6h0c8lIeeF00YGWoomGAStlT0CVVJfAheOowXtQac/UGY4EbHC3vrd5sQAAAIAMKOQJ8tW1IEdUN3GLm0pvQ77FTQlAACa6mPUPlQnnvKAITwUg+43eEDHfXvsbmbfu8MDZrW6QtNNqpeVveVFqkA9WV+ziVkRQw9Y9L7ACbO6dPYCi9VBbVPXBzVtvR5TMyo0ef8CXBfQl9ljT/htKxwd5wthLU/SMqUZAW5Qtog== old";
    /// `ssh-keygen -t ecdsa -b 256`.
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGw9ng+iX/LMjYQ/lJK27BHF8X19boMMFwneH0J4ELmXFBxu8mUiJ0OrQ6BTpJblQ3TH87PCA3DrGSsc/4WziHM= ec";
    /// A FIDO key: `sk-ssh-ed25519@openssh.com`, 32 key bytes, application `ssh:`.
    const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAAAABHNzaDo= yubikey";
    /// Well-formed key data of a vendor algorithm (`name@domain`) nobody implements.
    const UNKNOWN: &str = "foo@example.com AAAAD2Zvb0BleGFtcGxlLmNvbQAAAARhYmNk";

    #[test]
    fn only_key_types_sshd_accepts_are_taken_from_the_source() {
        for (line, algorithm) in [
            (ED, "ssh-ed25519"),
            (ECDSA, "ecdsa-sha2-nistp256"),
            (SK_ED25519, "sk-ssh-ed25519@openssh.com"),
        ] {
            assert_eq!(SshKey::parse(line).unwrap().algorithm(), algorithm);
        }
        let dsa = SshKey::parse(DSA).unwrap_err().to_string();
        assert_eq!(
            dsa,
            "not a valid OpenSSH public key: DSA (ssh-dss) keys are not accepted: OpenSSH \
             disabled them in 7.0 and removed them in 9.8"
        );
        let unknown = SshKey::parse(UNKNOWN).unwrap_err().to_string();
        assert_eq!(
            unknown,
            "not a valid OpenSSH public key: unknown key type \"foo@example.com\""
        );
        let (keys, rejected) = parse_source_keys(&[format!("{DSA}\n{UNKNOWN}\n{ED}")]);
        assert_eq!(keys.len(), 1);
        assert_eq!(
            rejected.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2]
        );
        // A DSA key already stored is still shown by its fingerprint (and so removed).
        assert_eq!(
            observed_key_summaries(&[DSA.to_owned()]),
            vec![KeySummary::Valid {
                algorithm: "ssh-dss".into(),
                fingerprint: "SHA256:pfU0KIdKbvwMaJ28FgT5yZJv1aMwfsPfEKxRNYVzfJM".into(),
                comment: "old".into(),
            }]
        );
    }

    #[test]
    fn modulus_bits_counts_from_the_highest_set_bit() {
        let bits = |bytes: &[u8]| modulus_bits(&Mpint::from_positive_bytes(bytes).unwrap());
        assert_eq!(bits(&[0x01]), 1);
        assert_eq!(bits(&[0x80, 0x00]), 16);
        assert_eq!(bits(&[0x7f, 0xff, 0xff]), 23);
        assert_eq!(bits(&[0x00, 0x00, 0x01, 0x00]), 9);
        assert_eq!(bits(&[]), 0);
    }

    #[test]
    fn whitespace_is_normalized_and_comment_kept() {
        let key = SshKey::parse(&format!(
            "  {}\t  alice@laptop   home \n",
            ED.replace(' ', "\t ")
        ))
        .unwrap();
        assert_eq!(key.as_openssh(), format!("{ED} alice@laptop home"));
        assert_eq!(key.algorithm(), "ssh-ed25519");
        assert_eq!(key.comment(), "alice@laptop home");
        assert!(key.fingerprint().starts_with("SHA256:"));
        assert!(!format!("{key:?}").contains("AAAAC3"));
        assert!(!serde_json::to_string(&key).unwrap().contains("AAAAC3"));
    }

    #[test]
    fn duplicates_by_key_data_keep_the_first_comment_and_bad_lines_are_numbered() {
        let entries = vec![
            format!("{ED} first"),
            "\n# a comment line\nnot-a-key AAAA".to_owned(),
            format!("{ED} second\nssh-ed25519 !!!"),
        ];
        let (keys, rejected) = parse_source_keys(&entries);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].comment(), "first");
        let lines: Vec<usize> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 6]);
        assert!(rejected.iter().all(|r| !r.reason.contains("AAAA")));
    }

    #[test]
    fn observed_values_normalize_to_the_same_set() {
        let stored = vec![format!("{ED}   c "), format!("{ED} c"), "junk".to_owned()];
        let set = observed_key_set(&stored);
        assert_eq!(set.len(), 2);
        assert!(set.contains(&format!("{ED} c")));
        let key = SshKey::parse(&format!("{ED} c")).unwrap();
        assert!(same_key_set(
            std::slice::from_ref(&key),
            &[format!("{ED} c")]
        ));
        assert!(same_key_set(
            std::slice::from_ref(&key),
            &[format!("{ED}\tc "), String::new()]
        ));
        assert!(!same_key_set(std::slice::from_ref(&key), &stored));
        assert!(!same_key_set(&[], &stored[..1]));
        assert!(same_key_set(&[], &[" ".to_owned()]));
        let summaries = observed_key_summaries(&stored);
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[1], KeySummary::Invalid { invalid_length: 4 });
    }

    /// Base64 (standard alphabet, padded) of `bytes`.
    fn base64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    fn reason(line: &str) -> String {
        match SshKey::parse(line) {
            Ok(key) => panic!("{line:?} was accepted as {key:?}"),
            Err(InvalidKey(reason)) => reason,
        }
    }

    #[test]
    fn key_data_that_is_not_exactly_one_well_formed_key_of_the_named_type_is_rejected() {
        // Base64 that is not canonical: the bits after the last byte are not
        // zero ("M" → "N" changes only those), or the padding is missing or doubled.
        assert!(ECDSA.contains("iHM= "));
        for line in [
            ECDSA.replace("iHM= ", "iHN= "),
            ECDSA.replace("iHM= ", "iHM "),
            ECDSA.replace("iHM= ", "iHM== "),
        ] {
            assert_eq!(
                reason(&line),
                "Base64 encoding error: invalid Base64 encoding",
                "{line}"
            );
        }
        // The type named before the data is not the type inside it.
        assert_eq!(
            reason(&ED.replace("ssh-ed25519 ", "ssh-rsa ")),
            "unknown algorithm"
        );
        assert_eq!(
            reason(&ECDSA.replace("ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ")),
            "unknown algorithm"
        );
        assert_eq!(
            reason(&RSA_2048.replace("ssh-rsa ", "ssh-ed25519 ")),
            "unknown algorithm"
        );
        // A blob cut short, and one with bytes after the key, each in valid base64.
        let (_, data) = ED.split_once(' ').unwrap();
        let blob = STANDARD.decode(data).unwrap();
        let truncated = format!("ssh-ed25519 {}", base64(&blob[..blob.len() - 1]));
        assert_eq!(
            reason(&truncated),
            "Base64 encoding error: invalid Base64 length"
        );
        let mut longer = blob.clone();
        longer.extend_from_slice(b"xyz");
        let trailing = format!("ssh-ed25519 {}", base64(&longer));
        assert_eq!(
            reason(&trailing),
            "unexpected trailing data at end of message (3 bytes)"
        );
        // Base64 cut short, and characters outside the alphabet.
        assert_eq!(
            reason(&ED[..ED.len() - 2]),
            "Base64 encoding error: invalid Base64 encoding"
        );
        assert_eq!(
            reason(&ED.replace('+', "-")),
            "Base64 encoding error: invalid Base64 encoding"
        );
        // A line ACTIVATE gives in normal form is kept byte for byte.
        for line in [ED, ECDSA, SK_ED25519, RSA_2048] {
            assert_eq!(SshKey::parse(line).unwrap().as_openssh(), line);
        }
    }

    /// What `SshKey::parse_any_strength` did before it took normal lines as
    /// they are: `ssh-key` parses every line and encodes it again.
    fn through_ssh_key(line: &str) -> Result<String, String> {
        let line = line.trim();
        let line = if line.contains(['\t', '\n', '\r', '\u{b}', '\u{c}']) || line.contains("  ") {
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            line.to_owned()
        };
        PublicKey::from_openssh(&line)
            .and_then(|key| key.to_openssh())
            .map_err(|e| e.to_string())
    }

    fn mutated_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let lines = [ED, ECDSA, SK_ED25519, RSA_2048, RSA_1024, DSA, UNKNOWN];
        let chars = prop::sample::select(vec![
            'A', 'B', 'Q', 'g', 'w', '/', '+', '=', '-', '@', '.', ' ', '\t', 'é', '\u{a0}',
        ]);
        (
            prop::sample::select(lines.to_vec()),
            any::<prop::sample::Index>(),
            0..5_u8,
            chars,
            prop::option::of("[ a-z@.]{0,6}"),
        )
            .prop_map(|(line, at, edit, c, comment)| {
                let mut chars: Vec<char> = line.chars().collect();
                let i = at.index(chars.len());
                match edit {
                    0 => chars[i] = c,
                    1 => chars.insert(i, c),
                    2 => {
                        chars.remove(i);
                    }
                    3 => chars.truncate(i),
                    _ => {}
                }
                let mut line: String = chars.into_iter().collect();
                if let Some(comment) = comment {
                    line.push_str(&comment);
                }
                line
            })
    }

    #[test]
    fn a_key_longer_than_the_fast_path_takes_is_parsed_as_ssh_key_parses_it() {
        use ssh_key::public::RsaPublicKey;
        // A 20,000-bit modulus: a blob of about 2.5 kB, more than `NORMAL_BLOB_MAX`.
        let mut n = vec![0xC5_u8; 2500];
        n[2499] = 0x01;
        let rsa = RsaPublicKey {
            e: Mpint::from_positive_bytes(&[1, 0, 1]).unwrap(),
            n: Mpint::from_positive_bytes(&n).unwrap(),
        };
        let line = PublicKey::new(KeyData::Rsa(rsa), "big")
            .to_openssh()
            .unwrap();
        let (_, data) = line.split_once(' ').unwrap();
        assert!(
            STANDARD
                .decode(data.trim_end_matches(" big"))
                .unwrap()
                .len()
                > NORMAL_BLOB_MAX
        );
        let parsed = SshKey::parse_any_strength(&line)
            .map(|(key, _)| key.as_openssh().to_owned())
            .map_err(|InvalidKey(reason)| reason);
        assert_eq!(parsed, through_ssh_key(&line));
        assert_eq!(parsed, Ok(line));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Every line, valid or one edit away from valid, gets the normal form or
        /// the error `ssh-key` gives for it.
        #[test]
        fn lines_parse_as_ssh_key_parses_and_encodes_them(line in mutated_line()) {
            let parsed = SshKey::parse_any_strength(&line)
                .map(|(key, _)| key.as_openssh().to_owned())
                .map_err(|InvalidKey(reason)| reason);
            proptest::prop_assert_eq!(parsed, through_ssh_key(&line));
        }
    }
}
