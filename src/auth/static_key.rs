//! `NEBIUS_STATIC_KEY` (or `_FILE`): a Container Registry static key, written as it is.

use super::iam_token::Given;
use super::{NebiusInput, PasswordKind, Source, Vars};
use anyhow::Result;

/// The source.
pub static SOURCE: StaticKey = StaticKey;

/// See the module documentation.
pub struct StaticKey;

const NAME: &str = "NEBIUS_STATIC_KEY";

impl Source for StaticKey {
    fn name(&self) -> &'static str {
        "static-key"
    }

    fn help(&self) -> &'static str {
        "NEBIUS_STATIC_KEY: a Container Registry static key"
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
                    kind: PasswordKind::StaticKey,
                }),
            )
        }))
    }
}
