//! Leak-audit hooks for `scripts/leak-audit.sh`. With `CRLOGIN_LEAK_AUDIT=DIR` set, the tests
//! record under `DIR` what the audit scans for and where: every secret they use ([`canary`],
//! [`secret`]), every file they wrote holding one on purpose ([`input`]), every registry host
//! credentials are meant for ([`host`]), and every process's stdout and stderr ([`output`],
//! [`log`]); and temp dirs made with [`temp_dir`] are kept for the scan instead of removed.
//! Without the variable every hook does nothing, and [`canary`] still returns a fresh value.
//!
//! Self-contained (std, serde_json, sha2, tempfile): tests/iam_server includes this file by path,
//! so it works in test binaries without the harness.
#![allow(dead_code)]

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

/// The variable naming the audit directory.
pub const VAR: &str = "CRLOGIN_LEAK_AUDIT";

/// The variable naming the audit's recording proxy (`http://127.0.0.1:PORT`), which every
/// crlogin the tests run is pointed at through the proxy variables.
pub const PROXY_VAR: &str = "CRLOGIN_LEAK_AUDIT_PROXY";

/// Secrets shorter than this are not registered: their base64 forms would match by chance.
pub const MIN_SECRET_LEN: usize = 16;

/// The audit directory, if this run is audited.
pub fn dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os(VAR).map(PathBuf::from))
        .as_deref()
}

/// A fresh canary secret, `canary-LABEL-` and 12 hex digits (unique across processes and runs),
/// registered for the audit. `label`: lowercase letters, digits and dashes.
pub fn canary(label: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    assert!(
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "canary label {label:?}: use lowercase letters, digits and dashes"
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let seed = format!(
        "{}/{}/{nanos}/{label}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let hex: String = Sha256::digest(seed.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let value = format!("canary-{label}-{hex}");
    secret(&format!("canary {label}"), &value);
    value
}

/// Registers `value` (a minted token, a signed JWT, a private-key line: anything crlogin must
/// not leak) under `label`. Values shorter than [`MIN_SECRET_LEN`] are ignored.
pub fn secret(label: &str, value: &str) {
    if value.len() >= MIN_SECRET_LEN {
        record(json!({"secret": label, "value": value}));
    }
}

/// Registers `path` as a file the test wrote holding a secret on purpose (a key file, a
/// `_FILE` variable's file): the scan skips exactly this file.
pub fn input(path: &Path) {
    record(json!({"input": path}));
}

/// Registers `host` as one credentials are meant for: its auth-file entries are targets.
pub fn host(host: &str) {
    record(json!({"host": host}));
}

/// A temp dir (under `TMPDIR`) that the audit keeps for its scan; removed on drop otherwise.
pub fn temp_dir() -> TempDir {
    let mut dir = TempDir::new().unwrap();
    if self::dir().is_some() {
        dir.disable_cleanup(true);
    }
    dir
}

/// Records what the process `pid`, started from `cmd`, printed. Also records the values of the
/// variables `cmd` sets whose names end in `_REGISTRY` or `_REGISTRIES` (hosts named by the test),
/// and whether it sets `GITHUB_ACTIONS=true` or `TF_BUILD=True` (where `::add-mask::` or
/// `##vso[task.setsecret]` lines are meant to be printed).
pub fn output(cmd: &Command, pid: u32, stdout: &[u8], stderr: &[u8]) {
    if dir().is_none() {
        return;
    }
    let text = |s: &OsStr| s.to_string_lossy().into_owned();
    let mut argv = vec![text(cmd.get_program())];
    argv.extend(cmd.get_args().map(text));
    let registries: Vec<String> = cmd
        .get_envs()
        .filter(|(name, _)| {
            let name = text(name);
            name.ends_with("_REGISTRY") || name.ends_with("_REGISTRIES")
        })
        .filter_map(|(_, value)| value.map(text))
        .collect();
    // Azure Pipelines' `##vso[task.setsecret]` lines are masks like GitHub's `::add-mask::`.
    let github = cmd.get_envs().any(|(name, value)| {
        (name == "GITHUB_ACTIONS" && value == Some(OsStr::new("true")))
            || (name == "TF_BUILD" && value == Some(OsStr::new("True")))
    });
    let (Some(out), Some(err)) = (save("stdout", stdout), save("stderr", stderr)) else {
        return;
    };
    record(json!({"output": {
        "pid": pid, "argv": argv, "registries": registries, "github_actions": github,
        "stdout": out, "stderr": err,
    }}));
}

/// Records the log of `name`, a server the test started as process `pid`.
pub fn log(name: &str, pid: u32, bytes: &[u8]) {
    if dir().is_none() {
        return;
    }
    if let Some(file) = save("log", bytes) {
        record(json!({"log": {"name": name, "pid": pid, "file": file}}));
    }
}

/// Writes `bytes` to a new file under DIR/outputs; returns its path.
fn save(kind: &str, bytes: &[u8]) -> Option<PathBuf> {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let outputs = dir()?.join("outputs");
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = outputs.join(format!("{}-{}-{n}.{kind}", std::process::id(), instance()));
    let written = fs::create_dir_all(&outputs).and_then(|()| fs::write(&path, bytes));
    match written {
        Ok(()) => Some(path),
        Err(e) => failed(&format!("{}: {e}", path.display())),
    }
}

/// An audit record could not be written: fails the test, unless it is already failing (this
/// may run in a drop while unwinding, where a second panic would abort).
fn failed<T>(why: &str) -> Option<T> {
    if !std::thread::panicking() {
        panic!("leak audit: cannot record: {why}");
    }
    None
}

/// This copy of the module: the harness and tests/iam_server each compile one.
fn instance() -> String {
    module_path!().replace("::", ".")
}

/// Appends one JSON line to DIR/records/PID-INSTANCE.jsonl (nothing without an audit dir).
fn record(value: Value) {
    static FILE: OnceLock<Mutex<File>> = OnceLock::new();
    let Some(dir) = dir() else { return };
    let file = FILE.get_or_init(|| {
        let records = dir.join("records");
        let path = records.join(format!("{}-{}.jsonl", std::process::id(), instance()));
        let opened = fs::create_dir_all(&records)
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path));
        // Opened once per process, from a test body (a first record from a drop is unlikely).
        Mutex::new(opened.unwrap_or_else(|e| panic!("leak audit: {}: {e}", path.display())))
    });
    let mut line = value.to_string();
    line.push('\n');
    // A poisoned lock only means another test panicked mid-write; the file is still usable.
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = file.write_all(line.as_bytes()) {
        failed::<()>(&e.to_string());
    }
}
