//! Which proxy a request goes through, decided as the docker CLI decides (Go's
//! `http.ProxyFromEnvironment`): `HTTPS_PROXY`/`https_proxy` for https URLs,
//! `HTTP_PROXY`/`http_proxy` for plain http, the upper-case name first; never a proxy for a
//! loopback host (`localhost`, 127.0.0.0/8, `::1`), whatever is set, so what crlogin sends in
//! plain HTTP to this machine (a JWT to a loopback token endpoint, `--verify`'s Basic auth)
//! stays on it; and none for a host `NO_PROXY`/`no_proxy` names. `ALL_PROXY` is not read
//! (docker does not read it either).
//!
//! `NO_PROXY` is a comma-separated list, as Go reads it: `*` (every host); an IP address, with
//! an optional port (`10.0.0.1`, `[::1]:5000`); a CIDR range (`10.0.0.0/8`); a domain, with an
//! optional port, matching itself and its subdomains (`example.com`); `.example.com` and
//! `*.example.com`, matching the subdomains only.

use anyhow::{anyhow, Result};
use reqwest::Url;
use std::net::IpAddr;
use url::Host;

/// The proxy settings read from the environment once per client.
#[derive(Debug, Default, Clone)]
pub struct Proxies {
    http: Option<Url>,
    https: Option<Url>,
    no_proxy: NoProxy,
}

impl Proxies {
    /// Reads the settings from this process's environment.
    pub fn from_process_env() -> Result<Proxies> {
        Proxies::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var` (a variable's value, or `None`).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Proxies> {
        let any = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| var(n).filter(|v| !v.is_empty()).map(|v| (n, v)))
        };
        let proxy = |names: [&'static str; 2]| match any(names) {
            None => Ok(None),
            Some((name, value)) => parse_proxy(&value).map(Some).ok_or_else(|| {
                anyhow!("{name} is not a proxy URL: set it like http://proxy.example:3128")
            }),
        };
        Ok(Proxies {
            http: proxy(["HTTP_PROXY", "http_proxy"])?,
            https: proxy(["HTTPS_PROXY", "https_proxy"])?,
            no_proxy: NoProxy::parse(&any(["NO_PROXY", "no_proxy"]).unwrap_or_default().1),
        })
    }

    /// The proxy for a request to `url`, or `None` to connect directly.
    pub fn for_url(&self, url: &Url) -> Option<Url> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url.host()?;
        let port = url.port_or_known_default().unwrap_or_default();
        if is_loopback(&host) || self.no_proxy.matches(&host, port) {
            return None;
        }
        Some(proxy.clone())
    }
}

/// A proxy variable's value as a URL; `host:port` alone means `http://host:port`, as in Go.
fn parse_proxy(value: &str) -> Option<Url> {
    match Url::parse(value) {
        Ok(url) if url.has_host() => Some(url),
        _ => Url::parse(&format!("http://{value}"))
            .ok()
            .filter(Url::has_host),
    }
}

/// `localhost` or a loopback address (an IPv4-mapped one included), which is never proxied.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.to_canonical().is_loopback(),
    }
}

/// The parsed `NO_PROXY` list.
#[derive(Debug, Default, Clone)]
struct NoProxy {
    all: bool,
    ips: Vec<(IpAddr, Option<u16>)>,
    ranges: Vec<ipnet::IpNet>,
    /// A domain as `.example.com`, whether the domain itself matches too, and a port.
    domains: Vec<(String, bool, Option<u16>)>,
}

