//! `cleanup` and `logout` leave the tools' directories as they found them: an entry the job's
//! login replaced comes back (the docker CLI and skopeo read it afterwards), and no
//! `.crlogin-*` file (a lock, the copy of the replaced entry) stays beside the docker, helm and
//! podman files.
// Unix only (Linux servers and clients): on Windows the unit tests cover crlogin.
#![cfg(unix)]

mod harness;

use harness::{
    assert_no_leak, canary, clients_read, oci_layout, require_tool, secret_forms, temp_dir,
    write_auth_file, Auth, Env, Registry,
};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The files crlogin left in `dir` (its name prefix), none expected.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".crlogin-"))
                .collect()
        })
        .unwrap_or_default()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// A registry that takes two users, `team/app:v1` pushed into it.
fn two_user_registry(env: &Env, before: (&str, &str), job: (&str, &str)) -> Registry {
    let registry = Registry::start(Auth::Htpasswd {
        users: vec![
            (before.0.to_string(), before.1.to_string()),
            (job.0.to_string(), job.1.to_string()),
        ],
    });
    let seed = temp_dir();
    let auth = seed.path().join("auth.json");
    write_auth_file(&auth, &registry.host(), before.0, before.1);
    let image = oci_layout(&seed.path().join("image"));
    registry
        .push(env, &image, "team/app:v1", Some(&auth))
        .assert_success("seeding push");
    registry
}

/// A machine whose own login for the registry's host (`owner`, `before_secret`) sits in
/// `dir/config.json`, and a registry taking it and the job's `ci`/`job_secret`: the file, and
/// the entry as it was.
fn machine_with_its_own_login(
    env: &Env,
    dir: &Path,
    owner: &str,
    before_secret: &str,
    job_secret: &str,
) -> (Registry, PathBuf, Value) {
    let registry = two_user_registry(env, (owner, before_secret), ("ci", job_secret));
    fs::create_dir_all(dir).unwrap();
    let config = dir.join("config.json");
    write_auth_file(&config, &registry.host(), owner, before_secret);
    let original = read_json(&config)["auths"][registry.host()].clone();
    (registry, config, original)
}

#[test]
fn cleanup_puts_back_the_entry_the_login_replaced_and_leaves_nothing_of_its_own() {
    require_tool("docker");
    let (before_secret, job_secret) = (canary("restore-before"), canary("restore-job"));
    let env = Env::new();
    let dir = env.home().join("cfg");
    let (registry, config, original) =
        machine_with_its_own_login(&env, &dir, "machine", &before_secret, &job_secret);
    let host = registry.host();

    let login = env
        .crlogin(["login", "--config-dir", dir.to_str().unwrap()])
        .env("DCR_USERNAME", "ci")
        .env("DCR_PASSWORD", &job_secret)
        .env("DCR_REGISTRY", &host)
        .run();
    login.assert_success("login over the machine's own entry");
    assert_ne!(read_json(&config)["auths"][&host], original);
    clients_read(&env, &registry, &dir, "with the job's login");

    let cleanup = env
        .crlogin(["cleanup", "--config-dir", dir.to_str().unwrap()])
        .run();
    cleanup.assert_success("cleanup");
    assert!(cleanup.stderr.contains("put back 1 entry"), "{cleanup}");
    assert_eq!(
        read_json(&config)["auths"][&host],
        original,
        "the machine's own entry is back as it was"
    );
    clients_read(&env, &registry, &dir, "with the entry put back");
    assert_eq!(
        leftovers(&dir),
        Vec::<String>::new(),
        "no lock, no copy left"
    );

    for secret in [&before_secret, &job_secret] {
        assert_no_leak(
            secret,
            &secret_forms(secret, None),
            &[&login.stderr, &cleanup.stdout, &cleanup.stderr],
            env.home(),
            std::slice::from_ref(&config),
        );
    }
}

