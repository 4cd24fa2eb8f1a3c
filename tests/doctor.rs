//! `crlogin doctor` as a user runs it when a login fails: the real binary in a cleared
//! environment with its own HOME, a real registry on loopback (or a port where nothing listens
//! any more), the loopback IAM stand-in with a skewed clock, broken config files and credential
//! helpers. Every run is checked for canary secrets, and HOME is compared before and after:
//! doctor writes nothing.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_grpc;
mod iam_server;
mod nebius_machine;
mod snapshot;

use harness::{assert_no_leak, canary, secret_forms, Auth, Env, Out, Registry};
use nebius_machine::Machine;
use serde_json::Value;
use snapshot::Tree;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const USER: &str = "alice";

/// One check line of the text report: status, name and the rest of the line, and the `fix:`
/// under it, if any.
#[derive(Debug)]
struct Line {
    status: String,
    name: String,
    text: String,
    fix: Option<String>,
}

/// The check lines of a text report (between the header and the summary line).
fn lines(out: &Out) -> Vec<Line> {
    let mut found: Vec<Line> = Vec::new();
    for line in out.stdout.lines().filter(|l| l.starts_with("  ")) {
        let trimmed = line.trim_start();
        if let Some(fix) = trimmed.strip_prefix("fix: ") {
            found.last_mut().expect("a fix follows a check").fix = Some(fix.to_string());
            continue;
        }
        let mut parts = trimmed.splitn(2, ' ');
        let status = parts.next().unwrap().to_string();
        let rest = parts.next().unwrap_or_default().trim_start();
        let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
        found.push(Line {
            status,
            name: name.to_string(),
            text: text.trim_start().to_string(),
            fix: None,
        });
    }
    found
}

/// The one check line named `name` whose text contains `about`; fails the test otherwise.
fn line<'a>(lines: &'a [Line], name: &str, about: &str) -> &'a Line {
    let matching: Vec<&Line> = lines
        .iter()
        .filter(|l| l.name == name && l.text.contains(about))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one {name} line about {about:?} in {lines:#?}"
    );
    matching[0]
}

/// Runs `crlogin doctor ARGS` in `env`, and again with `-o json`: checks both report the same
/// checks with the same statuses, and returns the text run, its check lines and the JSON.
fn doctor(env: &Env, args: &[&str]) -> (Out, Vec<Line>, Value) {
    let text = env.crlogin(["doctor"].iter().chain(args)).run();
    let json_run = env
        .crlogin(["doctor", "-o", "json"].iter().chain(args))
        .run();
    assert_eq!(
        text.status.code(),
        json_run.status.code(),
        "text and JSON runs exit alike"
    );
    let doc: Value = serde_json::from_str(&json_run.stdout)
        .unwrap_or_else(|e| panic!("-o json is not JSON ({e}):\n{json_run}"));
    let parsed = lines(&text);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), parsed.len(), "{text}\n{json_run}");
    for (line, check) in parsed.iter().zip(checks) {
        assert_eq!(line.name, check["name"].as_str().unwrap());
        assert_eq!(
            line.status.to_ascii_lowercase(),
            check["status"].as_str().unwrap()
        );
        assert_eq!(line.fix.as_deref(), check["fix"].as_str(), "{line:?}");
        if let Some(subject) = check["subject"].as_str() {
            assert!(line.text.starts_with(subject), "{line:?} / {check}");
        }
    }
    let failed = parsed.iter().filter(|l| l.status == "FAIL").count();
    assert_eq!(doc["ok"], failed == 0);
    assert_eq!(doc["counts"]["fail"], failed);
    assert_eq!(doc["version"], 1);
    assert_eq!(
        text.success(),
        failed == 0,
        "exit 1 exactly when a check failed:\n{text}"
    );
    if failed > 0 {
        assert!(
            text.stderr
                .contains(&format!("{failed} of {} checks failed", parsed.len())),
            "{text}"
        );
        assert!(json_run.stderr.contains("checks failed"), "{json_run}");
    }
    (text, parsed, doc)
}

