//! What the console's handlers share.

use std::sync::Arc;

use fleet_domain::service::ProjectService;

/// The console's view of the service: who can sign in, and what the service runs with.
pub struct ConsoleState {
    /// Projects and keys, to sign in with a key and to read a session.
    pub projects: Arc<ProjectService>,
    /// Whether every request needs a key (keys mode), so the console must sign in.
    pub keys_required: bool,
    /// Whether fleetd runs on a virtual clock, which the admin page can advance.
    pub virtual_clock: bool,
    /// How long a session lasts, in seconds.
    pub session_lifetime_s: i64,
}
