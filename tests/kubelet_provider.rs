//! The kubelet image credential provider: requests shaped as the Kubernetes API reference shows
//! them (`credentialprovider.kubelet.k8s.io` v1 and v1beta1) go in on stdin; the response must
//! decode as a `CredentialProviderResponse` (no field the kubelet does not know) in the same
//! apiVersion, with credentials for the image's registry host and a cacheDuration just under the
//! token's remaining life. Also checks examples/kubernetes/kubelet-pulls-with-credential-provider.yaml.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;
mod nebius_machine;

use harness::{run, Out};
use nebius_machine::Machine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";
const IMAGE: &str = "cr.eu-north1.nebius.cloud/e00registry/app:v1";
const TWELVE_HOURS: Duration = Duration::from_secs(12 * 3600);

/// `CredentialProviderResponse` as k8s.io/kubelet/pkg/apis/credentialprovider/v1 defines it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Response {
    api_version: String,
    kind: String,
    cache_key_type: String,
    cache_duration: Option<String>,
    auth: BTreeMap<String, AuthConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthConfig {
    username: String,
    password: String,
}

/// The service-account token every request carries: crlogin must never print it.
fn sa_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| harness::canary("sa-token"))
}

/// A request as the kubelet sends it; v1 may carry a service-account token and annotations.
fn request(api_version: &str, image: &str) -> String {
    serde_json::json!({
        "apiVersion": api_version,
        "kind": "CredentialProviderRequest",
        "image": image,
        "serviceAccountToken": sa_token(),
        "serviceAccountAnnotations": {"nebius.com/sa": "e00"},
    })
    .to_string()
}

fn provide(machine: &Machine, stdin: &str) -> Out {
    machine
        .env
        .crlogin(["kubelet-credential-provider"])
        .stdin(stdin)
        .run()
}

/// Parses a Go duration string made of h, m and s parts ("11h50m0s").
fn go_duration(text: &str) -> Duration {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number.parse().unwrap_or_else(|_| panic!("{text:?}"));
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => panic!("not a Go duration: {text:?}"),
        }
    }
    assert!(number.is_empty(), "not a Go duration: {text:?}");
    Duration::from_secs(total)
}

fn decode(out: &Out) -> Response {
    out.assert_success("kubelet-credential-provider");
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not a CredentialProviderResponse ({e}):\n{out}"))
}

#[test]
fn v1_and_v1beta1_requests_get_a_response_in_their_own_version() {
    let machine = Machine::new();
    for (i, version) in [V1, V1BETA1, V1].iter().enumerate() {
        let out = provide(&machine, &request(version, IMAGE));
        let response = decode(&out);
        let token = machine.server.tokens()[0].clone();
        assert_eq!(response.api_version, *version);
        assert_eq!(response.kind, "CredentialProviderResponse");
        assert_eq!(response.cache_key_type, "Registry");
        let keep = go_duration(response.cache_duration.as_deref().unwrap());
        assert!(
            keep < TWELVE_HOURS - Duration::from_secs(9 * 60)
                && keep > TWELVE_HOURS - Duration::from_secs(11 * 60),
            "cacheDuration {keep:?} should end about ten minutes before the token"
        );
        assert_eq!(response.auth.len(), 1);
        let auth = &response.auth["cr.eu-north1.nebius.cloud"];
        assert_eq!(
            (auth.username.as_str(), auth.password.as_str()),
            ("iam", token.as_str())
        );
        assert_eq!(
            machine.server.requests(),
            1,
            "request {i}: one exchange, then the cache"
        );
        machine.assert_quiet(&out, Some(&out.stdout));
        assert!(!out.stdout.contains(sa_token()) && !out.stderr.contains(sa_token()));
        assert_eq!(out.stderr, "");
    }
    machine.assert_home_clean();
}

