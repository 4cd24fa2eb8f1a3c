//! Every way crlogin gets a registry login is a [`Source`] in one list, [`SOURCES`]: the
//! username/password logins (`DCR_*`, `--from-env PREFIX`, GitLab's `CI_REGISTRY*`, ...), each
//! for the registry it names ([`Kind::Registry`]: every one found is used), and the Nebius
//! credentials ([`Kind::Nebius`]: the first found, or the one `--auth` names, is used for the
//! selected Nebius hosts). A source returns [`Found`]s: the hosts it serves ([`Scope`]), the
//! username, and how the secret is obtained ([`Obtain`], with its expiry). [`resolve`] turns one
//! into a [`Credential`]: a password as it is, a Nebius token through the token cache, else its
//! own exchange.
//!
//! # Adding a credential source
//! Write `src/auth/NAME.rs` with a `pub static SOURCE` implementing [`Source`]: its `find`
//! reads raw values through [`Vars`] (secrets are masked as they are read) and parses them into
//! a [`Found`] whose credential implements [`Obtain`] (how a token is got, described and
//! cached; [`Found::login`] for a password used as it is). Then add `mod NAME;` below and one
//! line to [`SOURCES`], where its place sets its priority. Nothing else changes: `--auth NAME`,
//! the help, the "nothing found" messages, `doctor`, `logout` and the credential helper all
//! read [`SOURCES`].

pub mod authorized_key;
mod cache;
pub mod exchange_grpc;
pub mod exchange_http;
mod federated_file;
mod github_token;
mod gitlab_registry;
mod iam_token;
pub mod impersonation;
mod key_exchange;
pub mod metadata;
pub mod oidc;
mod prefixed;
pub mod profile;
mod sa_credentials;
mod sa_key;
mod static_key;
mod token_endpoint;
mod token_file;

use crate::ci::Ci;
use crate::env::Env;
use crate::secret::Secret;
pub use crate::secrets::Vars;
use anyhow::{bail, Result};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The longest life crlogin believes a server-issued token has: a longer `expires_in` (Nebius
/// IAM tokens live 12 hours) is taken as this, so a hostile or broken server's huge number
/// can neither overflow the time arithmetic nor keep a token in the cache for years.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// When a token issued at `issued_at` and living `lifetime` expires, the lifetime capped at
/// [`MAX_TOKEN_LIFETIME`].
pub fn expiry_after(issued_at: SystemTime, lifetime: Duration) -> SystemTime {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    issued_at.checked_add(lifetime).unwrap_or(issued_at)
}

/// Every credential source, in the order they are tried: every registry login found is used,
/// then the first Nebius credential found. One line per source; see the module documentation
/// for how to add one.
pub static SOURCES: &[&dyn Source] = &[
    &prefixed::SOURCE,
    &gitlab_registry::SOURCE,
    &github_token::SOURCE,
    &iam_token::SOURCE,
    &static_key::SOURCE,
    &sa_credentials::SOURCE,
    &sa_key::SOURCE,
    &federated_file::SOURCE,
    &oidc::SOURCE,
    &profile::SOURCE,
    &metadata::SOURCE,
];

/// Which hosts a source's logins are for, and how its logins combine with others'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Logins for registries the source names itself: every one found is used.
    Registry,
    /// The Nebius credential, for the selected Nebius hosts: the first found (or the one
    /// `--auth` names) is used.
    Nebius,
}

/// One way to find a registry login: a file in `src/auth/` registered in [`SOURCES`].
pub trait Source: Sync {
    /// Its name, e.g. `sa-key` (`--auth` takes the Nebius ones).
    fn name(&self) -> &'static str;
    /// One line for `--auth`'s help.
    fn help(&self) -> &'static str;
    /// What to set to use it, for "not set" errors ("NEBIUS_IAM_TOKEN").
    fn needs(&self) -> &'static str;
    /// Which hosts its logins are for; see [`Kind`].
    fn kind(&self) -> Kind {
        Kind::Nebius
    }
    /// Whether something of it is set, read without touching a secret or a file: for `logout`,
    /// which then clears the Nebius hosts.
    fn configured(&self, vars: &Vars) -> bool;
    /// The registries a [`Kind::Registry`] source would log into, read without touching a
    /// secret: for `logout`.
    fn registries(&self, _vars: &Vars) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Whether it is tried only when nothing else at all is found (no plain login either).
    fn fallback(&self) -> bool {
        false
    }
    /// Its credential, parsed and with its secrets masked, or `None` when it is not set.
    /// `forced` (`--auth` named it) turns "set but unusable, so skipped" into an error.
    fn find(&self, vars: &Vars, forced: bool) -> Result<Option<Found>>;
    /// Every login it finds: [`Source::find`]'s one, unless a source finds several (one per
    /// `--from-env` prefix).
    fn find_all(&self, vars: &Vars, forced: bool) -> Result<Vec<Found>> {
        Ok(self.find(vars, forced)?.into_iter().collect())
    }
}

