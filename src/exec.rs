//! `crlogin exec -- COMMAND [ARGS...]`: a registry login that lives exactly as long as one
//! command. The credentials go into a fresh private directory; COMMAND runs with the tools'
//! variables pointing there and without the secret variables crlogin read; the directory is
//! removed when COMMAND ends, however it ends (signals crlogin receives are passed on to COMMAND
//! first). crlogin exits with COMMAND's status.

use crate::ci::{quoted, Ci};
use crate::cli::ExecArgs;
use crate::commands;
use crate::env::Env;
use crate::report;
use crate::sinks;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Runs `exec`: COMMAND's exit status; 127 when COMMAND is not found and 126 when it cannot be
/// executed (as a shell says), or 1 when the login fails, each after one error line.
pub fn run(args: &ExecArgs, env: &Env, ci: &dyn Ci) -> ExitCode {
    match exec(args, env, ci) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            ci.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn exec(args: &ExecArgs, env: &Env, ci: &dyn Ci) -> Result<u8> {
    let resolved = commands::resolve_logins(&args.select.registries, &args.auth, false, env, ci)?;
    // Caught from before the directory exists, so no signal can end crlogin with it left behind.
    let mut signals = forward::Signals::catch()?;
    let dir = Scratch(commands::fresh_private_dir(env, ci)?);
    let files = sinks::files(&args.select.tools, env, Some(&dir.0))?;
    // A fresh directory names no credential helper: everything goes into its own file.
    let written = sinks::write_logins_via(&files, &resolved.logins(), ci, None)?;
    for warning in &written.warnings {
        ci.warning(warning);
    }
    if !quiet(args.quiet, ci) {
        ci.section(
            "crlogin exec",
            &report::login(&resolved.rows(), &files, ci.name(), false),
        );
    }
    if let Some(code) = signals.stopped_before_start() {
        return dir.remove(code);
    }

    let (program, rest) = args
        .command
        .split_first()
        .context("exec needs a command: crlogin exec -- COMMAND [ARGS...]")?;
    let mut command = Command::new(program);
    command.args(rest);
    for name in secret_variables(env, &args.select.registries.from_env) {
        command.env_remove(name);
    }
    for (tool, path) in &files {
        let (name, value) = tool.env_var(path);
        command.env(name, value);
    }
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let (code, why) = not_started(&program.to_string_lossy(), &e);
            ci.error(&why);
            return dir.remove(code);
        }
    };
    let code = signals.wait(child)?;
    dir.remove(code)
}

/// Whether to leave out the login report: as `--quiet` says, else in a local shell (where
/// COMMAND's own output is what the user asked for), but not on a CI (whose log then shows
/// which registries and which credential the command ran with).
fn quiet(flag: Option<bool>, ci: &dyn Ci) -> bool {
    flag.unwrap_or(ci.name() == crate::ci::local::NAME)
}

/// The exit status and the error line for a COMMAND that could not be started, as a shell has
/// them: 127 when there is no such command, 126 when there is one that cannot be executed.
fn not_started(program: &str, error: &std::io::Error) -> (u8, String) {
    let name = quoted(program);
    if error.kind() == std::io::ErrorKind::NotFound {
        let hint = if program.contains(std::path::MAIN_SEPARATOR) || program.contains('/') {
            "check the path"
        } else {
            "check its spelling, or that the directory holding it is on PATH"
        };
        (127, format!("{name}: command not found: {hint}"))
    } else {
        (
            126,
            format!(
                "{name}: cannot execute it ({error}): check that it is an executable file (chmod +x)"
            ),
        )
    }
}

/// The directory `exec` logged in to. Removed by [`Scratch::remove`], or on drop when an error
/// cuts `exec` short.
struct Scratch(PathBuf);

impl Scratch {
    /// Removes the directory and passes `code` on; a directory that cannot be removed is an
    /// error (a credential would stay behind), with exit status 1 when COMMAND succeeded.
    fn remove(self, code: u8) -> Result<u8> {
        let result = remove_dir(&self.0);
        std::mem::forget(self);
        match result {
            Ok(()) => Ok(code),
            Err(e) => {
                eprintln!("crlogin: error: {}", crate::ci::one_line(&format!("{e:#}")));
                Ok(code.max(1))
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = remove_dir(&self.0);
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot remove {}, which holds the credentials: remove it by hand",
                dir.display()
            )
        }),
    }
}

