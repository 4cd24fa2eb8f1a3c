//! `PREFIX_USERNAME`, `PREFIX_PASSWORD`, `PREFIX_REGISTRY` (each also as `NAME_FILE`): a
//! username/password login for one registry, for each `--from-env PREFIX` and for `DCR_*`
//! (read without asking whenever any `DCR_*` is set).

use super::{Found, Kind, PasswordKind, Scope, Source, Vars};
use anyhow::{bail, Result};

/// The source.
pub static SOURCE: Prefixed = Prefixed;

/// See the module documentation.
pub struct Prefixed;

impl Source for Prefixed {
    fn name(&self) -> &'static str {
        "env-prefix"
    }

    fn help(&self) -> &'static str {
        "DCR_* and PREFIX_* (--from-env PREFIX): a username/password registry login"
    }

    fn needs(&self) -> &'static str {
        "DCR_USERNAME/DCR_PASSWORD/DCR_REGISTRY"
    }

    fn kind(&self) -> Kind {
        Kind::Registry
    }

    fn configured(&self, vars: &Vars) -> bool {
        prefixes(vars).is_ok_and(|p| !p.is_empty())
    }

    fn registries(&self, vars: &Vars) -> Result<Vec<String>> {
        let mut registries = Vec::new();
        for prefix in prefixes(vars)? {
            let var = format!("{prefix}_REGISTRY");
            match vars.plain(&var)? {
                Some(registry) => registries.push(vars.check_registry_file(&var, registry)?),
                None => bail!("{var} is not set: logout needs the registry login used"),
            }
        }
        Ok(registries)
    }

    /// The first prefix's login; [`Source::find_all`] gives every one.
    fn find(&self, vars: &Vars, forced: bool) -> Result<Option<Found>> {
        Ok(self.find_all(vars, forced)?.into_iter().next())
    }

    fn find_all(&self, vars: &Vars, _forced: bool) -> Result<Vec<Found>> {
        prefixes(vars)?
            .iter()
            .map(|prefix| login(vars, prefix))
            .collect()
    }
}

/// The prefixes to read: `--from-env` ones (checked), then `DCR` when any `DCR_*` is set.
fn prefixes(vars: &Vars) -> Result<Vec<String>> {
    let mut prefixes: Vec<String> = Vec::new();
    for prefix in vars.prefixes() {
        let prefix = prefix.trim().trim_end_matches('_').to_string();
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            bail!(
                "--from-env {} is not a variable prefix: use letters, digits and _, e.g. --from-env DCR",
                crate::ci::quoted(&prefix)
            );
        }
        if !prefixes.contains(&prefix) {
            crate::child::used(&format!("{prefix}_PASSWORD"));
            prefixes.push(prefix);
        }
    }
    let dcr_set = ["USERNAME", "PASSWORD", "REGISTRY"]
        .iter()
        .any(|part| vars.is_set(&format!("DCR_{part}")));
    if !prefixes.iter().any(|p| p == "DCR") && dcr_set {
        prefixes.push("DCR".to_string());
    }
    Ok(prefixes)
}

fn login(vars: &Vars, prefix: &str) -> Result<Found> {
    let user_var = format!("{prefix}_USERNAME");
    let pass_var = format!("{prefix}_PASSWORD");
    let reg_var = format!("{prefix}_REGISTRY");
    let username = vars.plain(&user_var)?;
    let password = vars.secret(&pass_var)?;
    let registry = vars.plain(&reg_var)?;
    let missing: Vec<&str> = [
        (username.is_none(), user_var.as_str()),
        (password.is_none(), pass_var.as_str()),
        (registry.is_none(), reg_var.as_str()),
    ]
    .iter()
    .filter(|(absent, _)| *absent)
    .map(|(_, name)| *name)
    .collect();
    match (username, password, registry) {
        (Some(username), Some(password), Some(registry)) => Ok(Found::login(
            format!("{prefix}_*"),
            Scope::Registry(vars.check_registry_file(&reg_var, registry)?),
            vars.username(&user_var, username)?,
            password,
            PasswordKind::Password,
        )),
        _ => bail!(
            "{} not set: a {prefix} login needs {user_var}, {pass_var} and {reg_var} (or NAME_FILE for any of them)",
            missing.join(" and ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_in;

    #[test]
    fn dcr_is_auto_detected() {
        let plain = found_in(
            &[
                ("DCR_USERNAME", "u"),
                ("DCR_PASSWORD", "p\n"),
                ("DCR_REGISTRY", "dcr.example/ns"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(super::super::tests::password(&plain[0]), "p");
        assert_eq!(
            plain[0].scope,
            super::Scope::Registry("dcr.example/ns".into())
        );
    }

    #[test]
    fn partial_prefix_names_the_missing_variables() {
        let err = found_in(&[("DCR_USERNAME", "u")], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DCR_PASSWORD and DCR_REGISTRY not set"),
            "{err}"
        );
    }

    #[test]
    fn username_with_colon_is_rejected() {
        let err = found_in(
            &[
                ("X_USERNAME", "a:b"),
                ("X_PASSWORD", "p"),
                ("X_REGISTRY", "r.example"),
            ],
            &["X"],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("X_USERNAME contains ':'"), "{err}");
    }
}
