//! The one writer for docker-format auth files (docker, helm and podman share the format):
//! lock, read, change, write a temp file, fsync, rename. Concurrent crlogin runs on one machine
//! serialise on an advisory lock of the file's directory, so none loses another's entries, and a
//! reader sees the old file or the new one, never a partial one.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A parsed auth file: its top-level JSON object.
pub type Document = Map<String, Value>;

/// How [`write_atomic`] names its temp files.
const TEMP_PREFIX: &str = ".crlogin-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temp file a writer left behind when it died before its rename (SIGKILL, power loss) is
/// removed by the next write in its directory once it is this old. A younger one may belong to a
/// writer still at work (the state file and the token cache are written without the lock).
const STALE_TEMP: Duration = Duration::from_secs(10 * 60);

/// Reads `path` as a JSON object: a missing or empty file is an empty object; anything else that
/// is not a JSON object is an error, so crlogin never overwrites a file it could not read.
pub fn read(path: &Path) -> Result<Document> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Document::new()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => bail!(
            "{} is not UTF-8 text: fix or remove it (crlogin will not overwrite it)",
            path.display()
        ),
        Err(e) => bail!(
            "cannot read {}: {}: check the path and its permissions",
            path.display(),
            e.kind()
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

/// Applies `change` to the file at `path` under the directory lock. `change` returns its result
/// and whether it changed the document; an unchanged document is not rewritten.
pub fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut Document) -> Result<(T, bool)>,
) -> Result<T> {
    let path = resolve_link(path);
    let dir = parent(&path);
    create_private_dir(dir)?;
    let lock =
        File::open(dir).with_context(|| format!("cannot open {} to lock it", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", dir.display()))?;

    let mut doc = read(&path)?;
    let (result, changed) = change(&mut doc)?;
    if changed {
        let mut text = serde_json::to_vec_pretty(&Value::Object(doc))?;
        text.push(b'\n');
        write_atomic(&path, &text)?;
    }
    Ok(result)
}

/// Writes `bytes` to a 0600 temp file beside `path`, syncs it and renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path);
    remove_stale_temps(dir, SystemTime::now());
    let fail = || format!("cannot write {}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(fail)?;
    tmp.write_all(bytes).with_context(fail)?;
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.persist(path).map_err(|e| e.error).with_context(fail)?;
    // Make the rename itself durable; a failure here leaves a complete file, so it is not fatal.
    let _ = File::open(dir).and_then(|d| d.sync_all());
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
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Writes through a symlinked auth file (dotfile managers link them) instead of replacing the link.
fn resolve_link(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
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
