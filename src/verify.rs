//! `--verify`: asks each registry whether it accepts the credential, the way docker login does
//! (registry API v2): `GET /v2/`, then Basic auth, or the Bearer challenge's token realm with
//! Basic auth and `/v2/` again with that token. All registries are checked at once, before
//! anything is written. A registry that cannot be reached, times out, or answers 5xx or 429 is
//! asked again after a bounded exponential backoff (its `Retry-After` honoured up to the bound),
//! within the whole check's deadline.

use crate::auth::exchange_http::{retry_after, retry_wait};
use crate::ci::quoted;
use crate::connect_error::Cause;
use anyhow::{anyhow, Context, Result};
use reqwest::{header::WWW_AUTHENTICATE, Client, Response, StatusCode, Url};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use url::Host;
use zeroize::Zeroizing;

/// One registry to check, owning copies of what the request needs (zeroed on drop).
pub struct Check {
    /// The registry host.
    pub host: String,
    /// The username.
    pub username: String,
    /// The password or token.
    pub secret: Zeroizing<String>,
}

/// How long the checks may take and how often a registry is asked again.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// One attempt at one registry (the HTTPS try, the loopback HTTP fallback, a token realm):
    /// `--verify-timeout`.
    pub attempt: Duration,
    /// Every attempt at every registry, waits included: `--timeout`.
    pub total: Duration,
    /// How many times an unreachable, slow, 5xx or 429 registry is asked again: `--retries`.
    pub retries: u32,
}

/// Why one attempt failed: for good (the registry refused the credential, or is not a
/// registry), or in a way worth another attempt (with the server's `Retry-After`, if any).
enum Failure {
    Final(anyhow::Error),
    Retry(anyhow::Error, Option<Duration>),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Final(error)
    }
}

/// Checks every registry concurrently; returns each host with its outcome, in input order.
pub fn verify_all(checks: Vec<Check>, limits: Limits) -> Result<Vec<(String, Result<()>)>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = client(limits.attempt)?;
    let deadline = Instant::now() + limits.total;
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, check) in checks.into_iter().enumerate() {
            let client = client.clone();
            tasks.spawn(async move {
                let outcome = verify_with_retries(&client, &check, limits, deadline).await;
                (index, check.host, outcome)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.context("a verify task failed")?);
        }
        results.sort_by_key(|(index, _, _)| *index);
        Ok(results
            .into_iter()
            .map(|(_, host, outcome)| (host, outcome))
            .collect())
    })
}

/// Asks one registry until it answers for good, the retries are spent or the deadline is near.
async fn verify_with_retries(
    client: &Client,
    check: &Check,
    limits: Limits,
    deadline: Instant,
) -> Result<()> {
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let bound = limits
            .attempt
            .min(deadline.saturating_duration_since(Instant::now()));
        let outcome = match tokio::time::timeout(bound, verify_one(client, check, bound)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::Retry(no_answer(bound), None)),
        };
        let (error, server_wait) = match outcome {
            Ok(()) => return Ok(()),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Retry(error, wait)) => (error, wait),
        };
        let gave_up = |why: &str| {
            if attempt == 1 && why.is_empty() {
                return error;
            }
            anyhow!(
                "{error:#} (gave up after {attempt} {} in {:.1} s{why}: allow more with --retries and --timeout)",
                if attempt == 1 { "attempt" } else { "attempts" },
                started.elapsed().as_secs_f64()
            )
        };
        if attempt > limits.retries {
            return Err(gave_up(""));
        }
        let wait = retry_wait(attempt).max(server_wait.unwrap_or_default());
        if Instant::now() + wait >= deadline {
            return Err(gave_up(&format!(
                ", before the {} s --timeout",
                limits.total.as_secs()
            )));
        }
        tokio::time::sleep(wait).await;
    }
}

/// The HTTP client registry checks use: each request bounded by `timeout`.
pub(crate) fn client(timeout: Duration) -> Result<Client> {
    crate::tls::http_client()?
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")
}

