//! What one `login` added, so that `cleanup` undoes exactly that: the `auths` keys it wrote in
//! each file, and the isolated directory it created. On GitHub Actions the record travels in the
//! step's state (the post step gets it back); elsewhere it sits beside the files in the config dir.

use crate::sinks::{self, auth_file};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The state file's name inside a `--config-dir` / `--isolated` directory.
pub const FILE_NAME: &str = "crlogin-state.json";

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

    /// Reads the state saved in `dir`, if there is one.
    pub fn load_from(dir: &Path) -> Result<Option<State>> {
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(State::from_json(&text)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => bail!("cannot read {}: {}", path.display(), e.kind()),
        }
    }

    /// Undoes the login: removes its keys from each file, then the isolated directory it made
    /// (or, in a directory the user named, just the state file in it). Returns how many entries
    /// were removed. A file that cannot be updated does not stop the others: removing a
    /// credential is never worse than keeping it, so every file gets its chance before the error.
    pub fn undo(&self, state_dir: Option<&Path>) -> Result<usize> {
        let mut removed = 0;
        let mut failures = Vec::new();
        for entry in &self.entries {
            match sinks::remove_keys(&entry.file, &entry.keys) {
                Ok(keys) => removed += keys.len(),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        let path_var = std::env::var_os("PATH");
        for stored in &self.stored {
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
        if !failures.is_empty() {
            bail!(
                "{} (the other files were cleaned; fix the file and run cleanup again)",
                failures.join("; ")
            );
        }
        if let Some(dir) = &self.isolated_dir {
            // Only a directory crlogin itself named; never whatever a tampered state points at.
            let ours = dir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("crlogin-"));
            if ours && dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        } else if let Some(dir) = state_dir {
            let _ = std::fs::remove_file(dir.join(FILE_NAME));
        }
        Ok(removed)
    }
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
        };
        let json = state.to_json();
        assert!(!json.contains('\n'));
        assert_eq!(State::from_json(&json).unwrap(), state);
    }

    #[test]
    fn undo_leaves_a_directory_not_named_by_crlogin() {
        let tmp = tempfile::tempdir().unwrap();
        let state = State {
            entries: Vec::new(),
            stored: Vec::new(),
            isolated_dir: Some(tmp.path().to_path_buf()),
        };
        state.undo(None).unwrap();
        assert!(tmp.path().exists());
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
        };
        let error = format!("{:#}", state.undo(None).unwrap_err());
        assert!(error.contains("broken.json"), "{error}");
        assert!(error.contains("run cleanup again"), "{error}");
        assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{not json");
        let left: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
        assert_eq!(left, serde_json::json!({"auths": {"keep.io": {}}}));
    }
}
