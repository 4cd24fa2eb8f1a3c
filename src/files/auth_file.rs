//! The one writer for docker-format auth files (docker, helm and podman share the format):
//! lock, read, change, write a temp file, fsync, rename. Concurrent crlogin runs on one machine
//! serialise on a private lock file beside the auth file (waiting a bounded time), so none loses
//! another's entries, and a reader sees the old file or the new one, never a partial one. Only
//! regular files are read or replaced, each read with a size cap.

use crate::files::{self, unix, ReadError};
use crate::os::{private, replace};
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::fs::{self, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A parsed auth file: its top-level JSON object.
pub type Document = Map<String, Value>;

/// How [`write_atomic`] names its temp files.
const TEMP_PREFIX: &str = ".crlogin-";
const TEMP_SUFFIX: &str = ".tmp";

/// Larger auth files are refused: a real one with thousands of logins is well under it, and a
/// link to `/dev/zero` or a runaway file must not fill memory.
pub const MAX_AUTH_FILE: u64 = 16 * 1024 * 1024;

/// A temp file a writer left behind when it died before its rename (SIGKILL, power loss) is
/// removed by the next write in its directory once it is this old. A younger one may belong to a
/// writer still at work (the state file and the token cache are written without the lock).
const STALE_TEMP: Duration = Duration::from_secs(10 * 60);

/// Reads `path` as a JSON object: a missing or empty file is an empty object; anything else that
/// is not a JSON object (or not a regular file, or over [`MAX_AUTH_FILE`]) is an error, so
/// crlogin never overwrites a file it could not read.
pub fn read(path: &Path) -> Result<Document> {
    let text = match files::read_regular(path, MAX_AUTH_FILE) {
        Ok(text) => text,
        Err(ReadError::NotFound) => return Ok(Document::new()),
        Err(ReadError::NotUtf8) => bail!(
            "{} is not UTF-8 text: fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
        Err(ReadError::NotRegular(kind)) => bail!(
            "{} is {kind}, not a regular file: fix or remove it (crlogin reads and writes only regular files)",
            path.display()
        ),
        Err(ReadError::TooLarge) => bail!(
            "{} is larger than {} MiB, which no auth file is: fix or remove it (crlogin will not overwrite it)",
            path.display(),
            MAX_AUTH_FILE / (1024 * 1024)
        ),
        Err(ReadError::Io(kind)) => bail!(
            "cannot read {}: {}: check the path and its permissions",
            path.display(),
            kind
        ),
    };
    if text.trim().is_empty() {
        return Ok(Document::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(doc)) => Ok(doc),
        Ok(_) => bail!(
            "{} is not a JSON object: fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
        // serde_json's message names a line and column, never the file's content.
        Err(e) => bail!(
            "{} is not valid JSON ({e}): fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
    }
}

/// Applies `change` to the file at `path` under its lock. `change` returns its result and
/// whether it changed the document; an unchanged document is not rewritten. A rewritten file
/// keeps its owner and mode (a new one is 0600).
pub fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut Document) -> Result<(T, bool)>,
) -> Result<T> {
    let dir = files::parent(path);
    create_private_dir(dir)?;
    // Checked before locking: a FIFO or device is never locked beside, read or replaced.
    write_target(path)?;
    let _lock = files::lock_beside(path)?;
    let (target, existing) = write_target(path)?;
    let mut doc = read(&target)?;
    let (result, changed) = change(&mut doc)?;
    if changed {
        let mut text = serde_json::to_vec_pretty(&Value::Object(doc))?;
        text.push(b'\n');
        replace(dir, &target, &text, existing.as_ref())?;
    }
    Ok(result)
}

/// The file a write of `path` replaces, with its metadata if it exists: `path` itself, or for a
/// symlink (dotfile managers link auth files) its target, written through as docker writes it.
/// The target must be a regular file, and a link of another user is followed only to that
/// user's own file.
fn write_target(path: &Path) -> Result<(PathBuf, Option<Metadata>)> {
    let link = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => meta,
        _ => return Ok((path.to_path_buf(), files::check_regular(path)?)),
    };
    let target = fs::canonicalize(path).map_err(|e| {
        anyhow::anyhow!(
            "{} is a symlink to nothing usable ({}): create its target or remove the link",
            path.display(),
            e.kind()
        )
    })?;
    let meta = files::check_regular(&target)?.with_context(|| {
        format!(
            "{} is a symlink to a missing file: create it or remove the link",
            path.display()
        )
    })?;
    if !unix::may_follow(&link, &meta) {
        bail!(
            "{} is a symlink of uid {} to {}, a file of uid {}: crlogin will not write through it; remove the link",
            path.display(),
            unix::owner(&link),
            target.display(),
            unix::owner(&meta)
        );
    }
    Ok((target, Some(meta)))
}

/// Writes `bytes` to a 0600 temp file beside `path`, syncs it and renames it over `path`, which
/// must be a regular file if it exists.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    files::check_regular(path)?;
    replace(files::parent(path), path, bytes, None)
}

