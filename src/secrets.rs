//! Reading crlogin's raw inputs from the environment: secret values (from `NAME`, `NAME_FILE`,
//! or a path to a file the CI mounted) and plain values, checked and masked as they are read.
//!
//! Every secret becomes a [`Secret`] the moment it is read and is handed to [`Ci::mask`] then.
//! Nothing here knows a credential: `auth`'s sources read raw values through [`Vars`] and
//! parse them themselves.

use crate::ci::Ci;
use crate::env::Env;
use crate::secret::read_file;
pub use crate::secret::Secret;
use anyhow::{bail, Context, Result};
use std::path::Path;
use zeroize::Zeroizing;

/// Longest username accepted: registries allow far less (Docker Hub 30, Harbor robot accounts a
/// few hundred).
const MAX_USERNAME: usize = 1024;

/// What the report shows for a username read from a file.
pub const USERNAME_FROM_FILE: &str = "(read from a file)";

/// Raw inputs from the environment: what `auth`'s sources read their credentials through.
/// A secret is `NAME`, `NAME_FILE` (a path), or a `NAME` that is the path of a file the CI
/// mounted; every secret is masked the moment it is read. Nothing here parses a credential.
pub struct Vars<'a> {
    env: &'a Env,
    ci: &'a dyn Ci,
    from_env: &'a [String],
}

impl<'a> Vars<'a> {
    /// Reads from `env`, masking secrets with `ci`.
    pub fn new(env: &'a Env, ci: &'a dyn Ci) -> Self {
        Self::with_prefixes(env, ci, &[])
    }

    /// [`Vars::new`], also reading the `--from-env` prefixes `from_env`.
    pub fn with_prefixes(env: &'a Env, ci: &'a dyn Ci, from_env: &'a [String]) -> Self {
        Self { env, ci, from_env }
    }

    /// The `--from-env` prefixes as given (checked by the source that reads them).
    pub fn prefixes(&self) -> &'a [String] {
        self.from_env
    }

    /// A username read from `var`, checked, and whether it came from a file (then it is never
    /// shown: the file could be anything).
    pub fn username(&self, var: &str, username: String) -> Result<(String, bool)> {
        Ok((check_username(var, username)?, self.read_from_file(var)))
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
    pub fn check_registry_file(&self, name: &str, registry: String) -> Result<String> {
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

    /// A secret input, masked as soon as it is read.
    pub fn secret(&self, name: &str) -> Result<Option<Secret>> {
        let Some(value) = self.read(name, true)? else {
            return Ok(None);
        };
        self.ci.mask(&value);
        Ok(Some(Secret::from_zeroizing(value)))
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
        Ok(Some(Secret::from_zeroizing(value)))
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
