//! The service account attached to a Nebius VM (a self-hosted runner, a Jenkins agent, a Managed
//! Kubernetes node), with no secret anywhere: the VM's metadata service hands out its tokens.
//!
//! Read as the Nebius SDKs read it: `GET http://metadata.nebius.internal/v1/iam/sa/token` with
//! `Metadata: true` answers `{"access_token", "expires_at"}` (RFC 3339); 429 and 5xx are retried
//! (three attempts, 0.2 s then 0.4 s apart), any other status is an error quoting it. When the
//! service gives no token, the token file some images mount (`/mnt/cloud-metadata/token`) is used.
//!
//! Without `--auth metadata` this source is only a fallback: tried when no other credential is
//! found and no Nebius CLI config file exists, and only when the service's host name resolves or
//! the token file exists. Off Nebius the name does not resolve, so the probe costs one failed
//! name lookup, bounded by [`LOOKUP_DEADLINE`]. `CRLOGIN_METADATA_URL` and
//! `CRLOGIN_METADATA_TOKEN_FILE` replace the two places (for tests and unusual images).

use super::{CacheIdentity, Iam, Minted, NebiusInput, Obtain, Options, PasswordKind, Source, Vars};
use crate::ci::{one_line, quoted, Ci};
use crate::env::Env;
use crate::secret::{read_text, Secret, TextError};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::{header, StatusCode, Url};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// The metadata service's token endpoint on every Nebius VM.
pub const DEFAULT_URL: &str = "http://metadata.nebius.internal/v1/iam/sa/token";
/// Where some Nebius images mount the service account's token.
pub const DEFAULT_TOKEN_FILE: &str = "/mnt/cloud-metadata/token";
/// Replaces [`DEFAULT_URL`].
pub const URL_VAR: &str = "CRLOGIN_METADATA_URL";
/// Replaces [`DEFAULT_TOKEN_FILE`].
pub const TOKEN_FILE_VAR: &str = "CRLOGIN_METADATA_TOKEN_FILE";

/// The longest the probe waits for the service's host name to resolve.
pub const LOOKUP_DEADLINE: Duration = Duration::from_millis(500);
/// The deadline for the whole request when the source was not chosen with `--auth metadata`
/// (then `--timeout` applies).
const PROBE_DEADLINE: Duration = Duration::from_secs(2);
/// The waits between the three attempts, as the SDKs space them.
const RETRY_WAITS: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(400)];
/// Larger answers (and token files) are not a token.
const MAX_BODY: usize = 64 * 1024;
/// Longer `CRLOGIN_METADATA_URL` values are not a URL.
const MAX_URL: usize = 2048;
/// What the cache files this source's tokens under (the URL completes the identity).
const CACHE_IDENTITY: &str = "nebius-vm-metadata";

/// The source.
pub static SOURCE: Metadata = Metadata;

/// See the module documentation.
pub struct Metadata;

/// The report's name for this source.
const SOURCE_NAME: &str = "Nebius VM metadata";

impl Source for Metadata {
    fn name(&self) -> &'static str {
        "metadata"
    }

    fn help(&self) -> &'static str {
        "the Nebius VM's own service account, from its metadata service or mounted token (no secret)"
    }

    fn needs(&self) -> &'static str {
        "a Nebius VM with a service account attached (its metadata service)"
    }

    fn configured(&self, _vars: &Vars) -> bool {
        false
    }

    fn fallback(&self) -> bool {
        true
    }

    fn find(&self, vars: &Vars, forced: bool) -> Result<Option<NebiusInput>> {
        Ok(probe(vars.env(), forced)?
            .map(|probe| NebiusInput::new(SOURCE_NAME.to_string(), Box::new(probe))))
    }
}

/// Where to look for the VM's token, and whether `--auth metadata` chose this source (then its
/// absence is an error rather than "no credential").
#[derive(Debug)]
pub struct Probe {
    url: Url,
    token_file: PathBuf,
    forced: bool,
    /// Which place the last [`Obtain::obtain`] took the token from, for the report.
    obtained: Mutex<String>,
}

