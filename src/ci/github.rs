//! GitHub Actions: workflow commands (`::add-mask::`, `::error::`, `::warning::`, `::group::`)
//! on stderr, and the runner's files: `$GITHUB_ENV` (variables for later steps),
//! `$GITHUB_OUTPUT` (step outputs), `$GITHUB_STATE` (for the post step) and
//! `$GITHUB_STEP_SUMMARY` (the job summary).

use super::{Ci, Outcome};
use crate::env::Env;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// GitHub Actions (`GITHUB_ACTIONS=true`).
pub struct GitHub {
    env_file: Option<PathBuf>,
    output_file: Option<PathBuf>,
    state_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    runner_temp: Option<PathBuf>,
}

/// The name under which login's state reaches the post step (as `$STATE_crlogin_state`).
const STATE_NAME: &str = "crlogin_state";

impl GitHub {
    /// Reads the runner's file locations from the environment.
    pub fn new(env: &Env) -> Self {
        Self {
            env_file: env.path("GITHUB_ENV"),
            output_file: env.path("GITHUB_OUTPUT"),
            state_file: env.path("GITHUB_STATE"),
            summary_file: env.path("GITHUB_STEP_SUMMARY"),
            runner_temp: env.path("RUNNER_TEMP"),
        }
    }

    /// Writes workflow command lines to stderr. The runner reads commands from both streams;
    /// stderr keeps stdout for data (`crlogin token`, and the `export` lines a job may `eval`,
    /// which would otherwise swallow the masks and echo them back as "command not found").
    fn command(&self, lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

/// Appends `text` to one of the runner's files; a file the runner did not name is skipped. A
/// file that does not exist yet is created 0600 whatever the umask (`GITHUB_ENV` may get the
/// token), as the runner creates its own; an existing file keeps its mode.
fn append(file: &Option<PathBuf>, what: &str, text: &str) -> Result<()> {
    let Some(file) = file else {
        return Ok(());
    };
    crate::os::private::open_append(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot append to the {what} file {}", file.display()))
}

/// `name<<DELIM\nvalue\nDELIM\n`, the runner's form for any value, with a random delimiter
/// that the value does not contain (so a value cannot end the block early).
fn heredoc(name: &str, value: &str) -> String {
    let delimiter = unguessable("ghadelimiter_", name, value);
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// `prefix` and 64 random bits, not found in `text` (`name` adds to the randomness).
fn unguessable(prefix: &str, name: &str, text: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    loop {
        let random =
            RandomState::new().hash_one(text) ^ RandomState::new().hash_one(name).rotate_left(17);
        let candidate = format!("{prefix}{random:016x}");
        if !text.contains(&candidate) {
            return candidate;
        }
    }
}

/// A Markdown table cell: no line breaks, no column separators.
fn cell(value: &str) -> String {
    value.replace(['\r', '\n'], " ").replace('|', "\\|")
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
        let lines: Vec<String> = value
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .map(|line| format!("::add-mask::{}", escape_data(line)))
            .collect();
        self.command(&lines);
    }

    /// The runner runs a `::command` at the start of a line (after blanks) and a `##[command]`
    /// anywhere in one (`##[stop-commands]` would hide every later `::add-mask::`): a line
    /// keeps neither.
    fn clean(&self, line: &str) -> String {
        let mut line = super::one_line(line).replace("##[", "## [");
        let start = line.len() - line.trim_start().len();
        if line[start..].starts_with("::") {
            line.insert(start + 1, ' ');
        }
        line
    }

    fn error(&self, message: &str) {
        let message = crate::wrapper::phrase(message);
        self.command(&[format!(
            "::error title=crlogin::{}",
            escape_data(&self.clean(&message))
        )]);
    }

    fn warning(&self, message: &str) {
        let message = crate::wrapper::phrase(message);
        self.command(&[format!(
            "::warning title=crlogin::{}",
            escape_data(&self.clean(&message))
        )]);
    }

    fn export_var(&self, name: &str, value: &Path) -> Result<()> {
        let Some(value) = value.to_str().filter(|v| !v.contains(['\n', '\r'])) else {
            bail!("cannot export {name}: its path is not one line of UTF-8");
        };
        append(&self.env_file, "GITHUB_ENV", &format!("{name}={value}\n"))
    }

    fn export_secret(&self, name: &str, value: &str) -> Result<()> {
        if self.env_file.is_none() {
            bail!("--export-env needs $GITHUB_ENV, which the runner sets in every step");
        }
        self.mask(value);
        append(&self.env_file, "GITHUB_ENV", &heredoc(name, value))
    }

    /// The report quotes values from the job (a username, a path), and the runner would run a
    /// `##[command]` anywhere in a line: commands are stopped while it is printed.
    fn section(&self, title: &str, text: &str) {
        let text = super::clean_lines(self, text);
        let token = unguessable("crlogin", title, &text);
        super::to_stderr(&format!(
            "::group::{}\n::stop-commands::{token}\n{text}::{token}::\n::endgroup::\n",
            escape_data(title)
        ));
    }

    fn publish(&self, outcome: &Outcome) -> Result<()> {
        let registries: Vec<&str> = outcome.rows.iter().map(|r| r[0].as_str()).collect();
        let outputs = heredoc("registries", &registries.join("\n"))
            + &heredoc("username", &outcome.usernames.join(","))
            + &heredoc("expires-at", outcome.expires_at.as_deref().unwrap_or(""));
        append(&self.output_file, "GITHUB_OUTPUT", &outputs)?;
        append(
            &self.state_file,
            "GITHUB_STATE",
            &heredoc(STATE_NAME, &outcome.state),
        )?;
        let mut summary = String::from(
            "### crlogin\n\n| registry | tools | user | expires |\n|---|---|---|---|\n",
        );
        for [host, user, tools, expiry] in &outcome.rows {
            summary.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(host),
                cell(tools),
                cell(user),
                cell(expiry)
            ));
        }
        summary.push('\n');
        append(&self.summary_file, "GITHUB_STEP_SUMMARY", &summary)
    }

    fn keeps_state(&self) -> bool {
        self.state_file.is_some()
    }

    fn publish_failure(&self, failures: &[(String, String)]) -> Result<()> {
        let mut summary = String::from(
            "### crlogin: login failed, nothing was written\n\n| registry | why |\n|---|---|\n",
        );
        for (host, why) in failures {
            summary.push_str(&format!("| {} | {} |\n", cell(host), cell(why)));
        }
        summary.push('\n');
        append(&self.summary_file, "GITHUB_STEP_SUMMARY", &summary)
    }

    fn saved_state(&self, env: &Env) -> Option<String> {
        env.get(&format!("STATE_{STATE_NAME}")).ok().flatten()
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
    use super::*;

    #[test]
    fn heredoc_delimiter_is_random_and_not_in_the_value() {
        let a = heredoc("x", "v");
        let b = heredoc("x", "v");
        assert_ne!(a, b, "two delimiters differ");
        let delimiter = a.strip_prefix("x<<").unwrap().lines().next().unwrap();
        assert_eq!(a, format!("x<<{delimiter}\nv\n{delimiter}\n"));
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn no_line_can_start_or_carry_a_workflow_command() {
        let github = GitHub::new(&Env::default());
        assert_eq!(
            github.clean("x ##[stop-commands]t ###[y"),
            "x ## [stop-commands]t ### [y"
        );
        assert_eq!(github.clean("  ::add-mask::x"), "  : :add-mask::x");
        assert_eq!(github.clean("\n::error::x"), " : :error::x");
        assert_eq!(
            github.clean("#\x1b[0m#[x"),
            "## [x",
            "stripping cannot join a command"
        );
    }

    #[test]
    fn escapes_workflow_command_data() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
    }
}
