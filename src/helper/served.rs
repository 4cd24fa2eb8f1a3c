//! The hosts `configure-helper` wired beyond the Nebius regions, kept in crlogin's own 0600 file
//! (`$XDG_CONFIG_HOME/crlogin/helper-hosts.json`, else `~/.config/crlogin/helper-hosts.json`;
//! per OS in [`crate::os::paths::config_home`]),
//! so `docker-credential-crlogin` serves them afterwards with no variable set in the client's
//! environment. `configure-helper --remove` forgets them again. A host in no such record (nor
//! a region, nor `CRLOGIN_REGISTRIES`) never gets a Nebius token: nobody chose it.

use crate::env::Env;
use crate::files;
use crate::os::{paths, private, Os};
use crate::registry;
use crate::sinks::auth_file;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// The record's file name, in crlogin's directory under the user's config home.
const FILE_NAME: &str = "helper-hosts.json";

/// A larger record is not one crlogin wrote.
const MAX_FILE: u64 = 64 * 1024;

/// Where the record lives for this environment.
pub fn path(env: &Env) -> Result<PathBuf> {
    Ok(paths::config_home(env, Os::CURRENT)?
        .join("crlogin")
        .join(FILE_NAME))
}

/// The recorded hosts (none when the file does not exist). A file that others may write or
/// own, in a directory others may write, that is not a regular file, or that does not parse is
/// an error saying how to fix it: a host smuggled into it would be handed a Nebius token.
pub fn load(path: &Path) -> Result<Vec<String>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => bail!("cannot read {}: {}", path.display(), e.kind()),
    };
    let redo = "remove it and run `crlogin configure-helper` again";
    if !meta.is_file() || meta.len() > MAX_FILE {
        bail!(
            "{} is not a small regular file, so it is not crlogin's list of helper hosts: {redo}",
            path.display()
        );
    }
    if private::others_may_write(path, &meta) {
        bail!(
            "{} may be written by other users, so its hosts are not trusted: {redo}",
            path.display()
        );
    }
    // The token cache's owner and directory checks: a record another user owns, or one in a
    // directory others may write (where they could swap it), chooses hosts for them.
    let theirs = match files::not_private(files::parent(path), None) {
        Some((dir, _, why)) => Some(format!("its directory {} {why}", dir.display())),
        None if !files::unix::is_mine(&meta) => Some("it belongs to another user".to_string()),
        None => None,
    };
    if let Some(why) = theirs {
        bail!(
            "{}: {why}, so its hosts are not trusted: make {} yours and private (chmod 700), then {redo}",
            path.display(),
            files::parent(path).display()
        );
    }
    let doc = auth_file::read(path)?;
    let Some(list) = doc.get("hosts").and_then(Value::as_array) else {
        bail!("{} has no \"hosts\" list: {redo}", path.display());
    };
    list.iter()
        .map(|v| {
            v.as_str()
                .and_then(|h| registry::parse_registry(h).ok())
                .ok_or_else(|| anyhow::anyhow!("{} holds a bad host: {redo}", path.display()))
        })
        .collect()
}

/// Adds `hosts` to the record (creating it, 0600 in a 0700 directory).
pub fn record(path: &Path, hosts: &[&str]) -> Result<()> {
    load(path)?;
    auth_file::update(path, |doc| {
        let mut list = hosts_of(doc);
        let before = list.len();
        for host in hosts {
            if !list.iter().any(|h| h == host) {
                list.push(host.to_string());
            }
        }
        let changed = list.len() != before || !doc.contains_key("version");
        set_hosts(doc, list);
        Ok(((), changed))
    })
}

/// Forgets every recorded host for which `keep` is false; removes the file when none is left.
/// Returns the hosts forgotten.
pub fn forget_unless(path: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    if load(path)?.is_empty() {
        return match fs::symlink_metadata(path) {
            Ok(_) => fs::remove_file(path)
                .map(|()| Vec::new())
                .map_err(|e| anyhow::anyhow!("cannot remove {}: {}", path.display(), e.kind())),
            Err(_) => Ok(Vec::new()),
        };
    }
    let (forgotten, empty) = auth_file::update(path, |doc| {
        let (kept, forgotten): (Vec<String>, Vec<String>) =
            hosts_of(doc).into_iter().partition(|h| keep(h));
        let empty = kept.is_empty();
        let changed = !forgotten.is_empty();
        set_hosts(doc, kept);
        Ok(((forgotten, empty), changed))
    })?;
    if empty {
        fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            kind => bail!("cannot remove {}: {kind}", path.display()),
        })?;
    }
    Ok(forgotten)
}

fn hosts_of(doc: &auth_file::Document) -> Vec<String> {
    doc.get("hosts")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn set_hosts(doc: &mut auth_file::Document, hosts: Vec<String>) {
    doc.insert("version".into(), json!(1));
    doc.insert("hosts".into(), json!(hosts));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_recorded_privately_and_forgotten() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("crlogin").join(FILE_NAME);
        assert!(load(&path).unwrap().is_empty());
        record(&path, &["127.0.0.1:5000", "mirror.example"]).unwrap();
        record(&path, &["mirror.example"]).unwrap();
        assert_eq!(load(&path).unwrap(), ["127.0.0.1:5000", "mirror.example"]);
        for p in [&path, path.parent().unwrap()] {
            let meta = fs::metadata(p).unwrap();
            assert!(
                !private::others_may_read(p, &meta),
                "{} is private",
                p.display()
            );
        }

        assert_eq!(
            forget_unless(&path, |h| h == "mirror.example").unwrap(),
            ["127.0.0.1:5000"]
        );
        assert_eq!(load(&path).unwrap(), ["mirror.example"]);
        assert_eq!(forget_unless(&path, |_| false).unwrap(), ["mirror.example"]);
        assert!(!path.exists(), "an empty record is removed");
        assert!(forget_unless(&path, |_| false).unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_record_another_user_owns_or_could_swap_chooses_no_host() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("crlogin");
        let path = dir.join(FILE_NAME);
        record(&path, &["mirror.example"]).unwrap();
        // A 0777 directory: anyone may swap the file for one naming their host.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("may be written by other users"), "{err}");
        assert!(err.contains("so its hosts are not trusted"), "{err}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(load(&path).unwrap(), ["mirror.example"]);
        // Owned by another user (only root may give a file away; tests run as root here).
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains("it belongs to another user"), "{err}");
            std::os::unix::fs::chown(&path, Some(0), None).unwrap();
            std::os::unix::fs::chown(&dir, Some(4242), None).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains("belongs to another user"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_record_others_can_write_or_that_does_not_parse_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FILE_NAME);
        fs::write(&path, r#"{"version":1,"hosts":["evil.example"]}"#).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("may be written by other users"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&path).unwrap(), ["evil.example"]);
        for bad in [r#"{"hosts":["ftp://x.io"]}"#, r#"{"hosts":"x.io"}"#, "[]"] {
            fs::write(&path, bad).unwrap();
            assert!(load(&path).is_err(), "{bad}");
        }
        assert!(
            record(&path, &["x.io"]).is_err(),
            "a broken record is not rewritten"
        );
    }
}
