//! Service-account impersonation, as the Nebius SDKs do it: the token of the credential found
//! (the actor) is exchanged over gRPC for a token of another service account (the target),
//! which is the one logged in with. Set by a profile's `impersonate-service-account-id`, or for
//! any source by `--impersonate SA` / `NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID` (which win).
//!
//! The impersonated token is cached only when the actor's is (a key, not a federated or given
//! token), under an identity that names both accounts: it is never served for the actor alone,
//! nor the actor's token for the target.

use super::exchange_grpc::{
    self, ExchangeTokenRequest, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN,
    TOKEN_TYPE_SUBJECT_IDENTIFIER,
};
use super::{CacheIdentity, Iam, Minted, Obtain, Options, PasswordKind};
use crate::ci::Ci;
use crate::env::Env;
use anyhow::{bail, Result};

/// The variable (and `--impersonate`'s fallback) naming the service account to impersonate.
pub const VAR: &str = "NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID";

/// A credential whose token is exchanged for `target`'s.
#[derive(Debug)]
pub struct Impersonated {
    /// The credential that acts.
    pub actor: Box<dyn Obtain>,
    /// The service account to become.
    pub target: String,
    /// The profile's API domain, for the exchange endpoint.
    pub api_domain: Option<String>,
}

impl Impersonated {
    /// Wraps `actor`, checking `target` (named by `origin`) is a service-account id and the
    /// actor gives an IAM token at all.
    pub fn wrap(
        actor: Box<dyn Obtain>,
        target: &str,
        origin: &str,
        api_domain: Option<String>,
    ) -> Result<Self> {
        let target = target.trim();
        let body = target.strip_prefix("serviceaccount-").unwrap_or_default();
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            bail!("{origin} is not a service account id: use the id of the account to impersonate (serviceaccount-...)");
        }
        if actor.kind() == PasswordKind::StaticKey {
            bail!("{origin} asks to impersonate {target}, but the credential found is a Container Registry static key, which cannot be exchanged: use an IAM token, a service-account key or OIDC federation, or unset {origin}");
        }
        Ok(Self {
            actor,
            target: target.to_string(),
            api_domain,
        })
    }
}

impl Obtain for Impersonated {
    fn kind(&self) -> PasswordKind {
        PasswordKind::Exchanged
    }

    fn account(&self) -> Option<&str> {
        Some(&self.target)
    }

    fn describe(&self, env: &Env) -> (String, Option<Iam>) {
        let (actor, iam) = self.actor.describe(env);
        let endpoint = exchange_grpc::endpoint_in(env, self.api_domain.as_deref())
            .map_err(|e| format!("{e:#}"));
        let at = endpoint
            .as_deref()
            .unwrap_or("the gRPC token exchange (unusable, below)");
        let detail = format!(
            "impersonating {}: {actor}; that token is then exchanged at {at} for {}'s",
            self.target, self.target
        );
        let own = Iam::Grpc {
            endpoint,
            signs_here: false,
        };
        (detail, iam.or(Some(own)))
    }

    fn cache_identity(&self, env: &Env) -> Result<Option<CacheIdentity>> {
        let Some(actor) = self.actor.cache_identity(env)? else {
            return Ok(None);
        };
        // A NUL is in no id a key or profile can hold (ids refuse control characters), so this
        // identity cannot equal the actor's or any plain key's.
        Ok(Some(CacheIdentity {
            service_account_id: self.target.clone(),
            public_key_id: format!(
                "impersonated-by\0{}\0{}",
                actor.service_account_id, actor.public_key_id
            ),
            public_key_sha256: actor.public_key_sha256,
            endpoint: format!(
                "{}\0{}",
                exchange_grpc::endpoint_in(env, self.api_domain.as_deref())?,
                actor.endpoint
            ),
        }))
    }

