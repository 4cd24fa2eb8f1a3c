//! Bitbucket Pipelines. There is no run-time masking (Bitbucket masks only secured variables), no
//! log groups, and no way to hand a variable to a later step: the step evaluates the `export`
//! lines crlogin prints. crlogin's guarantee there is that it prints no secret; values it derives
//! cannot be masked. The ID token is `BITBUCKET_STEP_OIDC_TOKEN`, in steps with `oidc: true`.

use super::{Ci, IdToken, IdTokenRequest};
use crate::env::Env;
use anyhow::bail;
use zeroize::Zeroizing;

/// The variable a step with `oidc: true` has.
const TOKEN_VAR: &str = "BITBUCKET_STEP_OIDC_TOKEN";

/// Bitbucket Pipelines (`BITBUCKET_BUILD_NUMBER` set).
pub struct Bitbucket;

impl Ci for Bitbucket {
    fn name(&self) -> &'static str {
        "Bitbucket Pipelines"
    }

    fn mask(&self, _value: &str) {}

    fn offers_id_token(&self, env: &Env) -> bool {
        env.is_set(TOKEN_VAR)
    }

    /// The step's token; its `aud` is set in `bitbucket-pipelines.yml` (`oidc: audiences:`), not
    /// at run time.
    fn id_token<'a>(&'a self, env: &'a Env, _request: &'a IdTokenRequest) -> Option<IdToken<'a>> {
        Some(Box::pin(async move {
            match env.get(TOKEN_VAR)? {
                Some(jwt) if !jwt.trim().is_empty() => {
                    // An ID token a login used is not COMMAND's to keep (`exec`).
                    crate::child::used(TOKEN_VAR);
                    Ok(Zeroizing::new(jwt.trim().to_string()))
                }
                _ => bail!("Bitbucket gave this step no OIDC token ({TOKEN_VAR} is not set): add `oidc: true` to the step in bitbucket-pipelines.yml"),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(env: &Env) -> anyhow::Result<Zeroizing<String>> {
        let request = IdTokenRequest {
            audience: "ignored".into(),
            audience_chosen: true,
            timeout: std::time::Duration::from_secs(1),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        runtime.block_on(
            Bitbucket
                .id_token(env, &request)
                .expect("Bitbucket has a token"),
        )
    }

    #[test]
    fn the_step_token_needs_oidc_true() {
        let env = Env::from_pairs(&[("BITBUCKET_STEP_OIDC_TOKEN", " a.b.c\n")]);
        assert!(Bitbucket.offers_id_token(&env));
        assert_eq!(token(&env).unwrap().as_str(), "a.b.c");
        let none = Env::from_pairs(&[("BITBUCKET_BUILD_NUMBER", "1")]);
        assert!(!Bitbucket.offers_id_token(&none));
        let message = token(&none).unwrap_err().to_string();
        assert!(
            message.contains("add `oidc: true` to the step"),
            "{message}"
        );
    }
}
