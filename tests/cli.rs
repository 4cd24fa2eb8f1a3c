//! crlogin as a user runs it, without a registry: what it writes, what it refuses, what it
//! prints. Each test runs the real binary from a cleared environment with its own HOME.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use harness::canary;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One user's machine: a temp HOME and the variables a test sets.
struct Machine {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

/// What one crlogin run printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Machine {
    fn new() -> Self {
        Self {
            home: harness::temp_dir(),
            vars: Vec::new(),
        }
    }

    fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn docker_file(&self) -> PathBuf {
        self.home().join(".docker/config.json")
    }

    fn helm_file(&self) -> PathBuf {
        self.home().join(".config/helm/registry/config.json")
    }

    fn podman_file(&self) -> PathBuf {
        self.home().join(".config/containers/auth.json")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crlogin"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("TMPDIR", self.home())
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = harness::run(&mut self.command(args), None);
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    /// Every file under HOME, with its content.
    fn files(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push((
                        path.clone(),
                        String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned(),
                    ));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.home(), &mut out);
        out
    }
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The secret (raw or base64 `user:secret`) is in no output but GitHub's `::add-mask::` lines
/// (whose job is to carry it to the runner); the raw secret is in no file; the base64 form only in
/// `allowed` files.
fn assert_no_leak(m: &Machine, run: &Run, user: &str, secret: &str, allowed: &[PathBuf]) {
    let encoded = b64(&format!("{user}:{secret}"));
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        if line.starts_with("::add-mask::") {
            continue;
        }
        assert!(!line.contains(secret), "secret in output: {line}");
        assert!(!line.contains(&encoded), "encoded secret in output: {line}");
    }
    for (path, content) in m.files() {
        assert!(
            !content.contains(secret),
            "raw secret in {}",
            path.display()
        );
        if !allowed.contains(&path) {
            assert!(
                !content.contains(&encoded),
                "encoded secret in {}",
                path.display()
            );
        }
    }
}

fn dcr(secret: &str) -> Machine {
    Machine::new()
        .var("DCR_USERNAME", "alice")
        .var("DCR_PASSWORD", secret)
        .var("DCR_REGISTRY", "dcr.example.io/team")
}

