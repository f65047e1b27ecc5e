//! The selector grammar: the conformance table through the domain's own matching, and every
//! way a selector can be malformed.

use super::conformance::{CASES, SERVERS};
use super::{MAX_SELECTOR_LEN, Requirement, Selector, SelectorError};
use crate::testing::labels;

#[test]
fn the_conformance_table_holds_for_the_domains_matching() {
    assert!(CASES.len() >= 30);
    for (text, expected) in CASES {
        let selector = Selector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let matched: Vec<&str> = SERVERS
            .iter()
            .filter(|(_, pairs)| selector.matches(&labels(pairs)))
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(&matched, expected, "selector {text:?}");
    }
}

#[test]
fn requirements_are_parsed_into_their_operators() {
    let selector = Selector::parse("a=1,b==2,c!=3,d in (x,y),e notin (z),f,!g").expect("valid");
    let set = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
    assert_eq!(
        selector.requirements(),
        [
            Requirement::Equals {
                key: "a".into(),
                value: "1".into()
            },
            Requirement::Equals {
                key: "b".into(),
                value: "2".into()
            },
            Requirement::NotEquals {
                key: "c".into(),
                value: "3".into()
            },
            Requirement::In {
                key: "d".into(),
                values: set(&["x", "y"])
            },
            Requirement::NotIn {
                key: "e".into(),
                values: set(&["z"])
            },
            Requirement::Exists { key: "f".into() },
            Requirement::NotExists { key: "g".into() },
        ]
    );
    assert!(Selector::parse("").expect("empty").is_empty());
    assert!(Selector::parse("   ").expect("blank").is_empty());
}

#[test]
fn malformed_selectors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        ("env in ()", 8, "at least one value"),
        ("env in (a", 9, "not closed"),
        ("env in (a,)", 10, "expected a value in the set"),
        ("env in (a,,b)", 10, "expected a value in the set"),
        ("env in a", 7, "expected '('"),
        ("env notin", 9, "expected '('"),
        ("(", 0, "expected a label key"),
        ("env=prod,", 9, "expected a label key, found the end"),
        (",env", 0, "expected a label key"),
        ("=prod", 0, "expected a label key"),
        ("env=pr od", 7, "expected ',' or the end"),
        ("env=a=b", 5, "expected ',' or the end"),
        ("!", 1, "expected a label key"),
        ("!env=prod", 4, "expected ',' or the end"),
        ("env prod", 4, "expected '=', '==', '!=', 'in', 'notin'"),
        ("env\u{e9}=x", 3, "unexpected character"),
        ("env;drop", 3, "unexpected character"),
        ("env\u{a0}=x", 3, "unexpected character"),
        ("\u{3000}env", 0, "unexpected character"),
        ("env=x,\u{85}y", 6, "unexpected character"),
    ];
    for (text, at, message) in cases {
        match Selector::parse(text) {
            Err(SelectorError::Syntax {
                at: found,
                message: said,
            }) => {
                assert_eq!(found, *at, "{text:?}: {said}");
                assert!(said.contains(message), "{text:?}: {said}");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}

#[test]
fn keys_and_values_follow_the_label_rules() {
    for text in [
        "-env=x",
        "a/b/c",
        "Foo.com/x",
        "env=-x",
        "env in (ok,-bad)",
        "/x",
        "x/",
    ] {
        assert!(
            matches!(Selector::parse(text), Err(SelectorError::Label { .. })),
            "{text:?} gave {:?}",
            Selector::parse(text)
        );
    }
    let long_value = format!("env={}", "v".repeat(64));
    assert!(matches!(
        Selector::parse(&long_value),
        Err(SelectorError::Label { at: 4, .. })
    ));
}

#[test]
fn selectors_are_bounded() {
    let long = format!("env={}", "a,env=".repeat(MAX_SELECTOR_LEN));
    assert!(matches!(
        Selector::parse(&long),
        Err(SelectorError::TooLong(_))
    ));
    let many = (0..33)
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        Selector::parse(&many),
        Err(SelectorError::TooManyRequirements)
    );
    let values = (0..65)
        .map(|i| format!("v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(matches!(
        Selector::parse(&format!("k in ({values})")),
        Err(SelectorError::TooManyValues(5))
    ));
    let repeated = vec!["v"; 65].join(",");
    assert!(
        matches!(
            Selector::parse(&format!("k notin ({repeated})")),
            Err(SelectorError::TooManyValues(8))
        ),
        "values are counted as written"
    );
    let most = vec!["v"; 64].join(",");
    assert!(Selector::parse(&format!("k notin ({most})")).is_ok());
}

#[test]
fn whitespace_is_kubernetes_ascii_whitespace() {
    let selector = Selector::parse("\tenv\r\n=\nprod ,\ttier").expect("ASCII whitespace");
    assert_eq!(selector.requirements().len(), 2);
}
