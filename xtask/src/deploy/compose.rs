//! `deploy/docker-compose.yml`, for what concerns fleet (the Compose Specification's schema
//! checks its structure): the services that run fleetd publish its port, run one of its
//! subcommands, and reach the Postgres service their `DATABASE_URL` names.

use serde_yaml::Value;

use super::Report;
use super::files::{COMPOSE, DeployFiles, compose_env, port_of, scalar, seq_at, str_at};
use super::fleetd::{Facts, Settings};

/// The services that run fleetd: those whose environment sets a `FLEET_*` variable.
pub fn fleetd_services(deploy: &DeployFiles) -> Vec<(&str, &Value)> {
    deploy
        .services()
        .filter(|(_, s)| compose_env(s).keys().any(|k| k.starts_with("FLEET_")))
        .collect()
}

/// The settings the Compose file gives fleetd, service by service.
pub fn settings(deploy: &DeployFiles) -> Vec<Settings> {
    fleetd_services(deploy)
        .into_iter()
        .map(|(name, service)| Settings {
            origin: format!("{COMPOSE} service {name}"),
            env: compose_env(service)
                .into_iter()
                .map(|(k, v)| (k, Some(v)))
                .collect(),
            catalog: None,
        })
        .collect()
}

/// The container port of each published port of `service` (`"HOST:CONTAINER"`).
pub fn container_ports(service: &Value) -> Vec<u16> {
    seq_at(service, &["ports"])
        .iter()
        .filter_map(|p| scalar(p)?.rsplit(':').next()?.parse().ok())
        .collect()
}

/// Checks every service that runs fleetd.
pub fn check(deploy: &DeployFiles, facts: &Facts, report: &mut Report) {
    let services = fleetd_services(deploy);
    report.check(!services.is_empty(), || {
        format!("{COMPOSE}: no service sets FLEET_* variables")
    });
    for (name, service) in services {
        let env = compose_env(service);
        let bind = env.get("FLEET_BIND").map_or("", String::as_str);
        report.check(bind.starts_with("0.0.0.0:"), || {
            format!("{COMPOSE}: service {name} must set FLEET_BIND to 0.0.0.0:PORT, got '{bind}'")
        });
        let ports = container_ports(service);
        report.check(port_of(bind).is_some_and(|p| ports.contains(&p)), || {
            format!("{COMPOSE}: service {name} publishes {ports:?}, not FLEET_BIND's port ({bind})")
        });
        if str_at(service, &["image"]).is_some_and(|i| i.starts_with("fleet/fleetd")) {
            let command = seq_at(service, &["command"])
                .first()
                .and_then(Value::as_str);
            report.check(command.is_some_and(|c| facts.commands.contains(c)), || {
                format!("{COMPOSE}: service {name} runs fleetd {command:?}, not a subcommand")
            });
        }
        check_database(deploy, name, service, report);
    }
}

/// The service's `DATABASE_URL` (`postgres://USER:PASSWORD@HOST:5432/DB`) names a Postgres
/// service of the file with that user, password and database, which it waits to be healthy.
fn check_database(deploy: &DeployFiles, name: &str, service: &Value, report: &mut Report) {
    let env = compose_env(service);
    let url = env.get("DATABASE_URL").map_or("", String::as_str);
    let parts = url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .and_then(|(user, rest)| Some((user.split_once(':')?, rest.split_once('/')?)));
    let Some(((user, password), (host_port, database))) = parts else {
        report.fail(format!(
            "{COMPOSE}: service {name}: DATABASE_URL is not a postgres:// URL"
        ));
        return;
    };
    let host = host_port.split(':').next().unwrap_or_default();
    let postgres = deploy.services().find(|(n, _)| *n == host).map(|(_, s)| s);
    let db_env = postgres.map(compose_env).unwrap_or_default();
    let wanted = [
        ("POSTGRES_USER", user),
        ("POSTGRES_PASSWORD", password),
        ("POSTGRES_DB", database),
    ];
    report.check(
        postgres.and_then(|p| str_at(p, &["image"])).is_some_and(|i| i.starts_with("postgres:"))
            && port_of(host_port) == Some(5432)
            && wanted.iter().all(|(k, v)| db_env.get(*k).map(String::as_str) == Some(*v)),
        || format!("{COMPOSE}: service {name}: DATABASE_URL is not service {host}'s Postgres database, user and password"),
    );
    let condition = str_at(service, &["depends_on", host, "condition"]);
    report.check(condition == Some("service_healthy"), || {
        format!("{COMPOSE}: service {name} does not wait for {host} to be healthy")
    });
}
