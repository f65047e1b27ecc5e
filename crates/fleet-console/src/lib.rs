//! The web console of fleet: pages at `/console` that show the caller's fleet, live, and act
//! on it. Every page is a static file embedded in the binary ([`assets`]), so the console
//! works offline and in an air-gapped container; the pages call the same REST API as every
//! client, so roles and project isolation hold for them as for anyone.
//!
//! The one thing the console adds to the API is a session ([`session`]): in keys mode a
//! person signs in with an API key once, and the browser then holds an HttpOnly session
//! cookie, never the key. The REST adapter accepts that cookie in place of a key, with a
//! CSRF token on every change (see `fleet_ops::session`).
//!
//! It must never depend on a store crate, another driving adapter (`fleet-http`,
//! `fleet-ec2`) or the binary: it knows the domain's projects and keys, and HTTP.

pub mod assets;
pub mod session;
mod state;

use actix_web::{Resource, web};

pub use state::ConsoleState;

/// Where fleetd serves the console.
pub const PATH: &str = "/console";

/// The console's resources: the session at `/console/session`, then the pages and their
/// files under `/console`.
pub fn resources(state: web::Data<ConsoleState>) -> Vec<Resource> {
    vec![
        web::resource(format!("{PATH}/session"))
            .app_data(state)
            .route(web::get().to(session::show))
            .route(web::post().to(session::sign_in))
            .route(web::delete().to(session::sign_out)),
        web::resource([PATH.to_owned(), format!("{PATH}/")]).route(web::get().to(assets::index)),
        web::resource(format!("{PATH}/{{file:.+}}")).route(web::get().to(assets::file)),
    ]
}
