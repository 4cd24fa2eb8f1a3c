//! The kubelet image credential provider protocol (`credentialprovider.kubelet.k8s.io`, v1 and
//! v1beta1): a `CredentialProviderRequest` on stdin names the image being pulled; the answer on
//! stdout is a `CredentialProviderResponse` in the request's apiVersion, with credentials for
//! the image's registry host (`cacheKeyType: Registry`) that the kubelet keeps in memory for
//! `cacheDuration`.
//!
//! A request carrying the pod's service-account token may be answered with the pod's own
//! Nebius service account's token instead: see [`kubelet_federation`].
//!
//! `cacheDuration` ends just before the password does: ten minutes before the token expires
//! (half its remaining life when less than twenty minutes remain), so the kubelet asks again,
//! and crlogin's cache then hands over a fresh token. A password whose expiry crlogin does not
//! know is kept for [`STATIC_KEY_CACHE`] (a static key: rotating its file takes effect within
//! that time) or [`GIVEN_TOKEN_CACHE`] (a `NEBIUS_IAM_TOKEN` as given).

use super::kubelet_federation::{self, Mode};
use super::served_hosts;
use crate::ci::{quoted, Ci};
use crate::cli::KubeletArgs;
use crate::commands::{auth_options, nebius_credential, PasswordKind};
use crate::env::Env;
use crate::registry;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

/// The API versions of the protocol crlogin speaks; the answer uses the request's.
pub const API_VERSIONS: &[&str] = &[
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
];

/// How long the kubelet keeps a static key (whose expiry crlogin does not know).
pub const STATIC_KEY_CACHE: Duration = Duration::from_secs(3600);

/// How long the kubelet keeps a `NEBIUS_IAM_TOKEN` given as it is (whose expiry crlogin does
/// not know, and which lives at most 12 hours).
pub const GIVEN_TOKEN_CACHE: Duration = Duration::from_secs(5 * 60);

/// How long before a token expires the kubelet's copy should lapse.
const MARGIN: Duration = Duration::from_secs(10 * 60);

/// Reads the request on stdin and prints the response on stdout: the pod's own service
/// account's token where the request carries one ([`kubelet_federation`]), else the node's.
pub fn run(args: &KubeletArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let input = super::read_stdin()?;
    let (api_version, image) = parse_request(&input)?;
    let pod = kubelet_federation::pod_request(&input)?;
    drop(input);
    let host = image_host(&image)?;
    if !served_hosts(&args.serve.registries)?.contains(&host) {
        bail!(
            "image {} is not in a Nebius registry (its host is {host}): make matchImages in the kubelet's CredentialProviderConfig match only cr.*.nebius.cloud, or add the host to CRLOGIN_REGISTRIES",
            quoted(&image)
        );
    }
    let now = SystemTime::now();
    let (credential, keep) = match kubelet_federation::mode(pod, args.unannotated, now)? {
        Mode::Node(_) => {
            let (credential, kind) = nebius_credential(&args.serve.auth, env, ci)
                .with_context(|| format!("cannot get a Nebius registry password for {host}"))?;
            let keep = cache_duration(credential.expires_at, kind, now);
            (credential, keep)
        }
        Mode::Pod(pod) => {
            let pod_expires_at = pod.expires_at;
            let options = auth_options(&args.serve.auth, false);
            let credential = kubelet_federation::credential(pod, env, ci, &options)?;
            let expires_at = credential
                .expires_at
                .map_or(pod_expires_at, |iam| iam.min(pod_expires_at));
            let keep = cache_duration(Some(expires_at), PasswordKind::Exchanged, now);
            (credential, keep)
        }
    };
    let response = json!({
        "apiVersion": api_version,
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "cacheDuration": go_duration(keep),
        "auth": {
            host: {
                "username": credential.username,
                "password": credential.secret.expose(),
            }
        },
    });
    let text = Zeroizing::new(serde_json::to_string(&response)?);
    drop(response);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.as_str())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the response to stdout: {}", e.kind()))
}

/// The apiVersion and image of a `CredentialProviderRequest`. Errors name the problem, never a
/// value from the request (it may carry a service-account token).
pub(crate) fn parse_request(text: &str) -> Result<(String, String)> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "stdin is not JSON (line {}, column {}): the kubelet sends a CredentialProviderRequest",
            e.line(),
            e.column()
        )
    })?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str).unwrap_or_default();
    let api_version = field("apiVersion");
    if !API_VERSIONS.contains(&api_version) {
        bail!(
            "the request's apiVersion is not one crlogin speaks: set apiVersion in the kubelet's CredentialProviderConfig to {}",
            API_VERSIONS.join(" or ")
        );
    }
    if field("kind") != "CredentialProviderRequest" {
        bail!("the request's kind is not CredentialProviderRequest: stdin must be what the kubelet sends");
    }
    let image = field("image");
    if image.trim().is_empty() {
        bail!("the CredentialProviderRequest has no image: stdin must be what the kubelet sends");
    }
    Ok((api_version.to_string(), image.trim().to_string()))
}