    fn obtain(&self, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted> {
        let actor = self.actor.obtain(env, ci, options)?;
        let endpoint = exchange_grpc::endpoint_in(env, self.api_domain.as_deref())?;
        let what = format!("impersonation of {}", self.target);
        exchange_grpc::mint(&what, &endpoint, ci, options, || {
            Ok(request(&self.target, actor.token.expose()))
        })
    }
}

/// The impersonation request: `subject_token` is the target (a subject identifier),
/// `actor_token` the actor's access token; no audience, scopes or resource.
pub fn request(target: &str, actor_token: &str) -> ExchangeTokenRequest {
    ExchangeTokenRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.to_string(),
        requested_token_type: TOKEN_TYPE_ACCESS_TOKEN.to_string(),
        subject_token: target.to_string(),
        subject_token_type: TOKEN_TYPE_SUBJECT_IDENTIFIER.to_string(),
        scopes: Vec::new(),
        audience: String::new(),
        actor_token: actor_token.to_string(),
        actor_token_type: TOKEN_TYPE_ACCESS_TOKEN.to_string(),
        resource: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::exchange_grpc::test_server::{Expect, IamServer, TestIssuer};
    use super::super::iam_token::Given;
    use super::*;
    use crate::secret::Secret;

    const TARGET: &str = "serviceaccount-e00target";

    fn server() -> IamServer {
        let issuer = TestIssuer::new();
        IamServer::start(Expect {
            service_account_id: "serviceaccount-e00unused".into(),
            issuer: issuer.issuer.clone(),
            audience: "unused".into(),
            subject: "unused".into(),
            jwks: issuer.jwks(),
        })
    }

    fn given(token: &str) -> Box<dyn Obtain> {
        Box::new(Given {
            token: Secret::new(token.to_string()),
            kind: PasswordKind::GivenToken,
        })
    }

    fn options() -> Options {
        super::super::tests::test_options()
    }

    #[test]
    fn the_actor_token_is_exchanged_for_the_target() {
        let server = server();
        server.allow_impersonation_of(TARGET);
        server.trust_actor_token("v1.actor-token");
        let env = Env::from_pairs(&[("NEBIUS_TOKEN_EXCHANGE_GRPC", &server.url())]);
        let wrapped = Impersonated::wrap(given("v1.actor-token"), TARGET, VAR, None).unwrap();
        let ci = crate::ci::detect(&Env::default());
        let minted = wrapped.obtain(&env, ci.as_ref(), &options()).unwrap();
        assert_eq!(server.issued(), vec![minted.token.expose().to_string()]);
        assert_eq!(
            server.impersonations(),
            vec![("v1.actor-token".to_string(), TARGET.to_string())]
        );
        assert!(minted.expires_at.is_some());
    }

    #[test]
    fn an_actor_token_the_server_did_not_issue_is_refused() {
        let server = server();
        server.allow_impersonation_of(TARGET);
        let env = Env::from_pairs(&[("NEBIUS_TOKEN_EXCHANGE_GRPC", &server.url())]);
        let wrapped = Impersonated::wrap(given("v1.forged-token"), TARGET, VAR, None).unwrap();
        let ci = crate::ci::detect(&Env::default());
        let err = wrapped.obtain(&env, ci.as_ref(), &options()).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("UNAUTHENTICATED"), "{text}");
        assert!(!text.contains("v1.forged-token"), "{text}");
        assert!(server.issued().is_empty());
    }

    #[test]
    fn a_target_the_actor_may_not_impersonate_is_refused() {
        let server = server();
        server.trust_actor_token("v1.actor-token");
        let env = Env::from_pairs(&[("NEBIUS_TOKEN_EXCHANGE_GRPC", &server.url())]);
        let wrapped = Impersonated::wrap(given("v1.actor-token"), TARGET, VAR, None).unwrap();
        let ci = crate::ci::detect(&Env::default());
        let err = wrapped.obtain(&env, ci.as_ref(), &options()).unwrap_err();
        assert!(format!("{err:#}").contains("PERMISSION_DENIED"), "{err:#}");
    }

    #[test]
    fn a_static_key_or_a_bad_target_cannot_be_impersonated() {
        let key: Box<dyn Obtain> = Box::new(Given {
            token: Secret::new("static".into()),
            kind: PasswordKind::StaticKey,
        });
        let err = Impersonated::wrap(key, TARGET, VAR, None).unwrap_err();
        assert!(err.to_string().contains("static key"), "{err}");
        let err = Impersonated::wrap(given("t"), "my-robot", VAR, None).unwrap_err();
        assert!(
            err.to_string().contains("is not a service account id"),
            "{err}"
        );
    }

    #[test]
    fn the_cache_identity_names_both_accounts_and_differs_from_the_actors() {
        #[derive(Debug)]
        struct Keyed;
        impl Obtain for Keyed {
            fn kind(&self) -> PasswordKind {
                PasswordKind::Exchanged
            }
            fn describe(&self, _: &Env) -> (String, Option<Iam>) {
                (String::new(), None)
            }
            fn cache_identity(&self, _: &Env) -> Result<Option<CacheIdentity>> {
                Ok(Some(CacheIdentity {
                    service_account_id: "serviceaccount-e00actor".into(),
                    public_key_id: "publickey-1".into(),
                    public_key_sha256: "ab".into(),
                    endpoint: "https://auth.example/".into(),
                }))
            }
            fn obtain(&self, _: &Env, _: &dyn Ci, _: &Options) -> Result<Minted> {
                unreachable!()
            }
        }
        let env = Env::default();
        let actor = Keyed.cache_identity(&env).unwrap().unwrap();
        let wrapped = Impersonated::wrap(Box::new(Keyed), TARGET, VAR, None).unwrap();
        let identity = wrapped.cache_identity(&env).unwrap().unwrap();
        assert_ne!(identity, actor);
        assert_eq!(identity.service_account_id, TARGET);
        assert!(identity.public_key_id.contains("serviceaccount-e00actor"));
        // A given token is not cached, so neither is what it impersonates.
        let wrapped = Impersonated::wrap(given("t"), TARGET, VAR, None).unwrap();
        assert!(wrapped.cache_identity(&env).unwrap().is_none());
    }
}
