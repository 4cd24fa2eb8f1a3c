//! Registry hosts: the Nebius regions (the one list), parsing and checking a registry value, and
//! choosing which hosts each credential is written for.

use crate::auth::Scope;
use crate::ci::quoted;
use anyhow::{bail, Result};
use std::net::Ipv6Addr;

/// Nebius regions that have a Container Registry, each served at `cr.<region>.nebius.cloud`.
pub const NEBIUS_REGIONS: &[&str] = &[
    "eu-north1",
    "eu-north2",
    "eu-west1",
    "me-west1",
    "uk-south1",
    "us-central1",
];

/// The Container Registry host of a Nebius region.
pub fn nebius_host(region: &str) -> Result<String> {
    let region = region.trim().to_ascii_lowercase();
    if !NEBIUS_REGIONS.contains(&region.as_str()) {
        bail!(
            "unknown Nebius region {}: known regions are {}",
            quoted(&region),
            NEBIUS_REGIONS.join(", ")
        );
    }
    Ok(format!("cr.{region}.nebius.cloud"))
}

/// What the user asked for, from flags and environment.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// `--region` / `NEBIUS_REGIONS`.
    pub regions: Vec<String>,
    /// `--all-regions`.
    pub all_regions: bool,
    /// `--registry`: extra hosts for the Nebius credential.
    pub registries: Vec<String>,
    /// `NEBIUS_REGION`: the default region when nothing is named.
    pub default_region: Option<String>,
}

impl Selection {
    /// Whether the user named Nebius hosts explicitly.
    pub fn names_hosts(&self) -> bool {
        self.all_regions || !self.regions.is_empty() || !self.registries.is_empty()
    }
}

/// One registry host and the index of the scope (credential) written for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The auth key: a host with an optional port.
    pub host: String,
    /// Index into the scopes (and credentials) this target came from.
    pub scope: usize,
}

/// Chooses the hosts for each scope. A Nebius scope gets the named regions and registries, else
/// `NEBIUS_REGION`, else every region. Two credentials for one host are an error.
pub fn select(scopes: &[Scope], selection: &Selection) -> Result<Vec<Target>> {
    let nebius = scopes.iter().position(|s| *s == Scope::Nebius);
    if nebius.is_none() && selection.names_hosts() {
        bail!(
            "--region, --all-regions and --registry choose hosts for a Nebius credential, and none was found: \
             set one of {}",
            crate::auth::nebius_looked_for()
        );
    }
    let mut targets: Vec<Target> = Vec::new();
    for (index, scope) in scopes.iter().enumerate() {
        let hosts = match scope {
            Scope::Registry(value) => vec![parse_registry(value)?],
            Scope::Nebius => nebius_hosts(selection)?,
        };
        for host in hosts {
            if let Some(other) = targets.iter().find(|t| t.host == host) {
                if other.scope != index {
                    bail!("two credentials were found for {host}: keep one of them");
                }
                continue;
            }
            targets.push(Target { host, scope: index });
        }
    }
    Ok(targets)
}

fn nebius_hosts(selection: &Selection) -> Result<Vec<String>> {
    let mut hosts = Vec::new();
    if selection.all_regions || !selection.names_hosts() && selection.default_region.is_none() {
        hosts.extend(
            NEBIUS_REGIONS
                .iter()
                .map(|r| format!("cr.{r}.nebius.cloud")),
        );
    } else if !selection.names_hosts() {
        hosts.extend(
            selection
                .default_region
                .iter()
                .map(|r| nebius_host(r))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    for region in selection.regions.iter().filter(|r| !r.trim().is_empty()) {
        hosts.push(nebius_host(region)?);
    }
    for registry in &selection.registries {
        hosts.push(parse_registry(registry)?);
    }
    let mut unique = Vec::new();
    for host in hosts {
        if !unique.contains(&host) {
            unique.push(host);
        }
    }
    Ok(unique)
}

/// The auth key (host and optional port) of a registry value such as `dcr.example.io/team` or,
/// as docker takes it, `https://dcr.example.io/team`. Another scheme, a bad host name or a bad
/// port is an error that says how to write it.
pub fn parse_registry(value: &str) -> Result<String> {
    let value = value.trim();
    let shown = quoted(value);
    let stripped;
    let value = if value.contains("://") {
        stripped = crate::registry_url::without_scheme(value)?;
        stripped.as_str()
    } else {
        value
    };
    let host = value.split('/').next().unwrap_or_default();
    if host.is_empty() {
        bail!("registry {shown} has no host: give one like cr.eu-north1.nebius.cloud or host:5000/namespace");
    }
    let (name, port) = split_port(host).ok_or_else(|| {
        anyhow::anyhow!("registry {shown} has a bad port: use host:PORT with PORT from 1 to 65535")
    })?;
    let valid = if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        v6.parse::<Ipv6Addr>().is_ok()
    } else {
        is_hostname(name)
    };
    if !valid {
        bail!("registry {shown} is not a valid host name: use letters, digits, '-' and '.', e.g. registry.example.com:5000");
    }
    Ok(match port {
        Some(port) => format!("{}:{port}", name.to_ascii_lowercase()),
        None => name.to_ascii_lowercase(),
    })
}

fn split_port(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => (&host[..i], Some(&host[i + 1..])),
        _ => (host, None),
    };
    match port {
        None => Some((name, None)),
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            let port: u16 = p.parse().ok()?;
            (port != 0).then_some((name, Some(port)))
        }
        Some(_) => None,
    }
}

fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether a host is on this machine, where docker (and crlogin's `--verify`) accept plain HTTP.
pub fn is_loopback(host: &str) -> bool {
    let name = split_port(host).map_or(host, |(name, _)| name);
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_values() {
        assert_eq!(
            parse_registry("dcr.nexqloud.io/team").unwrap(),
            "dcr.nexqloud.io"
        );
        assert_eq!(parse_registry("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert_eq!(parse_registry("[::1]:5000/x").unwrap(), "[::1]:5000");
        assert_eq!(
            parse_registry("CR.EU-NORTH1.nebius.cloud").unwrap(),
            "cr.eu-north1.nebius.cloud"
        );
        assert_eq!(
            parse_registry(" https://X.io:5000/ns ").unwrap(),
            "x.io:5000"
        );
        assert_eq!(
            parse_registry("https://index.docker.io/v1/").unwrap(),
            "docker.io"
        );
        for bad in [
            "ftp://x.io",
            "",
            "/ns",
            "x.io:0",
            "x.io:99999",
            "x.io:ab",
            "bad host",
            "a..b",
            "-a.io",
            "::add-mask::x",
        ] {
            assert!(parse_registry(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn unknown_region_lists_the_known_ones() {
        let err = nebius_host("mars-1").unwrap_err().to_string();
        assert!(
            err.contains("eu-north1, eu-north2, eu-west1, me-west1, uk-south1, us-central1"),
            "{err}"
        );
    }

    #[test]
    fn nebius_default_is_env_region_else_all() {
        let scopes = [Scope::Nebius];
        let all = select(&scopes, &Selection::default()).unwrap();
        assert_eq!(all.len(), NEBIUS_REGIONS.len());
        let one = Selection {
            default_region: Some("eu-west1".into()),
            ..Default::default()
        };
        let hosts: Vec<String> = select(&scopes, &one)
            .unwrap()
            .into_iter()
            .map(|t| t.host)
            .collect();
        assert_eq!(hosts, ["cr.eu-west1.nebius.cloud"]);
        let named = Selection {
            regions: vec!["us-central1".into()],
            registries: vec!["mirror.example:5000".into()],
            default_region: Some("eu-west1".into()),
            ..Default::default()
        };
        let hosts: Vec<String> = select(&scopes, &named)
            .unwrap()
            .into_iter()
            .map(|t| t.host)
            .collect();
        assert_eq!(
            hosts,
            ["cr.us-central1.nebius.cloud", "mirror.example:5000"]
        );
    }

    #[test]
    fn region_without_nebius_credential_is_an_error() {
        let sel = Selection {
            regions: vec!["eu-north1".into()],
            ..Default::default()
        };
        assert!(select(&[Scope::Registry("r.example".into())], &sel).is_err());
    }

    #[test]
    fn two_credentials_for_one_host_is_an_error() {
        let scopes = [
            Scope::Registry("r.example/a".into()),
            Scope::Registry("r.example/b".into()),
        ];
        assert!(select(&scopes, &Selection::default()).is_err());
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:80"));
        assert!(!is_loopback("cr.eu-north1.nebius.cloud"));
    }
}