/// An environment with `DCR_*` pointing at `host` and the password `secret`.
fn dcr_env(host: &str, secret: &str) -> Env {
    let mut env = Env::new();
    env.set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", secret)
        .set("DCR_REGISTRY", format!("{host}/team"));
    env
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn all_ok_against_a_live_registry_prints_no_secret_and_writes_nothing() {
    let secret = &canary("doctor-ok");
    let registry = Registry::start(Auth::user(USER, secret));
    let env = dcr_env(&registry.host(), secret);
    let docker = env.home().join(".docker/config.json");
    fs::create_dir_all(docker.parent().unwrap()).unwrap();
    fs::write(&docker, r#"{"auths":{"other.example":{"auth":"eDp5"}}}"#).unwrap();
    fs::set_permissions(&docker, fs::Permissions::from_mode(0o600)).unwrap();
    let before = Tree::of(env.home());

    let (out, lines, _) = doctor(&env, &[]);
    out.assert_success("doctor with a live registry");
    line(&lines, "ci", "no CI detected");
    let credentials = line(&lines, "credentials", "DCR_*");
    assert!(credentials
        .text
        .contains(&format!("user {USER} for {}", registry.host())));
    let config = line(&lines, "config-file", ".docker/config.json");
    assert!(
        config.text.contains("valid JSON, 1 auths entry, mode 0600"),
        "{config:?}"
    );
    line(&lines, "config-file", "helm: does not exist yet");
    line(&lines, "cred-helper", "no credHelpers or credsStore");
    assert_eq!(line(&lines, "regions", "").status, "skip");
    line(
        &lines,
        "hosts",
        &format!("login would write {} (DCR_*)", registry.host()),
    );
    assert_eq!(line(&lines, "clock", "").status, "skip");
    let reach = line(&lines, "reach-registry", &registry.host());
    assert_eq!(reach.status, "ok", "{reach:?}");
    assert!(reach
        .text
        .contains(&format!("HTTP 401 from http://{}/v2/", registry.host())));
    // Skipped: regions, clock, and the metadata service (this is no Nebius VM).
    assert_eq!(line(&lines, "metadata", "").status, "skip");
    assert!(out.stdout.ends_with("0 failed, 4 skipped\n"), "{out}");

    before.assert_unchanged(env.home(), "doctor");
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );

    // A warning alone is still success.
    fs::set_permissions(&docker, fs::Permissions::from_mode(0o644)).unwrap();
    let (out, lines, doc) = doctor(&env, &[]);
    out.assert_success("doctor with a warning");
    let config = line(&lines, "config-file", ".docker/config.json");
    assert_eq!(config.status, "warn");
    assert!(config
        .text
        .ends_with("mode 0644: other users can read the credentials in it"));
    assert_eq!(
        config.fix.as_deref(),
        Some(format!("chmod 600 {}", docker.display()).as_str())
    );
    assert_eq!(
        (doc["ok"].clone(), doc["counts"]["warn"].clone()),
        (true.into(), 1.into())
    );
}

#[test]
fn a_registry_that_is_gone_fails_reachability_with_a_fix() {
    let secret = &canary("doctor-gone");
    let host = Registry::start(Auth::user(USER, secret)).host(); // stopped again at once
    let env = dcr_env(&host, secret);
    let (out, lines, doc) = doctor(&env, &["--timeout", "5"]);
    let reach = line(&lines, "reach-registry", &host);
    assert_eq!(reach.status, "FAIL");
    assert!(reach.text.contains("connection refused"), "{reach:?}");
    assert!(
        reach.fix.as_deref().unwrap().contains("nothing listens"),
        "{reach:?}"
    );
    assert!(
        out.stderr.contains(&format!("(reach-registry {host})")),
        "{out}"
    );
    let check = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "reach-registry")
        .unwrap();
    assert_eq!(check["subject"], host.as_str());
    assert_eq!(check["status"], "fail");
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );
}

