//! The harness itself, against real components: a distribution registry with htpasswd auth
//! (plain HTTP and TLS) accepts a push and a pull by skopeo with the right password and
//! refuses them with a wrong one; the OCI layout, auth file and leak check behave.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use harness::{assert_no_leak, oci_layout, secret_forms, write_auth_file, Auth, Env, Registry};
use std::time::Instant;

/// Push, pull back and compare, then fail with a wrong password, against `registry`.
fn round_trip(registry: &Registry) {
    let env = Env::new();
    let image = oci_layout(&env.home().join("image"));

    let good = env.home().join("good.json");
    write_auth_file(&good, &registry.host(), "alice", "s3cret-pw");
    let t = Instant::now();
    registry
        .push(&env, &image, "demo/app:v1", Some(&good))
        .assert_success("push");
    eprintln!("push took {:?}", t.elapsed());

    let pulled = env.home().join("pulled");
    let t = Instant::now();
    let dest = format!("oci:{}:v1", pulled.display());
    registry
        .pull(&env, "demo/app:v1", &dest, Some(&good))
        .assert_success("pull");
    eprintln!("pull took {:?}", t.elapsed());
    let index = std::fs::read_to_string(pulled.join("index.json")).unwrap();
    assert!(
        index.contains("\"v1\""),
        "pulled index.json has no v1 tag: {index}"
    );

    let bad = env.home().join("bad.json");
    write_auth_file(&bad, &registry.host(), "alice", "wrong-pw");
    let out = registry.push(&env, &image, "demo/app:v2", Some(&bad));
    out.assert_failure("push with a wrong password");
    assert!(
        out.stderr.contains("authentication required") || out.stderr.contains("unauthorized"),
        "the push should fail on authentication, not something else: {out}"
    );
    let out = registry.pull(
        &env,
        "demo/app:v1",
        &format!("oci:{}:v1", pulled.display()),
        Some(&bad),
    );
    out.assert_failure("pull with a wrong password");

    // No credentials at all: refused too.
    registry
        .push(&env, &image, "demo/app:v3", None)
        .assert_failure("anonymous push");
}

#[test]
fn htpasswd_registry_push_pull() {
    let t = Instant::now();
    let registry = Registry::start(Auth::user("alice", "s3cret-pw"));
    eprintln!("registry start took {:?}", t.elapsed());
    assert!(registry.log().contains("listening on"));
    assert!(!registry.is_tls());
    round_trip(&registry);
}

#[test]
fn tls_registry_push_pull() {
    let t = Instant::now();
    let registry = Registry::start_tls(Auth::user("alice", "s3cret-pw"));
    eprintln!("TLS registry start took {:?}", t.elapsed());
    assert!(registry.url().starts_with("https://"));
    assert!(registry.ca_pem_path().is_file());
    assert!(registry.cert_dir().join("ca.crt").is_file());
    round_trip(&registry);

    // Without the CA, verification is on and fails: the harness never disables it for TLS.
    let env = Env::new();
    let image = oci_layout(&env.home().join("image"));
    let auth = env.home().join("auth.json");
    write_auth_file(&auth, &registry.host(), "alice", "s3cret-pw");
    let dest = registry.image("demo/app:v9");
    let out = harness::skopeo_copy(&env, &image, &dest, Some(&auth), &[]);
    out.assert_failure("TLS push without the test CA");
    assert!(out.stderr.contains("certificate"), "{out}");
}

#[test]
fn second_user_and_anonymous_registry() {
    let registry = Registry::start(Auth::Htpasswd {
        users: vec![("a".into(), "pw-a".into()), ("b".into(), "pw-b".into())],
    });
    let env = Env::new();
    let image = oci_layout(&env.home().join("image"));
    let auth = env.home().join("auth.json");
    write_auth_file(&auth, &registry.host(), "b", "pw-b");
    registry
        .push(&env, &image, "x/y:v1", Some(&auth))
        .assert_success("second user");

    let open = Registry::start(Auth::None);
    open.push(&env, &image, "x/y:v1", None)
        .assert_success("anonymous registry");
    assert!(open
        .data_dir()
        .join("docker/registry/v2/repositories/x/y")
        .is_dir());
}

