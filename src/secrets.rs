//! Reading crlogin's inputs from the environment: secret values (from `NAME`, `NAME_FILE`, or a
//! path to a file the CI mounted), plain registry logins by prefix, and Nebius credentials.
//!
//! Every secret becomes a [`Secret`] the moment it is read and is handed to [`Ci::mask`] then.
//! Nothing here parses a Nebius credential: `auth`'s sources read raw values through [`Vars`]
//! and parse them themselves.

use crate::ci::Ci;
use crate::env::Env;
use anyhow::{bail, Context, Result};
use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// Largest secret file crlogin reads; anything bigger is a wrong path, not a credential.
const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// Longest username accepted: registries allow far less (Docker Hub 30, Harbor robot accounts a
/// few hundred).
const MAX_USERNAME: usize = 1024;

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
    /// Whether the username was read from a `_FILE`: then it is never shown (the file could be
    /// anything), and the report says where it came from instead.
    pub username_from_file: bool,
    /// The registry password or token.
    pub password: Secret,
}

/// What the report shows for a username read from a file.
pub const USERNAME_FROM_FILE: &str = "(read from a file)";

/// Everything crlogin found to log in with.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Username/password registries, each with its own registry.
    pub plain: Vec<PlainLogin>,
    /// The Nebius credential, used for the selected Nebius (and `--registry`) hosts: found and
    /// parsed by `auth`, from raw values read through [`Vars`].
    pub nebius: Option<crate::auth::NebiusInput>,
}

impl Inputs {
    /// Whether no credential at all was found.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.nebius.is_none()
    }
}

/// The plain (username/password) variables crlogin looks at, for "nothing found" errors; the
/// Nebius ones come from each `auth` source.
pub const PLAIN_LOOKED_FOR: &str = "DCR_USERNAME/DCR_PASSWORD/DCR_REGISTRY, \
     CI_REGISTRY/CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab), PREFIX_* with --from-env PREFIX";

/// The username/password logins in `env`: `--from-env` prefixes, `DCR_*`, and GitLab's
/// `CI_REGISTRY*` inside GitLab. Secrets are masked with `ci` as they are read.
pub fn plain_logins(env: &Env, ci: &dyn Ci, from_env: &[String]) -> Result<Vec<PlainLogin>> {
    let reader = Vars { env, ci };
    let mut plain = Vec::new();
    for prefix in &prefixes(&reader, from_env)? {
        plain.push(reader.prefixed_login(prefix)?);
    }
    if env.is_true("GITLAB_CI") && reader.gitlab_registry_set() {
        plain.push(reader.gitlab_login()?);
    }
    Ok(plain)
}

/// The prefixes to read: `--from-env` ones (checked), then `DCR` when any `DCR_*` is set.
fn prefixes(reader: &Vars, from_env: &[String]) -> Result<Vec<String>> {
    let mut prefixes: Vec<String> = Vec::new();
    for prefix in from_env {
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
    if !prefixes.iter().any(|p| p == "DCR") && reader.any_part_set("DCR") {
        prefixes.push("DCR".to_string());
    }
    Ok(prefixes)
}

/// What `logout` needs, read without touching a secret: the registries of the username/password
/// logins (each prefix's `PREFIX_REGISTRY`, GitLab's `CI_REGISTRY`).
pub fn registries_only(env: &Env, ci: &dyn Ci, from_env: &[String]) -> Result<Vec<String>> {
    let reader = Vars { env, ci };
    let mut registries = Vec::new();
    for prefix in prefixes(&reader, from_env)? {
        let var = format!("{prefix}_REGISTRY");
        match reader.plain(&var)? {
            Some(registry) => registries.push(reader.check_registry_file(&var, registry)?),
            None => bail!("{var} is not set: logout needs the registry login used"),
        }
    }
    if env.is_true("GITLAB_CI") {
        if let Some(registry) = reader.plain("CI_REGISTRY")? {
            registries.push(reader.check_registry_file("CI_REGISTRY", registry)?);
        }
    }
    Ok(registries)
}

/// Raw inputs from the environment: what `auth`'s sources read their credentials through.
/// A secret is `NAME`, `NAME_FILE` (a path), or a `NAME` that is the path of a file the CI
/// mounted; every secret is masked the moment it is read. Nothing here parses a credential.
pub struct Vars<'a> {
    env: &'a Env,
    ci: &'a dyn Ci,
}

