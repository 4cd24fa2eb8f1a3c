//! Per-pod federation in the kubelet credential provider (KEP-4412): requests carrying the pod's
//! service-account token and its ServiceAccount's `nebius.com/service-account-id` annotation go
//! in on stdin exactly as the kubelet writes them (v1 and v1beta1); the pod's JWT is exchanged
//! at the gRPC IAM stand-in (which checks the JWT's signature, `iss`, `aud` and `sub` against
//! each Nebius service account's federated credential) and the answer carries that account's
//! token. Hostile tests name the attack they stand for. Every run is checked for the pod's
//! token and the issued tokens in its output, and the token cache for the pod's token.
// Unix only (modes, Linux servers): on Windows the unit tests cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;

use harness::{secret_forms, Env, Out};
use iam_grpc::{IamServer, Reply, TestIssuer};
use serde::Deserialize as _;
use serde_json::Value;
use std::path::PathBuf;
use tempfile::TempDir;

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";
const IMAGE: &str = "cr.eu-north1.nebius.cloud/e00registry/app:v1";
const HOST: &str = "cr.eu-north1.nebius.cloud";
const ANNOTATION: &str = "nebius.com/service-account-id";
const AUD: &str = "sts.nebius.com";
const CLUSTER: &str = "https://oidc.cluster.example";
const SA_A: &str = "serviceaccount-e00tenanta";
const SA_B: &str = "serviceaccount-e00tenantb";
const SUB_A: &str = "system:serviceaccount:team-a:puller";
const SUB_B: &str = "system:serviceaccount:team-b:puller";

/// A node: the kubelet's environment for the provider, the cluster's issuer, the IAM trusting
/// one federated credential per tenant, and the node's own credential (a token canary).
struct Node {
    env: Env,
    issuer: TestIssuer,
    iam: IamServer,
    cache: TempDir,
    node_token: String,
    /// Every pod token handed to the provider.
    pod_tokens: Vec<String>,
}

impl Node {
    fn new() -> Node {
        let issuer = TestIssuer::new_with(CLUSTER, "cluster-key-1");
        let iam = IamServer::trusting(&issuer, SA_A, AUD, SUB_A);
        iam.also_trust(SA_B, SUB_B);
        let cache = harness::audit::temp_dir();
        let node_token = format!("v1.{}", harness::canary("node-token"));
        let mut env = Env::new();
        env.set("NEBIUS_TOKEN_EXCHANGE_GRPC", iam.url())
            .set("XDG_CACHE_HOME", cache.path().to_str().unwrap())
            .set("NEBIUS_IAM_TOKEN", &node_token)
            .set("CRLOGIN_RETRIES", "0");
        Node {
            env,
            issuer,
            iam,
            cache,
            node_token,
            pod_tokens: Vec::new(),
        }
    }

    /// A token the kubelet would request for a pod running as `sub`, living `ttl` seconds.
    fn pod_token(&mut self, sub: &str, ttl: i64) -> String {
        let jwt = self.issuer.token(sub, AUD, ttl);
        harness::audit::secret("pod service-account token", &jwt);
        self.pod_tokens.push(jwt.clone());
        jwt
    }

    fn provide(&self, stdin: &str) -> Out {
        self.provide_with(stdin, &[])
    }

    fn provide_with(&self, stdin: &str, vars: &[(&str, &str)]) -> Out {
        let mut run = self.env.crlogin(["kubelet-credential-provider"]);
        for (name, value) in vars {
            run = run.env(name, value);
        }
        let out = run.stdin(stdin).run();
        self.assert_quiet(&out);
        out
    }

