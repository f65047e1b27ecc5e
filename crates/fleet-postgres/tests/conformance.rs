//! The shared store conformance suite against Postgres, each case on a database of its own.

mod support;

fleet_store_conformance::suite!(support::fresh_store);
