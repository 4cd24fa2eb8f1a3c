//! A Nebius CLI profile (`~/.nebius/config.yaml`), read the way the Nebius SDKs read it:
//! `NEBIUS_PROFILE`, else the file's `default`, else its only profile; then `token-file`, else
//! `auth-type: service account` with `service-account-id` and
//! `federated-subject-credentials-file-path` (keyless), else
//! `service-account-credentials-file-path`, else `service-account-id` and `public-key-id` with
//! `private-key` (inline PEM) or `private-key-file-path`. `impersonate-service-account-id` and
//! `endpoint:` apply to whichever is used.

use super::authorized_key::AuthorizedKey;
use crate::ci::Ci;
use crate::env::Env;
use crate::secret::read_file;
use anyhow::{anyhow, bail, Context, Result};
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Where the Nebius CLI keeps its profiles, under `$HOME`.
pub const CONFIG_FILE: &str = ".nebius/config.yaml";
const SHOWN: &str = "~/.nebius/config.yaml";

/// The source: a profile in `~/.nebius/config.yaml`.
pub static SOURCE: ProfileSource = ProfileSource;

/// See [`SOURCE`].
pub struct ProfileSource;

impl super::Source for ProfileSource {
    fn name(&self) -> &'static str {
        "profile"
    }

    fn help(&self) -> &'static str {
        "a service-account profile in ~/.nebius/config.yaml"
    }

    fn needs(&self) -> &'static str {
        "a service-account profile in ~/.nebius/config.yaml"
    }

    fn configured(&self, _vars: &super::Vars) -> bool {
        false
    }

    fn find(&self, vars: &super::Vars, forced: bool) -> Result<Option<super::NebiusInput>> {
        read(vars.env(), vars.ci(), forced)
    }
}

/// The service-account key of the selected profile.
///
/// With `required` false (the profile is only the last fallback), a missing file, no selectable
/// profile or a profile of another auth type is `None`; with `required` (`--auth profile`) each
/// is an error that says what to fix. A selected service-account profile that is incomplete is
/// an error either way.
pub fn read(env: &Env, ci: &dyn Ci, required: bool) -> Result<Option<super::NebiusInput>> {
    let skip = |e: anyhow::Error| if required { Err(e) } else { Ok(None) };
    let home = match crate::os::paths::home(env, crate::os::Os::CURRENT) {
        Ok(home) => home,
        Err(e) => return skip(e),
    };
    let path = home.join(CONFIG_FILE);
    if !path.is_file() {
        return skip(anyhow!("{SHOWN} does not exist: create a service-account profile with `nebius profile create`, or choose another --auth source"));
    }
    let text = read_file(&path).with_context(|| format!("cannot read {SHOWN}"))?;
    // Parsed into a Value: serde_yaml's syntax errors are quoted with their location only.
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| match e.location() {
        Some(at) => anyhow!(
            "{SHOWN} is not valid YAML (line {}, column {}): fix it, or recreate the profile with `nebius profile create`",
            at.line(),
            at.column()
        ),
        None => anyhow!("{SHOWN} is not valid YAML: fix it, or recreate the profile with `nebius profile create`"),
    })?;
    let Some(profiles) = doc.get("profiles").and_then(Value::as_mapping) else {
        return skip(anyhow!(
            "{SHOWN} has no profiles: create one with `nebius profile create`"
        ));
    };
    let name = match select(env, &doc, profiles)? {
        Ok(name) => name,
        Err(e) => return skip(e),
    };
    // The name is shown in the report and in messages, one line each.
    if name.contains(char::is_control) {
        bail!(
            "the profile name {} holds a line break or another control character: rename the profile in {SHOWN}",
            crate::ci::quoted(&name)
        );
    }
    let Some(profile) = profiles.get(name.as_str()).and_then(Value::as_mapping) else {
        bail!(
            "profile {} is not in {SHOWN}: its profiles are {}",
            crate::ci::quoted(&name),
            names(profiles)
        );
    };
    let origin = format!("profile {name} in {SHOWN}");
    let field = |key: &str| text_field(profile, key, &origin);
    let api_domain = field("endpoint")?.map(str::to_string);
    let Some(credential) = credential(profile, &origin, &home, ci, required, api_domain.clone())?
    else {
        return Ok(None);
    };
    let mut input = super::NebiusInput::new(format!("profile {name}"), credential);
    input.impersonate = field("impersonate-service-account-id")?.map(|target| {
        (
            target.to_string(),
            format!("{origin}: impersonate-service-account-id"),
        )
    });
    input.api_domain = api_domain;
    Ok(Some(input))
}

