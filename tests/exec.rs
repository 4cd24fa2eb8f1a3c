//! `crlogin exec -- COMMAND`: a login that lives as long as one command. A real skopeo pushes
//! through it to the loopback registry; afterwards nothing is left and HOME is as it was;
//! COMMAND sees no secret variable; a signal mid-run is passed on and still leaves nothing; a
//! failing login runs nothing.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod snapshot;

use harness::{
    assert_no_leak, canary, oci_layout, require_tool, secret_forms, Auth, Env, Out, Registry,
};
use snapshot::Tree;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An environment with a DCR login for `registry`.
fn dcr_env(registry: &Registry, password: &str) -> Env {
    let mut env = Env::new();
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", password)
        .set("DCR_REGISTRY", registry.host());
    env
}

/// The `crlogin-*` directories under `dir` (where exec makes its own: TMPDIR).
fn scratch_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("crlogin-")
        })
        .collect()
}

#[test]
fn skopeo_pushes_through_exec_and_nothing_is_left_afterwards() {
    let secret = &canary("exec-push");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let image = oci_layout(&env.home().join("image"));
    let before = Tree::of(env.home());

    let skopeo = require_tool("skopeo");
    let target = registry.image("team/app:v1");
    let mut args: Vec<String> = vec!["exec".into(), "--".into()];
    args.push(skopeo.display().to_string());
    args.extend(["--insecure-policy", "copy", "--quiet"].map(String::from));
    args.extend(registry.skopeo_tls_args("dest"));
    args.extend([image.clone(), target.clone()]);
    let out = env.crlogin(&args).run();
    out.assert_success("crlogin exec -- skopeo copy");
    // In a shell the report is left out by default: only the command speaks.
    assert!(!out.stderr.contains("logged in to"), "{out}");
    // --quiet=false (and a CI's log) shows it.
    let shown = env.crlogin(["exec", "--quiet=false", "--", "true"]).run();
    shown.assert_success("crlogin exec --quiet=false");
    assert!(
        shown.stderr.contains("crlogin: logged in to 1 registry"),
        "{shown}"
    );
    let on_ci = env
        .crlogin(["exec", "--", "true"])
        .env("GITLAB_CI", "true")
        .run();
    assert!(
        on_ci.stderr.contains("crlogin: logged in to 1 registry"),
        "{on_ci}"
    );
    let quiet_ci = env
        .crlogin(["exec", "-q", "--", "true"])
        .env("GITLAB_CI", "true")
        .run();
    assert!(!quiet_ci.stderr.contains("logged in to"), "{quiet_ci}");

    before.assert_unchanged(env.home(), "HOME after exec");
    assert!(scratch_dirs(env.home()).is_empty());
    assert_no_leak(
        secret,
        &secret_forms(secret, Some("alice")),
        &[
            &out.stdout,
            &out.stderr,
            &shown.stderr,
            &on_ci.stderr,
            &quiet_ci.stderr,
        ],
        env.home(),
        &[],
    );
    // The push needed the credential: without exec, skopeo is refused.
    let bare = registry.push(&env, &image, "team/app:v2", None);
    bare.assert_failure("skopeo push without credentials");
}

#[test]
fn the_command_sees_the_three_variables_and_no_secret_variable() {
    let secret = &canary("exec-env");
    let registry = Registry::start(Auth::user("alice", secret));
    let mut env = dcr_env(&registry, secret);
    let key_file = env.home().join("harbor-password");
    std::fs::write(&key_file, secret).unwrap();
    harness::audit::input(&key_file);
    env.set("HARBOR_USERNAME", "bob")
        .set("HARBOR_PASSWORD_FILE", key_file.display().to_string())
        .set("HARBOR_REGISTRY", "harbor.example");
    let script = r#"env; for f in "$REGISTRY_AUTH_FILE" "$HELM_REGISTRY_CONFIG" "$DOCKER_CONFIG/config.json"; do test -f "$f" && echo "file $f"; done"#;
    let out = env
        .crlogin(["exec", "--from-env", "HARBOR", "--", "sh", "-c", script])
        .run();
    out.assert_success("crlogin exec -- sh -c env");
    let vars: Vec<(&str, &str)> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    for name in ["DCR_PASSWORD", "HARBOR_PASSWORD_FILE"] {
        assert_eq!(get(name), None, "{name} reached the command:\n{out}");
    }
    assert_eq!(get("DCR_USERNAME"), Some("alice"), "plain settings stay");
    let dir = get("DOCKER_CONFIG").expect("DOCKER_CONFIG is set");
    assert!(dir.starts_with(&env.home().display().to_string()), "{dir}");
    assert_eq!(
        get("REGISTRY_AUTH_FILE"),
        Some(&*format!("{dir}/config.json"))
    );
    assert_eq!(
        get("HELM_REGISTRY_CONFIG"),
        Some(&*format!("{dir}/config.json"))
    );
    assert_eq!(out.stdout.matches("\nfile ").count(), 3, "{out}");
    assert!(!Path::new(dir).exists(), "{dir} is removed afterwards");
    assert!(!out.stdout.contains(secret.as_str()), "{out}");
}