    /// No pod token anywhere in `out`; no issued token either, except as the one password of a
    /// successful answer on stdout.
    fn assert_quiet(&self, out: &Out) {
        for jwt in &self.pod_tokens {
            for form in secret_forms(jwt, None) {
                assert!(
                    !out.stdout.contains(&form) && !out.stderr.contains(&form),
                    "the pod's token leaked:\n{out}"
                );
            }
        }
        let answered = password(out);
        for token in self.iam.issued().iter().chain([&self.node_token]) {
            for form in secret_forms(token, Some("iam")) {
                assert!(!out.stderr.contains(&form), "stderr shows a token:\n{out}");
                if answered.as_deref() != Some(token.as_str()) {
                    assert!(!out.stdout.contains(&form), "stdout shows a token:\n{out}");
                }
            }
        }
    }

    /// The token the IAM issued to `account` (the last one).
    fn issued_to(&self, account: &str) -> String {
        let issued = self.iam.issued_to();
        issued
            .iter()
            .rev()
            .find(|(_, to)| to == account)
            .unwrap_or_else(|| panic!("nothing issued to {account}: {issued:?}"))
            .0
            .clone()
    }

    fn cache_files(&self) -> Vec<PathBuf> {
        let dir = self.cache.path().join("crlogin");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries.map(|e| e.unwrap().path()).collect()
    }

    /// Leak audit of the files: no pod token, raw or base64, in the cache or under HOME.
    fn assert_files_clean(&self) {
        for root in [self.cache.path(), self.env.home()] {
            for jwt in &self.pod_tokens {
                harness::assert_no_leak(jwt, &secret_forms(jwt, None), &[], root, &[]);
            }
        }
    }
}

/// A request exactly as the kubelet encodes one (TypeMeta's kind first; the token and the
/// annotations only when the provider's config has tokenAttributes).
fn request(api_version: &str, token: Option<&str>, annotations: &[(&str, &str)]) -> String {
    let mut text = format!(
        r#"{{"kind":"CredentialProviderRequest","apiVersion":"{api_version}","image":"{IMAGE}""#
    );
    if let Some(token) = token {
        text.push_str(&format!(r#","serviceAccountToken":"{token}""#));
    }
    if !annotations.is_empty() {
        let map: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        text.push_str(&format!(
            r#","serviceAccountAnnotations":{}"#,
            Value::Object(map)
        ));
    }
    text.push('}');
    text
}

fn password(out: &Out) -> Option<String> {
    let doc: Value = serde_json::from_str(out.stdout.trim()).ok()?;
    doc["auth"][HOST]["password"].as_str().map(String::from)
}

/// The successful answer: the password and the cacheDuration in seconds.
fn answer(out: &Out, api_version: &str) -> (String, u64) {
    out.assert_success("kubelet-credential-provider");
    assert_eq!(out.stderr, "", "{out}");
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["apiVersion"], api_version);
    assert_eq!(doc["kind"], "CredentialProviderResponse");
    assert_eq!(doc["cacheKeyType"], "Registry");
    assert_eq!(doc["auth"][HOST]["username"], "iam");
    let keep = go_seconds(doc["cacheDuration"].as_str().unwrap());
    (password(out).unwrap(), keep)
}

/// Seconds of a Go duration made of h, m and s parts.
fn go_seconds(text: &str) -> u64 {
    let (mut total, mut n) = (0, 0);
    for c in text.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c.to_digit(10).unwrap()),
            'h' | 'm' | 's' => {
                total += n * [3600, 60, 1]["hms".find(c).unwrap()];
                n = 0;
            }
            _ => panic!("not a Go duration: {text:?}"),
        }
    }
    total
}

/// A refusal: exit 1, nothing on stdout, one line on stderr saying `want`.
fn assert_refused(out: &Out, want: &str) {
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "one line:\n{out}");
    assert!(out.stderr.starts_with("crlogin: error: "), "{out}");
    assert!(out.stderr.contains(want), "wanted {want:?}:\n{out}");
}