/// The selected profile's credential, in the SDK's order: `token-file`, `token-endpoint`, then
/// `auth-type: service account` with a JWT file (keyless), a credentials file, or a key in
/// parts. `skip` turns "not usable as a fallback" into `None` unless the profile is required.
/// `api_domain` (the profile's `endpoint:`) goes to the credentials that exchange.
fn credential(
    profile: &Mapping,
    origin: &str,
    home: &Path,
    ci: &dyn Ci,
    required: bool,
    api_domain: Option<String>,
) -> Result<Option<Box<dyn super::Obtain>>> {
    let field = |key: &str| text_field(profile, key, origin);
    let not_usable = |e: anyhow::Error| if required { Err(e) } else { Ok(None) };
    // As the SDK: the key's presence decides, even when its value is empty.
    if profile.contains_key("token-file") {
        let Some(file) = field("token-file")? else {
            bail!("{origin}: token-file is empty: set it to the path of the file holding an IAM token, or remove it");
        };
        return Ok(Some(Box::new(super::token_file::TokenFile {
            path: expand_home(file, home),
            origin: format!("{origin}: token-file"),
        })));
    }
    if let Some(url) = field("token-endpoint")? {
        let origin = format!("{origin}: token-endpoint");
        return Ok(Some(Box::new(super::token_endpoint::TokenEndpoint::new(
            url, &origin,
        )?)));
    }
    match field("auth-type")? {
        Some("service account") => {}
        other => {
            return not_usable(anyhow!(
                "{origin} has auth-type {}: crlogin needs auth-type \"service account\" (federation logins are interactive)",
                other.map_or("unset".to_string(), super::authorized_key::shown)
            ))
        }
    }
    let service_account_id = field("service-account-id")?;
    let public_key_id = field("public-key-id")?;
    let inline = field("private-key")?;
    let key_file = field("private-key-file-path")?;
    let credentials_file = field("service-account-credentials-file-path")?;

    if let (Some(sa), Some(jwt_file), None, None, None, None) = (
        service_account_id,
        field("federated-subject-credentials-file-path")?,
        public_key_id,
        inline,
        key_file,
        credentials_file,
    ) {
        super::oidc::check_service_account_id(sa)
            .with_context(|| format!("{origin}: service-account-id"))?;
        return Ok(Some(Box::new(super::federated_file::FederatedFile {
            service_account_id: sa.to_string(),
            path: expand_home(jwt_file, home),
            origin: format!("{origin}: federated-subject-credentials-file-path"),
            api_domain,
        })));
    }

    if let Some(file) = credentials_file {
        // The SDK refuses this mix rather than guess which account is meant.
        if service_account_id.is_some() || public_key_id.is_some() {
            bail!("{origin} names service-account-credentials-file-path and also service-account-id or public-key-id: keep only the credentials file (it holds both ids), as the Nebius SDK requires");
        }
        let file = expand_home(file, home);
        let json = read_file(&file).with_context(|| {
            format!(
                "{origin}: cannot read service-account-credentials-file-path {}",
                file.display()
            )
        })?;
        let mut key =
            AuthorizedKey::from_json(&json, &format!("{origin}: {}", file.display()), ci)?;
        key.api_domain = api_domain;
        return Ok(Some(Box::new(key)));
    }

    let missing: Vec<&str> = [
        (service_account_id.is_none(), "service-account-id"),
        (public_key_id.is_none(), "public-key-id"),
        (
            inline.is_none() && key_file.is_none(),
            "private-key-file-path (or private-key)",
        ),
    ]
    .into_iter()
    .filter_map(|(absent, key)| absent.then_some(key))
    .collect();
    let (Some(service_account_id), Some(public_key_id), false) =
        (service_account_id, public_key_id, !missing.is_empty())
    else {
        bail!(
            "{origin} lacks {}: a service-account profile needs service-account-credentials-file-path, or service-account-id, public-key-id and private-key-file-path, or service-account-id and federated-subject-credentials-file-path",
            missing.join(" and ")
        );
    };
    let (pem, key_origin) = match (inline, key_file) {
        (Some(pem), _) => (
            zeroize::Zeroizing::new(pem.to_string()),
            format!("{origin}: private-key"),
        ),
        (None, Some(file)) => {
            let file = expand_home(file, home);
            let pem = read_file(&file).with_context(|| {
                format!(
                    "{origin}: cannot read private-key-file-path {}",
                    file.display()
                )
            })?;
            (pem, format!("{origin}: {}", file.display()))
        }
        (None, None) => unreachable!("checked as missing above"),
    };
    let mut key = AuthorizedKey::from_parts(
        service_account_id,
        public_key_id,
        &pem,
        [
            &format!("{origin}: service-account-id"),
            &format!("{origin}: public-key-id"),
            &key_origin,
        ],
        ci,
    )?;
    key.api_domain = api_domain;
    Ok(Some(Box::new(key)))
}

