//! The Nebius token exchange over HTTP (RFC 8693): a signed JWT in, an IAM access token out.
//!
//! Network errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff and jitter,
//! within a number of attempts and a total deadline. Any other answer is final: a 4xx fails at
//! once with the server's `error` and `error_description`. Nothing sent (the JWT) is ever shown.

use super::authorized_key::AuthorizedKey;
use crate::ci::{one_line, Ci};
use crate::secrets::Secret;
use anyhow::{anyhow, bail, Context, Result};
use reqwest::{header, Client, StatusCode, Url};
use serde_json::Value;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant, SystemTime};

/// The Nebius authorization endpoint used when `NEBIUS_AUTH_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://auth.eu.nebius.com:443";

const PATH: &str = "/oauth2/token/exchange";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The first retry waits about this long; each further one twice as long, up to [`MAX_DELAY`].
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// The longest one attempt may take, so a hung connection leaves time for another attempt.
const MAX_ATTEMPT: Duration = Duration::from_secs(10);
/// A JWT older than this is signed anew before an attempt (it lives 60 s).
const RESIGN_AFTER: Duration = Duration::from_secs(30);
/// Longer `NEBIUS_AUTH_ENDPOINT` values are not a base URL (and would flood every message).
const MAX_ENDPOINT: usize = 2048;
/// Larger answers are not a token response.
const MAX_BODY: usize = 64 * 1024;

/// Where and how patiently to exchange.
#[derive(Debug, Clone)]
pub struct Options {
    /// The endpoint's base URL (scheme, host, port), e.g. `https://auth.eu.nebius.com:443`.
    pub endpoint: Url,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The deadline for the whole exchange, retries included.
    pub timeout: Duration,
}

/// A minted access token.
#[derive(Debug)]
pub struct Token {
    /// The IAM access token (already masked).
    pub access_token: Secret,
    /// When the exchange answered.
    pub issued_at: SystemTime,
    /// How long the token lives from `issued_at`.
    pub lifetime: Duration,
}

/// Parses `NEBIUS_AUTH_ENDPOINT` (or the default): `https://host[:port]`, or `host[:port]`
/// meaning https; plain `http://` only for a loopback host.
pub fn parse_endpoint(value: Option<&str>) -> Result<Url> {
    let value = value.map(str::trim).unwrap_or(DEFAULT_ENDPOINT);
    if value.len() > MAX_ENDPOINT {
        bail!("NEBIUS_AUTH_ENDPOINT is longer than {MAX_ENDPOINT} bytes: set it like {DEFAULT_ENDPOINT}");
    }
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        anyhow!("NEBIUS_AUTH_ENDPOINT is not a URL ({e}): set it like {DEFAULT_ENDPOINT}")
    })?;
    let host = url.host_str().unwrap_or_default();
    let loopback = crate::registry::is_loopback(host);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => bail!("NEBIUS_AUTH_ENDPOINT uses plain http, which would send the key's JWT unencrypted: use https://"),
        other => bail!("NEBIUS_AUTH_ENDPOINT has scheme {other}: use https://"),
    }
    if host.is_empty() || !url.username().is_empty() || url.password().is_some() {
        bail!("NEBIUS_AUTH_ENDPOINT must be https://host[:port] with no user or password, like {DEFAULT_ENDPOINT}");
    }
    Ok(url)
}

/// The exchange URL under an endpoint.
pub(crate) fn exchange_url(endpoint: &Url) -> Result<Url> {
    let base = endpoint.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}{PATH}")).context("cannot build the token exchange URL")
}

/// Why one attempt failed, and whether another may succeed.
enum Failure {
    Retry {
        reason: String,
        wait: Option<Duration>,
    },
    Fatal(anyhow::Error),
}

/// Exchanges a JWT signed with `key` for an access token, masking the JWT and the token.
pub fn exchange(key: &AuthorizedKey, options: &Options, ci: &dyn Ci) -> Result<Token> {
    let url = exchange_url(&options.endpoint)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = crate::tls::http_client()?
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.timeout.min(MAX_ATTEMPT))
        .build()
        .context("cannot build the HTTP client")?;
    runtime.block_on(run(&client, &url, key, options, ci))
}

