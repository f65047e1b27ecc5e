//! Where each handler is mounted.

use paperclip::actix::web;

use crate::handlers::{
    actions, admin, budgets, bulk, catalog, costs, events, faults, history, keys, projects, quotas,
    servers, wait, webhooks,
};

/// The routes of the spec; the virtual clock's only in virtual-clock mode.
pub fn api(cfg: &mut web::ServiceConfig, with_admin: bool) {
    cfg.service(
        web::resource("/servers")
            .route(web::post().to(servers::provision))
            .route(web::get().to(servers::list)),
    )
    .service(web::resource("/server").route(web::post().to(servers::provision_alias)))
    // Before `/servers/{id}`, which would take `actions` and `counts` for ids.
    .service(web::resource("/servers/actions").route(web::post().to(bulk::act)))
    .service(web::resource("/servers/counts").route(web::get().to(servers::counts)))
    .service(
        web::resource("/servers/{id}")
            .route(web::get().to(servers::get))
            .route(web::patch().to(servers::update)),
    )
    .service(web::resource("/servers/{id}/action").route(web::post().to(servers::act)))
    .service(web::resource("/servers/{id}/logs").route(web::get().to(history::events)))
    .service(web::resource("/servers/{id}/billing").route(web::get().to(history::billing)))
    .service(web::resource("/servers/{id}/wait").route(web::get().to(wait::wait)))
    .service(web::resource("/servers/{id}/actions").route(web::get().to(actions::list)))
    .service(web::resource("/actions/{id}").route(web::get().to(actions::get)))
    .service(web::resource("/events").route(web::get().to(events::list)))
    .service(web::resource("/events/stream").route(web::get().to(events::stream)))
    .service(web::resource("/catalog").route(web::get().to(catalog::catalog)))
    .service(web::resource("/costs").route(web::get().to(costs::report)))
    .service(web::resource("/costs/forecast").route(web::get().to(costs::forecast)))
    .service(
        web::resource("/budgets")
            .route(web::post().to(budgets::create))
            .route(web::get().to(budgets::list)),
    )
    .service(
        web::resource("/budgets/{id}")
            .route(web::get().to(budgets::get))
            .route(web::delete().to(budgets::delete)),
    )
    .service(
        web::resource("/projects")
            .route(web::post().to(projects::create))
            .route(web::get().to(projects::list)),
    )
    .service(
        web::resource("/projects/{id}")
            .route(web::get().to(projects::get))
            .route(web::patch().to(projects::update))
            .route(web::delete().to(projects::delete)),
    )
    .service(
        web::resource("/projects/{id}/quotas")
            .route(web::get().to(quotas::get))
            .route(web::put().to(quotas::set)),
    )
    .service(
        web::resource("/projects/{id}/keys")
            .route(web::post().to(keys::create))
            .route(web::get().to(keys::list)),
    )
    .service(web::resource("/keys/{id}").route(web::delete().to(keys::revoke)))
    .service(
        web::resource("/faults")
            .route(web::post().to(faults::create))
            .route(web::get().to(faults::list)),
    )
    .service(
        web::resource("/faults/{id}")
            .route(web::get().to(faults::get))
            .route(web::delete().to(faults::delete)),
    )
    .service(
        web::resource("/webhooks")
            .route(web::post().to(webhooks::create))
            .route(web::get().to(webhooks::list)),
    )
    .service(
        web::resource("/webhooks/{id}")
            .route(web::get().to(webhooks::get))
            .route(web::patch().to(webhooks::update))
            .route(web::delete().to(webhooks::delete)),
    )
    .service(
        web::resource("/webhooks/{id}/rotate-secret")
            .route(web::post().to(webhooks::rotate_secret)),
    )
    .service(web::resource("/webhooks/{id}/test").route(web::post().to(webhooks::test)))
    .service(web::resource("/webhooks/{id}/deliveries").route(web::get().to(webhooks::deliveries)))
    .service(
        web::resource("/webhooks/{id}/deliveries/{delivery_id}/retry")
            .route(web::post().to(webhooks::retry)),
    );
    if with_admin {
        cfg.service(web::resource("/admin/clock").route(web::get().to(admin::read)))
            .service(web::resource("/admin/clock/advance").route(web::post().to(admin::advance)));
    }
}