/// The Nebius sources, in order: what `--auth` chooses from.
fn nebius_sources() -> impl Iterator<Item = &'static dyn Source> {
    SOURCES.iter().copied().filter(|s| s.kind() == Kind::Nebius)
}

/// The username/password sources, in order.
fn registry_sources() -> impl Iterator<Item = &'static dyn Source> {
    SOURCES
        .iter()
        .copied()
        .filter(|s| s.kind() == Kind::Registry)
}

/// The source `--auth` names: one of [`SOURCES`].
#[derive(Clone, Copy)]
pub struct AuthSource(&'static dyn Source);

impl AuthSource {
    /// The source called `name`, if one is.
    pub fn named(name: &str) -> Option<Self> {
        nebius_sources().find(|s| s.name() == name).map(Self)
    }

    /// Its `--auth` name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Debug for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthSource({})", self.0.name())
    }
}

impl PartialEq for AuthSource {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The clap parser of `--auth`: the names in [`SOURCES`], each with its help. A value that is
/// not UTF-8 is refused like any unknown name (clap's own message would not name the flag).
pub fn source_parser() -> SourceParser {
    SourceParser
}

/// See [`source_parser`].
#[derive(Clone)]
pub struct SourceParser;

impl SourceParser {
    fn values() -> impl Iterator<Item = clap::builder::PossibleValue> {
        nebius_sources().map(|s| clap::builder::PossibleValue::new(s.name()).help(s.help()))
    }
}

impl clap::builder::TypedValueParser for SourceParser {
    type Value = AuthSource;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<AuthSource, clap::Error> {
        let text = value.to_string_lossy();
        let name = clap::builder::PossibleValuesParser::new(Self::values()).parse_ref(
            cmd,
            arg,
            std::ffi::OsStr::new(text.as_ref()),
        )?;
        Ok(AuthSource::named(&name).expect("clap accepted only registered names"))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}

/// The Nebius variables and files crlogin looks at, for "nothing found" errors.
pub fn nebius_looked_for() -> String {
    nebius_sources()
        .map(|s| s.needs())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every variable crlogin looks at, for "nothing found" errors.
pub fn looked_for() -> String {
    let registry: Vec<&str> = registry_sources().map(|s| s.needs()).collect();
    format!(
        "{}, PREFIX_* with --from-env PREFIX, or a Nebius credential: {}",
        registry.join(", "),
        nebius_looked_for()
    )
}

/// Whether any Nebius source is configured (read without any secret): for `logout`.
pub fn nebius_configured(env: &Env, ci: &dyn Ci) -> bool {
    let vars = Vars::new(env, ci);
    nebius_sources().any(|s| s.configured(&vars))
}

/// What `logout` needs, read without touching a secret: the registries of the
/// username/password logins (each prefix's `PREFIX_REGISTRY`, GitLab's `CI_REGISTRY`, ...).
pub fn registries_only(env: &Env, ci: &dyn Ci, from_env: &[String]) -> Result<Vec<String>> {
    let vars = Vars::with_prefixes(env, ci, from_env);
    let mut registries = Vec::new();
    for source in registry_sources() {
        registries.extend(source.registries(&vars)?);
    }
    Ok(registries)
}

/// What kind of Nebius password a credential gives, for how long it may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    /// A Container Registry static key (months of life, expiry not known to crlogin).
    StaticKey,
    /// A ready IAM token as given: its expiry is not known to crlogin.
    GivenToken,
    /// A token crlogin exchanged (or took from its cache), with a known expiry.
    Exchanged,
    /// A registry password or token given with a username (`DCR_*`, ...), written as it is.
    Password,
}

impl PasswordKind {
    /// Whether it is an IAM token (given or exchanged), which expires within hours.
    pub fn is_iam_token(self) -> bool {
        matches!(self, PasswordKind::GivenToken | PasswordKind::Exchanged)
    }
}

/// A login found by a [`Source`]: the hosts it is for, the username, and how the secret is
/// obtained.
#[derive(Debug)]
pub struct Found {
    /// Where it came from, for the report ("NEBIUS_SA_CREDENTIALS", "DCR_*", ...).
    pub source: String,
    /// The hosts it serves.
    pub scope: Scope,
    /// The registry username.
    pub username: String,
    /// Whether the username came from a file and so is never shown.
    pub username_hidden: bool,
    /// How it becomes a password or token (and when that expires).
    pub credential: Box<dyn Obtain>,
    /// The service account to impersonate with it, and where that was set (a profile's
    /// `impersonate-service-account-id`); `--impersonate` overrides it.
    pub impersonate: Option<(String, String)>,
    /// The API domain a profile's `endpoint:` names (`NEBIUS_ENDPOINT` wins over it): the gRPC
    /// token exchange is then `tokens.iam.<domain>`.
    pub api_domain: Option<String>,
}

/// A Nebius credential: a [`Found`] for the selected Nebius hosts, user `iam`.
pub type NebiusInput = Found;

impl Found {
    /// A Nebius credential from `source` (for the report), with no impersonation or domain of
    /// its own.
    pub fn new(source: String, credential: Box<dyn Obtain>) -> Self {
        Self {
            source,
            scope: Scope::Nebius,
            username: NEBIUS_USERNAME.to_string(),
            username_hidden: false,
            credential,
            impersonate: None,
            api_domain: None,
        }
    }

