//! `NEBIUS_IAM_TOKEN` (or `_FILE`): a ready IAM access token, written as it is. [`Given`] also
//! serves the static key, which is used the same way.

use super::{Iam, Minted, NebiusInput, Obtain, Options, PasswordKind, Source, Vars};
use crate::ci::Ci;
use crate::env::Env;
use crate::secrets::Secret;
use anyhow::Result;
use std::time::SystemTime;

/// The source.
pub static SOURCE: IamToken = IamToken;

/// See the module documentation.
pub struct IamToken;

const NAME: &str = "NEBIUS_IAM_TOKEN";

impl Source for IamToken {
    fn name(&self) -> &'static str {
        "iam-token"
    }

    fn help(&self) -> &'static str {
        "NEBIUS_IAM_TOKEN: a ready IAM access token"
    }

    fn needs(&self) -> &'static str {
        NAME
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.is_set(NAME)
    }

    fn find(&self, vars: &Vars, _forced: bool) -> Result<Option<NebiusInput>> {
        Ok(vars.token(NAME)?.map(|token| {
            NebiusInput::new(
                vars.origin(NAME),
                Box::new(Given {
                    token,
                    kind: PasswordKind::GivenToken,
                }),
            )
        }))
    }
}

/// A password used as it is: a ready token, or a static key.
#[derive(Debug)]
pub struct Given {
    /// The password, masked when it was read.
    pub token: Secret,
    /// Which of the two it is.
    pub kind: PasswordKind,
}

impl Obtain for Given {
    fn kind(&self) -> PasswordKind {
        self.kind
    }

    fn describe(&self, _env: &Env) -> (String, Option<Iam>) {
        let user = super::NEBIUS_USERNAME;
        let detail = match self.kind {
            PasswordKind::StaticKey => {
                format!("a Container Registry static key, written as it is (user {user})")
            }
            _ => format!(
                "a ready IAM token, written as it is (user {user}); its expiry is not known to crlogin"
            ),
        };
        (detail, None)
    }

    fn obtain(&self, _env: &Env, _ci: &dyn Ci, _options: &Options) -> Result<Minted> {
        Ok(Minted {
            token: Secret::new(self.token.expose().to_string()),
            issued_at: SystemTime::now(),
            expires_at: None,
        })
    }
}
