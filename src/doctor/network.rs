//! What `login` would talk to: the IAM endpoint (any HTTP answer means reachable; its `Date`
//! header measures this machine's clock against the server's) and each registry's `/v2/` (200 or
//! 401 means a registry answers). All at once, each bounded by `--timeout`.

use super::credentials::Iam;
use super::Check;
use crate::auth::{exchange_grpc, exchange_http};
use crate::connect_error::{cause, Cause};
use crate::verify;
use reqwest::header::{HeaderValue, DATE};
use reqwest::{Client, StatusCode, Url};
use std::error::Error;
use std::time::{Duration, Instant, SystemTime};

/// Skew beyond which `login` fails. The JWT `login` signs lives 60 s from this machine's
/// clock, and a retry re-signs it only once it is 30 s old: behind by more than 30 s, a retried
/// JWT has expired by the server's clock when it arrives (by more than 60 s, every one has);
/// ahead by more than 30 s, its `iat` lies half its life in the server's future, which a
/// validator refuses as a token not issued yet.
const FAIL_SKEW: f64 = 30.0;

/// Skew worth a warning: strict validators allow `iat` only a few seconds in their future (the
/// IAM stand-in in the tests allows 5 s).
const WARN_SKEW: f64 = 5.0;

/// The `clock` and `reach-iam` checks, then one `reach-registry` check per host, in that order.
pub fn checks(iam: Option<&Iam>, hosts: &[String], timeout: Duration) -> Vec<Check> {
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| Ok((runtime, verify::client(timeout)?)));
    let (runtime, client) = match setup {
        Ok(setup) => setup,
        Err(e) => {
            let fail = |name| Check::fail(name, format!("{e:#}"), "report this as a crlogin bug");
            let mut out = vec![Check::skip("clock", "not measured"), fail("reach-iam")];
            out.extend(hosts.iter().map(|h| fail("reach-registry").on(h)));
            return out;
        }
    };
    runtime.block_on(async {
        let iam_task = async {
            match iam {
                None => (
                    Check::skip(
                        "clock",
                        "no Nebius service-account key, so login signs nothing with this machine's clock",
                    ),
                    Check::skip(
                        "reach-iam",
                        "no Nebius credential is exchanged, so login does not call IAM",
                    ),
                ),
                Some(Iam::KeyExchange(endpoint)) => key_exchange(&client, endpoint, timeout).await,
                Some(Iam::Grpc {
                    endpoint,
                    signs_here,
                }) => grpc_exchange(endpoint, *signs_here, timeout).await,
            }
        };
        let registries = async {
            let mut tasks = tokio::task::JoinSet::new();
            for (index, host) in hosts.iter().enumerate() {
                let (client, host) = (client.clone(), host.clone());
                tasks.spawn(async move { (index, registry(&client, &host, timeout).await) });
            }
            let mut done = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                done.extend(joined.ok());
            }
            done.sort_by_key(|(index, _)| *index);
            done.into_iter().map(|(_, check)| check).collect::<Vec<_>>()
        };
        let ((clock, reach_iam), registries) = tokio::join!(iam_task, registries);
        let mut out = vec![clock, reach_iam];
        out.extend(registries);
        out
    })
}

/// One GET of the exchange URL: any HTTP answer shows the endpoint is reachable, and its
/// `Date` header shows how far this machine's clock is from the server's.
async fn key_exchange(
    client: &Client,
    endpoint: &Result<Url, String>,
    timeout: Duration,
) -> (Check, Check) {
    let url = match endpoint
        .as_ref()
        .map_err(String::clone)
        .and_then(|e| exchange_http::exchange_url(e).map_err(|e| format!("{e:#}")))
    {
        Ok(url) => url,
        Err(e) => {
            return (
                Check::skip("clock", "not measured: the IAM endpoint is unusable"),
                Check::fail(
                    "reach-iam",
                    e,
                    "set NEBIUS_AUTH_ENDPOINT like https://auth.eu.nebius.com:443, or unset it",
                ),
            )
        }
    };
    let sent = SystemTime::now();
    let started = Instant::now();
    let answer = tokio::time::timeout(timeout, client.get(url.clone()).send()).await;
    let rtt = started.elapsed();
    let not_measured = Check::skip("clock", "not measured: the IAM endpoint did not answer");
    let (clock, reach) = match answer {
        Ok(Ok(response)) => {
            let reach = Check::ok(
                "reach-iam",
                format!(
                    "HTTP {} in {} ms (any answer means it is reachable)",
                    response.status().as_u16(),
                    rtt.as_millis()
                ),
            );
            let clock = clock(response.headers().get(DATE), sent + rtt / 2, rtt);
            (clock.on(url.as_str()), reach)
        }
        Ok(Err(e)) => (
            not_measured,
            failure("reach-iam", url.as_str(), &e, timeout, Service::Iam),
        ),
        Err(_) => (not_measured, timed_out("reach-iam", url.as_str(), timeout)),
    };
    (clock, reach.on(url.as_str()))
}