/// Writes `bytes` to a temp file in `dir` (0600, or the owner and mode of `existing`, the file
/// replaced), syncs it and renames it over `dest`. `dir` is `dest`'s directory, or a symlink's
/// when `dest` is its target, so no temp file is ever made in the target's directory.
fn replace(dir: &Path, dest: &Path, bytes: &[u8], existing: Option<&Metadata>) -> Result<()> {
    remove_stale_temps(dir, SystemTime::now());
    let fail = || format!("cannot write {}", dest.display());
    let mut tmp = private::temp_file_in(dir, TEMP_PREFIX, TEMP_SUFFIX).with_context(fail)?;
    tmp.write_all(bytes).with_context(fail)?;
    if let Some(existing) = existing {
        unix::keep_owner_and_mode(tmp.as_file(), existing).with_context(fail)?;
    }
    tmp.as_file().sync_all().with_context(fail)?;
    match replace::persist(tmp, dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => bail!(
            "cannot write {}: it is the target of a symlink on another filesystem, which cannot be replaced atomically: link a file on the same filesystem, or remove the link",
            dest.display()
        ),
        Err(e) => return Err(e).with_context(fail),
    }
    Ok(())
}

/// Removes temp files of [`write_atomic`] in `dir` older than [`STALE_TEMP`] at `now`: a dead
/// writer's temp may hold a complete auth file, secret included, that no logout would remove.
fn remove_stale_temps(dir: &Path, now: SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX));
        // `DirEntry::metadata` does not follow a symlink: only regular files are removed.
        let stale = ours
            && entry
                .metadata()
                .ok()
                .filter(fs::Metadata::is_file)
                .and_then(|m| m.modified().ok())
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > STALE_TEMP);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` and its missing parents with mode 0700 (existing ones are left as they are).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    private::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

// Unix only: modes, owners and symlinks (src/os tests the private files on every OS).
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs::File;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn update_creates_private_file_and_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/config.json");
        update(&path, |doc| {
            doc.insert("k".into(), json!(1));
            Ok(((), true))
        })
        .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(read(&path).unwrap()["k"], json!(1));
        let mut leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        leftovers.sort();
        assert_eq!(
            leftovers,
            ["config.json"],
            "no temp file is left behind, nor the lock file"
        );
    }

    #[test]
    fn corrupt_file_is_refused_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        fs::write(&path, "{not json").unwrap();
        let err = update(&path, |_| Ok(((), true))).unwrap_err().to_string();
        assert!(err.contains("is not valid JSON"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn a_dead_writers_temp_file_is_removed_once_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        let temp = |name: &str, age: Duration| {
            let file = tmp.path().join(name);
            File::create(&file)
                .unwrap()
                .set_modified(SystemTime::now() - age)
                .unwrap();
            file
        };
        let stale = temp(".crlogin-AbC123.tmp", STALE_TEMP * 2);
        let fresh = temp(".crlogin-DeF456.tmp", Duration::ZERO);
        let other = temp(".other-XyZ789.tmp", STALE_TEMP * 2);
        write_atomic(&path, b"{}").unwrap();
        assert!(!stale.exists(), "a stale temp file is removed");
        assert!(
            fresh.exists(),
            "a writer may still be at work on a fresh one"
        );
        assert!(other.exists(), "only crlogin's own temp files are removed");
    }

    #[test]
    fn writes_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.json");
        let link = tmp.path().join("link.json");
        fs::write(&real, "{}").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        update(&link, |doc| {
            doc.insert("k".into(), json!(true));
            Ok(((), true))
        })
        .unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read(&real).unwrap()["k"], json!(true));
    }
}