async fn run(
    client: &Client,
    url: &Url,
    key: &AuthorizedKey,
    options: &Options,
    ci: &dyn Ci,
) -> Result<Token> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let attempts = options.retries.saturating_add(1);
    let mut jwt: Option<(Secret, Instant)> = None;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if jwt
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() > RESIGN_AFTER)
        {
            jwt = Some((key.sign_jwt(SystemTime::now(), ci)?, Instant::now()));
        }
        let subject = &jwt.as_ref().expect("signed above").0;
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .min(MAX_ATTEMPT);
        let outcome =
            match tokio::time::timeout(budget, attempt_once(client, url, subject, ci)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::Retry {
                    reason: format!("no answer within {}", seconds(budget)),
                    wait: None,
                }),
            };
        let (reason, server_wait) = match outcome {
            Ok(token) => return Ok(token),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Retry { reason, wait }) => (reason, wait),
        };
        let elapsed = seconds(started.elapsed());
        let give_up = |why: &str| {
            anyhow!(
                "the Nebius token exchange at {url} failed {why} ({attempt} {} in {elapsed}); last error: {reason}: check the network and NEBIUS_AUTH_ENDPOINT, or allow more with --timeout/CRLOGIN_TIMEOUT and --retries/CRLOGIN_RETRIES",
                if attempt == 1 { "attempt" } else { "attempts" }
            )
        };
        if attempt >= attempts {
            return Err(give_up("on every attempt"));
        }
        let wait = backoff(attempt, jitter()).max(server_wait.unwrap_or_default());
        if Instant::now() + wait >= deadline {
            return Err(give_up(&format!(
                "within the {} deadline",
                seconds(options.timeout)
            )));
        }
        ci.note(&format!(
            "crlogin: token exchange attempt {attempt} of {attempts} failed ({reason}); retrying in {}",
            seconds(wait)
        ));
        tokio::time::sleep(wait).await;
    }
}

async fn attempt_once(
    client: &Client,
    url: &Url,
    jwt: &Secret,
    ci: &dyn Ci,
) -> std::result::Result<Token, Failure> {
    let form = [
        ("grant_type", GRANT_TYPE),
        ("requested_token_type", ACCESS_TOKEN_TYPE),
        ("subject_token", jwt.expose()),
        ("subject_token_type", JWT_TYPE),
    ];
    let response = client
        .post(url.clone())
        .header(header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| Failure::Retry {
            reason: describe(&e),
            wait: None,
        })?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let issued_at = SystemTime::now();
    let body = read_body(response).await.map_err(|e| Failure::Retry {
        reason: format!("HTTP {status}, then {}", describe(&e)),
        wait: None,
    })?;
    if status.is_success() {
        return parse_token(&body, issued_at, ci).map_err(Failure::Fatal);
    }
    let refusal = refusal(&body, jwt.expose());
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(Failure::Retry {
            reason: format!("HTTP {status}{refusal}"),
            wait: retry_after,
        });
    }
    let hint = match status.as_u16() {
        400 | 401 | 403 => "check that the key's public key is registered for the service account and not expired or deleted, and that the system clock is right",
        _ if status.is_redirection() => "set NEBIUS_AUTH_ENDPOINT to the authorization endpoint itself",
        _ => "check NEBIUS_AUTH_ENDPOINT",
    };
    Err(Failure::Fatal(anyhow!(
        "the Nebius token exchange at {url} refused: HTTP {status}{refusal}: {hint}"
    )))
}

/// A response body, up to [`MAX_BODY`] bytes (more is cut off; no token response is that big).
async fn read_body(mut response: reqwest::Response) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            body.truncate(MAX_BODY);
            break;
        }
    }
    Ok(body)
}

/// `: error: description` from an RFC 6749 error body, cut to one short line; the JWT, should a
/// server echo it, is blanked. Empty when the body has neither field.
fn refusal(body: &[u8], jwt: &str) -> String {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let text = |name: &str| doc.get(name).and_then(Value::as_str).map(str::trim);
    let parts: Vec<&str> = [text("error"), text("error_description")]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    let mut line = one_line(&parts.join(": ")).replace(jwt, "***");
    if line.chars().count() > 300 {
        line = line.chars().take(300).collect::<String>() + "...";
    }
    format!(": {line}")
}

