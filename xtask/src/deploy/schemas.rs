//! The Compose file and the Kubernetes manifests against the JSON schemas vendored in
//! `deploy/schemas` (see its README), with check-jsonschema from a virtualenv pinned by
//! `xtask/deploy/requirements.txt`: their structure (every key known, every value of its
//! type) is the schemas' business, not ours.

use std::path::Path;

use anyhow::{Context, Result};

use super::Report;
use super::files::{COMPOSE, DeployFiles};
use crate::python::Tools;

/// The Compose Specification's schema.
const COMPOSE_SCHEMA: &str = "deploy/schemas/compose-spec.json";
/// The strict schemas of the Kubernetes kinds deploy/k8s uses.
const K8S_SCHEMA: &str = "deploy/schemas/kubernetes-v1.33.0-strict.json";

/// check-jsonschema, installed into `target/deploy-check/venv` when it is not there yet.
pub struct Validator {
    tools: Tools,
}

impl Validator {
    /// Makes (or reuses) the virtualenv of the workspace at `root`.
    pub fn ensure(root: &Path) -> Result<Validator> {
        let requirements = root.join("xtask/deploy/requirements.txt");
        let tools = Tools::ensure(&requirements, &root.join("target/deploy-check"))
            .context("installing check-jsonschema")?;
        Ok(Validator { tools })
    }

    /// Validates the Compose file and every manifest but the Kustomization.
    pub fn check(&self, deploy: &DeployFiles, report: &mut Report) -> Result<()> {
        self.validate(deploy, COMPOSE_SCHEMA, &[COMPOSE.to_owned()], report)?;
        self.validate(deploy, K8S_SCHEMA, &deploy.k8s_files, report)
    }

    fn validate(
        &self,
        deploy: &DeployFiles,
        schema: &str,
        files: &[String],
        report: &mut Report,
    ) -> Result<()> {
        let output = self
            .tools
            .command("check-jsonschema")
            .arg("--schemafile")
            .arg(schema)
            .args(files)
            .current_dir(&deploy.root)
            .output()
            .context("could not run check-jsonschema")?;
        report.check(output.status.success(), || {
            format!(
                "check-jsonschema against {schema}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::files::broken_copy;

    #[test]
    fn schema_violations_in_compose_and_kubernetes_are_reported() {
        let validator = Validator::ensure(&crate::workspace_root()).expect("check-jsonschema");
        let copy = broken_copy(&[
            (COMPOSE, "stop_grace_period: 40s", "stop_grace_periods: 40s"),
            ("deploy/k8s/deployment.yaml", "replicas: 2", "replicas: two"),
        ]);
        let mut report = Report::default();
        let deploy = DeployFiles::load(copy.path()).expect("the copy loads");
        validator
            .check(&deploy, &mut report)
            .expect("check-jsonschema runs");
        let found = report.problems.join("\n");
        assert!(
            found.contains("'stop_grace_periods' was unexpected"),
            "{found}"
        );
        assert!(
            found.contains("$.spec.replicas: 'two' is not of type"),
            "{found}"
        );

        let intact = broken_copy(&[]);
        let mut report = Report::default();
        let deploy = DeployFiles::load(intact.path()).expect("the copy loads");
        validator
            .check(&deploy, &mut report)
            .expect("check-jsonschema runs");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}
