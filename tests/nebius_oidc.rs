//! Keyless OIDC federation through the binary: the CI's OIDC token (GitHub's token endpoint, or
//! GitLab's `id_tokens` variable) is exchanged over gRPC for the service account's IAM token,
//! against a loopback IAM server that checks what Nebius checks (the JWT's signature against the
//! issuer's keys, its issuer, audience, subject and expiry, and the request's token types).
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod iam_server;

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

/// Writes `~/.nebius/config.yaml` with one profile `ci` holding `fields` (YAML lines).
fn write_profile(env: &Env, fields: &str) {
    let dir = env.home().join(".nebius");
    std::fs::create_dir_all(&dir).unwrap();
    let body: String = fields.lines().map(|l| format!("    {l}\n")).collect();
    std::fs::write(dir.join("config.yaml"), format!("profiles:\n  ci:\n{body}")).unwrap();
}

const TARGET: &str = "serviceaccount-e00impersonated";
const KEY_SA: &str = "serviceaccount-e00keyholder";
const KEY_ID: &str = "publickey-e00keyholder";

/// A profile's key exchanged over HTTP, then its token exchanged over gRPC for another
/// account's: the login is the target's, the report names both, and each account's token is
/// cached apart (the base account's token is never served for the target, nor the reverse).
#[test]
fn a_profile_impersonating_another_account_logs_in_as_it_and_caches_each_apart() {
    let issuer = TestIssuer::new();
    let grpc = server(&issuer);
    let http = iam_server::IamServer::start(KEY_SA, KEY_ID);
    let actor = canary("impersonation-actor-token");
    http.set_token(&actor);
    grpc.trust_actor_token(&actor);
    grpc.allow_impersonation_of(TARGET);
    let mut env = Env::new();
    env.set("NEBIUS_AUTH_ENDPOINT", http.endpoint())
        .set("NEBIUS_TOKEN_EXCHANGE_GRPC", grpc.url());
    let key = env.home().join("key.json");
    std::fs::write(&key, iam_server::credentials_json(KEY_SA, KEY_ID)).unwrap();
    harness::audit::input(&key);
    let impersonating = format!(
        "auth-type: service account\nservice-account-credentials-file-path: ~/key.json\nimpersonate-service-account-id: {TARGET}"
    );
    write_profile(&env, &impersonating);

    let out = login(&env);
    out.assert_success("login impersonating");
    assert!(
        out.stderr.contains(&format!(
            "profile ci ({KEY_SA}) impersonating {TARGET}, exchanged"
        )),
        "{out}"
    );
    let target_token = grpc.issued().pop().unwrap();
    assert_eq!(grpc.impersonations(), [(actor.clone(), TARGET.to_string())]);
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(format!("iam:{t}"));
    assert_eq!(docker_auth(&env), b64(&target_token));
    assert_unprinted(&out, &[&target_token, &actor]);

    let again = login(&env);
    again.assert_success("second login impersonating");
    assert!(again.stderr.contains("cached token"), "{again}");
    assert_eq!(
        (http.requests(), grpc.calls()),
        (1, 1),
        "served from the cache"
    );

    // The same key without impersonation: its own token, never the target's cached one.
    write_profile(
        &env,
        "auth-type: service account\nservice-account-credentials-file-path: ~/key.json",
    );
    let base = login(&env);
    base.assert_success("login as the key's own account");
    assert_eq!(docker_auth(&env), b64(&actor));
    assert_eq!(http.requests(), 2);
    let base_again = login(&env);
    assert_eq!(docker_auth(&env), b64(&actor));
    assert_eq!(http.requests(), 2, "the base token is cached: {base_again}");

    // And back: the target's cached token, not the base one now cached too.
    write_profile(&env, &impersonating);
    let back = login(&env);
    back.assert_success("impersonating again");
    assert_eq!(docker_auth(&env), b64(&target_token));
    assert_eq!((http.requests(), grpc.calls()), (2, 1));
    for run in [&again, &base, &base_again, &back] {
        assert_unprinted(run, &[&target_token, &actor]);
    }
}