/// The metadata source, if it applies: always with `forced`; otherwise only when no Nebius CLI
/// config file exists and the service's name resolves or the token file exists.
fn probe(env: &Env, forced: bool) -> Result<Option<Probe>> {
    if !forced && config_file_exists(env) {
        return Ok(None);
    }
    let url = endpoint(env.get(URL_VAR)?.as_deref())?;
    let token_file = env
        .path(TOKEN_FILE_VAR)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_FILE));
    let present = forced || token_file.exists() || lookup(&url, LOOKUP_DEADLINE).is_ok();
    Ok(present.then_some(Probe {
        url,
        token_file,
        forced,
        obtained: Mutex::new(String::new()),
    }))
}

/// Whether `~/.nebius/config.yaml` exists: then the SDKs never probe, and neither does crlogin.
fn config_file_exists(env: &Env) -> bool {
    crate::os::paths::home(env, crate::os::Os::CURRENT)
        .is_ok_and(|home| home.join(super::profile::CONFIG_FILE).exists())
}

/// Parses `CRLOGIN_METADATA_URL` (or the default): an `http://` or `https://` URL with a host
/// and no user or password.
pub(crate) fn endpoint(value: Option<&str>) -> Result<Url> {
    let value = value.map(str::trim).unwrap_or(DEFAULT_URL);
    let fix = format!("set it like {DEFAULT_URL}, or unset it");
    if value.len() > MAX_URL {
        bail!("{URL_VAR} is longer than {MAX_URL} bytes: {fix}");
    }
    let url = Url::parse(value).map_err(|e| anyhow!("{URL_VAR} is not a URL ({e}): {fix}"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        bail!("{URL_VAR} must be an http:// or https:// URL with a host and no user or password: {fix}");
    }
    Ok(url)
}

/// The first address of `url`'s host, looked up on a thread of its own so that a resolver that
/// does not answer costs at most `deadline` (the lookup is left to finish in the background).
fn lookup(url: &Url, deadline: Duration) -> Result<SocketAddr, String> {
    let port = url.port_or_known_default().unwrap_or(80);
    let host = url.host_str().unwrap_or_default();
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, port));
    }
    let host = host.to_string();
    let (send, receive) = std::sync::mpsc::channel();
    let shown = host.clone();
    std::thread::Builder::new()
        .name("metadata-lookup".into())
        .spawn(move || {
            let first = (host.as_str(), port)
                .to_socket_addrs()
                .map(|mut addrs| addrs.next());
            // The receiver may have given up: then nobody needs the answer.
            let _ = send.send(first);
        })
        .map_err(|e| format!("cannot start the name lookup: {e}"))?;
    match receive.recv_timeout(deadline) {
        Ok(Ok(Some(addr))) => Ok(addr),
        Ok(Ok(None)) => Err(format!("{shown} has no address")),
        Ok(Err(_)) => Err(format!("{shown} does not resolve")),
        Err(_) => Err(format!(
            "{shown} did not resolve within {} ms",
            deadline.as_millis()
        )),
    }
}

/// A token from the metadata service or the mounted file (already masked).
pub(crate) struct Token {
    pub(crate) access_token: Secret,
    pub(crate) expires_at: Option<SystemTime>,
}

impl Obtain for Probe {
    fn kind(&self) -> PasswordKind {
        PasswordKind::Exchanged
    }

    fn describe(&self, _env: &Env) -> (String, Option<Iam>) {
        let detail = format!(
            "the service account attached to this VM: login takes its token from {} (else {}) and exchanges nothing (user {})",
            self.url,
            self.token_file.display(),
            super::NEBIUS_USERNAME
        );
        (detail, None)
    }

    /// The service's tokens are cached by its URL; the mounted file's (no known expiry) are not.
    fn cache_identity(&self, _env: &Env) -> Result<Option<CacheIdentity>> {
        Ok(Some(CacheIdentity {
            service_account_id: CACHE_IDENTITY.to_string(),
            public_key_id: CACHE_IDENTITY.to_string(),
            public_key_sha256: String::new(),
            endpoint: self.url.to_string(),
        }))
    }

