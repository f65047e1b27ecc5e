//! The GIN index on `servers.labels` serves the operators `selector` translates equality,
//! set and existence requirements into. (Which plan Postgres picks for a given table is its
//! choice; here sequential and plain index scans are disabled, so a plan without a bitmap
//! scan of the index means the index cannot serve the operator at all.)

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::support::{self, TestDb, exec};

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

async fn plan(conn: &mut AsyncPgConnection, condition: &str, bound: &str) -> String {
    let lines: Vec<PlanLine> =
        diesel::sql_query(format!("EXPLAIN SELECT id FROM servers WHERE {condition}"))
            .bind::<Text, _>(bound)
            .load(conn)
            .await
            .unwrap_or_else(|e| panic!("explaining {condition}: {e}"));
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_labels_index_serves_equality_sets_and_existence() {
    let db = TestDb::new().await;
    let mut conn = support::connect(&db.url).await;
    exec(&mut conn, "SET enable_seqscan = off").await;
    exec(&mut conn, "SET enable_indexscan = off").await;
    for (condition, bound) in [
        ("servers.labels @> $1::jsonb", r#"{"env": "prod"}"#),
        (
            "servers.labels @> ANY($1::jsonb[])",
            r#"{"{\"env\": \"prod\"}","{\"env\": \"dev\"}"}"#,
        ),
        ("servers.labels ? $1", "env"),
    ] {
        let plan = plan(&mut conn, condition, bound).await;
        assert!(
            plan.contains("Bitmap Index Scan on servers_labels"),
            "{condition}:\n{plan}"
        );
    }
}
