//! The rules of a key's text and of a request's fingerprint.

use std::collections::BTreeMap;

use crate::idempotency::{Fingerprint, IdempotencyKey, InvalidKey, MAX_KEY_CHARS, StoredResponse};

fn key(text: &str) -> Result<String, InvalidKey> {
    IdempotencyKey::parse(text).map(|key| key.as_str().to_owned())
}

#[test]
fn the_quoted_and_the_bare_form_name_the_same_key() {
    assert_eq!(key("abc"), Ok("abc".to_owned()));
    assert_eq!(key("\"abc\""), Ok("abc".to_owned()));
    let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
    assert_eq!(key(&format!("\"{uuid}\"")), key(uuid));
    assert_eq!(
        key("a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z"),
        Ok("a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z".to_owned())
    );
}

#[test]
fn a_key_is_one_to_255_characters_as_sent() {
    assert_eq!(key(""), Err(InvalidKey::Empty));
    assert_eq!(key("\"\""), Err(InvalidKey::Empty));
    let longest = "k".repeat(MAX_KEY_CHARS);
    assert_eq!(key(&longest), Ok(longest.clone()));
    assert_eq!(
        key(&format!("{longest}k")),
        Err(InvalidKey::TooLong(MAX_KEY_CHARS + 1))
    );
    let quoted = format!("\"{}\"", "k".repeat(MAX_KEY_CHARS - 2));
    assert!(key(&quoted).is_ok(), "the quotes count");
    let too_long = format!("\"{}\"", "k".repeat(MAX_KEY_CHARS - 1));
    assert_eq!(key(&too_long), Err(InvalidKey::TooLong(MAX_KEY_CHARS + 1)));
}

#[test]
fn a_key_refuses_spaces_controls_quotes_backslashes_and_non_ascii_naming_where() {
    for (sent, position, found) in [
        ("a b", 1, ' '),
        (" ab", 0, ' '),
        ("ab\t", 2, '\t'),
        ("a\u{7f}", 1, '\u{7f}'),
        ("caf\u{e9}", 3, '\u{e9}'),
        ("a\"b", 1, '"'),
        ("\"a\"b\"", 2, '"'),
        ("\"ab", 0, '"'),
        ("ab\"", 2, '"'),
        ("\"", 0, '"'),
        ("a\\b", 1, '\\'),
        ("\"a\\\"b\"", 2, '\\'),
        ("\"a b\"", 2, ' '),
    ] {
        assert_eq!(
            key(sent),
            Err(InvalidKey::Character { position, found }),
            "{sent:?}"
        );
    }
    let message = IdempotencyKey::parse("a b")
        .expect_err("a space")
        .to_string();
    assert!(message.contains("position 1"), "{message}");
}

#[test]
fn a_stored_key_is_held_to_the_same_rules() {
    let stored = IdempotencyKey::from_stored("abc".to_owned()).expect("a key");
    assert_eq!(stored.as_str(), "abc");
    for bad in ["", "\"abc\"", "a b", "é"] {
        let refused = IdempotencyKey::from_stored(bad.to_owned()).expect_err(bad);
        assert_eq!(refused.column, "idempotency_keys.key");
    }
}

#[test]
fn a_fingerprint_tells_operations_targets_and_bodies_apart() {
    let base = Fingerprint::of("provision", "", r#"{"region":"x"}"#);
    assert_eq!(base, Fingerprint::of("provision", "", r#"{"region":"x"}"#));
    assert_eq!(base.as_str().len(), 64);
    assert!(
        base.as_str()
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(base, Fingerprint::of("act", "", r#"{"region":"x"}"#));
    assert_ne!(
        base,
        Fingerprint::of("provision", "s1", r#"{"region":"x"}"#)
    );
    assert_ne!(base, Fingerprint::of("provision", "", r#"{"region":"y"}"#));
    // Parts are length-prefixed: moving text from one part to the next changes the hash.
    assert_ne!(
        Fingerprint::of("ab", "c", ""),
        Fingerprint::of("a", "bc", "")
    );
}

#[test]
fn a_stored_fingerprint_is_64_lowercase_hex_digits() {
    let fingerprint = Fingerprint::of("a", "b", "c");
    assert_eq!(
        Fingerprint::from_stored(fingerprint.as_str().to_owned()),
        Ok(fingerprint.clone())
    );
    for bad in [
        String::new(),
        fingerprint.as_str().to_uppercase(),
        fingerprint.as_str()[1..].to_owned(),
        format!("{}0", fingerprint.as_str()),
        "g".repeat(64),
    ] {
        let refused = Fingerprint::from_stored(bad.clone()).expect_err("not a fingerprint");
        assert_eq!(refused.column, "idempotency_keys.fingerprint", "{bad}");
    }
}

#[test]
fn a_stored_answer_is_whole_or_absent_with_an_http_status() {
    let headers = || Some(BTreeMap::from([("location".to_owned(), "/x".to_owned())]));
    let body = || Some("{}".to_owned());
    assert_eq!(StoredResponse::from_stored(None, None, None), Ok(None));
    let answer = StoredResponse::from_stored(Some(201), headers(), body()).expect("an answer");
    assert_eq!(answer.map(|a| a.status), Some(201));
    for status in [100, 599] {
        assert!(StoredResponse::from_stored(Some(status), headers(), body()).is_ok());
    }
    for status in [0, 99, 600, -201, 70_000] {
        let refused = StoredResponse::from_stored(Some(status), headers(), body());
        assert!(refused.is_err(), "{status}");
    }
    for (status, headers, body) in [
        (Some(200), None, body()),
        (Some(200), headers(), None),
        (None, headers(), body()),
        (None, None, body()),
    ] {
        let refused = StoredResponse::from_stored(status, headers, body).expect_err("partial");
        assert_eq!(refused.column, "idempotency_keys.response_status");
    }
}
