//! Optional request fields that are left out, never `null`: the spec declares them
//! optional and not nullable, so a `null` is refused rather than read as absent. (A field
//! whose `null` means something, such as clearing a project's rate limit, reads it itself.)

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "not_null")]` on an `Option<T>` field: absent is
/// `None`, a value is `Some`, `null` is refused.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(D::Error::custom(
            "null where an optional field may only be left out",
        )),
    }
}

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<Option<T>>` field
/// whose `null` means something: absent is `None`, `null` is `Some(None)` (serde reads a
/// `null` and an absent field alike as `None` otherwise), a value is `Some(Some(_))`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::not_null")]
        name: Option<String>,
    }

    #[test]
    fn an_optional_field_is_absent_or_a_value_but_not_null() {
        let absent: Body = serde_json::from_str("{}").expect("absent");
        assert_eq!(absent.name, None);
        let given: Body = serde_json::from_str(r#"{"name": "web"}"#).expect("given");
        assert_eq!(given.name.as_deref(), Some("web"));
        let error = serde_json::from_str::<Body>(r#"{"name": null}"#).expect_err("null");
        assert!(error.to_string().starts_with("null where"), "{error}");
    }
}
