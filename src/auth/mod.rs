//! Turning inputs into registry credentials. Static keys, ready tokens and plain passwords are
//! used as they are; sources that need an exchange plug in here as further [`NebiusInput`] arms.

use crate::secrets::{Inputs, NebiusInput, Secret};
use std::time::SystemTime;

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

/// The scopes `inputs` cover, without touching any secret (what `logout` needs).
pub fn scopes(inputs: &Inputs) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = inputs
        .plain
        .iter()
        .map(|p| Scope::Registry(p.registry.clone()))
        .collect();
    if inputs.nebius.is_some() {
        scopes.push(Scope::Nebius);
    }
    scopes
}

/// Resolves every input into a credential.
pub fn resolve(inputs: Inputs) -> Vec<Credential> {
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
        let (source, secret) = match nebius {
            NebiusInput::IamToken(token) => ("NEBIUS_IAM_TOKEN", token),
            NebiusInput::StaticKey(key) => ("NEBIUS_STATIC_KEY", key),
        };
        credentials.push(Credential {
            scope: Scope::Nebius,
            source: source.to_string(),
            username: NEBIUS_USERNAME.to_string(),
            secret,
            expires_at: None,
        });
    }
    credentials
}
