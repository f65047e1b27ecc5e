//! The label rules, cell by cell.

use std::collections::BTreeMap;

use super::{LabelError, Labels, MAX_LABELS, validate_client_key, validate_key, validate_value};

#[test]
fn keys_follow_the_kubernetes_rules() {
    for good in [
        "env",
        "a",
        "A9",
        "app.kubernetes.io/name",
        "example.com/team_x",
        "my-key.v2",
        &format!("{}/{}", "a".repeat(253), "n".repeat(63)),
    ] {
        assert_eq!(validate_key(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "-env",
        "env-",
        "_env",
        "en v",
        "/env",
        "env/",
        "a/b/c",
        "Example.com/env",
        "ex_ample.com/env",
        "-a.com/env",
        "a..com/env",
        &"n".repeat(64),
        &format!("{}/env", "a".repeat(254)),
        "é",
    ] {
        assert!(
            matches!(validate_key(bad), Err(LabelError::BadKey { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn values_are_empty_or_names_of_at_most_63() {
    for good in ["", "prod", "a", "v1.2_3-x", &"v".repeat(63)] {
        assert_eq!(validate_value("k", good), Ok(()), "{good}");
    }
    for bad in ["-prod", "prod-", "a b", "a/b", &"v".repeat(64), "ü"] {
        assert!(
            matches!(validate_value("k", bad), Err(LabelError::BadValue { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn the_service_prefix_is_reserved_for_clients() {
    assert_eq!(
        validate_client_key("fleet.dev/owner"),
        Err(LabelError::Reserved("fleet.dev/owner".into()))
    );
    assert_eq!(validate_client_key("sub.fleet.dev/owner"), Ok(()));
    assert_eq!(
        validate_key("fleet.dev/owner"),
        Ok(()),
        "the service may store it"
    );
}

#[test]
fn a_server_carries_at_most_64_labels() {
    let map = |n: usize| {
        (0..n)
            .map(|i| (format!("k{i}"), String::new()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        Labels::from_client(map(MAX_LABELS)).map(|l| l.len()),
        Ok(64)
    );
    assert_eq!(
        Labels::from_client(map(MAX_LABELS + 1)),
        Err(LabelError::TooMany(65))
    );
}

#[test]
fn a_merge_patch_sets_and_removes_all_or_nothing() {
    let labels = Labels::from_client(BTreeMap::from([
        ("env".to_owned(), "prod".to_owned()),
        ("tier".to_owned(), "web".to_owned()),
    ]))
    .expect("valid");
    let patched = labels
        .patched(&BTreeMap::from([
            ("env".to_owned(), Some("dev".to_owned())),
            ("tier".to_owned(), None),
            ("new".to_owned(), Some(String::new())),
        ]))
        .expect("valid patch");
    assert_eq!(
        patched.iter().collect::<Vec<_>>(),
        [("env", "dev"), ("new", "")]
    );
    let refused = labels.patched(&BTreeMap::from([
        ("ok".to_owned(), Some("x".to_owned())),
        ("bad key".to_owned(), Some("x".to_owned())),
    ]));
    assert!(matches!(refused, Err(LabelError::BadKey { .. })));
    assert_eq!(labels.len(), 2, "the original is unchanged");
}

#[test]
fn long_offenders_are_shortened_in_messages() {
    let key = "k".repeat(10_000);
    let message = validate_key(&key).expect_err("too long").to_string();
    assert!(message.len() < 300, "{message}");
}

#[test]
fn labels_read_back_as_given_in_key_order_and_copies_share_their_text() {
    let pairs = [
        ("tier", "web"),
        ("app.kubernetes.io/name", "api"),
        ("empty", ""),
    ];
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let labels = Labels::from_client(map.clone()).expect("valid");
    assert_eq!(labels.len(), 3);
    assert_eq!(labels.get("tier"), Some("web"));
    assert_eq!(labels.get("empty"), Some(""));
    assert_eq!(labels.get("tie"), None, "a prefix of a key is not the key");
    assert_eq!(labels.get("web"), None, "a value is not a key");
    let keys: Vec<&str> = labels.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["app.kubernetes.io/name", "empty", "tier"]);
    assert_eq!(labels.to_map(), map);
    assert_eq!(format!("{labels:?}"), format!("{map:?}"));
    let copy = labels.clone();
    assert!(matches!((&labels.0, &copy.0), (Some(a), Some(b)) if std::sync::Arc::ptr_eq(a, b)));
    let none = Labels::from_client(BTreeMap::new()).expect("empty");
    assert!(none.is_empty());
    assert_eq!((none.len(), none.iter().count()), (0, 0));
    assert_eq!(none, Labels::default());
}
