//! One conformance suite for every fleet store adapter, written once and run against each.
//!
//! A store crate runs the whole suite from an integration test with two lines:
//!
//! ```ignore
//! async fn fresh_store() -> impl Fixture { /* an empty, migrated store with no pools */ }
//! fleet_store_conformance::suite!(fresh_store);
//! async fn tampered_store() -> impl TamperFixture { /* the same, with a way to tamper */ }
//! fleet_store_conformance::tampering_suite!(tampered_store);
//! ```
//!
//! The macros expand to one `#[test]` per case, so a test runner reports (and nextest runs
//! in parallel) each case on its own. A store that must clean up after a case (a database to
//! drop) returns a [`Fixture`] that does so when dropped. The tampering cases also need a
//! [`Tamper`]: what the store's harness does to the database behind the store's back
//! (migrate it as a newer fleet would, hold a lock from another connection), so that the
//! store's report of each condition is checked on every store.
//!
//! The cases check what the domain relies on, through the store ports only, and build their
//! changes with the domain's own planning functions, as the services do. This crate depends
//! on the domain alone: never on a store adapter, diesel or HTTP.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fleet_domain::ServerId;
use fleet_domain::ports::{
    ActionStore, BudgetStore, CostStore, EventLog, FaultStore, IdempotencyStore, Store,
    StoreStatus, TenancyStore, WebhookStore,
};

mod actions;
mod addresses;
mod apply;
mod budgets;
mod concurrency;
mod costs;
mod due;
mod event_labels;
mod faults;
mod fixtures;
mod history;
mod idempotency;
mod labels;
mod list;
mod pools;
mod provision;
mod quotas;
mod reasons;
mod scoping;
mod sequence;
mod stats;
mod tampering;
mod tenancy;
mod webhook_claims;
mod webhook_fixtures;
mod webhook_generations;
mod webhook_outbox;
mod webhooks;

#[cfg(test)]
mod completeness;

/// Every case of the suite: `async fn(Arc<dyn TestedStore>)`, each given a fresh store;
/// the tampering cases also take an `Arc<dyn Tamper>`.
pub mod cases {
    pub use crate::actions::*;
    pub use crate::addresses::*;
    pub use crate::apply::*;
    pub use crate::budgets::*;
    pub use crate::concurrency::*;
    pub use crate::costs::*;
    pub use crate::due::*;
    pub use crate::event_labels::*;
    pub use crate::faults::*;
    pub use crate::history::*;
    pub use crate::idempotency::*;
    pub use crate::labels::*;
    pub use crate::list::*;
    pub use crate::pools::*;
    pub use crate::provision::*;
    pub use crate::quotas::*;
    pub use crate::reasons::*;
    pub use crate::scoping::*;
    pub use crate::sequence::*;
    pub use crate::stats::*;
    pub use crate::tampering::*;
    pub use crate::tenancy::*;
    pub use crate::webhook_claims::*;
    pub use crate::webhook_generations::*;
    pub use crate::webhook_outbox::*;
    pub use crate::webhooks::*;
}

/// The ports a store adapter implements, as the cases use them.
pub trait TestedStore:
    Store
    + StoreStatus
    + TenancyStore
    + EventLog
    + ActionStore
    + IdempotencyStore
    + FaultStore
    + WebhookStore
    + CostStore
    + BudgetStore
{
}

impl<
    T: Store
        + StoreStatus
        + TenancyStore
        + EventLog
        + ActionStore
        + IdempotencyStore
        + FaultStore
        + WebhookStore
        + CostStore
        + BudgetStore
        + ?Sized,
> TestedStore for T
{
}

/// What a store's harness does to the database behind the store's back.
#[async_trait::async_trait]
pub trait Tamper: Send + Sync {
    /// Records a migration newer than any this fleet knows, as a newer fleet would.
    async fn record_unknown_migration(&self);
    /// Forgets that the newest migration was applied.
    async fn forget_newest_migration(&self);
    /// Takes, from another connection, the lock every write of the store needs (Postgres:
    /// the `servers` table in `EXCLUSIVE` mode; SQLite: the database's write lock) and holds
    /// it until the returned guard is dropped. The store must be set to wait for it briefly.
    async fn hold_write_lock(&self) -> Box<dyn Any + Send>;
    /// How long the store under test waits for a free connection (it must have only one,
    /// or wait briefly): a request waiting longer is `Saturated`.
    fn wait_limit(&self) -> Duration;
    /// Writes `json` (an object of strings) as the server's stored labels, bypassing every
    /// check of the store.
    async fn write_labels(&self, server: ServerId, json: &str);
    /// Writes `code` as the server's stored state reason, bypassing every check of the
    /// store.
    async fn write_state_reason(&self, server: ServerId, code: &str);
}

/// What a store's test harness hands a case: the store, kept alive (with anything that must
/// be cleaned up when the case ends, such as a per-test database) until the case is over.
pub trait Fixture: Send + 'static {
    /// The store under test.
    fn store(&self) -> Arc<dyn TestedStore>;
}