#[test]
fn the_exit_status_is_the_commands() {
    let secret = &canary("exec-status");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let out = env.crlogin(["exec", "--", "sh", "-c", "exit 7"]).run();
    assert_eq!(out.status.code(), Some(7), "{out}");
    let out = env.crlogin(["exec", "sh", "-c", "kill -KILL $$"]).run();
    assert_eq!(out.status.code(), Some(128 + 9), "{out}");
    assert!(scratch_dirs(env.home()).is_empty());
}

/// Whom a test's signal goes to.
#[derive(Clone, Copy, PartialEq)]
enum To {
    /// crlogin alone (`kill PID`: a supervisor, a timeout).
    Crlogin,
    /// crlogin's process group, COMMAND included (a terminal's Ctrl-C and Ctrl-\).
    Group,
}

/// Starts `crlogin exec -- sh` (in a process group of its own) whose script traps `signal`,
/// prints its DOCKER_CONFIG, then waits; sends `signal` to crlogin (or its group) once the line
/// is read; returns crlogin's output and that directory.
fn signal_mid_run(env: &Env, signal: &str, to: To) -> (Out, PathBuf) {
    let script = format!(
        r#"trap 'kill $pid; exit 42' {signal}; sleep 30 >/dev/null 2>&1 & pid=$!; echo "$DOCKER_CONFIG"; wait $pid"#
    );
    signal_script(env, &script, &[signal], to)
}

