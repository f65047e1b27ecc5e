//! `deploy/Dockerfile` and `.dockerignore`: a cached multi-stage build of fleetd, a
//! non-root runtime configured by environment, a health check on `/healthz`.

use std::collections::BTreeMap;
use std::path::Path;

use super::Report;
use super::files::{DOCKERFILE, DeployFiles, HEALTHCHECK, port_of};
use super::fleetd::{Facts, Settings};

/// One instruction: its keyword (upper case) and the rest of the line, continuations joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// `FROM`, `RUN`, `ENV`, …
    pub keyword: String,
    /// Everything after the keyword.
    pub args: String,
}

/// The instructions of a Dockerfile, comments dropped and `${ARG}`s of the global `ARG`
/// defaults substituted.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for line in joined.into_iter().filter(|l| !l.trim().is_empty()) {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let mut rest = rest.trim().to_owned();
        for (name, value) in &args {
            rest = rest.replace(&format!("${{{name}}}"), value);
        }
        let keyword = keyword.to_ascii_uppercase();
        if keyword == "ARG"
            && let Some((name, value)) = rest.split_once('=')
        {
            args.insert(name.to_owned(), value.to_owned());
        }
        out.push(Instruction {
            keyword,
            args: rest,
        });
    }
    out
}

/// The instructions of the last stage.
fn runtime_stage(all: &[Instruction]) -> &[Instruction] {
    let start = all.iter().rposition(|i| i.keyword == "FROM").unwrap_or(0);
    &all[start..]
}

/// `KEY=VALUE` pairs of an `ENV` line.
fn env_pairs(args: &str) -> Vec<(String, String)> {
    args.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// The environment the runtime stage gives fleetd.
pub fn settings(dockerfile: &str) -> Settings {
    let all = instructions(dockerfile);
    let env = runtime_stage(&all)
        .iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| env_pairs(&i.args))
        .map(|(k, v)| (k, Some(v)))
        .collect();
    Settings {
        origin: format!("{DOCKERFILE} (runtime stage)"),
        env,
        catalog: None,
    }
}

/// The words of an exec-form (`["a", "b"]`) or shell-form argument list.
pub fn words(args: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(args) {
        Ok(words) => words,
        Err(_) => args.split_whitespace().map(str::to_owned).collect(),
    }
}

/// Checks the Dockerfile and `.dockerignore`.
pub fn check(root: &Path, deploy: &DeployFiles, facts: &Facts, report: &mut Report) {
    let all = instructions(&deploy.dockerfile);
    let froms: Vec<&Instruction> = all.iter().filter(|i| i.keyword == "FROM").collect();
    report.check(froms.len() >= 2, || {
        format!("{DOCKERFILE}: not a multi-stage build")
    });
    report.check(
        froms.first().is_some_and(|f| f.args.starts_with("rust:")),
        || format!("{DOCKERFILE}: the build stage does not start from a rust image"),
    );
    let build = all.iter().find(|i| {
        i.keyword == "RUN" && i.args.contains("cargo build") && i.args.contains("--release")
    });
    report.check(
        build.is_some_and(|b| b.args.contains("-p fleetd") || b.args.contains("--package fleetd")),
        || format!("{DOCKERFILE}: no `cargo build --release -p fleetd`"),
    );
    report.check(
        build.is_some_and(|b| b.args.contains("--mount=type=cache")),
        || format!("{DOCKERFILE}: the cargo build keeps no cache mount (dependencies rebuild every time)"),
    );
    let runtime = runtime_stage(&all);
    report.check(
        runtime
            .first()
            .is_some_and(|f| f.args.starts_with("debian:") && f.args.contains("slim")),
        || format!("{DOCKERFILE}: the runtime stage is not a slim Debian image"),
    );
    let user = runtime.iter().rfind(|i| i.keyword == "USER");
    report.check(
        user.is_some_and(|u| !matches!(u.args.split(':').next(), Some("root" | "0"))),
        || format!("{DOCKERFILE}: the runtime stage runs as root"),
    );
    let env: BTreeMap<String, String> = runtime
        .iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| env_pairs(&i.args))
        .collect();
    let bind = env
        .get("FLEET_BIND")
        .map(String::as_str)
        .unwrap_or_default();
    report.check(
        bind.starts_with("0.0.0.0:") || bind.starts_with("[::]:"),
        || format!("{DOCKERFILE}: FLEET_BIND must listen on all interfaces (0.0.0.0:PORT), got '{bind}'"),
    );
    let exposed: Vec<u16> = runtime
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| {
            i.args
                .split_whitespace()
                .filter_map(|p| p.split('/').next()?.parse().ok())
        })
        .collect();
    report.check(port_of(bind).is_some_and(|p| exposed.contains(&p)), || {
        format!("{DOCKERFILE}: EXPOSE {exposed:?} does not include FLEET_BIND's port ({bind})")
    });
    check_healthcheck(root, runtime, report);
    check_entrypoint(runtime, facts, report);
    check_copies(root, &all, &deploy.dockerignore, report);
}