#[test]
fn a_silent_server_fails_within_the_timeout() {
    // Connections complete in the kernel's backlog and are never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = silent.local_addr().unwrap().to_string();
    let env = dcr_env(&host, &canary("doctor-silent"));
    let started = Instant::now();
    let out = env.crlogin(["doctor", "--timeout", "1"]).run();
    let took = started.elapsed();
    out.assert_failure("doctor against a silent port");
    let lines = lines(&out);
    let reach = line(&lines, "reach-registry", &host);
    assert!(reach.text.contains("no answer within 1 s"), "{reach:?}");
    assert!(
        reach.fix.as_deref().unwrap().contains("--timeout"),
        "{reach:?}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn tls_errors_are_told_apart_and_ssl_cert_file_fixes_them() {
    let secret = &canary("doctor-tls");
    let registry = Registry::start_tls(Auth::user(USER, secret));
    let mut env = dcr_env(&registry.host(), secret);
    let (_, lines, _) = doctor(&env, &[]);
    let reach = line(&lines, "reach-registry", &registry.host());
    assert_eq!(reach.status, "FAIL");
    assert!(reach.text.contains("the TLS handshake failed"), "{reach:?}");
    assert!(
        reach.fix.as_deref().unwrap().contains("SSL_CERT_FILE"),
        "{reach:?}"
    );

    env.set("SSL_CERT_FILE", registry.ca_pem_path().to_str().unwrap());
    let (out, lines, _) = doctor(&env, &[]);
    out.assert_success("doctor trusting the registry's CA");
    let reach = line(&lines, "reach-registry", &registry.host());
    assert!(
        reach
            .text
            .contains(&format!("HTTP 401 from https://{}/v2/", registry.host())),
        "{reach:?}"
    );
}

#[test]
fn a_malformed_docker_config_fails_and_is_left_untouched() {
    let secret = &canary("doctor-json");
    let registry = Registry::start(Auth::user(USER, secret));
    let env = dcr_env(&registry.host(), secret);
    let docker = env.home().join(".docker/config.json");
    fs::create_dir_all(docker.parent().unwrap()).unwrap();
    fs::write(&docker, "{\"auths\": {\n").unwrap();
    let before = Tree::of(env.home());

    let (out, lines, _) = doctor(&env, &[]);
    let config = line(&lines, "config-file", ".docker/config.json");
    assert_eq!(config.status, "FAIL");
    assert!(
        config
            .text
            .contains("docker: is not valid JSON (EOF while parsing"),
        "{config:?}"
    );
    let fix = config.fix.as_deref().unwrap();
    assert!(
        fix.contains(&format!("mv {0} {0}.bak", docker.display())),
        "{fix}"
    );
    assert!(fix.contains("login refuses to overwrite"), "{fix}");
    assert_eq!(
        line(&lines, "reach-registry", &registry.host()).status,
        "ok"
    );
    before.assert_unchanged(env.home(), "doctor");
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );
}