#[test]
fn an_annotated_pod_pulls_as_its_account_after_one_exchange_then_none() {
    let mut node = Node::new();
    let jwt = node.pod_token(SUB_A, 3600);
    let first = node.provide(&request(V1, Some(&jwt), &[(ANNOTATION, SA_A)]));
    let (password, keep) = answer(&first, V1);
    assert_eq!(password, node.issued_to(SA_A));
    assert_ne!(password, node.node_token);
    // The pod token (1 h) lives shorter than the IAM token (12 h): it bounds the kubelet's copy.
    assert!((2990..=3000).contains(&keep), "cacheDuration {keep}s");
    assert_eq!(node.iam.calls(), 1);
    let request = &node.iam.requests()[0];
    assert_eq!(
        (request.subject_token.as_str(), request.actor_token.as_str()),
        (SA_A, jwt.as_str())
    );
    for version in [V1, V1BETA1, V1] {
        let again = node.provide(&request_for(version, &jwt, SA_A));
        assert_eq!(answer(&again, version).0, password, "{version}");
    }
    assert_eq!(
        node.iam.calls(),
        1,
        "the next pulls are served by the cache"
    );
    let files = node.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(!name.contains("serviceaccount"), "{name}");
    node.assert_files_clean();
}

fn request_for(version: &str, jwt: &str, sa: &str) -> String {
    request(
        version,
        Some(jwt),
        &[(ANNOTATION, sa), ("other.io/key", "x")],
    )
}

/// Attack: one tenant's pod served another tenant's cached token (cache confusion), or a
/// tenant annotating its ServiceAccount with another tenant's Nebius account (confused deputy).
#[test]
fn two_service_accounts_on_one_node_never_see_each_others_token() {
    let mut node = Node::new();
    let a = node.pod_token(SUB_A, 3600);
    let b = node.pod_token(SUB_B, 3600);
    let (token_a, _) = answer(&node.provide(&request_for(V1, &a, SA_A)), V1);
    let (token_b, _) = answer(&node.provide(&request_for(V1, &b, SA_B)), V1);
    assert_eq!(token_a, node.issued_to(SA_A));
    assert_eq!(token_b, node.issued_to(SA_B));
    assert_ne!(token_a, token_b);
    assert_eq!(node.iam.calls(), 2);
    // Tenant B names tenant A's account: its token is B's, so no cache entry matches and IAM
    // refuses (A's federated credential trusts only A's subject).
    let out = node.provide(&request_for(V1, &b, SA_A));
    assert_refused(&out, "Nebius IAM refused the pod's service-account token for serviceaccount-e00tenanta (UNAUTHENTICATED");
    assert!(
        out.stderr.contains(&format!(
            "--oidc-provider-issuer-url {CLUSTER} --federated-subject-id {SUB_B}"
        )),
        "{out}"
    );
    assert!(!out.stderr.contains(&token_a), "{out}");
    let out = node.provide(&request_for(V1BETA1, &a, SA_B));
    assert_refused(&out, "for serviceaccount-e00tenantb (UNAUTHENTICATED");
    assert_eq!(
        node.iam.calls(),
        4,
        "each confused request went to IAM, not the cache"
    );
    // And each tenant still gets its own from the cache.
    assert_eq!(
        answer(&node.provide(&request_for(V1, &b, SA_B)), V1).0,
        token_b
    );
    assert_eq!(
        answer(&node.provide(&request_for(V1, &a, SA_A)), V1).0,
        token_a
    );
    assert_eq!(node.iam.calls(), 4);
    node.assert_files_clean();
}

