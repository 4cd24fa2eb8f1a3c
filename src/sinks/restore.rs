//! The entries a login replaced, kept so that `cleanup` puts them back: `cleanup` undoes exactly
//! what the job's login did, and a login that overwrote the machine's own login for the same
//! host (a self-hosted runner's, a developer's) did more than add. Before writing, login copies
//! each `auths` entry it is about to replace into a private file beside the auth file
//! (`.crlogin-NAME.before-XXXXXX`, mode 0600, as private as the auth file that held the same
//! entry); the state names that file, and cleanup writes its entries back and removes it.
//! Entries kept by a credential store (`credsStore`) are not copied: cleanup erases this job's
//! login from the store, as before.

use super::auth_file::{self, Document};
use super::docker_format;
use crate::files::{self, unix, ReadError};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the backup name starts with after `.crlogin-NAME`.
const MARK: &str = ".before-";

/// One auth file's replaced entries, saved in `backup`. Holds no secret itself.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Replaced {
    /// The auth file the entries were in.
    pub file: PathBuf,
    /// The private file holding them.
    pub backup: PathBuf,
}

/// Copies the `auths` entries of `keys` that exist now in each file into a backup beside it.
/// Returns one [`Replaced`] per file that had any.
pub fn save(keys_by_file: &[(PathBuf, Vec<String>)]) -> Result<Vec<Replaced>> {
    let mut saved = Vec::new();
    for (file, keys) in keys_by_file {
        let doc = auth_file::read(file)?;
        let Some(Value::Object(auths)) = doc.get("auths") else {
            continue;
        };
        let kept: Map<String, Value> = keys
            .iter()
            .filter_map(|k| auths.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        if kept.is_empty() {
            continue;
        }
        match write_backup(file, &kept) {
            Ok(backup) => saved.push(Replaced {
                file: file.clone(),
                backup,
            }),
            Err(e) => {
                discard(&saved);
                return Err(e);
            }
        }
    }
    Ok(saved)
}

fn write_backup(file: &Path, entries: &Map<String, Value>) -> Result<PathBuf> {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let mut backup = tempfile::Builder::new()
        .prefix(&format!(".crlogin-{name}{MARK}"))
        .tempfile_in(files::parent(file))
        .with_context(|| {
            format!(
                "cannot keep a copy of the entries this login replaces in {}",
                file.display()
            )
        })?;
    let text = zeroize::Zeroizing::new(serde_json::to_vec(
        &serde_json::json!({ "auths": entries }),
    )?);
    backup
        .write_all(&text)
        .and_then(|()| backup.as_file().sync_all())
        .with_context(|| format!("cannot write {}", backup.path().display()))?;
    let (_, path) = backup
        .keep()
        .with_context(|| "cannot keep the copy of the replaced entries")?;
    Ok(path)
}

/// Removes the backups of a login that wrote nothing after all.
pub fn discard(saved: &[Replaced]) {
    for r in saved {
        let _ = fs::remove_file(&r.backup);
    }
}

/// Writes the entries saved in `replaced.backup` back into its file (each only where the key is
/// absent now, i.e. after this login's entry was removed), then removes the backup. Returns how
/// many entries came back. A backup not named as [`save`] names them, beside its file, or not
/// this user's is refused: a planted state must not make cleanup write what it likes.
pub fn put_back(replaced: &Replaced) -> Result<usize> {
    let beside = replaced.backup.parent() == Some(files::parent(&replaced.file));
    let name = replaced
        .file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let named = replaced
        .backup
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(&format!(".crlogin-{name}{MARK}")));
    if !beside || !named {
        bail!(
            "the saved state names {} as the copy of the entries login replaced in {}, which is not where login keeps it: nothing was restored",
            replaced.backup.display(),
            replaced.file.display()
        );
    }
    let text = match files::read_regular(&replaced.backup, auth_file::MAX_AUTH_FILE) {
        Ok(text) => text,
        Err(ReadError::NotFound) => return Ok(0), // restored by an earlier cleanup
        Err(e) => bail!(
            "cannot read {}: {}: the entries login replaced in {} were not restored",
            replaced.backup.display(),
            e.reason("any copy crlogin keeps"),
            replaced.file.display()
        ),
    };
    if let Ok(meta) = fs::symlink_metadata(&replaced.backup) {
        if !unix::is_mine(&meta) {
            bail!(
                "{} belongs to uid {}, not to you: nothing was restored from it",
                replaced.backup.display(),
                unix::owner(&meta)
            );
        }
    }
    let saved: Document = serde_json::from_str(&text)
        .with_context(|| format!("{} is not the copy login kept", replaced.backup.display()))?;
    let Some(Value::Object(entries)) = saved.get("auths") else {
        bail!("{} is not the copy login kept", replaced.backup.display());
    };
    let restored = auth_file::update(&replaced.file, |doc| {
        docker_format::check_section(doc, "auths")?;
        let auths = doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("checked to be an object");
        let mut restored = 0;
        for (key, value) in entries {
            if !auths.contains_key(key) {
                auths.insert(key.clone(), value.clone());
                restored += 1;
            }
        }
        Ok((restored, restored > 0))
    })
    .with_context(|| format!("cannot update {}", replaced.file.display()))?;
    fs::remove_file(&replaced.backup)
        .with_context(|| format!("cannot remove {}", replaced.backup.display()))?;
    Ok(restored)
}
