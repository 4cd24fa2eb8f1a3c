//! SIGKILL in the middle of writing config.json, without timing: `strace` kills `crlogin login`
//! on entering a chosen system call (`-e inject=SYSCALL:signal=KILL:when=N`), so the kill lands
//! at the same instruction every run. The points are found in a first, traced run of the same
//! login: the write of the temp file, the rename that publishes it, and the call right after
//! that rename (before the directory is synced).
//!
//! After each kill, config.json is byte for byte the old file or the new one (valid JSON, mode
//! 0600), never a mix; the next login succeeds (the lock died with the process); and the temp
//! file the dead process left (mode 0600, possibly holding the new credential) is removed by the
//! next write in that directory once it is older than ten minutes.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use harness::{assert_no_leak, require_tool, run, secret_forms, Env, Out};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const USER: &str = "alice";
const PASSWORD: &str = "canary-crash-password-0d4";
/// The system calls the first run is traced for: each kill point is one of them.
const TRACED: &str = "openat,write,rename,renameat,renameat2,fsync";

/// Where in the write the process dies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Point {
    /// On entering the `write` of the new content into the temp file.
    TempWrite,
    /// On entering the rename of the temp file over config.json.
    Rename,
    /// On entering the first traced call after that rename.
    AfterRename,
}

/// One system call of the traced run: its name and which invocation of that name it was.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    nth: usize,
    line: String,
}

/// A machine whose docker config already holds a login for `old.example.io`.
struct Machine {
    env: Env,
}

impl Machine {
    /// A machine with no docker config yet.
    fn empty() -> Machine {
        let mut env = Env::new();
        let dir = env.home().join("docker");
        env.set("DOCKER_CONFIG", dir.to_str().unwrap())
            .set("DCR_USERNAME", USER)
            .set("DCR_PASSWORD", PASSWORD);
        Machine { env }
    }

    fn new() -> Machine {
        let machine = Machine::empty();
        machine
            .login("old.example.io")
            .assert_success("the first login");
        machine
    }

    fn dir(&self) -> PathBuf {
        self.env.home().join("docker")
    }

    fn config(&self) -> PathBuf {
        self.dir().join("config.json")
    }

    fn login(&self, registry: &str) -> Out {
        self.env
            .crlogin(["login", "--for", "docker"])
            .env("DCR_REGISTRY", registry)
            .run()
    }

    /// `crlogin login` for `registry`, killed by strace on entering `call`.
    fn login_killed_at(&self, registry: &str, call: &Call) -> Out {
        let killed = self.login_under_strace(
            registry,
            &[
                "-o",
                "/dev/null",
                "-e",
                &format!("trace={}", call.name),
                "-e",
                &format!("inject={}:signal=KILL:when={}", call.name, call.nth),
            ],
        );
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "killed at `{}`: {killed}",
            call.line
        );
        killed
    }

    /// `crlogin login` for `registry` under strace with `strace_args`.
    fn login_under_strace(&self, registry: &str, strace_args: &[&str]) -> Out {
        let mut cmd = self.env.command(require_tool("strace"));
        cmd.args(["-f", "-qq"])
            .args(strace_args)
            .arg(env!("CARGO_BIN_EXE_crlogin"))
            .args(["login", "--for", "docker"])
            .env("DCR_REGISTRY", registry);
        run(&mut cmd, None)
    }

    /// The traced calls of one login for `registry`, in order.
    fn trace(&self, registry: &str) -> Vec<Call> {
        let log = self.env.home().join("strace.log");
        let log_arg = log.to_str().unwrap();
        self.login_under_strace(registry, &["-e", &format!("trace={TRACED}"), "-o", log_arg])
            .assert_success("the traced login");
        let text = fs::read_to_string(&log).unwrap();
        fs::remove_file(&log).unwrap();
        calls(&text)
    }

    /// The temp files a writer left in the config directory.
    fn temp_files(&self) -> Vec<PathBuf> {
        let mut temps: Vec<PathBuf> = fs::read_dir(self.dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().ends_with(".tmp"))
            .collect();
        temps.sort();
        temps
    }
}

/// Parses `strace -f -o` output into calls, numbering each name's invocations from 1 (the way
/// `when=` counts them).
fn calls(log: &str) -> Vec<Call> {
    let mut seen: Vec<Call> = Vec::new();
    for line in log.lines() {
        // "PID name(args) = result"; a call split by another thread's shows up "resumed".
        let call = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        let Some((name, _)) = call.split_once('(') else {
            continue;
        };
        if call.contains("resumed>") || name.contains(' ') {
            continue;
        }
        let nth = seen.iter().filter(|c| c.name == name).count() + 1;
        seen.push(Call {
            name: name.to_string(),
            nth,
            line: call.to_string(),
        });
    }
    seen
}

