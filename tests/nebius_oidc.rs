//! Keyless OIDC federation through the binary: the CI's OIDC token (GitHub's token endpoint, or
//! GitLab's `id_tokens` variable) is exchanged over gRPC for the service account's IAM token,
//! against a loopback IAM server that checks what Nebius checks (the JWT's signature against the
//! issuer's keys, its issuer, audience, subject and expiry, and the request's token types).
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;

use base64::Engine;
use harness::{canary, Env, Out};
use iam_grpc::{Expect, FakeGithubOidc, IamServer, TestIssuer};

const SA: &str = "serviceaccount-e00oidctest";
const SUB: &str = "repo:acme/app:ref:refs/heads/main";
const AUD: &str = "crlogin-oidc-test";
const REGISTRY: &str = "127.0.0.1:5999";

fn server(issuer: &TestIssuer) -> IamServer {
    IamServer::start(Expect {
        service_account_id: SA.into(),
        issuer: issuer.issuer.clone(),
        audience: AUD.into(),
        subject: SUB.into(),
        jwks: issuer.jwks(),
    })
}

fn nebius_env(server: &IamServer) -> Env {
    let mut env = Env::new();
    env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .set("NEBIUS_TOKEN_EXCHANGE_GRPC", server.url())
        .set("NEBIUS_OIDC_AUDIENCE", AUD);
    env
}

fn login(env: &Env) -> Out {
    env.crlogin(["login", "--registry", REGISTRY, "--for", "docker"])
        .run()
}

fn docker_auth(env: &Env) -> String {
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.home().join(".docker/config.json")).unwrap(),
    )
    .unwrap();
    config["auths"][REGISTRY]["auth"]
        .as_str()
        .unwrap()
        .to_string()
}

/// No secret in any line but GitHub's `::add-mask::` lines (and each is registered for the
/// leak audit).
fn assert_unprinted(out: &Out, secrets: &[&str]) {
    for secret in secrets {
        harness::audit::secret("OIDC test secret", secret);
    }
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        if line.starts_with("::add-mask::") {
            continue;
        }
        for secret in secrets {
            assert!(!line.contains(secret), "a secret was printed: {line}");
        }
    }
}

#[test]
fn github_oidc_token_is_federated_and_never_cached() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let request_token = canary("gh-request-token");
    let github = FakeGithubOidc::start(&issuer, &request_token, SUB);
    let mut env = nebius_env(&iam);
    env.set("GITHUB_ACTIONS", "true");
    for (name, value) in github.env() {
        env.set(&name, value);
    }

    let out = login(&env);
    out.assert_success("login with GitHub OIDC");
    assert!(out.stderr.contains("OIDC federation, exchanged"), "{out}");
    assert_eq!(iam.calls(), 1);
    assert_eq!(github.audiences(), [AUD]);
    let token = iam.issued().pop().unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("iam:{token}"));
    assert_eq!(docker_auth(&env), expected);
    assert!(
        out.stderr.contains(&format!("::add-mask::{token}")),
        "the token is masked: {out}"
    );
    assert_unprinted(&out, &[&token, &request_token, &expected]);

    // The next run presents its own OIDC token again: a federated token is never cached, so a
    // job sharing this HOME cannot reuse it without the CI's proof.
    let again = login(&env);
    again.assert_success("second login");
    assert!(
        again.stderr.contains("OIDC federation, exchanged"),
        "{again}"
    );
    assert_eq!(iam.calls(), 2);
    assert_eq!(github.calls(), 2);
    assert_unprinted(&again, &[&iam.issued().pop().unwrap(), &request_token]);
    let cache = env.home().join(".cache/crlogin");
    assert!(
        !cache.exists() || std::fs::read_dir(&cache).unwrap().next().is_none(),
        "nothing cached"
    );
}

#[test]
fn gitlab_id_token_variable_is_federated() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let jwt = issuer.token(SUB, AUD, 600);
    let mut env = nebius_env(&iam);
    env.set("GITLAB_CI", "true").set("NEBIUS_ID_TOKEN", &jwt);
    let out = env
        .crlogin([
            "login",
            "--registry",
            REGISTRY,
            "--for",
            "docker",
            "--no-cache",
        ])
        .run();
    out.assert_success("login with a GitLab id_token");
    let token = iam.issued().pop().unwrap();
    assert_unprinted(&out, &[&token, &jwt]);
    assert_eq!(iam.rejections().len(), 0);
}

#[test]
fn unavailable_iam_is_retried_then_succeeds() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    iam.fail_unavailable(2);
    let mut env = nebius_env(&iam);
    let jwt = issuer.token(SUB, AUD, 600);
    env.set("NEBIUS_ID_TOKEN", &jwt);
    let out = env
        .crlogin([
            "login",
            "--registry",
            REGISTRY,
            "--for",
            "docker",
            "--no-cache",
        ])
        .run();
    out.assert_success("login after two UNAVAILABLE answers");
    assert_eq!(iam.calls(), 3, "{out}");
    assert!(
        out.stderr.contains("OIDC federation attempt 1 of 5 failed"),
        "{out}"
    );
    assert_unprinted(&out, &[&jwt, &iam.issued().pop().unwrap()]);
}

#[test]
fn a_token_for_another_subject_is_refused_at_once_with_a_fix() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let jwt = issuer.token("repo:evil/app:ref:refs/heads/main", AUD, 600);
    let mut env = nebius_env(&iam);
    env.set("NEBIUS_ID_TOKEN", &jwt);
    let out = login(&env);
    out.assert_failure("a token whose subject the service account does not trust");
    assert_eq!(iam.calls(), 1, "a refusal is not retried");
    assert!(
        out.stderr.contains("federated"),
        "the error says what to set up: {out}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "one line: {out}");
    assert_unprinted(&out, &[&jwt]);
    assert!(
        !env.home().join(".docker/config.json").exists(),
        "nothing written"
    );
}

#[test]
fn forced_oidc_without_a_ci_token_explains_the_permission() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let env = nebius_env(&iam);
    let out = env
        .crlogin(["login", "--auth", "oidc", "--registry", REGISTRY])
        .run();
    out.assert_failure("no OIDC token available");
    assert!(out.stderr.contains("id-token: write"), "{out}");
    assert_eq!(iam.calls(), 0);
}
