//! What only the embedded store has to prove: its file outlives the process, its memory mode
//! is a real store, it refuses a newer schema, its locking holds across connections, and a
//! batch writes only its fresh changes.

mod batch;
mod common;
mod concurrency;
mod persistence;
