//! Attacks from the far side of the wire and from the job (issue 14, items 3, 4, 5, 10, 11),
//! each test named after the attack and run against the real binary: a server whose answers
//! try to rewrite the CI log or overflow crlogin's time arithmetic, a proxy variable that
//! would carry loopback traffic off the machine, a server URL that hides a Nebius host after a
//! path, a umask that would leave the exported token world-readable, and a crash that would
//! leave a core file. The realm checks of `--verify` (item 2) are unit tests in src/verify.rs.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod iam_server;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use harness::github_log::{assert_log_is_inert, assert_stdout_is_inert, runner_masks};
use harness::{assert_no_leak, canary, secret_forms, Auth, Env, Registry};
use iam_server::{keys, IamServer, Reply};
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

const SA: &str = "serviceaccount-e00hostile";
const KID: &str = "publickey-e00hostile";
const SUB: &str = "repo:acme/app:ref:refs/heads/main";
const AUD: &str = "crlogin-hostile-test";
const LOGIN: &[&str] = &["login", "--for", "docker", "--region", "eu-north1"];

/// An environment with the test service-account key and the HTTP exchange at `server`.
fn key_env(server: &IamServer) -> Env {
    let mut env = Env::new();
    env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .set("NEBIUS_PUBLIC_KEY_ID", KID)
        .set("NEBIUS_PRIVATE_KEY", &keys().pkcs8)
        .set("NEBIUS_AUTH_ENDPOINT", server.endpoint());
    env
}

/// A gRPC exchange trusting a fresh issuer, and an environment federating through it.
fn oidc_env() -> (iam_grpc::IamServer, Env) {
    let issuer = iam_grpc::TestIssuer::new();
    let server = iam_grpc::IamServer::trusting(&issuer, SA, AUD, SUB);
    let mut env = Env::new();
    env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .set("NEBIUS_OIDC_AUDIENCE", AUD)
        .set("NEBIUS_ID_TOKEN", issuer.token(SUB, AUD, 600))
        .set("NEBIUS_TOKEN_EXCHANGE_GRPC", server.url());
    (server, env)
}

#[test]
fn a_503_saying_stop_commands_cannot_keep_the_token_unmasked_on_github() {
    let server = IamServer::start(SA, KID);
    server.script(&[Reply::Error(
        503,
        "##[stop-commands]pwned",
        "\x1b[1A\x1b[2K::add-mask::x ##[stop-commands]pwned",
    )]);
    let mut env = key_env(&server);
    env.set("GITHUB_ACTIONS", "true");
    let mut args = LOGIN.to_vec();
    args.extend(["--no-cache", "--retries", "1", "--timeout", "20"]);
    let out = env.crlogin(&args).run();
    out.assert_success("a login after a hostile 503");
    assert!(out.stderr.contains("retrying in"), "{out}");
    let token = server.tokens().pop().expect("a token was minted");
    assert!(runner_masks(&out.stderr).contains(&token), "{out}");
    assert_log_is_inert(&out, "HTTP exchange");
}

#[test]
fn a_grpc_status_saying_stop_commands_cannot_keep_the_token_unmasked_on_github() {
    let (server, mut env) = oidc_env();
    server.script([iam_grpc::Reply::Status(
        tonic::Code::Unavailable,
        "##[stop-commands]pwned \x1b]0;x\x07\x1b[2K".into(),
    )]);
    env.set("GITHUB_ACTIONS", "true");
    let mut args = LOGIN.to_vec();
    args.extend(["--retries", "1", "--timeout", "20"]);
    let out = env.crlogin(&args).run();
    out.assert_success("a federation after a hostile UNAVAILABLE");
    let token = server.issued().pop().expect("a token was minted");
    assert!(runner_masks(&out.stderr).contains(&token), "{out}");
    assert_log_is_inert(&out, "gRPC exchange");
}

