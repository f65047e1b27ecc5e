//! The diesel view of the tables in `migrations/postgres` (checked against them by
//! `tests/postgres/schema.rs`).

diesel::table! {
    /// One address pool per region.
    ip_pools (region) {
        /// The region.
        region -> Text,
        /// Its CIDR block.
        cidr -> Cidr,
        /// How many addresses it can hand out.
        size -> Int8,
        /// How many offsets have ever been handed out.
        next_offset -> Int8,
    }
}

diesel::table! {
    /// Released offsets, free to hand out again.
    free_addresses (region, ip_offset) {
        /// The pool.
        region -> Text,
        /// The released offset.
        ip_offset -> Int8,
    }
}

diesel::table! {
    /// Projects: the accounts every server and key belongs to.
    projects (id) {
        /// Identity.
        id -> Uuid,
        /// Unique name.
        name -> Text,
        /// Creation time.
        created_at -> Timestamptz,
        /// Requests a minute per key, overriding the service's default; NULL: the default.
        rate_limit_per_minute -> Nullable<Int4>,
    }
}

diesel::table! {
    /// API keys, with the hash of their secret.
    api_keys (id) {
        /// Identity, the public part of the key's text.
        id -> Uuid,
        /// The project it acts in.
        project_id -> Uuid,
        /// viewer, member or admin.
        role -> Text,
        /// What it is for.
        description -> Text,
        /// The hash of its secret.
        secret_hash -> Text,
        /// Its secret sealed under the pepper, for signatures (NULL: made before sealing).
        secret_sealed -> Nullable<Text>,
        /// Creation time.
        created_at -> Timestamptz,
        /// Last use, coarse.
        last_used_at -> Nullable<Timestamptz>,
        /// Revocation.
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Servers.
    servers (id) {
        /// Identity.
        id -> Uuid,
        /// The project it belongs to.
        project_id -> Uuid,
        /// Name.
        name -> Text,
        /// Region (and pool).
        region -> Text,
        /// Server type.
        server_type -> Text,
        /// Lifecycle state.
        state -> Text,
        /// Address, until terminated.
        ip -> Nullable<Inet>,
        /// The address's offset in the pool.
        ip_offset -> Nullable<Int8>,
        /// Hourly price.
        hourly_price_micros -> Int8,
        /// Change counter.
        generation -> Int8,
        /// Creation time.
        created_at -> Timestamptz,
        /// Last change.
        updated_at -> Timestamptz,
        /// Start of the last run.
        started_at -> Nullable<Timestamptz>,
        /// Last stop.
        stopped_at -> Nullable<Timestamptz>,
        /// Termination.
        terminated_at -> Nullable<Timestamptz>,
        /// When the transitional state completes.
        transition_due_at -> Nullable<Timestamptz>,
        /// Billing watermark of the open run.
        billed_until -> Nullable<Timestamptz>,
        /// Seconds billed.
        billed_seconds -> Int8,
        /// Amount billed.
        billed_amount_micros -> Int8,
        /// Its type's vCPUs, counted against its project's vCPU quota.
        vcpus -> Int4,
        /// Its labels: a JSON object of strings (GIN-indexed for selectors).
        labels -> Jsonb,
        /// Why it is out of service: a state reason code; NULL in service.
        state_reason -> Nullable<Text>,
        /// The fault a rule has in store for it (`<what>:<rule id>`).
        chaos_pending -> Nullable<Text>,
        /// When that fault falls due.
        chaos_due_at -> Nullable<Timestamptz>,
        /// The epoch of the scheduled rules its schedule was drawn under.
        chaos_epoch -> Int8,
        billing_policy -> Text,
        billed_stopped_seconds -> Int8,
        month_index -> Int4,
        month_billed_micros -> Int8,
    }
}

diesel::table! {
    /// Project quotas; NULL is no limit.
    project_quotas (project_id) {
        /// The project.
        project_id -> Uuid,
        /// The most servers that are not terminated.
        max_servers -> Nullable<Int4>,
        /// The most vCPUs of servers running or heading there.
        max_vcpus -> Nullable<Int4>,
    }
}

diesel::table! {
    /// Lifecycle events.
    events (id) {
        /// Append order.
        id -> Int8,
        /// The server; NULL for an event about a budget.
        server_id -> Nullable<Uuid>,
        /// When.
        at -> Timestamptz,
        /// What happened.
        kind -> Text,
        /// State before.
        from_state -> Nullable<Text>,
        /// State after.
        to_state -> Nullable<Text>,
        /// Who caused it.
        actor -> Text,
        /// The request that caused it.
        request_id -> Nullable<Text>,
        /// A human-readable line.
        message -> Text,
        /// The API key that caused it (no foreign key: it outlives the key).
        key_id -> Nullable<Uuid>,
        /// Its place in the global sequence; NULL until the sequencer numbers it.
        seq -> Nullable<Int8>,
        /// Its public type (`server.provisioned`, ...).
        event_type -> Text,
        /// Its server's project.
        project_id -> Uuid,
        /// Its server's labels when it happened: a JSON object of strings.
        labels -> Jsonb,
        /// The state reason code of the change it records; NULL without one.
        reason -> Nullable<Text>,
        /// The budget a `budget.threshold_crossed` event is about; NULL for the others.
        budget_id -> Nullable<Uuid>,
        /// The threshold crossed, in percent.
        budget_threshold -> Nullable<Int4>,
        /// The budget's monthly amount.
        budget_amount_micros -> Nullable<Int8>,
        /// What was spent (or forecast) when it was crossed.
        budget_spent_micros -> Nullable<Int8>,
        /// `actual` or `forecast`: which `budget_spent_micros` is.
        budget_basis -> Nullable<Text>,
        /// The trace of the request or worker pass that caused it: 32 lower-case hex digits.
        trace_id -> Nullable<Text>,
        /// The span in that trace that caused it: 16 lower-case hex digits.
        span_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// How far the event sequence goes; one row.
    event_sequence (id) {
        /// Always true: the table's one row.
        id -> Bool,
        /// The highest sequence number given.
        latest -> Int8,
        /// Events numbered up to this may have been pruned.
        pruned_through -> Int8,
    }
}

diesel::table! {
    /// Action records: accepted actions and provisionings, and what became of them.
    actions (id) {
        /// Identity.
        id -> Uuid,
        /// Its server's project.
        project_id -> Uuid,
        /// The server.
        server_id -> Uuid,
        /// provision, start, stop, reboot or terminate.
        command -> Text,
        /// running, success or error.
        status -> Text,
        /// When it was accepted.
        started_at -> Timestamptz,
        /// When it succeeded or failed.
        finished_at -> Nullable<Timestamptz>,
        /// Why it failed.
        error -> Nullable<Text>,
        /// The request that asked for it.
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// The usage ledger.
    usage_records (id) {
        /// Append order.
        id -> Int8,
        /// The server billed.
        server_id -> Uuid,
        /// Start of the period.
        period_start -> Timestamptz,
        /// End of the period.
        period_end -> Timestamptz,
        /// Seconds billed.
        seconds -> Int8,
        /// Rate.
        hourly_price_micros -> Int8,
        /// Amount.
        amount_micros -> Int8,
    }
}

diesel::table! {
    /// Idempotency keys: each project's names for single requests, with the first
    /// request's fingerprint and final answer.
    idempotency_keys (project_id, key) {
        /// The key's scope.
        project_id -> Uuid,
        /// The key, without quotes.
        key -> Text,
        /// The SHA-256 of the first request, in hex.
        fingerprint -> Text,
        /// When the first request arrived, on the service's clock.
        created_at -> Timestamptz,
        /// Which claim holds the key.
        claim_token -> Uuid,
        /// Until when, on the database's clock, an unanswered claim holds the key.
        lease_until -> Timestamptz,
        /// The answer's status; NULL while the request runs.
        response_status -> Nullable<Int4>,
        /// The headers a replay repeats, an object by lowercase name.
        response_headers -> Nullable<Jsonb>,
        /// The answer's body.
        response_body -> Nullable<Text>,
    }
}

diesel::joinable!(api_keys -> projects (project_id));
diesel::joinable!(project_quotas -> projects (project_id));
diesel::joinable!(free_addresses -> ip_pools (region));
diesel::joinable!(servers -> ip_pools (region));
diesel::joinable!(servers -> projects (project_id));
diesel::joinable!(events -> servers (server_id));
diesel::joinable!(actions -> servers (server_id));
diesel::joinable!(usage_records -> servers (server_id));

diesel::allow_tables_to_appear_in_same_query!(
    projects,
    api_keys,
    project_quotas,
    ip_pools,
    free_addresses,
    servers,
    events,
    event_sequence,
    actions,
    usage_records
);

diesel::table! {
    /// Fault rules: the matcher and effect as the client's JSON, and the firing counts.
    fault_rules (id) {
        /// Identity.
        id -> Uuid,
        /// The project it applies to; NULL for every project.
        project_id -> Nullable<Uuid>,
        /// The rule as the client gave it (JSON text).
        spec -> Text,
        /// At most this many firings.
        max_count -> Nullable<Int8>,
        /// How often it fired.
        fired -> Int8,
        /// When it was made.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Webhook subscriptions: where a project's events go, which of them, the secrets that
    /// sign them, and the outbox's cursor in the event sequence.
    webhook_subscriptions (id) {
        /// Identity.
        id -> Uuid,
        /// The project whose events it takes.
        project_id -> Uuid,
        /// Where deliveries go.
        url -> Text,
        /// What it is for.
        description -> Text,
        /// The event types it takes, comma-separated; '' for every type.
        event_types -> Text,
        /// The label selector as the client wrote it; NULL for every server.
        label_selector -> Nullable<Text>,
        /// Whether new events make deliveries and pending ones are sent.
        enabled -> Bool,
        /// Why fleet disabled it.
        disabled_reason -> Nullable<Text>,
        /// The signing secret (`whsec_...`).
        secret -> Text,
        /// The secret before the last rotation.
        previous_secret -> Nullable<Text>,
        /// Until when that one still signs.
        previous_secret_until -> Nullable<Timestamptz>,
        /// The last event sequence number it has taken deliveries from.
        cursor -> Int8,
        /// When its deliveries began failing without a success since.
        failing_since -> Nullable<Timestamptz>,
        /// When it was made.
        created_at -> Timestamptz,
        /// When it last changed.
        updated_at -> Timestamptz,
        /// The row's version: one more on every write of its settings or health.
        generation -> Int8,
    }
}

diesel::table! {
    /// Webhook deliveries: the outbox, and the log of what became of each message.
    webhook_deliveries (id) {
        /// Identity, the message's `webhook-id`.
        id -> Uuid,
        /// The subscription.
        webhook_id -> Uuid,
        /// The event it carries; NULL for a test message.
        event_seq -> Nullable<Int8>,
        /// The message's type.
        event_type -> Text,
        /// The body sent on every attempt.
        payload -> Text,
        /// pending, succeeded or failed.
        status -> Text,
        /// Attempts made.
        attempts -> Int4,
        /// When it was made (the service's clock).
        created_at -> Timestamptz,
        /// When the next attempt is due (the service's clock).
        next_attempt_at -> Nullable<Timestamptz>,
        /// When the last attempt was made.
        last_attempt_at -> Nullable<Timestamptz>,
        /// The HTTP status of the last answer.
        last_status -> Nullable<Int4>,
        /// How long the last attempt took.
        last_latency_ms -> Nullable<Int4>,
        /// Why the last attempt got no answer.
        last_error -> Nullable<Text>,
        /// The claim holding it.
        lease_token -> Nullable<Uuid>,
        /// Until when that claim holds it (the database's clock).
        lease_until -> Nullable<Timestamptz>,
        /// The W3C `traceparent` its requests carry: its event's trace.
        traceparent -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_subscriptions -> projects (project_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(projects, webhook_subscriptions, webhook_deliveries);

diesel::table! {
    /// Budgets: a monthly amount for a project's servers, and what it has announced.
    budgets (id) {
        /// Its id.
        id -> Uuid,
        /// Its project.
        project_id -> Uuid,
        /// What it is for.
        name -> Text,
        /// The monthly amount.
        amount_micros -> Int8,
        /// The selector of the servers it counts, as written; NULL for all.
        label_selector -> Nullable<Text>,
        /// `actual` or `forecast`.
        basis -> Text,
        /// The month of its highest announced threshold (months since 1970-01).
        crossed_month -> Int4,
        /// That threshold, in percent; 0 for none.
        crossed_percent -> Int4,
        /// When it was made.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// The ledger summed per project, region, type, start hour and shard, kept by the
    /// statement that appends usage records.
    usage_rollups (project_id, region, server_type, hour, shard) {
        /// The servers' project.
        project_id -> Uuid,
        /// Their region.
        region -> Text,
        /// Their type.
        server_type -> Text,
        /// The clock hour the records start in.
        hour -> Timestamptz,
        /// Which of four rows of the group and hour (from the server id).
        shard -> Int4,
        /// The records' amount.
        amount_micros -> Int8,
        /// The records' seconds.
        seconds -> Int8,
    }
}
