//! crlogin in Buildkite, Azure Pipelines, CircleCI and Bitbucket Pipelines, from each CI's real
//! environment variables: a login against the loopback registry that skopeo and the docker CLI
//! then read, masking through the CI's own mechanism (a `buildkite-agent` stand-in that records
//! `redactor add`; Azure's `##vso[task.setsecret]`), log groups, variables for later steps,
//! cleanup, and keyless OIDC with each CI's token (the agent's `oidc request-token`, an Azure
//! OIDC endpoint that checks what Azure checks, CircleCI's and Bitbucket's variables) exchanged
//! at a loopback IAM that checks the JWT's signature, issuer, audience and subject.
// Unix only (shell stand-ins, Linux servers and clients).
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod iam_server;

use base64::Engine;
use harness::{canary, clients_read, run, secret_forms, seeded_registry, temp_dir, Env, Out};
use iam_grpc::{Expect, IamServer, TestIssuer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const USER: &str = "ci-user";
const SA: &str = "serviceaccount-e00cinative";
const AUD: &str = "crlogin-ci-test";
const OIDC_REGISTRY: &str = "127.0.0.1:5999";

/// A `buildkite-agent` on PATH that does what the real one does with crlogin's two commands:
/// `redactor add --format json` reads a JSON object of strings on stdin (recorded, one document
/// per line, in `redacted`), `oidc request-token --audience AUD` prints the job's token (the
/// file `jwt`; each audience recorded in `audiences`). Both need the agent's access token.
struct Agent {
    dir: tempfile::TempDir,
}

impl Agent {
    fn install(env: &mut Env) -> Agent {
        let dir = temp_dir();
        let script = format!(
            r#"#!/bin/sh
rec='{rec}'
[ -n "$BUILDKITE_AGENT_ACCESS_TOKEN" ] || {{ echo "fatal: missing agent access token" >&2; exit 1; }}
case "$1 $2" in
  "redactor add")
    [ "$3 $4" = "--format json" ] && [ $# -eq 4 ] || {{ echo "usage: redactor add --format json" >&2; exit 2; }}
    python3 -c 'import json, sys
d = json.load(sys.stdin)
assert isinstance(d, dict) and all(isinstance(v, str) for v in d.values())
print(json.dumps(d))' >> "$rec/redacted" || {{ echo "fatal: not a JSON object of strings" >&2; exit 1; }} ;;
  "oidc request-token")
    [ "$3" = "--audience" ] && [ -n "$4" ] && [ $# -eq 4 ] || {{ echo "usage: oidc request-token --audience AUD" >&2; exit 2; }}
    printf '%s\n' "$4" >> "$rec/audiences"
    [ -f "$rec/jwt" ] || {{ echo "fatal: OIDC is not allowed for this pipeline" >&2; exit 1; }}
    cat "$rec/jwt" ;;
  *) echo "unknown command: $1 $2" >&2; exit 2 ;;
esac
"#,
            rec = dir.path().display()
        );
        write_executable(&dir.path().join("bin/buildkite-agent"), &script);
        harness::audit::input(&dir.path().join("redacted"));
        harness::audit::input(&dir.path().join("jwt"));
        prepend_path(env, &dir.path().join("bin"));
        env.set("BUILDKITE", "true")
            .set("BUILDKITE_AGENT_ACCESS_TOKEN", canary("bk-agent-token"));
        Agent { dir }
    }

    fn redacted(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("redacted")).unwrap_or_default();
        text.lines()
            .flat_map(|l| {
                let doc: serde_json::Value = serde_json::from_str(l).unwrap();
                doc.as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn audiences(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("audiences")).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn prepend_path(env: &mut Env, dir: &Path) {
    let path = std::env::var("PATH").unwrap_or_default();
    env.set("PATH", format!("{}:{path}", dir.display()));
}

/// A DCR login's variables for `registry`.
fn dcr(env: &mut Env, host: &str, password: &str) {
    env.set("DCR_REGISTRY", host)
        .set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", password);
}

/// The DOCKER_CONFIG of login's `export` lines.
fn exported_docker_config(out: &Out) -> PathBuf {
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("export DOCKER_CONFIG="))
        .unwrap_or_else(|| panic!("no DOCKER_CONFIG export: {out}"));
    PathBuf::from(line.trim_matches('\''))
}

/// No form of `password` in the outputs (the CI's mask lines, `##vso[task.setsecret]`, left out)
/// nor in any file under `root` but `allowed`.
fn assert_unleaked(password: &str, outs: &[&Out], root: &Path, allowed: &[PathBuf]) {
    let texts: Vec<String> = outs
        .iter()
        .flat_map(|o| [o.stdout.clone(), without_masks(&o.stderr)])
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    harness::assert_no_leak(
        password,
        &secret_forms(password, Some(USER)),
        &texts,
        root,
        allowed,
    );
}

fn without_masks(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("##vso[task.setsecret]"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn iam(issuer: &TestIssuer, subject: &str) -> IamServer {
    IamServer::start(Expect {
        service_account_id: SA.into(),
        issuer: issuer.issuer.clone(),
        audience: AUD.into(),
        subject: subject.into(),
        jwks: issuer.jwks(),
    })
}

fn oidc_env(env: &mut Env, server: &IamServer) {
    env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .set("NEBIUS_TOKEN_EXCHANGE_GRPC", server.url());
}

/// A keyless login (no `--auth`: crlogin finds the CI's token itself) into `dir`.
fn oidc_login(env: &Env, dir: &Path) -> Out {
    let dir = dir.to_str().unwrap();
    env.crlogin([
        "login",
        "--registry",
        OIDC_REGISTRY,
        "--for",
        "docker",
        "--config-dir",
        dir,
    ])
    .run()
}

/// The `auth` crlogin wrote for the OIDC registry into `dir`.
fn written_auth(dir: &Path) -> String {
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    config["auths"][OIDC_REGISTRY]["auth"]
        .as_str()
        .unwrap()
        .to_string()
}

fn iam_auth(token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("iam:{token}"))
}

#[test]
fn buildkite_masks_with_the_agent_groups_isolates_and_cleans_up() {
    let password = canary("bk-password");
    let mut env = Env::new();
    let (registry, _seed) = seeded_registry(&env, USER, &password);
    let agent = Agent::install(&mut env);
    let checkout = env.home().join("builds/acme/app");
    env.set("BUILDKITE_BUILD_CHECKOUT_PATH", checkout.to_str().unwrap());
    dcr(&mut env, &registry.host(), &password);

    let out = env.crlogin(["login", "--for", "docker"]).run();
    out.assert_success("login on Buildkite");
    assert!(
        out.stderr.contains("--- crlogin login\n"),
        "the report is a group: {out}"
    );
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
    let redacted = agent.redacted();
    assert!(
        redacted.contains(&password),
        "the password is redacted: {redacted:?}"
    );
    assert!(
        redacted.contains(&auth),
        "base64(user:password) is redacted"
    );
    let dir = exported_docker_config(&out);
    assert!(
        dir.starts_with(env.home().join("builds/acme/app.tmp")),
        "isolated next to the checkout by default: {}",
        dir.display()
    );
    clients_read(&env, &registry, &dir, "with crlogin's file");

    let cleanup = env.crlogin(["cleanup"]).env("DOCKER_CONFIG", &dir).run();
    cleanup.assert_success("cleanup on Buildkite");
    assert!(!dir.exists(), "the isolated directory is removed");
    assert_unleaked(&password, &[&out, &cleanup], env.home(), &[]);
}

#[test]
fn buildkite_warns_once_when_the_agent_cannot_redact() {
    let password = canary("bk-old-agent");
    let mut env = Env::new();
    let agent = Agent::install(&mut env);
    env.set("BUILDKITE_AGENT_ACCESS_TOKEN", ""); // the stand-in then fails every command
    dcr(&mut env, OIDC_REGISTRY, &password);
    let out = env.crlogin(["login", "--for", "docker", "--dry-run"]).run();
    out.assert_success("a dry run with an agent that cannot redact");
    assert_eq!(
        out.stderr.matches("redactor add` failed").count(),
        1,
        "{out}"
    );
    assert!(agent.redacted().is_empty());
    assert_unleaked(&password, &[&out], env.home(), &[]);
}

#[test]
fn buildkite_oidc_token_comes_from_the_agent() {
    let subject = "organization:acme:pipeline:app:ref:refs/heads/main:commit:abc:step:push";
    let issuer = TestIssuer::new();
    let server = iam(&issuer, subject);
    let mut env = Env::new();
    let agent = Agent::install(&mut env);
    oidc_env(&mut env, &server);
    env.set("NEBIUS_OIDC_AUDIENCE", AUD);
    let jwt = issuer.token(subject, AUD, 600);
    harness::audit::secret("Buildkite OIDC token", &jwt);
    std::fs::write(agent.dir.path().join("jwt"), &jwt).unwrap();
    let dir = env.home().join("docker");

    let out = oidc_login(&env, &dir);
    out.assert_success("keyless login on Buildkite");
    assert_eq!(agent.audiences(), [AUD]);
    let token = server.issued().pop().unwrap();
    harness::audit::secret("IAM token", &token);
    assert_eq!(written_auth(&dir), iam_auth(&token));
    let redacted = agent.redacted();
    assert!(
        redacted.contains(&jwt) && redacted.contains(&token),
        "both tokens redacted"
    );
    for secret in [&jwt, &token] {
        assert!(!out.stderr.contains(secret.as_str()) && !out.stdout.contains(secret.as_str()));
    }

    std::fs::remove_file(agent.dir.path().join("jwt")).unwrap();
    let refused = oidc_login(&env, &dir);
    refused.assert_failure("no token from the agent");
    assert!(
        refused
            .stderr
            .contains("OIDC is not allowed for this pipeline"),
        "{refused}"
    );
}

/// An Azure Pipelines OIDC endpoint: POST with `Authorization: Bearer <access token>`,
/// `api-version=7.1-preview.1` (the version its REST reference names) and `serviceConnectionId`
/// (a known connection) in the query; answers
/// `{"oidcToken": jwt}`, else 401 (bearer) or 400 (query) as Azure does.
struct AzureOidc {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl AzureOidc {
    fn start(access_token: &str, connection: &str, jwt: &str) -> AzureOidc {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/org/project/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken",
            listener.local_addr().unwrap()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (access_token, connection, jwt) = (
            access_token.to_string(),
            connection.to_string(),
            jwt.to_string(),
        );
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let request_line = head.lines().next().unwrap_or_default().to_string();
                seen.lock().unwrap().push(request_line.clone());
                let mut parts = request_line.split(' ');
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
                let query = reqwest::Url::parse(&format!("http://x{target}")).unwrap();
                let pairs: Vec<(String, String)> = query.query_pairs().into_owned().collect();
                let has = |k: &str, v: &str| pairs.iter().any(|(a, b)| a == k && b == v);
                let bearer = head.lines().any(|l| {
                    l.split_once(':').is_some_and(|(n, v)| {
                        n.eq_ignore_ascii_case("authorization")
                            && v.trim() == format!("Bearer {access_token}")
                    })
                });
                let (status, body) = if method != "POST" {
                    ("405 Method Not Allowed", "{}".to_string())
                } else if !bearer {
                    ("401 Unauthorized", "{}".to_string())
                } else if !has("api-version", "7.1-preview.1")
                    || !has("serviceConnectionId", &connection)
                {
                    (
                        "400 Bad Request",
                        r#"{"message":"api-version and serviceConnectionId"}"#.to_string(),
                    )
                } else {
                    (
                        "200 OK",
                        serde_json::json!({ "oidcToken": jwt }).to_string(),
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        AzureOidc { url, requests }
    }
}

/// A logging command's data as the agent reads it (its default: `%AZP25` is not decoded).
fn azure_unescape(data: &str) -> String {
    data.replace("%3B", ";")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]")
}

/// The value of the last `##vso[task.setvariable variable=NAME...]` line.
fn azure_variable(out: &Out, name: &str) -> Option<String> {
    let prefix = format!("##vso[task.setvariable variable={name}");
    out.stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.split_once(']').map(|(_, v)| azure_unescape(v)))
        .next_back()
}

#[test]
fn azure_masks_groups_exports_and_cleans_up_from_the_saved_state() {
    let password = canary("az-password");
    let mut env = Env::new();
    let (registry, _seed) = seeded_registry(&env, USER, &password);
    let temp = env.home().join("_work/_temp");
    std::fs::create_dir_all(&temp).unwrap();
    env.set("TF_BUILD", "True")
        .set("AGENT_TEMPDIRECTORY", temp.to_str().unwrap());
    dcr(&mut env, &registry.host(), &password);

    let out = env
        .crlogin(["login", "--for", "docker", "--isolated"])
        .run();
    out.assert_success("login on Azure Pipelines");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
    for secret in [&password, &auth] {
        let mask = format!("##vso[task.setsecret]{secret}");
        let at = out
            .stderr
            .find(&mask)
            .unwrap_or_else(|| panic!("{secret} masked: {out}"));
        assert!(
            at < out.stderr.find("##[group]crlogin login").unwrap(),
            "masked before the report"
        );
    }
    assert!(out.stderr.contains("##[endgroup]"), "{out}");
    let dir = PathBuf::from(
        azure_variable(&out, "DOCKER_CONFIG").expect("DOCKER_CONFIG for later steps"),
    );
    assert!(
        dir.starts_with(&temp),
        "isolated in the agent's temp directory: {}",
        dir.display()
    );
    assert_eq!(
        azure_variable(&out, "registries;isoutput=true").as_deref(),
        Some(registry.host().as_str())
    );
    clients_read(&env, &registry, &dir, "with crlogin's file");

    // The cleanup step gets CRLOGIN_STATE as the agent maps the variable into its environment.
    let state = azure_variable(&out, "CRLOGIN_STATE").expect("the state for the cleanup step");
    let cleanup = env.crlogin(["cleanup"]).env("CRLOGIN_STATE", &state).run();
    cleanup.assert_success("cleanup on Azure Pipelines");
    assert!(
        !dir.exists(),
        "the isolated directory is removed: {cleanup}"
    );
    assert_unleaked(&password, &[&out, &cleanup], env.home(), &[]);
}

#[test]
fn azure_oidc_token_needs_the_access_token_and_a_service_connection() {
    let subject = "sc://acme/app/nebius-registry";
    let issuer = TestIssuer::new();
    let server = iam(&issuer, subject);
    let jwt = issuer.token(subject, AUD, 600);
    harness::audit::secret("Azure OIDC token", &jwt);
    let access_token = canary("az-system-access-token");
    let connection = "4b2e2f0e-6d0c-4c57-9c77-2a3c9e0c1f11";
    let endpoint = AzureOidc::start(&access_token, connection, &jwt);
    let mut env = Env::new();
    oidc_env(&mut env, &server);
    env.set("TF_BUILD", "True")
        .set("SYSTEM_OIDCREQUESTURI", &endpoint.url)
        .set("NEBIUS_OIDC_AUDIENCE", AUD);
    let dir = env.home().join("docker");

    let no_bearer = oidc_login(&env, &dir);
    no_bearer.assert_failure("without SYSTEM_ACCESSTOKEN");
    assert!(
        no_bearer
            .stderr
            .contains("env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }"),
        "{no_bearer}"
    );

    env.set("SYSTEM_ACCESSTOKEN", &access_token);
    let no_connection = oidc_login(&env, &dir);
    no_connection.assert_failure("without a service connection");
    assert!(
        no_connection
            .stderr
            .contains("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID is not set"),
        "{no_connection}"
    );
    assert!(
        endpoint.requests.lock().unwrap().is_empty(),
        "nothing asked before the settings are there"
    );

    env.set(
        "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
        "6f6c3a52-0000-4000-8000-000000000000",
    );
    let unknown = oidc_login(&env, &dir);
    unknown.assert_failure("an unknown service connection");
    assert!(unknown.stderr.contains("HTTP 400"), "{unknown}");

    env.set("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", connection);
    let out = oidc_login(&env, &dir);
    out.assert_success("keyless login on Azure Pipelines");
    let token = server.issued().pop().unwrap();
    harness::audit::secret("IAM token", &token);
    assert_eq!(written_auth(&dir), iam_auth(&token));
    for secret in [&jwt, &token, &access_token] {
        assert!(
            out.stderr
                .contains(&format!("##vso[task.setsecret]{secret}")),
            "masked: {out}"
        );
        assert!(
            !without_masks(&out.stderr).contains(secret.as_str())
                && !out.stdout.contains(secret.as_str())
        );
    }
    let last = endpoint.requests.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.starts_with("POST ") && last.contains("api-version=7.1-preview.1"),
        "{last}"
    );
}

#[test]
fn circleci_exports_through_bash_env_and_uses_its_oidc_tokens() {
    let password = canary("cc-password");
    let mut env = Env::new();
    let (registry, _seed) = seeded_registry(&env, USER, &password);
    let bash_env = env.home().join("bash_env");
    std::fs::write(&bash_env, "").unwrap();
    env.set("CIRCLECI", "true")
        .set("BASH_ENV", bash_env.to_str().unwrap());
    dcr(&mut env, &registry.host(), &password);
    let out = env
        .crlogin(["login", "--for", "docker", "--isolated"])
        .run();
    out.assert_success("login on CircleCI");
    // A later step: bash sources $BASH_ENV, and docker finds the credentials.
    let later = run(
        env.command("bash").args([
            "-c",
            &format!(
                ". \"$BASH_ENV\" && docker manifest inspect --insecure {}/team/app:v1",
                registry.host()
            ),
        ]),
        None,
    );
    later.assert_success("a later step reads DOCKER_CONFIG from $BASH_ENV");
    let dir = exported_docker_config(&out);
    clients_read(&env, &registry, &dir, "with crlogin's file");
    assert_unleaked(
        &password,
        &[&out, &later],
        env.home(),
        &[dir.join("config.json")],
    );

    // OIDC: CIRCLE_OIDC_TOKEN_V2 as it is; with NEBIUS_OIDC_AUDIENCE, `circleci run oidc get`.
    let subject =
        "org/0b1c/project/2d3e/user/4f5a/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main";
    let issuer = TestIssuer::new();
    let server = iam(&issuer, subject);
    let jwt = issuer.token(subject, AUD, 600);
    harness::audit::secret("CircleCI OIDC token", &jwt);
    let mut oidc = Env::new();
    oidc_env(&mut oidc, &server);
    oidc.set("CIRCLECI", "true")
        .set("CIRCLE_OIDC_TOKEN_V2", &jwt);
    let dir = oidc.home().join("docker");
    let out = oidc_login(&oidc, &dir);
    out.assert_success("keyless login with CIRCLE_OIDC_TOKEN_V2");
    assert_eq!(
        written_auth(&dir),
        iam_auth(&server.issued().pop().unwrap())
    );

    let cli = temp_dir();
    let claims = cli.path().join("claims");
    let custom = issuer.token(subject, AUD, 600);
    harness::audit::secret("CircleCI custom OIDC token", &custom);
    write_executable(
        &cli.path().join("bin/circleci"),
        &format!(
            "#!/bin/sh\n[ \"$1 $2 $3 $4\" = \"run oidc get --claims\" ] || exit 2\nprintf '%s' \"$5\" > '{}'\necho '{custom}'\n",
            claims.display()
        ),
    );
    harness::audit::input(&cli.path().join("bin/circleci"));
    prepend_path(&mut oidc, &cli.path().join("bin"));
    oidc.set("CIRCLE_OIDC_TOKEN_V2", "not-used")
        .set("NEBIUS_OIDC_AUDIENCE", AUD);
    let out = oidc_login(&oidc, &dir);
    out.assert_success("keyless login with a custom audience");
    let asked: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&claims).unwrap()).unwrap();
    assert_eq!(asked, serde_json::json!({ "aud": AUD }));
    for secret in [&jwt, &custom] {
        assert!(!out.stderr.contains(secret.as_str()) && !out.stdout.contains(secret.as_str()));
    }
}

#[test]
fn bitbucket_logs_in_and_its_oidc_needs_the_step_setting() {
    let password = canary("bb-password");
    let mut env = Env::new();
    let (registry, _seed) = seeded_registry(&env, USER, &password);
    env.set("BITBUCKET_BUILD_NUMBER", "42");
    dcr(&mut env, &registry.host(), &password);
    let out = env
        .crlogin(["login", "--for", "docker", "--isolated"])
        .run();
    out.assert_success("login on Bitbucket Pipelines");
    let dir = exported_docker_config(&out);
    clients_read(&env, &registry, &dir, "with crlogin's file");
    assert_unleaked(&password, &[&out], env.home(), &[dir.join("config.json")]);

    let subject = "{a1b2c3d4-0000-4000-8000-000000000001}:{e5f6a7b8-0000-4000-8000-000000000002}";
    let issuer = TestIssuer::new();
    let server = iam(&issuer, subject);
    let mut oidc = Env::new();
    oidc_env(&mut oidc, &server);
    oidc.set("BITBUCKET_BUILD_NUMBER", "42");
    let dir = oidc.home().join("docker");
    let missing = oidc
        .crlogin([
            "login",
            "--auth",
            "oidc",
            "--registry",
            OIDC_REGISTRY,
            "--for",
            "docker",
        ])
        .run();
    missing.assert_failure("no token without oidc: true");
    assert!(
        missing.stderr.contains("add `oidc: true` to the step"),
        "{missing}"
    );

    let jwt = issuer.token(subject, AUD, 600);
    harness::audit::secret("Bitbucket OIDC token", &jwt);
    oidc.set("BITBUCKET_STEP_OIDC_TOKEN", &jwt);
    let out = oidc_login(&oidc, &dir);
    out.assert_success("keyless login on Bitbucket");
    let token = server.issued().pop().unwrap();
    harness::audit::secret("IAM token", &token);
    assert_eq!(written_auth(&dir), iam_auth(&token));
    assert!(!out.stderr.contains(&jwt) && !out.stderr.contains(&token));

    // A step token a login used is not left to COMMAND, which could replay it.
    let exec = oidc
        .crlogin([
            "exec",
            "--registry",
            OIDC_REGISTRY,
            "--for",
            "docker",
            "--",
            "sh",
            "-c",
            "echo \"token:${BITBUCKET_STEP_OIDC_TOKEN:-none}\"",
        ])
        .run();
    exec.assert_success("exec after a keyless login on Bitbucket");
    assert!(exec.stdout.contains("token:none"), "{exec}");
    assert!(!exec.stdout.contains(&jwt) && !exec.stderr.contains(&jwt));
}

#[test]
fn a_buildkite_agent_in_the_checkout_never_gets_a_secret() {
    // The job's checkout holds a `buildkite-agent` that records what it is fed; a PATH with an
    // empty entry (or `.`) names the checkout, as Go's exec.ErrDot warns.
    let password = canary("bk-planted-agent");
    let mut env = Env::new();
    let checkout = env.home().join("checkout");
    let fed = env.home().join("planted-fed");
    write_executable(
        &checkout.join("buildkite-agent"),
        &format!("#!/bin/sh\ncat > '{}'\n", fed.display()),
    );
    env.set("BUILDKITE", "true").set(
        "BUILDKITE_AGENT_ACCESS_TOKEN",
        canary("bk-planted-agent-token"),
    );
    dcr(&mut env, OIDC_REGISTRY, &password);
    let system = std::env::var("PATH").unwrap_or_default();
    for path in [format!("{system}:"), format!(".:{system}")] {
        let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
        cmd.args(["login", "--for", "docker", "--dry-run"])
            .env("PATH", &path)
            .current_dir(&checkout);
        let out = run(&mut cmd, None);
        out.assert_success(&format!("a dry run with PATH={path}"));
        assert!(
            !fed.exists(),
            "PATH={path}: the checkout's buildkite-agent was fed a secret"
        );
        assert_unleaked(&password, &[&out], env.home(), &[]);
    }
}
