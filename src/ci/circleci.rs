//! CircleCI. There is no run-time masking (CircleCI masks only project and context variables),
//! so crlogin's guarantee there is that it prints no secret; values it derives (an IAM token,
//! base64 `user:password`) cannot be masked. Variables reach later steps through `$BASH_ENV`,
//! which every later bash step sources. The ID token is `CIRCLE_OIDC_TOKEN_V2`, or
//! `circleci run oidc get` for an audience of the user's choosing.

use super::{tool, Ci, IdToken, IdTokenRequest};
use crate::env::Env;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The token CircleCI gives every job, with the organization id as its `aud`.
const TOKEN_VAR: &str = "CIRCLE_OIDC_TOKEN_V2";

/// CircleCI (`CIRCLECI=true`).
pub struct CircleCi {
    bash_env: Option<PathBuf>,
}

impl CircleCi {
    /// Reads the job's `$BASH_ENV` file from the environment.
    pub fn new(env: &Env) -> Self {
        Self {
            bash_env: env.path("BASH_ENV"),
        }
    }
}

/// `value` in single quotes for a POSIX shell.
fn shell_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

impl Ci for CircleCi {
    fn name(&self) -> &'static str {
        "CircleCI"
    }

    fn mask(&self, _value: &str) {}

    /// `export NAME='value'` appended to `$BASH_ENV`, which later steps source.
    fn export_var(&self, name: &str, value: &Path) -> Result<()> {
        let Some(file) = &self.bash_env else {
            return Ok(());
        };
        let Some(value) = value.to_str().filter(|v| !v.contains(['\n', '\r'])) else {
            bail!("cannot export {name}: its path is not one line of UTF-8");
        };
        crate::os::private::open_append(file)
            .and_then(|mut f| writeln!(f, "export {name}={}", shell_quoted(value)))
            .with_context(|| format!("cannot append to the BASH_ENV file {}", file.display()))
    }

    fn offers_id_token(&self, env: &Env) -> bool {
        env.is_set(TOKEN_VAR)
    }

    fn id_token<'a>(&'a self, env: &'a Env, request: &'a IdTokenRequest) -> Option<IdToken<'a>> {
        Some(Box::pin(async move {
            if request.audience_chosen {
                let claims = serde_json::json!({ "aud": request.audience }).to_string();
                return tool::output(
                    "circleci",
                    &["run", "oidc", "get", "--claims", &claims],
                    request.timeout,
                    "CircleCI gave no OIDC token for the audience asked",
                    "run crlogin in a CircleCI job (it has the circleci CLI), or unset NEBIUS_OIDC_AUDIENCE to use CIRCLE_OIDC_TOKEN_V2",
                )
                .await;
            }
            match env.get(TOKEN_VAR)? {
                Some(jwt) if !jwt.trim().is_empty() => {
                    // An ID token a login used is not COMMAND's to keep (`exec`).
                    crate::child::used(TOKEN_VAR);
                    Ok(Zeroizing::new(jwt.trim().to_string()))
                }
                _ => bail!("CircleCI gave this job no OIDC token ({TOKEN_VAR} is not set): CircleCI cloud gives one to every job but those of pull requests from forks"),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(env: &Env, audience_chosen: bool) -> Result<Zeroizing<String>> {
        let request = IdTokenRequest {
            audience: "aud".into(),
            audience_chosen,
            timeout: std::time::Duration::from_secs(5),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let circleci = CircleCi::new(env);
        runtime.block_on(
            circleci
                .id_token(env, &request)
                .expect("CircleCI has a token"),
        )
    }

    #[test]
    fn the_v2_token_unless_an_audience_is_chosen() {
        let env = Env::from_pairs(&[(TOKEN_VAR, "a.b.c")]);
        assert!(CircleCi::new(&env).offers_id_token(&env));
        assert_eq!(token(&env, false).unwrap().as_str(), "a.b.c");
        let message = token(&Env::default(), false).unwrap_err().to_string();
        assert!(
            message.contains("CIRCLE_OIDC_TOKEN_V2 is not set"),
            "{message}"
        );
        // A chosen audience goes to `circleci run oidc get`, whatever the variable holds.
        let env = Env::from_pairs(&[(TOKEN_VAR, "a.b.c"), ("PATH", "/nonexistent")]);
        let message = token(&env, true).unwrap_err().to_string();
        assert!(message.contains("circleci"), "{message}");
    }

    #[test]
    fn exports_for_later_steps_in_bash_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bash_env");
        let circleci = CircleCi {
            bash_env: Some(file.clone()),
        };
        circleci
            .export_var("DOCKER_CONFIG", Path::new("/tmp/it's"))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "export DOCKER_CONFIG='/tmp/it'\\''s'\n"
        );
        assert!(circleci.export_var("X", Path::new("a\nb")).is_err());
    }
}
