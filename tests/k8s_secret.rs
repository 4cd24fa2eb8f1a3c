//! `crlogin k8s-secret`: the manifest (YAML and JSON) decodes back to a
//! `kubernetes.io/dockerconfigjson` Secret whose auths hold the right credential for each
//! selected registry, and matches what kubectl itself generates (the real kubectl, Debian's
//! kubernetes-client, for every kind of credential `login` reads); `--service-account` adds the
//! Secret to the ServiceAccount piped in, keeping its other entries.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;
mod nebius_machine;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use harness::{require_tool, run, Env, Out};
use nebius_machine::Machine;
use serde_json::{json, Value};

/// What `kubectl create secret docker-registry pull -n ci --docker-server=cr.eu-north1.nebius.cloud
/// --docker-username=iam --docker-password=abc --dry-run=client -o json` printed (kubectl
/// v1.32.4), without its `creationTimestamp: null`.
fn kubectl_generated() -> Value {
    json!({
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "pull", "namespace": "ci"},
        "data": {
            ".dockerconfigjson": "eyJhdXRocyI6eyJjci5ldS1ub3J0aDEubmViaXVzLmNsb3VkIjp7InVzZXJuYW1lIjoiaWFtIiwicGFzc3dvcmQiOiJhYmMiLCJhdXRoIjoiYVdGdE9tRmlZdz09In19fQ=="
        },
        "type": "kubernetes.io/dockerconfigjson"
    })
}

/// The auths inside a Secret manifest's `.dockerconfigjson`.
fn auths(manifest: &Value) -> serde_json::Map<String, Value> {
    assert_eq!(manifest["type"], "kubernetes.io/dockerconfigjson");
    let data = manifest["data"][".dockerconfigjson"].as_str().unwrap();
    let config: Value = serde_json::from_slice(&B64.decode(data).unwrap()).unwrap();
    config["auths"].as_object().unwrap().clone()
}

fn yaml(out: &Out) -> Value {
    out.assert_success("k8s-secret");
    serde_yaml::from_str(&out.stdout).unwrap_or_else(|e| panic!("not YAML ({e}):\n{out}"))
}