/// docker reads the file's entries without the store's helper, helm fails every command
/// (tests/missing_helper.rs runs both): a warning for docker's own file, a failure where helm
/// reads the file too.
#[test]
fn creds_store_desktop_without_its_helper_warns_for_docker_and_fails_for_helm() {
    let secret = &canary("doctor-desktop");
    let registry = Registry::start(Auth::user(USER, secret));
    let env = dcr_env(&registry.host(), secret);
    let docker = env.home().join(".docker/config.json");
    fs::create_dir_all(docker.parent().unwrap()).unwrap();
    fs::write(&docker, r#"{"credsStore": "desktop"}"#).unwrap();
    let empty_bin = env.home().join("bin");
    fs::create_dir_all(&empty_bin).unwrap();

    // PATH holds only an empty directory, so no docker-credential-desktop can be found.
    let (_, lines, _) = doctor(&env, &[]);
    let with_path = env.crlogin(["doctor"]).env("PATH", &empty_bin).run();
    with_path.assert_success("doctor with credsStore desktop in docker's file only");
    for lines in [lines, self::lines(&with_path)] {
        let helper = line(&lines, "cred-helper", "desktop:");
        assert_eq!(helper.status, "warn");
        assert!(
            helper
                .text
                .contains("docker-credential-desktop is not on PATH (credsStore in")
                && helper
                    .text
                    .contains("docker reads the logins in the file all the same")
                && !helper.text.contains("helm"),
            "{helper:?}"
        );
        let fix = helper.fix.as_deref().unwrap();
        assert!(fix.contains("remove \"credsStore\" from"), "{fix}");
        assert!(fix.contains("--isolated"), "{fix}");
    }
    // Helm reading the same file fails on every registry command.
    let shared = env
        .crlogin(["doctor"])
        .env("PATH", &empty_bin)
        .env("HELM_REGISTRY_CONFIG", &docker)
        .run();
    shared.assert_failure("doctor with credsStore desktop in the file helm reads");
    let lines = self::lines(&shared);
    let helper = line(&lines, "cred-helper", "desktop:");
    assert_eq!(helper.status, "FAIL");
    assert!(
        helper.text.contains("helm fails every registry command (\"failed to resolve credential: exec: \\\"docker-credential-desktop\\\": executable file not found in $PATH\")"),
        "{helper:?}"
    );
}

#[test]
fn a_helper_that_is_not_executable_fails_naming_permission_and_an_executable_one_passes() {
    let secret = &canary("doctor-helper");
    let registry = Registry::start(Auth::user(USER, secret));
    let env = dcr_env(&registry.host(), secret);
    let docker = env.home().join(".docker/config.json");
    fs::create_dir_all(docker.parent().unwrap()).unwrap();
    fs::write(&docker, r#"{"credHelpers": {"r.example": "x"}}"#).unwrap();
    let bin = harness::temp_dir();
    let helper = bin.path().join("docker-credential-x");
    fs::write(&helper, "#!/bin/sh\nexit 1\n").unwrap();
    let run = || {
        let out = env
            .crlogin(["doctor"])
            .env("PATH", path_with(bin.path()))
            .run();
        let lines = lines(&out);
        let line = line(&lines, "cred-helper", "x:");
        (
            out.success(),
            line.status.clone(),
            line.text.clone(),
            line.fix.clone(),
        )
    };

    fs::set_permissions(&helper, fs::Permissions::from_mode(0o644)).unwrap();
    let (success, status, text, fix) = run();
    assert!(!success);
    assert_eq!(status, "FAIL", "{text}");
    assert!(
        text.contains(&format!("{} is on PATH but not executable (mode 0644): docker fails with \"permission denied\" for r.example in", helper.display())),
        "{text}"
    );
    assert_eq!(fix.unwrap(), format!("chmod +x {}", helper.display()));

    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    let (success, status, text, fix) = run();
    assert!(success, "{text}");
    assert_eq!(status, "ok");
    assert!(
        text.contains(&format!(
            "{} is executable (named by r.example in",
            helper.display()
        )),
        "{text}"
    );
    assert_eq!(fix, None);
}

#[test]
fn no_credentials_fails_listing_what_it_looked_for() {
    let env = Env::new();
    let (_, lines, _) = doctor(&env, &[]);
    let credentials = line(&lines, "credentials", "no credentials found");
    assert_eq!(credentials.status, "FAIL");
    let fix = credentials.fix.as_deref().unwrap();
    for wanted in [
        "NEBIUS_IAM_TOKEN",
        "NEBIUS_STATIC_KEY",
        "DCR_USERNAME/DCR_PASSWORD/DCR_REGISTRY",
        "NEBIUS_SA_CREDENTIALS",
        "~/.nebius/config.yaml",
    ] {
        assert!(fix.contains(wanted), "{wanted} missing from {fix}");
    }
    assert_eq!(line(&lines, "hosts", "").status, "skip");
}

#[test]
fn an_unknown_region_fails() {
    let key = &canary("doctor-static-key");
    let mut env = Env::new();
    env.set("NEBIUS_STATIC_KEY", key);
    let (out, lines, _) = doctor(&env, &["--region", "eu-north1,mars-1"]);
    let regions = line(&lines, "regions", "mars-1");
    assert_eq!(regions.status, "FAIL");
    assert_eq!(
        regions.text,
        "unknown Nebius region \"mars-1\" (from --region/NEBIUS_REGIONS)"
    );
    assert!(
        regions
            .fix
            .as_deref()
            .unwrap()
            .contains("eu-north1, eu-north2"),
        "{regions:?}"
    );
    line(
        &lines,
        "credentials",
        "NEBIUS_STATIC_KEY: a Container Registry static key",
    );
    assert_no_leak(
        key,
        &secret_forms(key, Some("iam")),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );

    // NEBIUS_REGION is checked when no region is named.
    env.set("NEBIUS_REGION", "venus-2");
    let (_, lines, _) = doctor(&env, &[]);
    assert_eq!(
        line(&lines, "regions", "venus-2").text,
        "unknown Nebius region \"venus-2\" (from NEBIUS_REGION)"
    );
}

/// The N of a clock line's "this machine's clock is N s behind/ahead of ...".
fn seconds_off(text: &str) -> u64 {
    let (_, rest) = text.split_once("clock is ").expect(text);
    rest.split(' ').next().unwrap().parse().expect(text)
}

#[test]
fn clock_skew_against_the_iam_server() {
    let mut machine = Machine::new();
    let registry = Registry::start(Auth::user("iam", "unused-password"));
    machine.env.set("CRLOGIN_REGISTRIES", registry.host());
    let exchange = format!("{}/oauth2/token/exchange", machine.server.endpoint());
    let mut runs = 0;
    let mut clock_at = |offset: i64| {
        machine.server.set_clock_offset(offset);
        let (out, lines, _) = doctor(&machine.env, &[]);
        runs += 2;
        machine.assert_quiet(&out, None);
        let reach = line(&lines, "reach-iam", &exchange);
        assert_eq!(reach.status, "ok", "{reach:?}");
        let clock = line(&lines, "clock", &exchange);
        (clock.status.clone(), clock.text.clone(), clock.fix.clone())
    };

    let (status, text, fix) = clock_at(0);
    assert_eq!(status, "ok", "{text}");
    assert!(
        text.contains("clock is within 1 s of the IAM server's") || seconds_off(&text) <= 2,
        "{text}"
    );
    assert_eq!(fix, None);

    let (status, text, fix) = clock_at(600);
    assert_eq!(status, "FAIL", "{text}");
    assert!(text.contains(" s behind the IAM server's"), "{text}");
    assert!((599..=601).contains(&seconds_off(&text)), "{text}");
    assert!(text.contains("arrives already (or soon) expired"), "{text}");
    let fix = fix.unwrap();
    assert!(
        fix.contains("chronyc makestep") && fix.contains("timedatectl set-ntp true"),
        "{fix}"
    );

    let (status, text, _) = clock_at(-600);
    assert_eq!(status, "FAIL", "{text}");
    assert!(text.contains(" s ahead of the IAM server's"), "{text}");
    assert!((599..=601).contains(&seconds_off(&text)), "{text}");

    // Doctor only asked for the server's time: it sent no JWT and got no token.
    assert!(machine.server.jwts().is_empty());
    assert!(machine.server.tokens().is_empty());
    assert_eq!(machine.server.requests(), runs);
    let (_, lines, _) = doctor(&machine.env, &[]);
    line(&lines, "credentials", "NEBIUS_SA_CREDENTIALS: service-account key publickey-e00crloginhelper of serviceaccount-e00crloginhelper");
    assert!(
        !machine.cache_dir().exists(),
        "doctor wrote the token cache"
    );
}

#[test]
fn github_actions_gets_error_annotations_and_no_masks() {
    let secret = &canary("doctor-github");
    let host = Registry::start(Auth::user(USER, secret)).host(); // stopped again at once
    let mut env = dcr_env(&host, secret);
    let summary = env.home().join("summary.md");
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let (out, lines, doc) = doctor(&env, &["--timeout", "5"]);
    assert_eq!(doc["ci"], "GitHub Actions");
    line(&lines, "ci", "GitHub Actions");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("::error title=crlogin::1 of ")
                && l.contains(&format!("(reach-registry {host})"))),
        "{out}"
    );
    // Doctor prints no secret, so it has nothing to mask: not even a mask line carries one.
    assert!(
        !out.stderr.contains("::add-mask::") && !out.stdout.contains("::add-mask::"),
        "{out}"
    );
    assert!(!summary.exists(), "doctor wrote the step summary");
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );
}

