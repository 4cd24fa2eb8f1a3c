//! Reading crlogin's inputs from the environment: secret values (from `NAME`, `NAME_FILE`, or a
//! path to a file the CI mounted), plain registry logins by prefix, and Nebius credentials.
//!
//! Every secret becomes a [`Secret`] the moment it is read and is handed to [`Ci::mask`] then.

use crate::ci::Ci;
use crate::env::Env;
use anyhow::{bail, Context, Result};
use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// Largest secret file crlogin reads; anything bigger is a wrong path, not a credential.
const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// A secret value: zeroed on drop, and shown as `***` by `Debug`. It has no `Display`: the only
/// way to the text is [`Secret::expose`], whose callers are the few places that must use it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value read from a trusted place (tests, token exchange responses).
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret text, for the auth-file writer, the verify request and similar.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A username/password registry login read from `PREFIX_USERNAME`, `PREFIX_PASSWORD`,
/// `PREFIX_REGISTRY`.
#[derive(Debug)]
pub struct PlainLogin {
    /// Where it came from, for the report ("DCR_*").
    pub source: String,
    /// The registry as given (may carry a path; the host is taken later).
    pub registry: String,
    /// The registry username.
    pub username: String,
    /// The registry password or token.
    pub password: Secret,
}

/// A Nebius credential found in the environment.
#[derive(Debug)]
pub enum NebiusInput {
    /// `NEBIUS_IAM_TOKEN`: a ready IAM access token.
    IamToken(Secret),
    /// `NEBIUS_STATIC_KEY`: a Container Registry static key.
    StaticKey(Secret),
}

/// Everything crlogin found to log in with.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Username/password registries, each with its own registry.
    pub plain: Vec<PlainLogin>,
    /// The Nebius credential, used for the selected Nebius (and `--registry`) hosts.
    pub nebius: Option<NebiusInput>,
}

impl Inputs {
    /// Whether no credential at all was found.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.nebius.is_none()
    }
}

/// The variables crlogin looks at when none is found, for the error message.
pub const LOOKED_FOR: &str = "NEBIUS_IAM_TOKEN, NEBIUS_STATIC_KEY, DCR_USERNAME/DCR_PASSWORD/DCR_REGISTRY, \
     CI_REGISTRY/CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab), or PREFIX_* with --from-env PREFIX";

/// Reads every input crlogin supports from `env`, masking each secret with `ci` as it is read.
pub fn gather(env: &Env, ci: &dyn Ci, from_env: &[String]) -> Result<Inputs> {
    let reader = Reader { env, ci };
    let mut inputs = Inputs::default();

    let mut prefixes: Vec<String> = Vec::new();
    for prefix in from_env {
        let prefix = prefix.trim().trim_end_matches('_').to_string();
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            bail!("--from-env {prefix:?} is not a variable prefix: use letters, digits and _, e.g. --from-env DCR");
        }
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    if !prefixes.iter().any(|p| p == "DCR") && reader.any_part_set("DCR") {
        prefixes.push("DCR".to_string());
    }
    for prefix in &prefixes {
        inputs.plain.push(reader.prefixed_login(prefix)?);
    }
    if env.is_true("GITLAB_CI") && reader.gitlab_registry_set() {
        inputs.plain.push(reader.gitlab_login()?);
    }

    let token = reader.secret("NEBIUS_IAM_TOKEN")?;
    let static_key = reader.secret("NEBIUS_STATIC_KEY")?;
    inputs.nebius = match (token, static_key) {
        (Some(token), _) => Some(NebiusInput::IamToken(token)),
        (None, Some(key)) => Some(NebiusInput::StaticKey(key)),
        (None, None) => None,
    };
    Ok(inputs)
}

struct Reader<'a> {
    env: &'a Env,
    ci: &'a dyn Ci,
}