    /// A login for `scope` with a password used as it is; `username` as
    /// [`Vars::username`] gives it.
    pub fn login(
        source: String,
        scope: Scope,
        username: (String, bool),
        password: Secret,
        kind: PasswordKind,
    ) -> Self {
        Self {
            source,
            scope,
            username: username.0,
            username_hidden: username.1,
            credential: Box::new(iam_token::Given {
                token: password,
                kind,
            }),
            impersonate: None,
            api_domain: None,
        }
    }
}

/// Which Nebius credential to use: `--auth` and `--impersonate`.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Only this source (default: the first found).
    pub source: Option<AuthSource>,
    /// Exchange the credential's token for this service account's.
    pub impersonate: Option<String>,
}

/// The IAM endpoint a credential is exchanged at, for `doctor`'s network checks.
pub enum Iam {
    /// A JWT signed with this machine's clock, exchanged over HTTP at this URL (or why that
    /// value is unusable).
    KeyExchange(Result<reqwest::Url, String>),
    /// A token exchanged over gRPC at this endpoint (or why that value is unusable).
    Grpc {
        /// The endpoint, or why it is unusable.
        endpoint: Result<String, String>,
        /// Whether this machine signs what is exchanged (a service-account key's JWT), so its
        /// clock matters; else the token comes from elsewhere (a CI's OIDC token, a file).
        signs_here: bool,
    },
}

/// Who a cached token belongs to (what the cache file is named by): never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheIdentity {
    /// The service account.
    pub service_account_id: String,
    /// The public key id, or another tag of the credential kind.
    pub public_key_id: String,
    /// The SHA-256 of the public key (empty where there is none): another key claiming the same
    /// ids must not find this token.
    pub public_key_sha256: String,
    /// Where tokens are exchanged.
    pub endpoint: String,
}

/// A token got from a credential.
#[derive(Debug)]
pub struct Minted {
    /// The password (masked by whoever made it).
    pub token: Secret,
    /// When it was issued (or read).
    pub issued_at: SystemTime,
    /// When it expires, where known.
    pub expires_at: Option<SystemTime>,
}

