//! Reading crlogin's inputs from the environment: secret values (from `NAME`, `NAME_FILE`, or a
//! path to a file the CI mounted), plain registry logins by prefix, and Nebius credentials.
//!
//! Every secret becomes a [`Secret`] the moment it is read and is handed to [`Ci::mask`] then.
//! A service-account key is parsed and validated here too, and its private key masked as it is
//! parsed (the JSON around it is not masked whole: see `Reader::sa_credentials`).

use crate::auth::authorized_key::{self, AuthorizedKey};
use crate::auth::profile;
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
    /// A service-account authorized key, to exchange for an IAM access token.
    AuthorizedKey {
        /// Where it came from, for the report ("NEBIUS_SA_CREDENTIALS", "profile ci", ...).
        source: String,
        /// The validated key.
        key: AuthorizedKey,
    },
    /// Keyless OIDC federation: the CI's OIDC token exchanged for this service account's token.
    Federated {
        /// The service account (`NEBIUS_SERVICE_ACCOUNT_ID`).
        service_account_id: String,
    },
    /// The service account attached to this Nebius VM, from its metadata service.
    Metadata(crate::auth::metadata::Probe),
}

/// The Nebius credential sources, in the order they are tried (first found wins); `--auth`
/// picks one and ignores the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthSource {
    /// `NEBIUS_IAM_TOKEN`.
    IamToken,
    /// `NEBIUS_STATIC_KEY`.
    StaticKey,
    /// `NEBIUS_SA_CREDENTIALS` (or `_FILE`): the authorized key's credentials JSON.
    SaCredentials,
    /// `NEBIUS_SERVICE_ACCOUNT_ID`, `NEBIUS_PUBLIC_KEY_ID` and `NEBIUS_PRIVATE_KEY`.
    SaKey,
    /// Keyless OIDC federation for `NEBIUS_SERVICE_ACCOUNT_ID`.
    Oidc,
    /// A service-account profile in `~/.nebius/config.yaml`.
    Profile,
    /// The Nebius VM's metadata service, else its mounted token file (a fallback when nothing
    /// else is found and there is no `~/.nebius/config.yaml`).
    Metadata,
}

impl AuthSource {
    const ALL: [AuthSource; 7] = [
        AuthSource::IamToken,
        AuthSource::StaticKey,
        AuthSource::SaCredentials,
        AuthSource::SaKey,
        AuthSource::Oidc,
        AuthSource::Profile,
        AuthSource::Metadata,
    ];

    /// The variables this source reads, for "not set" errors.
    fn needs(self) -> &'static str {
        match self {
            AuthSource::IamToken => "NEBIUS_IAM_TOKEN",
            AuthSource::StaticKey => "NEBIUS_STATIC_KEY",
            AuthSource::SaCredentials => "NEBIUS_SA_CREDENTIALS (or NEBIUS_SA_CREDENTIALS_FILE)",
            AuthSource::SaKey => "NEBIUS_SERVICE_ACCOUNT_ID, NEBIUS_PUBLIC_KEY_ID and NEBIUS_PRIVATE_KEY (or NEBIUS_PRIVATE_KEY_FILE)",
            AuthSource::Oidc => "NEBIUS_SERVICE_ACCOUNT_ID and a CI OIDC token (GitHub: `permissions: id-token: write`; GitLab: `id_tokens:` NEBIUS_ID_TOKEN)",
            AuthSource::Profile => "a service-account profile in ~/.nebius/config.yaml",
            AuthSource::Metadata => "nothing: it needs a Nebius VM with a service account attached",
        }
    }
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
     CI_REGISTRY/CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab), PREFIX_* with --from-env PREFIX, \
     or a Nebius service-account key: NEBIUS_SA_CREDENTIALS, \
     NEBIUS_SERVICE_ACCOUNT_ID/NEBIUS_PUBLIC_KEY_ID/NEBIUS_PRIVATE_KEY, NEBIUS_SERVICE_ACCOUNT_ID with a CI OIDC token, \
     a service-account profile in ~/.nebius/config.yaml, or run on a Nebius VM with a service account attached";

/// The Nebius sources alone, for errors where only a Nebius credential fits.
pub const NEBIUS_LOOKED_FOR: &str = "NEBIUS_IAM_TOKEN, NEBIUS_STATIC_KEY, NEBIUS_SA_CREDENTIALS, \
     NEBIUS_SERVICE_ACCOUNT_ID/NEBIUS_PUBLIC_KEY_ID/NEBIUS_PRIVATE_KEY, NEBIUS_SERVICE_ACCOUNT_ID with a CI OIDC token, \
     a service-account profile in ~/.nebius/config.yaml, or run on a Nebius VM with a service account attached";

