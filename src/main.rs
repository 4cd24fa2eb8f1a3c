//! crlogin: logs docker, helm and podman into container registries from CI, without a secret
//! ever reaching a log. `main` parses arguments, runs one pipeline and maps errors to exit codes.

mod auth;
mod ci;
mod cli;
mod commands;
mod env;
mod helper;
mod k8s_secret;
#[cfg(test)]
mod proptests;
mod registry;
mod report;
mod secrets;
mod sinks;
mod state;
mod verify;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    drop_empty_settings();
    // Run as `docker-credential-crlogin` or `crlogin-credential-provider`, crlogin is that helper.
    let cli = cli::Cli::parse_from(helper::program_args(std::env::args_os().collect()));
    let env = env::Env::from_process();
    // CI commands (masks, errors) go to stderr, so stdout stays data (a token, a helper's
    // answer, a manifest).
    let ci = ci::detect(&env);
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ci.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// CI systems often define a variable as empty to mean "not set" (GitLab does for unset
/// inputs); clap would read an empty `CRLOGIN_*` value as an invalid setting.
fn drop_empty_settings() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(name, value)| {
            value.is_empty()
                && name
                    .to_str()
                    .is_some_and(|n| n.starts_with("CRLOGIN_") || n == "NEBIUS_REGIONS")
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        std::env::remove_var(name);
    }
}
