//! Tolerant readers for the shapes servers send in practice.
//!
//! RFC 7643 §2.5 says an absent attribute and `null` mean the same thing, and some
//! servers (or the identity providers they were tuned for) send booleans as `"True"`/`"False"` and
//! numbers as strings. These helpers accept those forms on read; nothing here is
//! used when writing.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// `null` or absent (with `#[serde(default)]`) reads as `T::default()`: an empty
/// list, an empty string, an empty extension.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// A list of strings; `null` or absent reads as empty, and a lone string as a list of
/// one (some servers flatten single-valued multi-valued attributes).
///
/// Read in one pass: the SSH keys of every user in a listing come through here.
pub(crate) fn string_list<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(StringList)
}

struct StringList;

impl<'de> Visitor<'de> for StringList {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings, or a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(vec![value.to_owned()])
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(vec![value])
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<String>()? {
            list.push(item);
        }
        Ok(list)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A boolean given as a JSON boolean or as a string `"true"`/`"false"` in any case;
/// `null` reads as `None`.
pub(crate) fn lenient_bool<'de, D>(deserializer: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(LenientBool)
}

/// Like [`lenient_bool`], with `null` (or absent, under `#[serde(default)]`) as `false`.
pub(crate) fn lenient_flag<'de, D>(deserializer: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    lenient_bool(deserializer).map(Option::unwrap_or_default)
}

struct LenientBool;

impl<'de> Visitor<'de> for LenientBool {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, or \"true\"/\"false\" as a string")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let v = v.trim();
        if v.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if v.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A non-negative integer given as a JSON number or a string of digits; `null` reads
/// as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LenientU64(pub(crate) Option<u64>);

impl<'de> Deserialize<'de> for LenientU64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(LenientU64Visitor)
            .map(LenientU64)
    }
}

struct LenientU64Visitor;

impl<'de> Visitor<'de> for LenientU64Visitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.trim()
            .parse()
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Flags {
        #[serde(default, deserialize_with = "lenient_bool")]
        a: Option<bool>,
        #[serde(default, deserialize_with = "lenient_flag")]
        b: bool,
        #[serde(default, deserialize_with = "null_as_default")]
        list: Vec<String>,
        #[serde(default)]
        n: Option<LenientU64>,
        #[serde(default, deserialize_with = "string_list")]
        keys: Vec<String>,
    }

    fn read(json: &str) -> Result<Flags, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn booleans_in_any_spelling() {
        let f = read(r#"{"a":"True","b":"FALSE"}"#).unwrap();
        assert_eq!((f.a, f.b), (Some(true), false));
        let f = read(r#"{"a":false,"b":true}"#).unwrap();
        assert_eq!((f.a, f.b), (Some(false), true));
        let f = read(r#"{"a":null,"b":null}"#).unwrap();
        assert_eq!((f.a, f.b), (None, false));
        let f = read("{}").unwrap();
        assert_eq!((f.a, f.b), (None, false));
        assert!(read(r#"{"a":"yes"}"#).is_err());
        assert!(read(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn null_absent_and_empty_lists_agree() {
        for json in [r#"{"list":null}"#, "{}", r#"{"list":[]}"#] {
            assert_eq!(read(json).unwrap().list, Vec::<String>::new(), "{json}");
        }
    }

    #[test]
    fn string_lists_in_every_shape() {
        assert_eq!(read(r#"{"keys":"k"}"#).unwrap().keys, ["k"]);
        assert_eq!(read(r#"{"keys":["a","b"]}"#).unwrap().keys, ["a", "b"]);
        assert!(read(r#"{"keys":null}"#).unwrap().keys.is_empty());
        assert!(read(r#"{"keys":[1]}"#).is_err());
    }

    #[test]
    fn numbers_as_strings() {
        assert_eq!(read(r#"{"n":"12"}"#).unwrap().n, Some(LenientU64(Some(12))));
        assert_eq!(read(r#"{"n":12}"#).unwrap().n, Some(LenientU64(Some(12))));
        assert!(read(r#"{"n":-1}"#).is_err());
        assert!(read(r#"{"n":"x"}"#).is_err());
    }
}