/// Reads every input crlogin supports from `env`, masking each secret with `ci` as it is read.
/// `auth` restricts the Nebius credential to one source.
pub fn gather(
    env: &Env,
    ci: &dyn Ci,
    from_env: &[String],
    auth: Option<AuthSource>,
) -> Result<Inputs> {
    let reader = Reader { env, ci };
    let mut inputs = Inputs::default();

    for prefix in &prefixes(&reader, from_env)? {
        inputs.plain.push(reader.prefixed_login(prefix)?);
    }
    if env.is_true("GITLAB_CI") && reader.gitlab_registry_set() {
        inputs.plain.push(reader.gitlab_login()?);
    }

    inputs.nebius = match gather_nebius(env, ci, auth)? {
        // The metadata service is only probed when nothing else is found.
        Some(NebiusInput::Metadata(probe)) if !probe.forced && !inputs.plain.is_empty() => None,
        other => other,
    };
    Ok(inputs)
}

/// The prefixes to read: `--from-env` ones (checked), then `DCR` when any `DCR_*` is set.
fn prefixes(reader: &Reader, from_env: &[String]) -> Result<Vec<String>> {
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
            prefixes.push(prefix);
        }
    }
    if !prefixes.iter().any(|p| p == "DCR") && reader.any_part_set("DCR") {
        prefixes.push("DCR".to_string());
    }
    Ok(prefixes)
}

/// The Nebius variables whose presence means a Nebius credential is configured.
const NEBIUS_VARIABLES: &[&str] = &[
    "NEBIUS_IAM_TOKEN",
    "NEBIUS_STATIC_KEY",
    "NEBIUS_SA_CREDENTIALS",
    "NEBIUS_SERVICE_ACCOUNT_ID",
    "NEBIUS_PRIVATE_KEY",
];

/// What `logout` needs, read without touching a secret: the registries of the username/password
/// logins (each prefix's `PREFIX_REGISTRY`, GitLab's `CI_REGISTRY`), and whether a Nebius
/// credential is configured.
pub fn registries_only(env: &Env, ci: &dyn Ci, from_env: &[String]) -> Result<(Vec<String>, bool)> {
    let reader = Reader { env, ci };
    let mut registries = Vec::new();
    for prefix in prefixes(&reader, from_env)? {
        let var = format!("{prefix}_REGISTRY");
        match reader.plain(&var)? {
            Some(registry) => registries.push(registry),
            None => bail!("{var} is not set: logout needs the registry login used"),
        }
    }
    if env.is_true("GITLAB_CI") {
        registries.extend(reader.plain("CI_REGISTRY")?);
    }
    let nebius = NEBIUS_VARIABLES
        .iter()
        .any(|name| env.is_set(name) || env.is_set(&format!("{name}_FILE")));
    Ok((registries, nebius))
}

/// The Nebius credential: the first source found, in [`AuthSource`] order, or only `auth` (then
/// its absence is an error). Keys are validated and their secrets masked here.
pub fn gather_nebius(
    env: &Env,
    ci: &dyn Ci,
    auth: Option<AuthSource>,
) -> Result<Option<NebiusInput>> {
    let reader = Reader { env, ci };
    let sources = match auth {
        Some(source) => vec![source],
        None => AuthSource::ALL.to_vec(),
    };
    for source in sources {
        if let Some(input) = reader.nebius(source, auth.is_some())? {
            return Ok(Some(input));
        }
    }
    match auth {
        Some(source) => bail!(
            "--auth {} was chosen, but nothing is set for it: set {}, or choose another source",
            clap::ValueEnum::to_possible_value(&source)
                .map_or_else(String::new, |v| v.get_name().to_string()),
            source.needs()
        ),
        None => Ok(None),
    }
}

struct Reader<'a> {
    env: &'a Env,
    ci: &'a dyn Ci,
}

