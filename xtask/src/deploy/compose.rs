//! `deploy/docker-compose.yml`: Postgres with a volume and a health check, fleetd built
//! from the Dockerfile and waiting for a healthy database, Prometheus, Grafana, and the
//! hot-reloading `dev` profile; every reference between services, volumes and files holds.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

use super::Report;
use super::files::{
    COMPOSE, DOCKERFILE, DeployFiles, compose_env, get, port_of, scalar, seq_at, str_at,
};
use super::fleetd::{Facts, Settings};

/// The services that run fleetd: built from the Dockerfile or using its image.
fn fleetd_services(deploy: &DeployFiles) -> Vec<(&str, &Value)> {
    services(deploy)
        .into_iter()
        .filter(|(_, s)| {
            s.get("build").is_some()
                || str_at(s, &["image"]).is_some_and(|i| i.starts_with("fleet/fleetd"))
        })
        .collect()
}

/// The service of the `dev` profile.
fn dev_service(deploy: &DeployFiles) -> Option<(&str, &Value)> {
    services(deploy).into_iter().find(|(_, s)| {
        seq_at(s, &["profiles"])
            .iter()
            .any(|p| p.as_str() == Some("dev"))
    })
}

fn services(deploy: &DeployFiles) -> Vec<(&str, &Value)> {
    get(&deploy.compose, &["services"])
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?, v)))
                .collect()
        })
        .unwrap_or_default()
}

/// The settings the Compose file gives fleetd, its dev service's included.
pub fn settings(deploy: &DeployFiles) -> Vec<Settings> {
    fleetd_services(deploy)
        .into_iter()
        .chain(dev_service(deploy))
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

/// The file on the host that `service` sees at `inside`, through its bind mounts.
pub fn host_path(deploy: &DeployFiles, service: &Value, inside: &str) -> Option<PathBuf> {
    let compose_dir = deploy.root.join("deploy");
    seq_at(service, &["volumes"])
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|v| {
            let mut parts = v.split(':');
            Some((parts.next()?, parts.next()?))
        })
        .filter(|(source, _)| source.starts_with('.') || source.starts_with('/'))
        .filter_map(|(source, target)| {
            let rest = inside.strip_prefix(target)?;
            (rest.is_empty() || rest.starts_with('/'))
                .then(|| compose_dir.join(source).join(rest.trim_start_matches('/')))
        })
        .max_by_key(|p| p.as_os_str().len())
}

/// The container port of each published port of `service`.
pub fn container_ports(service: &Value) -> Vec<u16> {
    seq_at(service, &["ports"])
        .iter()
        .filter_map(|p| match p {
            Value::Mapping(_) => p.get("target").and_then(scalar),
            other => scalar(other),
        })
        .filter_map(|p| p.rsplit(':').next()?.split('/').next()?.parse().ok())
        .collect()
}

/// Checks the Compose file.
pub fn check(deploy: &DeployFiles, facts: &Facts, report: &mut Report) {
    check_spec(deploy, report);
    check_references(deploy, report);
    let fleetd = fleetd_services(deploy);
    report.check(!fleetd.is_empty(), || {
        format!("{COMPOSE}: no fleetd service")
    });
    for (name, service) in &fleetd {
        check_build(deploy, name, service, report);
        check_fleetd(deploy, name, service, facts, report);
    }
    match dev_service(deploy) {
        None => report.fail(format!("{COMPOSE}: no service in the `dev` profile")),
        Some((name, service)) => {
            check_fleetd(deploy, name, service, facts, report);
            let mounts_root = seq_at(service, &["volumes"])
                .iter()
                .filter_map(Value::as_str)
                .any(|v| {
                    v.split(':').next() == Some("..")
                        && v.split(':').nth(1) == str_at(service, &["working_dir"])
                });
            report.check(mounts_root, || {
                format!(
                    "{COMPOSE}: service {name} does not mount the workspace (..) at its working_dir"
                )
            });
            let command = serde_yaml::to_string(service.get("command").unwrap_or(&Value::Null))
                .unwrap_or_default();
            report.check(command.contains("watchexec") && command.contains("--restart"), || {
                format!("{COMPOSE}: service {name} does not restart fleetd on change (watchexec --restart)")
            });
        }
    }
    check_postgres(deploy, report);
}

