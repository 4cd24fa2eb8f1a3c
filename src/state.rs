//! What one `login` added, so that `cleanup` undoes exactly that: the `auths` keys it wrote in
//! each file, and the isolated directory it created. On GitHub Actions the record travels in the
//! step's state (the post step gets it back); elsewhere it sits beside the files in the config dir.

use crate::files::auth_file;
use crate::files::{self, unix, ReadError};
use crate::sinks;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// The state file's name inside a `--config-dir` / `--isolated` directory.
pub const FILE_NAME: &str = "crlogin-state.json";

/// A state file is a few paths and hosts; anything bigger is not one crlogin wrote.
const MAX_STATE: u64 = 1024 * 1024;

/// What `cleanup` may touch, whatever a state says: a state file is only as trustworthy as the
/// directory it sits in, and anyone who can write there could plant one.
pub struct Bounds<'a> {
    /// The config dir cleanup was pointed at (`--config-dir`, else `$DOCKER_CONFIG`).
    pub config_dir: Option<&'a Path>,
    /// Whether the state was read from `config_dir` (not the CI's saved state): its isolated
    /// directory must then be that very directory.
    pub from_config_dir: bool,
    /// Where `--isolated` makes its directories on this CI.
    pub isolated_base: &'a Path,
    /// The tools' own auth files, found from the environment as `login` finds them.
    pub tool_files: &'a [PathBuf],
}

/// One login's additions. Holds no secret: file paths and registry hosts only.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// The `auths` keys written, per file.
    pub entries: Vec<Entry>,
    /// The logins stored through credential helpers, erased by cleanup.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored: Vec<Stored>,
    /// The directory `--isolated` created, removed whole by cleanup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated_dir: Option<PathBuf>,
    /// The entries the login replaced, put back by cleanup.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<crate::sinks::restore::Replaced>,
}

/// The keys written into one auth file.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// The auth file.
    pub file: PathBuf,
    /// The `auths` keys crlogin wrote there.
    pub keys: Vec<String>,
}

/// A login stored through a credential helper (see [`sinks::cred_store`]).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Stored {
    /// The helper's name: cleanup runs `docker-credential-<helper>` found on PATH, never a path
    /// the state names.
    pub helper: String,
    /// The server URL stored.
    pub key: String,
}