fn json_of(out: &Out) -> Value {
    out.assert_success("k8s-secret -o json");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

#[test]
fn a_static_key_secret_is_what_kubectl_generates_in_yaml_and_json() {
    let mut machine = Machine::new();
    machine.env.set("NEBIUS_STATIC_KEY", "abc");
    let args = [
        "k8s-secret",
        "--name",
        "pull",
        "--namespace",
        "ci",
        "--region",
        "eu-north1",
    ];
    let as_yaml = machine.env.crlogin(args).run();
    let as_json = machine
        .env
        .crlogin(args.iter().chain(&["-o", "json"]))
        .run();
    assert_eq!(yaml(&as_yaml), kubectl_generated());
    assert_eq!(json_of(&as_json), kubectl_generated());
    for out in [&as_yaml, &as_json] {
        assert!(
            !out.stderr.contains("warning"),
            "no warning for a static key: {out}"
        );
        assert!(!out.stderr.contains("abc"), "{out}");
    }
}

#[test]
fn an_exchanged_token_secret_covers_every_region_and_warns_that_it_expires() {
    let machine = Machine::new();
    let out = machine
        .env
        .crlogin(["k8s-secret", "--name", "nebius-pull", "--all-regions"])
        .run();
    let manifest = yaml(&out);
    assert_eq!(manifest["metadata"], json!({"name": "nebius-pull"}));
    let token = machine.server.tokens()[0].clone();
    let auths = auths(&manifest);
    assert_eq!(auths.len(), 6);
    for region in [
        "eu-north1",
        "eu-north2",
        "eu-west1",
        "me-west1",
        "uk-south1",
        "us-central1",
    ] {
        assert_eq!(
            auths[&format!("cr.{region}.nebius.cloud")],
            json!({
                "username": "iam",
                "password": token,
                "auth": B64.encode(format!("iam:{token}")),
            })
        );
    }
    assert!(
        out.stderr
            .contains("crlogin: warning: the Secret holds an IAM access token, which expires at "),
        "{out}"
    );
    assert!(
        out.stderr.contains("NEBIUS_STATIC_KEY")
            && out.stderr.contains("kubelet-credential-provider"),
        "{out}"
    );
    // stdout carries the token only inside the base64 data; stderr not at all.
    assert!(!out.stdout.contains(&token), "{out}");
    machine.assert_quiet(
        &Out {
            stdout: String::new(),
            ..out
        },
        None,
    );
    machine.assert_home_clean();
}

#[test]
fn the_default_region_and_bad_names() {
    let mut machine = Machine::new();
    machine.env.set("NEBIUS_REGION", "eu-west1");
    let out = machine
        .env
        .crlogin(["k8s-secret", "--name", "pull", "-o", "json"])
        .run();
    let hosts: Vec<String> = auths(&json_of(&out)).keys().cloned().collect();
    assert_eq!(hosts, ["cr.eu-west1.nebius.cloud"]);
    assert_eq!(machine.server.requests(), 1);

    for (args, want) in [
        (
            vec!["--name", "Pull_Secret"],
            "--name \"Pull_Secret\" is not a valid Kubernetes name",
        ),
        (
            vec!["--name", "pull", "-n", "a.b"],
            "--namespace \"a.b\" is not a valid namespace",
        ),
        (
            vec!["--name", "pull", "--region", "mars-1"],
            "unknown Nebius region \"mars-1\"",
        ),
    ] {
        let out = machine
            .env
            .crlogin(["k8s-secret"].iter().chain(&args))
            .run();
        assert_eq!(out.status.code(), Some(1), "{out}");
        assert_eq!(out.stdout, "", "{out}");
        assert!(out.stderr.contains(want), "wanted {want:?}: {out}");
    }
    assert_eq!(machine.server.requests(), 1, "bad flags exchange nothing");
}

/// What the real kubectl generates for one registry, without `creationTimestamp: null`.
fn kubectl_secret(
    name: &str,
    namespace: Option<&str>,
    server: &str,
    user: &str,
    password: &str,
) -> Value {
    let mut cmd = Env::new().command(require_tool("kubectl"));
    cmd.args(["create", "secret", "docker-registry", name])
        .arg(format!("--docker-server={server}"))
        .arg(format!("--docker-username={user}"))
        .arg(format!("--docker-password={password}"))
        .args(["--dry-run=client", "-o", "json"]);
    if let Some(ns) = namespace {
        cmd.args(["-n", ns]);
    }
    let out = run(&mut cmd, None);
    out.assert_success("kubectl create secret docker-registry --dry-run=client");
    let mut secret: Value = serde_json::from_str(&out.stdout).unwrap();
    let metadata = secret["metadata"].as_object_mut().unwrap();
    assert_eq!(metadata.remove("creationTimestamp"), Some(Value::Null));
    secret
}

// Passwords shorter than the leak audit's 16 characters: they go on kubectl's argv on purpose.
#[test]
fn a_dcr_secret_is_exactly_what_kubectl_generates() {
    let mut env = Env::new();
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", "pw-dcr-1")
        .set("DCR_REGISTRY", "registry.example.com/team");
    let out = env
        .crlogin([
            "k8s-secret",
            "--name",
            "dcr-credentials",
            "-n",
            "apps",
            "-o",
            "json",
        ])
        .run();
    assert_eq!(
        json_of(&out),
        kubectl_secret(
            "dcr-credentials",
            Some("apps"),
            "registry.example.com",
            "alice",
            "pw-dcr-1"
        )
    );
    assert!(
        !out.stderr.contains("warning"),
        "a password does not expire: {out}"
    );
    assert!(out.stderr.contains("(from DCR_*)"), "{out}");
}

#[test]
fn several_registries_share_one_secret_each_entry_as_kubectl_makes_it() {
    let mut env = Env::new();
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", "pw-dcr-2")
        .set("DCR_REGISTRY", "dcr.example")
        .set("HARBOR_USERNAME", "robot$ci")
        .set("HARBOR_PASSWORD", "pw-harbor")
        .set("HARBOR_REGISTRY", "harbor.example:8443")
        .set("GITLAB_CI", "true")
        .set("CI_REGISTRY", "registry.gitlab.example")
        .set("CI_REGISTRY_USER", "gitlab-ci-token")
        .set("CI_REGISTRY_PASSWORD", "pw-job")
        .set("NEBIUS_STATIC_KEY", "pw-static")
        .set("NEBIUS_REGION", "eu-north1");
    let out = env
        .crlogin(["k8s-secret", "--name", "pull", "--from-env", "HARBOR"])
        .run();
    let ours = auths(&yaml(&out));
    let expected = [
        ("harbor.example:8443", "robot$ci", "pw-harbor"),
        ("dcr.example", "alice", "pw-dcr-2"),
        ("registry.gitlab.example", "gitlab-ci-token", "pw-job"),
        ("cr.eu-north1.nebius.cloud", "iam", "pw-static"),
    ];
    assert_eq!(ours.len(), expected.len(), "{out}");
    for (host, user, password) in expected {
        let theirs = auths(&kubectl_secret("pull", None, host, user, password));
        assert_eq!(ours[host], theirs[host], "{host}");
    }
    assert!(
        out.stderr
            .contains("(from HARBOR_*, DCR_*, CI_REGISTRY (GitLab), NEBIUS_STATIC_KEY)"),
        "{out}"
    );
}

/// `kubectl get serviceaccount default -n apps -o json`, trimmed to what matters.
const DEFAULT_SA: &str = r#"{"apiVersion":"v1","kind":"ServiceAccount",
  "metadata":{"name":"default","namespace":"apps","resourceVersion":"4711","uid":"0f3c"},
  "imagePullSecrets":[{"name":"old-pull"}]}"#;