/// How a Nebius credential becomes a registry password.
pub trait Obtain: fmt::Debug {
    /// What kind of password it gives.
    fn kind(&self) -> PasswordKind;
    /// For `doctor`: what `login` does with it (one line, no secret), and where it would be
    /// exchanged.
    fn describe(&self, env: &Env) -> (String, Option<Iam>);
    /// The identity its tokens are cached under; `None`: never cached.
    fn cache_identity(&self, _env: &Env) -> Result<Option<CacheIdentity>> {
        Ok(None)
    }
    /// Gets the password, masking anything secret it makes with `ci`.
    fn obtain(&self, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted>;
    /// How the last [`Obtain::obtain`] got it, for the report.
    fn obtained(&self) -> String {
        "exchanged".to_string()
    }
    /// The service account whose token it gives, where known (for the report).
    fn account(&self) -> Option<&str> {
        None
    }
    /// The authorized key behind it, for tests that check what was parsed.
    #[cfg(test)]
    fn key(&self) -> Option<&authorized_key::AuthorizedKey> {
        None
    }
}

/// The username Nebius Container Registry expects with an IAM token or a static key.
pub const NEBIUS_USERNAME: &str = "iam";

/// Which registries a login is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One registry, as the input named it (may carry a path; the planner takes the host).
    Registry(String),
    /// The selected Nebius regions and `--registry` hosts.
    Nebius,
}

/// A username and secret ready to be written for a registry.
#[derive(Debug)]
pub struct Credential {
    /// What the credential is for.
    pub scope: Scope,
    /// Where it came from, for the report.
    pub source: String,
    /// The registry username.
    pub username: String,
    /// Whether the username came from a file and so is never shown.
    pub username_hidden: bool,
    /// The password or token.
    pub secret: Secret,
    /// When it stops working, where known.
    pub expires_at: Option<SystemTime>,
    /// What kind of password it is.
    pub kind: PasswordKind,
}

/// How patiently to exchange, and whether to use the token cache.
#[derive(Debug, Clone)]
pub struct Options {
    /// Retries of the exchange after the first attempt.
    pub retries: u32,
    /// The deadline for the whole exchange.
    pub timeout: Duration,
    /// Whether to read and write the token cache.
    pub cache: bool,
    /// Exchange nothing and write nothing (a cached token is still used): for `--dry-run`.
    pub dry_run: bool,
}

/// Every login the environment gives, in [`SOURCES`] order: each username/password login,
/// then the Nebius credential from the first Nebius source found (or only `auth`'s, whose
/// absence is then an error). Secrets are masked with `ci` as they are read.
pub fn gather(env: &Env, ci: &dyn Ci, from_env: &[String], auth: &Choice) -> Result<Vec<Found>> {
    let mut found = registry_logins(env, ci, from_env)?;
    let fallbacks = found.is_empty();
    found.extend(find_in(&Vars::new(env, ci), auth, fallbacks)?);
    Ok(found)
}

/// The username/password logins the environment gives (no Nebius credential is read), with
/// the `--from-env` prefixes `from_env`.
pub fn registry_logins(env: &Env, ci: &dyn Ci, from_env: &[String]) -> Result<Vec<Found>> {
    let vars = Vars::with_prefixes(env, ci, from_env);
    let mut found = Vec::new();
    for source in registry_sources() {
        found.extend(source.find_all(&vars, false)?);
    }
    Ok(found)
}

/// The Nebius credential: the first source in [`SOURCES`] that finds one, or only
/// `choice.source` (then its absence is an error); wrapped in an impersonation when
/// `--impersonate` or the source's own setting asks for one.
pub fn find_nebius(env: &Env, ci: &dyn Ci, choice: &Choice) -> Result<Option<NebiusInput>> {
    find_in(&Vars::new(env, ci), choice, true)
}

/// [`find_nebius`]; `fallbacks` false leaves out the sources tried only when nothing is found.
fn find_in(vars: &Vars, choice: &Choice, fallbacks: bool) -> Result<Option<NebiusInput>> {
    let sources: Vec<&dyn Source> = match choice.source {
        Some(AuthSource(source)) => vec![source],
        None => nebius_sources()
            .filter(|s| fallbacks || !s.fallback())
            .collect(),
    };
    for source in sources {
        if let Some(input) = source.find(vars, choice.source.is_some())? {
            return impersonated(input, choice).map(Some);
        }
    }
    match choice.source {
        Some(AuthSource(source)) => bail!(
            "--auth {} was chosen, but nothing is set for it: set {}, or choose another source",
            source.name(),
            source.needs()
        ),
        None => Ok(None),
    }
}

