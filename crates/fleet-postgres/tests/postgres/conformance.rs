//! The shared store conformance suite against Postgres, each case on a database of its own.

fleet_store_conformance::suite!(crate::support::fresh_store);
fleet_store_conformance::tampering_suite!(crate::support::tampered_store);
