//! `CRLOGIN_GITHUB_TOKEN` (or `_FILE`): a GitHub token, usually the job's own `GITHUB_TOKEN`,
//! for `ghcr.io`, user `GITHUB_ACTOR` (else `x-access-token`). Opt-in: the action sets it from
//! its `github-token` input; on the command line, set it yourself
//! (`CRLOGIN_GITHUB_TOKEN=$GITHUB_TOKEN crlogin login`).
//!
//! Test-only: `CRLOGIN_TEST_GHCR_HOST` names a loopback registry (`127.0.0.1:PORT`) standing in
//! for ghcr.io; any other value is refused, so the token can never be sent elsewhere by it.

use super::{Found, Kind, PasswordKind, Scope, Source, Vars};
use crate::registry::{is_loopback, parse_registry};
use anyhow::{bail, Result};

/// The source.
pub static SOURCE: GithubToken = GithubToken;

/// See the module documentation.
pub struct GithubToken;

const VAR: &str = "CRLOGIN_GITHUB_TOKEN";
const HOST: &str = "ghcr.io";
const TEST_HOST_VAR: &str = "CRLOGIN_TEST_GHCR_HOST";

/// `ghcr.io`, or in tests the loopback registry standing in for it.
fn host(vars: &Vars) -> Result<String> {
    match vars.env().get(TEST_HOST_VAR)? {
        None => Ok(HOST.to_string()),
        Some(value) => match parse_registry(&value) {
            Ok(host) if is_loopback(&host) => Ok(host),
            _ => bail!(
                "{TEST_HOST_VAR} is for crlogin's tests and takes only a loopback host: unset it"
            ),
        },
    }
}

impl Source for GithubToken {
    fn name(&self) -> &'static str {
        "github-token"
    }

    fn help(&self) -> &'static str {
        "CRLOGIN_GITHUB_TOKEN: a GitHub token (the job's GITHUB_TOKEN) for ghcr.io"
    }

    fn needs(&self) -> &'static str {
        "CRLOGIN_GITHUB_TOKEN (ghcr.io)"
    }

    fn kind(&self) -> Kind {
        Kind::Registry
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.is_set(VAR)
    }

    fn registries(&self, vars: &Vars) -> Result<Vec<String>> {
        match vars.is_set(VAR) {
            true => Ok(vec![host(vars)?]),
            false => Ok(Vec::new()),
        }
    }

    fn find(&self, vars: &Vars, _forced: bool) -> Result<Option<Found>> {
        let Some(token) = vars.token(VAR)? else {
            return Ok(None);
        };
        // Not a child's business (`exec`'s COMMAND, credential-store helpers).
        crate::child::used(VAR);
        let user = vars
            .plain("GITHUB_ACTOR")?
            .unwrap_or_else(|| "x-access-token".to_string());
        Ok(Some(Found::login(
            format!("{} (ghcr.io)", vars.origin(VAR)),
            Scope::Registry(host(vars)?),
            vars.username("GITHUB_ACTOR", user)?,
            token,
            PasswordKind::Password,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{found_in, password};
    use super::Scope;

    #[test]
    fn the_token_logs_the_actor_into_ghcr_only_when_given() {
        assert!(found_in(&[("GITHUB_TOKEN", "ghs_x")], &[])
            .unwrap()
            .is_empty());
        let found = found_in(
            &[
                ("CRLOGIN_GITHUB_TOKEN", "ghs_x\n"),
                ("GITHUB_ACTOR", "octocat"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].scope, Scope::Registry("ghcr.io".into()));
        assert_eq!(found[0].username, "octocat");
        assert_eq!(password(&found[0]), "ghs_x");
        let hidden = crate::child::secret_variables(&crate::env::Env::default(), &[]);
        assert!(
            hidden.iter().any(|n| n == "CRLOGIN_GITHUB_TOKEN"),
            "{hidden:?}"
        );
    }

    #[test]
    fn the_test_host_must_be_loopback() {
        let token = ("CRLOGIN_GITHUB_TOKEN", "ghs_x");
        let found = found_in(&[token, ("CRLOGIN_TEST_GHCR_HOST", "127.0.0.1:5000")], &[]);
        assert_eq!(
            found.unwrap()[0].scope,
            Scope::Registry("127.0.0.1:5000".into())
        );
        let err = found_in(&[token, ("CRLOGIN_TEST_GHCR_HOST", "evil.example")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("only a loopback host"), "{err}");
    }
}