/// Every variable crlogin may have read a secret (or the path of one) from: they are not
/// COMMAND's business. A superset of what this run read, so nothing depends on which source won.
fn secret_variables(env: &Env, from_env: &[String]) -> Vec<String> {
    let mut names: Vec<String> = from_env
        .iter()
        .map(|p| p.trim().trim_end_matches('_').to_string())
        .chain(["DCR".to_string()])
        .map(|prefix| format!("{prefix}_PASSWORD"))
        .collect();
    names.extend(
        [
            "CI_REGISTRY_PASSWORD",
            "NEBIUS_IAM_TOKEN",
            "NEBIUS_STATIC_KEY",
            "NEBIUS_SA_CREDENTIALS",
            "NEBIUS_PRIVATE_KEY",
            crate::auth::oidc::DEFAULT_TOKEN_VAR,
        ]
        .map(String::from),
    );
    if let Ok(Some(name)) = env.get(crate::auth::oidc::TOKEN_VAR_VAR) {
        names.push(name);
    }
    let files: Vec<String> = names.iter().map(|n| format!("{n}_FILE")).collect();
    names.extend(files);
    names
}

#[cfg(unix)]
mod forward {
    //! Passing SIGINT, SIGTERM and SIGHUP on to COMMAND while waiting for it. One thread does
    //! both (SIGCHLD says when to reap), so a signal is never sent to a process id that has been
    //! reaped and could belong to someone else by now.
    use anyhow::{Context, Result};
    use rustix::process::{kill_process, Pid, Signal};
    use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Child;

    /// The signals `exec` catches, queued from the moment they are caught.
    pub struct Signals(signal_hook::iterator::Signals);

    impl Signals {
        /// Starts catching SIGINT, SIGTERM, SIGHUP (to forward) and SIGCHLD.
        pub fn catch() -> Result<Self> {
            signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGCHLD])
                .map(Self)
                .context("cannot catch signals for exec")
        }

        /// Whether a signal arrived before COMMAND started: the status to exit with then
        /// (128 + the signal, as a shell reports it), COMMAND never starting.
        pub fn stopped_before_start(&mut self) -> Option<u8> {
            self.0
                .pending()
                .find(|&s| s != SIGCHLD)
                .map(|s| 128 + s as u8)
        }

        /// Waits for `child`, forwarding every caught signal to it; its exit status (128 + N
        /// when signal N ended it).
        pub fn wait(mut self, mut child: Child) -> Result<u8> {
            let pid = Pid::from_child(&child);
            loop {
                if let Some(status) = child.try_wait().context("cannot wait for the command")? {
                    return Ok(match (status.code(), status.signal()) {
                        (Some(code), _) => code as u8,
                        (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
                        (None, None) => 1,
                    });
                }
                for signal in self.0.wait() {
                    if signal == SIGCHLD {
                        continue;
                    }
                    if let Some(signal) = Signal::from_named_raw(signal) {
                        // The child may have exited already (a zombie until reaped): fine.
                        let _ = kill_process(pid, signal);
                    }
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod forward {
    //! Without Unix signals, COMMAND gets the console's Ctrl-C itself; crlogin just waits.
    use anyhow::{Context, Result};
    use std::process::Child;

    /// Nothing to catch.
    pub struct Signals;

    impl Signals {
        /// Nothing to catch.
        pub fn catch() -> Result<Self> {
            Ok(Self)
        }

        /// No signal is caught before COMMAND starts.
        pub fn stopped_before_start(&mut self) -> Option<u8> {
            None
        }

        /// Waits for `child`; its exit code.
        pub fn wait(self, mut child: Child) -> Result<u8> {
            let status = child.wait().context("cannot wait for the command")?;
            Ok(status.code().map_or(1, |c| c as u8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_cannot_start_exits_as_a_shell_says() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let (code, line) = not_started("no-such-command", &missing);
        assert_eq!(code, 127);
        assert!(
            line.starts_with("\"no-such-command\": command not found"),
            "{line}"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let (code, line) = not_started("./script.sh", &denied);
        assert_eq!(code, 126);
        assert!(
            line.starts_with("\"./script.sh\": cannot execute it"),
            "{line}"
        );
    }

    #[test]
    fn every_secret_variable_and_its_file_form_is_listed() {
        let env = Env::from_pairs(&[("NEBIUS_OIDC_TOKEN_VAR", "MY_JWT")]);
        let names = secret_variables(&env, &["HARBOR_".to_string()]);
        for name in [
            "HARBOR_PASSWORD",
            "HARBOR_PASSWORD_FILE",
            "DCR_PASSWORD",
            "CI_REGISTRY_PASSWORD",
            "NEBIUS_PRIVATE_KEY_FILE",
            "NEBIUS_ID_TOKEN",
            "MY_JWT",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("USERNAME")));
    }
}
