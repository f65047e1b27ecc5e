//! What only the embedded store has to prove: its file outlives the process, its memory mode
//! is a real store, it refuses a newer schema, and its locking holds across connections.

mod common;
mod concurrency;
mod persistence;