/// The `clock` check from the server's `Date` header and this machine's time at the middle of
/// the request.
fn clock(date: Option<&HeaderValue>, local: SystemTime, rtt: Duration) -> Check {
    let Some(server) = date
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
    else {
        return Check::skip(
            "clock",
            "not measured: the IAM endpoint sent no valid Date header",
        );
    };
    // Date has whole seconds: the server's time was within the second it names.
    let server = server + Duration::from_millis(500);
    let skew = match server.duration_since(local) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    };
    let uncertainty = 0.5 + rtt.as_secs_f64() / 2.0;
    let off = (skew.abs() - uncertainty).max(0.0);
    let (direction, effect) = if skew > 0.0 {
        (
            "behind",
            "the 60-second JWT login signs arrives already (or soon) expired by its clock",
        )
    } else {
        (
            "ahead of",
            "the JWT login signs is issued in its future, which it rejects",
        )
    };
    let detail = if skew.abs() < 1.0 {
        format!("this machine's clock is within 1 s of the IAM server's (from its Date header, ±{uncertainty:.1} s)")
    } else {
        format!(
            "this machine's clock is {:.0} s {direction} the IAM server's (from its Date header, ±{uncertainty:.1} s)",
            skew.abs()
        )
    };
    let fix = "sync this machine's clock: `chronyc makestep` (chrony), `timedatectl set-ntp true` (systemd-timesyncd) or `ntpdate -u pool.ntp.org`; in a container the clock is the host's, so fix it there";
    if off > FAIL_SKEW {
        Check::fail("clock", format!("{detail}: {effect}"), fix)
    } else if off > WARN_SKEW {
        Check::warn(
            "clock",
            format!("{detail}: strict servers reject a JWT this far off"),
            fix,
        )
    } else {
        Check::ok("clock", detail)
    }
}

/// OIDC federation: a gRPC connection (TLS and HTTP/2) to the exchange, as `login` makes it.
async fn grpc_exchange(
    endpoint: &Result<String, String>,
    signs_here: bool,
    timeout: Duration,
) -> (Check, Check) {
    let clock = if signs_here {
        Check::skip(
            "clock",
            "not measured over gRPC: this machine's clock signs the key's JWT (60 s of life), so keep it synchronised (NTP)",
        )
    } else {
        Check::skip(
            "clock",
            "the token exchanged comes from elsewhere (the CI, a file), signed with its issuer's clock, not this machine's",
        )
    };
    const FIX: &str =
        "set NEBIUS_TOKEN_EXCHANGE_GRPC like https://tokens.iam.api.nebius.cloud:443, or unset it";
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint,
        Err(e) => return (clock, Check::fail("reach-iam", e.clone(), FIX)),
    };
    let reach = match exchange_grpc::connect_target(endpoint, timeout) {
        Err(e) => Check::fail("reach-iam", format!("{e:#}"), FIX),
        Ok(target) => {
            let started = Instant::now();
            match tokio::time::timeout(timeout, target.connect()).await {
                Ok(Ok(_channel)) => Check::ok(
                    "reach-iam",
                    format!("connected (gRPC) in {} ms", started.elapsed().as_millis()),
                ),
                Ok(Err(e)) => failure("reach-iam", endpoint, &e, timeout, Service::Iam),
                Err(_) => timed_out("reach-iam", endpoint, timeout),
            }
        }
    };
    (clock, reach.on(endpoint.as_str()))
}

