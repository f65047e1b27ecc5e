//! `src/schema.rs` says exactly what the migrations create: the same tables and columns,
//! with the same types and nullability.

use std::collections::BTreeSet;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::support::{self, TestDb};

const SCHEMA_RS: &str = include_str!("../../src/schema.rs");

type Column = (String, String, String, bool);

/// The Postgres type name `information_schema` reports for a diesel SQL type.
fn postgres_type(diesel: &str) -> &'static str {
    match diesel {
        "Uuid" => "uuid",
        "Text" => "text",
        "Int4" => "integer",
        "Int8" => "bigint",
        "Bool" => "boolean",
        "Timestamptz" => "timestamp with time zone",
        "Inet" => "inet",
        "Cidr" => "cidr",
        "Jsonb" => "jsonb",
        other => panic!("schema.rs uses {other}, which this check does not map yet"),
    }
}

/// (table, column, type, nullable) for every column `diesel::table!` declares.
fn declared() -> BTreeSet<Column> {
    let mut columns = BTreeSet::new();
    let mut table: Option<String> = None;
    for line in SCHEMA_RS.lines().map(str::trim) {
        if let Some((name, _)) = line.split_once(" (").filter(|_| line.ends_with('{')) {
            table = Some(name.to_owned());
        } else if let Some((name, ty)) = line
            .split_once(" -> ")
            .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            let ty = ty.trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (ty, false),
            };
            let table = table.clone().expect("a column inside a table! block");
            columns.insert((
                table,
                name.to_owned(),
                postgres_type(ty).to_owned(),
                nullable,
            ));
        }
    }
    columns
}

#[derive(QueryableByName)]
struct InfoColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_rs_matches_the_migrated_database() {
    let db = TestDb::new().await;
    let mut conn = support::connect(&db.url).await;
    let rows: Vec<InfoColumn> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                data_type::text AS data_type, is_nullable::text AS is_nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .await
    .expect("information_schema.columns");
    let migrated: BTreeSet<Column> = rows
        .into_iter()
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                c.data_type,
                c.is_nullable == "YES",
            )
        })
        .collect();
    let declared = declared();
    assert!(declared.len() >= 40, "the parser found only {declared:?}");
    let missing: Vec<_> = migrated.difference(&declared).collect();
    let extra: Vec<_> = declared.difference(&migrated).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "schema.rs is out of date.\nIn the migrations only: {missing:#?}\nIn schema.rs only: {extra:#?}"
    );
}