impl Fixture for Arc<dyn TestedStore> {
    fn store(&self) -> Arc<dyn TestedStore> {
        Arc::clone(self)
    }
}

/// A fixture whose database can be tampered with.
pub trait TamperFixture: Fixture {
    /// Tampers with the fixture's database.
    fn tamper(&self) -> Arc<dyn Tamper>;
}

/// Runs one case on a fresh store from `fresh`, on a multi-threaded runtime of its own.
///
/// The fixture is dropped after the case, also when the case panics.
pub fn run<F, FF, X, C, CF>(fresh: F, case: C)
where
    F: FnOnce() -> FF,
    FF: Future<Output = X>,
    X: Fixture,
    C: FnOnce(Arc<dyn TestedStore>) -> CF,
    CF: Future<Output = ()>,
{
    let runtime = case_runtime();
    let fixture = runtime.block_on(fresh());
    runtime.block_on(case(fixture.store()));
}

/// Runs one tampering case on a fresh store from `fresh`, as [`run`] does.
pub fn run_tampered<F, FF, X, C, CF>(fresh: F, case: C)
where
    F: FnOnce() -> FF,
    FF: Future<Output = X>,
    X: TamperFixture,
    C: FnOnce(Arc<dyn TestedStore>, Arc<dyn Tamper>) -> CF,
    CF: Future<Output = ()>,
{
    let runtime = case_runtime();
    let fixture = runtime.block_on(fresh());
    runtime.block_on(case(fixture.store(), fixture.tamper()));
}

fn case_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime for the case")
}