#[test]
fn unannotated_pulls_get_the_node_credential_by_default_and_a_refusal_in_strict_mode() {
    let mut node = Node::new();
    let jwt = node.pod_token(SUB_A, 3600);
    for (version, stdin) in [
        (V1, request(V1, Some(&jwt), &[])),
        (V1, request(V1, Some(&jwt), &[("other.io/key", SA_A)])),
        (V1BETA1, request(V1BETA1, None, &[])),
    ] {
        let (password, _) = answer(&node.provide(&stdin), version);
        assert_eq!(password, node.node_token);
        let out = node.provide_with(&stdin, &[("CRLOGIN_KUBELET_UNANNOTATED", "refuse")]);
        assert_refused(&out, "CRLOGIN_KUBELET_UNANNOTATED is refuse (strict)");
        let out = node
            .env
            .crlogin(["kubelet-credential-provider", "--unannotated", "refuse"])
            .stdin(&stdin)
            .run();
        assert_refused(&out, "is refuse (strict)");
        node.assert_quiet(&out);
    }
    assert_eq!(node.iam.calls(), 0);
}

/// Attacks on the request itself; none may reach IAM or fall back to the node's credential.
#[test]
fn hostile_annotations_and_tokens_are_refused_before_any_exchange() {
    let mut node = Node::new();
    let live = node.pod_token(SUB_A, 3600);
    let expired = node.pod_token(SUB_A, -60);
    let not_a_jwt = harness::canary("pod-token-not-a-jwt");
    node.pod_tokens.push(not_a_jwt.clone());
    let cases: [(&str, String, &str); 6] = [
        // Fallback smuggling: an empty annotation hoping for the node's credential.
        (
            "empty annotation",
            request_for(V1, &live, ""),
            "an empty nebius.com/service-account-id annotation",
        ),
        // Log injection through the annotation (a name with a forged second log line).
        (
            "annotation not an id",
            request_for(V1, &live, "robot\ncrlogin: ok forged-log-line"),
            "is not a Nebius service account id",
        ),
        (
            "annotation a name",
            request_for(V1, &live, "my-robot"),
            "is not a Nebius service account id",
        ),
        // Replay of a stolen, expired token.
        (
            "expired token",
            request_for(V1, &expired, SA_A),
            "the pod's service-account token expired at",
        ),
        // Garbage in the token field (and the token echoed into an error).
        (
            "token not a JWT",
            request_for(V1, &not_a_jwt, SA_A),
            "serviceAccountToken is not a JWT",
        ),
        // A request naming an account without a token, hoping for the node's credential.
        (
            "annotation without token",
            request(V1, None, &[(ANNOTATION, SA_A)]),
            "carries no serviceAccountToken",
        ),
    ];
    for (label, stdin, want) in cases {
        let out = node.provide(&stdin);
        assert_refused(&out, want);
        assert!(
            !out.stderr.contains("canary") && !out.stderr.contains("forged-log-line"),
            "{label}: {out}"
        );
        assert!(!out.stdout.contains(&node.node_token), "{label}");
    }
    assert_eq!(node.iam.calls(), 0);
    assert!(node.cache_files().is_empty());
}

/// Attack: a token forged by another issuer (its own key), and IAM refusing outright.
#[test]
fn refused_exchanges_say_why_in_one_line_and_print_no_token() {
    let mut node = Node::new();
    let jwt = node.pod_token(SUB_A, 3600);
    for (code, name) in [
        (tonic::Code::PermissionDenied, "PERMISSION_DENIED"),
        (tonic::Code::Unauthenticated, "UNAUTHENTICATED"),
    ] {
        node.iam.script([Reply::Status(
            code,
            "no federated credentials trust this token".into(),
        )]);
        let out = node.provide(&request_for(V1, &jwt, SA_A));
        assert_refused(&out, &format!("Nebius IAM refused the pod's service-account token for {SA_A} ({name}: no federated credentials trust this token)"));
        assert!(
            out.stderr
                .contains(&format!("--federated-subject-id {SUB_A}")),
            "{out}"
        );
        assert!(out.stderr.contains("aud (sts.nebius.com)"), "{out}");
    }
    assert_eq!(node.iam.calls(), 2, "a refusal is not retried");
    let forger = TestIssuer::new_with(CLUSTER, "cluster-key-1");
    let forged = forger.token(SUB_A, AUD, 3600);
    harness::audit::secret("forged pod token", &forged);
    node.pod_tokens.push(forged.clone());
    let out = node.provide(&request_for(V1, &forged, SA_A));
    assert_refused(
        &out,
        "(UNAUTHENTICATED: invalid actor token: InvalidSignature)",
    );
    assert!(node.cache_files().is_empty(), "nothing refused is cached");
    node.assert_files_clean();
}

