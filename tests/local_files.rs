//! Attacks through the local files crlogin reads and writes (issue 14, items 6 to 9), one test
//! per attack, each run against the real binary in a cleared environment with its own HOME:
//!
//! - the token cache: planted by another user or open to others, and reused by another key
//!   under the same ids;
//! - the auth file's lock held forever, or taken by anyone who can read the directory; a FIFO,
//!   a link to `/dev/zero` or to a device as `config.json`; a file too big to read;
//! - `cleanup` following a planted state file out of its own directory;
//! - a rewrite of another user's `config.json` taking its owner and mode.
//!
//! Runs that could hang or eat memory on a broken build run under `timeout` and an address-space
//! limit, so a regression fails the test instead of stalling or exhausting the machine. Tests
//! that need a second uid or `mknod` (root) do the rest of their checks without it, and say so.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;

use harness::{canary, secret_forms, Env, Out};
use iam_server::{keys, IamServer};
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{chown, symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SA: &str = "serviceaccount-e00localfiles";
const KID: &str = "publickey-e00localfiles";
/// Another user, for the attacks that need one (when the tests run as root, as CI does).
const OTHER_UID: u32 = 65534;
/// What a run may take at most before `timeout` ends it: far above a working run.
const BOUND_SECS: u64 = 30;

fn is_root() -> bool {
    fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Runs crlogin with `args` under `timeout` and a 2 GiB address-space limit: a run that would
/// block forever exits 124, one that would read without end is stopped by the allocator.
fn bounded(env: &Env, args: &[&str], extra: &[(&str, &str)]) -> (Out, Duration) {
    let mut cmd = env.command("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v 2097152 && exec timeout {BOUND_SECS} \"$@\""
        ))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_crlogin"))
        .args(args)
        .envs(extra.iter().copied());
    let started = Instant::now();
    let out = harness::run(&mut cmd, None);
    (out, started.elapsed())
}

fn dcr(env: &mut Env, password: &str) {
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", password)
        .set("DCR_REGISTRY", "dcr.example.io");
}

fn error_line(out: &Out) -> String {
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("crlogin: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {out}");
    errors[0].to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A job with a service-account key for the loopback IAM stand-in.
fn key_job(server: &IamServer, private_key: &str) -> Env {
    let mut env = Env::new();
    env.set("NEBIUS_SERVICE_ACCOUNT_ID", SA)
        .set("NEBIUS_PUBLIC_KEY_ID", KID)
        .set("NEBIUS_PRIVATE_KEY", private_key)
        .set("NEBIUS_AUTH_ENDPOINT", server.endpoint());
    env
}

fn cache_dir(env: &Env) -> PathBuf {
    env.home().join(".cache/crlogin")
}

fn cache_file(env: &Env) -> PathBuf {
    let files: Vec<PathBuf> = fs::read_dir(cache_dir(env))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

const NEBIUS_LOGIN: &[&str] = &["login", "--for", "docker", "--region", "eu-north1"];

fn nebius_password(env: &Env) -> String {
    let doc = read_json(&env.home().join(".docker/config.json"));
    let auth = doc["auths"]["cr.eu-north1.nebius.cloud"]["auth"]
        .as_str()
        .unwrap()
        .to_string();
    let plain = base64_decode(&auth);
    plain.strip_prefix("iam:").unwrap().to_string()
}

fn base64_decode(text: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_token_cache_planted_by_another_user_or_open_to_others_is_not_used() {
    let server = IamServer::start(SA, KID);
    let env = key_job(&server, &keys().pkcs8);
    env.crlogin(NEBIUS_LOGIN)
        .run()
        .assert_success("first login");
    let file = cache_file(&env);
    // The attacker's token, in an entry that is otherwise exactly what crlogin would read.
    let planted = canary("foreign-cache-token");
    let mut entry = read_json(&file);
    entry["access_token"] = json!(planted);
    fs::write(&file, entry.to_string()).unwrap();

    type Tamper<'a> = Box<dyn Fn() + 'a>;
    let mut cases: Vec<(&str, Tamper)> = vec![(
        "may be written by other users",
        Box::new(|| {
            fs::set_permissions(cache_dir(&env), fs::Permissions::from_mode(0o777)).unwrap()
        }),
    )];
    if is_root() {
        cases.push((
            "belongs to another user",
            Box::new(|| {
                fs::set_permissions(cache_dir(&env), fs::Permissions::from_mode(0o700)).unwrap();
                chown(cache_dir(&env), Some(OTHER_UID), Some(OTHER_UID)).unwrap();
                chown(&file, Some(OTHER_UID), Some(OTHER_UID)).unwrap();
            }),
        ));
    } else {
        eprintln!("not root: the other-owner case is skipped (the open-directory case ran)");
    }
    for (want, tamper) in cases {
        tamper();
        let before = server.requests();
        let out = env.crlogin(NEBIUS_LOGIN).run();
        out.assert_success(want);
        assert!(
            out.stderr.contains(want),
            "wanted a warning {want:?}: {out}"
        );
        assert!(out.stderr.contains("so it is not used"), "{out}");
        assert_eq!(server.requests(), before + 1, "{want}: exchanged anew");
        assert_ne!(
            nebius_password(&env),
            planted,
            "{want}: the planted token was used"
        );
        assert_eq!(
            read_json(&file)["access_token"],
            json!(planted),
            "{want}: nothing was written into an untrusted cache"
        );
    }
    harness::audit::secret("planted token", &planted);
}

#[test]
fn another_key_with_the_same_ids_does_not_get_the_cached_token() {
    let server = IamServer::start(SA, KID);
    let owner = key_job(&server, &keys().pkcs8);
    owner
        .crlogin(NEBIUS_LOGIN)
        .run()
        .assert_success("the key's owner");
    let token = server.tokens().pop().unwrap();
    // Same HOME (so same cache), same service account and key id, another private key.
    let mut other = key_job(&server, &keys().other_rsa);
    other.set("HOME", owner.home().to_str().unwrap());
    let out = other.crlogin(NEBIUS_LOGIN).run();
    assert_eq!(
        server.requests(),
        2,
        "the other key went to the exchange: {out}"
    );
    out.assert_failure("the exchange refuses a JWT the other key signed");
    for form in secret_forms(&token, Some("iam")) {
        assert!(
            !out.stdout.contains(&form) && !out.stderr.contains(&form),
            "{out}"
        );
    }
    assert_eq!(
        nebius_password(&owner),
        token,
        "the owner's login is as it was"
    );
}

/// The lock file of the docker config under `env`'s HOME.
fn docker_lock(env: &Env) -> PathBuf {
    env.home().join(".docker/.crlogin-config.json.lock")
}

#[test]
fn a_lock_held_forever_ends_login_in_bounded_time_naming_the_holder() {
    let mut env = Env::new();
    let password = canary("held-lock-password");
    dcr(&mut env, &password);
    fs::create_dir_all(env.home().join(".docker")).unwrap();
    let mut lock = File::create(docker_lock(&env)).unwrap();
    fs::set_permissions(docker_lock(&env), fs::Permissions::from_mode(0o600)).unwrap();
    writeln!(lock, "{}", std::process::id()).unwrap();
    lock.lock().unwrap();
    let (out, took) = bounded(
        &env,
        &["login", "--for", "docker", "--lock-timeout", "1"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out}");
    let error = error_line(&out);
    let holder = format!("is locked by process {}", std::process::id());
    for part in [
        holder.as_str(),
        "stayed locked for 1 s",
        "--lock-timeout (CRLOGIN_LOCK_TIMEOUT)",
    ] {
        assert!(error.contains(part), "wanted {part:?}: {error}");
    }
    assert!(took >= Duration::from_secs(1), "gave up early: {took:?}");
    assert!(!env.home().join(".docker/config.json").exists());
    // The variable works as the flag does.
    let (out, _) = bounded(
        &env,
        &["login", "--for", "docker"],
        &[("CRLOGIN_LOCK_TIMEOUT", "0")],
    );
    assert!(error_line(&out).contains("stayed locked for 0 s"), "{out}");
    drop(lock);
    env.crlogin(["login", "--for", "docker"])
        .run()
        .assert_success("once the holder is gone");
}

#[test]
fn a_reader_of_the_directory_locking_it_cannot_stall_login() {
    let mut env = Env::new();
    let password = canary("dir-lock-password");
    dcr(&mut env, &password);
    let dir = env.home().join(".docker");
    fs::create_dir_all(&dir).unwrap();
    // Anyone with r-x on the directory can open it and flock it; crlogin must not care.
    let dir_handle = File::open(&dir).unwrap();
    dir_handle.lock().unwrap();
    let (out, took) = bounded(&env, &["login", "--for", "docker"], &[]);
    out.assert_success("login past a locked directory");
    assert!(took < Duration::from_secs(BOUND_SECS), "{took:?}");
    // Nothing of it stays once login is done.
    assert!(!docker_lock(&env).exists(), "the lock file is removed");
    // The lock it takes instead is a file nobody else can open (looked at while held).
    let held = crlogin::files::lock_beside(&dir.join("config.json")).unwrap();
    let lock = fs::metadata(docker_lock(&env)).unwrap();
    assert_eq!(lock.permissions().mode() & 0o777, 0o600);
    assert_eq!(lock.uid(), fs::metadata("/proc/self").unwrap().uid());
    if is_root() {
        let mut cat = Command::new("cat");
        cat.arg(docker_lock(&env)).uid(OTHER_UID).gid(OTHER_UID);
        harness::run(&mut cat, None).assert_failure("another user opening the lock file");
    } else {
        eprintln!("not root: opening the lock file as another user is not tried");
    }
    drop(held);
    assert!(!docker_lock(&env).exists(), "removed as it is let go");
}

#[test]
fn a_fifo_as_config_json_is_refused_without_blocking_login_or_doctor() {
    let mut env = Env::new();
    dcr(&mut env, &canary("fifo-password"));
    let file = env.home().join(".docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    harness::run(Command::new("mkfifo").arg(&file), None).assert_success("mkfifo");
    let (out, _) = bounded(&env, &["login", "--for", "docker"], &[]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        error_line(&out).contains("is a FIFO, not a regular file"),
        "{out}"
    );
    let (out, _) = bounded(&env, &["doctor", "--for", "docker"], &[]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stdout.contains("a FIFO, not a regular file")
            || out.stderr.contains("a FIFO, not a regular file"),
        "{out}"
    );
    assert!(fs::symlink_metadata(&file).unwrap().file_type().is_fifo());
    assert!(!docker_lock(&env).exists(), "nothing was locked");
}

#[test]
fn a_config_json_linked_to_dev_zero_is_refused_without_reading_it() {
    let mut env = Env::new();
    dcr(&mut env, &canary("dev-zero-password"));
    let file = env.home().join(".docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    symlink("/dev/zero", &file).unwrap();
    for args in [
        &["login", "--for", "docker"][..],
        &["doctor", "--for", "docker"],
    ] {
        let (out, _) = bounded(&env, args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out}");
        assert!(
            format!("{}{}", out.stdout, out.stderr)
                .contains("is a character device, not a regular file"),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn a_config_json_linked_to_a_device_is_never_locked_beside_or_renamed_over() {
    let mut env = Env::new();
    dcr(&mut env, &canary("device-password"));
    let devices = env.home().join("devices");
    fs::create_dir_all(&devices).unwrap();
    let target = devices.join("null");
    // As root, a real device node (the null device, in a directory of the test's own); else a
    // FIFO, the other special file that must never be read, locked beside or replaced.
    let mut make = if is_root() {
        let mut mknod = Command::new("mknod");
        mknod.arg(&target).args(["c", "1", "3"]);
        mknod
    } else {
        eprintln!("not root: a FIFO stands in for the device");
        let mut mkfifo = Command::new("mkfifo");
        mkfifo.arg(&target);
        mkfifo
    };
    harness::run(&mut make, None).assert_success("make the special file");
    let file = env.home().join(".docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    symlink(&target, &file).unwrap();
    let (out, _) = bounded(&env, &["login", "--for", "docker"], &[]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(error_line(&out).contains("not a regular file"), "{out}");
    let kind = fs::symlink_metadata(&target).unwrap().file_type();
    assert!(
        kind.is_char_device() || kind.is_fifo(),
        "the special file is still there"
    );
    let beside: Vec<_> = fs::read_dir(&devices)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        ["null"],
        "no lock or temp file in the target's directory"
    );
}

#[test]
fn a_config_json_too_big_to_read_is_refused_by_login_and_doctor() {
    let mut env = Env::new();
    dcr(&mut env, &canary("huge-config-password"));
    let file = env.home().join(".docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    // Valid JSON, padded past the 16 MiB cap.
    let mut text = vec![b' '; 17 * 1024 * 1024];
    text.extend_from_slice(b"{}");
    fs::write(&file, &text).unwrap();
    let (out, _) = bounded(&env, &["login", "--for", "docker"], &[]);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(error_line(&out).contains("is larger than 16 MiB"), "{out}");
    assert_eq!(fs::read(&file).unwrap(), text, "the file is kept");
    let (out, _) = bounded(&env, &["doctor", "--for", "docker"], &[]);
    assert!(out.stdout.contains("larger than 16 MiB"), "{out}");
}

#[test]
fn cleanup_does_not_follow_a_planted_state_out_of_its_own_directory() {
    let mut env = Env::new();
    let home = env.home().to_path_buf();
    let config = home.join("config");
    env.set("DOCKER_CONFIG", config.to_str().unwrap());
    fs::create_dir_all(&config).unwrap();
    let victim_dir = home.join("elsewhere/crlogin-victim");
    fs::create_dir_all(&victim_dir).unwrap();
    fs::write(victim_dir.join("work"), "keep me").unwrap();
    let victim_file = home.join("elsewhere/victim.json");
    let victim_text = r#"{"auths": {"r.example.io": {"auth": "eDp5"}}}"#;
    fs::write(&victim_file, victim_text).unwrap();
    // A directory under the isolated base (TMPDIR is HOME here), but not the state's own.
    let sibling = home.join("crlogin-sibling");
    fs::create_dir_all(&sibling).unwrap();
    for isolated in [&victim_dir, &sibling] {
        let state = json!({
            "entries": [{"file": victim_file, "keys": ["r.example.io"]}],
            "isolated_dir": isolated,
        });
        fs::write(config.join("crlogin-state.json"), state.to_string()).unwrap();
        let out = env.crlogin(["cleanup"]).run();
        assert_eq!(out.status.code(), Some(1), "{out}");
        assert!(
            error_line(&out).contains("cleanup touched nothing"),
            "{out}"
        );
        assert!(victim_dir.join("work").exists(), "{}", isolated.display());
        assert!(sibling.exists(), "{}", isolated.display());
    }
    // Without a directory, the entry alone: a file login could not have written is left.
    let state = json!({"entries": [{"file": victim_file, "keys": ["r.example.io"]}]});
    fs::write(config.join("crlogin-state.json"), state.to_string()).unwrap();
    let out = env.crlogin(["cleanup"]).run();
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        error_line(&out).contains("is not an auth file login writes here"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(&victim_file).unwrap(), victim_text);
    // A login "stored" through a credential helper no auth file here names: not erased.
    let bin = home.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let erased = home.join("erased");
    let helper = bin.join("docker-credential-victim");
    fs::write(&helper, format!("#!/bin/sh\ncat >> {}\n", erased.display())).unwrap();
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path);
    let state = json!({"entries": [], "stored": [{"helper": "victim", "key": "r.example.io"}]});
    fs::write(config.join("crlogin-state.json"), state.to_string()).unwrap();
    let out = env.crlogin(["cleanup"]).run();
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        error_line(&out)
            .contains("names docker-credential-victim for r.example.io, so nothing was erased"),
        "{out}"
    );
    assert!(
        !erased.exists(),
        "the helper was not asked to erase anything"
    );
    // Once the config names that helper (as a login that stored through it saw), it is erased.
    fs::write(config.join("config.json"), r#"{"credsStore": "victim"}"#).unwrap();
    fs::write(config.join("crlogin-state.json"), state.to_string()).unwrap();
    env.crlogin(["cleanup"])
        .run()
        .assert_success("cleanup erases what login stored");
    assert_eq!(fs::read_to_string(&erased).unwrap().trim(), "r.example.io");
}

#[test]
fn rewriting_another_users_config_keeps_its_owner_and_mode() {
    let mut env = Env::new();
    let password = canary("keep-owner-password");
    dcr(&mut env, &password);
    let file = env.home().join(".docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(
        &file,
        r#"{"auths": {"other.example.io": {"auth": "eDp5"}}}"#,
    )
    .unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    if is_root() {
        chown(&file, Some(1001), Some(1001)).unwrap();
    } else {
        eprintln!("not root: only the mode is checked (the owner is ours anyway)");
    }
    let before = fs::metadata(&file).unwrap();
    env.crlogin(["login", "--for", "docker"])
        .run()
        .assert_success("login");
    let after = fs::metadata(&file).unwrap();
    assert_ne!(before.ino(), after.ino(), "the file was replaced");
    assert_eq!(after.permissions().mode() & 0o777, 0o644, "mode kept");
    assert_eq!(
        (after.uid(), after.gid()),
        (before.uid(), before.gid()),
        "owner kept"
    );
    let doc = read_json(&file);
    assert!(doc["auths"]["dcr.example.io"]["auth"].is_string());
    assert_eq!(doc["auths"]["other.example.io"]["auth"], json!("eDp5"));
    // A new file is still 0600.
    let mut fresh = Env::new();
    dcr(&mut fresh, &password);
    fresh
        .crlogin(["login", "--for", "docker"])
        .run()
        .assert_success("login");
    let mode = fs::metadata(fresh.home().join(".docker/config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn root_does_not_write_through_a_link_another_user_planted() {
    if !is_root() {
        eprintln!("not root: a link of another user to a file of yours cannot be made; skipped");
        return;
    }
    let mut env = Env::new();
    dcr(&mut env, &canary("foreign-link-password"));
    // The attacker's HOME holds a link to a file only root may write.
    let protected = env.home().join("protected/shadow");
    fs::create_dir_all(protected.parent().unwrap()).unwrap();
    // Any file crlogin can parse (an empty one is an empty config).
    fs::write(&protected, "").unwrap();
    let file = env.home().join(".docker/config.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    symlink(&protected, &file).unwrap();
    std::os::unix::fs::lchown(&file, Some(OTHER_UID), Some(OTHER_UID)).unwrap();
    let out = env.crlogin(["login", "--for", "docker"]).run();
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        error_line(&out).contains("crlogin will not write through it"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(&protected).unwrap(),
        "",
        "left as it was"
    );
    // A link of root's own to the same file is written through, as docker writes it.
    fs::remove_file(&file).unwrap();
    symlink(&protected, &file).unwrap();
    fs::write(&protected, "{}").unwrap();
    env.crlogin(["login", "--for", "docker"])
        .run()
        .assert_success("through root's own link");
    assert!(read_json(&protected)["auths"]["dcr.example.io"].is_object());
    assert!(fs::symlink_metadata(&file)
        .unwrap()
        .file_type()
        .is_symlink());
}