#[test]
fn registry_auth_file_from_env() {
    // skopeo finds the auth file through $REGISTRY_AUTH_FILE, as after `crlogin login`.
    let registry = Registry::start(Auth::user("alice", "pw"));
    let mut env = Env::new();
    let auth = env.home().join("auth.json");
    write_auth_file(&auth, &registry.host(), "alice", "pw");
    env.set("REGISTRY_AUTH_FILE", auth.to_str().unwrap());
    let image = oci_layout(&env.home().join("image"));
    registry
        .push(&env, &image, "demo/app:v1", None)
        .assert_success("push via REGISTRY_AUTH_FILE");
}

#[test]
fn crlogin_runs_in_a_cleared_environment() {
    let mut env = Env::new();
    env.set("ONLY_THIS", "1");
    let out = env.crlogin(["--help"]).run();
    assert!(
        !out.stdout.is_empty() || !out.stderr.is_empty(),
        "crlogin printed nothing: {out}"
    );
    // The same environment, seen from another program.
    let out = harness::run(&mut env.command("env"), None);
    let mut names: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["HOME", "ONLY_THIS", "PATH", "TMPDIR"]);
}

#[test]
fn no_leak_check_catches_each_form() {
    let env = Env::new();
    let secret = "Zq8-not-a-real-secret";
    let forms = secret_forms(secret, Some("alice"));
    assert_eq!(forms.len(), 3);
    let auth = env.home().join("auth.json");
    write_auth_file(&auth, "127.0.0.1:1", "alice", secret);
    // The auth file may hold base64(user:secret) when allowed.
    assert_no_leak(
        secret,
        &forms,
        &["clean output"],
        env.home(),
        std::slice::from_ref(&auth),
    );
    let leaks = |outputs: &[&str], allowed: &[std::path::PathBuf]| {
        let forms = forms.clone();
        let (outputs, allowed): (Vec<String>, Vec<_>) = (
            outputs.iter().map(|s| s.to_string()).collect(),
            allowed.to_vec(),
        );
        let home = env.home().to_path_buf();
        std::panic::catch_unwind(move || {
            let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
            assert_no_leak(secret, &forms, &outputs, &home, &allowed)
        })
        .is_err()
    };
    assert!(leaks(&[], &[]), "an auth file that is not allowed leaks");
    let b64 = forms[2].clone();
    assert!(leaks(&[&format!("x {b64} y")], std::slice::from_ref(&auth)));
    assert!(leaks(
        &[&format!("pw={secret}")],
        std::slice::from_ref(&auth)
    ));
    std::fs::write(env.home().join("log.txt"), format!("oops {secret}")).unwrap();
    assert!(
        leaks(&[], &[auth.clone(), env.home().join("log.txt")]),
        "raw secret is never allowed"
    );
}

#[test]
fn oci_layout_is_well_formed() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::TempDir::new().unwrap();
    let reference = oci_layout(dir.path());
    assert_eq!(reference, format!("oci:{}:v1", dir.path().display()));
    // Every blob's name is its sha256.
    for entry in std::fs::read_dir(dir.path().join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let data = std::fs::read(entry.path()).unwrap();
        let hex: String = Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry.file_name().to_str().unwrap(), hex);
    }
    // skopeo can read it (inspect reads manifest and config).
    let env = Env::new();
    let mut cmd = env.command(harness::require_tool("skopeo"));
    cmd.args(["inspect", &reference]);
    let out = harness::run(&mut cmd, None);
    out.assert_success("skopeo inspect oci layout");
    assert!(out.stdout.contains("\"Os\": \"linux\""), "{out}");
}