#[test]
fn the_service_account_keeps_its_entries_and_gains_the_secret() {
    let mut env = Env::new();
    env.set("NEBIUS_STATIC_KEY", "pw-static-2")
        .set("NEBIUS_REGION", "eu-west1");
    let args = [
        "k8s-secret",
        "--name",
        "pull",
        "-n",
        "apps",
        "--service-account",
        "default",
    ];
    let out = env.crlogin(args).stdin(DEFAULT_SA).run();
    out.assert_success("k8s-secret --service-account");
    let docs: Vec<Value> = out
        .stdout
        .split("\n---\n")
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{out}");
    assert_eq!(auths(&docs[0]).len(), 1);
    let expected_sa = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": "apps", "resourceVersion": "4711"},
        "imagePullSecrets": [{"name": "old-pull"}, {"name": "pull"}],
    });
    assert_eq!(docs[1], expected_sa);

    // JSON: one List, which kubectl apply takes whole; re-running adds nothing twice.
    let again = env
        .crlogin(args.iter().chain(&["-o", "json"]))
        .stdin(&serde_json::to_string(&expected_sa).unwrap())
        .run();
    let list = json_of(&again);
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["kind"], "Secret");
    assert_eq!(list["items"][1], expected_sa);

    for (stdin, want) in [
        (
            "",
            "--service-account found nothing on stdin: pipe in the current one",
        ),
        (
            r#"{"kind":"ServiceAccount","metadata":{"name":"builder"}}"#,
            "stdin holds ServiceAccount \"builder\", not default",
        ),
        ("[1,2", "stdin is not a ServiceAccount"),
    ] {
        let out = env.crlogin(args).stdin(stdin).run();
        assert_eq!(out.status.code(), Some(1), "{out}");
        assert_eq!(out.stdout, "", "nothing printed on an error: {out}");
        assert!(out.stderr.contains(want), "wanted {want:?}: {out}");
    }
}
