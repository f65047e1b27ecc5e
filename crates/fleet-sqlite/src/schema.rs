//! The diesel view of `migrations/sqlite`; a test checks it against the migrated database.

diesel::table! {
    ip_pools (region) {
        region -> Text,
        cidr -> Text,
        size -> BigInt,
        next_offset -> BigInt,
    }
}

diesel::table! {
    free_addresses (region, ip_offset) {
        region -> Text,
        ip_offset -> BigInt,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        name -> Text,
        created_at -> BigInt,
        rate_limit_per_minute -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        project_id -> Text,
        role -> Text,
        description -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        secret_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    servers (id) {
        id -> Text,
        name -> Text,
        region -> Text,
        server_type -> Text,
        state -> Text,
        ip -> Nullable<Text>,
        hourly_price_micros -> BigInt,
        generation -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        started_at -> Nullable<BigInt>,
        stopped_at -> Nullable<BigInt>,
        terminated_at -> Nullable<BigInt>,
        transition_due_at -> Nullable<BigInt>,
        billed_until -> Nullable<BigInt>,
        billed_seconds -> BigInt,
        billed_amount_micros -> BigInt,
        project_id -> Text,
        vcpus -> BigInt,
        labels -> Text,
        state_reason -> Nullable<Text>,
        chaos_pending -> Nullable<Text>,
        chaos_due_at -> Nullable<BigInt>,
        chaos_epoch -> BigInt,
        billing_policy -> Text,
        billed_stopped_seconds -> BigInt,
        month_index -> Integer,
        month_billed_micros -> BigInt,
    }
}

diesel::table! {
    project_quotas (project_id) {
        project_id -> Text,
        max_servers -> Nullable<BigInt>,
        max_vcpus -> Nullable<BigInt>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        server_id -> Nullable<Text>,
        at -> BigInt,
        kind -> Text,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
        actor -> Text,
        request_id -> Nullable<Text>,
        message -> Text,
        key_id -> Nullable<Text>,
        seq -> BigInt,
        event_type -> Text,
        project_id -> Text,
        labels -> Text,
        reason -> Nullable<Text>,
        budget_id -> Nullable<Text>,
        budget_threshold -> Nullable<BigInt>,
        budget_amount_micros -> Nullable<BigInt>,
        budget_spent_micros -> Nullable<BigInt>,
        budget_basis -> Nullable<Text>,
        trace_id -> Nullable<Text>,
        span_id -> Nullable<Text>,
    }
}

diesel::table! {
    usage_rollups (project_id, region, server_type, hour) {
        project_id -> Text,
        region -> Text,
        server_type -> Text,
        hour -> BigInt,
        amount_micros -> BigInt,
        seconds -> BigInt,
    }
}

diesel::table! {
    budgets (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        amount_micros -> BigInt,
        label_selector -> Nullable<Text>,
        basis -> Text,
        crossed_month -> Integer,
        crossed_percent -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    event_sequence (id) {
        id -> BigInt,
        latest -> BigInt,
        pruned_through -> BigInt,
    }
}

diesel::table! {
    actions (id) {
        id -> Text,
        project_id -> Text,
        server_id -> Text,
        command -> Text,
        status -> Text,
        started_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        error -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    usage_records (id) {
        id -> BigInt,
        server_id -> Text,
        period_start -> BigInt,
        period_end -> BigInt,
        seconds -> BigInt,
        hourly_price_micros -> BigInt,
        amount_micros -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (project_id, key) {
        project_id -> Text,
        key -> Text,
        fingerprint -> Text,
        created_at -> BigInt,
        claim_token -> Text,
        lease_until -> BigInt,
        response_status -> Nullable<BigInt>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
    }
}

diesel::joinable!(api_keys -> projects (project_id));
diesel::joinable!(events -> servers (server_id));
diesel::joinable!(actions -> servers (server_id));
diesel::joinable!(usage_records -> servers (server_id));
diesel::joinable!(free_addresses -> ip_pools (region));
diesel::joinable!(servers -> ip_pools (region));
diesel::joinable!(servers -> projects (project_id));
diesel::joinable!(project_quotas -> projects (project_id));

diesel::allow_tables_to_appear_in_same_query!(
    projects,
    project_quotas,
    api_keys,
    ip_pools,
    free_addresses,
    servers,
    events,
    event_sequence,
    actions,
    usage_records
);

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        project_id -> Text,
        url -> Text,
        description -> Text,
        event_types -> Text,
        label_selector -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
        cursor -> BigInt,
        failing_since -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        generation -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_seq -> Nullable<BigInt>,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> BigInt,
        created_at -> BigInt,
        next_attempt_at -> Nullable<BigInt>,
        last_attempt_at -> Nullable<BigInt>,
        last_status -> Nullable<BigInt>,
        last_latency_ms -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        lease_token -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        traceparent -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_subscriptions -> projects (project_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(projects, webhook_subscriptions, webhook_deliveries);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    use diesel::sqlite::Sqlite;

    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// The column names diesel selects for a table, in order.
    fn diesel_columns(sql: String) -> Vec<String> {
        let columns = sql
            .strip_prefix("SELECT ")
            .and_then(|rest| rest.split(" FROM ").next())
            .expect("a SELECT statement");
        columns
            .split(", ")
            .map(|qualified| {
                let column = qualified.rsplit('.').next().expect("a column");
                column.trim_matches('`').to_owned()
            })
            .collect()
    }

    fn migrated_columns(conn: &mut SqliteConnection, table: &str) -> Vec<String> {
        diesel::sql_query(format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .load::<Column>(conn)
        .expect("table info")
        .into_iter()
        .map(|c| c.name)
        .collect()
    }

    #[test]
    fn schema_rs_matches_the_migrations_column_for_column() {
        let mut conn = SqliteConnection::establish(":memory:").expect("memory database");
        crate::migrate::migrate(&mut conn).expect("migrations apply");
        let tables = [
            (
                "projects",
                diesel::debug_query::<Sqlite, _>(
                    &super::projects::table.select(super::projects::all_columns),
                )
                .to_string(),
            ),
            (
                "api_keys",
                diesel::debug_query::<Sqlite, _>(
                    &super::api_keys::table.select(super::api_keys::all_columns),
                )
                .to_string(),
            ),
            (
                "ip_pools",
                diesel::debug_query::<Sqlite, _>(
                    &super::ip_pools::table.select(super::ip_pools::all_columns),
                )
                .to_string(),
            ),
            (
                "free_addresses",
                diesel::debug_query::<Sqlite, _>(
                    &super::free_addresses::table.select(super::free_addresses::all_columns),
                )
                .to_string(),
            ),
            (
                "servers",
                diesel::debug_query::<Sqlite, _>(
                    &super::servers::table.select(super::servers::all_columns),
                )
                .to_string(),
            ),
            (
                "events",
                diesel::debug_query::<Sqlite, _>(
                    &super::events::table.select(super::events::all_columns),
                )
                .to_string(),
            ),
            (
                "event_sequence",
                diesel::debug_query::<Sqlite, _>(
                    &super::event_sequence::table.select(super::event_sequence::all_columns),
                )
                .to_string(),
            ),
            (
                "actions",
                diesel::debug_query::<Sqlite, _>(
                    &super::actions::table.select(super::actions::all_columns),
                )
                .to_string(),
            ),
            (
                "idempotency_keys",
                diesel::debug_query::<Sqlite, _>(
                    &super::idempotency_keys::table.select(super::idempotency_keys::all_columns),
                )
                .to_string(),
            ),
            (
                "usage_records",
                diesel::debug_query::<Sqlite, _>(
                    &super::usage_records::table.select(super::usage_records::all_columns),
                )
                .to_string(),
            ),
            (
                "fault_rules",
                diesel::debug_query::<Sqlite, _>(
                    &super::fault_rules::table.select(super::fault_rules::all_columns),
                )
                .to_string(),
            ),
            (
                "webhook_subscriptions",
                diesel::debug_query::<Sqlite, _>(
                    &super::webhook_subscriptions::table
                        .select(super::webhook_subscriptions::all_columns),
                )
                .to_string(),
            ),
            (
                "webhook_deliveries",
                diesel::debug_query::<Sqlite, _>(
                    &super::webhook_deliveries::table
                        .select(super::webhook_deliveries::all_columns),
                )
                .to_string(),
            ),
        ];
        for (table, sql) in tables {
            assert_eq!(
                diesel_columns(sql),
                migrated_columns(&mut conn, table),
                "{table}"
            );
        }
    }
}

diesel::table! {
    fault_rules (id) {
        id -> Text,
        project_id -> Nullable<Text>,
        spec -> Text,
        max_count -> Nullable<BigInt>,
        fired -> BigInt,
        created_at -> BigInt,
    }
}
