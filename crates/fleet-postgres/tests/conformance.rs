//! The shared store conformance suite against Postgres, each case on a database of its own.

mod support;

fleet_store_conformance::suite!(support::fresh_store);
fleet_store_conformance::tampering_suite!(support::tampered_store);