/// The token from a 2xx body: `access_token`, `expires_in` seconds, and `token_type` Bearer
/// (any case) when present. Errors never show the body, which holds the token.
fn parse_token(body: &[u8], issued_at: SystemTime, ci: &dyn Ci) -> Result<Token> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|_| anyhow!("the Nebius token exchange answered success with a body that is not JSON: check NEBIUS_AUTH_ENDPOINT"))?;
    let token = doc
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .context(
            "the Nebius token exchange answered no access_token: check NEBIUS_AUTH_ENDPOINT",
        )?;
    let access_token = Secret::new(token.to_string());
    ci.mask(access_token.expose());
    if access_token
        .expose()
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        bail!("the Nebius token exchange answered an access_token with spaces or control characters, which no registry accepts");
    }
    match doc.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(_) => bail!(
            "the Nebius token exchange answered a token_type other than Bearer: check NEBIUS_AUTH_ENDPOINT"
        ),
    }
    let lifetime = doc
        .get("expires_in")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .filter(|&s| s > 0)
        .context(
            "the Nebius token exchange answered no positive expires_in: check NEBIUS_AUTH_ENDPOINT",
        )?;
    Ok(Token {
        access_token,
        issued_at,
        lifetime: Duration::from_secs(lifetime).min(crate::auth::MAX_TOKEN_LIFETIME),
    })
}

/// A one-line reason for a failed request, without the request itself.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {}", one_line(&detail))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored), capped at [`MAX_DELAY`] * 2.
pub(crate) fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_DELAY * 2))
}

/// The wait before retry number `retry` (1-based), with jitter: the policy every exchange uses.
pub(crate) fn retry_wait(retry: u32) -> Duration {
    backoff(retry, jitter())
}

/// The wait before retry number `retry` (1-based): `BASE_DELAY` doubled per retry, capped at
/// `MAX_DELAY`, then scaled by `jitter` in [0.5, 1] ("equal jitter"), so parallel jobs spread out.
fn backoff(retry: u32, jitter: f64) -> Duration {
    let exponential = BASE_DELAY.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    exponential.min(MAX_DELAY).mul_f64(jitter.clamp(0.5, 1.0))
}

/// A number in [0.5, 1] from the standard library's per-process random hash keys: enough to
/// spread retries, and no randomness crate is needed for it.
fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    0.5 + (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64 / 2.0
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::detect;
    use crate::env::Env;

    #[test]
    fn endpoint_must_be_https_except_on_loopback() {
        assert_eq!(
            exchange_url(&parse_endpoint(None).unwrap())
                .unwrap()
                .as_str(),
            "https://auth.eu.nebius.com/oauth2/token/exchange"
        );
        assert_eq!(
            exchange_url(&parse_endpoint(Some("auth.example:8443/")).unwrap())
                .unwrap()
                .as_str(),
            "https://auth.example:8443/oauth2/token/exchange"
        );
        assert!(parse_endpoint(Some("http://127.0.0.1:8080")).is_ok());
        let err = parse_endpoint(Some("http://auth.example"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain http"), "{err}");
        assert!(parse_endpoint(Some("https://u:p@auth.example")).is_err());
        assert!(parse_endpoint(Some("ftp://auth.example")).is_err());
    }

    #[test]
    fn backoff_grows_from_a_small_base_and_is_capped() {
        assert_eq!(backoff(1, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(2, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(3, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(30, 1.0), MAX_DELAY);
        for _ in 0..100 {
            let j = jitter();
            assert!((0.5..=1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn token_response_is_checked_without_showing_it() {
        let ci = detect(&Env::default());
        let now = SystemTime::now();
        let parse = |body: &str| parse_token(body.as_bytes(), now, ci.as_ref());
        let token =
            parse(r#"{"access_token":"v1.abc","token_type":"bearer","expires_in":43200}"#).unwrap();
        assert_eq!(token.access_token.expose(), "v1.abc");
        assert_eq!(token.lifetime, Duration::from_secs(43200));
        for (body, want) in [
            (
                r#"{"access_token":"v1.abc","token_type":"MAC","expires_in":1}"#,
                "other than Bearer",
            ),
            (r#"{"access_token":"v1.abc"}"#, "no positive expires_in"),
            (
                r#"{"access_token":"v1.abc","expires_in":0}"#,
                "no positive expires_in",
            ),
            (r#"{"expires_in":5}"#, "no access_token"),
            ("v1.abc", "not JSON"),
        ] {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.contains(want), "{body}: {err}");
            assert!(!err.contains("v1.abc"), "{err}");
        }
    }

    #[test]
    fn refusal_is_one_short_line_without_the_jwt() {
        let body = br#"{"error":"invalid_grant","error_description":"bad jwt eyJ.x.y\nline"}"#;
        assert_eq!(
            refusal(body, "eyJ.x.y"),
            ": invalid_grant: bad jwt *** line"
        );
        assert_eq!(refusal(b"<html>", "j"), "");
        assert_eq!(refusal(br#"{"error":"x"}"#, "j"), ": x");
    }
}
