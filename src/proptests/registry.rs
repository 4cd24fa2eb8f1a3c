//! Registry names and what the helpers read them from: `parse_registry` (flags, variables),
//! `server_host` (the credential helper's stdin) and the bounded stdin reader itself.

use super::{any_bytes, config};
use crate::helper::server_host;
use crate::registry::parse_registry;
use crate::secret::{read_text, TextError};
use proptest::prelude::*;

/// A host name label: letters, digits and inner dashes, up to 63 characters.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,10}",
        "[a-zA-Z0-9][a-zA-Z0-9-]{0,61}[a-zA-Z0-9]",
    ]
}

/// A valid host (name, IPv4 or bracketed IPv6) with an optional port, and its canonical form.
pub fn host() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        6 => prop::collection::vec(label(), 1..5).prop_map(|labels| labels.join(".")),
        1 => Just("localhost".to_string()),
        1 => any::<[u8; 4]>().prop_map(|ip| std::net::Ipv4Addr::from(ip).to_string()),
        1 => any::<[u16; 8]>().prop_map(|ip| format!("[{}]", std::net::Ipv6Addr::from(ip))),
    ]
    .prop_filter("at most 253 characters", |n| n.len() <= 253);
    (name, prop::option::of(1u16..)).prop_map(|(name, port)| {
        let canonical = name.to_ascii_lowercase();
        match port {
            Some(p) => (format!("{name}:{p}"), format!("{canonical}:{p}")),
            None => (name, canonical),
        }
    })
}

/// Characters the registry values are made of, and the ones that break them.
fn registry_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9.:/\\[\\]@_-]{0,40}",
        "[ \t\n]?[a-z0-9.:/\\[\\]@-]{0,20}(::[a-z-]+::)?[a-z0-9./\\n\\r]{0,20}",
        any::<String>(),
    ]
}

/// What a canonical registry host is made of: no case, space, control, path or scheme.
fn assert_canonical(host: &str) {
    assert_eq!(parse_registry(host).unwrap(), host, "not a fixed point");
    assert!(
        host.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-:[]".contains(&b)),
        "{host:?}"
    );
    assert!(!host.contains("::") || host.starts_with('['), "{host:?}");
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any value: an error, or a canonical host that parses to itself.
    #[test]
    fn registry_values_parse_to_canonical_hosts(value in registry_like()) {
        if let Ok(host) = parse_registry(&value) {
            assert_canonical(&host);
        }
    }

    /// A valid host, with spaces around and a path after it, is its lowercase self.
    #[test]
    fn valid_registries_keep_their_host_and_port(
        (host, canonical) in host(),
        path in "(/[a-z0-9._-]{1,12}){0,3}",
        space in "[ \t\n]{0,2}",
    ) {
        prop_assert_eq!(parse_registry(&format!("{space}{host}{path}{space}")).unwrap(), canonical);
    }

    /// The credential helper's server URL: any text gives a canonical host or none.
    #[test]
    fn server_urls_give_a_canonical_host_or_none(value in registry_like()) {
        if let Some(host) = server_host(&value) {
            assert_canonical(&host);
        }
    }

    /// Every form a client sends a server URL in names its host, as docker's
    /// `ConvertToHostname` reads it: without a scheme only a `/` ends the host (so `host?x` is
    /// no host), and a URL's IPv6 host loses its brackets (so it is no host crlogin serves).
    #[test]
    fn server_urls_name_their_host(
        (host, canonical) in host(),
        scheme in prop::sample::select(vec!["", "https://", "http://", "HTTPS://"]),
        rest in "(/v[12]/?)?([?#][a-z=&]{0,8})?",
        space in "[ \t\r\n]{0,2}",
    ) {
        let url = format!("{space}{scheme}{host}{rest}{space}");
        let unbracketed = !scheme.is_empty() && host.starts_with('[');
        let cut_short = scheme.is_empty() && !rest.starts_with('/') && rest.contains(['?', '#']);
        let want = (!unbracketed && !cut_short).then_some(canonical);
        prop_assert_eq!(server_host(&url), want);
    }

    /// The bounded reader behind the helpers' stdin: the bytes back as text, or the reason
    /// they are not (too many, or not UTF-8); nothing cut short.
    #[test]
    fn stdin_is_read_whole_or_refused(bytes in any_bytes(), limit in prop_oneof![Just(1024u64 * 1024), 0u64..300]) {
        match read_text(bytes.as_slice(), limit) {
            Ok(text) => {
                prop_assert!(bytes.len() as u64 <= limit);
                prop_assert_eq!(text.as_bytes(), bytes.as_slice());
            }
            Err(TextError::TooLarge) => prop_assert!(bytes.len() as u64 > limit),
            Err(TextError::NotUtf8) => {
                prop_assert!(bytes.len() as u64 <= limit && std::str::from_utf8(&bytes).is_err());
            }
            Err(TextError::Io(kind)) => prop_assert!(false, "I/O error {kind:?} reading a slice"),
        }
    }
}
