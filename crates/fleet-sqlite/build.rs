//! Rebuilds the crate when a migration is added, so the embedded migrations stay complete.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
}