#[test]
fn oidc_federation_checks_the_grpc_exchange_without_calling_it() {
    const SA: &str = "serviceaccount-e00doctoroidc";
    let issuer = iam_grpc::TestIssuer::new();
    let server = iam_grpc::IamServer::start(iam_grpc::Expect {
        service_account_id: SA.into(),
        issuer: issuer.issuer.clone(),
        audience: "crlogin-doctor".into(),
        subject: "repo:acme/app:ref:refs/heads/main".into(),
        jwks: issuer.jwks(),
    });
    let registry = Registry::start(Auth::None);
    let jwt = issuer.token("repo:acme/app:ref:refs/heads/main", "crlogin-doctor", 600);
    harness::audit::secret("OIDC token", &jwt);
    let mut env = Env::new();
    env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .set("NEBIUS_ID_TOKEN", &jwt)
        .set("NEBIUS_TOKEN_EXCHANGE_GRPC", server.url())
        .set("CRLOGIN_REGISTRIES", registry.host());
    let (out, lines, _) = doctor(&env, &[]);
    out.assert_success("doctor with OIDC federation");
    line(&lines, "credentials", &format!("OIDC federation for {SA}"));
    let reach = line(&lines, "reach-iam", &server.url());
    assert!(reach.text.contains("connected (gRPC)"), "{reach:?}");
    assert!(line(&lines, "clock", "")
        .text
        .contains("signed with its issuer's clock, not this machine's"));
    let reach = line(&lines, "reach-registry", &registry.host());
    assert!(reach.text.contains("HTTP 200"), "{reach:?}");
    assert_eq!(server.calls(), 0, "doctor exchanged the OIDC token");
    assert_no_leak(
        &jwt,
        &secret_forms(&jwt, None),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );

    let url = server.url();
    drop(server);
    let (_, lines, _) = doctor(&env, &["--timeout", "5"]);
    let reach = line(&lines, "reach-iam", &url);
    assert_eq!(reach.status, "FAIL");
    assert!(reach.text.contains("connection refused"), "{reach:?}");
}

