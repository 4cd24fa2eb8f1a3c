//! Logins that go into a credential store instead of the auth file, as `docker login` puts them:
//! when a tool's file names a helper for a host (`credHelpers`, read by docker, helm and podman)
//! or for every host (`credsStore`, read by docker and helm, ignored by podman) and that
//! `docker-credential-<name>` is on PATH, the tool reads the login from the helper, so crlogin
//! stores it there (`store`, the JSON on stdin, never in argv) and `logout` erases it (`erase`).
//!
//! A helper is outside code: each call is bounded in time and in how much output is read, and
//! what it prints is shown only escaped onto one line, cut short, with the secret blotted out.

use super::auth_file::Document;
use super::{docker_format, Tool};
use crate::ci::quoted;
use crate::helper::docker_credential::NOT_FOUND;
use crate::helper::HELPER_NAME;
use crate::secrets::Secret;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

/// How long one helper call may take (a store that waits for a password prompt nobody answers
/// would otherwise hang the login).
const TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a helper's stdout and of its stderr is kept; the rest is read and dropped.
const MAX_OUTPUT: usize = 64 * 1024;

/// Why a tool asks a helper for a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A `credHelpers` entry for the host.
    CredHelpers,
    /// The file's `credsStore`.
    CredsStore,
}

/// A helper that a tool reading one file asks for one key, found on PATH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// The helper's name (`pass` for `docker-credential-pass`).
    pub name: String,
    /// The program found on PATH.
    pub program: PathBuf,
    /// Which setting names it.
    pub via: Via,
}

impl Store {
    /// Where the credential went, for the report: `docker-credential-pass (credsStore in FILE)`.
    pub fn describe(&self, file: &Path) -> String {
        let setting = match self.via {
            Via::CredHelpers => "credHelpers",
            Via::CredsStore => "credsStore",
        };
        format!(
            "docker-credential-{} ({setting} in {})",
            self.name,
            file.display()
        )
    }
}

/// The helper `tool`, reading `doc`, asks for `key` once the login is written, when that helper
/// is on `path_var` (the PATH to search; `None` searches nowhere). The login removes a per-host
/// entry naming crlogin (which serves only Nebius hosts) or a missing helper, so then the
/// file's `credsStore` decides, for the tools that obey it. `None` means the tool reads the
/// file's `auths` (a missing `credsStore` helper is the caller's warning).
pub fn store_for(doc: &Document, tool: Tool, key: &str, path_var: Option<&OsStr>) -> Option<Store> {
    let found = |name: &str, via| {
        let program = find(name, path_var).filter(|_| name != HELPER_NAME)?;
        Some(Store {
            name: name.to_string(),
            program,
            via,
        })
    };
    let per_host = doc
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|helpers| helpers.get(key))
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty());
    if let Some(store) = per_host.and_then(|name| found(name, Via::CredHelpers)) {
        return Some(store);
    }
    if !tool.reads_creds_store() {
        return None;
    }
    found(docker_format::creds_store(doc)?, Via::CredsStore)
}

/// The helper `name` on `path_var`, for erasing what a login stored (`cleanup`): `None` when it
/// is not there (any more), or `name` is not a plain word.
pub fn named(name: &str, path_var: Option<&OsStr>) -> Option<Store> {
    Some(Store {
        name: name.to_string(),
        program: find(name, path_var)?,
        via: Via::CredsStore,
    })
}

/// `docker-credential-NAME` on `path_var`. A name that is not one plain word (a path, `..`,
/// spaces) is never looked up: the file it comes from must not choose a program elsewhere.
fn find(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let plain = name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !plain {
        return None;
    }
    crate::child::find_in(&format!("docker-credential-{name}"), path_var?)
}

/// The helper protocol's credentials, as docker-credential-helpers serialises them.
#[derive(Serialize)]
pub(crate) struct Credentials<'a> {
    /// The server, as the client will ask for it.
    #[serde(rename = "ServerURL")]
    pub server_url: &'a str,
    /// The registry username.
    #[serde(rename = "Username")]
    pub username: &'a str,
    /// The password or token.
    #[serde(rename = "Secret")]
    pub secret: &'a str,
}

/// Stores `username`/`secret` for `server_url` through `store`'s helper.
pub fn store(store: &Store, server_url: &str, username: &str, secret: &Secret) -> Result<()> {
    let input = Zeroizing::new(serde_json::to_vec(&Credentials {
        server_url,
        username,
        secret: secret.expose(),
    })?);
    let answer = call(&store.program, "store", &input)?;
    if !answer.success {
        bail!(
            "{} store for {server_url} failed: {}: fix the store (the tool's file names it), or use --isolated to write a plain file instead",
            store.program.display(),
            answer.message(Some(secret))
        );
    }
    Ok(())
}