impl Reader<'_> {
    fn any_part_set(&self, prefix: &str) -> bool {
        ["USERNAME", "PASSWORD", "REGISTRY"].iter().any(|part| {
            let name = format!("{prefix}_{part}");
            self.env.is_set(&name) || self.env.is_set(&format!("{name}_FILE"))
        })
    }

    fn gitlab_registry_set(&self) -> bool {
        ["CI_REGISTRY", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"]
            .iter()
            .all(|name| self.env.is_set(name))
    }

    fn prefixed_login(&self, prefix: &str) -> Result<PlainLogin> {
        let user_var = format!("{prefix}_USERNAME");
        let pass_var = format!("{prefix}_PASSWORD");
        let reg_var = format!("{prefix}_REGISTRY");
        let username = self.plain(&user_var)?;
        let password = self.secret(&pass_var)?;
        let registry = self.plain(&reg_var)?;
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
            (Some(username), Some(password), Some(registry)) => Ok(PlainLogin {
                source: format!("{prefix}_*"),
                registry,
                username: check_username(&user_var, username)?,
                password,
            }),
            _ => bail!(
                "{} not set: a {prefix} login needs {user_var}, {pass_var} and {reg_var} (or NAME_FILE for any of them)",
                missing.join(" and ")
            ),
        }
    }

    fn gitlab_login(&self) -> Result<PlainLogin> {
        let username = self.plain("CI_REGISTRY_USER")?.unwrap_or_default();
        Ok(PlainLogin {
            source: "CI_REGISTRY (GitLab)".to_string(),
            registry: self.plain("CI_REGISTRY")?.unwrap_or_default(),
            username: check_username("CI_REGISTRY_USER", username)?,
            password: self
                .secret("CI_REGISTRY_PASSWORD")?
                .context("CI_REGISTRY_PASSWORD is empty: GitLab sets it for every job; check the job's variables")?,
        })
    }

    /// A secret input, masked as soon as it is read.
    fn secret(&self, name: &str) -> Result<Option<Secret>> {
        let Some(value) = self.read(name)? else {
            return Ok(None);
        };
        self.ci.mask(&value);
        Ok(Some(Secret(value)))
    }

    /// A non-secret input (username, registry), read the same way as a secret.
    fn plain(&self, name: &str) -> Result<Option<String>> {
        Ok(self.read(name)?.map(|v| v.to_string()))
    }

    /// `NAME_FILE` (a path), else `NAME`, which may itself be the path of a file the CI mounted
    /// (GitLab "File" variables hold a path). Trailing newlines are dropped; an empty or blank
    /// value is an error.
    fn read(&self, name: &str) -> Result<Option<Zeroizing<String>>> {
        let file_var = format!("{name}_FILE");
        let value = match (self.env.path(&file_var), self.env.get(name)?) {
            (Some(_), Some(_)) => bail!("both {name} and {file_var} are set: set only one"),
            (Some(path), None) => read_file(&path)
                .with_context(|| format!("cannot read {file_var} ({})", path.display()))?,
            (None, Some(value)) if looks_like_mounted_file(&value) => {
                let path = Path::new(&value);
                read_file(path).with_context(|| format!("cannot read the file {name} names"))?
            }
            (None, Some(value)) => Zeroizing::new(value),
            (None, None) => return Ok(None),
        };
        let trimmed = value.trim_end_matches(['\n', '\r']);
        if trimmed.trim().is_empty() {
            bail!("{name} is empty or blank: set it to the value, or unset it");
        }
        Ok(Some(Zeroizing::new(trimmed.to_string())))
    }
}

/// A value is taken as a mounted file only when it is an absolute path to an existing file, so
/// an ordinary password is never mistaken for one.
fn looks_like_mounted_file(value: &str) -> bool {
    value.starts_with('/') && !value.contains('\n') && Path::new(value).is_file()
}

fn read_file(path: &Path) -> Result<Zeroizing<String>> {
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        bail!("larger than 1 MiB, which no credential is");
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => bail!("not UTF-8 text"),
    }
}

/// A username must fit in `user:password` basic auth and on one log line.
fn check_username(var: &str, username: String) -> Result<String> {
    if username.contains(':') || username.chars().any(char::is_control) {
        bail!("{var} contains ':' or a control character, which no registry username can: check its value");
    }
    Ok(username)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::detect;

    fn gather_from(pairs: &[(&str, &str)], from_env: &[&str]) -> Result<Inputs> {
        let env = Env::from_pairs(pairs);
        let ci = detect(&Env::default());
        let from_env: Vec<String> = from_env.iter().map(|s| s.to_string()).collect();
        gather(&env, ci.as_ref(), &from_env)
    }

    #[test]
    fn secret_debug_hides_value() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2".into())),
            "Secret(***)"
        );
    }

    #[test]
    fn dcr_is_auto_detected() {
        let inputs = gather_from(
            &[
                ("DCR_USERNAME", "u"),
                ("DCR_PASSWORD", "p\n"),
                ("DCR_REGISTRY", "dcr.example/ns"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(inputs.plain.len(), 1);
        assert_eq!(inputs.plain[0].password.expose(), "p");
        assert_eq!(inputs.plain[0].registry, "dcr.example/ns");
    }

    #[test]
    fn partial_prefix_names_the_missing_variables() {
        let err = gather_from(&[("DCR_USERNAME", "u")], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DCR_PASSWORD and DCR_REGISTRY not set"),
            "{err}"
        );
    }

    #[test]
    fn both_value_and_file_is_an_error() {
        let err = gather_from(
            &[("NEBIUS_STATIC_KEY", "k"), ("NEBIUS_STATIC_KEY_FILE", "/x")],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("set only one"), "{err}");
    }

    #[test]
    fn blank_secret_is_an_error() {
        let err = gather_from(&[("NEBIUS_IAM_TOKEN", "  \n")], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("NEBIUS_IAM_TOKEN is empty"), "{err}");
    }

    #[test]
    fn iam_token_wins_over_static_key() {
        let inputs = gather_from(
            &[("NEBIUS_IAM_TOKEN", "t"), ("NEBIUS_STATIC_KEY", "k")],
            &[],
        )
        .unwrap();
        assert!(matches!(inputs.nebius, Some(NebiusInput::IamToken(_))));
    }

    #[test]
    fn mounted_file_value_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-file\n").unwrap();
        let inputs = gather_from(&[("NEBIUS_STATIC_KEY", path.to_str().unwrap())], &[]).unwrap();
        match inputs.nebius {
            Some(NebiusInput::StaticKey(s)) => assert_eq!(s.expose(), "from-file"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gitlab_registry_only_in_gitlab() {
        let vars = [
            ("CI_REGISTRY", "registry.gitlab.example"),
            ("CI_REGISTRY_USER", "gitlab-ci-token"),
            ("CI_REGISTRY_PASSWORD", "job-token"),
        ];
        assert!(gather_from(&vars, &[]).unwrap().is_empty());
        let mut in_gitlab = vars.to_vec();
        in_gitlab.push(("GITLAB_CI", "true"));
        assert_eq!(gather_from(&in_gitlab, &[]).unwrap().plain.len(), 1);
    }

    #[test]
    fn username_with_colon_is_rejected() {
        let err = gather_from(
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
