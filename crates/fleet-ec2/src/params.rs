//! The parameters of an EC2 Query request: the form body's `Name=value` pairs, with EC2's
//! numbered lists (`InstanceId.1`, `Filter.2.Value.1`) read in the order of their numbers.

use std::collections::BTreeMap;

use crate::errors::Ec2Error;

/// The most values one list may hold: EC2 caps filters' values and id lists near here, and
/// a request cannot make fleet walk an unbounded list.
pub const MAX_LIST: usize = 1_000;

/// A request's parameters by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

/// One `Filter.N`: a name and the values any of which it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The filter's name (`instance-state-name`, `tag:team`, ...).
    pub name: String,
    /// Its values: a resource matches when any is its value.
    pub values: Vec<String>,
}

/// One `Tag.N` (or `TagSpecification.N.Tag.M`): a key, and a value unless none was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag's key.
    pub key: String,
    /// Its value; `None` when the request sent none (DeleteTags: whatever the value).
    pub value: Option<String>,
}

impl Params {
    /// The pairs of a form-encoded body (`+` is a space). A name sent twice is refused: a
    /// signed request never repeats one, and which to take would be a guess.
    pub fn from_form(body: &[u8]) -> Result<Params, Ec2Error> {
        let mut params = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(Ec2Error::invalid_parameter(format!(
                    "the parameter '{name}' is sent more than once"
                )));
            }
        }
        Ok(Params(params))
    }

    /// A parameter, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter the action needs.
    pub fn required(&self, name: &str) -> Result<&str, Ec2Error> {
        self.get(name).ok_or_else(|| Ec2Error::missing(name))
    }

    /// A whole number parameter in `range`, if sent.
    pub fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Option<u32>, Ec2Error> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        match text.parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Ec2Error::invalid_parameter(format!(
                "{name} must be a whole number from {} to {}; '{text}' is not",
                range.start(),
                range.end()
            ))),
        }
    }

    /// A `true`/`false` parameter; `false` when not sent.
    pub fn flag(&self, name: &str) -> Result<bool, Ec2Error> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(Ec2Error::invalid_parameter(format!(
                "{name} must be true or false, not '{other}'"
            ))),
        }
    }

    /// The numbers N of the parameters named `prefix.N` or `prefix.N.…`, in order.
    fn indexes(&self, prefix: &str) -> Result<Vec<u32>, Ec2Error> {
        let start = format!("{prefix}.");
        let mut found = Vec::new();
        for name in self.0.range(start.clone()..).map(|(name, _)| name) {
            let Some(rest) = name.strip_prefix(&start) else {
                break;
            };
            let number = rest.split('.').next().unwrap_or_default();
            let n: u32 = number.parse().map_err(|_| {
                Ec2Error::invalid_parameter(format!("'{name}' is not a numbered {prefix}"))
            })?;
            if !found.contains(&n) {
                found.push(n);
            }
        }
        if found.len() > MAX_LIST {
            return Err(Ec2Error::invalid_parameter(format!(
                "at most {MAX_LIST} {prefix} entries may be sent"
            )));
        }
        found.sort_unstable();
        Ok(found)
    }

    /// The values of `prefix.1`, `prefix.2`, ... in the order of their numbers.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, Ec2Error> {
        self.indexes(prefix)?
            .into_iter()
            .map(|n| self.required(&format!("{prefix}.{n}")).map(str::to_owned))
            .collect()
    }

    /// The `Filter.N.Name` / `Filter.N.Value.M` filters.
    pub fn filters(&self) -> Result<Vec<Filter>, Ec2Error> {
        self.indexes("Filter")?
            .into_iter()
            .map(|n| {
                Ok(Filter {
                    name: self.required(&format!("Filter.{n}.Name"))?.to_owned(),
                    values: self.list(&format!("Filter.{n}.Value"))?,
                })
            })
            .collect()
    }

    /// The tags of `prefix.N.Key` / `prefix.N.Value`.
    pub fn tags(&self, prefix: &str) -> Result<Vec<Tag>, Ec2Error> {
        self.indexes(prefix)?
            .into_iter()
            .map(|n| {
                Ok(Tag {
                    key: self.required(&format!("{prefix}.{n}.Key"))?.to_owned(),
                    value: self.get(&format!("{prefix}.{n}.Value")).map(str::to_owned),
                })
            })
            .collect()
    }

    /// The numbers of `TagSpecification.N` and the resource type each names.
    pub fn tag_specifications(&self) -> Result<Vec<(String, Vec<Tag>)>, Ec2Error> {
        self.indexes("TagSpecification")?
            .into_iter()
            .map(|n| {
                let prefix = format!("TagSpecification.{n}");
                let kind = self.required(&format!("{prefix}.ResourceType"))?;
                Ok((kind.to_owned(), self.tags(&format!("{prefix}.Tag"))?))
            })
            .collect()
    }

    /// Every pair but those named in `except`, in name order: what makes two requests the
    /// same request.
    pub fn canonical(&self, except: &[&str]) -> String {
        let kept = self
            .0
            .iter()
            .filter(|(name, _)| !except.contains(&name.as_str()));
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params {
        Params::from_form(body.as_bytes()).expect("a form")
    }

    #[test]
    fn numbered_lists_are_read_in_number_order_not_text_order() {
        let p = params("InstanceId.10=j&InstanceId.2=b&InstanceId.1=a");
        assert_eq!(p.list("InstanceId").expect("a list"), ["a", "b", "j"]);
        assert_eq!(p.list("Other").expect("none"), Vec::<String>::new());
    }

    #[test]
    fn filters_and_tags_are_read_whole() {
        let p = params(
            "Filter.1.Name=tag%3Ateam&Filter.1.Value.1=blue&Filter.1.Value.2=red+team\
             &Filter.2.Name=instance-state-name&Filter.2.Value.1=running\
             &TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=team\
             &TagSpecification.1.Tag.1.Value=blue&Tag.1.Key=gone",
        );
        assert_eq!(
            p.filters().expect("filters"),
            [
                Filter {
                    name: "tag:team".into(),
                    values: vec!["blue".into(), "red team".into()]
                },
                Filter {
                    name: "instance-state-name".into(),
                    values: vec!["running".into()]
                },
            ]
        );
        let specs = p.tag_specifications().expect("specs");
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].0, "instance");
        assert_eq!(specs[0].1[0].value.as_deref(), Some("blue"));
        assert_eq!(p.tags("Tag").expect("tags")[0].value, None);
    }

    #[test]
    fn malformed_lists_numbers_and_repeats_are_refused() {
        assert!(params("InstanceId.x=a").list("InstanceId").is_err());
        assert!(params("Filter.1.Value.1=a").filters().is_err(), "no name");
        assert!(Params::from_form(b"A=1&A=2").is_err());
        assert!(
            params("MaxResults=4")
                .number("MaxResults", 5..=1000)
                .is_err()
        );
        assert_eq!(
            params("MaxResults=5")
                .number("MaxResults", 5..=1000)
                .expect("ok"),
            Some(5)
        );
        assert!(params("DryRun=yes").flag("DryRun").is_err());
    }

    #[test]
    fn the_canonical_form_leaves_out_what_it_is_told_and_sorts() {
        let p = params("b=2&ClientToken=t&a=1+1");
        assert_eq!(p.canonical(&["ClientToken"]), "a=1+1&b=2");
    }
}
