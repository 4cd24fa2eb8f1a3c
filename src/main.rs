//! crlogin: logs docker, helm and podman into container registries from CI, without a secret
//! ever reaching a log. `main` parses arguments, runs one pipeline and maps errors to exit codes.

use clap::Parser;
use crlogin::{ci, cli, commands, doctor, env, exec, helper, k8s_secret};
use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    crlogin::child::no_core_dumps();
    drop_empty_settings();
    let env = env::Env::from_process();
    // CI commands (masks, errors) go to stderr, so stdout stays data (a token, a helper's
    // answer, a manifest).
    let ci = ci::detect(&env);
    // Run as `docker-credential-crlogin` or `crlogin-credential-provider`, crlogin is that helper.
    let args = helper::program_args(std::env::args_os().collect());
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, &args, ci.as_ref()),
    };
    if let Some(seconds) = cli.command.lock_timeout() {
        crlogin::files::set_lock_wait(std::time::Duration::from_secs(seconds));
    }
    let result = match &cli.command {
        cli::Command::Login(args) => commands::login(args, &env, ci.as_ref()),
        cli::Command::Logout(args) => commands::logout(args, &env, ci.as_ref()),
        cli::Command::Cleanup(args) => commands::cleanup(args, &env, ci.as_ref()),
        cli::Command::Token(args) => commands::token(args, &env, ci.as_ref()),
        // The helper protocol answers errors on stdout too, and has its own exit rules.
        cli::Command::CredentialHelper(args) => {
            return helper::docker_credential::serve(args, &env, ci.as_ref())
        }
        cli::Command::ConfigureHelper(args) => helper::configure::run(args, &env, ci.as_ref()),
        cli::Command::KubeletCredentialProvider(args) => {
            helper::kubelet::run(args, &env, ci.as_ref())
        }
        cli::Command::K8sSecret(args) => k8s_secret::run(args, &env, ci.as_ref()),
        cli::Command::Doctor(args) => doctor::run(args, &env, ci.as_ref()),
        cli::Command::Completions(args) => cli::print_completions(args),
        // COMMAND's exit status is exec's.
        cli::Command::Exec(args) => return exec::run(args, &env, ci.as_ref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ci.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Reports a usage error as clap does (exit 2), unless clap quotes a value that would not stay on
/// one short line: a line break in it would start a log line of the caller's choosing (which
/// GitHub's runner could take for a workflow command), and a huge one would flood the log. Such a
/// value is named instead of shown.
fn usage_error(error: clap::Error, args: &[OsString], ci: &dyn ci::Ci) -> ExitCode {
    if !error.use_stderr() {
        error.exit(); // --help and --version: not errors
    }
    let message = error.to_string();
    let settings = std::env::vars_os()
        .filter(|(name, _)| is_setting(name))
        .map(|(name, value)| (name.to_string_lossy().into_owned(), value));
    let arguments = args
        .iter()
        .skip(1)
        .map(|a| ("an argument".to_string(), a.clone()));
    let unfit = settings.chain(arguments).find_map(|(name, value)| {
        let value = value.to_str()?;
        let problem = if value.contains(char::is_control) {
            "holds a line break or another control character"
        } else if value.len() > 1000 {
            "is longer than 1000 bytes"
        } else {
            return None;
        };
        message.contains(value).then(|| format!("{name} {problem}"))
    });
    let wrapper = crlogin::wrapper::current();
    match unfit {
        Some(what) => {
            ci.error(&format!("{what}: correct it ({})", wrapper.docs()));
            return ExitCode::from(2);
        }
        // A wrapper's user typed no command line: one line in their words, not clap's usage.
        None if wrapper != crlogin::wrapper::Wrapper::Shell => {
            let first = message.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            ci.error(&format!("{first} ({})", wrapper.docs()));
            return ExitCode::from(2);
        }
        None => {}
    }
    // A value clap quotes may still carry what the CI's log would run (`##[stop-commands]`
    // on GitHub) or an ANSI escape: then the message is printed through the CI's cleaning.
    if message.lines().all(|line| ci.clean(line) == line) {
        error.exit()
    }
    ci::to_stderr(&ci::clean_lines(ci, &message));
    ExitCode::from(2)
}

/// Whether a variable is one of the settings clap reads (`CRLOGIN_*`, `NEBIUS_REGIONS`).
fn is_setting(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with("CRLOGIN_") || n == "NEBIUS_REGIONS")
}

/// CI systems often define a variable as empty to mean "not set" (GitLab does for unset
/// inputs); clap would read an empty `CRLOGIN_*` value as an invalid setting.
fn drop_empty_settings() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(name, value)| value.is_empty() && is_setting(name))
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        std::env::remove_var(name);
    }
}