    /// The service's answer, else the mounted token file. Nothing is exchanged.
    fn obtain(&self, _env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted> {
        let deadline = if self.forced {
            options.timeout
        } else {
            PROBE_DEADLINE
        };
        let issued_at = SystemTime::now();
        let (token, obtained) = match fetch(&self.url, deadline, ci) {
            Ok(token) => (token, "from the metadata service".to_string()),
            Err(service_failure) => {
                let file = self.token_file.display();
                match read_token_file(&self.token_file, ci)? {
                    Some(token) => (token, format!("from the mounted token {file}")),
                    None if self.forced => bail!(
                        "--auth metadata was chosen, but this machine offers no service-account token: {service_failure:#}, and {file} does not exist: run crlogin on a Nebius VM or Managed Kubernetes node with a service account attached, or choose another --auth source"
                    ),
                    // Nothing else was set either: the short "no credentials" line (doctor says
                    // why the metadata service gave nothing).
                    None => {
                        return Err(crate::no_credentials::NotFound(
                            crate::no_credentials::Wanted::Any,
                        )
                        .into())
                    }
                }
            }
        };
        *self.obtained.lock().unwrap_or_else(|e| e.into_inner()) = obtained;
        Ok(Minted {
            token: token.access_token,
            issued_at,
            expires_at: token.expires_at,
        })
    }

    fn obtained(&self) -> String {
        self.obtained
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Why one attempt failed, and whether another may succeed.
enum Failure {
    Retry(String),
    Fatal(anyhow::Error),
}

/// The token the service at `url` answers, within `deadline` in all (name lookup included).
pub(crate) fn fetch(url: &Url, deadline: Duration, ci: &dyn Ci) -> Result<Token> {
    let started = Instant::now();
    let address = lookup(url, deadline.min(LOOKUP_DEADLINE))
        .map_err(|why| anyhow!("the Nebius metadata service at {url} is not reachable: {why}"))?;
    // Plain http (the real service) trusts no certificate: loading the roots would cost more
    // than the whole request.
    let builder = if url.scheme() == "https" {
        crate::tls::http_client()?
    } else {
        reqwest::Client::builder()
            .user_agent(crate::tls::USER_AGENT)
            .tls_certs_only(std::iter::empty())
    };
    // The answer holds a token: it goes straight to the VM's own service, never via a proxy,
    // and never to wherever a redirect points.
    let client = builder
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(url.host_str().unwrap_or_default(), address)
        .build()
        .context("cannot build the HTTP client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let budget = deadline.saturating_sub(started.elapsed());
            let outcome = match tokio::time::timeout(budget, attempt_once(&client, url, ci)).await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::Retry(format!(
                    "no answer within {} ms",
                    deadline.as_millis()
                ))),
            };
            let reason = match outcome {
                Ok(token) => return Ok(token),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(reason)) => reason,
            };
            let wait = RETRY_WAITS.get(attempt - 1).copied();
            match wait {
                Some(wait) if started.elapsed() + wait < deadline => {
                    tokio::time::sleep(wait).await;
                }
                _ => bail!(
                    "the Nebius metadata service at {url} gave no token ({attempt} {} in {} ms): {reason}",
                    if attempt == 1 { "attempt" } else { "attempts" },
                    started.elapsed().as_millis()
                ),
            }
        }
    })
}

async fn attempt_once(
    client: &reqwest::Client,
    url: &Url,
    ci: &dyn Ci,
) -> std::result::Result<Token, Failure> {
    let mut response = client
        .get(url.clone())
        .header("Metadata", "true")
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| Failure::Retry(super::exchange_http::describe(&e)))?;
    let status = response.status();
    let mut body = Zeroizing::new(Vec::new());
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                let why = super::exchange_http::describe(&e);
                return Err(Failure::Retry(format!("HTTP {status}, then {why}")));
            }
        }
        if body.len() > MAX_BODY {
            return Err(Failure::Fatal(anyhow!(
                "the Nebius metadata service at {url} answered more than 64 KiB, which no token is: check {URL_VAR}"
            )));
        }
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(Failure::Retry(format!("HTTP {status}")));
    }
    if !status.is_success() {
        let hint = match status {
            StatusCode::NOT_FOUND => {
                "attach a service account to this VM, or choose another credential source"
            }
            _ => "check that this is a Nebius VM with a service account attached",
        };
        return Err(Failure::Fatal(anyhow!(
            "the Nebius metadata service at {url} answered HTTP {status}: {hint}"
        )));
    }
    parse_answer(&body, ci)
        .map_err(|e| Failure::Fatal(anyhow!("the Nebius metadata service at {url} {e:#}")))
}

