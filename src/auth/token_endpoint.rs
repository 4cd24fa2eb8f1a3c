//! A profile's `token-endpoint: URL`: a metadata-style token endpoint (the SDK's IMDS bearer),
//! asked as the VM metadata service is (`Metadata: true`, JSON `access_token` + `expires_at`,
//! 429/5xx retried), through the `metadata` source's client. Its tokens are cached by URL.

use super::{CacheIdentity, Iam, Minted, Obtain, Options, PasswordKind};
use crate::ci::Ci;
use crate::env::Env;
use anyhow::{anyhow, Context, Result};
use reqwest::Url;
use std::time::SystemTime;

/// The endpoint, named `origin` in messages.
#[derive(Debug)]
pub struct TokenEndpoint {
    url: Url,
    origin: String,
}

impl TokenEndpoint {
    /// Checks `url` is an http(s) URL with a host and no user or password.
    pub fn new(url: &str, origin: &str) -> Result<Self> {
        let url = super::metadata::endpoint(Some(url)).map_err(|_| {
            anyhow!("{origin} is not an http:// or https:// URL with a host and no user or password: fix it in the file")
        })?;
        Ok(Self {
            url,
            origin: origin.to_string(),
        })
    }
}

impl Obtain for TokenEndpoint {
    fn kind(&self) -> PasswordKind {
        PasswordKind::Exchanged
    }

    fn describe(&self, _env: &Env) -> (String, Option<Iam>) {
        let detail = format!(
            "a token endpoint: login takes an IAM token from {} (user {})",
            self.url,
            super::NEBIUS_USERNAME
        );
        (detail, None)
    }

    fn cache_identity(&self, _env: &Env) -> Result<Option<CacheIdentity>> {
        Ok(Some(CacheIdentity {
            service_account_id: "token-endpoint".to_string(),
            public_key_id: "token-endpoint".to_string(),
            public_key_sha256: String::new(),
            endpoint: self.url.to_string(),
        }))
    }

    fn obtain(&self, _env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted> {
        let issued_at = SystemTime::now();
        let token = super::metadata::fetch(&self.url, options.timeout, ci)
            .with_context(|| format!("{} {}", self.origin, self.url))?;
        Ok(Minted {
            token: token.access_token,
            issued_at,
            expires_at: token.expires_at,
        })
    }
}
