//! `NEBIUS_SERVICE_ACCOUNT_ID`, `NEBIUS_PUBLIC_KEY_ID` and `NEBIUS_PRIVATE_KEY` (PEM, or a path
//! to it; also `_FILE`): a service-account authorized key in parts, exchanged for an IAM token.

use super::authorized_key::{self, AuthorizedKey};
use super::{NebiusInput, Source, Vars};
use anyhow::{bail, Result};

/// The source.
pub static SOURCE: SaKey = SaKey;

/// See the module documentation.
pub struct SaKey;

const SA: &str = "NEBIUS_SERVICE_ACCOUNT_ID";
const KID: &str = "NEBIUS_PUBLIC_KEY_ID";
const KEY: &str = "NEBIUS_PRIVATE_KEY";

impl Source for SaKey {
    fn name(&self) -> &'static str {
        "sa-key"
    }

    fn help(&self) -> &'static str {
        "NEBIUS_SERVICE_ACCOUNT_ID, NEBIUS_PUBLIC_KEY_ID and NEBIUS_PRIVATE_KEY"
    }

    fn needs(&self) -> &'static str {
        "NEBIUS_SERVICE_ACCOUNT_ID, NEBIUS_PUBLIC_KEY_ID and NEBIUS_PRIVATE_KEY (or NEBIUS_PRIVATE_KEY_FILE)"
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.is_set(SA) || vars.is_set(KEY)
    }

    /// All three, or neither of the last two (unless `forced`): a service-account id alone is
    /// no key (keyless federation also names one).
    fn find(&self, vars: &Vars, forced: bool) -> Result<Option<NebiusInput>> {
        let service_account_id = vars.plain(SA)?;
        let public_key_id = vars.plain(KID)?;
        let private_key =
            vars.secret_text(KEY, authorized_key::looks_like_pem, "PEM private key")?;
        let missing: Vec<&str> = [
            (service_account_id.is_none(), SA),
            (public_key_id.is_none(), KID),
            (private_key.is_none(), KEY),
        ]
        .into_iter()
        .filter_map(|(absent, name)| absent.then_some(name))
        .collect();
        match (service_account_id, public_key_id, private_key) {
            (None, None, None) => Ok(None),
            (_, None, None) if !forced => Ok(None),
            (Some(sa), Some(kid), Some(pem)) => {
                let origins = [SA.to_string(), KID.to_string(), vars.origin(KEY)];
                let key = AuthorizedKey::from_parts(
                    sa.trim(),
                    kid.trim(),
                    &pem,
                    [&origins[0], &origins[1], &origins[2]],
                    vars.ci(),
                )?;
                Ok(Some(NebiusInput::new(format!("{SA}+{KID}"), Box::new(key))))
            }
            _ => bail!(
                "{} not set: a service-account key in parts needs {SA}, {KID} and {KEY} (or {KEY}_FILE)",
                missing.join(" and ")
            ),
        }
    }
}
