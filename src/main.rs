//! crlogin: logs docker, helm and podman into container registries from CI, without a secret
//! ever reaching a log. `main` parses arguments, runs one pipeline and maps errors to exit codes.

mod auth;
mod ci;
mod cli;
mod commands;
mod env;
mod registry;
mod report;
mod secrets;
mod sinks;
mod verify;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let env = env::Env::from_process();
    let ci = ci::detect(&env);
    let result = match &cli.command {
        cli::Command::Login(args) => commands::login(args, &env, ci.as_ref()),
        cli::Command::Logout(args) => commands::logout(args, &env, ci.as_ref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ci.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