#[test]
fn the_provider_name_is_the_provider_and_extra_registries_are_served() {
    let mut machine = Machine::new();
    machine.env.set("CRLOGIN_REGISTRIES", "127.0.0.1:5000");
    let bin = machine.home().join("plugins");
    std::fs::create_dir_all(&bin).unwrap();
    let program = bin.join("crlogin-credential-provider");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_crlogin"), &program).unwrap();
    let out = run(
        &mut machine.env.command(&program),
        Some(&request(V1, "127.0.0.1:5000/team/app@sha256:0123")),
    );
    let response = decode(&out);
    assert_eq!(response.auth.keys().collect::<Vec<_>>(), ["127.0.0.1:5000"]);
    machine.assert_quiet(&out, Some(&out.stdout));
}

#[test]
fn a_static_key_is_kept_for_an_hour() {
    let mut machine = Machine::new();
    let key: &str = &harness::canary("static-key");
    machine.env.set("NEBIUS_STATIC_KEY", key);
    let out = provide(
        &machine,
        &request(V1BETA1, "cr.us-central1.nebius.cloud/e00/x:1"),
    );
    let response = decode(&out);
    assert_eq!(response.cache_duration.as_deref(), Some("1h0m0s"));
    assert_eq!(response.auth["cr.us-central1.nebius.cloud"].password, key);
    assert_eq!(machine.server.requests(), 0);
    assert!(!out.stderr.contains(key), "{out}");
}

#[test]
fn other_images_and_bad_requests_fail_on_stderr() {
    let machine = Machine::new();
    for (stdin, want) in [
        (
            request(V1, "nginx:latest"),
            "is not in a Nebius registry (its host is docker.io)",
        ),
        (
            request(V1, "ghcr.io/o/app:v1"),
            "is not in a Nebius registry (its host is ghcr.io)",
        ),
        (
            request("credentialprovider.kubelet.k8s.io/v1alpha1", IMAGE),
            "apiVersion is not one crlogin speaks",
        ),
        (IMAGE.to_string(), "stdin is not JSON"),
        (
            serde_json::json!({"apiVersion": V1, "kind": "CredentialProviderRequest"}).to_string(),
            "has no image",
        ),
    ] {
        let out = provide(&machine, &stdin);
        assert_eq!(out.status.code(), Some(1), "{out}");
        assert_eq!(out.stdout, "", "{out}");
        assert!(out.stderr.starts_with("crlogin: error: "), "{out}");
        assert!(out.stderr.contains(want), "wanted {want:?}: {out}");
        assert!(!out.stderr.contains(sa_token()), "{out}");
    }
    assert_eq!(machine.server.requests(), 0);
}

/// kubelet's matchImages rule for a pattern without path or port: as many dot-separated parts
/// as the host, each matching (a `*` part matches any one part).
fn matches(pattern: &str, host: &str) -> bool {
    let (p, h): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len() && p.iter().zip(&h).all(|(p, h)| *p == "*" || p == h)
}

#[test]
fn the_example_config_matches_every_region_and_names_the_provider() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/kubernetes/kubelet-pulls-with-credential-provider.yaml");
    let config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(config["apiVersion"], "kubelet.config.k8s.io/v1");
    assert_eq!(config["kind"], "CredentialProviderConfig");
    let provider = &config["providers"][0];
    assert_eq!(provider["name"], "crlogin-credential-provider");
    assert_eq!(provider["apiVersion"], V1);
    assert!(provider["defaultCacheDuration"].as_str().is_some());
    let patterns: Vec<&str> = provider["matchImages"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for region in [
        "eu-north1",
        "eu-north2",
        "eu-west1",
        "me-west1",
        "uk-south1",
        "us-central1",
    ] {
        let host = format!("cr.{region}.nebius.cloud");
        assert!(patterns.iter().any(|p| matches(p, &host)), "{host}");
    }
    assert!(!patterns.iter().any(|p| matches(p, "ghcr.io")));
    let env: Vec<&str> = provider["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"NEBIUS_SA_CREDENTIALS_FILE"), "{env:?}");
}