/// The Compose file against the Compose Specification's JSON schema, through
/// check-jsonschema (which ships the schema) when it is installed.
fn check_spec(deploy: &DeployFiles, report: &mut Report) {
    let output = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.compose-spec", COMPOSE])
        .current_dir(&deploy.root)
        .output();
    match output {
        Err(_) => eprintln!(
            "deploy-check: check-jsonschema not found (pip install check-jsonschema), \
             skipping the Compose Specification schema"
        ),
        Ok(output) => report.check(output.status.success(), || {
            format!(
                "{COMPOSE} does not follow the Compose Specification: {}",
                String::from_utf8_lossy(&output.stdout).trim()
            )
        }),
    }
}

fn check_references(deploy: &DeployFiles, report: &mut Report) {
    let all = services(deploy);
    let volumes = get(&deploy.compose, &["volumes"]).and_then(Value::as_mapping);
    for (name, service) in &all {
        let depends: Vec<String> = match service.get("depends_on") {
            Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
            Some(Value::Mapping(map)) => map.keys().filter_map(scalar).collect(),
            _ => Vec::new(),
        };
        for target in depends {
            report.check(all.iter().any(|(n, _)| *n == target), || {
                format!("{COMPOSE}: service {name} depends on {target}, which does not exist")
            });
        }
        for volume in seq_at(service, &["volumes"])
            .iter()
            .filter_map(Value::as_str)
        {
            let source = volume.split(':').next().unwrap_or_default();
            if source.starts_with('.') || source.starts_with('/') {
                report.check(deploy.root.join("deploy").join(source).exists(), || {
                    format!("{COMPOSE}: service {name} mounts {source}, which does not exist")
                });
            } else {
                report.check(volumes.is_some_and(|v| v.contains_key(source)), || {
                    format!(
                        "{COMPOSE}: service {name} uses volume {source}, not declared under volumes"
                    )
                });
            }
        }
    }
}

fn check_build(deploy: &DeployFiles, name: &str, service: &Value, report: &mut Report) {
    let Some(build) = service.get("build") else {
        return;
    };
    let context = str_at(build, &["context"])
        .or(build.as_str())
        .unwrap_or(".");
    let dockerfile = str_at(build, &["dockerfile"]).unwrap_or("Dockerfile");
    let path = deploy.root.join("deploy").join(context).join(dockerfile);
    report.check(same_file(&path, &deploy.root.join(DOCKERFILE)), || {
        format!(
            "{COMPOSE}: service {name} builds {}, not {DOCKERFILE}",
            path.display()
        )
    });
    report.check(
        same_file(&deploy.root.join("deploy").join(context), &deploy.root),
        || {
            format!(
                "{COMPOSE}: service {name} builds with context {context}, not the workspace root"
            )
        },
    );
}