async fn verify_one(
    client: &Client,
    check: &Check,
    timeout: Duration,
) -> std::result::Result<(), Failure> {
    let (url, first) = ping(client, api_host(&check.host)).await.map_err(|e| {
        let transient = !matches!(crate::connect_error::cause(&e).0, Cause::Tls | Cause::Dns);
        let error = unreachable(&format!("https://{}/v2/", check.host), e, timeout);
        match transient {
            true => Failure::Retry(error, None),
            false => Failure::Final(error),
        }
    })?;
    if first.status().is_success() {
        return Ok(()); // The registry allows anonymous access; there is nothing more to ask.
    }
    busy(&url, &first)?;
    if first.status() != StatusCode::UNAUTHORIZED {
        return Err(Failure::Final(anyhow!(
            "{url} answered HTTP {}, not 401 or 200: is this a container registry?",
            first.status()
        )));
    }
    let challenge = first
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Basic")
        .to_string();
    let answer = if challenge
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("bearer")
    {
        let token = bearer_token(client, &challenge, check, &url).await?;
        client.get(&url).bearer_auth(token.as_str()).send().await
    } else {
        client
            .get(&url)
            .basic_auth(&check.username, Some(check.secret.as_str()))
            .send()
            .await
    }
    .map_err(|e| Failure::Retry(anyhow!(e).context(format!("cannot reach {url}")), None))?;
    busy(&url, &answer)?;
    match answer.status() {
        s if s.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(Failure::Final(anyhow!(
            "the registry rejected the credential (HTTP {}): check the username and secret",
            answer.status()
        ))),
        s => Err(Failure::Final(anyhow!(
            "{url} answered HTTP {s} to the credential"
        ))),
    }
}

/// Where a registry's API answers: Docker Hub's at registry-1.docker.io, as docker asks it.
fn api_host(host: &str) -> &str {
    match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// A 5xx or 429 answer: worth asking again, after the server's `Retry-After` if it gave one.
fn busy(url: &str, response: &Response) -> std::result::Result<(), Failure> {
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(Failure::Retry(
            anyhow!("{url} answered HTTP {status}"),
            retry_after(response.headers()),
        ));
    }
    Ok(())
}

/// `GET /v2/` over HTTPS; on this machine's loopback, over plain HTTP when HTTPS fails (as docker
/// treats loopback registries as insecure) and HTTP answers like a registry. Otherwise the HTTPS
/// error stands, since it names the real problem (an untrusted certificate, say); it is returned
/// as is, for the caller to explain.
pub(crate) async fn ping(
    client: &Client,
    host: &str,
) -> std::result::Result<(String, Response), reqwest::Error> {
    let https = format!("https://{host}/v2/");
    let first_error = match client.get(&https).send().await {
        Ok(resp) => return Ok((https, resp)),
        Err(e) => e,
    };
    if crate::registry::is_loopback(host) {
        let http = format!("http://{host}/v2/");
        if let Ok(resp) = client.get(&http).send().await {
            let status = resp.status();
            if status.is_success()
                || status == StatusCode::UNAUTHORIZED
                || status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
            {
                return Ok((http, resp));
            }
        }
    }
    Err(first_error)
}

/// Why `url` could not be asked, with what to do about it: a refused connection and a timeout
/// say so plainly; anything else (TLS, DNS) keeps reqwest's causes.
fn unreachable(url: &str, error: reqwest::Error, timeout: Duration) -> anyhow::Error {
    match crate::connect_error::cause(&error).0 {
        Cause::Timeout => no_answer(timeout),
        Cause::Refused => anyhow!("nothing listens there (connection refused): check that the registry is running and that its host and port are right"),
        _ => anyhow!(error).context(format!(
            "cannot reach {url} (for a private CA, set SSL_CERT_FILE to its PEM bundle)"
        )),
    }
}

/// A registry that did not answer within `timeout` (the caller names the registry).
fn no_answer(timeout: Duration) -> anyhow::Error {
    anyhow!(
        "no answer within {} s: check that the registry is up and reachable from here, or allow more with --verify-timeout",
        (timeout.as_secs_f64() * 10.0).round() / 10.0
    )
}

