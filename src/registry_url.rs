//! A registry written as a URL, `https://host[:port][/path]` (or `http://`), read the way the
//! docker CLI reads `docker login https://...`: the scheme is dropped and the host (with its
//! port, as written, and path) kept; Docker Hub's URLs (`https://index.docker.io/v1/`,
//! `https://registry-1.docker.io`) name Docker Hub, `docker.io`, which each tool's file then keys
//! its own way.

use crate::ci::quoted;
use anyhow::{anyhow, bail, Result};
use url::Url;

/// The hosts that are Docker Hub's, whatever the URL's path.
const DOCKER_HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// `value` without its `http(s)://`, as `host[:port][/path]`; an error for another scheme, a
/// URL that does not parse, or one that carries a username or password (never echoed).
pub fn without_scheme(value: &str) -> Result<String> {
    // A URL with `@` may carry a password: such values are never shown.
    let shown = || match value.contains('@') {
        true => "(not shown: it contains '@')".to_string(),
        false => quoted(value),
    };
    let url = Url::parse(value).map_err(|e| {
        anyhow!(
            "registry {} is not a valid URL ({e}): give https://host[:port][/path] or host[:port][/path]",
            shown()
        )
    })?;
    if !matches!(url.scheme(), "https" | "http") {
        bail!(
            "registry {} has the scheme {}: give https://host[:port][/path], http://host[:port][/path] or the host alone",
            shown(),
            quoted(url.scheme())
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("a registry URL carries a username or password: give the registry alone and the credential with -u/--password-stdin or the *_USERNAME/*_PASSWORD variables");
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        bail!(
            "registry {} has no host: give one like https://registry.example.com:5000",
            shown()
        );
    };
    let port = written_port(&url, value);
    if DOCKER_HUB_HOSTS.contains(&host) && port.is_none() {
        return Ok("docker.io".to_string());
    }
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{host}{port}{}", url.path().trim_end_matches('/')))
}

/// The port `value` names, the scheme's default included: `url` drops a written default port
/// (`https://host:443` has no `port()`), while the docker CLI keys that login `host:443`. The
/// same text read under a scheme with no default port keeps it.
fn written_port(url: &Url, value: &str) -> Option<u16> {
    url.port().or_else(|| {
        let scheme = url.scheme();
        let rest = value
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .and_then(|_| value.get(scheme.len()..))?;
        Url::parse(&format!("crlogin-port{rest}")).ok()?.port()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_the_scheme_as_the_docker_cli_does() {
        for (url, want) in [
            ("https://registry.example.com", "registry.example.com"),
            (
                "https://Registry.Example.com:5000/team/",
                "registry.example.com:5000/team",
            ),
            ("http://127.0.0.1:5000", "127.0.0.1:5000"),
            ("https://[::1]:5000/v2/", "[::1]:5000/v2"),
            ("https://index.docker.io/v1/", "docker.io"),
            ("https://registry-1.docker.io", "docker.io"),
            ("https://docker.io", "docker.io"),
        ] {
            assert_eq!(without_scheme(url).unwrap(), want, "{url}");
        }
    }

    #[test]
    fn keeps_a_written_default_port_as_the_docker_cli_does() {
        for (url, want) in [
            (
                "https://registry.example.com:443",
                "registry.example.com:443",
            ),
            ("HTTPS://r.example:443/team/", "r.example:443/team"),
            ("http://127.0.0.1:80/", "127.0.0.1:80"),
            ("https://[::1]:443/v2/", "[::1]:443/v2"),
            ("https://index.docker.io:443/v1/", "index.docker.io:443/v1"),
            ("https://r.example:", "r.example"),
        ] {
            assert_eq!(without_scheme(url).unwrap(), want, "{url}");
        }
    }

    #[test]
    fn refuses_other_schemes_and_credentials_without_showing_them() {
        for (url, why) in [
            ("ftp://r.example", "scheme"),
            ("oci://r.example", "scheme"),
            ("https://", "not a valid URL"),
            ("https://alice:pw-secret@r.example", "username or password"),
            ("https://alice@r.example", "username or password"),
            ("https://r.example:99999", "not a valid URL"),
        ] {
            let err = without_scheme(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
            assert!(
                !err.contains("pw-secret") && !err.contains("alice"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_registry_key_keeps_a_written_default_port() {
        assert_eq!(
            crate::registry::parse_registry("https://r.example:443/team").unwrap(),
            "r.example:443"
        );
        assert_eq!(
            crate::registry::parse_registry("https://r.example/team").unwrap(),
            "r.example"
        );
    }
}
