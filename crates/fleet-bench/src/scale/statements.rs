//! Counting the SQL statements the store sends, by kind, through diesel's instrumentation.
//!
//! Every statement a diesel connection sends — queries, `BEGIN`/`COMMIT` and the pool's
//! connection check — raises a `StartQuery` event first, so counting those counts what the
//! database is asked to do. diesel takes the default instrumentation as a plain function
//! pointer, so the counters are process-wide statics; the bench reads them around each pass
//! and nothing else in the process uses the store meanwhile.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, anyhow};
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

/// The kinds counted, in display order.
const KINDS: [&str; 9] = [
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "pool check",
    "SELECT",
    "UPDATE",
    "INSERT",
    "DELETE",
    "other",
];

static COUNTS: [AtomicU64; KINDS.len()] = [const { AtomicU64::new(0) }; KINDS.len()];

/// Statements sent, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statements([u64; KINDS.len()]);

impl Statements {
    /// Every statement.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Transactions begun.
    pub fn transactions(&self) -> u64 {
        self.0[0]
    }

    /// The counts now.
    pub fn now() -> Statements {
        Statements(std::array::from_fn(|i| COUNTS[i].load(Ordering::Relaxed)))
    }

    /// What was sent since `earlier`.
    pub fn since(earlier: Statements) -> Statements {
        let now = Statements::now();
        Statements(std::array::from_fn(|i| {
            now.0[i].saturating_sub(earlier.0[i])
        }))
    }
}

/// `BEGIN 500, SELECT 500, …`, leaving out kinds with none.
impl fmt::Display for Statements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = KINDS
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Makes every diesel connection opened from now on count its statements.
pub fn install() -> Result<()> {
    set_default_instrumentation(|| Some(Box::new(Counter)))
        .map_err(|e| anyhow!("installing the statement counter: {e}"))
}

struct Counter;

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            COUNTS[kind(&query.to_string())].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The index in [`KINDS`] of a statement's text.
fn kind(sql: &str) -> usize {
    let sql = sql.trim_start();
    // deadpool's check of a connection taken from the pool (`RecyclingMethod::Verified`).
    if sql.starts_with("SELECT $1 ") || sql == "SELECT $1" {
        return 3;
    }
    let word = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let word = if word == "WITH" {
        "SELECT".to_owned()
    } else {
        word
    };
    KINDS
        .iter()
        .position(|k| *k == word)
        .unwrap_or(KINDS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_sorted_by_their_first_word() {
        assert_eq!(KINDS[kind("BEGIN")], "BEGIN");
        assert_eq!(KINDS[kind("SELECT $1 -- binds: [1]")], "pool check");
        assert_eq!(
            KINDS[kind("SELECT \"servers\".\"id\" FROM \"servers\"")],
            "SELECT"
        );
        assert_eq!(KINDS[kind("  update servers SET x = 1")], "UPDATE");
        assert_eq!(KINDS[kind("INSERT INTO \"events\" (…)")], "INSERT");
        assert_eq!(KINDS[kind("DELETE FROM ip_free")], "DELETE");
        assert_eq!(KINDS[kind("VACUUM")], "other");
    }

    #[test]
    fn counts_read_by_kind_and_in_total() {
        let counts = Statements([2, 2, 0, 2, 2, 2, 4, 0, 0]);
        assert_eq!(counts.total(), 14);
        assert_eq!(counts.transactions(), 2);
        assert_eq!(
            counts.to_string(),
            "BEGIN 2, COMMIT 2, pool check 2, SELECT 2, UPDATE 2, INSERT 4"
        );
    }
}