#[test]
fn a_setting_quoted_by_a_usage_error_cannot_stop_commands_on_github() {
    let mut env = Env::new();
    env.set("GITHUB_ACTIONS", "true")
        .set("CRLOGIN_RETRIES", "##[stop-commands]pwned\x1b[2K");
    let out = env.crlogin(["login"]).run();
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(
        out.stderr.contains("CRLOGIN_RETRIES") || out.stderr.contains("--retries"),
        "{out}"
    );
    assert_log_is_inert(&out, "usage error");
}

#[test]
fn realm_text_of_two_failing_registries_cannot_stop_commands_on_github() {
    let realms = [
        harness::challenging_registry("http://169.254.169.254/##[stop-commands]pwned"),
        harness::challenging_registry("ftp://x/ ##[stop-commands]pwned ::add-mask::y"),
    ];
    let mut env = Env::new();
    env.set("GITHUB_ACTIONS", "true");
    for (prefix, realm) in ["DCR", "SECOND"].iter().zip(&realms) {
        let password = canary("realm-password");
        env.set(
            &format!("{prefix}_REGISTRY"),
            realm.local_addr().unwrap().to_string(),
        )
        .set(&format!("{prefix}_USERNAME"), "alice")
        .set(&format!("{prefix}_PASSWORD"), &password);
    }
    let mut args = verify_login("5").to_vec();
    args.extend(["--from-env", "SECOND"]);
    let out = env.crlogin(&args).run();
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("2 of 2 registries did not accept the login"),
        "{out}"
    );
    assert!(out.stderr.contains("## [stop-commands]pwned"), "{out}");
    assert_log_is_inert(&out, "--verify realms");
}

/// A loopback "proxy" that never answers: connections wait in its backlog, and [`Proxy::seen`]
/// reads what each sent once crlogin is done (no thread, no waiting).
struct Proxy {
    listener: TcpListener,
}

impl Proxy {
    fn start() -> Proxy {
        Proxy {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().unwrap())
    }

    /// Sets every proxy variable a client might read to this proxy.
    fn set_all(&self, env: &mut Env) {
        for name in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
        ] {
            env.set(name, self.url());
        }
    }

    /// What every connection made so far sent.
    fn seen(&self) -> Vec<String> {
        self.listener.set_nonblocking(true).unwrap();
        let mut seen = Vec::new();
        while let Ok((mut stream, _)) = self.listener.accept() {
            stream.set_nonblocking(true).unwrap();
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            seen.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        seen
    }
}

#[test]
fn a_proxy_variable_cannot_carry_the_jwt_or_basic_auth_off_loopback() {
    let proxy = Proxy::start();
    let server = IamServer::start(SA, KID);
    let mut env = key_env(&server);
    proxy.set_all(&mut env);
    let mut args = LOGIN.to_vec();
    args.extend(["--no-cache", "--retries", "0", "--timeout", "5"]);
    env.crlogin(&args)
        .run()
        .assert_success("an exchange at a loopback endpoint with proxies set");

    let password = canary("proxy-password");
    let registry = Registry::start(Auth::user("alice", &password));
    let mut env = Env::new();
    proxy.set_all(&mut env);
    env.set("DCR_REGISTRY", registry.host())
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", &password);
    let out = env.crlogin(verify_login("5")).run();
    out.assert_success("--verify of a loopback registry with proxies set");
    assert!(out.stderr.contains("verified"), "{out}");
    assert_eq!(
        proxy.seen(),
        Vec::<String>::new(),
        "the proxy saw loopback traffic"
    );
}

