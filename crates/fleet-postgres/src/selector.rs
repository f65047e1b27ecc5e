//! Label selectors as SQL over the `labels` jsonb column, every key and value a bound
//! parameter: each requirement becomes an operator the GIN index `servers_labels`
//! (`jsonb_ops`) serves, or the negation of one (see the migration that made it).
//!
//! | requirement | condition | index |
//! |---|---|---|
//! | `k=v` | `labels @> {"k":"v"}` | GIN |
//! | `k in (a,b)` | `labels @> ANY([{"k":"a"}, {"k":"b"}])` | GIN, a bitmap scan per value |
//! | `k` | `labels ? 'k'` | GIN |
//! | `k!=v`, `k notin (…)`, `!k` | `NOT (…)` of the above | a filter on the other rows |
//!
//! The negations also hold for a server without the key, as the domain's selector says.

use diesel::BoxableExpression;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::sql_types::{Array, Bool, Jsonb, Text};
use fleet_domain::selector::Requirement;
use serde_json::{Map, Value};

use crate::schema::servers;

/// One condition on the servers table.
pub(crate) type Condition = Box<dyn BoxableExpression<servers::table, Pg, SqlType = Bool>>;

/// The condition a server's labels must meet for `requirement`.
pub(crate) fn condition(requirement: &Requirement) -> Condition {
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

fn contains(key: &str, value: &str, negation: &'static str) -> Condition {
    Box::new(
        sql::<Bool>(negation)
            .sql("(servers.labels @> ")
            .bind::<Jsonb, _>(pair(key, value))
            .sql(")"),
    )
}

fn contains_any<'a>(
    key: &str,
    values: impl IntoIterator<Item = &'a String>,
    negation: &'static str,
) -> Condition {
    let pairs: Vec<Value> = values.into_iter().map(|value| pair(key, value)).collect();
    Box::new(
        sql::<Bool>(negation)
            .sql("(servers.labels @> ANY(")
            .bind::<Array<Jsonb>, _>(pairs)
            .sql("))"),
    )
}

fn has_key(key: &str, negation: &'static str) -> Condition {
    Box::new(
        sql::<Bool>(negation)
            .sql("(servers.labels ? ")
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
                let query = servers::table.select(servers::id).filter(condition(r));
                debug_query::<Pg, _>(&query).to_string()
            })
            .collect()
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