/// The registry host of an image reference, as the container runtimes read one: the part before
/// the first `/` when it looks like a host (has a `.` or `:`, or is `localhost`), else Docker Hub.
pub fn image_host(image: &str) -> Result<String> {
    let first = image.split('/').next().unwrap_or_default();
    let is_host =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !is_host {
        return Ok("docker.io".to_string());
    }
    registry::parse_registry(first)
        .with_context(|| format!("image {} has a bad registry host", quoted(image)))
}

/// How long the kubelet may keep a password: see the module documentation.
pub fn cache_duration(
    expires_at: Option<SystemTime>,
    kind: PasswordKind,
    now: SystemTime,
) -> Duration {
    let Some(expires_at) = expires_at else {
        return match kind {
            PasswordKind::StaticKey => STATIC_KEY_CACHE,
            PasswordKind::GivenToken | PasswordKind::Exchanged => GIVEN_TOKEN_CACHE,
        };
    };
    let remaining = expires_at.duration_since(now).unwrap_or_default();
    let keep = if remaining >= 2 * MARGIN {
        remaining - MARGIN
    } else {
        remaining / 2
    };
    // Whole seconds, and never 0s, which would tell the kubelet not to cache at all.
    Duration::from_secs(keep.as_secs().max(1))
}

/// A duration as Go's `time.Duration.String()` writes whole seconds (`11h50m0s`, `5m0s`,
/// `42s`), which is how `metav1.Duration` appears in JSON.
pub fn go_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        let d = |s| go_duration(Duration::from_secs(s));
        assert_eq!(d(11 * 3600 + 50 * 60), "11h50m0s");
        assert_eq!(d(3600), "1h0m0s");
        assert_eq!(d(300), "5m0s");
        assert_eq!(d(61), "1m1s");
        assert_eq!(d(42), "42s");
        assert_eq!(d(0), "0s");
    }

    #[test]
    fn the_kubelet_keeps_a_token_until_just_before_it_expires() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s| Some(now + Duration::from_secs(s));
        let keep = |e| cache_duration(e, PasswordKind::Exchanged, now).as_secs();
        assert_eq!(keep(at(12 * 3600)), 11 * 3600 + 50 * 60);
        assert_eq!(keep(at(20 * 60)), 10 * 60);
        assert_eq!(keep(at(10 * 60)), 5 * 60);
        assert_eq!(keep(at(1)), 1);
        assert_eq!(keep(Some(now - Duration::from_secs(5))), 1);
        assert_eq!(
            cache_duration(None, PasswordKind::StaticKey, now),
            STATIC_KEY_CACHE
        );
        assert_eq!(
            cache_duration(None, PasswordKind::GivenToken, now),
            GIVEN_TOKEN_CACHE
        );
    }

    #[test]
    fn image_hosts_follow_the_reference_rules() {
        for (image, host) in [
            (
                "cr.eu-north1.nebius.cloud/e00abc/app:v1",
                "cr.eu-north1.nebius.cloud",
            ),
            (
                "CR.eu-north1.nebius.cloud/e00abc/app@sha256:00",
                "cr.eu-north1.nebius.cloud",
            ),
            ("127.0.0.1:5000/app", "127.0.0.1:5000"),
            ("localhost/app", "localhost"),
            ("nginx", "docker.io"),
            ("library/nginx:1", "docker.io"),
        ] {
            assert_eq!(image_host(image).unwrap(), host, "{image}");
        }
    }

    #[test]
    fn requests_are_checked_without_echoing_them() {
        let ok = r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest","image":"x.io/a"}"#;
        assert_eq!(
            parse_request(ok).unwrap(),
            (
                "credentialprovider.kubelet.k8s.io/v1beta1".to_string(),
                "x.io/a".to_string()
            )
        );
        for bad in [
            r#""sa-token-canary""#,
            r#"{"apiVersion":"v9-sa-token-canary","kind":"CredentialProviderRequest","image":"x"}"#,
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"sa-token-canary","image":"x"}"#,
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest"}"#,
            "{sa-token-canary",
        ] {
            let err = parse_request(bad).unwrap_err().to_string();
            assert!(!err.contains("canary"), "{err}");
        }
    }
}
