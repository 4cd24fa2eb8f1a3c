//! How a service-account key becomes a token: a 60-second JWT signed with it is exchanged for an
//! IAM token, over one of the two protocols Nebius IAM speaks.
//!
//! - `NEBIUS_AUTH_ENDPOINT` set: over HTTP there (RFC 8693 form post).
//! - Else, `NEBIUS_TOKEN_EXCHANGE_GRPC` set, or an API domain other than Nebius's own
//!   (`NEBIUS_ENDPOINT`, a profile's `endpoint:`): over gRPC at that token service
//!   (`tokens.iam.<domain>`), as the SDKs always do. The HTTP endpoint is only known for Nebius's
//!   own domain, so another domain can only be reached this way.
//! - Else over HTTP at the default endpoint: the same IAM the SDKs reach over gRPC, and the one
//!   protocol that goes through an `HTTPS_PROXY`.

use super::authorized_key::AuthorizedKey;
use super::exchange_grpc::{
    self, ExchangeTokenRequest, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT,
};
use super::exchange_http::{self, parse_endpoint};
use super::{CacheIdentity, Iam, Minted, Obtain, Options, PasswordKind};
use crate::ci::Ci;
use crate::env::Env;
use crate::secret::Secret;
use anyhow::Result;
use reqwest::Url;
use std::time::SystemTime;

const HTTP_VAR: &str = "NEBIUS_AUTH_ENDPOINT";

/// Where a key's JWT is exchanged.
enum Route {
    /// The HTTP exchange at this base URL.
    Http(Url),
    /// The gRPC exchange at this endpoint.
    Grpc(String),
}

fn route(key: &AuthorizedKey, env: &Env) -> Result<Route> {
    if env.is_set(HTTP_VAR) {
        return Ok(Route::Http(parse_endpoint(env.get(HTTP_VAR)?.as_deref())?));
    }
    match exchange_grpc::chosen_endpoint(env, key.api_domain.as_deref())? {
        Some(endpoint) => Ok(Route::Grpc(endpoint)),
        None => Ok(Route::Http(parse_endpoint(None)?)),
    }
}

/// The JWT exchange request over gRPC, as the SDKs send it: the JWT is the subject; no actor,
/// audience, scopes or resource.
pub fn jwt_request(jwt: &Secret) -> ExchangeTokenRequest {
    ExchangeTokenRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.to_string(),
        requested_token_type: TOKEN_TYPE_ACCESS_TOKEN.to_string(),
        subject_token: jwt.expose().to_string(),
        subject_token_type: TOKEN_TYPE_JWT.to_string(),
        scopes: Vec::new(),
        audience: String::new(),
        actor_token: String::new(),
        actor_token_type: String::new(),
        resource: Vec::new(),
    }
}

/// A service-account key: the token is cached under the key's ids and the endpoint.
impl Obtain for AuthorizedKey {
    fn kind(&self) -> PasswordKind {
        PasswordKind::Exchanged
    }

    fn describe(&self, env: &Env) -> (String, Option<Iam>) {
        let (at, iam) = match route(self, env) {
            Ok(Route::Http(url)) => (url.to_string(), Iam::KeyExchange(Ok(url))),
            Ok(Route::Grpc(endpoint)) => (
                format!("{endpoint} (gRPC)"),
                Iam::Grpc {
                    endpoint: Ok(endpoint),
                    signs_here: true,
                },
            ),
            Err(e) => (
                "the token exchange (unusable, below)".to_string(),
                Iam::KeyExchange(Err(format!("{e:#}"))),
            ),
        };
        let detail = format!(
            "service-account key {} of {}: login signs a 60-second JWT and exchanges it at {at} for an IAM token (user {})",
            self.public_key_id,
            self.service_account_id,
            super::NEBIUS_USERNAME
        );
        (detail, Some(iam))
    }

    fn cache_identity(&self, env: &Env) -> Result<Option<CacheIdentity>> {
        let endpoint = match route(self, env)? {
            Route::Http(url) => url.to_string(),
            Route::Grpc(endpoint) => endpoint,
        };
        Ok(Some(CacheIdentity {
            service_account_id: self.service_account_id.clone(),
            public_key_id: self.public_key_id.clone(),
            public_key_sha256: self.public_key_sha256.clone(),
            endpoint,
        }))
    }

    fn obtain(&self, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted> {
        match route(self, env)? {
            Route::Http(endpoint) => {
                let options = exchange_http::Options {
                    endpoint,
                    retries: options.retries,
                    timeout: options.timeout,
                };
                let token = exchange_http::exchange(self, &options, ci)?;
                Ok(Minted {
                    token: token.access_token,
                    issued_at: token.issued_at,
                    expires_at: Some(super::expiry_after(token.issued_at, token.lifetime)),
                })
            }
            // Signed anew for each attempt: a retry never sends a JWT near its end.
            Route::Grpc(endpoint) => {
                exchange_grpc::mint("the token exchange", &endpoint, ci, options, || {
                    Ok(jwt_request(&self.sign_jwt(SystemTime::now(), ci)?))
                })
            }
        }
    }

    fn account(&self) -> Option<&str> {
        Some(&self.service_account_id)
    }

    #[cfg(test)]
    fn key(&self) -> Option<&AuthorizedKey> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(vars: &[(&str, &str)], profile_domain: Option<&str>) -> String {
        let mut key = AuthorizedKey::generated("serviceaccount-e00route", "publickey-e00route");
        key.api_domain = profile_domain.map(str::to_string);
        match route(&key, &Env::from_pairs(vars)).unwrap() {
            Route::Http(url) => format!("http {url}"),
            Route::Grpc(endpoint) => format!("grpc {endpoint}"),
        }
    }

    #[test]
    fn the_http_exchange_unless_another_domain_or_the_grpc_endpoint_is_named() {
        let http_default = "http https://auth.eu.nebius.com/";
        assert_eq!(routed(&[], None), http_default);
        // Nebius's own domain, written either way, is the IAM the HTTP endpoint serves.
        assert_eq!(
            routed(&[("NEBIUS_ENDPOINT", "api.nebius.cloud")], None),
            http_default
        );
        assert_eq!(routed(&[], Some("api.nebius.cloud:443")), http_default);
        assert_eq!(
            routed(&[("NEBIUS_ENDPOINT", "api.other.example")], None),
            "grpc https://tokens.iam.api.other.example:443"
        );
        assert_eq!(
            routed(&[], Some("api.profile.example")),
            "grpc https://tokens.iam.api.profile.example:443"
        );
        assert_eq!(
            routed(
                &[("NEBIUS_TOKEN_EXCHANGE_GRPC", "http://127.0.0.1:9")],
                None
            ),
            "grpc http://127.0.0.1:9"
        );
        // NEBIUS_AUTH_ENDPOINT wins over both.
        assert_eq!(
            routed(
                &[
                    ("NEBIUS_AUTH_ENDPOINT", "https://auth.example:8443"),
                    ("NEBIUS_ENDPOINT", "api.other.example"),
                    ("NEBIUS_TOKEN_EXCHANGE_GRPC", "http://127.0.0.1:9"),
                ],
                Some("api.profile.example"),
            ),
            "http https://auth.example:8443/"
        );
    }
}
