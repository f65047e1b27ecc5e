//! Label selectors as SQL over `server_labels`, the one-row-per-label mirror of
//! `servers.labels` that the migration's triggers keep, every key and value a bound
//! parameter. A requirement is answered one of two ways (see `listing` for which, when):
//!
//! | requirement | [`membership`]: the servers with the label | [`lookup`]: whether this server has it |
//! |---|---|---|
//! | `k=v` | `servers.id IN (SELECT server_id … WHERE key = ? AND value = ?)` | `EXISTS (SELECT 1 … WHERE server_id = servers.id AND key = ? AND value = ?)` |
//! | `k in (a,b)` | `… AND value IN (SELECT value FROM json_each(?))` | the same |
//! | `k` | `… WHERE key = ?` | `… AND key = ?` |
//! | `k!=v`, `k notin (…)`, `!k` | `servers.id NOT IN (…)` | `NOT EXISTS (…)` |
//!
//! A membership is a list SQLite builds once, from the index `(key, value, server_id)`,
//! before it scans: its cost grows with the servers the requirement matches. A lookup is a
//! search of the primary key `(server_id, key)` for each server the scan passes: its cost
//! grows with the servers passed. The negations also hold for a server without the key, as
//! the domain's selector says.

use diesel::BoxableExpression;
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;
use fleet_domain::selector::Requirement;

use crate::schema::servers;

/// One condition on the servers table.
pub(crate) type Condition = Box<dyn BoxableExpression<servers::table, Sqlite, SqlType = Bool>>;

/// The label a requirement is about, as both translations test it: the key, and the values
/// it may have (`None`: any).
struct Label<'a> {
    key: &'a str,
    values: Option<Vec<&'a String>>,
    negated: bool,
}

impl<'a> Label<'a> {
    fn of(requirement: &'a Requirement) -> Self {
        let (key, values, negated) = match requirement {
            Requirement::Equals { key, value } => (key, Some(vec![value]), false),
            Requirement::NotEquals { key, value } => (key, Some(vec![value]), true),
            Requirement::In { key, values } => (key, Some(values.iter().collect()), false),
            Requirement::NotIn { key, values } => (key, Some(values.iter().collect()), true),
            Requirement::Exists { key } => (key, None, false),
            Requirement::NotExists { key } => (key, None, true),
        };
        Label {
            key,
            values,
            negated,
        }
    }

    /// `key = ?` and, when values are named, the value's test, after `prefix`.
    fn test(&self, prefix: &str) -> Condition {
        let keyed = sql::<Bool>(prefix)
            .sql("key = ")
            .bind::<Text, _>(self.key.to_owned());
        match self.values.as_deref() {
            None => Box::new(keyed.sql(")")),
            Some([value]) => Box::new(
                keyed
                    .sql(" AND value = ")
                    .bind::<Text, _>((*value).clone())
                    .sql(")"),
            ),
            Some(values) => {
                // A JSON array of strings: serializing one cannot fail.
                let values = serde_json::to_string(values).unwrap_or_default();
                Box::new(
                    keyed
                        .sql(" AND value IN (SELECT value FROM json_each(")
                        .bind::<Text, _>(values)
                        .sql(")))"),
                )
            }
        }
    }
}

/// The requirement as membership in the list of servers with (or without) the label.
pub(crate) fn membership(requirement: &Requirement) -> Condition {
    let label = Label::of(requirement);
    let operator = if label.negated { "NOT IN" } else { "IN" };
    label.test(&format!(
        "servers.id {operator} (SELECT server_id FROM server_labels WHERE "
    ))
}

/// The requirement as a lookup of the label of the server at hand.
pub(crate) fn lookup(requirement: &Requirement) -> Condition {
    let label = Label::of(requirement);
    let operator = if label.negated {
        "NOT EXISTS"
    } else {
        "EXISTS"
    };
    label.test(&format!(
        "{operator} (SELECT 1 FROM server_labels WHERE server_labels.server_id = servers.id AND "
    ))
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

    /// What SQLite plans for a list of servers with `condition` on a migrated database.
    fn plan(conn: &mut SqliteConnection, condition: Condition) -> String {
        let query = servers::table
            .select(servers::id)
            .filter(condition)
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
    fn memberships_list_the_pair_index_and_lookups_search_the_primary_key() {
        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        crate::migrate::migrate(&mut conn).expect("migrated");
        let selector = Selector::parse("a=b,c!=d,e in (f,g),h notin (i),j,!k").expect("a selector");
        for requirement in selector.requirements() {
            let listed = plan(&mut conn, membership(requirement));
            assert!(
                listed.contains("LIST SUBQUERY")
                    && listed.contains("USING COVERING INDEX server_labels_by_pair (key=?"),
                "{requirement:?}:\n{listed}"
            );
            let looked_up = plan(&mut conn, lookup(requirement));
            assert!(
                looked_up.contains("CORRELATED")
                    && looked_up.contains("USING PRIMARY KEY (server_id=? AND key=?)"),
                "{requirement:?}:\n{looked_up}"
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
            .flat_map(|r| {
                [membership(r), lookup(r)].map(|condition| {
                    let query = servers::table.select(servers::id).filter(condition);
                    debug_query::<Sqlite, _>(&query).to_string()
                })
            })
            .collect();
        let [
            equals,
            equals_here,
            not_in,
            not_in_here,
            not_exists,
            not_exists_here,
        ] = rendered.try_into().expect("six conditions");
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
        let here = "(SELECT 1 FROM server_labels WHERE server_labels.server_id = servers.id AND";
        assert!(
            equals_here.contains(&format!("EXISTS {here} key = ? AND value = ?)"))
                && equals_here.ends_with(r#"-- binds: ["env", "prod"]"#),
            "{equals_here}"
        );
        assert!(
            not_in_here.contains(&format!(
                "NOT EXISTS {here} key = ? AND value IN (SELECT value FROM json_each(?)))"
            )) && not_in_here.ends_with(r#"-- binds: ["tier", "[\"db\",\"web\"]"]"#),
            "{not_in_here}"
        );
        assert!(
            not_exists_here.contains(&format!("NOT EXISTS {here} key = ?)"))
                && not_exists_here.ends_with(r#"-- binds: ["app.io/name"]"#),
            "{not_exists_here}"
        );
    }
}