/// Expands to one `#[test]` per conformance case, each on a store from `$fresh`: an
/// `async fn() -> impl Fixture` (for example `async fn() -> Arc<dyn TestedStore>`)
/// returning an empty, migrated store with no pools.
///
/// A case is a `pub async fn(store: Arc<dyn TestedStore>)` in one of the modules re-exported
/// by [`cases`], and is listed here too; a unit test of this crate fails when a `pub async
/// fn` is missing from the list or an entry is not one.
#[macro_export]
macro_rules! suite {
    ($fresh:path) => {
        $crate::__cases!(
            $fresh;
            sync_pools_creates_a_pool_per_region,
            sync_pools_is_idempotent_and_adds_new_regions,
            sync_pools_refuses_to_change_a_cidr,
            provision_stores_the_server_its_address_and_its_event,
            provision_without_a_pool_is_no_pool,
            provision_into_a_missing_project_is_no_project,
            timestamps_keep_their_microseconds,
            get_of_an_unknown_id_is_none,
            first_in_id_range_finds_the_lowest_id_in_it,
            list_filters_by_region_type_and_state,
            tally_counts_each_state_and_region_under_every_filter,
            list_pages_by_cursor_in_creation_order,
            list_cursor_is_stable_under_inserts,
            list_offset_skips_items,
            apply_updates_the_server_and_appends_events_and_usage,
            apply_with_a_stale_generation_changes_nothing,
            apply_to_an_unknown_server_is_missing,
            apply_writes_every_field_a_change_carries,
            addresses_are_distinct_and_inside_the_pool,
            a_stopped_server_keeps_its_address,
            a_terminated_server_releases_its_address_for_reuse,
            pool_exhaustion_is_clean_and_leaves_nothing_behind,
            a_slash_8_pool_works,
            events_are_newest_first_and_windowed,
            events_at_the_same_instant_keep_their_order,
            history_of_an_unknown_server_is_empty,
            usage_ledger_is_append_only_and_adds_up,
            a_server_keeps_its_policy_and_its_month_to_date,
            costs_sum_the_ledger_per_hour_and_group,
            whole_hour_costs_outlive_the_ledger_s_retention,
            cost_rates_add_running_prices_and_stopped_shares,
            budgets_are_kept_and_announce_each_crossing_once,
            concurrent_budget_creates_stop_at_the_limit,
            usage_pages_follow_positions_and_pruning_takes_the_oldest_first,
            process_due_transitions_claims_due_rows_earliest_first,
            process_due_accruals_bills_open_runs_oldest_first,
            process_due_idle_reaps_stopped_servers_oldest_first,
            process_due_leaves_a_row_alone_when_the_planner_declines,
            process_due_is_guarded_by_generation,
            earliest_due_reports_each_kind_of_work,
            pool_usage_counts_allocated_and_free,
            count_by_state_counts_every_state,
            ping_answers,
            concurrent_provisions_get_distinct_addresses,
            concurrent_provisions_exhaust_a_pool_cleanly,
            concurrent_conflicting_actions_exactly_one_wins,
            the_default_project_exists_after_migration,
            projects_are_stored_listed_by_name_and_renamed,
            a_taken_project_name_is_refused,
            a_project_s_rate_limit_is_set_kept_and_cleared,
            keys_are_stored_with_their_hash_and_listed_oldest_first,
            revoking_a_key_keeps_its_first_revocation_time,
            a_key_without_a_sealed_secret_is_sealed_once,
            marking_keys_used_records_when_and_never_goes_back,
            servers_are_listed_by_project,
            events_keep_the_key_that_caused_them,
            a_project_with_live_servers_is_not_deleted,
            deleting_a_project_removes_everything_of_it_and_nothing_else,
            deleting_an_unknown_project_is_missing,
            quotas_round_trip_with_their_use,
            provisioning_past_max_servers_is_refused_and_leaves_nothing,
            a_start_past_max_vcpus_is_refused_and_leaves_the_server_stopped,
            terminated_servers_do_not_count,
            concurrent_provisions_never_pass_a_quota,
            a_project_is_created_with_its_quotas_all_or_nothing,
            events_after_follow_the_sequence_with_filters_limit_and_cursor,
            pruning_keeps_each_server_s_newest_events_and_goes_in_batches,
            a_cursor_below_what_was_pruned_is_expired,
            wait_beyond_wakes_on_a_commit_and_otherwise_waits_out_its_patience,
            action_records_are_opened_and_ended_by_the_changes,
            actions_completed_at_once_and_the_reaper_s_are_recorded,
            a_no_op_action_records_nothing,
            the_selector_table_selects_the_same_servers_on_every_store,
            selectors_work_with_the_other_filters_and_cursor_pages,
            labels_are_stored_as_given,
            an_update_rewrites_the_labels_selectors_see,
            a_stale_update_leaves_the_labels_alone,
            terminated_servers_are_left_out_as_asked_and_count_agrees_with_list,
            a_claimed_key_is_held_until_answered_then_held_with_its_answer,
            keys_are_scoped_to_their_project,
            a_released_key_runs_anew_and_its_old_claim_answers_nothing,
            a_claim_whose_lease_ran_out_is_taken_over_by_the_same_request_only,
            a_key_made_before_the_window_is_forgotten,
            pruning_deletes_keys_before_the_window_in_batches_oldest_first,
            concurrent_claims_of_one_key_have_exactly_one_winner,
            deleting_a_project_forgets_its_keys,
            events_keep_the_labels_their_server_had_when_they_happened,
            the_selector_table_selects_the_same_events_on_every_store,
            event_selectors_work_with_the_other_filters_and_the_cursor,
            a_stop_s_reason_is_stored_with_the_server_and_its_events_and_a_start_clears_it,
            the_reaper_s_reason_replaces_the_stop_s_through_to_terminated,
            fault_rules_are_kept_listed_by_project_and_deleted,
            a_rule_fires_at_most_its_max_count_under_concurrency,
            a_firing_on_a_server_appends_its_event_and_leaves_the_server,
            webhooks_are_stored_listed_by_project_and_paged,
            an_update_writes_the_cursor_and_failing_time_only_when_moved,
            deleting_a_webhook_deletes_its_deliveries_and_a_project_its_webhooks,
            events_after_the_lowest_enabled_cursor_are_not_pruned,
            enqueueing_moves_the_cursor_once_and_stores_each_delivery_once,
            concurrent_enqueues_from_one_cursor_have_one_winner,
            deliveries_are_listed_newest_first_a_page_at_a_time,
            a_retry_makes_a_delivery_due_now_and_keeps_its_lease,
            outbox_stats_count_pending_deliveries_of_enabled_webhooks,
            pruning_deletes_settled_deliveries_made_before_a_time_in_batches,
            claims_take_due_deliveries_of_enabled_webhooks_earliest_first,
            claims_honour_skip_per_webhook_and_limit,
            a_claim_holds_its_lease_until_it_runs_out,
            recording_needs_the_lease_and_writes_the_attempt_and_the_health,
            concurrent_claims_never_take_a_delivery_twice,
            a_stale_update_writes_nothing_and_reports_stale,
            a_disable_by_an_attempt_makes_an_update_from_an_earlier_read_stale,
            concurrent_updates_from_one_read_have_one_winner,
            adding_a_delivery_to_a_missing_webhook_returns_false,
        );
    };
}

/// Expands to one `#[test]` per tampering case, each on a store from `$fresh`: an
/// `async fn() -> impl TamperFixture` returning an empty, migrated store with no pools.
#[macro_export]
macro_rules! tampering_suite {
    ($fresh:path) => {
        $crate::__tampering_cases!(
            $fresh;
            ping_reports_a_schema_migrated_by_a_newer_fleet,
            ping_reports_a_schema_behind_this_fleet,
            a_write_held_up_by_another_writer_is_contended,
            a_request_that_waits_past_the_store_s_limit_is_saturated,
            stored_labels_that_break_the_rules_are_a_corrupt_row,
            a_stored_state_reason_this_fleet_does_not_know_is_a_corrupt_row,
        );
    };
}

/// The expansion of [`tampering_suite!`]; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __tampering_cases {
    ($fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::run_tampered($fresh, $crate::cases::$case);
            }
        )*
    };
}

/// The expansion of [`suite!`]; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases {
    ($fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::run($fresh, $crate::cases::$case);
            }
        )*
    };
}