/// `NEBIUS_FEDERATED_TOKEN_FILE`: the JWT in the file is read at each exchange and its token
/// never cached, so a rotated file is obeyed at once (a refused content fails, then a valid one
/// works again); `NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID` wraps it like any source.
#[test]
fn a_federated_token_file_is_read_at_each_exchange_and_never_cached() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let mut env = nebius_env(&iam);
    let file = env.home().join("projected-token");
    let write = |sub: &str| {
        let jwt = issuer.token(sub, AUD, 600);
        std::fs::write(&file, format!("{jwt}\n")).unwrap();
        harness::audit::input(&file);
        harness::audit::secret("federated file JWT", &jwt);
        jwt
    };
    env.set("NEBIUS_FEDERATED_TOKEN_FILE", file.to_str().unwrap());
    let first = write(SUB);
    let out = login(&env);
    out.assert_success("login from a federated token file");
    assert!(
        out.stderr
            .contains("NEBIUS_SERVICE_ACCOUNT_ID+NEBIUS_FEDERATED_TOKEN_FILE, exchanged"),
        "{out}"
    );
    assert_unprinted(&out, &[&first, &iam.issued().pop().unwrap()]);

    let refused = write("repo:someone/else:ref:refs/heads/main");
    let out = login(&env);
    out.assert_failure("a rotated file whose token is not trusted");
    assert!(out.stderr.contains("UNAUTHENTICATED"), "{out}");
    assert_unprinted(&out, &[&refused]);

    let fresh = write(SUB);
    let out = login(&env);
    out.assert_success("a rotated file with a trusted token again");
    assert_eq!(
        iam.calls(),
        3,
        "each login exchanged the file's current token"
    );
    assert_unprinted(&out, &[&fresh, &iam.issued().pop().unwrap()]);

    iam.allow_impersonation_of(TARGET);
    env.set("NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID", TARGET);
    let out = login(&env);
    out.assert_success("the file's token impersonating");
    assert!(
        out.stderr
            .contains(&format!("({SA}) impersonating {TARGET}")),
        "{out}"
    );
    let actor = iam.impersonations().pop().unwrap().0;
    assert!(
        iam.issued().contains(&actor),
        "the actor is a token it issued"
    );
    assert_unprinted(&out, &[&actor, &iam.issued().pop().unwrap()]);
}

/// A profile's `federated-subject-credentials-file-path` is the same keyless source.
#[test]
fn a_profile_with_a_federated_subject_file_is_keyless() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let mut env = Env::new();
    env.set("NEBIUS_TOKEN_EXCHANGE_GRPC", iam.url());
    let jwt = issuer.token(SUB, AUD, 600);
    std::fs::write(env.home().join("jwt"), &jwt).unwrap();
    harness::audit::input(&env.home().join("jwt"));
    harness::audit::secret("profile federated JWT", &jwt);
    write_profile(
        &env,
        &format!("auth-type: service account\nservice-account-id: {SA}\nfederated-subject-credentials-file-path: ~/jwt"),
    );
    let out = login(&env);
    out.assert_success("login with a keyless profile");
    assert_eq!(iam.calls(), 1);
    assert_unprinted(&out, &[&jwt, &iam.issued().pop().unwrap()]);
}

/// A profile's `token-file` is read at each use (whitespace stripped), never cached.
#[test]
fn a_token_file_profile_is_read_at_each_use() {
    let env = Env::new();
    let file = env.home().join("token");
    write_profile(&env, "token-file: ~/token");
    for n in 1..=2 {
        let token = canary(&format!("token-file-{n}"));
        std::fs::write(&file, format!("  {token}\n")).unwrap();
        harness::audit::input(&file);
        let out = login(&env);
        out.assert_success("login from a token file");
        let expected = base64::engine::general_purpose::STANDARD.encode(format!("iam:{token}"));
        assert_eq!(docker_auth(&env), expected);
        assert_unprinted(&out, &[&token]);
    }
}

#[test]
fn exec_command_cannot_mint_oidc_tokens_after_a_login_that_used_them() {
    let issuer = TestIssuer::new();
    let iam = server(&issuer);
    let request_token = canary("gh-exec-request-token");
    let github = FakeGithubOidc::start(&issuer, &request_token, SUB);
    let mut env = nebius_env(&iam);
    for (name, value) in github.env() {
        env.set(&name, value);
    }
    let out = env
        .crlogin([
            "exec",
            "--registry",
            REGISTRY,
            "--for",
            "docker",
            "--",
            "env",
        ])
        .run();
    out.assert_success("exec with GitHub OIDC -- env");
    assert_eq!(github.calls(), 1, "{out}");
    assert!(out.stdout.contains("DOCKER_CONFIG="), "{out}");
    for name in [
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ] {
        assert!(
            !out.stdout.contains(&format!("{name}=")),
            "{name} reached COMMAND: {out}"
        );
    }
    assert_unprinted(&out, &[&request_token, &iam.issued().pop().unwrap()]);

    // A login that did not use them (a registry password) leaves them to COMMAND, which may
    // federate on its own.
    let mut plain = Env::new();
    for (name, value) in github.env() {
        plain.set(&name, value);
    }
    plain
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", canary("exec-oidc-plain"))
        .set("DCR_REGISTRY", REGISTRY);
    // Names only: the request token is a secret of its own.
    let out = plain
        .crlogin([
            "exec",
            "--for",
            "docker",
            "--",
            "sh",
            "-c",
            "env | cut -d= -f1",
        ])
        .run();
    out.assert_success("exec with a password -- env");
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        "{out}"
    );
    assert_eq!(github.calls(), 1);
}