/// Erases `server_url` from `store`'s helper. Returns false when it held nothing for it: asked
/// first with `list` (server URLs and usernames, no secret), as some helpers fail an `erase` of
/// what they do not hold with a message of their own.
pub fn erase(store: &Store, server_url: &str) -> Result<bool> {
    if holds(store, server_url) == Some(false) {
        return Ok(false);
    }
    let answer = call(&store.program, "erase", server_url.as_bytes())?;
    if answer.success {
        return Ok(true);
    }
    if String::from_utf8_lossy(&answer.stdout).contains(NOT_FOUND) {
        return Ok(false);
    }
    bail!(
        "{} erase for {server_url} failed: {}",
        store.program.display(),
        answer.message(None)
    )
}

/// Whether the helper's `list` names `server_url`; `None` when it cannot tell.
fn holds(store: &Store, server_url: &str) -> Option<bool> {
    let answer = call(&store.program, "list", b"").ok()?;
    if !answer.success {
        return None;
    }
    let listed: serde_json::Map<String, Value> = serde_json::from_slice(&answer.stdout).ok()?;
    Some(listed.contains_key(server_url))
}

/// How a helper call ended.
struct Answer {
    success: bool,
    stdout: Zeroizing<Vec<u8>>,
    stderr: Zeroizing<Vec<u8>>,
}

impl Answer {
    /// What the helper said (stdout, else stderr), as outside text: one escaped line, cut short,
    /// with `secret` blotted out should the helper echo it.
    fn message(&self, secret: Option<&Secret>) -> String {
        let said = [&self.stdout, &self.stderr]
            .into_iter()
            .map(|bytes| String::from_utf8_lossy(bytes).trim().to_string())
            .find(|text| !text.is_empty());
        let Some(mut said) = said else {
            return "it exited with an error and said nothing".to_string();
        };
        if let Some(secret) = secret.filter(|s| !s.expose().is_empty()) {
            said = said.replace(secret.expose(), "***");
        }
        format!("it said {}", quoted(&said))
    }
}

/// Runs `program action` with `input` on stdin, within [`TIMEOUT`], keeping at most
/// [`MAX_OUTPUT`] bytes of each output stream.
fn call(program: &Path, action: &str, input: &[u8]) -> Result<Answer> {
    call_within(program, action, input, TIMEOUT)
}

/// [`call`] within `timeout`; the helper is killed when it runs out.
fn call_within(program: &Path, action: &str, input: &[u8], timeout: Duration) -> Result<Answer> {
    let what = || format!("cannot run {} {action}", program.display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .with_context(what)?;
    let ran = runtime.block_on(async {
        let mut command = tokio::process::Command::new(program);
        // The environment exec gives COMMAND: no secret variable reaches a helper or its gpg.
        crate::child::prepare(command.as_std_mut(), &crate::env::Env::from_process(), &[]);
        let mut child = command
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("no pipes to the helper"));
        };
        let write = async move {
            // A helper that exits without reading all of stdin is judged by its exit status.
            let _ = stdin.write_all(input).await;
        };
        let work = async {
            let ((), stdout, stderr, status) =
                tokio::join!(write, bounded(stdout), bounded(stderr), child.wait());
            Ok::<_, std::io::Error>(Answer {
                success: status?.success(),
                stdout: stdout?,
                stderr: stderr?,
            })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(answer) => answer,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            )),
        }
    });
    match ran {
        Ok(answer) => Ok(answer),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => bail!(
            "{} {action} did not finish within {} s (is it waiting for a password prompt?): unlock the store, or use --isolated to write a plain file instead",
            program.display(),
            timeout.as_secs()
        ),
        Err(e) => Err(anyhow::anyhow!("{}", e.kind())).with_context(what),
    }
}

/// Reads `reader` to its end, keeping the first [`MAX_OUTPUT`] bytes.
async fn bounded(mut reader: impl AsyncRead + Unpin) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut kept = Zeroizing::new(Vec::new());
    let mut buffer = Zeroizing::new([0u8; 8192]);
    loop {
        let n = reader.read(&mut buffer[..]).await?;
        if n == 0 {
            return Ok(kept);
        }
        let room = MAX_OUTPUT.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
    }
}

