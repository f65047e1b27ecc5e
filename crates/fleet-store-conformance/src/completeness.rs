//! [`suite!`](crate::suite) and [`tampering_suite!`](crate::tampering_suite) list the cases
//! by hand, and a case left out of both lists would never run, silently. This test fails
//! naming every `pub async fn` of the crate's modules that the lists lack, and every entry
//! of a list that is no such function. (A case in the wrong list does not compile: the two
//! kinds take different arguments.)
//!
//! Both sides are read from the source: the lists from `lib.rs`, the functions from every
//! file under `src/`, so a new module is checked without being named here.

use std::collections::BTreeSet;
use std::path::Path;

/// The names in the lists of both macros.
fn listed() -> BTreeSet<String> {
    let mut names = listed_by("suite");
    names.extend(listed_by("tampering_suite"));
    names
}

/// The names in the list of macro `name`: what stands between `$fresh;` and `);` in its
/// body.
fn listed_by(name: &str) -> BTreeSet<String> {
    let list = include_str!("lib.rs")
        .split_once(&format!("macro_rules! {name} {{"))
        .and_then(|(_, macro_body)| macro_body.split_once("$fresh;"))
        .and_then(|(_, rest)| rest.split_once(");"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("lib.rs: the list of `{name}!`, between `$fresh;` and `);`"));
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            assert!(
                is_identifier(entry),
                "the list of `{name}!` holds `{entry}`"
            );
            entry.to_owned()
        })
        .collect()
}

/// The name of every `pub async fn` in the files under `src/`.
fn defined() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let functions = text
                    .lines()
                    .filter_map(|line| line.trim_start().strip_prefix("pub async fn "))
                    .map(|rest| rest.split(['(', '<']).next().unwrap_or(rest).trim());
                names.extend(functions.map(str::to_owned));
            }
        }
    }
    names
}

fn is_identifier(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[test]
fn the_suite_lists_every_case_and_nothing_else() {
    let listed = listed();
    let defined = defined();
    assert!(!defined.is_empty(), "no `pub async fn` found under src/");
    let unlisted: Vec<_> = defined.difference(&listed).collect();
    let not_cases: Vec<_> = listed.difference(&defined).collect();
    assert!(
        unlisted.is_empty() && not_cases.is_empty(),
        "add to the list of `suite!` (or `tampering_suite!`) in lib.rs every case it lacks \
         (or make a helper `pub(crate)`): {unlisted:?}; remove from them what is no `pub \
         async fn` case: {not_cases:?}"
    );
}
