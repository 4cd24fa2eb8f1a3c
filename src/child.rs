//! What crlogin's children start with: `exec`'s COMMAND and the credential-store helpers
//! (`docker-credential-*`, and what they start: gpg, pass) get the environment without the
//! variables crlogin read a secret (or the path of one) from, and the core-dump limit crlogin
//! was started with (crlogin itself runs with none, see [`no_core_dumps`]).

use crate::env::Env;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
#[cfg(unix)]
use std::sync::OnceLock;

/// `name` (a program name, no path) in `path_var` the way Go's `exec.LookPath` finds it, and so
/// docker finds a credential helper: the first executable in an absolute entry. An empty entry
/// (`::`, a trailing `:`), `.` or a relative one names the current directory, often a checkout,
/// and a program found there would get a login (Go's `exec.ErrDot`), so they are skipped.
pub fn find_in(name: &str, path_var: &OsStr) -> Option<PathBuf> {
    let absolute =
        std::env::join_paths(std::env::split_paths(path_var).filter(|dir| dir.is_absolute()))
            .ok()?;
    let cwd = std::env::current_dir().ok()?;
    which::which_in(name, Some(absolute), cwd).ok()
}

/// [`find_in`] this process's `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    find_in(name, &std::env::var_os("PATH")?)
}

/// Variables this run used for a secret beyond the fixed list of [`secret_variables`]:
/// `--from-env` prefixes' passwords, GitHub's OIDC request variables once a login used them.
static USED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records that a login read a secret from `name` (or `name_FILE`): no child gets it.
pub fn used(name: &str) {
    if let Ok(mut used) = USED.lock() {
        if !used.iter().any(|n| n == name) {
            used.push(name.to_string());
        }
    }
}

/// The variables every source may read a secret from whatever was chosen (`auth` names them
/// too; `auth::oidc`'s tests check the two OIDC ones are its own).
pub(crate) const ALWAYS_HIDDEN: [&str; 6] = [
    "CI_REGISTRY_PASSWORD",
    "NEBIUS_IAM_TOKEN",
    "NEBIUS_STATIC_KEY",
    "NEBIUS_SA_CREDENTIALS",
    "NEBIUS_PRIVATE_KEY",
    "NEBIUS_ID_TOKEN",
];

/// The variable that names another variable holding the OIDC JWT, which is hidden too.
pub(crate) const NAMES_THE_JWT_VARIABLE: &str = "NEBIUS_OIDC_TOKEN_VAR";

/// Every variable crlogin may have read a secret (or the path of one) from: they are not a
/// child's business. A superset of what this run read, so nothing depends on which source won.
pub fn secret_variables(env: &Env, from_env: &[String]) -> Vec<String> {
    let mut names: Vec<String> = from_env
        .iter()
        .map(|p| p.trim().trim_end_matches('_').to_string())
        .chain(["DCR".to_string()])
        .map(|prefix| format!("{prefix}_PASSWORD"))
        .collect();
    names.extend(ALWAYS_HIDDEN.map(String::from));
    if let Ok(Some(name)) = env.get(NAMES_THE_JWT_VARIABLE) {
        names.push(name);
    }
    if let Ok(used) = USED.lock() {
        names.extend(used.iter().cloned());
    }
    let files: Vec<String> = names.iter().map(|n| format!("{n}_FILE")).collect();
    names.extend(files);
    names
}

/// Prepares `command` to run as crlogin's child: without [`secret_variables`], and with the
/// core-dump limit crlogin was started with.
pub fn prepare(command: &mut Command, env: &Env, from_env: &[String]) {
    for name in secret_variables(env, from_env) {
        command.env_remove(name);
    }
    restore_core_limit(command);
}

/// The core-dump limit crlogin was started with, saved by [`no_core_dumps`].
#[cfg(unix)]
static STARTED_WITH: OnceLock<libc::rlimit> = OnceLock::new();

/// Makes sure no core file can be written if crlogin dies: one would hold the private key, the
/// JWT and the token. A soft RLIMIT_CORE of 0 stops the kernel writing one; not dumpable also
/// stops a `core_pattern` pipe (systemd-coredump, apport), which ignores that limit, and other
/// processes of the same user attaching to read crlogin's memory. The hard limit is kept, so
/// children get back the limits crlogin was started with ([`prepare`]).
pub fn no_core_dumps() {
    #[cfg(unix)]
    {
        let mut started = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit with valid pointers to initialised rlimits.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_CORE, &mut started) == 0 {
                let _ = STARTED_WITH.set(started);
            }
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: started.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
        }
    }
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) takes no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

#[cfg(unix)]
fn restore_core_limit(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let Some(&limit) = STARTED_WITH.get() else {
        return;
    };
    // SAFETY: setrlimit is async-signal-safe and gets a pointer to a copied, initialised rlimit.
    unsafe {
        command.pre_exec(move || {
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn restore_core_limit(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_variable_and_its_file_form_is_listed() {
        let env = Env::from_pairs(&[("NEBIUS_OIDC_TOKEN_VAR", "MY_JWT")]);
        used("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
        let names = secret_variables(&env, &["HARBOR_".to_string()]);
        for name in [
            "HARBOR_PASSWORD",
            "HARBOR_PASSWORD_FILE",
            "DCR_PASSWORD",
            "CI_REGISTRY_PASSWORD",
            "NEBIUS_PRIVATE_KEY_FILE",
            "NEBIUS_ID_TOKEN",
            "MY_JWT",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("USERNAME")));
    }
}