#[test]
fn no_proxy_with_a_port_keeps_a_registry_off_the_proxy_as_docker_does() {
    let proxy = Proxy::start();
    let password = canary("no-proxy-password");
    let run = |no_proxy: Option<&str>| {
        let mut env = Env::new();
        env.set("HTTPS_PROXY", proxy.url())
            .set("DCR_REGISTRY", "registry.crlogin.test")
            .set("DCR_USERNAME", "alice")
            .set("DCR_PASSWORD", &password);
        if let Some(list) = no_proxy {
            env.set("no_proxy", list);
        }
        let out = env.crlogin(verify_login("2")).run();
        // No such registry answers: --verify fails before writing, either way.
        assert_eq!(out.status.code(), Some(1), "{out}");
        let seen = proxy.seen();
        for text in &seen {
            assert!(!text.contains("Authorization"), "{text}");
            let forms = secret_forms(&password, Some("alice"));
            let auth_file = env.home().join(".docker/config.json");
            assert_no_leak(&password, &forms, &[text], env.home(), &[auth_file]);
        }
        seen
    };
    let through_proxy = run(None);
    assert_eq!(through_proxy.len(), 1, "{through_proxy:?}");
    assert!(
        through_proxy[0].starts_with("CONNECT registry.crlogin.test:443 "),
        "{through_proxy:?}"
    );
    let direct = run(Some("other.example, registry.crlogin.test:443"));
    assert_eq!(
        direct,
        Vec::<String>::new(),
        "NO_PROXY host:port was not honoured"
    );
}

/// Under the leak audit (scripts/leak-audit.sh), proves its proxy is in use: `--verify` asks a
/// registry that is not loopback through it, and the audit requires the proxy to have seen
/// this CONNECT (and nothing of the secret). Outside the audit there is nothing to prove.
#[test]
fn under_the_leak_audit_a_non_loopback_registry_goes_through_its_proxy() {
    if std::env::var_os(harness::audit::PROXY_VAR).is_none() {
        return;
    }
    let password = canary("audit-proxy-password");
    let mut env = Env::new();
    env.set("DCR_REGISTRY", "audit-proxy.crlogin.test")
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", &password);
    let out = env.crlogin(verify_login("5")).run();
    assert_eq!(out.status.code(), Some(1), "the proxy answers 502: {out}");
}

/// `login --verify` of the DCR credential, waiting at most `seconds`.
fn verify_login(seconds: &str) -> [&str; 8] {
    // One attempt: these rows look at what one check sends, not at the retries.
    [
        "login",
        "--for",
        "docker",
        "--verify",
        "--verify-timeout",
        seconds,
        "--retries",
        "0",
    ]
}

/// The token cache entry (there is one) under `env`'s HOME.
fn cache_file(env: &Env) -> PathBuf {
    let dir = env.home().join(".cache/crlogin");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.pop().unwrap()
}

fn cache_times(env: &Env) -> (u64, u64) {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache_file(env)).unwrap()).unwrap();
    (
        doc["issued_at"].as_u64().unwrap(),
        doc["expires_at"].as_u64().unwrap(),
    )
}

#[test]
fn an_expires_in_that_overflows_or_passes_year_9999_does_not_abort_or_poison_the_cache() {
    for expires_in in [u64::MAX, 300_000_000_000] {
        let server = IamServer::start(SA, KID);
        server.set_expires_in(expires_in);
        let env = key_env(&server);
        for run in 1..=2 {
            let out = env.crlogin(LOGIN).run();
            out.assert_success(&format!("expires_in {expires_in}, run {run}"));
            assert!(!out.stderr.contains("panicked"), "{out}");
        }
        assert_eq!(server.requests(), 1, "the second run used the cache");
        let (issued, expires) = cache_times(&env);
        assert!(expires - issued <= 24 * 3600, "{issued} {expires}");
    }
}

#[test]
fn a_cache_entry_expiring_at_u64_max_is_a_miss_and_is_replaced() {
    let server = IamServer::start(SA, KID);
    let env = key_env(&server);
    env.crlogin(LOGIN).run().assert_success("the first login");
    let file = cache_file(&env);
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    doc["expires_at"] = u64::MAX.into();
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = env.crlogin(LOGIN).run();
    out.assert_success("a login over a planted u64::MAX expiry");
    assert!(out.stderr.contains("exchanged"), "{out}");
    assert_eq!(server.requests(), 2);
    let (issued, expires) = cache_times(&env);
    assert!(expires > issued && expires - issued <= 24 * 3600);
}