/// A pod token about to expire bounds the kubelet's copy; a rotated token is exchanged anew.
#[test]
fn a_short_lived_pod_token_bounds_the_cache_and_a_new_one_is_exchanged() {
    let mut node = Node::new();
    let short = node.pod_token(SUB_A, 600);
    let (_, keep) = answer(&node.provide(&request_for(V1, &short, SA_A)), V1);
    assert!(
        (295..=300).contains(&keep),
        "cacheDuration {keep}s for a 10-minute token"
    );
    let rotated = node.pod_token(SUB_A, 3600);
    answer(&node.provide(&request_for(V1, &rotated, SA_A)), V1);
    assert_eq!(node.iam.calls(), 2, "another token, another exchange");
    // CRLOGIN_NO_CACHE: every pull exchanges.
    let out = node.provide_with(
        &request_for(V1, &rotated, SA_A),
        &[("CRLOGIN_NO_CACHE", "1")],
    );
    answer(&out, V1);
    assert_eq!(node.iam.calls(), 3);
    node.assert_files_clean();
}

fn example(name: &str) -> Vec<serde_yaml::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/kubernetes/per-pod-federation")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
        .collect()
}

/// examples/kubernetes/per-pod-federation does what it says: the kubelet config's tokenAttributes
/// (audience sts.nebius.com, the annotation key passed) and env, run against the example
/// ServiceAccount and pod, pull as the annotated account; the strict env refuses the rest.
#[test]
fn the_per_pod_federation_example_pulls_as_the_annotated_account() {
    let config = &example("credential-provider-config.yaml")[0];
    let provider = &config["providers"][0];
    assert_eq!(provider["name"], "crlogin-credential-provider");
    let attributes = &provider["tokenAttributes"];
    assert_eq!(attributes["serviceAccountTokenAudience"], AUD);
    assert!(["Token", "ServiceAccount"].contains(&attributes["cacheType"].as_str().unwrap()));
    let passed: Vec<&str> = attributes["optionalServiceAccountAnnotationKeys"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(passed, [ANNOTATION]);
    let workload = example("workload.yaml");
    let account = workload
        .iter()
        .find(|d| d["kind"] == "ServiceAccount")
        .unwrap();
    let pod = workload.iter().find(|d| d["kind"] == "Pod").unwrap();
    assert!(pod["spec"]["imagePullSecrets"].is_null());
    assert_eq!(
        pod["spec"]["serviceAccountName"],
        account["metadata"]["name"]
    );
    let image = pod["spec"]["containers"][0]["image"].as_str().unwrap();
    assert_eq!(image, IMAGE);
    let sa = account["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .unwrap();
    let subject = format!(
        "system:serviceaccount:{}:{}",
        account["metadata"]["namespace"].as_str().unwrap(),
        account["metadata"]["name"].as_str().unwrap()
    );
    let mut node = Node::new();
    node.iam.also_trust(sa, &subject);
    for var in provider["env"].as_sequence().unwrap() {
        let (name, value) = (
            var["name"].as_str().unwrap(),
            var["value"].as_str().unwrap(),
        );
        if name != "XDG_CACHE_HOME" {
            node.env.set(name, value);
        }
    }
    let audience = attributes["serviceAccountTokenAudience"].as_str().unwrap();
    let jwt = node.issuer.token(&subject, audience, 3600);
    harness::audit::secret("pod service-account token", &jwt);
    node.pod_tokens.push(jwt.clone());
    let (password, _) = answer(&node.provide(&request_for(V1, &jwt, sa)), V1);
    assert_eq!(password, node.issued_to(sa));
    let out = node.provide(&request(V1, Some(&jwt), &[]));
    assert_refused(&out, "is refuse (strict)");
    node.assert_files_clean();
}

/// `crlogin doctor` on a node: the `kubelet-provider` check's status and detail for `config`.
fn doctor_on(node: &Node, config: &str, vars: &[(&str, &str)]) -> (String, String) {
    let path = node.env.home().join("credential-provider-config.yaml");
    std::fs::write(&path, config).unwrap();
    let mut run = node
        .env
        .crlogin(["doctor", "-o", "json", "--timeout", "1"])
        .env("CRLOGIN_KUBELET_CONFIG", &path)
        .env("CRLOGIN_REGISTRIES", "127.0.0.1:9");
    for (name, value) in vars {
        run = run.env(name, value);
    }
    let out = run.run();
    node.assert_quiet(&out);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|_| panic!("{out}"));
    let check = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kubelet-provider")
        .unwrap_or_else(|| panic!("no kubelet-provider check:\n{out}"))
        .clone();
    (
        check["status"].as_str().unwrap().to_string(),
        format!(
            "{} | fix: {}",
            check["detail"].as_str().unwrap(),
            check["fix"].as_str().unwrap_or("-")
        ),
    )
}

#[test]
fn doctor_on_a_node_says_which_mode_the_provider_would_use_and_why() {
    let node = Node::new();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/kubernetes/per-pod-federation/credential-provider-config.yaml");
    let example = std::fs::read_to_string(path).unwrap();
    let (status, text) = doctor_on(&node, &example, &[]);
    assert_eq!(status, "ok", "{text}");
    assert!(text.contains("per-pod federation for service accounts annotated nebius.com/service-account-id (pod tokens for aud \"sts.nebius.com\")"), "{text}");
    assert!(
        text.contains("other pods get a refusal (CRLOGIN_KUBELET_UNANNOTATED=refuse)"),
        "{text}"
    );
    // The config's env wins over the shell's; without it, the shell's (or the default) applies.
    let node_mode = example.replace("value: refuse", "value: node");
    let (status, text) = doctor_on(
        &node,
        &node_mode,
        &[("CRLOGIN_KUBELET_UNANNOTATED", "refuse")],
    );
    assert_eq!(status, "ok", "{text}");
    assert!(
        text.contains("other pods get the node's credential (found here)"),
        "{text}"
    );
    let other_audience = example.replace(
        "serviceAccountTokenAudience: sts.nebius.com",
        "serviceAccountTokenAudience: my-registry",
    );
    let (status, text) = doctor_on(&node, &other_audience, &[]);
    assert_eq!(status, "warn", "{text}");
    assert!(
        text.contains("set tokenAttributes.serviceAccountTokenAudience to sts.nebius.com"),
        "{text}"
    );
    let no_key = example.replace("- nebius.com/service-account-id", "- other.io/key");
    let (status, text) = doctor_on(&node, &no_key, &[]);
    assert_eq!(status, "fail", "{text}");
    assert!(
        text.contains("not the nebius.com/service-account-id annotation, so no pod is federated"),
        "{text}"
    );
    let plain = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: crlogin-credential-provider\n    matchImages: [\"cr.*.nebius.cloud\"]\n    defaultCacheDuration: 1h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n    args: [\"--unannotated\", \"refuse\"]\n";
    let (status, text) = doctor_on(&node, plain, &[]);
    assert_eq!(status, "fail", "{text}");
    assert!(
        text.contains("node credential for every pod: the provider has no tokenAttributes"),
        "{text}"
    );
    assert!(
        text.contains("every") && text.contains("give the provider tokenAttributes"),
        "{text}"
    );
    let (status, text) = doctor_on(&node, &plain.replace("refuse", "nod"), &[]);
    assert_eq!(status, "fail", "{text}");
    assert!(text.contains("neither node nor refuse"), "{text}");
}
