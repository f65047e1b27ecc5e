//! Pinned Python tools (`contract`'s, `deploy-check`'s): a virtualenv made from committed
//! requirements, kept while they are unchanged (a copy of the file it was made from lives
//! inside it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// What to install when no Python is found.
const INSTALL_PYTHON: &str = "install Python 3.11 or newer with its venv module \
     (Debian: apt-get install python3 python3-venv)";

/// A virtualenv of pinned tools.
pub struct Tools {
    venv: PathBuf,
}

impl Tools {
    /// The virtualenv `out/venv`, made again when it was made from other requirements than
    /// `requirements`.
    pub fn ensure(requirements: &Path, out: &Path) -> Result<Tools> {
        let tools = Tools {
            venv: out.join("venv"),
        };
        let wanted = std::fs::read_to_string(requirements)
            .with_context(|| format!("reading {}", requirements.display()))?;
        let marker = tools.venv.join("requirements.txt");
        if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
            return Ok(tools);
        }
        eprintln!(
            "xtask: installing the Python tools of {} into {}",
            requirements.display(),
            tools.venv.display()
        );
        if tools.venv.exists() {
            std::fs::remove_dir_all(&tools.venv)
                .with_context(|| format!("removing {}", tools.venv.display()))?;
        }
        let python = find_python()?;
        crate::run(Command::new(&python).args(["-m", "venv"]).arg(&tools.venv))
            .with_context(|| format!("making a virtualenv; {INSTALL_PYTHON}"))?;
        crate::run(tools.pip_install().arg("--requirement").arg(requirements))?;
        std::fs::write(&marker, wanted)?;
        Ok(tools)
    }

    /// A command running the virtualenv's `program`, with the virtualenv first on `PATH`
    /// (openapi-python-client runs ruff from there).
    pub fn command(&self, program: &str) -> Command {
        let bin = self.venv.join("bin");
        let mut command = Command::new(bin.join(program));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(bin).chain(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(paths) {
            command.env("PATH", joined);
        }
        command.env("VIRTUAL_ENV", &self.venv);
        command
    }

    /// The virtualenv's Python.
    pub fn python(&self) -> Command {
        self.command("python")
    }

    /// `pip install`, quietly, into the virtualenv; what to install is added.
    pub fn pip_install(&self) -> Command {
        let mut command = self.python();
        command.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        command
    }
}

/// The `python3` on `PATH`, if it is recent enough.
fn find_python() -> Result<String> {
    let output = Command::new("python3")
        .args(["-c", "import sys, venv; print(sys.version_info >= (3, 11))"])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            if String::from_utf8_lossy(&output.stdout).trim() == "True" {
                Ok("python3".to_owned())
            } else {
                bail!("python3 is older than 3.11: {INSTALL_PYTHON}")
            }
        }
        Ok(output) => bail!(
            "python3 lacks the venv module ({}): {INSTALL_PYTHON}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(_) => bail!("python3 is not on PATH: {INSTALL_PYTHON}"),
    }
}