#[test]
fn logout_and_cleanup_leave_no_lock_file_beside_the_tools_files() {
    let secret = canary("no-lock");
    let env = Env::new();
    let home = env.home().to_path_buf();
    let dirs: Vec<PathBuf> = [".docker", ".config/helm/registry", ".config/containers"]
        .iter()
        .map(|d| home.join(d))
        .collect();
    let with_dcr = |args: &[&str]| {
        env.crlogin(args)
            .env("DCR_USERNAME", "ci")
            .env("DCR_PASSWORD", &secret)
            .env("DCR_REGISTRY", "dcr.example.io")
            .run()
    };
    with_dcr(&["login"]).assert_success("login");
    for dir in &dirs {
        assert!(dir
            .join(if dir.ends_with(".config/containers") {
                "auth.json"
            } else {
                "config.json"
            })
            .exists());
        assert_eq!(
            leftovers(dir),
            Vec::<String>::new(),
            "{} after login",
            dir.display()
        );
    }
    env.crlogin(["logout", "--registry", "dcr.example.io"])
        .run()
        .assert_success("logout");
    for dir in &dirs {
        assert_eq!(
            leftovers(dir),
            Vec::<String>::new(),
            "{} after logout",
            dir.display()
        );
    }

    let cfg = home.join("cfg");
    with_dcr(&["login", "--config-dir", cfg.to_str().unwrap()]).assert_success("login");
    env.crlogin(["cleanup", "--config-dir", cfg.to_str().unwrap()])
        .run()
        .assert_success("cleanup");
    assert_eq!(leftovers(&cfg), Vec::<String>::new(), "after cleanup");
}

/// On a self-hosted GitHub runner the login goes into the runner's own `~/.docker/config.json`
/// and the post step cleans up from the step's saved state: the runner's login comes back.
#[test]
fn on_github_the_post_step_puts_back_the_runners_own_login() {
    require_tool("docker");
    let (before_secret, job_secret) = (canary("gh-restore-before"), canary("gh-restore-job"));
    let mut env = Env::new();
    let dir = env.home().join(".docker");
    let (registry, config, original) =
        machine_with_its_own_login(&env, &dir, "runner", &before_secret, &job_secret);
    let host = registry.host();
    let files: Vec<PathBuf> = ["gh-state", "gh-output", "gh-summary"]
        .iter()
        .map(|f| env.home().join(f))
        .collect();
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_STATE", files[0].to_str().unwrap())
        .set("GITHUB_OUTPUT", files[1].to_str().unwrap())
        .set("GITHUB_STEP_SUMMARY", files[2].to_str().unwrap());

    let login = env
        .crlogin(["login", "--for", "docker"])
        .env("DCR_USERNAME", "ci")
        .env("DCR_PASSWORD", &job_secret)
        .env("DCR_REGISTRY", &host)
        .run();
    login.assert_success("login on a runner with its own login");
    assert_ne!(read_json(&config)["auths"][&host], original);
    clients_read(&env, &registry, &dir, "with the job's login");

    // The runner hands the post step what the step saved: `crlogin_state<<DELIMITER`, the value.
    let saved = fs::read_to_string(&files[0]).unwrap();
    let state = saved.lines().nth(1).unwrap().to_string();
    let cleanup = env
        .crlogin(["cleanup"])
        .env("STATE_crlogin_state", &state)
        .run();
    cleanup.assert_success("the post step's cleanup");
    assert!(cleanup.stderr.contains("put back 1 entry"), "{cleanup}");
    assert_eq!(read_json(&config)["auths"][&host], original);
    clients_read(&env, &registry, &dir, "with the runner's login put back");
    assert_eq!(
        leftovers(&dir),
        Vec::<String>::new(),
        "no lock, no copy left"
    );
    // The masks are where GitHub learns the secret; nothing else may carry it.
    let log: Vec<&str> = login
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    let log = log.join("\n");
    for secret in [&before_secret, &job_secret] {
        assert_no_leak(
            secret,
            &secret_forms(secret, None),
            &[&log, &cleanup.stdout, &cleanup.stderr, &state],
            env.home(),
            std::slice::from_ref(&config),
        );
    }
}