/// [`signal_mid_run`] with the script given: `signals` are sent in order once its first line
/// (the directory) is read.
fn signal_script(env: &Env, script: &str, signals: &[&str], to: To) -> (Out, PathBuf) {
    use std::os::unix::process::CommandExt;
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    cmd.args(["exec", "--", "sh", "-c", script])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let dir = PathBuf::from(line.trim_end());
    assert!(dir.join("config.json").is_file(), "mid-run: {line:?}");
    let target = match to {
        To::Crlogin => child.id().to_string(),
        To::Group => format!("-{}", child.id()),
    };
    for signal in signals {
        harness::run(
            Command::new("kill").args([format!("-{signal}"), "--".into(), target.clone()]),
            None,
        )
        .assert_success("kill");
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let out = Out {
        status,
        stdout: line + &rest,
        stderr,
    };
    harness::audit::output(
        &cmd,
        child.id(),
        out.stdout.as_bytes(),
        out.stderr.as_bytes(),
    );
    (out, dir)
}

#[test]
fn a_signal_mid_run_reaches_the_command_and_leaves_nothing() {
    let secret = &canary("exec-signal");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let before = Tree::of(env.home());
    for (signal, to) in [
        ("TERM", To::Crlogin),
        ("HUP", To::Crlogin),
        ("INT", To::Group),
    ] {
        let (out, dir) = signal_mid_run(&env, signal, to);
        assert_eq!(out.status.code(), Some(42), "SIG{signal}: {out}");
        assert!(!dir.exists(), "SIG{signal}: {} left behind", dir.display());
        before.assert_unchanged(env.home(), &format!("HOME after SIG{signal}"));
        assert!(!out.stderr.contains(secret.as_str()), "{out}");
    }
}

#[test]
fn a_failing_login_runs_nothing() {
    let mut env = Env::new();
    env.set("DCR_USERNAME", "alice")
        .set("DCR_REGISTRY", "127.0.0.1:1");
    let marker = env.home().join("ran");
    let before = Tree::of(env.home());
    let out = env
        .crlogin(["exec", "--", "touch", &marker.display().to_string()])
        .run();
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(out.stderr.contains("DCR_PASSWORD not set"), "{out}");
    assert!(!marker.exists(), "the command ran");
    before.assert_unchanged(env.home(), "HOME after a failed login");

    // A command that cannot start: its name in the error, and the directory is gone.
    let secret = &canary("exec-missing");
    env.set("DCR_PASSWORD", secret);
    let out = env.crlogin(["exec", "--", "no-such-command-x"]).run();
    assert_eq!(out.status.code(), Some(127), "as a shell: {out}");
    assert!(
        out.stderr
            .contains("\"no-such-command-x\": command not found"),
        "{out}"
    );
    before.assert_unchanged(env.home(), "HOME after a command that cannot start");
    // One that is there but cannot be executed: 126, as a shell says.
    let script = env.home().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\ntouch ran\n").unwrap();
    let out = env.crlogin(["exec", "--", script.to_str().unwrap()]).run();
    assert_eq!(out.status.code(), Some(126), "{out}");
    assert!(
        out.stderr.contains("script.sh\": cannot execute it"),
        "{out}"
    );
    assert!(scratch_dirs(env.home()).is_empty());
}

#[test]
fn quit_usr1_usr2_alrm_or_another_ending_signal_cannot_leave_the_credentials_behind() {
    let secret = &canary("exec-more-signals");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let before = Tree::of(env.home());
    for (signal, to) in [
        ("USR1", To::Crlogin),
        ("USR2", To::Crlogin),
        ("ALRM", To::Crlogin),
        ("VTALRM", To::Crlogin),
        ("XFSZ", To::Crlogin),
        ("QUIT", To::Group),
    ] {
        let (out, dir) = signal_mid_run(&env, signal, to);
        assert_eq!(out.status.code(), Some(42), "SIG{signal}: {out}");
        assert!(!dir.exists(), "SIG{signal}: {} left behind", dir.display());
        before.assert_unchanged(env.home(), &format!("HOME after SIG{signal}"));
    }
}

#[test]
fn ctrl_c_reaches_the_command_once_not_twice() {
    let secret = &canary("exec-ctrl-c");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    // INT and QUIT sent to crlogin alone are not passed on (the terminal sends them to the whole
    // group, so passing them on would deliver each twice); the TERM after them is, and COMMAND
    // reports what it got. crlogin handles caught signals in order, INT and QUIT before TERM.
    let script = r#"trap 'echo got-INT' INT; trap 'echo got-QUIT' QUIT; trap 'echo got-TERM; kill $pid; exit 42' TERM; sleep 30 >/dev/null 2>&1 & pid=$!; echo "$DOCKER_CONFIG"; while kill -0 $pid 2>/dev/null; do wait $pid; done"#;
    let (out, dir) = signal_script(&env, script, &["INT", "QUIT", "TERM"], To::Crlogin);
    assert_eq!(out.status.code(), Some(42), "{out}");
    assert!(out.stdout.contains("got-TERM"), "{out}");
    assert!(!out.stdout.contains("got-INT"), "INT passed on: {out}");
    assert!(!out.stdout.contains("got-QUIT"), "QUIT passed on: {out}");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn a_closed_stderr_cannot_abort_exec_or_leave_the_credentials_behind() {
    let secret = &canary("exec-closed-stderr");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    // stderr is a pipe nobody reads any more: every report line fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    cmd.args(["exec", "--", "sh", "-c", r#"echo "$DOCKER_CONFIG"; exit 3"#])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(writer);
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    drop(cmd); // closes this process's copy of the pipe's write end
    let out = child.wait_with_output().unwrap();
    // The leak audit's record: stdout as read; stderr went nowhere.
    let mut same = env.command(env!("CARGO_BIN_EXE_crlogin"));
    same.args(["exec", "--", "sh", "-c", r#"echo "$DOCKER_CONFIG"; exit 3"#]);
    harness::audit::output(&same, pid, &out.stdout, b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "COMMAND's status: {stdout}");
    let dir = PathBuf::from(stdout.trim_end());
    assert!(dir.is_absolute(), "COMMAND ran: {stdout:?}");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn a_private_directory_base_another_user_controls_is_refused() {
    let secret = &canary("exec-foreign-base");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let marker = env.home().join("ran");
    let touch = ["exec", "--", "touch", marker.to_str().unwrap()];
    // Owned by another uid (tests run as root here, which may chown; elsewhere the mode rows run).
    let theirs = env.home().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let root = rustix::process::geteuid().is_root();
    if root {
        std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).unwrap();
    }
    let open = env.home().join("open");
    std::fs::create_dir(&open).unwrap();
    set_mode(&open, 0o777);
    let sticky = env.home().join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    set_mode(&sticky, 0o1777);
    let below_open = open.join("below");
    let mut refused = vec![(
        open.clone(),
        "may be written by other users (mode 0777, no sticky bit)",
    )];
    refused.push((below_open.clone(), "may be written by other users"));
    if root {
        refused.push((theirs.clone(), "belongs to uid 4242"));
    }
    for (base, why) in &refused {
        for args in [&touch[..], &["login", "--isolated", "--for", "docker"][..]] {
            let out = env.crlogin(args).env("TMPDIR", base).run();
            assert_eq!(out.status.code(), Some(1), "{}: {out}", base.display());
            assert!(out.stderr.contains(why), "{}: {out}", base.display());
            assert!(out.stderr.contains("set TMPDIR"), "{out}");
            assert!(!marker.exists(), "the command ran");
            assert!(
                !base.exists() || scratch_dirs(base).is_empty(),
                "{}",
                base.display()
            );
        }
    }
    // /tmp's 1777: others may write, but not rename or remove what is not theirs.
    let out = env.crlogin(touch).env("TMPDIR", &sticky).run();
    out.assert_success("exec under a sticky base");
    assert!(marker.exists());
}

/// A GitHub container job runs as root while `RUNNER_TEMP` belongs to the runner's uid: that base
/// is not used, and the system's temporary directory (when it passes the same check) serves.
#[test]
fn a_foreign_runner_temp_falls_back_to_a_safe_temporary_directory() {
    if !rustix::process::geteuid().is_root() {
        return; // only root may give a directory to another uid
    }
    let secret = &canary("exec-foreign-runner-temp");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let runner_temp = env.home().join("runner-temp");
    std::fs::create_dir(&runner_temp).unwrap();
    std::os::unix::fs::chown(&runner_temp, Some(1001), Some(1001)).unwrap();
    let system = env.home().join("system-tmp");
    std::fs::create_dir(&system).unwrap();
    set_mode(&system, 0o700);
    let marker = env.home().join("ran");
    let out = env
        .crlogin(["exec", "--", "touch", marker.to_str().unwrap()])
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", &runner_temp)
        .env("TMPDIR", &system)
        .run();
    out.assert_success("exec with a foreign RUNNER_TEMP");
    assert!(marker.exists(), "the command did not run: {out}");
    assert!(out.stderr.contains("belongs to uid 1001"), "{out}");
    assert!(
        !out.stderr.contains("set TMPDIR"),
        "advice for a refusal: {out}"
    );
    assert!(scratch_dirs(&runner_temp).is_empty(), "{out}");
    assert!(
        scratch_dirs(&system).is_empty(),
        "exec left its directory: {out}"
    );
    // The runner's own mask lines carry the secret by design; nothing else may.
    let log: String = (out.stderr.lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert_no_leak(
        secret,
        &secret_forms(secret, Some("alice")),
        &[&out.stdout, &log],
        env.home(),
        &[],
    );
}

#[test]
fn the_command_gets_the_core_limit_crlogin_was_started_with() {
    use std::os::unix::process::CommandExt;
    let secret = &canary("exec-core-limit");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    let mut cmd = env.command(env!("CARGO_BIN_EXE_crlogin"));
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4096 * 1024,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
            Ok(())
        });
    }
    cmd.args(["exec", "--", "grep", "core file", "/proc/self/limits"]);
    let out = harness::run(&mut cmd, None);
    out.assert_success("exec -- grep 'core file' /proc/self/limits");
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fields[4..6], ["4194304", "unlimited"], "{out}");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_directory_moved_away_and_replaced_cannot_keep_the_credentials() {
    let secret = &canary("exec-moved-dir");
    let registry = Registry::start(Auth::user("alice", secret));
    let env = dcr_env(&registry, secret);
    // What another user of a shared base would do: move the fresh directory (credentials in it)
    // aside and put one of their own at its path. Here COMMAND does it, at a known moment.
    let moved = env.home().join("moved");
    let script = format!(
        r#"mv "$DOCKER_CONFIG" '{}' && mkdir "$DOCKER_CONFIG" && echo theirs > "$DOCKER_CONFIG/theirs" && echo "$DOCKER_CONFIG""#,
        moved.display()
    );
    let out = env.crlogin(["exec", "--", "sh", "-c", &script]).run();
    out.assert_success("exec whose directory is moved and replaced");
    let dir = PathBuf::from(out.stdout.trim_end());
    assert!(
        !moved.join("config.json").exists(),
        "the credentials stayed in the moved directory"
    );
    assert!(
        dir.join("theirs").exists(),
        "the directory put in its place was removed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
