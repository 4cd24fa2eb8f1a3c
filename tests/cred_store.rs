//! Logins through a real credential store, as on a developer's machine whose docker config names
//! one: `pass` (GnuPG-encrypted files) behind Debian's `docker-credential-pass`, with a
//! throw-away GnuPG key made in the test's HOME. `crlogin login` stores through the helper the
//! way `docker login` does, the docker CLI reads the login back from `pass` against the loopback
//! registry, `crlogin logout` erases it, and the secret is in no file but the store's encrypted
//! one (and, under the leak audit, in no argv).
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use harness::helm::push_and_pull_chart;
use harness::{assert_no_leak, canary, require_tool, run, secret_forms, Env, Out, Registry};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const USER: &str = "alice";

/// A `pass` store with a fresh passphrase-less GnuPG key under `home`; its gpg-agent is stopped
/// on drop (a daemon left behind would outlive the test, and the leak audit waits for it).
struct PassStore {
    gnupg: PathBuf,
}

impl PassStore {
    fn new(env: &mut Env) -> PassStore {
        for tool in ["gpg", "gpgconf", "pass", "docker-credential-pass"] {
            require_tool(tool);
        }
        let gnupg = env.home().join(".gnupg");
        fs::create_dir_all(&gnupg).unwrap();
        fs::set_permissions(&gnupg, fs::Permissions::from_mode(0o700)).unwrap();
        env.set("GNUPGHOME", gnupg.to_str().unwrap());
        let store = PassStore { gnupg };
        // ed25519 to sign, cv25519 to encrypt: made in well under a second.
        run(
            env.command("gpg").args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--quick-gen-key",
                "crlogin test <test@crlogin.invalid>",
                "future-default",
                "default",
                "never",
            ]),
            None,
        )
        .assert_success("gpg --quick-gen-key");
        let keys = run(
            env.command("gpg")
                .args(["--batch", "--list-keys", "--with-colons"]),
            None,
        );
        let fingerprint = keys
            .stdout
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_string())
            })
            .expect("the new key's fingerprint");
        run(env.command("pass").args(["init", &fingerprint]), None).assert_success("pass init");
        store
    }

    /// What `docker-credential-pass list` holds: server -> username (never a secret).
    fn list(env: &Env) -> Value {
        let out = run(env.command("docker-credential-pass").arg("list"), None);
        out.assert_success("docker-credential-pass list");
        serde_json::from_str(&out.stdout).unwrap()
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        let mut kill = std::process::Command::new("gpgconf");
        kill.args(["--kill", "all"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GNUPGHOME", &self.gnupg);
        run(&mut kill, None);
    }
}

fn docker_inspect(env: &Env, registry: &Registry) -> Out {
    require_tool("docker");
    let reference = format!("{}/team/app:v1", registry.host());
    run(
        env.command("docker")
            .args(["manifest", "inspect", "--insecure", &reference]),
        None,
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn login_stores_through_creds_store_pass_docker_reads_it_and_logout_erases_it() {
    let secret = &canary("store-pass");
    let mut env = Env::new();
    let store = PassStore::new(&mut env);
    let (registry, _seed) = harness::seeded_registry(&env, USER, secret);
    let host = registry.host();
    env.set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", secret)
        .set("DCR_REGISTRY", format!("{host}/team"));
    let docker = env.home().join(".docker/config.json");
    let helm_file = env.home().join(".config/helm/registry/config.json");
    for file in [&docker, &helm_file] {
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, r#"{"credsStore": "pass"}"#).unwrap();
    }

    let before = docker_inspect(&env, &registry);
    before.assert_failure("docker before the login: the test can fail");

    // docker's and helm's files name the store; podman's does not (and podman ignores it).
    let login = env.crlogin(["login"]).run();
    login.assert_success("crlogin login with credsStore pass");
    assert!(
        login.stderr.contains(&format!(
            "  {host}: stored in docker-credential-pass (credsStore in {})",
            docker.display()
        )),
        "{login}"
    );
    assert!(!login.stderr.contains("warning"), "{login}");
    assert_eq!(PassStore::list(&env), json!({ &host: USER }));
    // docker and helm ask the same helper for the same host: one store.
    assert_eq!(login.stderr.matches("stored in").count(), 1, "{login}");
    for file in [&docker, &helm_file] {
        assert_eq!(
            read_json(file),
            json!({"credsStore": "pass"}),
            "{} holds no secret",
            file.display()
        );
    }
    let podman = env.home().join(".config/containers/auth.json");
    assert!(read_json(&podman)["auths"][&host]["auth"].is_string());

    let inspect = docker_inspect(&env, &registry);
    inspect.assert_success("docker manifest inspect reading the login from pass");
    assert!(
        inspect
            .stdout
            .contains("application/vnd.oci.image.manifest.v1+json"),
        "{inspect}"
    );

    // Helm 4 reads the login from pass too: it pushes a chart and pulls it back.
    let push = push_and_pull_chart(&env, &helm_file, &host, "reading the login from pass");

    // --isolated still writes a private plain config.json, and leaves the store alone.
    let isolated = env
        .crlogin(["login", "--isolated", "--for", "docker"])
        .run();
    isolated.assert_success("crlogin login --isolated");
    let dir = isolated
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("export DOCKER_CONFIG='"))
        .and_then(|l| l.strip_suffix('\''))
        .map(PathBuf::from)
        .expect("an export line");
    let plain = dir.join("config.json");
    assert!(read_json(&plain)["auths"][&host]["auth"].is_string());
    assert!(read_json(&plain).get("credsStore").is_none());

    let logout = env.crlogin(["logout"]).run();
    logout.assert_success("crlogin logout");
    assert!(
        logout.stderr.contains(&format!(
            "  {host}: erased from docker-credential-pass (credsStore in {})",
            docker.display()
        )),
        "{logout}"
    );
    assert_eq!(PassStore::list(&env), json!({}));
    let after = docker_inspect(&env, &registry);
    after.assert_failure("docker after crlogin logout");
    // A second logout finds nothing to erase and still succeeds.
    let again = env.crlogin(["logout", "--for", "docker"]).run();
    again.assert_success("a second logout");
    assert!(!again.stderr.contains("erased"), "{again}");

    // cleanup erases what this job's login stored (the state names the helper, not a path).
    let job = env.home().join("job");
    fs::create_dir_all(&job).unwrap();
    fs::write(job.join("config.json"), r#"{"credsStore": "pass"}"#).unwrap();
    let job_dir = job.to_str().unwrap();
    let job_login = env
        .crlogin(["login", "--for", "docker", "--config-dir", job_dir])
        .run();
    job_login.assert_success("crlogin login --config-dir with credsStore pass");
    assert_eq!(PassStore::list(&env), json!({ &host: USER }));
    let state = fs::read_to_string(job.join("crlogin-state.json")).unwrap();
    assert!(
        state.contains(r#""stored":[{"helper":"pass","key":"#),
        "{state}"
    );
    let cleanup = env.crlogin(["cleanup", "--config-dir", job_dir]).run();
    cleanup.assert_success("crlogin cleanup");
    assert!(cleanup.stderr.contains("cleaned up 1 entry"), "{cleanup}");
    assert_eq!(PassStore::list(&env), json!({}));

    drop(store);
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &[
            &login.stdout,
            &login.stderr,
            &inspect.stdout,
            &inspect.stderr,
            &push.stdout,
            &push.stderr,
            &logout.stdout,
            &logout.stderr,
        ],
        env.home(),
        &[podman, plain],
    );
}

#[test]
fn a_cred_helpers_entry_naming_pass_serves_skopeo_and_docker_from_the_store() {
    let secret = &canary("store-helpers");
    let mut env = Env::new();
    let store = PassStore::new(&mut env);
    let (registry, _seed) = harness::seeded_registry(&env, USER, secret);
    let host = registry.host();
    env.set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", secret)
        .set("DCR_REGISTRY", &host);
    let entry = json!({"credHelpers": { &host: "pass" }});
    let files = [
        env.home().join(".docker/config.json"),
        env.home().join(".config/containers/auth.json"),
    ];
    for file in &files {
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, entry.to_string()).unwrap();
    }

    let login = env.crlogin(["login", "--for", "docker,podman"]).run();
    login.assert_success("crlogin login with credHelpers pass");
    assert!(
        login.stderr.contains(&format!(
            "  {host}: stored in docker-credential-pass (credHelpers in {})",
            files[0].display()
        )),
        "{login}"
    );
    for file in &files {
        assert_eq!(read_json(file), entry, "{} is unchanged", file.display());
    }
    // Both tools ask the same helper for the same host: one store.
    assert_eq!(login.stderr.matches("stored in").count(), 1, "{login}");
    assert_eq!(PassStore::list(&env), json!({ &host: USER }));

    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    let pull = registry.pull(&env, "team/app:v1", &pulled, None);
    pull.assert_success("skopeo reading the login from pass through credHelpers");
    docker_inspect(&env, &registry).assert_success("docker reading the login from pass");

    let logout = env.crlogin(["logout", "--for", "docker,podman"]).run();
    logout.assert_success("crlogin logout");
    assert_eq!(PassStore::list(&env), json!({}));
    registry
        .pull(&env, "team/app:v1", &pulled, None)
        .assert_failure("skopeo after logout");

    drop(store);
    assert_no_leak(
        secret,
        &secret_forms(secret, Some(USER)),
        &[&login.stdout, &login.stderr, &pull.stderr],
        env.home(),
        &[],
    );
}

/// A `docker-credential-NAME` in `dir` that records its environment, its core-file limit and
/// its action in `$HOME/helper-ACTION` (and answers like a store that holds nothing).
fn recording_helper(dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("docker-credential-{name}"));
    let script = "#!/bin/sh\ncat >/dev/null\n{ env; grep 'core file' /proc/self/limits; } > \"$HOME/helper-$1\"\n[ \"$1\" = list ] && echo '{}'\nexit 0\n";
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_helper_in_the_checkout_reached_through_a_relative_path_entry_never_gets_the_login() {
    let secret = canary("relative-path-helper");
    let mut env = Env::new();
    env.set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", &secret)
        .set("DCR_REGISTRY", "dcr.example.io");
    let docker = env.home().join(".docker");
    fs::create_dir_all(&docker).unwrap();
    fs::write(docker.join("config.json"), r#"{"credsStore":"desktop"}"#).unwrap();
    // The job's checkout holds the attacker's helper, at its top and in a bin directory.
    let checkout = env.home().join("checkout");
    recording_helper(&checkout, "desktop");
    recording_helper(&checkout.join("bin"), "desktop");
    let system = std::env::var("PATH").unwrap();
    for path in [
        format!("{system}:"),
        format!(":{system}"),
        format!("{system}::/nonexistent"),
        format!(".:{system}"),
        format!("bin:{system}"),
    ] {
        for args in [
            &["login", "--for", "docker"][..],
            &["logout", "--for", "docker"][..],
        ] {
            let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
            cmd.args(args).env("PATH", &path).current_dir(&checkout);
            let out = run(&mut cmd, None);
            out.assert_success(&format!("{args:?} with PATH={path}"));
            for action in ["store", "erase", "list", "get"] {
                let ran = env.home().join(format!("helper-{action}"));
                assert!(
                    !ran.exists(),
                    "PATH={path}: the checkout's helper ran {action}"
                );
            }
            assert!(!out.stderr.contains(&secret), "{out}");
        }
    }
}

#[test]
fn a_credential_store_helper_gets_no_secret_variable_and_the_started_core_limit() {
    use std::os::unix::process::CommandExt;
    let secrets = [canary("helper-env-dcr"), canary("helper-env-harbor")];
    let mut env = Env::new();
    env.set("DCR_USERNAME", USER)
        .set("DCR_PASSWORD", &secrets[0])
        .set("DCR_REGISTRY", "dcr.example.io")
        .set("HARBOR_USERNAME", USER)
        .set("HARBOR_PASSWORD", &secrets[1])
        .set("HARBOR_REGISTRY", "harbor.example.io");
    let bin = env.home().join("bin");
    recording_helper(&bin, "rec");
    let docker = env.home().join(".docker");
    fs::create_dir_all(&docker).unwrap();
    fs::write(docker.join("config.json"), r#"{"credsStore":"rec"}"#).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 2048 * 1024,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
            Ok(())
        });
    }
    cmd.args(["login", "--for", "docker", "--from-env", "HARBOR"])
        .env("PATH", &path);
    let out = run(&mut cmd, None);
    out.assert_success("login through a recording helper");
    let seen = fs::read_to_string(env.home().join("helper-store")).expect("the helper stored");
    for name in ["DCR_PASSWORD", "HARBOR_PASSWORD"] {
        assert!(
            !seen.contains(&format!("\n{name}=")) && !seen.starts_with(&format!("{name}=")),
            "{name} reached the helper"
        );
    }
    for secret in &secrets {
        assert!(
            !seen.contains(secret.as_str()),
            "a secret variable reached the helper"
        );
    }
    assert!(
        seen.contains("\nDCR_USERNAME=alice\n"),
        "plain settings stay: {seen}"
    );
    let core = seen
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_default();
    assert_eq!(
        core.split_whitespace().nth(4),
        Some("2097152"),
        "the helper's core limit: {core}"
    );
}
