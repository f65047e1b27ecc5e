//! The built `fleet` binary against a real fleetd started in this process (on the virtual
//! clock unless a test says otherwise, an SQLite file of its own), as a user runs it: exit
//! statuses, stdout and stderr.

mod fleetd;
mod idempotency;
mod run;

mod bulk;
mod labels;
mod output;
mod profiles;
mod refusals;
mod scenarios;
mod watching;
mod webhooks;