impl State {
    /// One line of JSON (GitHub's state file takes `name=value` lines).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("state serialises")
    }

    /// Parses a saved state.
    pub fn from_json(text: &str) -> Result<State> {
        serde_json::from_str(text).context("the saved crlogin state is not valid: run `crlogin logout` with the login's settings instead")
    }

    /// Saves the state in `dir` (mode 0600, atomically).
    pub fn save_in(&self, dir: &Path) -> Result<()> {
        auth_file::write_atomic(&dir.join(FILE_NAME), self.to_json().as_bytes())
    }

    /// Reads the state saved in `dir`, if there is one: a regular file of this user's.
    pub fn load_from(dir: &Path) -> Result<Option<State>> {
        let path = dir.join(FILE_NAME);
        let text = match files::read_regular(&path, MAX_STATE) {
            Ok(text) => text,
            Err(ReadError::NotFound) => return Ok(None),
            Err(e) => bail!(
                "cannot read {}: {}: remove it",
                path.display(),
                describe(&e)
            ),
        };
        if let Ok(meta) = fs::metadata(&path) {
            if !unix::is_mine(&meta) {
                bail!(
                    "{} belongs to uid {}, not to you, so no login of yours saved it: remove it",
                    path.display(),
                    unix::owner(&meta)
                );
            }
        }
        Ok(Some(State::from_json(&text)?))
    }

    /// Undoes the login: removes its keys from each file, puts back the entries it replaced,
    /// then removes the isolated directory it made (or, in a directory the user named, just the
    /// state file in it). Returns how many entries were removed and how many put back. A file that cannot be updated does not stop the others: removing a
    /// credential is never worse than keeping it, so every file gets its chance before the error.
    /// Only what `bounds` allows is touched: a file or directory a tampered state names beyond
    /// them is left alone and reported.
    pub fn undo(&self, bounds: &Bounds) -> Result<(usize, usize)> {
        let isolated = match &self.isolated_dir {
            // Already gone (a CI's own cleanup may run first): nothing to remove.
            Some(dir) if fs::symlink_metadata(dir).is_err() => None,
            Some(dir) => match own_isolated_dir(dir, bounds) {
                Ok(()) => Some(dir.as_path()),
                Err(why) => bail!(
                    "the saved state names {} as its --isolated directory, but {why}: cleanup touched nothing; remove the state file if it is not yours",
                    dir.display()
                ),
            },
            None => None,
        };
        let mut allowed: Vec<PathBuf> = bounds.tool_files.to_vec();
        allowed.extend(
            [bounds.config_dir, isolated]
                .into_iter()
                .flatten()
                .map(|d| d.join("config.json")),
        );
        let mut removed = 0;
        let mut failures = Vec::new();
        for entry in &self.entries {
            if !allowed.iter().any(|a| same_path(a, &entry.file)) {
                failures.push(format!(
                    "{} is not an auth file login writes here, so it was left alone",
                    entry.file.display()
                ));
                continue;
            }
            match sinks::remove_keys(&entry.file, &entry.keys) {
                Ok(keys) => removed += keys.len(),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        let path_var = std::env::var_os("PATH");
        for stored in &self.stored {
            if !allowed.iter().any(|file| names_helper(file, stored)) {
                failures.push(format!(
                    "no auth file login writes here names docker-credential-{} for {}, so nothing was erased from it",
                    crate::ci::one_line(&stored.helper),
                    crate::ci::one_line(&stored.key)
                ));
                continue;
            }
            let Some(store) = sinks::cred_store::named(&stored.helper, path_var.as_deref()) else {
                failures.push(format!(
                    "docker-credential-{} is not on PATH any more, so the login for {} stays in it",
                    crate::ci::one_line(&stored.helper),
                    crate::ci::one_line(&stored.key)
                ));
                continue;
            };
            match sinks::cred_store::erase(&store, &stored.key) {
                Ok(erased) => removed += usize::from(erased),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        let mut restored = 0;
        for replaced in &self.replaced {
            if !allowed.iter().any(|a| same_path(a, &replaced.file)) {
                failures.push(format!(
                    "{} is not an auth file login writes here, so nothing was restored in it",
                    replaced.file.display()
                ));
                continue;
            }
            match crate::sinks::restore::put_back(replaced) {
                Ok(n) => restored += n,
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        if !failures.is_empty() {
            bail!(
                "{} (the other files were cleaned; fix the file and run cleanup again)",
                failures.join("; ")
            );
        }
        if let Some(dir) = isolated {
            fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
        } else if let Some(dir) = bounds.config_dir {
            let _ = fs::remove_file(dir.join(FILE_NAME));
        }
        Ok((removed, restored))
    }
}

/// Whether `dir` is a directory `--isolated` made for this state: named `crlogin-*` by crlogin,
/// a real directory (not a link) of this user, right under the CI's isolated base, and, for a
/// state read from a config dir, that very directory. Else why not.
fn own_isolated_dir(dir: &Path, bounds: &Bounds) -> Result<(), String> {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("crlogin-"));
    if !named {
        return Err("crlogin names its directories crlogin-*".into());
    }
    let meta =
        fs::symlink_metadata(dir).map_err(|e| format!("it cannot be looked at ({})", e.kind()))?;
    if !meta.is_dir() {
        return Err(format!("it is {}, not a directory", files::kind(&meta)));
    }
    if !unix::is_mine(&meta) {
        return Err(format!(
            "it belongs to uid {}, not to you",
            unix::owner(&meta)
        ));
    }
    let under_base = match (
        dir.parent().map(fs::canonicalize),
        fs::canonicalize(bounds.isolated_base),
    ) {
        (Some(Ok(parent)), Ok(base)) => parent == base,
        _ => false,
    };
    if !under_base {
        return Err(format!(
            "it is not in {}, where --isolated makes its directories",
            bounds.isolated_base.display()
        ));
    }
    if bounds.from_config_dir && !bounds.config_dir.is_some_and(|c| same_path(c, dir)) {
        return Err("it is not the directory the state was read from".into());
    }
    Ok(())
}

/// Whether the auth file at `path` makes a tool store `stored.key` through `stored.helper` (its
/// `credHelpers` entry, or its `credsStore`), as it must have for login to store it there.
fn names_helper(path: &Path, stored: &Stored) -> bool {
    let Ok(doc) = auth_file::read(path) else {
        return false;
    };
    let per_host = doc
        .get("credHelpers")
        .and_then(|helpers| helpers.get(&stored.key))
        .and_then(serde_json::Value::as_str);
    [per_host, sinks::docker_format::creds_store(&doc)].contains(&Some(stored.helper.as_str()))
}

/// Whether two paths name the same place: equal as written, or after resolving their
/// directories (a trailing slash, `..` or a linked parent).
fn same_path(a: &Path, b: &Path) -> bool {
    let resolved = |p: &Path| {
        let dir = fs::canonicalize(files::parent(p)).ok()?;
        Some(dir.join(p.file_name()?))
    };
    a == b || resolved(a).is_some_and(|ra| Some(ra) == resolved(b))
}

/// A read error in words.
fn describe(e: &ReadError) -> String {
    e.reason("any state crlogin writes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_as_one_line() {
        let state = State {
            entries: vec![Entry {
                file: "/a/config.json".into(),
                keys: vec!["r.io".into()],
            }],
            stored: Vec::new(),
            isolated_dir: Some("/tmp/crlogin-x\ny".into()),
            replaced: Vec::new(),
        };
        let json = state.to_json();
        assert!(!json.contains('\n'));
        assert_eq!(State::from_json(&json).unwrap(), state);
    }

    fn bounds<'a>(base: &'a Path, tool_files: &'a [PathBuf]) -> Bounds<'a> {
        Bounds {
            config_dir: None,
            from_config_dir: false,
            isolated_base: base,
            tool_files,
        }
    }

    #[test]
    fn undo_leaves_a_directory_not_named_by_crlogin() {
        let tmp = tempfile::tempdir().unwrap();
        let state = State {
            entries: Vec::new(),
            stored: Vec::new(),
            isolated_dir: Some(tmp.path().to_path_buf()),
            replaced: Vec::new(),
        };
        let base = tmp.path().parent().unwrap();
        let error = state.undo(&bounds(base, &[])).unwrap_err().to_string();
        assert!(error.contains("crlogin names its directories"), "{error}");
        assert!(tmp.path().exists());
    }

    #[test]
    fn undo_removes_only_an_isolated_directory_under_the_base() {
        let base = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let planted = elsewhere.path().join("crlogin-victim");
        std::fs::create_dir(&planted).unwrap();
        let state = |dir: &Path| State {
            entries: Vec::new(),
            stored: Vec::new(),
            isolated_dir: Some(dir.to_path_buf()),
            replaced: Vec::new(),
        };
        let error = state(&planted)
            .undo(&bounds(base.path(), &[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("where --isolated makes"), "{error}");
        assert!(planted.exists());
        let ours = base.path().join("crlogin-ours");
        std::fs::create_dir(&ours).unwrap();
        state(&ours).undo(&bounds(base.path(), &[])).unwrap();
        assert!(!ours.exists());
    }

    #[test]
    fn undo_cleans_every_file_it_can_before_reporting_one_it_cannot() {
        let tmp = tempfile::tempdir().unwrap();
        let broken = tmp.path().join("broken.json");
        let good = tmp.path().join("good.json");
        std::fs::write(&broken, "{not json").unwrap();
        std::fs::write(&good, r#"{"auths":{"r.io":{"auth":"eDp5"},"keep.io":{}}}"#).unwrap();
        let state = State {
            entries: vec![
                Entry {
                    file: broken.clone(),
                    keys: vec!["r.io".into()],
                },
                Entry {
                    file: good.clone(),
                    keys: vec!["r.io".into()],
                },
            ],
            stored: Vec::new(),
            isolated_dir: None,
            replaced: Vec::new(),
        };
        let files = [broken.clone(), good.clone()];
        let error = format!("{:#}", state.undo(&bounds(tmp.path(), &files)).unwrap_err());
        assert!(error.contains("broken.json"), "{error}");
        assert!(error.contains("run cleanup again"), "{error}");
        assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{not json");
        let left: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
        assert_eq!(left, serde_json::json!({"auths": {"keep.io": {}}}));
    }
}
