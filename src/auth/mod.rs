//! Turning inputs into registry credentials. Static keys, ready tokens and plain passwords are
//! used as they are; a service-account authorized key is exchanged for an IAM access token
//! (through the token cache). One file per credential source or exchange: further ones (gRPC
//! exchange, OIDC federation, the metadata service) plug in as further [`NebiusInput`] arms.

pub mod authorized_key;
mod cache;
pub mod exchange_grpc;
pub mod exchange_http;
pub mod oidc;
pub mod profile;

use crate::ci::Ci;
use crate::env::Env;
use crate::secrets::{Inputs, NebiusInput, Secret};
use anyhow::Result;
use std::time::{Duration, SystemTime};

/// The longest life crlogin believes a server-issued token has: a longer `expires_in` (Nebius
/// IAM tokens live 12 hours) is taken as this, so a hostile or broken server's huge number
/// can neither overflow the time arithmetic nor keep a token in the cache for years.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// When a token issued at `issued_at` and living `lifetime` expires, the lifetime capped at
/// [`MAX_TOKEN_LIFETIME`].
pub fn expiry_after(issued_at: SystemTime, lifetime: Duration) -> SystemTime {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    issued_at.checked_add(lifetime).unwrap_or(issued_at)
}

/// The username Nebius Container Registry expects with an IAM token or a static key.
pub const NEBIUS_USERNAME: &str = "iam";

/// Which registries a credential is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One registry, as the input named it (a plain username/password login).
    Registry(String),
    /// The selected Nebius regions and `--registry` hosts.
    Nebius,
}

/// A username and secret ready to be written for a registry.
#[derive(Debug)]
pub struct Credential {
    /// What the credential is for.
    pub scope: Scope,
    /// Where it came from, for the report.
    pub source: String,
    /// The registry username.
    pub username: String,
    /// The password or token.
    pub secret: Secret,
    /// When it stops working, where known.
    pub expires_at: Option<SystemTime>,
}

/// How patiently to exchange, and whether to use the token cache.
#[derive(Debug, Clone)]
pub struct Options {
    /// Retries of the exchange after the first attempt.
    pub retries: u32,
    /// The deadline for the whole exchange.
    pub timeout: Duration,
    /// Whether to read and write the token cache.
    pub cache: bool,
    /// Exchange nothing and write nothing (a cached token is still used): for `--dry-run`.
    pub dry_run: bool,
}

/// Resolves every input into a credential. A Nebius authorized key costs at most one token
/// exchange, however many registries it is written for.
pub fn resolve(
    inputs: Inputs,
    env: &Env,
    ci: &dyn Ci,
    options: &Options,
) -> Result<Vec<Credential>> {
    let mut credentials: Vec<Credential> = inputs
        .plain
        .into_iter()
        .map(|p| Credential {
            scope: Scope::Registry(p.registry),
            source: p.source,
            username: p.username,
            secret: p.password,
            expires_at: None,
        })
        .collect();
    if let Some(nebius) = inputs.nebius {
        credentials.push(resolve_nebius(nebius, env, ci, options)?);
    }
    Ok(credentials)
}

/// Resolves the Nebius credential: a token or static key as it is; an authorized key through
/// the cache, else one token exchange.
pub fn resolve_nebius(
    input: NebiusInput,
    env: &Env,
    ci: &dyn Ci,
    options: &Options,
) -> Result<Credential> {
    let credential = |source: String, secret: Secret, expires_at: Option<SystemTime>| Credential {
        scope: Scope::Nebius,
        source,
        username: NEBIUS_USERNAME.to_string(),
        secret,
        expires_at,
    };
    let (source, exchange) = match input {
        NebiusInput::IamToken(token) => {
            return Ok(credential("NEBIUS_IAM_TOKEN".into(), token, None))
        }
        NebiusInput::StaticKey(key) => {
            return Ok(credential("NEBIUS_STATIC_KEY".into(), key, None))
        }
        NebiusInput::AuthorizedKey { source, key } => (source, Exchange::Key(key)),
        NebiusInput::Federated { service_account_id } => (
            "OIDC federation".to_string(),
            Exchange::Federated(service_account_id),
        ),
    };
    let http_endpoint;
    let grpc_endpoint;
    let identity = match &exchange {
        Exchange::Key(key) => {
            http_endpoint =
                exchange_http::parse_endpoint(env.get("NEBIUS_AUTH_ENDPOINT")?.as_deref())?;
            cache::Identity {
                service_account_id: &key.service_account_id,
                public_key_id: &key.public_key_id,
                endpoint: http_endpoint.as_str(),
            }
        }
        Exchange::Federated(service_account_id) => {
            grpc_endpoint = exchange_grpc::endpoint(env)?;
            cache::Identity {
                service_account_id,
                public_key_id: "oidc",
                endpoint: &grpc_endpoint,
            }
        }
    };
    // A federated token is not cached: the cache is keyed by service account, so another job
    // sharing this HOME would get the token without presenting an OIDC token of its own.
    let cacheable = matches!(exchange, Exchange::Key(_));
    let cache_dir = if options.cache && cacheable {
        cache::dir(env).ok()
    } else {
        None
    };
    if let Some(dir) = &cache_dir {
        if let Some(cached) = cache::load(dir, &identity, SystemTime::now()) {
            ci.mask(cached.access_token.expose());
            return Ok(credential(
                format!("{source}, cached token"),
                cached.access_token,
                Some(cached.expires_at),
            ));
        }
    }
    if options.dry_run {
        return Ok(credential(
            format!("{source}, would exchange"),
            Secret::new(String::new()),
            None,
        ));
    }
    let (access_token, issued_at, expires_at) = match &exchange {
        Exchange::Key(key) => {
            let options = exchange_http::Options {
                endpoint: exchange_http::parse_endpoint(Some(identity.endpoint))?,
                retries: options.retries,
                timeout: options.timeout,
            };
            let token = exchange_http::exchange(key, &options, ci)?;
            (
                token.access_token,
                token.issued_at,
                expiry_after(token.issued_at, token.lifetime),
            )
        }
        Exchange::Federated(service_account_id) => {
            let issued_at = SystemTime::now();
            let (token, expires_at) =
                oidc::federated_token_with_retries(env, ci, service_account_id, options)?;
            (token, issued_at, expires_at)
        }
    };
    if let Some(dir) = &cache_dir {
        if cache::is_fresh(issued_at, expires_at, issued_at) {
            if let Err(e) = cache::store(dir, &identity, &access_token, issued_at, expires_at) {
                ci.warning(&format!(
                    "{e:#}; the token was not cached (--no-cache turns the cache off)"
                ));
            }
        }
    }
    Ok(credential(
        format!("{source}, exchanged"),
        access_token,
        Some(expires_at),
    ))
}

/// How a Nebius credential becomes an access token.
enum Exchange {
    /// Sign a JWT with the authorized key; HTTP token exchange.
    Key(authorized_key::AuthorizedKey),
    /// The CI's OIDC token for this service account; gRPC token exchange.
    Federated(String),
}
