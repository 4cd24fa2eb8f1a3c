//! crlogin as a program other tools run whenever they need a Nebius credential: the docker
//! credential helper ([`docker_credential`]), the kubelet image credential provider
//! ([`kubelet`]), and `configure-helper`, which points docker, helm and podman at the helper
//! ([`configure`], [`link`]). What they share lives here: the program names crlogin answers to,
//! the hosts it serves, and reading a request from stdin.

pub mod answer;
pub mod configure;
pub mod docker_credential;
pub mod kubelet;
pub mod kubelet_federation;
pub mod link;
pub mod served;

use crate::auth;
use crate::ci::Ci;
use crate::env::Env;
use crate::os::helper_link::runs_as;
use crate::plan::{self, Planned};
use crate::registry::Selection;
use crate::registry::{self, NEBIUS_REGIONS};
use crate::secret::TextError;
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

pub use crate::dcred::{DOCKER_HELPER_PROGRAM, HELPER_NAME};

/// The name the kubelet runs the image credential provider by (its `CredentialProviderConfig`
/// provider `name`).
pub const KUBELET_PROVIDER_PROGRAM: &str = "crlogin-credential-provider";

/// Largest request read from stdin: a server URL or a CredentialProviderRequest is far smaller.
const MAX_STDIN: u64 = 1024 * 1024;

/// The arguments for clap: when crlogin runs under a helper's program name (a link named
/// `docker-credential-crlogin` or `crlogin-credential-provider`), the matching subcommand is
/// put in front of the caller's arguments; otherwise they are returned as they are.
pub fn program_args(mut args: Vec<OsString>) -> Vec<OsString> {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let subcommand = if runs_as(name, DOCKER_HELPER_PROGRAM) {
        "credential-helper"
    } else if runs_as(name, KUBELET_PROVIDER_PROGRAM) {
        "kubelet-credential-provider"
    } else {
        return args;
    };
    args[0] = OsString::from("crlogin");
    args.insert(1, OsString::from(subcommand));
    args
}

/// The username/password logins the helper serves, each with its registry's host: `DCR_*`,
/// the `--from-env` prefixes `configure-helper` recorded, and the other registry sources of
/// the environment the client runs in. Read without any exchange.
pub fn registry_logins(env: &Env, ci: &dyn Ci) -> Result<Vec<Planned<auth::Found>>> {
    let prefixes = served::load_prefixes(&served::path(env)?)?;
    let found = auth::registry_logins(env, ci, &prefixes)?;
    plan::plan(found, |f| &f.scope, &Selection::default())
}

