//! Label selectors as SQL over `server_labels`, the one-row-per-label mirror of
//! `servers.labels` that the migration's triggers keep, every key and value a bound
//! parameter. Each requirement is a membership test on an indexed lookup
//! (`server_labels_by_pair`: key, value, server), or its negation:
//!
//! | requirement | condition |
//! |---|---|
//! | `k=v` | `servers.id IN (SELECT server_id … WHERE key = ? AND value = ?)` |
//! | `k in (a,b)` | `… WHERE key = ? AND value IN (SELECT value FROM json_each(?))` |
//! | `k` | `… WHERE key = ?` |
//! | `k!=v`, `k notin (…)`, `!k` | `servers.id NOT IN (…)` of the above |
//!
//! The negations also hold for a server without the key, as the domain's selector says.

use diesel::BoxableExpression;
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;
use fleet_domain::selector::Requirement;

use crate::schema::servers;

/// One condition on the servers table.
pub(crate) type Condition = Box<dyn BoxableExpression<servers::table, Sqlite, SqlType = Bool>>;

const HAVING_KEY: &str = " (SELECT server_id FROM server_labels WHERE key = ";

/// The condition a server's labels must meet for `requirement`.
pub(crate) fn condition(requirement: &Requirement) -> Condition {
    match requirement {
        Requirement::Equals { key, value } => pair(key, value, "IN"),
        Requirement::NotEquals { key, value } => pair(key, value, "NOT IN"),
        Requirement::In { key, values } => set(key, values.iter(), "IN"),
        Requirement::NotIn { key, values } => set(key, values.iter(), "NOT IN"),
        Requirement::Exists { key } => has_key(key, "IN"),
        Requirement::NotExists { key } => has_key(key, "NOT IN"),
    }
}

fn pair(key: &str, value: &str, membership: &'static str) -> Condition {
    Box::new(
        sql::<Bool>("servers.id ")
            .sql(membership)
            .sql(HAVING_KEY)
            .bind::<Text, _>(key.to_owned())
            .sql(" AND value = ")
            .bind::<Text, _>(value.to_owned())
            .sql(")"),
    )
}

fn set<'a>(
    key: &str,
    values: impl Iterator<Item = &'a String>,
    membership: &'static str,
) -> Condition {
    let values: Vec<&String> = values.collect();
    // A JSON array of strings: serializing one cannot fail.
    let values = serde_json::to_string(&values).unwrap_or_default();
    Box::new(
        sql::<Bool>("servers.id ")
            .sql(membership)
            .sql(HAVING_KEY)
            .bind::<Text, _>(key.to_owned())
            .sql(" AND value IN (SELECT value FROM json_each(")
            .bind::<Text, _>(values)
            .sql(")))"),
    )
}

fn has_key(key: &str, membership: &'static str) -> Condition {
    Box::new(
        sql::<Bool>("servers.id ")
            .sql(membership)
            .sql(HAVING_KEY)
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

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// What SQLite plans for a list of servers with `requirement` on a migrated database.
    fn plan(conn: &mut SqliteConnection, requirement: &Requirement) -> String {
        let query = servers::table
            .select(servers::id)
            .filter(condition(requirement))
            .order((servers::created_at, servers::id))
            .limit(21);
        let sql = debug_query::<Sqlite, _>(&query).to_string();
        let (sql, _binds) = sql.split_once(" -- binds: ").expect("binds");
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<PlanStep>(conn)
            .expect("a plan")
            .into_iter()
            .map(|step| step.detail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_requirement_looks_labels_up_in_the_pair_index() {
        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        crate::migrate::migrate(&mut conn).expect("migrated");
        let selector = Selector::parse("a=b,c!=d,e in (f,g),h notin (i),j,!k").expect("a selector");
        for requirement in selector.requirements() {
            let plan = plan(&mut conn, requirement);
            assert!(
                plan.contains("USING COVERING INDEX server_labels_by_pair (key=?"),
                "{requirement:?}:\n{plan}"
            );
        }
    }

    #[test]
    fn keys_and_values_are_bound_never_written_into_the_text() {
        let selector =
            Selector::parse("env=prod,tier notin (db,web),!app.io/name").expect("a selector");
        let rendered: Vec<String> = selector
            .requirements()
            .iter()
            .map(|r| {
                let query = servers::table.select(servers::id).filter(condition(r));
                debug_query::<Sqlite, _>(&query).to_string()
            })
            .collect();
        let [equals, not_in, not_exists] = rendered.try_into().expect("three conditions");
        assert!(
            equals.contains(
                "servers.id IN (SELECT server_id FROM server_labels WHERE key = ? AND value = ?)"
            ) && equals.ends_with(r#"-- binds: ["env", "prod"]"#),
            "{equals}"
        );
        assert!(
            not_in.contains("servers.id NOT IN (SELECT server_id FROM server_labels WHERE key = ? AND value IN (SELECT value FROM json_each(?)))")
                && not_in.ends_with(r#"-- binds: ["tier", "[\"db\",\"web\"]"]"#),
            "{not_in}"
        );
        assert!(
            not_exists
                .contains("servers.id NOT IN (SELECT server_id FROM server_labels WHERE key = ?)")
                && not_exists.ends_with(r#"-- binds: ["app.io/name"]"#),
            "{not_exists}"
        );
    }
}