impl Reader<'_> {
    /// One Nebius source, or `None` when it is not set. `forced` makes a profile that cannot be
    /// used an error instead of "not set".
    fn nebius(&self, source: AuthSource, forced: bool) -> Result<Option<NebiusInput>> {
        Ok(match source {
            AuthSource::IamToken => self.secret("NEBIUS_IAM_TOKEN")?.map(NebiusInput::IamToken),
            AuthSource::StaticKey => self
                .secret("NEBIUS_STATIC_KEY")?
                .map(NebiusInput::StaticKey),
            AuthSource::SaCredentials => self.sa_credentials()?,
            AuthSource::SaKey => self.sa_key_parts(forced)?,
            AuthSource::Oidc => self.federation(forced)?,
            AuthSource::Profile => profile::read(self.env, self.ci, forced)?
                .map(|(source, key)| NebiusInput::AuthorizedKey { source, key }),
            AuthSource::Metadata => {
                crate::auth::metadata::probe(self.env, forced)?.map(NebiusInput::Metadata)
            }
        })
    }

    /// `NEBIUS_SA_CREDENTIALS`: the credentials JSON, or a path to it (also `_FILE`).
    /// OIDC federation applies when a service account is named without key parts and the CI
    /// offers an OIDC token (or when `--auth oidc` forces it, so a missing token is explained).
    fn federation(&self, forced: bool) -> Result<Option<NebiusInput>> {
        let Some(service_account_id) = self.plain("NEBIUS_SERVICE_ACCOUNT_ID")? else {
            return Ok(None);
        };
        if forced || crate::auth::oidc::oidc_available(self.env) {
            Ok(Some(NebiusInput::Federated { service_account_id }))
        } else {
            Ok(None)
        }
    }

    fn sa_credentials(&self) -> Result<Option<NebiusInput>> {
        const NAME: &str = "NEBIUS_SA_CREDENTIALS";
        let Some(json) = self.inline_or_file(
            NAME,
            |v| v.trim_start().starts_with('{'),
            "credentials JSON",
        )?
        else {
            return Ok(None);
        };
        let source = self.origin(NAME);
        // The JSON is not masked whole (GitHub masks line by line, and a pretty-printed file's
        // `{` lines would hide every brace in the log): its secret, the private key, is.
        let key = AuthorizedKey::from_json(&json, &source, self.ci)?;
        Ok(Some(NebiusInput::AuthorizedKey { source, key }))
    }

    /// `NEBIUS_SERVICE_ACCOUNT_ID`, `NEBIUS_PUBLIC_KEY_ID` and `NEBIUS_PRIVATE_KEY` (PEM, or a
    /// path to it; also `_FILE`): all three, or neither of the last two (unless `forced`).
    fn sa_key_parts(&self, forced: bool) -> Result<Option<NebiusInput>> {
        const SA: &str = "NEBIUS_SERVICE_ACCOUNT_ID";
        const KID: &str = "NEBIUS_PUBLIC_KEY_ID";
        const KEY: &str = "NEBIUS_PRIVATE_KEY";
        let service_account_id = self.plain(SA)?;
        let public_key_id = self.plain(KID)?;
        let private_key =
            self.inline_or_file(KEY, authorized_key::looks_like_pem, "PEM private key")?;
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
            // A service-account id alone is no key (keyless federation also names one).
            (_, None, None) if !forced => Ok(None),
            (Some(sa), Some(kid), Some(pem)) => {
                let origins = [SA.to_string(), KID.to_string(), self.origin(KEY)];
                let key = AuthorizedKey::from_parts(
                    sa.trim(),
                    kid.trim(),
                    &pem,
                    [&origins[0], &origins[1], &origins[2]],
                    self.ci,
                )?;
                Ok(Some(NebiusInput::AuthorizedKey {
                    source: format!("{SA}+{KID}"),
                    key,
                }))
            }
            _ => bail!(
                "{} not set: a service-account key in parts needs {SA}, {KID} and {KEY} (or {KEY}_FILE)",
                missing.join(" and ")
            ),
        }
    }

    /// `NAME` (or `NAME_FILE`) as read; `NAME_FILE` when that is the one set, for messages.
    fn origin(&self, name: &str) -> String {
        let file_var = format!("{name}_FILE");
        if self.env.is_set(&file_var) {
            file_var
        } else {
            name.to_string()
        }
    }

    /// A secret that is given inline (`is_inline`) or as a path, relative or absolute, to a file
    /// holding it. Not masked here: the caller masks the secret part once it has parsed it.
    fn inline_or_file(
        &self,
        name: &str,
        is_inline: fn(&str) -> bool,
        what: &str,
    ) -> Result<Option<Zeroizing<String>>> {
        let Some(value) = self.read(name)? else {
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
fn check_username(var: &str, username: String) -> Result<String> {
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

    fn gather_from(pairs: &[(&str, &str)], from_env: &[&str]) -> Result<Inputs> {
        let env = Env::from_pairs(pairs);
        let ci = detect(&Env::default());
        let from_env: Vec<String> = from_env.iter().map(|s| s.to_string()).collect();
        gather(&env, ci.as_ref(), &from_env, None)
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
    fn a_service_account_id_alone_is_not_a_key() {
        let inputs =
            gather_from(&[("NEBIUS_SERVICE_ACCOUNT_ID", "serviceaccount-1")], &[]).unwrap();
        assert!(inputs.nebius.is_none());
        let err = gather_from(
            &[
                ("NEBIUS_SERVICE_ACCOUNT_ID", "serviceaccount-1"),
                ("NEBIUS_PUBLIC_KEY_ID", "publickey-1"),
            ],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("NEBIUS_PRIVATE_KEY not set"), "{err}");
        let env = Env::from_pairs(&[("NEBIUS_SERVICE_ACCOUNT_ID", "serviceaccount-1")]);
        let ci = detect(&Env::default());
        let err = gather_nebius(&env, ci.as_ref(), Some(AuthSource::SaKey))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NEBIUS_PUBLIC_KEY_ID and NEBIUS_PRIVATE_KEY not set"),
            "{err}"
        );
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
