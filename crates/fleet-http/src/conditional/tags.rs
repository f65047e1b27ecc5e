//! The value of `If-Match` and `If-None-Match` (RFC 9110 §13.1.1, §13.1.2): `*`, or a
//! comma-separated list of entity-tags, each `"opaque"` or weak `W/"opaque"`, where the
//! opaque part is visible ASCII but `"`; empty list elements are ignored (§5.6.1). The
//! spec states the same rule as [`PATTERN`], held to [`parse`] by the tests.

/// An entity-tag as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    /// Whether it was sent weak (`W/`).
    pub weak: bool,
    /// What is between the quotes.
    pub opaque: String,
}

/// What a condition header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tags {
    /// `*`: any current representation.
    Any,
    /// These entity-tags (none, for a header with only empty elements).
    List(Vec<EntityTag>),
}

/// Where a condition header stops following the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    /// The byte, counted from 0, where it went wrong.
    pub at: usize,
}

/// [`parse`]'s rule as an ECMA 262 pattern: `*` or entity-tags, with spaces, tabs and
/// empty elements around and between them. No part can match what another beside it
/// matches, so a backtracking engine stays linear.
pub const PATTERN: &str =
    r#"^[ \t,]*(?:(?:\*|(?:W/)?"[!#-~]*"(?:[ \t]*,[ \t,]*(?:W/)?"[!#-~]*")*)[ \t,]*)?$"#;

/// Reads a condition header's value.
pub fn parse(value: &[u8]) -> Result<Tags, Malformed> {
    let mut scanner = Scanner { value, at: 0 };
    scanner.skip(b" \t,");
    if scanner.done() {
        return Ok(Tags::List(Vec::new()));
    }
    if scanner.eat(b'*') {
        scanner.skip(b" \t,");
        return if scanner.done() {
            Ok(Tags::Any)
        } else {
            Err(scanner.malformed())
        };
    }
    let mut tags = Vec::new();
    loop {
        tags.push(scanner.entity_tag()?);
        scanner.skip(b" \t");
        if scanner.done() {
            return Ok(Tags::List(tags));
        }
        if !scanner.eat(b',') {
            return Err(scanner.malformed());
        }
        scanner.skip(b" \t,");
        if scanner.done() {
            return Ok(Tags::List(tags));
        }
    }
}

struct Scanner<'a> {
    value: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn done(&self) -> bool {
        self.at == self.value.len()
    }

    fn malformed(&self) -> Malformed {
        Malformed { at: self.at }
    }

    fn skip(&mut self, bytes: &[u8]) {
        while self.value.get(self.at).is_some_and(|b| bytes.contains(b)) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.value.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn entity_tag(&mut self) -> Result<EntityTag, Malformed> {
        let weak = self.value[self.at..].starts_with(b"W/");
        if weak {
            self.at += 2;
        }
        if !self.eat(b'"') {
            return Err(self.malformed());
        }
        let start = self.at;
        while self
            .value
            .get(self.at)
            .is_some_and(|b| *b == b'!' || (b'#'..=b'~').contains(b))
        {
            self.at += 1;
        }
        let opaque = String::from_utf8_lossy(&self.value[start..self.at]).into_owned();
        if !self.eat(b'"') {
            return Err(self.malformed());
        }
        Ok(EntityTag { weak, opaque })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn strong(opaque: &str) -> EntityTag {
        EntityTag {
            weak: false,
            opaque: opaque.to_owned(),
        }
    }

    fn weak(opaque: &str) -> EntityTag {
        EntityTag {
            weak: true,
            opaque: opaque.to_owned(),
        }
    }

    fn pattern() -> regress::Regex {
        regress::Regex::new(PATTERN).expect("an ECMA 262 pattern")
    }

    #[test]
    fn lists_stars_and_empty_elements_are_read() {
        let cases: [(&str, Tags); 9] = [
            ("\"7\"", Tags::List(vec![strong("7")])),
            ("W/\"7\"", Tags::List(vec![weak("7")])),
            (
                " \"1\" ,W/\"2\",, \t\"a,b\" , ",
                Tags::List(vec![strong("1"), weak("2"), strong("a,b")]),
            ),
            ("\"\"", Tags::List(vec![strong("")])),
            ("*", Tags::Any),
            (" , * ,", Tags::Any),
            ("", Tags::List(vec![])),
            (" ,, ", Tags::List(vec![])),
            ("\"!#~\"", Tags::List(vec![strong("!#~")])),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text.as_bytes()), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn what_breaks_the_rule_is_refused_where_it_breaks_it() {
        let cases = [
            ("7", 0),
            ("\"7", 2),
            ("\"7\" \"8\"", 4),
            ("w/\"7\"", 0),
            ("W/7", 2),
            ("*, \"7\"", 3),
            ("* *", 2),
            ("\"a b\"", 2),
            ("\"7\";", 3),
            ("\"caf\u{e9}\"", 4),
        ];
        for (text, at) in cases {
            assert_eq!(parse(text.as_bytes()), Err(Malformed { at }), "{text:?}");
        }
        assert_eq!(parse(b"\"\x80\""), Err(Malformed { at: 1 }), "obs-text");
    }

    #[test]
    fn the_pattern_is_the_parser_s_rule() {
        let pattern = pattern();
        let texts = [
            "\"7\"",
            "W/\"7\"",
            " \"1\" ,W/\"2\",, \t\"a,b\" , ",
            "*",
            " , * ,",
            "",
            " ,, ",
            "7",
            "\"7",
            "\"7\" \"8\"",
            "w/\"7\"",
            "*, \"7\"",
            "* *",
            "\"a b\"",
            "\"7\";",
            "\"caf\u{e9}\"",
            "\"1\",\"2\" ,\t,\"3\"",
            ",\"1\"",
        ];
        for text in texts {
            assert_eq!(
                pattern.find(text).is_some(),
                parse(text.as_bytes()).is_ok(),
                "the spec and the service disagree on {text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_pattern_and_the_parser_agree_on_joins_of_tokens(
            tokens in prop::collection::vec(
                prop::sample::select(vec![
                    "\"7\"", "W/\"12\"", "\"a,b\"", "*", ",", " ", "\t", "W/", "\"", "x", "\"\"",
                ]),
                0..12,
            )
        ) {
            let text = tokens.concat();
            prop_assert_eq!(
                pattern().find(&text).is_some(),
                parse(text.as_bytes()).is_ok(),
                "{:?}", text
            );
        }
    }

    #[test]
    fn a_long_header_with_a_stray_byte_at_its_end_is_refused_by_both() {
        let text = format!("\"1\"{}x", " ,".repeat(4_000));
        assert!(pattern().find(&text).is_none());
        assert_eq!(parse(text.as_bytes()), Err(Malformed { at: 8_003 }));
    }
}
