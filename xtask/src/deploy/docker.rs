//! `deploy/Dockerfile`, for what concerns fleetd only (no Dockerfile linter can be installed
//! here): the runtime stage's settings, its exposed port, its health check script and its
//! entrypoint. The Compose file's `build` and `docker build` itself check the rest.

use super::Report;
use super::files::{DOCKERFILE, DeployFiles, HEALTHCHECK, port_of};
use super::fleetd::{Facts, Settings};

/// The instructions of the runtime (last) stage as `(KEYWORD, arguments)`, comments dropped
/// and continuation lines joined.
fn runtime_stage(dockerfile: &str) -> Vec<(String, String)> {
    let joined = dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let all: Vec<(String, String)> = joined
        .lines()
        .filter_map(|line| line.trim().split_once(char::is_whitespace))
        .map(|(keyword, args)| (keyword.to_ascii_uppercase(), args.trim().to_owned()))
        .collect();
    let start = all.iter().rposition(|(k, _)| k == "FROM").unwrap_or(0);
    all[start..].to_vec()
}

/// The arguments of the runtime stage's last `keyword` instruction.
fn last<'a>(stage: &'a [(String, String)], keyword: &str) -> &'a str {
    stage
        .iter()
        .rfind(|(k, _)| k == keyword)
        .map_or("", |(_, args)| args.as_str())
}

/// The words of an exec-form (`["a", "b"]`) argument list.
fn words(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_default()
}

/// The environment the runtime stage gives fleetd (`ENV KEY=VALUE …`).
pub fn settings(dockerfile: &str) -> Settings {
    let env = runtime_stage(dockerfile)
        .iter()
        .filter(|(keyword, _)| keyword == "ENV")
        .flat_map(|(_, args)| args.split_whitespace())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), Some(v.trim_matches('"').to_owned())))
        .collect();
    Settings {
        origin: format!("{DOCKERFILE} (runtime stage)"),
        env,
        catalog: None,
    }
}

/// The image listens on all interfaces on the port it exposes, checks its health with the
/// script it copies in, and runs fleetd with one of its subcommands.
pub fn check(deploy: &DeployFiles, facts: &Facts, report: &mut Report) {
    let stage = runtime_stage(&deploy.dockerfile);
    let env = settings(&deploy.dockerfile).env;
    let bind = env.get("FLEET_BIND").cloned().flatten().unwrap_or_default();
    report.check(bind.starts_with("0.0.0.0:"), || {
        format!(
            "{DOCKERFILE}: FLEET_BIND must listen on all interfaces (0.0.0.0:PORT), got '{bind}'"
        )
    });
    let exposed = last(&stage, "EXPOSE");
    report.check(
        port_of(&bind).is_some_and(|p| exposed.split_whitespace().any(|e| e == p.to_string())),
        || format!("{DOCKERFILE}: EXPOSE {exposed} is not FLEET_BIND's port ({bind})"),
    );
    let copied_to = stage
        .iter()
        .find_map(|(k, args)| {
            let (source, target) = args.split_once(' ')?;
            (k == "COPY" && source == HEALTHCHECK).then_some(target.trim())
        })
        .unwrap_or("(not copied)");
    let health = last(&stage, "HEALTHCHECK");
    let command = health.split_once("CMD").map_or("", |(_, c)| c.trim());
    report.check(
        words(command).first().map(String::as_str) == Some(copied_to),
        || format!("{DOCKERFILE}: HEALTHCHECK does not run {HEALTHCHECK}, copied to {copied_to}"),
    );
    let entrypoint = words(last(&stage, "ENTRYPOINT"));
    report.check(
        entrypoint.first().is_some_and(|e| e.ends_with("/fleetd")),
        || format!("{DOCKERFILE}: ENTRYPOINT is not fleetd: {entrypoint:?}"),
    );
    let cmd = words(last(&stage, "CMD"));
    report.check(
        cmd.first().is_some_and(|c| facts.commands.contains(c)),
        || {
            format!(
                "{DOCKERFILE}: CMD {cmd:?} is not a fleetd subcommand ({:?})",
                facts.commands
            )
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_stage_is_read_with_its_continuations() {
        let text = "FROM rust AS build\nENV FLEET_BIND=127.0.0.1:1\n# c\nFROM debian\nENV FLEET_BIND=0.0.0.0:8080 \\\n    FLEET_LOG_FORMAT=\"json\"\nCMD [\"serve\"]\n";
        let env = settings(text).env;
        assert_eq!(env["FLEET_BIND"].as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(env["FLEET_LOG_FORMAT"].as_deref(), Some("json"));
        assert_eq!(words(last(&runtime_stage(text), "CMD")), ["serve"]);
    }
}