/// The call to kill at for `point` in a traced login that wrote `config`.
fn kill_point(calls: &[Call], config: &Path, point: Point) -> Call {
    let dump = || {
        calls
            .iter()
            .map(|c| c.line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let open = calls
        .iter()
        .position(|c| {
            c.name == "openat" && c.line.contains("/.crlogin-") && c.line.contains(".tmp\"")
        })
        .unwrap_or_else(|| panic!("no temp file was opened:\n{}", dump()));
    let fd = calls[open]
        .line
        .rsplit("= ")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let target = format!("\"{}\")", config.display());
    let rename = calls
        .iter()
        .position(|c| c.name.starts_with("rename") && c.line.contains(&target))
        .unwrap_or_else(|| panic!("no rename onto {}:\n{}", config.display(), dump()));
    let index = match point {
        Point::TempWrite => calls[open..rename]
            .iter()
            .position(|c| c.name == "write" && c.line.starts_with(&format!("write({fd}, ")))
            .map(|i| open + i)
            .unwrap_or_else(|| panic!("no write to fd {fd}:\n{}", dump())),
        Point::Rename => rename,
        Point::AfterRename => rename + 1,
    };
    calls
        .get(index)
        .cloned()
        .unwrap_or_else(|| panic!("nothing after the rename:\n{}", dump()))
}

#[test]
fn a_login_killed_mid_write_leaves_the_old_file_or_the_new_one() {
    // What an uninterrupted login writes: the "new" file.
    let reference = Machine::new();
    let old = fs::read(reference.config()).unwrap();
    let calls = reference.trace("new.example.io");
    let new = fs::read(reference.config()).unwrap();
    assert_ne!(old, new);

    for (point, survivor) in [
        (Point::TempWrite, &old),
        (Point::Rename, &old),
        (Point::AfterRename, &new),
    ] {
        let machine = Machine::new();
        assert_eq!(fs::read(machine.config()).unwrap(), old);
        let call = kill_point(&calls, &reference.config(), point);
        eprintln!("{point:?}: killed on entering #{} {}", call.nth, call.line);
        let killed = machine.login_killed_at("new.example.io", &call);

        let left = fs::read(machine.config()).unwrap();
        assert!(
            left == old || left == new,
            "{point:?}: config.json is neither the old file nor the new one:\n{}",
            String::from_utf8_lossy(&left)
        );
        assert_eq!(&left, survivor, "{point:?}");
        serde_json::from_slice::<serde_json::Value>(&left).unwrap();
        assert_eq!(mode(&machine.config()), 0o600, "{point:?}");
        let temps = machine.temp_files();
        let expected_temps = if point == Point::AfterRename { 0 } else { 1 };
        assert_eq!(temps.len(), expected_temps, "{point:?}: {temps:?}");
        for temp in &temps {
            assert_eq!(mode(temp), 0o600, "{point:?}: a dead writer's temp file");
        }

        // The lock died with the process; a fresh temp file is left alone (its writer may
        // still be at work), a stale one is removed.
        let next = machine.login("next.example.io");
        next.assert_success("the login after the kill");
        assert_eq!(
            machine.temp_files(),
            temps,
            "{point:?}: a fresh temp file stays"
        );
        for temp in &temps {
            fs::File::options()
                .write(true)
                .open(temp)
                .unwrap()
                .set_modified(SystemTime::now() - Duration::from_secs(3600))
                .unwrap();
        }
        let after = machine.login("after.example.io");
        after.assert_success("the login after that");
        assert_eq!(machine.temp_files(), Vec::<PathBuf>::new(), "{point:?}");
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(machine.config()).unwrap()).unwrap();
        let mut hosts: Vec<&String> = doc["auths"].as_object().unwrap().keys().collect();
        hosts.sort();
        let mut want = vec!["after.example.io", "next.example.io", "old.example.io"];
        if point == Point::AfterRename {
            want.insert(1, "new.example.io");
        }
        assert_eq!(hosts, want, "{point:?}");
        assert_eq!(mode(&machine.config()), 0o600);
        for out in [&killed, &next, &after] {
            assert_no_leak(
                PASSWORD,
                &secret_forms(PASSWORD, Some(USER)),
                &[&out.stdout, &out.stderr],
                machine.env.home(),
                &[machine.config()],
            );
        }
    }
}

#[test]
fn a_first_login_killed_at_the_rename_leaves_no_file() {
    let reference = Machine::empty();
    let calls = reference.trace("new.example.io");
    let call = kill_point(&calls, &reference.config(), Point::Rename);

    let machine = Machine::empty();
    machine.login_killed_at("new.example.io", &call);
    assert!(!machine.config().exists(), "no partial config.json");
    assert_eq!(machine.temp_files().len(), 1);
    machine
        .login("new.example.io")
        .assert_success("the login after the kill");
    assert_eq!(mode(&machine.config()), 0o600);
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}
