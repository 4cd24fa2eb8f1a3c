//! What `docker-credential-crlogin get` answers for one host, decided without any exchange.
//! The helper's `get` and `crlogin doctor`'s `helper-hosts` check both ask [`answer`], so
//! doctor reports what the helper will actually do.

use super::{helper_hosts, registry_logins, served_hosts};
use crate::auth::{self, Choice, Found};
use crate::ci::Ci;
use crate::env::Env;
use crate::no_credentials::{self, Wanted};
use anyhow::{Context, Result};

/// What `get` does for a host.
pub enum Answer {
    /// Answers with this username/password login of the environment (`DCR_*`, a recorded
    /// `--from-env` prefix, `CI_REGISTRY*`, ...): it comes first and needs no exchange.
    Login(Found),
    /// A Nebius host (a region's, one in `CRLOGIN_REGISTRIES`, or one `configure-helper`
    /// wired): answers with a registry token from this Nebius credential.
    Nebius(Found),
    /// Answers "credentials not found", and prints this one line on stderr.
    NotServed(String),
}

/// What the helper answers for `host` in this environment: `registries` are its extra Nebius
/// hosts (`--registry`, `CRLOGIN_REGISTRIES`), `choice` its Nebius credential choice.
/// An error is what the helper prints instead of any answer.
pub fn answer(
    host: &str,
    registries: &[String],
    choice: &Choice,
    env: &Env,
    ci: &dyn Ci,
) -> Result<Answer> {
    let login = registry_logins(env, ci)?
        .into_iter()
        .find(|p| p.hosts.iter().any(|h| h == host));
    if let Some(planned) = login {
        return Ok(Answer::Login(planned.login));
    }
    // The recorded hosts are read only for a host the others do not serve, so a broken
    // record never stands between docker and a region's registry.
    let host = host.to_string();
    let served =
        served_hosts(registries)?.contains(&host) || helper_hosts(registries, env)?.contains(&host);
    if !served {
        return Ok(Answer::NotServed(format!(
            "crlogin serves no login for {host}: set DCR_USERNAME, DCR_PASSWORD and DCR_REGISTRY for it where the client runs (or record a prefix with configure-helper --from-env)"
        )));
    }
    let found = auth::find_nebius(env, ci, choice)
        .with_context(|| format!("cannot get a Nebius registry password for {host}"))?;
    Ok(match found {
        Some(found) => Answer::Nebius(found),
        None => Answer::NotServed(format!("{host}: {}", no_credentials::message(Wanted::Any))),
    })
}