/// `GET /v2/` as `--verify` sends it: 200 or 401 is a registry answering.
async fn registry(client: &Client, host: &str, timeout: Duration) -> Check {
    let started = Instant::now();
    let check = match tokio::time::timeout(timeout, verify::ping(client, host)).await {
        Ok(Ok((url, response))) => match response.status() {
            status @ (StatusCode::OK | StatusCode::UNAUTHORIZED) => Check::ok(
                "reach-registry",
                format!(
                    "HTTP {} from {url} in {} ms",
                    status.as_u16(),
                    started.elapsed().as_millis()
                ),
            ),
            status => Check::fail(
                "reach-registry",
                format!(
                    "{url} answered HTTP {}, not 200 or 401: no registry API answers there",
                    status.as_u16()
                ),
                "check the host and port: a container registry answers /v2/ with 200 or 401",
            ),
        },
        Ok(Err(e)) => failure(
            "reach-registry",
            &format!("https://{host}/v2/"),
            &e,
            timeout,
            Service::Registry,
        ),
        Err(_) => timed_out("reach-registry", &format!("https://{host}/v2/"), timeout),
    };
    check.on(host)
}

/// Which kind of server a connection failed to, for the fix.
#[derive(Clone, Copy)]
enum Service {
    Iam,
    Registry,
}

/// A failed connection as a check: the cause, the innermost error text, and the fix for it.
fn failure(
    name: &'static str,
    url: &str,
    e: &(dyn Error + 'static),
    timeout: Duration,
    service: Service,
) -> Check {
    let (cause, reason) = cause(e);
    if cause == Cause::Timeout {
        return timed_out(name, url, timeout);
    }
    let (what, fix) = match (cause, service) {
        (Cause::Dns, _) => ("the host name does not resolve", "check the host name for typos, and this machine's DNS (/etc/resolv.conf, VPN, the runner's network)"),
        (Cause::Refused, _) => ("connection refused", "nothing listens on that host and port: check the port, and that the service is running (a firewall that rejects shows this too)"),
        (Cause::Tls, Service::Registry) => ("the TLS handshake failed", "if the registry's certificate comes from a private CA, set SSL_CERT_FILE to that CA's PEM bundle; if it serves plain HTTP, only a loopback registry may"),
        (Cause::Tls, Service::Iam) => ("the TLS handshake failed", "a TLS-intercepting proxy needs its CA in SSL_CERT_FILE; otherwise check NEBIUS_AUTH_ENDPOINT / NEBIUS_TOKEN_EXCHANGE_GRPC"),
        _ => ("the connection failed", "check the network path (firewall, proxy) to it"),
    };
    Check::fail(name, format!("{what} ({url}): {reason}"), fix)
}

/// A check that got no answer within `timeout`.
fn timed_out(name: &'static str, url: &str, timeout: Duration) -> Check {
    Check::fail(
        name,
        format!("no answer within {} s ({url})", timeout.as_secs()),
        "a firewall may be dropping the traffic, or a proxy is needed; on a slow link raise --timeout",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    /// The clock check for a server `offset` seconds ahead, answering instantly.
    fn clock_off(offset: i64) -> Check {
        let now = SystemTime::now();
        let shift = Duration::from_secs(offset.unsigned_abs());
        let server = if offset < 0 { now - shift } else { now + shift };
        let date = HeaderValue::from_str(&httpdate::fmt_http_date(server)).unwrap();
        clock(Some(&date), now, Duration::ZERO)
    }

    #[test]
    fn skew_is_ok_then_a_warning_then_a_failure() {
        assert_eq!(clock_off(0).status, Status::Ok);
        assert_eq!(clock_off(-3).status, Status::Ok);
        assert_eq!(clock_off(12).status, Status::Warn);
        assert_eq!(clock_off(-12).status, Status::Warn);
        let behind = clock_off(45);
        assert_eq!(behind.status, Status::Fail);
        assert!(behind.detail.contains("behind"), "{}", behind.detail);
        let ahead = clock_off(-45);
        assert_eq!(ahead.status, Status::Fail);
        assert!(ahead.detail.contains("ahead of"), "{}", ahead.detail);
        assert_eq!(
            clock(None, SystemTime::now(), Duration::ZERO).status,
            Status::Skip
        );
    }
}
