//! Label selectors as SQL over a `labels` jsonb column (of servers, or of events, which keep
//! their server's labels), every key and value a bound parameter: each requirement becomes
//! an operator a GIN index (`jsonb_ops`, as `servers_labels`) serves, or the negation of one
//! (see the migrations that made the columns).
//!
//! | requirement | condition | index |
//! |---|---|---|
//! | `k=v` | `labels @> {"k":"v"}` | GIN |
//! | `k in (a,b)` | `labels @> ANY([{"k":"a"}, {"k":"b"}])` | GIN, a bitmap scan per value |
//! | `k` | `labels ? 'k'` | GIN |
//! | `k!=v`, `k notin (…)`, `!k` | `NOT (…)` of the above | a filter on the other rows |
//!
//! The negations also hold for a row without the key, as the domain's selector says.
//!
//! A selector's equalities are one containment, `labels @> {"k1":"v1","k2":"v2"}`: Postgres
//! estimates each `@>` on its own and multiplies, so two labels that never occur together
//! looked selective enough for an ordered scan that then read every row of the state (208 ms
//! at a million servers); as one document the estimate is right and the GIN index answers
//! (`servers_labels_path`, `jsonb_path_ops`, serves `@>` alone and intersects no key lists).

use diesel::BoxableExpression;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::sql_types::{Array, Bool, Jsonb, Text};
use fleet_domain::selector::{Requirement, Selector};
use serde_json::{Map, Value};

use crate::schema::{events, servers};

/// One condition on a row of `T`.
pub(crate) type Condition<T> = Box<dyn BoxableExpression<T, Pg, SqlType = Bool>>;

/// A table with a `labels` column selectors read.
pub(crate) trait Labelled: Sized + 'static {
    /// The column, qualified with the table's name.
    const LABELS: &'static str;
}

impl Labelled for servers::table {
    const LABELS: &'static str = "servers.labels";
}

impl Labelled for events::table {
    const LABELS: &'static str = "events.labels";
}

/// The conditions a row's labels must meet for `selector`: its equalities as one
/// containment (a key named twice keeps its second value apart, where the two must both
/// hold), then each other requirement.
pub(crate) fn conditions<T: Labelled>(selector: &Selector) -> Vec<Condition<T>> {
    let mut equalities = Map::new();
    let mut others = Vec::new();
    for requirement in selector.requirements() {
        match requirement {
            Requirement::Equals { key, value } if !equalities.contains_key(key) => {
                equalities.insert(key.clone(), Value::from(value.as_str()));
            }
            other => others.push(condition(other)),
        }
    }
    let mut conditions = Vec::with_capacity(others.len() + 1);
    if !equalities.is_empty() {
        conditions.push(containing(Value::Object(equalities), ""));
    }
    conditions.extend(others);
    conditions
}

/// The condition a row's labels must meet for `requirement`.
fn condition<T: Labelled>(requirement: &Requirement) -> Condition<T> {
    match requirement {
        Requirement::Equals { key, value } => contains(key, value, ""),
        Requirement::NotEquals { key, value } => contains(key, value, "NOT "),
        Requirement::In { key, values } => contains_any(key, values, ""),
        Requirement::NotIn { key, values } => contains_any(key, values, "NOT "),
        Requirement::Exists { key } => has_key(key, ""),
        Requirement::NotExists { key } => has_key(key, "NOT "),
    }
}

/// `{"key": "value"}`, the document `@>` looks for.
fn pair(key: &str, value: &str) -> Value {
    let mut pair = Map::new();
    pair.insert(key.to_owned(), Value::from(value));
    Value::Object(pair)
}

fn contains<T: Labelled>(key: &str, value: &str, negation: &'static str) -> Condition<T> {
    containing(pair(key, value), negation)
}

/// `labels @> document`, or its negation.
fn containing<T: Labelled>(document: Value, negation: &'static str) -> Condition<T> {
    Box::new(
        sql::<Bool>(negation)
            .sql("(")
            .sql(T::LABELS)
            .sql(" @> ")
            .bind::<Jsonb, _>(document)
            .sql(")"),
    )
}