/// Whether `a` and `b` name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn check_fleetd(
    deploy: &DeployFiles,
    name: &str,
    service: &Value,
    facts: &Facts,
    report: &mut Report,
) {
    let env = compose_env(service);
    let bind = env
        .get("FLEET_BIND")
        .map(String::as_str)
        .unwrap_or_default();
    report.check(
        bind.starts_with("0.0.0.0:") || bind.starts_with("[::]:"),
        || format!("{COMPOSE}: service {name} must set FLEET_BIND to 0.0.0.0:PORT, got '{bind}'"),
    );
    let ports = container_ports(service);
    report.check(port_of(bind).is_some_and(|p| ports.contains(&p)), || {
        format!("{COMPOSE}: service {name} publishes {ports:?}, not FLEET_BIND's port ({bind})")
    });
    let runs_fleetd_image = service.get("build").is_some()
        || str_at(service, &["image"]).is_some_and(|i| i.starts_with("fleet/"));
    if let Some(command) = seq_at(service, &["command"])
        .first()
        .and_then(Value::as_str)
        && runs_fleetd_image
    {
        report.check(facts.commands.contains(command), || {
            format!("{COMPOSE}: service {name} runs `fleetd {command}`, not a fleetd subcommand")
        });
    }
    let url = env
        .get("DATABASE_URL")
        .map(String::as_str)
        .unwrap_or_default();
    match PostgresUrl::parse(url) {
        None => report.fail(format!(
            "{COMPOSE}: service {name}: DATABASE_URL is not a postgres:// URL"
        )),
        Some(url) => {
            let database = deploy.service(&url.host);
            let db_env = database.map(compose_env).unwrap_or_default();
            report.check(
                database
                    .and_then(|d| str_at(d, &["image"]))
                    .is_some_and(|i| i.starts_with("postgres:")),
                || {
                    format!(
                        "{COMPOSE}: service {name}: DATABASE_URL host {} is not a Postgres service",
                        url.host
                    )
                },
            );
            report.check(
                db_env.get("POSTGRES_USER") == Some(&url.user)
                    && db_env.get("POSTGRES_PASSWORD") == Some(&url.password)
                    && db_env.get("POSTGRES_DB") == Some(&url.database)
                    && url.port == 5432,
                || format!("{COMPOSE}: service {name}: DATABASE_URL's user, password, database or port differ from service {}'s", url.host),
            );
            let condition = str_at(service, &["depends_on", &url.host, "condition"]);
            report.check(condition == Some("service_healthy"), || {
                format!(
                    "{COMPOSE}: service {name} does not wait for {} to be healthy",
                    url.host
                )
            });
        }
    }
}

fn check_postgres(deploy: &DeployFiles, report: &mut Report) {
    let Some((name, postgres)) = services(deploy)
        .into_iter()
        .find(|(_, s)| str_at(s, &["image"]).is_some_and(|i| i.starts_with("postgres:")))
    else {
        report.fail(format!("{COMPOSE}: no Postgres service"));
        return;
    };
    report.check(
        str_at(postgres, &["image"]).is_some_and(|i| i.starts_with("postgres:16")),
        || format!("{COMPOSE}: service {name} is not Postgres 16"),
    );
    let test = serde_yaml::to_string(postgres.get("healthcheck").unwrap_or(&Value::Null))
        .unwrap_or_default();
    report.check(test.contains("pg_isready"), || {
        format!("{COMPOSE}: service {name} has no pg_isready health check")
    });
    report.check(
        seq_at(postgres, &["volumes"])
            .iter()
            .filter_map(Value::as_str)
            .any(|v| v.ends_with(":/var/lib/postgresql/data") && !v.starts_with('.')),
        || format!("{COMPOSE}: service {name} keeps its data in no named volume"),
    );
}

/// The parts of a `postgres://user:password@host:port/database` URL.
#[derive(Debug, PartialEq, Eq)]
struct PostgresUrl {
    user: String,
    password: String,
    host: String,
    port: u16,
    database: String,
}

impl PostgresUrl {
    fn parse(url: &str) -> Option<PostgresUrl> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))?;
        let (credentials, rest) = rest.rsplit_once('@')?;
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let (authority, database) = rest.split_once('/')?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, 5432),
        };
        Some(PostgresUrl {
            user: user.to_owned(),
            password: password.to_owned(),
            host: host.to_owned(),
            port,
            database: database.split('?').next()?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_split_into_their_parts() {
        let url = PostgresUrl::parse("postgres://fleet:pw@postgres:5433/fleet?sslmode=disable");
        assert_eq!(
            url,
            Some(PostgresUrl {
                user: "fleet".into(),
                password: "pw".into(),
                host: "postgres".into(),
                port: 5433,
                database: "fleet".into(),
            })
        );
        assert_eq!(PostgresUrl::parse("sqlite://fleet.db"), None);
    }

    #[test]
    fn published_ports_give_their_container_port() {
        let service: Value = serde_yaml::from_str(
            "ports: [\"8080:8080\", \"127.0.0.1:9000:9090/tcp\", {target: 3000, published: 3001}]",
        )
        .expect("yaml");
        assert_eq!(container_ports(&service), [8080, 9090, 3000]);
    }
}