#[test]
fn login_writes_all_three_files_private_and_reports_without_secret() {
    let secret = &canary("3files");
    let m = dcr(secret);
    let run = m.run(&["login"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let auth = b64(&format!("alice:{secret}"));
    for file in [m.docker_file(), m.helm_file(), m.podman_file()] {
        assert_eq!(
            read_json(&file)["auths"]["dcr.example.io"]["auth"],
            json!(auth),
            "{}",
            file.display()
        );
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(file.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
    assert!(
        run.stderr.contains("dcr.example.io  alice  DCR_*"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing on stdout outside CI");
    assert_no_leak(
        &m,
        &run,
        "alice",
        secret,
        &[m.docker_file(), m.helm_file(), m.podman_file()],
    );
}

#[test]
fn github_masks_come_first_for_every_line_and_the_auth_string() {
    let (line1, line2) = (canary("gh-line1"), canary("gh-line2"));
    let secret = format!("{line1}\n{line2}");
    let m = Machine::new()
        .var("GITHUB_ACTIONS", "true")
        .var("NEBIUS_STATIC_KEY", &secret)
        .var("NEBIUS_REGION", "eu-west1");
    let run = m.run(&["login", "--for", "docker"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Workflow commands go to stderr (the runner reads both streams), leaving stdout for data.
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run.stderr.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            &format!("::add-mask::{line1}"),
            &format!("::add-mask::{line2}"),
            &format!("::add-mask::{}", b64(&format!("iam:{secret}"))),
        ]
    );
    let rest: Vec<&str> = run.stderr.lines().skip(3).collect();
    assert!(
        rest.iter()
            .all(|l| !l.contains("canary-gh-line") && !l.starts_with("::add-mask::")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cr.eu-west1.nebius.cloud"),
        "{}",
        run.stderr
    );
}

#[test]
fn existing_config_keys_are_kept_and_a_shadowing_cred_helper_is_removed() {
    let m = Machine::new()
        .var("NEBIUS_IAM_TOKEN", &canary("keep"))
        .var("NEBIUS_REGION", "eu-north1");
    let existing = json!({
        "auths": {"other.example": {"auth": "b3RoZXI6cGFzcw=="}},
        "credHelpers": {"cr.eu-north1.nebius.cloud": "nebius", "gcr.io": "gcloud"},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "psFormat": "table {{.ID}}"
    });
    fs::create_dir_all(m.docker_file().parent().unwrap()).unwrap();
    fs::write(m.docker_file(), existing.to_string()).unwrap();
    let run = m.run(&["login", "--for", "docker"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = read_json(&m.docker_file());
    assert_eq!(
        doc["auths"]["other.example"],
        existing["auths"]["other.example"]
    );
    assert_eq!(doc["credHelpers"], json!({"gcr.io": "gcloud"}));
    assert_eq!(doc["proxies"], existing["proxies"]);
    assert_eq!(doc["psFormat"], existing["psFormat"]);
    assert!(doc["auths"]["cr.eu-north1.nebius.cloud"]["auth"].is_string());
    assert!(
        run.stderr
            .contains("removed the credHelpers entry for cr.eu-north1.nebius.cloud"),
        "{}",
        run.stderr
    );

    let logout = m.run(&["logout", "--for", "docker"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let doc = read_json(&m.docker_file());
    assert_eq!(
        doc["auths"],
        json!({"other.example": {"auth": "b3RoZXI6cGFzcw=="}}),
        "logout removes only ours"
    );
    assert_eq!(doc["proxies"], existing["proxies"]);
}

#[test]
fn a_missing_creds_store_helper_is_warned_about_where_helm_reads_the_file() {
    // docker reads the login from the file all the same (tests/missing_helper.rs runs it): no
    // warning for docker's own file.
    let m = dcr(&canary("store"));
    fs::create_dir_all(m.docker_file().parent().unwrap()).unwrap();
    fs::write(m.docker_file(), r#"{"credsStore": "crlogin-test-absent"}"#).unwrap();
    let run = m.run(&["login", "--for", "docker"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(
        read_json(&m.docker_file())["credsStore"],
        json!("crlogin-test-absent")
    );
    // Helm fails on every registry command with such a file: warned, naming what each does.
    let docker_file = m.docker_file();
    let shared = m.var("HELM_REGISTRY_CONFIG", docker_file.to_str().unwrap());
    let run = shared.run(&["login", "--for", "docker,helm"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "docker-credential-crlogin-test-absent, which is not on PATH: helm fails every registry command"
        ) && run.stderr.contains("docker reads the logins in the file all the same"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_input_is_one_clear_line_and_writes_nothing() {
    let unreadable = "/nonexistent/crlogin/secret";
    let cases: Vec<(Machine, Vec<&str>, &str)> = vec![
        (Machine::new(), vec![], "no credentials found: set DCR_USERNAME, DCR_PASSWORD and DCR_REGISTRY, or a Nebius credential"),
        (dcr(" \n"), vec![], "DCR_PASSWORD is empty or blank"),
        (
            dcr(&canary("bad-1")).var("DCR_REGISTRY", "oci://dcr.example.io"),
            vec![],
            "has the scheme \"oci\": give https://host[:port][/path]",
        ),
        (dcr(&canary("bad-2")).var("DCR_REGISTRY", "bad_host!"), vec![], "is not a valid host name"),
        (
            Machine::new().var("NEBIUS_STATIC_KEY", &canary("bad-3")),
            vec!["--region", "mars-1"],
            "unknown Nebius region \"mars-1\": known regions are eu-north1, eu-north2, eu-west1, me-west1, uk-south1, us-central1",
        ),
        (
            Machine::new().var("NEBIUS_STATIC_KEY_FILE", unreadable),
            vec![],
            "cannot read NEBIUS_STATIC_KEY_FILE (/nonexistent/crlogin/secret): entity not found",
        ),
        (
            Machine::new().var("DCR_USERNAME", "alice").var("DCR_PASSWORD", &canary("bad-4")),
            vec![],
            "DCR_REGISTRY not set",
        ),
        (
            dcr(&canary("bad-5")),
            vec!["--region", "eu-north1"],
            "--region, --all-regions and --registry choose hosts for a Nebius credential",
        ),
    ];
    for (m, extra, expected) in cases {
        let mut args = vec!["login"];
        args.extend(extra);
        let run = m.run(&args);
        assert_eq!(run.code, 1, "{expected}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "expected {expected:?} in {:?}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "one line: {:?}", run.stderr);
        assert!(!run.stderr.contains("canary-bad"), "{}", run.stderr);
        assert!(
            m.files().is_empty(),
            "{expected}: nothing written, found {:?}",
            m.files()
        );
    }
}

#[test]
fn a_corrupt_config_is_refused_and_no_file_is_written() {
    let m = dcr(&canary("corrupt"));
    fs::create_dir_all(m.podman_file().parent().unwrap()).unwrap();
    fs::write(m.podman_file(), "{\"auths\": {").unwrap();
    let run = m.run(&["login"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not valid JSON"), "{}", run.stderr);
    assert!(run.stderr.contains("fix or remove it"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(m.podman_file()).unwrap(),
        "{\"auths\": {"
    );
    assert!(
        !m.docker_file().exists() && !m.helm_file().exists(),
        "no file written when one is corrupt"
    );
}

#[test]
fn secrets_are_read_from_file_variables_and_mounted_paths() {
    let m = Machine::new();
    let (key_value, pass_value) = (canary("file-key"), canary("mounted-pass"));
    let key = m.home().join("static-key");
    fs::write(&key, format!("{key_value}\n")).unwrap();
    harness::audit::input(&key);
    let pass = m.home().join("dcr-pass");
    fs::write(&pass, format!("{pass_value}\n")).unwrap();
    harness::audit::input(&pass);
    let m = m
        .var("NEBIUS_STATIC_KEY_FILE", key.to_str().unwrap())
        .var("NEBIUS_REGION", "uk-south1")
        .var("GITLAB_CI", "true")
        .var("CI_REGISTRY", "registry.gitlab.example")
        .var("CI_REGISTRY_USER", "gitlab-ci-token")
        .var("CI_REGISTRY_PASSWORD", pass.to_str().unwrap());
    let run = m.run(&["login", "--for", "podman"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let auths = &read_json(&m.podman_file())["auths"];
    assert_eq!(
        auths["cr.uk-south1.nebius.cloud"]["auth"],
        json!(b64(&format!("iam:{key_value}")))
    );
    assert_eq!(
        auths["registry.gitlab.example"]["auth"],
        json!(b64(&format!("gitlab-ci-token:{pass_value}")))
    );
    assert!(
        run.stderr.contains("CI_REGISTRY (GitLab)"),
        "{}",
        run.stderr
    );
}

#[test]
fn dry_run_writes_nothing() {
    let m = dcr(&canary("dry"));
    let run = m.run(&["login", "--dry-run", "--isolated"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("would log in to 1 registry"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("dry run: nothing was written"),
        "{}",
        run.stderr
    );
    assert!(m.files().is_empty());
    assert!(
        fs::read_dir(m.home()).unwrap().next().is_none(),
        "no isolated dir created either"
    );
}

#[test]
fn isolated_login_exports_one_private_file_and_leaves_home_alone() {
    let secret = canary("iso");
    let m = dcr(&secret);
    let github_env = m.home().join("github_env");
    fs::write(&github_env, "").unwrap();
    let m = m
        .var("GITHUB_ACTIONS", "true")
        .var("GITHUB_ENV", github_env.to_str().unwrap());
    let run = m.run(&["login", "--isolated"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let exports: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("export "))
        .collect();
    assert_eq!(exports.len(), 3, "{}", run.stdout);
    let dir = exports[0]
        .strip_prefix("export DOCKER_CONFIG='")
        .unwrap()
        .trim_end_matches('\'');
    let dir = PathBuf::from(dir);
    assert!(
        dir.starts_with(m.home())
            && dir
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("crlogin-")
    );
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let file = dir.join("config.json");
    assert_eq!(
        exports[1],
        format!("export HELM_REGISTRY_CONFIG='{}'", file.display())
    );
    assert_eq!(
        exports[2],
        format!("export REGISTRY_AUTH_FILE='{}'", file.display())
    );
    assert_eq!(
        read_json(&file)["auths"]["dcr.example.io"]["auth"],
        json!(b64(&format!("alice:{secret}")))
    );
    assert!(!m.docker_file().exists() && !m.helm_file().exists() && !m.podman_file().exists());
    let exported = fs::read_to_string(&github_env).unwrap();
    assert!(
        exported.contains(&format!("DOCKER_CONFIG={}\n", dir.display())),
        "{exported}"
    );
    assert_no_leak(&m, &run, "alice", &secret, &[file]);
}

#[test]
fn concurrent_logins_into_one_file_lose_no_entry() {
    let m = Machine::new();
    let file = m.home().join("shared/config.json");
    // A big file widens each writer's read-modify-write window, so lost updates would show.
    let existing: serde_json::Map<String, Value> = (0..4000)
        .map(|i| (format!("pre{i}.example.io"), json!({"auth": "eDp5"})))
        .collect();
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, json!({ "auths": existing }).to_string()).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let secrets: Vec<String> = (0..50).map(|i| canary(&format!("conc-{i}"))).collect();
    let children: Vec<_> = (0..50)
        .map(|i| {
            let mut cmd = m.command(&["login", "--for", "docker"]);
            // 50 debug-build writers on a loaded machine: this test is about lost entries, not
            // about how long one waits for the lock.
            cmd.env("DOCKER_CONFIG", file.parent().unwrap())
                .env("CRLOGIN_LOCK_TIMEOUT", "600")
                .env("DCR_USERNAME", format!("user{i}"))
                .env("DCR_PASSWORD", &secrets[i])
                .env("DCR_REGISTRY", format!("r{i}.example.io"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let child = cmd.spawn().unwrap();
            (cmd, child)
        })
        .collect();
    // Each writes a line or two: the pipes never fill, so waiting in order cannot block.
    for (cmd, child) in children {
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        harness::audit::output(&cmd, pid, &out.stdout, &out.stderr);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let auths = read_json(&file)["auths"].as_object().unwrap().clone();
    let ours = auths.keys().filter(|k| !k.starts_with("pre")).count();
    assert_eq!(ours, 50, "every process's entry survived");
    assert_eq!(auths.len(), 4050);
    for i in 0..50 {
        assert_eq!(
            auths[&format!("r{i}.example.io")],
            json!({"auth": b64(&format!("user{i}:{}", secrets[i]))}),
            "each process wrote its own credential"
        );
    }
    assert!(
        auths
            .iter()
            .filter(|(k, _)| k.starts_with("pre"))
            .all(|(_, v)| *v == json!({"auth": "eDp5"})),
        "the entries that were there are kept"
    );
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o640,
        "the file keeps its mode"
    );
    let mut leftovers: Vec<_> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    leftovers.sort();
    assert_eq!(
        leftovers,
        ["config.json"],
        "no temp files left behind, nor the lock file"
    );
}

#[test]
fn logout_of_named_regions_needs_no_credential() {
    let login = Machine::new().var("NEBIUS_STATIC_KEY", &canary("lo"));
    assert_eq!(
        login.run(&["login", "--all-regions", "--for", "helm"]).code,
        0
    );
    let logout = Machine {
        home: login.home,
        vars: Vec::new(),
    };
    let run = logout.run(&[
        "logout",
        "--region",
        "eu-north1,us-central1",
        "--for",
        "helm",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("logged out of 2 of 2 registries"),
        "{}",
        run.stderr
    );
    let auths = read_json(&logout.helm_file())["auths"]
        .as_object()
        .unwrap()
        .clone();
    let mut left: Vec<&String> = auths.keys().collect();
    left.sort();
    assert_eq!(
        left,
        [
            "cr.eu-north2.nebius.cloud",
            "cr.eu-west1.nebius.cloud",
            "cr.me-west1.nebius.cloud",
            "cr.uk-south1.nebius.cloud"
        ]
    );
}

#[test]
fn login_and_logout_report_as_json_for_scripts_without_the_secret() {
    let secret = canary("json");
    let m = dcr(&secret).var("NEBIUS_STATIC_KEY", &canary("json-static"));
    let dir = m.home().join("cfg");
    let with_json = |command: &str, flag: &str| {
        let dir = dir.to_str().unwrap();
        m.run(&[
            command,
            flag,
            "json",
            "--region",
            "eu-north1",
            "--config-dir",
            dir,
        ])
    };
    let run = with_json("login", "-o");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    let file = dir.join("config.json").display().to_string();
    assert_eq!(
        report,
        json!({
            "command": "login",
            "dry_run": false,
            "registries": [
                {"host": "dcr.example.io", "username": "alice", "source": "DCR_*", "expires_at": null},
                {"host": "cr.eu-north1.nebius.cloud", "username": "iam", "source": "NEBIUS_STATIC_KEY", "expires_at": null},
            ],
            "tools": [
                {"tool": "docker", "file": file},
                {"tool": "helm", "file": file},
                {"tool": "podman", "file": file},
            ],
            "env": {
                "DOCKER_CONFIG": dir.display().to_string(),
                "HELM_REGISTRY_CONFIG": file,
                "REGISTRY_AUTH_FILE": file,
            },
            "expires_at": null,
        })
    );
    assert!(
        run.stderr.contains("logged in to 2 registries"),
        "the human report stays on stderr"
    );
    assert_no_leak(&m, &run, "alice", &secret, &[dir.join("config.json")]);

    let dry = m.run(&["login", "--dry-run", "-o", "json", "--region", "eu-north1"]);
    let dry: Value = serde_json::from_str(&dry.stdout).unwrap();
    assert_eq!(dry["dry_run"], json!(true));
    assert_eq!(dry["env"], json!({}));

    let run = with_json("logout", "--output");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["command"], "logout");
    assert_eq!(
        report["removed"],
        json!(["dcr.example.io", "cr.eu-north1.nebius.cloud"])
    );
    assert_eq!(report["hosts"], report["removed"]);
    assert_eq!(report["tools"][0], json!({"tool": "docker", "file": file}));
}

/// The attack of issue 14 (High 1): a non-secret variable set to a path must not be read as a
/// file. `DCR_REGISTRY=/proc/self/environ` once printed the environment (a static key in it) in
/// the error.
#[test]
fn dcr_registry_set_to_proc_self_environ_does_not_print_the_environment() {
    let key = canary("environ-static-key");
    let m = Machine::new()
        .var("NEBIUS_STATIC_KEY", &key)
        .var("DCR_USERNAME", "alice")
        .var("DCR_PASSWORD", &canary("environ-password"))
        .var("DCR_REGISTRY", "/proc/self/environ");
    let run = m.run(&["login", "--for", "docker"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("/proc/self/environ"), "{}", run.stderr);
    for shown in [&run.stdout, &run.stderr] {
        assert!(!shown.contains(&key), "{shown}");
        assert!(!shown.contains("NEBIUS_STATIC_KEY="), "{shown}");
        // The error once quoted the file's start (crlogin's own environment, PATH first).
        assert!(!shown.contains("PATH="), "{shown}");
        assert!(!shown.contains("DCR_PASSWORD="), "{shown}");
    }
    assert!(!m.docker_file().exists());
}

/// A GitHub job's outputs and summary, with the files they are written to.
fn github_job(m: Machine) -> (Machine, PathBuf, PathBuf) {
    let (output, summary) = (m.home().join("gh-output"), m.home().join("gh-summary"));
    let m = m
        .var("GITHUB_ACTIONS", "true")
        .var("CRLOGIN_ISOLATED", "false")
        .var("GITHUB_OUTPUT", output.to_str().unwrap())
        .var("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    (m, output, summary)
}

/// The attack of issue 14 (High 1): `DCR_USERNAME=/path/to/token` once put the token file's
/// content in the report, the step output and the job summary. The value is a username as typed.
#[test]
fn dcr_username_set_to_a_token_path_does_not_publish_the_token() {
    let token = canary("username-path-token");
    let m = Machine::new();
    let path = m.home().join("token");
    fs::write(&path, &token).unwrap();
    harness::audit::input(&path);
    let (m, output, summary) = github_job(
        m.var("DCR_USERNAME", path.to_str().unwrap())
            .var("DCR_PASSWORD", &canary("username-path-password"))
            .var("DCR_REGISTRY", "dcr.example.io"),
    );
    let run = m.run(&["login", "--for", "docker"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let published = [
        run.stdout.clone(),
        run.stderr.clone(),
        fs::read_to_string(&output).unwrap_or_default(),
        fs::read_to_string(&summary).unwrap_or_default(),
        fs::read_to_string(m.docker_file()).unwrap(),
    ];
    for text in &published {
        assert!(!text.contains(&token), "{text}");
    }
    let auth = read_json(&m.docker_file())["auths"]["dcr.example.io"]["auth"]
        .as_str()
        .unwrap()
        .to_string();
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    let user = String::from_utf8(decoded).unwrap();
    assert!(user.starts_with(&format!("{}:", path.display())), "{user}");
}

/// An explicit `DCR_USERNAME_FILE` is read, and its content is written to the auth file only:
/// the report, the outputs and the summary say where it came from instead.
#[test]
fn a_username_read_from_a_file_is_never_shown() {
    let user = canary("username-from-file");
    let m = Machine::new();
    let path = m.home().join("user");
    fs::write(&path, format!("{user}\n")).unwrap();
    harness::audit::input(&path);
    let (m, output, summary) = github_job(
        m.var("DCR_USERNAME_FILE", path.to_str().unwrap())
            .var("DCR_PASSWORD", &canary("username-file-password"))
            .var("DCR_REGISTRY", "dcr.example.io"),
    );
    let run = m.run(&["login", "--for", "docker"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("(read from a file)"), "{}", run.stderr);
    for text in [
        &run.stdout,
        &run.stderr,
        &fs::read_to_string(&output).unwrap(),
        &fs::read_to_string(&summary).unwrap_or_default(),
    ] {
        assert!(!text.contains(&user), "{text}");
    }
    let config = fs::read_to_string(m.docker_file()).unwrap();
    assert!(config.contains("dcr.example.io"), "{config}");
}

/// Issue 23: each subcommand's help says what that subcommand does; `login`, `logout`, `doctor`
/// and `exec` open with one example per credential kind.
#[test]
fn each_commands_help_fits_the_command_and_opens_with_examples() {
    let m = Machine::new();
    let help = |args: &[&str]| {
        let run = m.run(args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    assert!(!help(&["completions", "-h"]).contains("--lock-timeout"));
    for command in ["logout", "doctor"] {
        let text = help(&[command, "-h"]);
        assert!(!text.contains("Write one config.json"), "{command}: {text}");
        assert!(
            !text.contains("tools to write credentials for"),
            "{command}: {text}"
        );
    }
    assert!(help(&["logout", "-h"]).contains("Remove the entries from the one config.json in DIR"));
    assert!(help(&["doctor", "-h"]).contains("Which tools' files to check"));
    for command in ["login", "logout", "doctor", "exec"] {
        let text = help(&[command, "--help"]);
        let examples = text
            .find("Examples")
            .unwrap_or_else(|| panic!("{command}: {text}"));
        let usage = text.find("Usage:").unwrap();
        assert!(
            examples < usage,
            "{command}: the examples open the help:\n{text}"
        );
        let kinds: &[&str] = if command == "logout" {
            &["--region eu-north1", "DCR_REGISTRY="]
        } else {
            &[
                "NEBIUS_STATIC_KEY_FILE=",
                "NEBIUS_SA_CREDENTIALS_FILE=",
                "NEBIUS_IAM_TOKEN=",
                "NEBIUS_SERVICE_ACCOUNT_ID=",
                "DCR_USERNAME=",
            ]
        };
        for kind in kinds {
            let line = text[examples..usage]
                .lines()
                .find(|l| l.contains(kind))
                .unwrap_or_else(|| panic!("{command}: no example with {kind}:\n{text}"));
            assert!(line.contains(&format!("crlogin {command}")), "{line}");
        }
    }
}

/// Issue 23: "no credentials found" is one short line pointing to `crlogin doctor` and the book,
/// from login, exec, token and the credential helper; logout asks for no password.
#[test]
fn no_credentials_is_a_short_line_and_logout_asks_for_no_secret() {
    let m = Machine::new()
        // Off Nebius: the metadata service's name does not resolve.
        .var(
            "CRLOGIN_METADATA_URL",
            "http://metadata.invalid/v1/iam/sa/token",
        )
        .var("CRLOGIN_METADATA_TOKEN_FILE", "/nonexistent/token");
    for args in [
        &["login"][..],
        &["exec", "--", "true"],
        &["token"],
        &["credential-helper", "get"],
    ] {
        let run = harness::run(&mut m.command(args), Some("cr.eu-north1.nebius.cloud\n"));
        assert!(!run.success(), "{args:?}");
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains("found:"))
            .unwrap_or_else(|| panic!("{args:?}: {}", run.stderr));
        assert!(
            line.len() < 320,
            "{args:?}: {} characters: {line}",
            line.len()
        );
        assert!(
            line.contains("`crlogin doctor`") && line.contains("docs/src/credentials/index.md"),
            "{args:?}: {line}"
        );
        assert!(
            !line.contains("NEBIUS_PRIVATE_KEY"),
            "not the whole list: {line}"
        );
    }
    let logout = m.run(&["logout"]);
    assert_ne!(logout.code, 0);
    assert!(
        logout.stderr.contains("nothing to log out of"),
        "{}",
        logout.stderr
    );
    assert!(
        !logout.stderr.contains("PASSWORD,") && !logout.stderr.contains("DCR_PASSWORD"),
        "logout asks for no password: {}",
        logout.stderr
    );
}