/// Follows a Bearer challenge: asks its realm for a token with Basic auth.
async fn bearer_token(
    client: &Client,
    challenge: &str,
    check: &Check,
    registry_url: &str,
) -> std::result::Result<Zeroizing<String>, Failure> {
    let params = challenge_params(challenge);
    let realm = params
        .iter()
        .find(|(k, _)| k == "realm")
        .map(|(_, v)| v.clone())
        .context("the registry's Bearer challenge has no realm")?;
    let realm = Url::parse(&realm).map_err(|_| {
        anyhow!(
            "the registry's token realm {} is not a URL: check the registry",
            quoted(&realm)
        )
    })?;
    if let Some(why) = realm_refusal(registry_url, &realm) {
        return Err(Failure::Final(anyhow!(
            "the registry names the token realm {}, {why}: crlogin does not send the credential there (a registry could use this to steal it, the CVE-2020-15157 class); if the registry is yours, fix its token auth realm",
            quoted(realm.as_str())
        )));
    }
    let mut query: Vec<(&str, &str)> = vec![("account", check.username.as_str())];
    if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
        query.push(("service", service));
    }
    let resp = client
        .get(realm.clone())
        .query(&query)
        .basic_auth(&check.username, Some(check.secret.as_str()))
        .send()
        .await
        .map_err(|e| {
            Failure::Retry(
                anyhow!(e).context(format!(
                    "cannot reach the token service {}",
                    quoted(realm.as_str())
                )),
                None,
            )
        })?;
    busy(&quoted(realm.as_str()), &resp)?;
    if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
        return Err(Failure::Final(anyhow!("the registry's token service rejected the credential (HTTP {}): check the username and secret", resp.status())));
    }
    if !resp.status().is_success() {
        return Err(Failure::Final(anyhow!(
            "the token service {} answered HTTP {}",
            quoted(realm.as_str()),
            resp.status()
        )));
    }
    let body = crate::tls::answer_within_limit(resp)
        .await
        .context("the token service broke off its answer")?
        .with_context(|| {
            format!(
                "the token service {} answered more than 64 KiB, which no token is: check the registry's token service",
                quoted(realm.as_str())
            )
        })?;
    let body: serde_json::Value = serde_json::from_slice(&body)
        .context("the token service answered something that is not JSON")?;
    let token = body
        .get("token")
        .or_else(|| body.get("access_token"))
        .and_then(|t| t.as_str())
        .context("the token service answered no token")?;
    Ok(Zeroizing::new(token.to_string()))
}

/// Why the credential must not go to the token `realm` a registry at `registry_url` named, if
/// it must not (as recent go-containerregistry refuses such realms): a scheme other than
/// http(s); plain http named by a registry reached over https; no host; a link-local address
/// (169.254.0.0/16, fe80::/10: the cloud metadata services) or a `metadata` host name; an
/// unspecified address; a loopback or private address (RFC 1918, CGNAT 100.64.0.0/10, which
/// holds some clouds' metadata services, IPv6 unique-local) named by a registry that is on
/// neither. Host names are judged as written, not as they resolve. A realm on another public
/// host over https (Docker Hub's is auth.docker.io) is normal.
fn realm_refusal(registry_url: &str, realm: &Url) -> Option<&'static str> {
    let registry = Url::parse(registry_url).ok()?;
    match realm.scheme() {
        "https" => {}
        "http" if registry.scheme() == "http" => {}
        "http" => return Some("plain http named by a registry reached over https"),
        _ => return Some("which is not an http(s) URL"),
    }
    let Some(host) = realm.host() else {
        return Some("which names no host");
    };
    let place = |host: &Host<&str>| -> Place {
        match host {
            Host::Domain(name) => {
                let name = name.to_ascii_lowercase();
                if name == "metadata" || name.starts_with("metadata.") {
                    Place::LinkLocal
                } else if name == "localhost" || name.ends_with(".localhost") {
                    Place::Local
                } else {
                    Place::Public
                }
            }
            Host::Ipv4(ip) => ip_place(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => ip_place(IpAddr::V6(*ip)),
        }
    };
    match place(&host) {
        Place::LinkLocal => Some("a link-local or cloud metadata address"),
        Place::Unspecified => Some("an unspecified address"),
        Place::Local if registry.host().is_some_and(|h| place(&h) == Place::Public) => {
            Some("a loopback or private address named by a registry that is not on one")
        }
        _ => None,
    }
}

