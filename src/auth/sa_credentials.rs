//! `NEBIUS_SA_CREDENTIALS` (or `_FILE`, or a path to the file): the credentials JSON of a
//! service-account authorized key, exchanged for an IAM token.

use super::authorized_key::AuthorizedKey;
use super::{NebiusInput, Source, Vars};
use anyhow::Result;

/// The source.
pub static SOURCE: SaCredentials = SaCredentials;

/// See the module documentation.
pub struct SaCredentials;

const NAME: &str = "NEBIUS_SA_CREDENTIALS";

impl Source for SaCredentials {
    fn name(&self) -> &'static str {
        "sa-credentials"
    }

    fn help(&self) -> &'static str {
        "NEBIUS_SA_CREDENTIALS (or _FILE): the authorized key's credentials JSON"
    }

    fn needs(&self) -> &'static str {
        "NEBIUS_SA_CREDENTIALS (or NEBIUS_SA_CREDENTIALS_FILE)"
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.is_set(NAME)
    }

    fn find(&self, vars: &Vars, _forced: bool) -> Result<Option<NebiusInput>> {
        let Some(json) = vars.secret_text(
            NAME,
            |v| v.trim_start().starts_with('{'),
            "credentials JSON",
        )?
        else {
            return Ok(None);
        };
        let source = vars.origin(NAME);
        // The JSON is not masked whole (GitHub masks line by line, and a pretty-printed file's
        // `{` lines would hide every brace in the log): its secret, the private key, is.
        let key = AuthorizedKey::from_json(&json, &source, vars.ci())?;
        Ok(Some(NebiusInput::new(source, Box::new(key))))
    }
}