/// The profile's name: `NEBIUS_PROFILE`, else `default`, else the only profile. The outer error
/// is a broken environment; the inner one means no profile could be chosen.
fn select(env: &Env, doc: &Value, profiles: &Mapping) -> Result<Result<String>> {
    if let Some(name) = env.get("NEBIUS_PROFILE")? {
        return Ok(Ok(name));
    }
    if let Some(name) = doc.get("default").and_then(Value::as_str) {
        return Ok(Ok(name.to_string()));
    }
    let mut keys = profiles.keys().filter_map(Value::as_str);
    Ok(match (keys.next(), keys.next()) {
        (Some(only), None) => Ok(only.to_string()),
        _ => Err(anyhow!(
            "{SHOWN} has several profiles and no default: set NEBIUS_PROFILE to one of {}",
            names(profiles)
        )),
    })
}

fn names(profiles: &Mapping) -> String {
    profiles
        .keys()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string field; absent or blank is `None`, any other non-string an error (never quoted).
fn text_field<'a>(profile: &'a Mapping, key: &str, origin: &str) -> Result<Option<&'a str>> {
    match profile.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => bail!("{origin}: {key} is not a string: fix it in the file"),
    }
}

/// `~/x` under `home`; other paths as they are.
fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::detect;

    fn read_with(yaml: &str, pairs: &[(&str, &str)], required: bool) -> Result<Option<String>> {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".nebius")).unwrap();
        std::fs::write(home.path().join(CONFIG_FILE), yaml).unwrap();
        let mut vars = vec![(
            crate::os::paths::home_var(crate::os::Os::CURRENT),
            home.path().to_str().unwrap(),
        )];
        vars.extend_from_slice(pairs);
        let env = Env::from_pairs(&vars);
        let ci = detect(&Env::default());
        read(&env, ci.as_ref(), required).map(|found| found.map(|input| input.source))
    }

    #[test]
    fn other_auth_types_are_skipped_unless_required() {
        let yaml = "default: me\nprofiles:\n  me:\n    auth-type: federation\n";
        assert!(read_with(yaml, &[], false).unwrap().is_none());
        let err = read_with(yaml, &[], true).unwrap_err().to_string();
        assert!(err.contains("auth-type \"federation\""), "{err}");
    }

    #[test]
    fn selection_needs_a_default_or_a_single_profile() {
        let yaml = "profiles:\n  a: {auth-type: federation}\n  b: {auth-type: federation}\n";
        assert!(read_with(yaml, &[], false).unwrap().is_none());
        let err = read_with(yaml, &[], true).unwrap_err().to_string();
        assert!(err.contains("set NEBIUS_PROFILE to one of a, b"), "{err}");
        let err = read_with(yaml, &[("NEBIUS_PROFILE", "c")], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("profile \"c\" is not in"), "{err}");
    }

    #[test]
    fn an_incomplete_service_account_profile_names_what_is_missing() {
        let yaml = "profiles:\n  ci:\n    auth-type: service account\n    service-account-id: serviceaccount-1\n";
        let err = read_with(yaml, &[], false).unwrap_err().to_string();
        assert!(
            err.contains("lacks public-key-id and private-key-file-path (or private-key)"),
            "{err}"
        );
        let yaml =
            "profiles:\n  ci:\n    auth-type: service account\n    service-account-id: [x]\n";
        let err = read_with(yaml, &[], false).unwrap_err().to_string();
        assert!(err.contains("service-account-id is not a string"), "{err}");
    }

    #[test]
    fn broken_yaml_is_located_not_quoted() {
        let err = read_with("profiles:\n  a: [MIIsecret\n", &[], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not valid YAML (line"), "{err}");
        assert!(!err.contains("MIIsecret"), "{err}");
    }

    #[test]
    fn missing_file_is_only_an_error_when_required() {
        let env = Env::from_pairs(&[(
            crate::os::paths::home_var(crate::os::Os::CURRENT),
            "/nonexistent-crlogin-home",
        )]);
        let ci = detect(&Env::default());
        assert!(read(&env, ci.as_ref(), false).unwrap().is_none());
        assert!(read(&env, ci.as_ref(), true).is_err());
    }
}
