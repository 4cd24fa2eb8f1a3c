//! `--verify`: asks each registry whether it accepts the credential, the way docker login does
//! (registry API v2): `GET /v2/`, then Basic auth, or the Bearer challenge's token realm with
//! Basic auth and `/v2/` again with that token. All registries are checked at once.

use crate::connect_error::Cause;
use anyhow::{anyhow, bail, Context, Result};
use reqwest::{header::WWW_AUTHENTICATE, Client, Response, StatusCode};
use std::time::Duration;
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

/// Checks every registry concurrently; returns each host with its outcome, in input order.
pub fn verify_all(checks: Vec<Check>, timeout: Duration) -> Result<Vec<(String, Result<()>)>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = client(timeout)?;
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, check) in checks.into_iter().enumerate() {
            let client = client.clone();
            tasks.spawn(async move {
                // The client's timeout bounds each request; this bounds the whole check (the
                // HTTPS try, the loopback HTTP fallback, a token realm), as --verify-timeout says.
                let outcome =
                    match tokio::time::timeout(timeout, verify_one(&client, &check, timeout)).await
                    {
                        Ok(outcome) => outcome,
                        Err(_) => Err(no_answer(timeout)),
                    };
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

/// The HTTP client registry checks use: each request bounded by `timeout`.
pub(crate) fn client(timeout: Duration) -> Result<Client> {
    crate::tls::http_client()
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")
}

async fn verify_one(client: &Client, check: &Check, timeout: Duration) -> Result<()> {
    let (url, first) = ping(client, &check.host)
        .await
        .map_err(|e| unreachable(&format!("https://{}/v2/", check.host), e, timeout))?;
    if first.status().is_success() {
        return Ok(()); // The registry allows anonymous access; there is nothing more to ask.
    }
    if first.status() != StatusCode::UNAUTHORIZED {
        bail!(
            "{url} answered HTTP {}, not 401 or 200: is this a container registry?",
            first.status()
        );
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
        let token = bearer_token(client, &challenge, check).await?;
        client.get(&url).bearer_auth(token.as_str()).send().await
    } else {
        client
            .get(&url)
            .basic_auth(&check.username, Some(check.secret.as_str()))
            .send()
            .await
    }
    .with_context(|| format!("cannot reach {url}"))?;
    match answer.status() {
        s if s.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            bail!(
                "the registry rejected the credential (HTTP {}): check the username and secret",
                answer.status()
            )
        }
        s => bail!("{url} answered HTTP {s} to the credential"),
    }
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
            if resp.status().is_success() || resp.status() == StatusCode::UNAUTHORIZED {
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
        timeout.as_secs_f64()
    )
}

/// Follows a Bearer challenge: asks its realm for a token with Basic auth.
async fn bearer_token(
    client: &Client,
    challenge: &str,
    check: &Check,
) -> Result<Zeroizing<String>> {
    let params = challenge_params(challenge);
    let realm = params
        .iter()
        .find(|(k, _)| k == "realm")
        .map(|(_, v)| v.clone())
        .context("the registry's Bearer challenge has no realm")?;
    let mut query: Vec<(&str, &str)> = vec![("account", check.username.as_str())];
    if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
        query.push(("service", service));
    }
    let resp = client
        .get(&realm)
        .query(&query)
        .basic_auth(&check.username, Some(check.secret.as_str()))
        .send()
        .await
        .with_context(|| format!("cannot reach the token service {realm}"))?;
    if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
        bail!("the registry's token service rejected the credential (HTTP {}): check the username and secret", resp.status());
    }
    if !resp.status().is_success() {
        bail!("the token service {realm} answered HTTP {}", resp.status());
    }
    let body: serde_json::Value = resp
        .json()
        .await
        .context("the token service answered something that is not JSON")?;
    let token = body
        .get("token")
        .or_else(|| body.get("access_token"))
        .and_then(|t| t.as_str())
        .context("the token service answered no token")?;
    Ok(Zeroizing::new(token.to_string()))
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

    fn check(host: &str, password: &str) -> Result<()> {
        let check = Check {
            host: host.to_string(),
            username: "alice".into(),
            secret: Zeroizing::new(password.into()),
        };
        verify_all(vec![check], Duration::from_secs(5))
            .unwrap()
            .pop()
            .unwrap()
            .1
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
