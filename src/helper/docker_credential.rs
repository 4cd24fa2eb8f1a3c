//! The docker credential-helper protocol, as github.com/docker/docker-credential-helpers defines
//! it: one action word as the argument, the request on stdin, the answer on stdout.
//!
//! - `get`: stdin is a server URL; stdout is `{"ServerURL","Username","Secret"}` for a Nebius
//!   host (a region's, one in `CRLOGIN_REGISTRIES`, or one `configure-helper` wired), or
//!   `credentials not found in native keychain` (exit 1) for any other host.
//! - `list`: `{"<host>":"iam",...}` for every host served.
//! - `store`, `erase`: stdin is read and forgotten; crlogin stores nothing, so both succeed.
//! - `version`: `docker-credential-crlogin (crlogin) VERSION`.
//!
//! Errors go to stdout, where clients read them (docker shows them after "error getting
//! credentials"), and to stderr as crlogin's usual one-line error. The secret is written
//! nowhere but the `get` answer.

use super::{
    drain_stdin, helper_hosts, read_stdin, served_hosts, server_host, DOCKER_HELPER_PROGRAM,
};
use crate::auth::NEBIUS_USERNAME;
use crate::ci::{one_line, Ci};
use crate::cli::CredentialHelperArgs;
use crate::commands::nebius_credential;
use crate::env::Env;
use crate::sinks::cred_store::Credentials;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// What clients match to tell "no credentials for this host" from a failure.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// What an action produced besides its stdout.
enum Outcome {
    /// The action succeeded.
    Done,
    /// `get` for a host crlogin does not serve.
    NotFound,
}

/// Runs one action and answers the way the protocol wants: exit 0, or a message on stdout and
/// exit 1.
pub fn serve(args: &CredentialHelperArgs, env: &Env, ci: &dyn Ci) -> ExitCode {
    match act(args, env, ci) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::NotFound) => {
            println!("{NOT_FOUND}");
            ExitCode::FAILURE
        }
        Err(e) => {
            let message = ci.clean(&format!("{e:#}"));
            println!("crlogin: {message}");
            ci.error(&message);
            ExitCode::FAILURE
        }
    }
}

fn act(args: &CredentialHelperArgs, env: &Env, ci: &dyn Ci) -> Result<Outcome> {
    let Some(action) = args.action.as_deref() else {
        bail!("Usage: {DOCKER_HELPER_PROGRAM} <store|get|erase|list|version>");
    };
    match action {
        "get" => get(args, env, ci),
        "list" => {
            let hosts = helper_hosts(&args.serve.registries, env)?;
            let list: serde_json::Map<String, serde_json::Value> = hosts
                .into_iter()
                .map(|h| (h, NEBIUS_USERNAME.into()))
                .collect();
            write_stdout(&serde_json::to_string(&list)?)?;
            Ok(Outcome::Done)
        }
        "store" | "erase" => {
            drain_stdin();
            Ok(Outcome::Done)
        }
        "version" => {
            write_stdout(&format!(
                "{DOCKER_HELPER_PROGRAM} (crlogin) {}",
                env!("CARGO_PKG_VERSION")
            ))?;
            Ok(Outcome::Done)
        }
        other => bail!(
            "Unknown credential action `{}`: use store, get, erase, list or version",
            one_line(other)
        ),
    }
}

/// `get`: the Nebius password for a served host, from the cache when it holds a fresh token.
fn get(args: &CredentialHelperArgs, env: &Env, ci: &dyn Ci) -> Result<Outcome> {
    let input = read_stdin()?;
    let server_url = input.trim();
    if server_url.is_empty() {
        // The protocol's own message for this case.
        bail!("no credentials server URL");
    }
    let Some(host) = server_host(server_url) else {
        return Ok(Outcome::NotFound);
    };
    // The recorded hosts are read only for a host the others do not serve, so a broken record
    // never stands between docker and a region's registry.
    let served = served_hosts(&args.serve.registries)?.contains(&host)
        || helper_hosts(&args.serve.registries, env)?.contains(&host);
    if !served {
        return Ok(Outcome::NotFound);
    }
    let (credential, _) = nebius_credential(&args.serve.auth, env, ci)
        .with_context(|| format!("cannot get a Nebius registry password for {host}"))?;
    let answer = Zeroizing::new(serde_json::to_string(&Credentials {
        server_url,
        username: &credential.username,
        secret: credential.secret.expose(),
    })?);
    write_stdout(&answer)?;
    Ok(Outcome::Done)
}

/// Writes `text` and a newline to stdout and flushes; the error never shows `text`.
fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the answer to stdout: {}", e.kind()))
}