// Unix only: the stand-in helpers are shell scripts.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn helper(dir: &Path, name: &str, script: &str) -> PathBuf {
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn doc(json: &str) -> Document {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_helper_is_the_per_host_entry_then_the_store_for_tools_that_read_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = Some(tmp.path().as_os_str());
        let pass = helper(tmp.path(), "pass", "exit 0");
        let ecr = helper(tmp.path(), "ecr", "exit 0");
        let d = doc(
            r#"{"credsStore":"pass","credHelpers":{"a.io":"ecr","b.io":"crlogin","c.io":"gone"}}"#,
        );
        let found = |tool, key| store_for(&d, tool, key, path).map(|s| (s.program, s.via));
        assert_eq!(
            found(Tool::Docker, "a.io"),
            Some((ecr.clone(), Via::CredHelpers))
        );
        assert_eq!(found(Tool::Podman, "a.io"), Some((ecr, Via::CredHelpers)));
        assert_eq!(
            found(Tool::Helm, "x.io"),
            Some((pass.clone(), Via::CredsStore))
        );
        assert_eq!(
            found(Tool::Podman, "x.io"),
            None,
            "podman ignores credsStore"
        );
        // crlogin's entry and a missing helper's are removed, so credsStore decides.
        assert_eq!(
            found(Tool::Docker, "b.io"),
            Some((pass.clone(), Via::CredsStore))
        );
        assert_eq!(
            found(Tool::Docker, "c.io"),
            Some((pass.clone(), Via::CredsStore))
        );
        assert_eq!(found(Tool::Podman, "c.io"), None);
        let d = doc(r#"{"credHelpers":{"a.io":"gone"}}"#);
        assert_eq!(store_for(&d, Tool::Docker, "a.io", path), None);
        assert_eq!(store_for(&d, Tool::Docker, "x.io", None), None, "no PATH");
        for name in ["../pass", "/bin/sh", ".pass", "pa ss"] {
            let d = doc(&serde_json::json!({ "credsStore": name }).to_string());
            assert_eq!(store_for(&d, Tool::Docker, "x.io", path), None, "{name}");
        }
    }

    #[test]
    fn store_sends_json_on_stdin_and_shows_a_failure_escaped_without_the_secret() {
        let tmp = tempfile::tempdir().unwrap();
        let got = tmp.path().join("got");
        let ok = Store {
            name: "t".into(),
            program: helper(tmp.path(), "t", &format!("cat > '{}'", got.display())),
            via: Via::CredsStore,
        };
        let secret = Secret::new("s3cret-value".into());
        store(&ok, "r.io", "u", &secret).unwrap();
        let sent: Value = serde_json::from_slice(&std::fs::read(&got).unwrap()).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"ServerURL": "r.io", "Username": "u", "Secret": "s3cret-value"})
        );

        let bad = Store {
            program: helper(
                tmp.path(),
                "bad",
                r#"read -r line; printf 'no \033[31m%s\nsecond\n' "$line"; exit 3"#,
            ),
            ..ok.clone()
        };
        let err = store(&bad, "r.io", "u", &secret).unwrap_err().to_string();
        assert!(!err.contains("s3cret-value"), "{err}");
        assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
        assert!(err.contains(r"no \u{1b}[31m{"), "{err}");

        let flood = Store {
            program: helper(tmp.path(), "flood", "head -c 10000000 /dev/zero; exit 1"),
            ..ok.clone()
        };
        let err = store(&flood, "r.io", "u", &secret).unwrap_err().to_string();
        assert!(err.len() < 1000, "{} bytes", err.len());
    }

    #[test]
    fn a_helper_that_hangs_is_killed_when_its_time_is_up() {
        let tmp = tempfile::tempdir().unwrap();
        let hangs = helper(tmp.path(), "hangs", "exec sleep 600");
        let started = std::time::Instant::now();
        let err = call_within(&hangs, "store", b"{}", Duration::from_secs(1))
            .err()
            .expect("a timeout")
            .to_string();
        assert!(err.contains("did not finish within 1 s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(30), "{err}");
    }

    #[test]
    fn erase_tells_nothing_there_from_a_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let store = |name: &str, script: &str| Store {
            name: "x".into(),
            program: helper(tmp.path(), name, script),
            via: Via::CredsStore,
        };
        assert!(erase(&store("yes", "cat >/dev/null"), "r.io").unwrap());
        let listed = r#"[ "$1" = list ] && echo '{"other.io":"u"}' && exit 0; echo gone; exit 1"#;
        assert!(!erase(&store("listed", listed), "r.io").unwrap());
        assert!(erase(&store("listed2", listed), "other.io").is_err());
        let missing = store("none", &format!("echo '{NOT_FOUND}'; exit 1"));
        assert!(!erase(&missing, "r.io").unwrap());
        assert!(erase(&store("err", "echo locked; exit 1"), "r.io").is_err());
    }
}