#[test]
fn a_cred_helpers_entry_the_crlogin_helper_would_refuse_fails_until_configure_helper_wires_it() {
    let secret = &canary("doctor-served");
    let registry = Registry::start(Auth::user(USER, secret));
    let mut env = dcr_env(&registry.host(), secret);
    let bin = env.home().join("bin");
    env.set("PATH", path_with(&bin));
    let docker = env.home().join(".docker/config.json");
    let configure = |extra: &[&str]| {
        let mut args = vec!["configure-helper", "--for", "docker", "--bin-dir"];
        args.push(bin.to_str().unwrap());
        args.extend_from_slice(extra);
        env.crlogin(args).run()
    };
    configure(&["--region", "eu-north1"]).assert_success("configure-helper --region");
    // An entry for a host nobody wired (written by hand, or left by an older crlogin).
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&docker).unwrap()).unwrap();
    doc["credHelpers"]["127.0.0.1:5999"] = "crlogin".into();
    fs::write(&docker, doc.to_string()).unwrap();

    let (_, lines, _) = doctor(&env, &[]);
    let refused = line(&lines, "helper-hosts", "127.0.0.1:5999:");
    assert_eq!(refused.status, "FAIL", "{refused:?}");
    assert!(
        refused.text.contains(&format!(
            "not served: crlogin serves no login for 127.0.0.1:5999: set DCR_USERNAME, DCR_PASSWORD and DCR_REGISTRY for it where the client runs (or record a prefix with configure-helper --from-env) (credHelpers in {})",
            docker.display()
        )),
        "{refused:?}"
    );
    assert!(
        refused
            .fix
            .as_deref()
            .unwrap()
            .contains("crlogin configure-helper --registry HOST"),
        "{refused:?}"
    );
    // A region's host is wired, but with no Nebius credential here the helper has nothing to
    // answer with, and doctor says so.
    let region = line(&lines, "helper-hosts", "cr.eu-north1.nebius.cloud:");
    assert_eq!(region.status, "FAIL", "{region:?}");
    assert!(
        region
            .text
            .contains("not served: cr.eu-north1.nebius.cloud: no"),
        "{region:?}"
    );
    line(&lines, "cred-helper", "crlogin:");

    configure(&["--registry", "127.0.0.1:5999"]).assert_success("configure-helper --registry");
    let (_, lines, _) = doctor(&env, &[]);
    let wired = line(&lines, "helper-hosts", "127.0.0.1:5999:");
    assert!(
        wired.text.contains("not served: 127.0.0.1:5999: no"),
        "wired, and still no Nebius credential: {wired:?}"
    );
    assert_no_leak(secret, &[], &[], env.home(), &[]);
}