fn check_healthcheck(root: &Path, runtime: &[Instruction], report: &mut Report) {
    let Some(health) = runtime.iter().find(|i| i.keyword == "HEALTHCHECK") else {
        report.fail(format!("{DOCKERFILE}: no HEALTHCHECK"));
        return;
    };
    let command = health.args.split_once("CMD").map_or("", |(_, c)| c.trim());
    let copied = runtime
        .iter()
        .find(|i| i.keyword == "COPY" && i.args.split_whitespace().next() == Some(HEALTHCHECK));
    let destination = copied.and_then(|c| c.args.split_whitespace().last());
    report.check(
        destination.is_some_and(|d| words(command).first().map(String::as_str) == Some(d)),
        || format!("{DOCKERFILE}: HEALTHCHECK does not run {HEALTHCHECK} as copied into the image"),
    );
    let script = std::fs::read_to_string(root.join(HEALTHCHECK)).unwrap_or_default();
    report.check(script.contains("/healthz"), || {
        format!("{HEALTHCHECK} does not ask /healthz")
    });
}

fn check_entrypoint(runtime: &[Instruction], facts: &Facts, report: &mut Report) {
    let last = |keyword: &str| {
        runtime
            .iter()
            .rfind(|i| i.keyword == keyword)
            .map(|i| words(&i.args))
            .unwrap_or_default()
    };
    let entrypoint = last("ENTRYPOINT");
    report.check(
        entrypoint.first().is_some_and(|e| e.ends_with("/fleetd")),
        || format!("{DOCKERFILE}: ENTRYPOINT is not fleetd: {entrypoint:?}"),
    );
    let cmd = last("CMD");
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

fn check_copies(root: &Path, all: &[Instruction], dockerignore: &str, report: &mut Report) {
    let ignored: Vec<&str> = dockerignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    for needed in ["target", ".git", "*.db"] {
        report.check(ignored.contains(&needed), || {
            format!(".dockerignore does not exclude {needed}")
        });
    }
    for copy in all
        .iter()
        .filter(|i| i.keyword == "COPY" && !i.args.contains("--from="))
    {
        let parts: Vec<&str> = copy
            .args
            .split_whitespace()
            .filter(|p| !p.starts_with("--"))
            .collect();
        for source in &parts[..parts.len().saturating_sub(1)] {
            report.check(root.join(source).exists(), || {
                format!("{DOCKERFILE}: COPY {source}: no such file in the build context")
            });
            let excluded = ignored.iter().any(|pattern| {
                *source != "." && (source == pattern || source.starts_with(&format!("{pattern}/")))
            });
            report.check(!excluded, || {
                format!("{DOCKERFILE}: COPY {source}, but .dockerignore excludes it")
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_join_and_args_substitute() {
        let text = "ARG BASE=debian:bookworm-slim\n# comment\nFROM ${BASE} AS run\nRUN a \\\n    && b\nENV A=1 \\\n    B=\"two\"\n";
        let all = instructions(text);
        assert_eq!(all[1].args, "debian:bookworm-slim AS run");
        assert_eq!(all[2].args, "a  && b");
        assert_eq!(
            env_pairs(&all[3].args),
            [("A".into(), "1".into()), ("B".into(), "two".into())]
        );
    }

    #[test]
    fn exec_and_shell_forms_split_into_words() {
        assert_eq!(
            words(r#"["/usr/local/bin/fleetd", "serve"]"#),
            ["/usr/local/bin/fleetd", "serve"]
        );
        assert_eq!(words("fleetd serve"), ["fleetd", "serve"]);
    }
}
