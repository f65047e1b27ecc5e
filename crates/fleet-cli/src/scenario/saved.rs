//! Values saved by earlier steps and their `${name}` substitution into later ones.

use std::collections::BTreeMap;

use serde_json::Value;

/// The values saved so far, by name.
#[derive(Debug, Default)]
pub struct Saved(BTreeMap<String, Value>);

impl Saved {
    /// Keeps `value` as `name`.
    pub fn save(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_owned(), value);
    }

    /// `text` with every `${name}` replaced by the saved value (a string as it is, anything
    /// else as JSON); a name never saved is an error.
    pub fn text(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("{text:?} opens ${{ without closing it"))?;
            match self.value(&after[..end])? {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `value` with substitutions in every string; a string that is exactly `${name}`
    /// becomes the saved value itself, so numbers stay numbers.
    pub fn json(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => match whole_reference(s) {
                Some(name) => self.value(name)?.clone(),
                None => Value::String(self.text(s)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.json(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn value(&self, name: &str) -> Result<&Value, String> {
        self.0
            .get(name)
            .ok_or_else(|| format!("nothing was saved as {name:?}"))
    }
}

fn whole_reference(text: &str) -> Option<&str> {
    let name = text.strip_prefix("${")?.strip_suffix('}')?;
    (!name.contains('}')).then_some(name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn saved() -> Saved {
        let mut saved = Saved::default();
        saved.save("web", json!("abc"));
        saved.save("n", json!(3));
        saved
    }

    #[test]
    fn names_are_replaced_in_text_and_json() {
        let saved = saved();
        assert_eq!(
            saved.text("/servers/${web}/action").expect("ok"),
            "/servers/abc/action"
        );
        assert_eq!(saved.text("${n}-${web}").expect("ok"), "3-abc");
        assert_eq!(
            saved
                .json(&json!({"id": "${web}", "count": "${n}", "list": ["x${n}"]}))
                .expect("ok"),
            json!({"id": "abc", "count": 3, "list": ["x3"]})
        );
    }

    #[test]
    fn an_unknown_or_unclosed_name_is_an_error() {
        let saved = saved();
        assert!(
            saved
                .text("/servers/${db}")
                .expect_err("unknown")
                .contains("\"db\"")
        );
        assert!(
            saved
                .text("/servers/${web")
                .expect_err("open")
                .contains("without closing")
        );
        assert!(saved.json(&json!("${db}")).is_err());
    }
}