impl<'a> Vars<'a> {
    /// Reads from `env`, masking secrets with `ci`.
    pub fn new(env: &'a Env, ci: &'a dyn Ci) -> Self {
        Self { env, ci }
    }

    /// The environment, for settings that are neither secrets nor credentials.
    pub fn env(&self) -> &'a Env {
        self.env
    }

    /// The CI, to mask what a source derives from a raw value (a key's PEM body, a token).
    pub fn ci(&self) -> &'a dyn Ci {
        self.ci
    }

    /// Whether `name` or `name_FILE` is set (nothing is read).
    pub fn is_set(&self, name: &str) -> bool {
        self.env.is_set(name) || self.env.is_set(&format!("{name}_FILE"))
    }

    /// `NAME` (or `NAME_FILE`) as read; `NAME_FILE` when that is the one set, for messages.
    pub fn origin(&self, name: &str) -> String {
        let file_var = format!("{name}_FILE");
        if self.env.is_set(&file_var) {
            file_var
        } else {
            name.to_string()
        }
    }

    /// A secret that is given inline (`is_inline`) or as a path, relative or absolute, to a file
    /// holding it. Not masked here: the caller masks the secret part once it has parsed it.
    pub fn secret_text(
        &self,
        name: &str,
        is_inline: fn(&str) -> bool,
        what: &str,
    ) -> Result<Option<Zeroizing<String>>> {
        let Some(value) = self.read(name, true)? else {
            return Ok(None);
        };
        if is_inline(&value) {
            return Ok(Some(value));
        }
        let one_word = !value.trim().contains(char::is_whitespace);
        let path = Path::new(value.trim());
        if one_word && path.is_file() {
            let text =
                read_file(path).with_context(|| format!("cannot read the file {name} names"))?;
            return Ok(Some(text));
        }
        if one_word && value.len() < 4096 && value.contains(['/', '.']) {
            bail!("{name} is neither a {what} nor the path of an existing file: set it to the {what}, or to its path");
        }
        // Anything else is a damaged value: the parser says what is wrong with it.
        Ok(Some(value))
    }

    /// Whether `name` was read from `name_FILE`.
    pub fn read_from_file(&self, name: &str) -> bool {
        self.env.is_set(&format!("{name}_FILE"))
    }

    /// A registry read from `name_FILE` must parse as one before anything quotes it: the file
    /// could hold a token (`ghs_...`, `robot:pw@host`), and its content is never shown, so every
    /// way it can fail gets one message.
    fn check_registry_file(&self, name: &str, registry: String) -> Result<String> {
        // A namespace after the host is lower-case (docker's repository grammar); a token's
        // base64 after a '/' is not.
        let path = registry.trim().split_once('/').map_or("", |(_, path)| path);
        let namespace_like =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b);
        if self.read_from_file(name)
            && (registry.len() > 512
                || crate::registry::parse_registry(&registry).is_err()
                || !path.bytes().all(namespace_like))
        {
            bail!("{name}_FILE does not hold a registry host (its content is not shown): put only the host, e.g. registry.example.com, in the file");
        }
        Ok(registry)
    }

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
                registry: self.check_registry_file(&reg_var, registry)?,
                username: check_username(&user_var, username)?,
                username_from_file: self.read_from_file(&user_var),
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
            registry: self.check_registry_file(
                "CI_REGISTRY",
                self.plain("CI_REGISTRY")?.unwrap_or_default(),
            )?,
            username: check_username("CI_REGISTRY_USER", username)?,
            username_from_file: self.read_from_file("CI_REGISTRY_USER"),
            password: self
                .secret("CI_REGISTRY_PASSWORD")?
                .context("CI_REGISTRY_PASSWORD is empty: GitLab sets it for every job; check the job's variables")?,
        })
    }

    /// A secret input, masked as soon as it is read.
    pub fn secret(&self, name: &str) -> Result<Option<Secret>> {
        let Some(value) = self.read(name, true)? else {
            return Ok(None);
        };
        self.ci.mask(&value);
        Ok(Some(Secret(value)))
    }

    /// A single-line token (an IAM token, a static key): [`Vars::secret`] with leading and
    /// trailing whitespace stripped, as the Nebius SDKs strip it. A value of several lines (not a
    /// token; its parser says so) keeps them.
    pub fn token(&self, name: &str) -> Result<Option<Secret>> {
        let Some(value) = self.read(name, true)? else {
            return Ok(None);
        };
        let value = match value.contains('\n') {
            true => value,
            false => Zeroizing::new(value.trim().to_string()),
        };
        self.ci.mask(&value);
        Ok(Some(Secret(value)))
    }

    /// A non-secret input (username, registry, an id): `NAME`, taken as it is, or `NAME_FILE`.
    pub fn plain(&self, name: &str) -> Result<Option<String>> {
        Ok(self.read(name, false)?.map(|v| v.to_string()))
    }

    /// `NAME_FILE` (a path), else `NAME`, which may itself be the path of a file the CI mounted
    /// (GitLab "File" variables hold a path). Trailing newlines are dropped; an empty or blank
    /// value is an error.
    ///
    /// Only a secret (`mounted`) is read from the path its value names: a non-secret value that
    /// happens to be a path (`DCR_REGISTRY=/proc/self/environ`) is taken as it is, so no file's
    /// content can reach a report or an error through it.
    fn read(&self, name: &str, mounted: bool) -> Result<Option<Zeroizing<String>>> {
        let file_var = format!("{name}_FILE");
        let value = match (self.env.path(&file_var), self.env.get(name)?) {
            (Some(_), Some(_)) => bail!("both {name} and {file_var} are set: set only one"),
            (Some(path), None) => read_file(&path)
                .with_context(|| format!("cannot read {file_var} ({})", path.display()))?,
            (None, Some(value)) if mounted && looks_like_mounted_file(&value) => {
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
    // `C:\...` on Windows; on Unix the same as a leading `/`.
    Path::new(value).is_absolute() && !value.contains('\n') && Path::new(value).is_file()
}

/// Reads a small UTF-8 secret file (at most 1 MiB); errors name the problem, never the content.
pub(crate) fn read_file(path: &Path) -> Result<Zeroizing<String>> {
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    read_text(file, MAX_SECRET_FILE).map_err(|e| match e {
        TextError::Io(kind) => anyhow::anyhow!("{kind}"),
        TextError::TooLarge => anyhow::anyhow!("larger than 1 MiB, which no credential is"),
        TextError::NotUtf8 => anyhow::anyhow!("not UTF-8 text"),
    })
}

/// Why [`read_text`] failed; each caller words it for what it was reading.
pub(crate) enum TextError {
    /// Reading failed.
    Io(std::io::ErrorKind),
    /// More than the limit.
    TooLarge,
    /// Not UTF-8.
    NotUtf8,
}

/// Reads at most `limit` bytes of UTF-8 text from `reader` into memory that is zeroed when
/// dropped (what is read may be a secret); more than `limit` is an error, not a truncation.
pub(crate) fn read_text(reader: impl Read, limit: u64) -> Result<Zeroizing<String>, TextError> {
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| TextError::Io(e.kind()))?;
    if bytes.len() as u64 > limit {
        return Err(TextError::TooLarge);
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(TextError::NotUtf8),
    }
}

/// A username must fit in `user:password` basic auth and on one log line.
pub(crate) fn check_username(var: &str, username: String) -> Result<String> {
    if username.contains(':') || username.chars().any(char::is_control) {
        bail!("{var} contains ':' or a control character, which no registry username can: check its value");
    }
    if username.len() > MAX_USERNAME {
        bail!("{var} is longer than {MAX_USERNAME} bytes, which no registry username is: check its value");
    }
    Ok(username)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::detect;

    fn gather_from(pairs: &[(&str, &str)], from_env: &[&str]) -> Result<Vec<PlainLogin>> {
        let env = Env::from_pairs(pairs);
        let ci = detect(&Env::default());
        let from_env: Vec<String> = from_env.iter().map(|s| s.to_string()).collect();
        plain_logins(&env, ci.as_ref(), &from_env)
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
        let plain = gather_from(
            &[
                ("DCR_USERNAME", "u"),
                ("DCR_PASSWORD", "p\n"),
                ("DCR_REGISTRY", "dcr.example/ns"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].password.expose(), "p");
        assert_eq!(plain[0].registry, "dcr.example/ns");
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
    fn gitlab_registry_only_in_gitlab() {
        let vars = [
            ("CI_REGISTRY", "registry.gitlab.example"),
            ("CI_REGISTRY_USER", "gitlab-ci-token"),
            ("CI_REGISTRY_PASSWORD", "job-token"),
        ];
        assert!(gather_from(&vars, &[]).unwrap().is_empty());
        let mut in_gitlab = vars.to_vec();
        in_gitlab.push(("GITLAB_CI", "true"));
        assert_eq!(gather_from(&in_gitlab, &[]).unwrap().len(), 1);
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
