//! `NEBIUS_IAM_TOKEN` (or `_FILE`): a ready IAM access token, written as it is. [`GivenSource`]
//! and [`Given`] also serve the static key, which is used the same way.

use super::{Iam, Minted, NebiusInput, Obtain, Options, PasswordKind, Source, Vars};
use crate::ci::Ci;
use crate::env::Env;
use crate::secret::Secret;
use anyhow::Result;
use std::time::SystemTime;

/// The source.
pub static SOURCE: GivenSource = GivenSource {
    name: "iam-token",
    help: "NEBIUS_IAM_TOKEN: a ready IAM access token",
    variable: "NEBIUS_IAM_TOKEN",
    kind: PasswordKind::GivenToken,
};

/// A source that is one secret variable whose value is the password as it is: this one and
/// the static key (`static_key.rs`).
pub struct GivenSource {
    /// Its `--auth` name.
    pub name: &'static str,
    /// Its line in `--auth`'s help.
    pub help: &'static str,
    /// The variable it reads (with `_FILE` and mounted files).
    pub variable: &'static str,
    /// What the password is.
    pub kind: PasswordKind,
}

impl Source for GivenSource {
    fn name(&self) -> &'static str {
        self.name
    }

    fn help(&self) -> &'static str {
        self.help
    }

    fn needs(&self) -> &'static str {
        self.variable
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.is_set(self.variable)
    }

    fn find(&self, vars: &Vars, _forced: bool) -> Result<Option<NebiusInput>> {
        Ok(vars.token(self.variable)?.map(|token| {
            NebiusInput::new(
                vars.origin(self.variable),
                Box::new(Given {
                    token,
                    kind: self.kind,
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
            PasswordKind::Password => "a password, written as it is".to_string(),
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