/// `input`, its token exchanged for the account `--impersonate` (else its own setting) names.
fn impersonated(input: NebiusInput, choice: &Choice) -> Result<NebiusInput> {
    let target = match (&choice.impersonate, &input.impersonate) {
        (Some(target), _) => (
            target.clone(),
            format!("--impersonate ({})", impersonation::VAR),
        ),
        (None, Some(own)) => own.clone(),
        (None, None) => return Ok(input),
    };
    let NebiusInput {
        source,
        credential,
        api_domain,
        ..
    } = input;
    let actor = credential.account().unwrap_or("its account").to_string();
    let wrapped =
        impersonation::Impersonated::wrap(credential, &target.0, &target.1, api_domain.clone())?;
    let mut input = Found::new(
        format!("{source} ({actor}) impersonating {}", wrapped.target),
        Box::new(wrapped),
    );
    input.api_domain = api_domain;
    Ok(input)
}

/// Resolves a found login into a credential: a password, token or static key as it is;
/// anything exchanged through the cache, else one exchange (one however many hosts it is
/// written for).
pub fn resolve(input: Found, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Credential> {
    let Found {
        source,
        scope,
        username,
        username_hidden,
        credential,
        ..
    } = input;
    let kind = credential.kind();
    let done = |source: String, secret: Secret, expires_at: Option<SystemTime>| Credential {
        scope,
        source,
        username,
        username_hidden,
        secret,
        expires_at,
        kind,
    };
    if kind != PasswordKind::Exchanged {
        let minted = credential.obtain(env, ci, options)?;
        return Ok(done(source, minted.token, minted.expires_at));
    }
    let identity = credential.cache_identity(env)?;
    let mut cache_dir = match &identity {
        Some(_) if options.cache => cache::dir(env).ok(),
        _ => None,
    };
    if let (Some(dir), Some(identity)) = (&cache_dir, &identity) {
        match cache::load(dir, &identity.borrowed(), SystemTime::now()) {
            Ok(Some(cached)) => {
                ci.mask(cached.access_token.expose());
                return Ok(done(
                    format!("{source}, cached token"),
                    cached.access_token,
                    Some(cached.expires_at),
                ));
            }
            Ok(None) => {}
            Err(cache::Untrusted(why)) => {
                ci.warning(&why);
                cache_dir = None;
            }
        }
    }
    if options.dry_run {
        return Ok(done(
            format!("{source}, would exchange"),
            Secret::new(String::new()),
            None,
        ));
    }
    let minted = credential.obtain(env, ci, options)?;
    if let (Some(dir), Some(identity), Some(expires_at)) =
        (&cache_dir, &identity, minted.expires_at)
    {
        if cache::is_fresh(minted.issued_at, expires_at, minted.issued_at) {
            let stored = cache::store(
                dir,
                &identity.borrowed(),
                &minted.token,
                minted.issued_at,
                expires_at,
            );
            if let Err(e) = stored {
                ci.warning(&format!(
                    "{e:#}; the token was not cached (--no-cache turns the cache off)"
                ));
            }
        }
    }
    let source = format!("{source}, {}", credential.obtained());
    Ok(done(source, minted.token, minted.expires_at))
}

impl Credential {
    /// The username as the report and the outputs show it: never one read from a file.
    pub fn shown_username(&self) -> &str {
        shown_username(&self.username, self.username_hidden)
    }
}

impl Found {
    /// The username as reports show it: never one read from a file.
    pub fn shown_username(&self) -> &str {
        shown_username(&self.username, self.username_hidden)
    }
}

fn shown_username(username: &str, hidden: bool) -> &str {
    match hidden {
        true => crate::secrets::USERNAME_FROM_FILE,
        false => username,
    }
}

impl CacheIdentity {
    fn borrowed(&self) -> cache::Identity<'_> {
        cache::Identity {
            service_account_id: &self.service_account_id,
            public_key_id: &self.public_key_id,
            public_key_sha256: &self.public_key_sha256,
            endpoint: &self.endpoint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::detect;

    fn gather_from(pairs: &[(&str, &str)]) -> Result<Option<NebiusInput>> {
        let env = Env::from_pairs(pairs);
        let ci = detect(&Env::default());
        find_nebius(&env, ci.as_ref(), &Choice::default())
    }

    fn source_of(pairs: &[(&str, &str)]) -> String {
        gather_from(pairs).unwrap().expect("a credential").source
    }

    #[test]
    fn every_source_has_a_distinct_name() {
        let mut names: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SOURCES.len());
        for source in nebius_sources() {
            assert_eq!(
                AuthSource::named(source.name()).unwrap().name(),
                source.name()
            );
        }
    }

    #[test]
    fn both_value_and_file_is_an_error() {
        let err = gather_from(&[("NEBIUS_STATIC_KEY", "k"), ("NEBIUS_STATIC_KEY_FILE", "/x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("set only one"), "{err}");
    }

    #[test]
    fn blank_secret_is_an_error() {
        let err = gather_from(&[("NEBIUS_IAM_TOKEN", "  \n")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("NEBIUS_IAM_TOKEN is empty"), "{err}");
    }

    #[test]
    fn iam_token_wins_over_static_key() {
        let source = source_of(&[("NEBIUS_IAM_TOKEN", "t"), ("NEBIUS_STATIC_KEY", "k")]);
        assert_eq!(source, "NEBIUS_IAM_TOKEN");
    }

    #[test]
    fn a_service_account_id_alone_is_not_a_key() {
        assert!(
            gather_from(&[("NEBIUS_SERVICE_ACCOUNT_ID", "serviceaccount-1")])
                .unwrap()
                .is_none()
        );
        let err = gather_from(&[
            ("NEBIUS_SERVICE_ACCOUNT_ID", "serviceaccount-1"),
            ("NEBIUS_PUBLIC_KEY_ID", "publickey-1"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("NEBIUS_PRIVATE_KEY not set"), "{err}");
        let env = Env::from_pairs(&[("NEBIUS_SERVICE_ACCOUNT_ID", "serviceaccount-1")]);
        let ci = detect(&Env::default());
        let choice = Choice {
            source: AuthSource::named("sa-key"),
            ..Choice::default()
        };
        let err = find_nebius(&env, ci.as_ref(), &choice)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NEBIUS_PUBLIC_KEY_ID and NEBIUS_PRIVATE_KEY not set"),
            "{err}"
        );
    }

    /// The SDK strips `NEBIUS_IAM_TOKEN` (`os.environ[...].strip()`); a token sent with its
    /// whitespace fails at the registry.
    #[test]
    fn a_single_line_token_loses_its_surrounding_whitespace() {
        for name in ["NEBIUS_IAM_TOKEN", "NEBIUS_STATIC_KEY"] {
            let env = Env::from_pairs(&[(name, " \tv1.token-value \r\n")]);
            assert_eq!(obtained(&env), "v1.token-value", "{name}");
        }
    }

    #[test]
    fn mounted_file_value_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-file\n").unwrap();
        let env = Env::from_pairs(&[("NEBIUS_STATIC_KEY", path.to_str().unwrap())]);
        assert_eq!(obtained(&env), "from-file");
    }

    /// The password the Nebius credential found in `env` gives.
    fn obtained(env: &Env) -> String {
        let ci = detect(&Env::default());
        let input = find_nebius(env, ci.as_ref(), &Choice::default())
            .unwrap()
            .unwrap();
        let minted = input
            .credential
            .obtain(env, ci.as_ref(), &test_options())
            .unwrap();
        minted.token.expose().to_string()
    }

    /// Every login `pairs` (and the `--from-env` prefixes) give.
    pub(crate) fn found_in(pairs: &[(&str, &str)], from_env: &[&str]) -> Result<Vec<Found>> {
        let env = Env::from_pairs(pairs);
        let ci = detect(&Env::default());
        let from_env: Vec<String> = from_env.iter().map(|s| s.to_string()).collect();
        gather(&env, ci.as_ref(), &from_env, &Choice::default())
    }

    /// The password a found login gives.
    pub(crate) fn password(found: &Found) -> String {
        let ci = detect(&Env::default());
        let minted = found
            .credential
            .obtain(&Env::default(), ci.as_ref(), &test_options())
            .unwrap();
        minted.token.expose().to_string()
    }

    pub(crate) fn test_options() -> Options {
        Options {
            retries: 0,
            timeout: Duration::from_secs(5),
            cache: false,
            dry_run: false,
        }
    }
}
