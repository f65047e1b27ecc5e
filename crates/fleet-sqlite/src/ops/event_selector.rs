//! Label selectors over the events' own `labels` column (the JSON object of their server's
//! labels when they happened), every key and value a bound parameter. A read of events
//! walks the sequence from its cursor (`events_by_seq`, or `events_by_project_seq`) and stops
//! at its limit, so each requirement is a test of the row it passes, with SQLite's JSON
//! operator `->>` (the value of a key, SQL NULL when absent):
//!
//! | requirement | condition |
//! |---|---|
//! | `k=v` | `events.labels ->> ? = ?` |
//! | `k!=v` | `events.labels ->> ? IS NOT ?` |
//! | `k in (a,b)` | `events.labels ->> ? IN (SELECT value FROM json_each(?))` |
//! | `k notin (a,b)` | `NOT coalesce(… IN (…), 0)` |
//! | `k`, `!k` | `events.labels ->> ? IS NOT NULL`, `IS NULL` |
//!
//! The key is bound as the JSON path `$."key"`: a key's characters (letters, digits, `-`,
//! `_`, `.`, `/`, checked by the domain) need no escaping inside the quotes, and the quotes
//! keep a dotted key (`app.kubernetes.io/name`) one key rather than a path. The negations
//! also hold for an event without the key, as the domain's selector says.

use diesel::BoxableExpression;
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;
use fleet_domain::selector::Requirement;

use crate::schema::events;

/// One condition on the events table.
pub(crate) type Condition = Box<dyn BoxableExpression<events::table, Sqlite, SqlType = Bool>>;

/// The condition an event's labels must meet for `requirement`.
pub(crate) fn condition(requirement: &Requirement) -> Condition {
    match requirement {
        Requirement::Equals { key, value } => compared(key, " = ", value),
        Requirement::NotEquals { key, value } => compared(key, " IS NOT ", value),
        Requirement::In { key, values } => in_set(key, values.iter(), ""),
        Requirement::NotIn { key, values } => in_set(key, values.iter(), "NOT "),
        Requirement::Exists { key } => present(key, " IS NOT NULL"),
        Requirement::NotExists { key } => present(key, " IS NULL"),
    }
}

/// The JSON path of `key` at the top of the object.
pub(crate) fn path(key: &str) -> String {
    format!("$.\"{key}\"")
}

fn compared(key: &str, operator: &'static str, value: &str) -> Condition {
    Box::new(
        sql::<Bool>("(events.labels ->> ")
            .bind::<Text, _>(path(key))
            .sql(")")
            .sql(operator)
            .bind::<Text, _>(value.to_owned()),
    )
}

fn in_set<'a>(
    key: &str,
    values: impl Iterator<Item = &'a String>,
    negation: &'static str,
) -> Condition {
    let values: Vec<&String> = values.collect();
    // A JSON array of strings: serializing one cannot fail.
    let values = serde_json::to_string(&values).unwrap_or_default();
    Box::new(
        sql::<Bool>(negation)
            .sql("coalesce((events.labels ->> ")
            .bind::<Text, _>(path(key))
            .sql(") IN (SELECT value FROM json_each(")
            .bind::<Text, _>(values)
            .sql(")), 0)"),
    )
}

fn present(key: &str, test: &'static str) -> Condition {
    Box::new(
        sql::<Bool>("(events.labels ->> ")
            .bind::<Text, _>(path(key))
            .sql(")")
            .sql(test),
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
                let query = events::table.select(events::id).filter(condition(r));
                debug_query::<Sqlite, _>(&query).to_string()
            })
            .collect()
    }

    #[test]
    fn keys_and_values_are_bound_never_written_into_the_text() {
        let [equals, not_in, missing] =
            rendered("app.kubernetes.io/name=shop,tier notin (db,web),!canary")
                .try_into()
                .expect("three conditions");
        assert!(
            equals.contains("WHERE (events.labels ->> ?) = ?")
                && equals.ends_with(r#"-- binds: ["$.\"app.kubernetes.io/name\"", "shop"]"#),
            "{equals}"
        );
        assert!(
            not_in.contains(
                "WHERE NOT coalesce((events.labels ->> ?) IN (SELECT value FROM json_each(?)), 0)"
            ) && not_in.ends_with(r#"-- binds: ["$.\"tier\"", "[\"db\",\"web\"]"]"#),
            "{not_in}"
        );
        assert!(
            missing.contains("WHERE (events.labels ->> ?) IS NULL")
                && missing.ends_with(r#"-- binds: ["$.\"canary\""]"#),
            "{missing}"
        );
    }

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    #[test]
    fn a_read_with_a_selector_walks_the_sequence_from_its_cursor() {
        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        crate::migrate::migrate(&mut conn).expect("migrated");
        let selector = Selector::parse("env=prod,tier in (web),!canary").expect("a selector");
        let mut query = events::table
            .select(events::id)
            .filter(events::seq.gt(7))
            .order(events::seq.asc())
            .limit(100)
            .into_boxed();
        for requirement in selector.requirements() {
            query = query.filter(condition(requirement));
        }
        let sql = debug_query::<Sqlite, _>(&query).to_string();
        let (sql, _binds) = sql.split_once(" -- binds: ").expect("binds");
        let plan: Vec<String> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<PlanStep>(&mut conn)
            .expect("a plan")
            .into_iter()
            .map(|step| step.detail)
            .collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX events_by_seq (seq>?)")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "no sort: {plan:?}"
        );
    }
}