/// The token and its expiry from a 200 answer. Errors never show the token.
fn parse_answer(body: &[u8], ci: &dyn Ci) -> Result<Token> {
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: Option<String>,
        expires_at: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|_| anyhow!("answered a body that is not the token JSON"))?;
    let token = Zeroizing::new(answer.access_token.unwrap_or_default());
    if token.trim().is_empty() {
        bail!("answered no access_token");
    }
    let access_token = checked_token(token.trim(), ci)
        .context("answered an access_token with spaces or control characters")?;
    let expires_at = answer.expires_at.context("answered no expires_at")?;
    let shown = quoted(&expires_at.replace(access_token.expose(), "***"));
    let expires_at = parse_time(&expires_at)
        .with_context(|| format!("answered an expires_at that is not an RFC 3339 time: {shown}"))?;
    let now = SystemTime::now();
    if expires_at <= now {
        bail!("answered a token that has already expired (expires_at {shown}): check this machine's clock");
    }
    // Further off than any token lives is taken as MAX_TOKEN_LIFETIME, as for every exchange.
    let longest = super::expiry_after(now, super::MAX_TOKEN_LIFETIME);
    Ok(Token {
        access_token,
        expires_at: Some(expires_at.min(longest)),
    })
}

/// A token as a registry password: masked, and refused with spaces or control characters.
fn checked_token(token: &str, ci: &dyn Ci) -> Option<Secret> {
    let secret = Secret::new(token.to_string());
    ci.mask(secret.expose());
    (!secret
        .expose()
        .chars()
        .any(|c| c.is_whitespace() || c.is_control()))
    .then_some(secret)
}

/// An RFC 3339 time as a `SystemTime`; times before 1970 or beyond `SystemTime` are errors.
fn parse_time(text: &str) -> Result<SystemTime> {
    let time =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|e| anyhow!("{e}"))?;
    let nanos = u128::try_from(time.unix_timestamp_nanos()).map_err(|_| anyhow!("before 1970"))?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| anyhow!("too far ahead"))?;
    let subsec = u32::try_from(nanos % 1_000_000_000).map_err(|_| anyhow!("too far ahead"))?;
    UNIX_EPOCH
        .checked_add(Duration::new(secs, subsec))
        .context("too far ahead")
}

/// The mounted token, whitespace around it stripped; `None` when the file does not exist.
fn read_token_file(path: &Path, ci: &dyn Ci) -> Result<Option<Token>> {
    let shown = path.display();
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => bail!("cannot read the mounted token {shown}: {}", e.kind()),
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        bail!("the mounted token {shown} is not a regular file: remove it, or set {TOKEN_FILE_VAR} to the token file");
    }
    let text = read_text(file, MAX_BODY as u64).map_err(|e| match e {
        TextError::Io(kind) => anyhow!("cannot read the mounted token {shown}: {kind}"),
        TextError::TooLarge => anyhow!("the mounted token {shown} is larger than 64 KiB, which no token is: set {TOKEN_FILE_VAR} to the token file"),
        TextError::NotUtf8 => anyhow!("the mounted token {shown} is not UTF-8 text: set {TOKEN_FILE_VAR} to the token file"),
    })?;
    if text.trim().is_empty() {
        bail!("the mounted token {shown} is empty: check the VM's service account, or choose another credential source");
    }
    let access_token = checked_token(text.trim(), ci).with_context(|| {
        format!("the mounted token {shown} holds more than one line or word, which no token does")
    })?;
    Ok(Some(Token {
        access_token,
        expires_at: None,
    }))
}