/// Doctor asks the helper's own decision: a `credHelpers` host `DCR_*` names is served from
/// `DCR_*`, without `DCR_*` it is not (with the very line `get` prints), and once a
/// `--from-env` prefix naming it is recorded, it is served from that prefix.
#[test]
fn a_cred_helpers_host_dcr_serves_is_reported_as_served_and_without_dcr_with_the_helpers_reason() {
    let secret = &canary("doctor-dcr-helper");
    let registry = Registry::start(Auth::user(USER, secret));
    let host = registry.host();
    let mut env = dcr_env(&host, secret);
    let bin = env.home().join("bin");
    env.set("PATH", path_with(&bin));
    env.crlogin([
        "configure-helper",
        "--for",
        "docker",
        "--bin-dir",
        bin.to_str().unwrap(),
        "--registry",
        &host,
    ])
    .run()
    .assert_success("configure-helper --registry");
    let mut outputs = Vec::new();

    let (text, lines, doc) = doctor(&env, &[]);
    let served = line(&lines, "helper-hosts", &format!("{host}:"));
    assert_eq!(served.status, "ok", "{served:?}");
    assert_eq!(
        served.text,
        format!("{host}: served from DCR_* as user {USER}")
    );
    outputs.push(text.to_string());
    outputs.push(doc.to_string());

    env.unset("DCR_USERNAME")
        .unset("DCR_PASSWORD")
        .unset("DCR_REGISTRY");
    let get = env.crlogin(["credential-helper", "get"]).stdin(&host).run();
    get.assert_failure("get without DCR_*");
    let why = get
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("crlogin: "))
        .unwrap_or_else(|| panic!("get says why: {get}"));
    let (text, lines, doc) = doctor(&env, &[]);
    let refused = line(&lines, "helper-hosts", &format!("{host}:"));
    assert_eq!(refused.status, "FAIL", "{refused:?}");
    assert!(
        refused
            .text
            .contains(&format!("not served: {why} (credHelpers in ")),
        "doctor gives the helper's reason {why:?}: {refused:?}"
    );
    outputs.extend([text.to_string(), doc.to_string(), get.to_string()]);

    // The same login under a prefix configure-helper recorded: served from MIRROR_*.
    env.set("MIRROR_USERNAME", USER)
        .set("MIRROR_PASSWORD", secret)
        .set("MIRROR_REGISTRY", &host);
    let recorded = env
        .crlogin([
            "configure-helper",
            "--for",
            "docker",
            "--bin-dir",
            bin.to_str().unwrap(),
            "--from-env",
            "MIRROR",
        ])
        .run();
    recorded.assert_success("configure-helper --from-env MIRROR");
    let (text, lines, doc) = doctor(&env, &[]);
    let mirrored = line(&lines, "helper-hosts", &format!("{host}:"));
    assert_eq!(mirrored.status, "ok", "{mirrored:?}");
    assert_eq!(
        mirrored.text,
        format!("{host}: served from MIRROR_* as user {USER}")
    );
    outputs.extend([recorded.to_string(), text.to_string(), doc.to_string()]);
    let texts: Vec<&str> = outputs.iter().map(String::as_str).collect();
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &texts,
        env.home(),
        &[],
    );
}
