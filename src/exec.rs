//! `crlogin exec -- COMMAND [ARGS...]`: a registry login that lives exactly as long as one
//! command. The credentials go into a fresh private directory; COMMAND runs with the tools'
//! variables pointing there and without the secret variables crlogin read; the directory is
//! removed when COMMAND ends, however it ends: a terminating signal crlogin receives is passed
//! on to COMMAND first (but INT and QUIT, which the terminal already sent COMMAND's process
//! group, are ignored while COMMAND runs, as `system()` ignores them), and a panic removes it
//! before the process aborts. crlogin exits with COMMAND's status.

use crate::ci::{quoted, Ci};
use crate::cli::ExecArgs;
use crate::commands;
use crate::env::Env;
use crate::os::pinned_dir::PinnedDir;
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
    let dir = Scratch::new(commands::fresh_private_dir(env, ci)?)?;
    remove_on_panic(dir.dir.path());
    let files = sinks::files(&args.select.tools, env, Some(dir.dir.path()))?;
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
    if !dir.dir.is_in_place() {
        let error = anyhow::anyhow!(
            "{} was replaced while crlogin wrote the credentials into it, so COMMAND was not run: make sure no other process can write its parent directory",
            dir.dir.path().display()
        );
        dir.remove(1)?;
        return Err(error);
    }

    let (program, rest) = args
        .command
        .split_first()
        .context("exec needs a command: crlogin exec -- COMMAND [ARGS...]")?;
    let mut command = Command::new(program);
    command.args(rest);
    crate::child::prepare(&mut command, env, &args.select.registries.from_env);
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

/// The directory `exec` logged in to, held by a handle from the moment it exists. Removed by
/// [`Scratch::remove`], or on drop when an error cuts `exec` short; through the handle, so the
/// credentials go even if the directory was moved away meanwhile.
struct Scratch {
    dir: PinnedDir,
    removed: bool,
}

impl Scratch {
    /// Takes hold of the directory just made at `path`; an error when it is not the one made.
    fn new(path: PathBuf) -> Result<Self> {
        match PinnedDir::open(&path) {
            Ok(dir) => Ok(Self {
                dir,
                removed: false,
            }),
            Err(e) => Err(e).with_context(|| {
                format!(
                    "cannot hold on to {}, the private directory crlogin just made",
                    path.display()
                )
            }),
        }
    }

    /// Removes the directory and passes `code` on; a directory that cannot be removed is an
    /// error (a credential would stay behind), with exit status 1 when COMMAND succeeded.
    fn remove(mut self, code: u8) -> Result<u8> {
        let result = remove_dir(&self.dir);
        self.removed = true;
        match result {
            Ok(()) => Ok(code),
            Err(e) => {
                crate::ci::to_stderr(&format!(
                    "crlogin: error: {}\n",
                    crate::ci::one_line(&format!("{e:#}"))
                ));
                Ok(code.max(1))
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.removed {
            let _ = remove_dir(&self.dir);
        }
    }
}

/// Removes `dir` should crlogin panic from now on: a release build aborts on panic, and no
/// `Drop` runs then. The hook runs before the abort; the default one (the message) after it.
fn remove_on_panic(dir: &Path) {
    let dir = dir.to_path_buf();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = std::fs::remove_dir_all(&dir);
        previous(info);
    }));
}

fn remove_dir(dir: &PinnedDir) -> Result<()> {
    dir.remove().with_context(|| {
        format!(
            "cannot remove {}, which holds the credentials: remove it by hand",
            dir.path().display()
        )
    })
}

#[cfg(unix)]
mod forward {
    //! Catching every signal that would end crlogin (so the directory is always removed) and
    //! passing the terminating ones on to COMMAND while waiting for it. INT and QUIT are not
    //! passed on: a terminal sends them to the whole process group, COMMAND included, so
    //! forwarding would deliver Ctrl-C twice (tools force-quit on a second one); like
    //! `system()`, crlogin ignores them while COMMAND runs. One thread does all of it (SIGCHLD
    //! says when to reap), so a signal is never sent to a process id that has been reaped and
    //! could belong to someone else by now.
    use anyhow::{Context, Result};
    use rustix::process::{kill_process, Pid, Signal};
    use signal_hook::consts::{
        SIGALRM, SIGCHLD, SIGHUP, SIGINT, SIGPROF, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGVTALRM,
        SIGXCPU, SIGXFSZ,
    };
    use std::os::unix::process::ExitStatusExt;
    use std::process::Child;

    /// The signals whose default action ends crlogin and that a process can catch and another
    /// process sends (SIGPIPE is ignored by the Rust runtime; KILL and STOP cannot be caught;
    /// SEGV, BUS, ILL and FPE are faults of crlogin itself, which a handler cannot survive).
    const ENDING: [i32; 11] = [
        SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU,
        SIGXFSZ,
    ];

    /// The ones the terminal already delivered to COMMAND's process group.
    const FROM_TERMINAL: [i32; 2] = [SIGINT, SIGQUIT];

    /// The signals `exec` catches, queued from the moment they are caught.
    pub struct Signals(signal_hook::iterator::Signals);

    impl Signals {
        /// Starts catching [`ENDING`] and SIGCHLD.
        pub fn catch() -> Result<Self> {
            let mut signals = ENDING.to_vec();
            signals.push(SIGCHLD);
            signal_hook::iterator::Signals::new(signals)
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

        /// Waits for `child`, forwarding every caught signal but INT and QUIT to it; its exit
        /// status (128 + N when signal N ended it).
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
                    if signal == SIGCHLD || FROM_TERMINAL.contains(&signal) {
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
    fn a_panic_removes_the_credential_directory_before_anything_else() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("crlogin-x");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        remove_on_panic(&dir);
        // A release build aborts right after the hook; a test build unwinds, which is caught here.
        let panicked = std::panic::catch_unwind(|| panic!("a write to a closed stderr"));
        assert!(panicked.is_err());
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