impl NoProxy {
    /// Parses the list; an entry that is none of the forms is skipped, as Go skips it.
    fn parse(list: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for entry in list.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                no_proxy.all = true;
                continue;
            }
            if let Ok(range) = entry.parse::<ipnet::IpNet>() {
                no_proxy.ranges.push(range);
                continue;
            }
            let (host, port) = split_host_port(&entry);
            if host.is_empty() {
                continue;
            }
            if let Ok(ip) = host.parse::<IpAddr>() {
                no_proxy.ips.push((ip, port));
                continue;
            }
            let host = host.strip_prefix('*').unwrap_or(host);
            let (domain, itself) = match host.strip_prefix('.') {
                Some(_) => (host.to_string(), false),
                None => (format!(".{host}"), true),
            };
            no_proxy.domains.push((domain, itself, port));
        }
        no_proxy
    }

    /// Whether a request to `host` on `port` goes direct.
    fn matches(&self, host: &Host<&str>, port: u16) -> bool {
        if self.all {
            return true;
        }
        let port_ok = |want: &Option<u16>| want.is_none_or(|p| p == port);
        let ip = match host {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = ip {
            if self.ranges.iter().any(|r| r.contains(&ip))
                || self.ips.iter().any(|(i, p)| *i == ip && port_ok(p))
            {
                return true;
            }
        }
        let name = match host {
            Host::Domain(name) => name.to_ascii_lowercase(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        self.domains.iter().any(|(domain, itself, p)| {
            (name.ends_with(domain.as_str()) || (*itself && name == domain[1..])) && port_ok(p)
        })
    }
}

/// `host:port`, `[v6]:port` or a bare host; a port that is not a number is no port.
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .unwrap()
    }

    fn via(p: &Proxies, url: &str) -> Option<String> {
        p.for_url(&Url::parse(url).unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn loopback_is_never_proxied() {
        let p = proxies(&[
            ("HTTP_PROXY", "http://proxy:3128"),
            ("HTTPS_PROXY", "proxy:3129"),
        ]);
        for url in [
            "http://127.0.0.1:5000/v2/",
            "http://127.9.9.9/",
            "https://localhost:8443/",
            "http://LOCALHOST/",
            "http://[::1]:5000/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert_eq!(via(&p, url), None, "{url}");
        }
        assert_eq!(
            via(&p, "http://10.0.0.1/").as_deref(),
            Some("http://proxy:3128/")
        );
        assert_eq!(
            via(&p, "https://cr.eu-north1.nebius.cloud/v2/").as_deref(),
            Some("http://proxy:3129/")
        );
        // As in Go, only the name localhost itself: a subdomain of it is an ordinary name.
        assert!(via(&p, "http://a.localhost/").is_some());
    }

    #[test]
    fn scheme_picks_the_variable_upper_case_first() {
        let p = proxies(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
        ]);
        assert_eq!(
            via(&p, "https://r.example/").as_deref(),
            Some("http://upper:2/")
        );
        assert_eq!(via(&p, "http://r.example/"), None, "no HTTP_PROXY");
        let p = proxies(&[("HTTPS_PROXY", ""), ("https_proxy", "http://lower:1")]);
        assert_eq!(
            via(&p, "https://r.example/").as_deref(),
            Some("http://lower:1/")
        );
        assert!(Proxies::from_lookup(|n| (n == "HTTP_PROXY").then(|| "[".into())).is_err());
    }

    #[test]
    fn no_proxy_matches_as_docker_does() {
        let list = "*.corp.example, .svc, other.example:8443, 10.1.2.3, 192.168.0.0/16, [fd00::1]:5000, bad:port:x";
        let p = proxies(&[("HTTPS_PROXY", "http://proxy:3128"), ("no_proxy", list)]);
        for (url, direct) in [
            ("https://a.corp.example/", true),
            ("https://corp.example/", false),
            ("https://x.svc/", true),
            ("https://svc/", false),
            ("https://other.example:8443/", true),
            ("https://sub.other.example:8443/", true),
            ("https://other.example/", false),
            ("https://10.1.2.3/", true),
            ("https://10.1.2.4/", false),
            ("https://192.168.7.7:5000/", true),
            ("https://[fd00::1]:5000/", true),
            ("https://[fd00::1]:5001/", false),
            ("https://notother.example:8443/", false),
        ] {
            assert_eq!(via(&p, url).is_none(), direct, "{url}");
        }
        let p = proxies(&[("HTTPS_PROXY", "http://proxy:3128"), ("NO_PROXY", " * ")]);
        assert_eq!(via(&p, "https://anything.example/"), None);
    }
}