/// Where an address is, for [`realm_refusal`].
#[derive(Debug, PartialEq, Eq)]
enum Place {
    LinkLocal,
    Unspecified,
    /// Loopback or private.
    Local,
    Public,
}

fn ip_place(ip: IpAddr) -> Place {
    match ip.to_canonical() {
        IpAddr::V4(ip) if ip.is_link_local() => Place::LinkLocal,
        IpAddr::V4(ip) if ip.is_unspecified() => Place::Unspecified,
        IpAddr::V4(ip)
            if ip.is_loopback()
                || ip.is_private()
                || (ip.octets()[0] == 100 && ip.octets()[1] & 0xc0 == 64) =>
        {
            Place::Local
        }
        IpAddr::V6(ip) if ip.is_unicast_link_local() => Place::LinkLocal,
        IpAddr::V6(ip) if ip.is_unspecified() => Place::Unspecified,
        IpAddr::V6(ip) if ip.is_loopback() || ip.is_unique_local() => Place::Local,
        _ => Place::Public,
    }
}

/// The `key="value"` pairs of a `WWW-Authenticate` challenge.
fn challenge_params(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge
        .trim_start()
        .split_once(' ')
        .map_or("", |(_, r)| r);
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect::<String>();
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            chars.by_ref().take_while(|&c| c != ',').for_each(drop);
        } else {
            value = chars
                .by_ref()
                .take_while(|&c| c != ',')
                .collect::<String>()
                .trim()
                .to_string();
        }
        params.push((key, value));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// A loopback registry speaking the token flow: `/v2/` answers a Bearer challenge, the realm
    /// gives a token only for alice's password, and `/v2/` accepts only that token. Returns the
    /// host and a handle that yields the `requests` request lines it saw.
    fn token_registry(requests: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{host}/token");
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while seen.len() < requests {
                let mut stream = listener.accept().unwrap().0;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.fill_buf().unwrap().first() == Some(&0x16) {
                    // crlogin's HTTPS attempt (a TLS ClientHello): refuse it so it falls back.
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
                    continue;
                }
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut auth = String::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if line.to_ascii_lowercase().starts_with("authorization:") {
                        auth = line[14..].trim().to_string();
                    }
                }
                // Basic alice:pw-ok, as base64.
                let (status, body, extra) =
                    match (request.split(' ').nth(1).unwrap_or(""), auth.as_str()) {
                        (path, "Basic YWxpY2U6cHctb2s=") if path.starts_with("/token?") => {
                            ("200 OK", r#"{"token":"tok-1"}"#, String::new())
                        }
                        (path, _) if path.starts_with("/token?") => {
                            ("401 Unauthorized", "{}", String::new())
                        }
                        ("/v2/", "Bearer tok-1") => ("200 OK", "{}", String::new()),
                        _ => (
                            "401 Unauthorized",
                            "{}",
                            format!(
                                "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"test\"\r\n"
                            ),
                        ),
                    };
                write!(stream, "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
                seen.push(format!("{} {auth}", request.trim()));
            }
            seen
        });
        (host, handle)
    }

    const LIMITS: Limits = Limits {
        attempt: Duration::from_secs(5),
        total: Duration::from_secs(20),
        retries: 2,
    };

    fn check(host: &str, password: &str) -> Result<()> {
        let check = Check {
            host: host.to_string(),
            username: "alice".into(),
            secret: Zeroizing::new(password.into()),
        };
        verify_all(vec![check], LIMITS).unwrap().pop().unwrap().1
    }

    /// A loopback registry answering its plain-HTTP requests with `answers` in order (a status
    /// and any extra header lines); crlogin's HTTPS tries are refused so it falls back. Returns
    /// the host and a handle that yields the number of requests answered.
    fn scripted_registry<S: Into<String>>(
        answers: Vec<S>,
    ) -> (String, std::thread::JoinHandle<usize>) {
        let answers: Vec<String> = answers.into_iter().map(Into::into).collect();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let mut answered = 0;
            while answered < answers.len() {
                let mut stream = listener.accept().unwrap().0;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.fill_buf().unwrap().first() == Some(&0x16) {
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                write!(
                    stream,
                    "HTTP/1.1 {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    answers[answered]
                )
                .unwrap();
                answered += 1;
            }
            answered
        });
        (host, handle)
    }

    fn check_within(host: &str, limits: Limits) -> Result<()> {
        let check = Check {
            host: host.to_string(),
            username: "alice".into(),
            secret: Zeroizing::new("pw-ok".into()),
        };
        verify_all(vec![check], limits).unwrap().pop().unwrap().1
    }

    #[test]
    fn a_busy_registry_is_asked_again_after_its_retry_after() {
        let (host, server) =
            scripted_registry(vec!["503 Service Unavailable\r\nRetry-After: 1", "200 OK"]);
        let started = Instant::now();
        check_within(&host, LIMITS).unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "Retry-After not honoured"
        );
        assert_eq!(server.join().unwrap(), 2);
    }

    #[test]
    fn retries_are_bounded_by_their_count_and_by_the_deadline() {
        let (host, server) = scripted_registry(vec![
            "429 Too Many Requests",
            "502 Bad Gateway",
            "503 Service Unavailable",
        ]);
        let err = format!("{:#}", check_within(&host, LIMITS).unwrap_err());
        assert!(
            err.contains("answered HTTP 503") && err.contains("gave up after 3 attempts"),
            "{err}"
        );
        assert_eq!(server.join().unwrap(), 3);

        // A Retry-After past the deadline ends the check at once rather than wait past it.
        let (host, server) = scripted_registry(vec!["503 Service Unavailable\r\nRetry-After: 10"]);
        let short = Limits {
            total: Duration::from_secs(3),
            ..LIMITS
        };
        let started = Instant::now();
        let err = format!("{:#}", check_within(&host, short).unwrap_err());
        assert!(err.contains("before the 3 s --timeout"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3), "{err}");
        assert_eq!(server.join().unwrap(), 1);
    }

    #[test]
    fn a_refused_credential_is_not_asked_again() {
        let (host, server) = scripted_registry(vec![
            "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"",
            "401 Unauthorized",
        ]);
        let err = format!("{:#}", check_within(&host, LIMITS).unwrap_err());
        assert!(
            err.contains("rejected the credential (HTTP 401") && !err.contains("gave up"),
            "{err}"
        );
        assert_eq!(server.join().unwrap(), 2);
    }

    #[test]
    fn follows_the_bearer_challenge_to_the_token_realm() {
        let (host, server) = token_registry(3);
        check(&host, "pw-ok").unwrap();
        let seen = server.join().unwrap();
        assert!(seen[0].starts_with("GET /v2/ "), "{seen:?}");
        assert!(
            seen[1].starts_with("GET /token?account=alice&service=test "),
            "{seen:?}"
        );
        assert!(seen[2].ends_with("Bearer tok-1"), "{seen:?}");
    }

    #[test]
    fn a_token_service_refusal_is_reported_without_the_secret() {
        let (host, server) = token_registry(2);
        let err = format!("{:#}", check(&host, "pw-wrong").unwrap_err());
        assert!(
            err.contains("token service rejected the credential (HTTP 401"),
            "{err}"
        );
        assert!(!err.contains("pw-wrong"), "{err}");
        assert!(server.join().unwrap()[1].starts_with("GET /token?"));
    }

    /// A loopback registry whose `/v2/` answers once, with a Bearer challenge naming `realm`.
    fn registry_naming(realm: &str) -> (String, std::thread::JoinHandle<usize>) {
        scripted_registry(vec![format!(
            "401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\",service=\"x\""
        )])
    }

    #[test]
    fn a_registry_naming_the_metadata_service_as_realm_gets_no_credential() {
        for realm in [
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/token",
            "http://[fe80::1]/token",
        ] {
            let (host, server) = registry_naming(realm);
            let err = format!("{:#}", check(&host, "pw-ok").unwrap_err());
            assert!(
                err.contains("a link-local or cloud metadata address")
                    && err.contains("crlogin does not send the credential there"),
                "{realm}: {err}"
            );
            assert!(!err.contains("pw-ok"), "{err}");
            server.join().unwrap();
        }
    }

    #[test]
    fn realms_are_judged_like_go_containerregistry() {
        let refusal =
            |registry: &str, realm: &str| realm_refusal(registry, &Url::parse(realm).unwrap());
        // Normal: another public host over https (Docker Hub), or the registry's own host.
        assert_eq!(
            refusal(
                "https://registry-1.docker.io/v2/",
                "https://auth.docker.io/token"
            ),
            None
        );
        assert_eq!(
            refusal("http://127.0.0.1:5000/v2/", "http://127.0.0.1:5000/token"),
            None
        );
        assert_eq!(
            refusal("https://10.0.0.5/v2/", "https://10.0.0.6/token"),
            None
        );
        assert_eq!(
            refusal("https://localhost:5000/v2/", "https://[::1]:5001/token"),
            None
        );
        for (registry, realm, why) in [
            (
                "https://r.example/v2/",
                "http://auth.example/token",
                "plain http",
            ),
            (
                "https://r.example/v2/",
                "ftp://auth.example/token",
                "not an http(s) URL",
            ),
            (
                "https://r.example/v2/",
                "file:///etc/passwd",
                "not an http(s) URL",
            ),
            (
                "https://r.example/v2/",
                "https://169.254.170.2/v2/credentials",
                "link-local",
            ),
            (
                "http://127.0.0.1:5000/v2/",
                "http://169.254.169.254/",
                "link-local",
            ),
            (
                "https://r.example/v2/",
                "https://METADATA.google.internal/",
                "metadata",
            ),
            (
                "https://r.example/v2/",
                "https://metadata/computeMetadata",
                "metadata",
            ),
            (
                "https://r.example/v2/",
                "https://0.0.0.0/token",
                "unspecified",
            ),
            (
                "https://r.example/v2/",
                "https://127.0.0.1/token",
                "loopback or private",
            ),
            (
                "https://r.example/v2/",
                "https://localhost/token",
                "loopback or private",
            ),
            (
                "https://r.example/v2/",
                "https://10.1.2.3/token",
                "loopback or private",
            ),
            (
                "https://r.example/v2/",
                "https://192.168.1.1/token",
                "loopback or private",
            ),
            (
                "https://r.example/v2/",
                "https://100.100.100.200/token",
                "loopback or private",
            ),
            (
                "https://r.example/v2/",
                "https://[fd00::1]/token",
                "loopback or private",
            ),
            (
                "https://r.example/v2/",
                "https://[::ffff:10.0.0.1]/token",
                "loopback or private",
            ),
            (
                "https://8.8.8.8/v2/",
                "https://[::1]/token",
                "loopback or private",
            ),
        ] {
            let got = refusal(registry, realm).unwrap_or_default();
            assert!(got.contains(why), "{registry} -> {realm}: {got:?}");
        }
    }

    #[test]
    fn parses_bearer_challenge() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
        assert_eq!(p[2].0, "scope");
        let p = challenge_params(r#"Bearer realm=https://a/t, service="s\"x""#);
        assert_eq!(
            p,
            [
                ("realm".into(), "https://a/t".into()),
                ("service".into(), "s\"x".into())
            ]
        );
    }
}
