//! The docker credential-helper protocol, as github.com/docker/docker-credential-helpers defines
//! it: one action word as the argument, the request on stdin, the answer on stdout.
//!
//! - `get`: stdin is a server URL; stdout is `{"ServerURL","Username","Secret"}` for the
//!   registry of a username/password login in the environment (`DCR_*`, a `--from-env` prefix
//!   `configure-helper` recorded, ...), else for a Nebius host (a region's, one in
//!   `CRLOGIN_REGISTRIES`, or one `configure-helper` wired) from the Nebius credential; for any
//!   other host, or when nothing is found for it, `credentials not found in native keychain`
//!   (exit 1) and one line on stderr saying why.
//! - `list`: `{"<host>":"<username>",...}` for every host served.
//! - `store`, `erase`: stdin is read and forgotten; crlogin stores nothing, so both succeed.
//! - `version`: `docker-credential-crlogin (crlogin) VERSION`.
//!
//! Errors go to stdout, where clients read them (docker shows them after "error getting
//! credentials"), and to stderr as crlogin's usual one-line error. The secret is written
//! nowhere but the `get` answer.

use super::answer::{answer, Answer};
use super::{
    drain_stdin, helper_hosts, read_stdin, registry_logins, server_host, DOCKER_HELPER_PROGRAM,
};
use crate::auth::{self, NEBIUS_USERNAME};
use crate::ci::{one_line, Ci};
use crate::cli::CredentialHelperArgs;
use crate::commands::auth_options;
use crate::dcred::Credentials;
use crate::env::Env;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::ExitCode;
use zeroize::Zeroizing;

pub use crate::dcred::NOT_FOUND;

/// What an action produced besides its stdout.
enum Outcome {
    /// The action succeeded.
    Done,
    /// `get` for a host crlogin does not serve (or has no credential for), and why.
    NotFound(String),
}

/// Runs one action and answers the way the protocol wants: exit 0, or a message on stdout and
/// exit 1.
pub fn serve(args: &CredentialHelperArgs, env: &Env, ci: &dyn Ci) -> ExitCode {
    match act(args, env, ci) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::NotFound(why)) => {
            println!("{NOT_FOUND}");
            ci.note(&format!("crlogin: {why}"));
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
            let mut list: serde_json::Map<String, serde_json::Value> =
                helper_hosts(&args.serve.registries, env)?
                    .into_iter()
                    .map(|h| (h, NEBIUS_USERNAME.into()))
                    .collect();
            for planned in registry_logins(env, ci)? {
                for host in planned.hosts {
                    list.insert(host, planned.login.shown_username().into());
                }
            }
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
        return Ok(Outcome::NotFound(format!(
            "{} names no registry host",
            crate::ci::quoted(server_url)
        )));
    };
    let options = auth_options(&args.serve.auth, false);
    let served = answer(
        &host,
        &args.serve.registries,
        &args.serve.auth.choice(),
        env,
        ci,
    )?;
    let credential = match served {
        Answer::Login(found) => auth::resolve(found, env, ci, &options)?,
        Answer::Nebius(found) => auth::resolve(found, env, ci, &options)
            .with_context(|| format!("cannot get a Nebius registry password for {host}"))?,
        Answer::NotServed(why) => return Ok(Outcome::NotFound(why)),
    };
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