#[test]
fn an_oidc_jwt_expiring_at_u64_max_does_not_abort() {
    let (_server, mut env) = oidc_env();
    let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
    let jwt = format!(
        "{}.{}.{}",
        part(r#"{"alg":"RS256","typ":"JWT"}"#),
        part(&format!(
            r#"{{"iss":"x","sub":"{SUB}","aud":"{AUD}","exp":{}}}"#,
            u64::MAX
        )),
        part("not-a-signature")
    );
    env.set("NEBIUS_ID_TOKEN", &jwt);
    let out = env.crlogin(LOGIN).run();
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(out.stderr.contains("UNAUTHENTICATED"), "{out}");
}

#[test]
fn a_grpc_expires_in_of_i64_max_does_not_abort() {
    let (server, env) = oidc_env();
    server.script([iam_grpc::Reply::ExpiresIn(i64::MAX)]);
    let started = SystemTime::now();
    let out = env.crlogin(LOGIN).run();
    out.assert_success("a federated token living i64::MAX seconds");
    // The report shows an expiry at most a day away (RFC 3339, so the year is what it is).
    let year = humantime::format_rfc3339_seconds(started + Duration::from_secs(24 * 3600))
        .to_string()[..4]
        .to_string();
    assert!(out.stderr.contains(&format!("  {year}-")), "{out}");
}

#[test]
fn a_server_url_hiding_a_nebius_host_after_a_path_gets_no_secret() {
    let key = canary("helper-static-key");
    let mut env = Env::new();
    env.set("NEBIUS_STATIC_KEY", &key);
    for url in [
        "evil.example/x://cr.eu-north1.nebius.cloud",
        "evil.example#://cr.eu-north1.nebius.cloud",
        "evil.example?://cr.eu-north1.nebius.cloud",
        "https://evil.example/://cr.eu-north1.nebius.cloud",
    ] {
        let out = env.crlogin(["credential-helper", "get"]).stdin(url).run();
        assert_eq!(
            out.stdout.trim(),
            "credentials not found in native keychain",
            "{url}: {out}"
        );
        assert!(
            !out.stdout.contains(&key) && !out.stderr.contains(&key),
            "{url}: {out}"
        );
    }
    let out = env
        .crlogin(["credential-helper", "get"])
        .stdin("https://cr.eu-north1.nebius.cloud/v2/")
        .run();
    assert!(
        out.stdout.contains(&key),
        "the real host still works: {out}"
    );
}

#[test]
fn github_env_made_under_umask_000_does_not_leave_the_token_world_readable() {
    let token = canary("exported-iam-token");
    let mut env = Env::new();
    let home = env.home().to_path_buf();
    let files = [
        "github-env",
        "github-output",
        "github-state",
        "github-summary",
    ]
    .map(|name| home.join(name));
    env.set("GITHUB_ACTIONS", "true")
        .set("NEBIUS_IAM_TOKEN", &token)
        .set("GITHUB_ENV", files[0].to_str().unwrap())
        .set("GITHUB_OUTPUT", files[1].to_str().unwrap())
        .set("GITHUB_STATE", files[2].to_str().unwrap())
        .set("GITHUB_STEP_SUMMARY", files[3].to_str().unwrap());
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    // SAFETY: umask only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    cmd.args(LOGIN).arg("--export-env");
    harness::run(&mut cmd, None).assert_success("login --export-env under umask 000");
    // GITHUB_ENV holds the token on purpose (the runner reads it), as --export-env says.
    harness::audit::input(&files[0]);
    assert!(std::fs::read_to_string(&files[0]).unwrap().contains(&token));
    for path in &files {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn a_crash_cannot_leave_a_core_file_holding_secrets() {
    let env = Env::new();
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    // SAFETY: setrlimit only, between fork and exec. Core files allowed, so that only crlogin
    // itself can be what turns them off (CI containers often start with the limit at 0).
    unsafe {
        cmd.pre_exec(|| {
            let any = libc::rlimit {
                rlim_cur: libc::RLIM_INFINITY,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &any);
            Ok(())
        });
    }
    let mut child = cmd
        .args(["credential-helper", "store"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // crlogin now waits for stdin; its limits are set first thing in main.
    let limits = format!("/proc/{}/limits", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let core = loop {
        let text = std::fs::read_to_string(&limits).unwrap_or_default();
        let line = text
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap_or_default()
            .to_string();
        if line.split_whitespace().nth(4) == Some("0") || Instant::now() > deadline {
            break line;
        }
        std::thread::yield_now();
    };
    drop(child.stdin.take());
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    harness::audit::output(&cmd, pid, &out.stdout, &out.stderr);
    // No core file from crlogin; the hard limit stays as started, so its children get their
    // limit back (tests/exec.rs, tests/cred_store.rs).
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(fields.get(4..6), Some(&["0", "unlimited"][..]), "{core:?}");
}

#[test]
fn a_registry_file_holding_a_token_is_never_quoted() {
    let token = canary("registry-file-token");
    let contents = [
        format!("ghs_{token}"),
        format!("v1.CmQKHGNy{token}/Zx+Q9w=="),
        format!("v1.{}", token.repeat(4)),
        format!("robot$ci:{token}@harbor.example"),
        format!("{token}.example/Team"),
    ];
    for content in &contents {
        let mut env = Env::new();
        let file = env.home().join("registry");
        std::fs::write(&file, format!("{content}\n")).unwrap();
        harness::audit::input(&file);
        let file = file.to_str().unwrap().to_string();
        env.set("GITHUB_ACTIONS", "true")
            .set("DCR_USERNAME", "alice")
            .set("DCR_PASSWORD", "not-the-point")
            .set("HARBOR_USERNAME", "alice")
            .set("HARBOR_PASSWORD", "not-the-point");
        let runs: [(&str, &[&str]); 3] = [
            ("DCR_REGISTRY_FILE", &["login", "--for", "docker"]),
            ("DCR_REGISTRY_FILE", &["logout", "--for", "docker"]),
            (
                "HARBOR_REGISTRY_FILE",
                &["login", "--for", "docker", "--from-env", "HARBOR"],
            ),
        ];
        for (var, args) in runs {
            let mut run = env.crlogin(args).env(var, &file);
            if var == "HARBOR_REGISTRY_FILE" {
                run = run.env("DCR_REGISTRY", "dcr.example.io");
            }
            let out = run.run();
            let what = format!("{var} holding {content:?}, {args:?}");
            assert_eq!(out.status.code(), Some(1), "{what}: {out}");
            assert!(
                out.stderr.contains(&format!(
                    "{var} does not hold a registry host (its content is not shown)"
                )),
                "{what}: {out}"
            );
            assert!(
                !out.stdout.contains(&token) && !out.stderr.contains(&token),
                "{what}: {out}"
            );
            assert_log_is_inert(&out, &what);
        }
    }
}

#[test]
fn json_on_stdout_cannot_carry_a_workflow_command() {
    let mut env = Env::new();
    env.set("GITHUB_ACTIONS", "true")
        .set("DCR_USERNAME", "##[stop-commands]pwned")
        .set("DCR_PASSWORD", canary("json-stdout-password"))
        .set("DCR_REGISTRY", "dcr.example.io");
    let out = env
        .crlogin(["login", "--for", "docker", "-o", "json"])
        .run();
    out.assert_success("login -o json with a hostile username");
    assert_stdout_is_inert(&out, "login -o json");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        report.to_string().contains("##[stop-commands]pwned"),
        "the JSON still says what was written: {out}"
    );
    // doctor's details quote paths from the job.
    let dir = env.home().join("##[stop-commands]pwned");
    std::fs::create_dir(&dir).unwrap();
    let out = env
        .crlogin(["doctor", "-o", "json"])
        .env("DOCKER_CONFIG", &dir)
        .run();
    assert!(out.stdout.contains("u0023#[stop-commands]pwned"), "{out}");
    assert_stdout_is_inert(&out, "doctor -o json");
    serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap();
}

#[test]
fn a_piped_service_account_cannot_carry_a_workflow_command_to_stdout() {
    let password = canary("k8s-sa-password");
    // The Secret printed is meant for this host: the leak audit strips its intended entry.
    harness::audit::host("dcr.example.io");
    let mut env = Env::new();
    env.set("GITHUB_ACTIONS", "true")
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", &password)
        .set("DCR_REGISTRY", "dcr.example.io");
    let hostile = [
        serde_json::json!([{"name": "other", "x": "##[stop-commands]pwned"}]),
        serde_json::json!([{"name": "##[set-output name=a;]b"}]),
        serde_json::json!([{"name": "other\n::add-mask::x"}]),
    ];
    for entries in hostile {
        let sa = serde_json::json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "apps", "resourceVersion": "42"},
            "imagePullSecrets": entries,
        });
        for format in ["json", "yaml"] {
            let out = env
                .crlogin([
                    "k8s-secret",
                    "--name",
                    "pull",
                    "--service-account",
                    "default",
                    "-o",
                    format,
                ])
                .stdin(&sa.to_string())
                .run();
            let what = format!("{entries} as {format}");
            assert_stdout_is_inert(&out, &what);
            assert_log_is_inert(&out, &what);
            if out.success() {
                assert!(
                    !out.stdout.contains("pwned") && !out.stdout.contains("set-output"),
                    "{what}: {out}"
                );
            } else {
                assert!(
                    out.stderr
                        .contains("is not a valid Kubernetes name (it is not shown)"),
                    "{what}: {out}"
                );
            }
        }
    }
    // A namespace or resourceVersion piped in is checked too.
    for metadata in [
        serde_json::json!({"name": "default", "namespace": "##[stop-commands]x"}),
        serde_json::json!({"name": "default", "resourceVersion": "##[stop-commands]x"}),
    ] {
        let sa =
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata});
        let out = env
            .crlogin([
                "k8s-secret",
                "--name",
                "pull",
                "--service-account",
                "default",
            ])
            .stdin(&sa.to_string())
            .run();
        assert_eq!(out.status.code(), Some(1), "{metadata}: {out}");
        assert_stdout_is_inert(&out, &metadata.to_string());
        assert_log_is_inert(&out, &metadata.to_string());
    }
}