/// Every host the helpers answer for: `cr.<region>.nebius.cloud` for each known region, and the
/// extra registries (`CRLOGIN_REGISTRIES`).
pub fn served_hosts(registries: &[String]) -> Result<Vec<String>> {
    let mut hosts: Vec<String> = NEBIUS_REGIONS
        .iter()
        .map(|r| format!("cr.{r}.nebius.cloud"))
        .collect();
    for value in registries.iter().filter(|r| !r.trim().is_empty()) {
        let host = registry::parse_registry(value)
            .with_context(|| "CRLOGIN_REGISTRIES (or --registry) has a bad entry")?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// Every host `docker-credential-crlogin` answers for: [`served_hosts`], and the hosts
/// `configure-helper` recorded ([`served`]).
pub fn helper_hosts(registries: &[String], env: &Env) -> Result<Vec<String>> {
    let mut hosts = served_hosts(registries)?;
    for host in served::load(&served::path(env)?)? {
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// The registry host (with its port, if any) of a server URL as clients send it
/// (`https://host/v1/`, `host`, `host:5000/path`), mapped exactly as current docker's
/// `ConvertToHostname` maps it: a value holding `://` is parsed as a URL and its host[:port]
/// taken when it names a host; any other value (one that does not parse included) is cut at
/// its first `/`. So `evil.example/x://cr.eu-north1.nebius.cloud` is `evil.example`, not the
/// Nebius host. `None` when the result is no valid registry host.
pub fn server_host(url: &str) -> Option<String> {
    let url = url.trim();
    let host = url_host(url).unwrap_or_else(|| url.split('/').next().unwrap_or_default().into());
    registry::parse_registry(&host).ok()
}

/// Go's `url.Parse(value)` then `Hostname()[:Port()]`, for a value holding `://`: `None` when
/// it does not parse as a URL with a scheme and a host.
fn url_host(value: &str) -> Option<String> {
    // A Go URL scheme starts with a letter; http's parser would also take a digit.
    if !value.contains("://") || !value.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let uri: http::Uri = value.parse().ok()?;
    uri.scheme()?;
    // Go's Hostname() drops an IPv6 address's brackets, and ConvertToHostname does not put
    // them back (so such a URL names no host crlogin serves, as with docker).
    let host = uri.host().filter(|h| !h.is_empty())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some(match uri.port() {
        Some(port) => format!("{host}:{}", port.as_str()),
        None => host.to_string(),
    })
}

/// Reads all of stdin (at most 1 MiB) as UTF-8 text, zeroed when dropped: a request may carry a
/// secret (the kubelet's service-account token, the password `store` is given).
pub fn read_stdin() -> Result<Zeroizing<String>> {
    read_request(std::io::stdin().lock())
}

/// [`read_stdin`] from any reader (the fuzz target feeds it bytes).
pub(crate) fn read_request(reader: impl Read) -> Result<Zeroizing<String>> {
    crate::secret::read_text(reader, MAX_STDIN).map_err(|e| match e {
        TextError::Io(kind) => anyhow::anyhow!("cannot read stdin: {kind}"),
        TextError::TooLarge => {
            anyhow::anyhow!(
                "stdin holds more than 1 MiB, which no request is: check what is piped in"
            )
        }
        TextError::NotUtf8 => anyhow::anyhow!("stdin is not UTF-8 text: send the request as UTF-8"),
    })
}

/// Reads stdin to its end and forgets it, so the writer never sees a broken pipe.
pub fn drain_stdin() {
    let mut buffer = Zeroizing::new([0u8; 8192]);
    let mut stdin = std::io::stdin().lock();
    while matches!(stdin.read(&mut buffer[..]), Ok(n) if n > 0) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn program_names_pick_the_subcommand() {
        assert_eq!(
            program_args(args(&["/usr/bin/docker-credential-crlogin", "get"])),
            args(&["crlogin", "credential-helper", "get"])
        );
        assert_eq!(
            program_args(args(&["crlogin-credential-provider"])),
            args(&["crlogin", "kubelet-credential-provider"])
        );
        assert_eq!(
            program_args(args(&["/x/crlogin", "token"])),
            args(&["/x/crlogin", "token"])
        );
        assert_eq!(program_args(Vec::new()), Vec::<OsString>::new());
    }

    #[test]
    fn server_urls_become_hosts() {
        for (url, host) in [
            ("cr.eu-north1.nebius.cloud", "cr.eu-north1.nebius.cloud"),
            (
                "https://cr.eu-north1.nebius.cloud",
                "cr.eu-north1.nebius.cloud",
            ),
            (
                "https://CR.eu-north1.nebius.cloud/v1/",
                "cr.eu-north1.nebius.cloud",
            ),
            (
                "cr.eu-north1.nebius.cloud/e00abc/app",
                "cr.eu-north1.nebius.cloud",
            ),
            ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
            (" 127.0.0.1:5000\n", "127.0.0.1:5000"),
        ] {
            assert_eq!(server_host(url).as_deref(), Some(host), "{url}");
        }
        for bad in ["", "https://", "not a host", "/path"] {
            assert_eq!(server_host(bad), None, "{bad:?}");
        }
        // What docker's ConvertToHostname makes of tricky values.
        for (url, host) in [
            (
                "evil.example/x://cr.eu-north1.nebius.cloud",
                Some("evil.example"),
            ),
            ("evil.example#://cr.eu-north1.nebius.cloud", None),
            ("evil.example?://cr.eu-north1.nebius.cloud", None),
            ("1x://cr.eu-north1.nebius.cloud", None),
            (
                "https://user@cr.eu-north1.nebius.cloud/v2/",
                Some("cr.eu-north1.nebius.cloud"),
            ),
            (
                "https://cr.eu-north1.nebius.cloud:443/",
                Some("cr.eu-north1.nebius.cloud:443"),
            ),
            (
                "https://cr.eu-north1.nebius.cloud?x=1",
                Some("cr.eu-north1.nebius.cloud"),
            ),
            ("https://cr%2eeu-north1.nebius.cloud/", None),
            ("https://[::1]:5000/v2/", None),
            ("[::1]:5000/v2/", Some("[::1]:5000")),
        ] {
            assert_eq!(server_host(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn served_hosts_are_the_regions_and_the_extra_registries() {
        let hosts = served_hosts(&["127.0.0.1:5000/x".into(), String::new()]).unwrap();
        assert_eq!(hosts.len(), NEBIUS_REGIONS.len() + 1);
        assert!(hosts.contains(&"cr.us-central1.nebius.cloud".to_string()));
        assert_eq!(hosts.last().unwrap(), "127.0.0.1:5000");
        // A URL names its host, as docker takes it; another scheme is refused.
        assert_eq!(
            served_hosts(&["https://x.io/v2/".into()])
                .unwrap()
                .last()
                .unwrap(),
            "x.io"
        );
        assert!(served_hosts(&["ftp://x.io".into()]).is_err());
    }
}
