//! GitHub Actions: workflow commands on stdout (`::add-mask::`, `::error::`, `::warning::`) and
//! the `$GITHUB_ENV` file for variables later steps should see.

use super::Ci;
use crate::env::Env;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// GitHub Actions (`GITHUB_ACTIONS=true`).
pub struct GitHub {
    env_file: Option<PathBuf>,
    runner_temp: Option<PathBuf>,
}

impl GitHub {
    /// Reads the runner's file locations from the environment.
    pub fn new(env: &Env) -> Self {
        Self {
            env_file: env.path("GITHUB_ENV"),
            runner_temp: env.path("RUNNER_TEMP"),
        }
    }
}

/// Escapes a workflow command's data the way the runner unescapes it.
fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl Ci for GitHub {
    fn name(&self) -> &'static str {
        "GitHub Actions"
    }

    /// One `::add-mask::` per line: the runner masks a multi-line value only line by line.
    fn mask(&self, value: &str) {
        let mut out = std::io::stdout().lock();
        for line in value.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            let _ = writeln!(out, "::add-mask::{}", escape_data(line));
        }
        let _ = out.flush();
    }

    fn error(&self, message: &str) {
        println!("::error title=crlogin::{}", escape_data(message));
    }

    fn warning(&self, message: &str) {
        println!("::warning title=crlogin::{}", escape_data(message));
    }

    fn export_var(&self, name: &str, value: &Path) -> Result<()> {
        let Some(file) = &self.env_file else {
            return Ok(());
        };
        let Some(value) = value.to_str().filter(|v| !v.contains(['\n', '\r'])) else {
            bail!("cannot export {name}: its path is not one line of UTF-8");
        };
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(file)
            .with_context(|| format!("cannot append to GITHUB_ENV file {}", file.display()))?;
        writeln!(f, "{name}={value}")?;
        Ok(())
    }

    fn isolated_base(&self, env: &Env) -> PathBuf {
        self.runner_temp
            .clone()
            .or_else(|| env.path("TMPDIR"))
            .unwrap_or_else(std::env::temp_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::escape_data;

    #[test]
    fn escapes_workflow_command_data() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
    }
}