/// Whether `source` (a [`NebiusInput`]'s) is this source's, for `doctor`.
pub fn is_source(source: &str) -> bool {
    source == SOURCE_NAME
}

/// What `crlogin doctor` says about this machine's metadata source: which of the two places
/// gives a usable token (never the token itself), or why neither does. `ci` should not mask:
/// doctor prints no token.
pub fn check(env: &Env, ci: &dyn Ci) -> Result<String, String> {
    let probe = probe(env, true)
        .map_err(|e| format!("{e:#}"))?
        .expect("a forced probe always applies");
    let service = fetch(&probe.url, PROBE_DEADLINE, ci).map_err(|e| one_line(&format!("{e:#}")));
    let file = probe.token_file.display();
    match service {
        Ok(token) => Ok(format!(
            "the Nebius metadata service at {} answers a service-account token; expires {}",
            probe.url,
            crate::expiry::shown(token.expires_at)
        )),
        Err(why) => match read_token_file(&probe.token_file, ci) {
            Ok(Some(_)) => Ok(format!("the mounted token {file} holds a token ({why})")),
            Ok(None) => Err(format!("{why}; {file} does not exist")),
            Err(e) => Err(format!("{why}; {e:#}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl Ci for Quiet {
        fn name(&self) -> &'static str {
            "test"
        }
        fn mask(&self, _value: &str) {}
    }

    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn expires_at_is_rfc_3339_with_any_offset() {
        assert_eq!(
            secs(parse_time("2026-12-01T12:00:00Z").unwrap()),
            1_796_126_400
        );
        assert_eq!(
            secs(parse_time("2026-12-01T14:00:00.123456789+02:00").unwrap()),
            1_796_126_400
        );
        for bad in [
            "",
            "next tuesday",
            "2026-12-01",
            "1969-12-31T23:59:59Z",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_answer_needs_a_clean_token_and_a_future_expiry() {
        let future =
            humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(600));
        let ok = format!(r#"{{"access_token":"v1.abc","expires_at":"{future}"}}"#);
        let token = parse_answer(ok.as_bytes(), &Quiet).unwrap();
        assert_eq!(token.access_token.expose(), "v1.abc");
        for (body, message) in [
            ("not json".to_string(), "not the token JSON"),
            (format!(r#"{{"expires_at":"{future}"}}"#), "no access_token"),
            (
                format!(r#"{{"access_token":"a b","expires_at":"{future}"}}"#),
                "spaces",
            ),
            (r#"{"access_token":"v1.abc"}"#.to_string(), "no expires_at"),
            (
                r#"{"access_token":"v1.abc","expires_at":"2001-01-01T00:00:00Z"}"#.to_string(),
                "already expired",
            ),
            (
                r#"{"access_token":"v1.abc","expires_at":"v1.abc soon"}"#.to_string(),
                "RFC 3339 time: \"*** soon\"",
            ),
        ] {
            let err = format!("{:#}", parse_answer(body.as_bytes(), &Quiet).err().unwrap());
            assert!(err.contains(message), "{body}: {err}");
            assert!(!err.contains("v1.abc"), "{err}");
        }
    }

    #[test]
    fn the_url_override_is_an_http_url_with_a_host() {
        assert_eq!(endpoint(None).unwrap().as_str(), DEFAULT_URL);
        assert_eq!(
            endpoint(Some(" http://127.0.0.1:8080/t "))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/t"
        );
        for bad in [
            "metadata",
            "ftp://x/",
            "http://user:pw@x/",
            "file:///etc/passwd",
        ] {
            assert!(endpoint(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_ip_host_needs_no_lookup_and_a_bad_name_fails_fast() {
        let url = Url::parse("http://[::1]:81/x").unwrap();
        assert_eq!(
            lookup(&url, Duration::ZERO).unwrap().to_string(),
            "[::1]:81"
        );
        let url = Url::parse("http://name.invalid/x").unwrap();
        assert!(lookup(&url, LOOKUP_DEADLINE).is_err());
    }
}