#[test]
fn every_mask_is_written_before_the_secret_reaches_stdout() {
    // stdout and stderr into one pipe: the order of crlogin's writes, which is all crlogin
    // controls (the runner reads the two pipes on separate tasks; docs/src/security.md).
    let token = canary("masks-first-token");
    let mut env = Env::new();
    env.set("GITHUB_ACTIONS", "true")
        .set("NEBIUS_IAM_TOKEN", &token)
        .set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", canary("masks-first-password"))
        .set("DCR_REGISTRY", "dcr.example.io");
    for args in [
        &["token"][..],
        &["k8s-secret", "--name", "pull"][..],
        &["k8s-secret", "--name", "pull", "-o", "json"][..],
    ] {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer);
        let mut child = cmd.spawn().unwrap();
        drop(cmd);
        let mut both = String::new();
        reader.read_to_string(&mut both).unwrap();
        assert!(child.wait().unwrap().success(), "{args:?}: {both}");
        // For the leak audit, each line as the stream it came from: crlogin's own lines (masks,
        // notes) are stderr's, the data stdout's.
        let (ours, data): (Vec<&str>, Vec<&str>) = both
            .lines()
            .partition(|l| l.starts_with("::") || l.starts_with("crlogin:"));
        let mut same = env.command(env!("CARGO_BIN_EXE_crlogin"));
        same.args(args);
        harness::audit::output(
            &same,
            child.id(),
            (data.join("\n") + "\n").as_bytes(),
            (ours.join("\n") + "\n").as_bytes(),
        );
        let masks = runner_masks(&both);
        let lines: Vec<&str> = both.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("::") {
                continue;
            }
            for mask in masks.iter().filter(|m| line.contains(m.as_str())) {
                let at = lines
                    .iter()
                    .position(|l| *l == format!("::add-mask::{mask}"));
                assert!(
                    at.is_some_and(|at| at < i),
                    "{args:?}: {mask:?} shown before its mask:\n{both}"
                );
            }
        }
        assert!(!masks.is_empty(), "{args:?}: {both}");
    }
}
