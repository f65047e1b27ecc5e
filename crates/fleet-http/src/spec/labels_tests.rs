//! The label and selector patterns accept exactly what the domain's checks accept.

use std::sync::LazyLock;

use fleet_domain::labels::validate_value;
use fleet_domain::selector::{MAX_SELECTOR_LEN, Selector, conformance};
use proptest::prelude::*;

use super::labels;
use super::limits::Bounds;

/// Bounds judged by an ECMA 262 engine, as JSON Schema reads patterns (the selector's has a
/// lookahead, which the `regex` crate lacks).
struct Judge {
    bounds: Bounds,
    pattern: regress::Regex,
}

impl Judge {
    fn new(bounds: Bounds) -> Self {
        let pattern = bounds.pattern.as_deref().expect("a pattern");
        let pattern = regress::Regex::new(pattern).expect("an ECMA 262 pattern");
        Self { bounds, pattern }
    }

    fn accepts(&self, text: &str) -> bool {
        self.bounds
            .max_length
            .is_none_or(|max| text.chars().count() <= max)
            && self.pattern.find(text).is_some()
    }
}

static VALUE: LazyLock<Judge> = LazyLock::new(|| Judge::new(labels::label_value()));
static SELECTOR: LazyLock<Judge> = LazyLock::new(|| Judge::new(labels::label_selector()));
static REQUIRED_SELECTOR: LazyLock<Judge> =
    LazyLock::new(|| Judge::new(labels::required_label_selector()));

fn value_ok(text: &str) -> bool {
    validate_value("key", text).is_ok()
}

fn selector_ok(text: &str) -> bool {
    Selector::parse(text).is_ok()
}

/// What a bulk action takes: a selector with a requirement.
fn required_selector_ok(text: &str) -> bool {
    Selector::parse(text).is_ok_and(|selector| !selector.is_empty())
}

fn agree(judge: &Judge, accepts: fn(&str) -> bool, text: &str) {
    assert_eq!(
        judge.accepts(text),
        accepts(text),
        "the spec and the service disagree on {text:?}"
    );
}

#[test]
fn the_label_value_pattern_is_the_service_s_check() {
    let characters = (0..=0xFFFFu32)
        .chain([0x1F600, 0x10FFFF])
        .filter_map(char::from_u32);
    for c in characters {
        for text in [
            format!("{c}"),
            format!("a{c}b"),
            format!("{c}ab"),
            format!("ab{c}"),
        ] {
            agree(&VALUE, value_ok, &text);
        }
    }
    for n in [0, 1, 2, 62, 63, 64, 65] {
        agree(&VALUE, value_ok, &"v".repeat(n));
        agree(&VALUE, value_ok, &format!("a{}", "-".repeat(n)));
    }
}

/// Selectors at and past every bound of the grammar.
fn bounded_selectors() -> Vec<String> {
    let requirements = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let values = |n: usize| vec!["v"; n].join(",");
    let prefix = |n: usize| format!("{}.io", "p".repeat(n - 3));
    let mut texts = vec![
        requirements(32),
        requirements(33),
        format!("k in ({})", values(64)),
        format!("k notin ({})", values(65)),
        format!("{}=x", "n".repeat(63)),
        format!("{}=x", "n".repeat(64)),
        format!("k={}", "v".repeat(63)),
        format!("k={}", "v".repeat(64)),
        format!("{}/name", prefix(253)),
        format!("{}/name", prefix(254)),
        format!("!{}/name", prefix(253)),
        format!("{}/name in (a)", prefix(254)),
    ];
    let long = format!("k in ({})", vec!["abcdefghij"; 60].join(","));
    let filler = format!("{long},{long},{long},{long},{long},{long}");
    texts.push(filler[..MAX_SELECTOR_LEN.min(filler.len())].to_owned());
    let exact = format!("{}{}", " ".repeat(MAX_SELECTOR_LEN - 3), "k=v");
    texts.push(exact.clone());
    texts.push(format!(" {exact}"));
    texts
}

#[test]
fn the_selector_pattern_is_the_service_s_parser() {
    let accepted = conformance::CASES.iter().map(|(text, _)| *text).chain([
        "",
        " ",
        "\t\r\n",
        "in in (in)",
        "notin",
        "fleet.dev/owner=me",
        "env=",
        "env==,x",
        "env in(a)",
        "env notin(a, b)",
        "! env",
        "k in (a) ",
    ]);
    for text in accepted {
        assert!(SELECTOR.accepts(text), "{text:?}");
        agree(&SELECTOR, selector_ok, text);
        agree(&REQUIRED_SELECTOR, required_selector_ok, text);
    }
    let refused = [
        "env in ()",
        "env in (a",
        "env in (a,)",
        "env in (a,,b)",
        "env in a",
        "env notin",
        "(",
        "env=prod,",
        ",env",
        "=prod",
        "env=pr od",
        "env=a=b",
        "!",
        "!env=prod",
        "env prod",
        "env\u{e9}=x",
        "env;drop",
        "env\u{a0}=x",
        "-env=x",
        "a/b/c",
        "Foo.com/x",
        "env=-x",
        "/x",
        "x/",
        "env===x",
        "env= =x",
        "env! =x",
        "envin (a)",
        "!!env",
        "env=a/b",
        "a.in (x)",
        "a notin",
        "!a in (b)",
        "k in (a) ,",
        "a..b/c",
        "a-/b",
        "-a/b",
    ];
    for text in refused {
        assert!(!SELECTOR.accepts(text), "{text:?}");
        agree(&SELECTOR, selector_ok, text);
        agree(&REQUIRED_SELECTOR, required_selector_ok, text);
    }
    let bounded = bounded_selectors();
    assert!(bounded.iter().any(|text| SELECTOR.accepts(text)));
    assert!(bounded.iter().any(|text| !SELECTOR.accepts(text)));
    for text in bounded {
        agree(&SELECTOR, selector_ok, &text);
        agree(&REQUIRED_SELECTOR, required_selector_ok, &text);
    }
    for empty in ["", " ", "\t\r\n"] {
        assert!(!REQUIRED_SELECTOR.accepts(empty), "{empty:?}");
    }
}

/// Pieces a selector is made of, good and bad, so that random joins hit every rule.
const PIECES: &[&str] = &[
    "a",
    "B",
    "0",
    "env",
    "prod",
    "in",
    "notin",
    "-",
    "_",
    ".",
    "/",
    "x.io/",
    "=",
    "==",
    "!=",
    "!",
    "(",
    ")",
    ",",
    " ",
    "\t",
    "\n",
    "é",
    "\u{85}",
    "a-b",
    "Z9",
    "k8s.io/app",
    "\u{0}",
];

proptest! {
    #[test]
    fn joined_pieces_are_judged_alike(
        indices in proptest::collection::vec(0..PIECES.len(), 0..24)
    ) {
        let text: String = indices.iter().map(|i| PIECES[*i]).collect();
        prop_assert_eq!(SELECTOR.accepts(&text), selector_ok(&text), "{:?}", text);
        prop_assert_eq!(
            REQUIRED_SELECTOR.accepts(&text),
            required_selector_ok(&text),
            "{:?}",
            text
        );
    }
}