fn contains_any<'a, T: Labelled>(
    key: &str,
    values: impl IntoIterator<Item = &'a String>,
    negation: &'static str,
) -> Condition<T> {
    let pairs: Vec<Value> = values.into_iter().map(|value| pair(key, value)).collect();
    Box::new(
        sql::<Bool>(negation)
            .sql("(")
            .sql(T::LABELS)
            .sql(" @> ANY(")
            .bind::<Array<Jsonb>, _>(pairs)
            .sql("))"),
    )
}

fn has_key<T: Labelled>(key: &str, negation: &'static str) -> Condition<T> {
    Box::new(
        sql::<Bool>(negation)
            .sql("(")
            .sql(T::LABELS)
            .sql(" ? ")
            .bind::<Text, _>(key.to_owned())
            .sql(")"),
    )
}

#[cfg(test)]
mod tests {
    use diesel::debug_query;
    use diesel::prelude::*;
    use fleet_domain::Selector;

    use super::*;

    fn rendered(selector: &str) -> Vec<String> {
        Selector::parse(selector)
            .expect("a selector")
            .requirements()
            .iter()
            .map(|r| {
                let query = servers::table
                    .select(servers::id)
                    .filter(condition::<servers::table>(r));
                debug_query::<Pg, _>(&query).to_string()
            })
            .collect()
    }

    #[test]
    fn equalities_are_one_containment_beside_the_other_requirements() {
        let selector = Selector::parse("team=team-3,zone=b,!canary").expect("a selector");
        let rendered: Vec<String> = conditions::<servers::table>(&selector)
            .into_iter()
            .map(|c| {
                debug_query::<Pg, _>(&servers::table.select(servers::id).filter(c)).to_string()
            })
            .collect();
        assert_eq!(rendered.len(), 2, "{rendered:?}");
        assert!(
            rendered[0].contains("WHERE (servers.labels @> $1)")
                && rendered[0]
                    .contains(r#"Object {"team": String("team-3"), "zone": String("b")}"#),
            "{}",
            rendered[0]
        );
        assert!(
            rendered[1].contains("WHERE NOT (servers.labels ? $1)"),
            "{}",
            rendered[1]
        );
    }

    #[test]
    fn events_are_selected_by_their_own_labels() {
        let selector = Selector::parse("env=prod,!canary").expect("a selector");
        let rendered: Vec<String> = selector
            .requirements()
            .iter()
            .map(|r| {
                let query = events::table
                    .select(events::id)
                    .filter(condition::<events::table>(r));
                debug_query::<Pg, _>(&query).to_string()
            })
            .collect();
        assert!(
            rendered[0].contains("WHERE (events.labels @> $1)"),
            "{}",
            rendered[0]
        );
        assert!(
            rendered[1].contains("WHERE NOT (events.labels ? $1)"),
            "{}",
            rendered[1]
        );
    }

    #[test]
    fn keys_and_values_are_bound_never_written_into_the_text() {
        let hostile = "x'); DROP TABLE servers; --";
        assert!(Selector::parse(&format!("env={hostile}")).is_err());
        let [equals, not_in, exists] = rendered("env=prod,tier notin (db,web),app.io/name")
            .try_into()
            .expect("three conditions");
        assert!(
            equals.contains("WHERE (servers.labels @> $1)")
                && equals.contains(r#"Object {"env": String("prod")}"#),
            "{equals}"
        );
        assert!(
            not_in.contains("WHERE NOT (servers.labels @> ANY($1))")
                && not_in
                    .contains(r#"[Object {"tier": String("db")}, Object {"tier": String("web")}]"#),
            "{not_in}"
        );
        assert!(
            exists.contains("WHERE (servers.labels ? $1)") && exists.contains(r#""app.io/name""#),
            "{exists}"
        );
    }
}
