//! A profile's `token-file: PATH`: a file holding a ready IAM access token (written by another
//! process, e.g. a sidecar), read at each use as the SDKs re-read it, never cached by crlogin.

use super::{Iam, Minted, Obtain, Options, PasswordKind};
use crate::ci::Ci;
use crate::env::Env;
use crate::secret::{read_file, Secret};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::SystemTime;

/// The token in `path`, named `origin` in messages.
#[derive(Debug)]
pub struct TokenFile {
    /// The file.
    pub path: PathBuf,
    /// Where it was set ("profile ci in ~/.nebius/config.yaml: token-file"), for messages.
    pub origin: String,
}

impl Obtain for TokenFile {
    fn kind(&self) -> PasswordKind {
        PasswordKind::GivenToken
    }

    fn describe(&self, _env: &Env) -> (String, Option<Iam>) {
        let detail = format!(
            "an IAM token read from {} at each use, written as it is (user {}); its expiry is not known to crlogin",
            self.path.display(),
            super::NEBIUS_USERNAME
        );
        (detail, None)
    }

    fn obtain(&self, _env: &Env, ci: &dyn Ci, _options: &Options) -> Result<Minted> {
        let text = read_file(&self.path)
            .with_context(|| format!("{}: cannot read {}", self.origin, self.path.display()))?;
        let token = text.trim();
        if token.is_empty() {
            bail!(
                "{}: {} is empty: it should hold an IAM access token",
                self.origin,
                self.path.display()
            );
        }
        if token.contains(char::is_whitespace) {
            bail!(
                "{}: {} holds more than one line or word, which no access token does: check what writes it",
                self.origin,
                self.path.display()
            );
        }
        ci.mask(token);
        Ok(Minted {
            token: Secret::new(token.to_string()),
            issued_at: SystemTime::now(),
            expires_at: None,
        })
    }
}
