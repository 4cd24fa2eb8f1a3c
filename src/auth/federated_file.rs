//! Keyless federation from a file: an external OIDC JWT in a file (a Kubernetes projected
//! service-account token, or an ID token a CI writes), exchanged over gRPC for a service
//! account's IAM token exactly as in OIDC federation. `NEBIUS_SERVICE_ACCOUNT_ID` with
//! `NEBIUS_FEDERATED_TOKEN_FILE`, or a profile's `service-account-id` with
//! `federated-subject-credentials-file-path`.
//!
//! The file is read again at each attempt (whatever rotates it is obeyed), and the token it
//! buys is never cached: the file's current content is the proof, so a token bought with an
//! older content is never handed out.

use super::exchange_grpc;
use super::oidc::{check_service_account_id, federation_request, looks_like_jwt};
use super::{Iam, Minted, NebiusInput, Obtain, Options, PasswordKind, Source, Vars};
use crate::ci::Ci;
use crate::env::Env;
use crate::secret::{read_file, Secret};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The variable naming the file.
pub const FILE_VAR: &str = "NEBIUS_FEDERATED_TOKEN_FILE";
const SA: &str = "NEBIUS_SERVICE_ACCOUNT_ID";

/// The source.
pub static SOURCE: FederatedFileSource = FederatedFileSource;

/// See the module documentation.
pub struct FederatedFileSource;

impl Source for FederatedFileSource {
    fn name(&self) -> &'static str {
        "federated-file"
    }

    fn help(&self) -> &'static str {
        "NEBIUS_SERVICE_ACCOUNT_ID with NEBIUS_FEDERATED_TOKEN_FILE: an OIDC JWT in a file"
    }

    fn needs(&self) -> &'static str {
        "NEBIUS_SERVICE_ACCOUNT_ID and NEBIUS_FEDERATED_TOKEN_FILE (a file holding an OIDC JWT)"
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.env().is_set(FILE_VAR)
    }

    fn find(&self, vars: &Vars, _forced: bool) -> Result<Option<NebiusInput>> {
        let Some(path) = vars.env().path(FILE_VAR) else {
            return Ok(None);
        };
        let Some(service_account_id) = vars.plain(SA)? else {
            bail!("{FILE_VAR} is set but {SA} is not: name the service account whose federated credentials trust the token in the file");
        };
        check_service_account_id(&service_account_id)?;
        let credential = FederatedFile {
            service_account_id,
            path,
            origin: FILE_VAR.to_string(),
            api_domain: None,
        };
        Ok(Some(NebiusInput::new(
            format!("{SA}+{FILE_VAR}"),
            Box::new(credential),
        )))
    }
}

/// A JWT in a file, exchanged for `service_account_id`'s token.
#[derive(Debug)]
pub struct FederatedFile {
    /// The service account to act as.
    pub service_account_id: String,
    /// The file holding the JWT.
    pub path: PathBuf,
    /// Where the path was set, for messages.
    pub origin: String,
    /// A profile's API domain, for the exchange endpoint.
    pub api_domain: Option<String>,
}

impl FederatedFile {
    /// The JWT now in the file, masked.
    fn jwt(&self, ci: &dyn Ci) -> Result<Secret> {
        let text = read_file(&self.path)
            .with_context(|| format!("{}: cannot read {}", self.origin, self.path.display()))?;
        let jwt = Secret::new(text.trim().to_string());
        ci.mask(jwt.expose());
        if !looks_like_jwt(jwt.expose()) {
            bail!(
                "{}: {} does not hold a JWT (three base64url parts joined by dots): point it at the token file your platform writes",
                self.origin,
                self.path.display()
            );
        }
        Ok(jwt)
    }
}

impl Obtain for FederatedFile {
    fn kind(&self) -> PasswordKind {
        PasswordKind::Exchanged
    }

    fn account(&self) -> Option<&str> {
        Some(&self.service_account_id)
    }

    fn describe(&self, env: &Env) -> (String, Option<Iam>) {
        let endpoint = exchange_grpc::endpoint_in(env, self.api_domain.as_deref())
            .map_err(|e| format!("{e:#}"));
        let at = endpoint
            .as_deref()
            .unwrap_or("NEBIUS_TOKEN_EXCHANGE_GRPC (unusable, below)")
            .to_string();
        let detail = format!(
            "federation for {}: login reads the JWT in {} and exchanges it at {at} for an IAM token (user {})",
            self.service_account_id,
            self.path.display(),
            super::NEBIUS_USERNAME
        );
        (
            detail,
            Some(Iam::Grpc {
                endpoint,
                signs_here: false,
            }),
        )
    }

    fn obtain(&self, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted> {
        let endpoint = exchange_grpc::endpoint_in(env, self.api_domain.as_deref())?;
        exchange_grpc::mint(
            "the federated token exchange",
            &endpoint,
            ci,
            options,
            || Ok(federation_request(&self.service_account_id, &self.jwt(ci)?)),
        )
    }
}
