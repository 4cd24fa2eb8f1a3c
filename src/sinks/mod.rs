//! Where credentials are written: each tool's auth file, found the way the tool itself finds it
//! (the tools are rows of [`crate::tools`]). Every tool reads the docker `config.json` format,
//! so one writer ([`auth_file`]) serves them; tools sharing a file (as with `--config-dir`) get
//! one write.

pub use crate::files::auth_file;
pub mod cred_store;
pub(crate) mod docker_format;
pub mod missing_helper;
pub mod restore;

use crate::ci::Ci;
use crate::env::Env;
use crate::os::{paths, Os};
use crate::secret::Secret;
use anyhow::{Context, Result};
use base64::Engine;
use std::path::{Path, PathBuf};

pub use crate::tools::Tool;

/// Each selected tool with the file it reads: under `config_dir`, one shared `config.json`.
pub fn files(tools: &[Tool], env: &Env, config_dir: Option<&Path>) -> Result<Vec<(Tool, PathBuf)>> {
    tools
        .iter()
        .map(|&tool| {
            let path = match config_dir {
                Some(dir) => dir.join("config.json"),
                None => tool.auth_file(env)?,
            };
            let what = format!("the {} auth file", tool.name());
            let fix = match config_dir {
                Some(_) => "give --config-dir a plain path".to_string(),
                None => format!(
                    "set {} or {} to a plain path",
                    tool.variables(),
                    paths::home_var(Os::CURRENT)
                ),
            };
            check_path(&path, &what, &fix)?;
            Ok((tool, path))
        })
        .collect()
}

/// Longest path accepted for a file crlogin writes (Linux's PATH_MAX).
const MAX_PATH: usize = 4096;

/// A path crlogin writes to must be one line of UTF-8 text of sane length: it is printed in the
/// report and in `export` lines, and saved in the login's state. `what` names it, `fix` says
/// how to change it.
pub fn check_path(path: &Path, what: &str, fix: &str) -> Result<()> {
    let text = path.to_string_lossy();
    if path.as_os_str().len() > MAX_PATH {
        anyhow::bail!("{what} path is longer than {MAX_PATH} bytes: {fix}");
    }
    if path.to_str().is_none() || text.contains(char::is_control) {
        anyhow::bail!(
            "{what} path {} is not one line of UTF-8 text: {fix}",
            crate::ci::quoted(&text)
        );
    }
    Ok(())
}

/// One registry login to write.
pub struct Login<'a> {
    /// The registry host (auth key).
    pub host: &'a str,
    /// The registry username.
    pub username: &'a str,
    /// The password or token.
    pub secret: &'a Secret,
}

/// The base64 `user:secret` string docker stores, masked the moment it exists.
fn auth_string(login: &Login, ci: &dyn Ci) -> Secret {
    let plain = zeroize::Zeroizing::new(format!("{}:{}", login.username, login.secret.expose()));
    let encoded = Secret::new(base64::engine::general_purpose::STANDARD.encode(plain.as_bytes()));
    ci.mask(encoded.expose());
    encoded
}

/// Writes every login into every tool's file. Every file is read first, so a corrupt one stops
/// the run before anything is written. Returns warnings for the report. No credential helper is
/// run: see [`write_logins_via`].
#[cfg(any(fuzzing, test))]
pub fn write_logins(
    files: &[(Tool, PathBuf)],
    logins: &[Login],
    ci: &dyn Ci,
) -> Result<Vec<String>> {
    Ok(write_logins_via(files, logins, ci, None)?.warnings)
}

/// What [`write_logins_via`] did besides writing the files.
#[derive(Debug, Default)]
pub struct Written {
    /// Warnings for the report.
    pub warnings: Vec<String>,
    /// The logins that went into a credential helper instead of a file.
    pub stored: Vec<StoredLogin>,
}

/// One login stored through a credential helper.
#[derive(Debug)]
pub struct StoredLogin {
    /// The helper's name (`pass`).
    pub helper: String,
    /// The server URL it was stored for.
    pub key: String,
    /// The report line saying where it went.
    pub line: String,
}

/// [`write_logins`], storing a login through the credential helper a tool's file names for it
/// (`credsStore`, `credHelpers`; see [`cred_store`]) when that helper is on `path_var`, as
/// `docker login` does; the file then keeps no secret for that host.
///
/// Three phases, so nothing is written unless every file can take its entries: each file is
/// read once and checked, and which logins go through a helper is decided on it; then the
/// helpers are called; then each file is merged into under its lock.
pub fn write_logins_via(
    files: &[(Tool, PathBuf)],
    logins: &[Login],
    ci: &dyn Ci,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<Written> {
    let plans = group_by_file(files)
        .into_iter()
        .map(|(path, tools)| FilePlan::read(path, tools, logins, path_var))
        .collect::<Result<Vec<_>>>()?;
    let auths: Vec<(&Login, Secret)> = logins.iter().map(|l| (l, auth_string(l, ci))).collect();
    let stored = store_through_helpers(&plans)?;
    let mut warnings = Vec::new();
    for plan in &plans {
        let file_warnings = auth_file::update(&plan.path, |doc| plan.merge(doc, &auths))
            .with_context(|| format!("cannot update {}", plan.path.display()))?;
        warnings.extend(file_warnings);
    }
    Ok(Written { warnings, stored })
}

/// One login that one tool of a file reads through a credential helper.
struct Routed<'a> {
    login: &'a Login<'a>,
    tool: Tool,
    store: cred_store::Store,
}

/// What happens to one auth file: the tools that read it, and the logins they read through a
/// helper (decided on the file as read before anything is written).
struct FilePlan<'a> {
    path: PathBuf,
    tools: Vec<Tool>,
    routed: Vec<Routed<'a>>,
}

impl<'a> FilePlan<'a> {
    /// Reads and checks the file at `path` once, and finds the helper each login goes to.
    fn read(
        path: PathBuf,
        tools: Vec<Tool>,
        logins: &'a [Login<'a>],
        path_var: Option<&std::ffi::OsStr>,
    ) -> Result<Self> {
        let doc = auth_file::read(&path)?;
        docker_format::check_section(&doc, "auths")
            .with_context(|| format!("cannot update {}", path.display()))?;
        let mut routed = Vec::new();
        for login in logins {
            for &tool in &tools {
                let key = tool.auth_key(login.host);
                if let Some(store) = cred_store::store_for(&doc, tool, &key, path_var) {
                    routed.push(Routed { login, tool, store });
                }
            }
        }
        Ok(Self {
            path,
            tools,
            routed,
        })
    }

    /// The helper `tool` reads `login` through, if any.
    fn helper(&self, login: &Login, tool: Tool) -> Option<&cred_store::Store> {
        self.routed
            .iter()
            .find(|r| r.login.host == login.host && r.tool == tool)
            .map(|r| &r.store)
    }

    /// Merges the logins into the file's document: an `auths` entry for each tool reading the
    /// file itself, none where a helper holds the secret, and no `credHelpers` entry that would
    /// hide a login. Returns the warnings and whether anything changed.
    fn merge(
        &self,
        doc: &mut auth_file::Document,
        auths: &[(&Login, Secret)],
    ) -> Result<(Vec<String>, bool)> {
        let mut changed = false;
        let mut warnings = Vec::new();
        for (login, auth) in auths {
            let in_file: Vec<String> = self
                .tools
                .iter()
                .filter(|&&t| self.helper(login, t).is_none())
                .map(|t| t.auth_key(login.host))
                .collect();
            for &tool in &self.tools {
                let key = tool.auth_key(login.host);
                match self.helper(login, tool) {
                    // As `docker login` does: the store holds the secret, the file none.
                    Some(store) => {
                        if !in_file.contains(&key) {
                            changed |= docker_format::remove_auth(doc, &key)?;
                        }
                        if store.via == cred_store::Via::CredHelpers {
                            continue;
                        }
                    }
                    None => changed |= docker_format::set_auth(doc, &key, auth.expose())?,
                }
                if let Some(helper) = docker_format::remove_cred_helper(doc, &key) {
                    changed = true;
                    warnings.push(format!(
                        "{}: removed the credHelpers entry for {key} (helper {helper:?}), which would have hidden this login",
                        self.path.display()
                    ));
                }
            }
        }
        let store_unused = self.tools.iter().any(|t| t.reads_creds_store())
            && !self
                .routed
                .iter()
                .any(|r| r.store.via == cred_store::Via::CredsStore);
        if let Some(store) = docker_format::creds_store(doc).filter(|_| store_unused) {
            warnings.extend(creds_store_warning(&self.path, store, &self.tools));
        }
        Ok((warnings, changed))
    }
}

/// Stores each routed login through its helper, once per helper and key.
fn store_through_helpers(plans: &[FilePlan]) -> Result<Vec<StoredLogin>> {
    let mut done: Vec<(PathBuf, String)> = Vec::new();
    let mut stored = Vec::new();
    for plan in plans {
        for Routed { login, tool, store } in &plan.routed {
            let key = tool.auth_key(login.host);
            if done.contains(&(store.program.clone(), key.clone())) {
                continue;
            }
            cred_store::store(store, &key, login.username, login.secret)?;
            stored.push(StoredLogin {
                helper: store.name.clone(),
                key: key.clone(),
                line: format!("  {key}: stored in {}", store.describe(&plan.path)),
            });
            done.push((store.program.clone(), key));
        }
    }
    Ok(stored)
}

/// Why a `credsStore` that login did not store through matters to the tools reading the file at
/// `path`, if it does: a missing helper matters only to helm (docker reads the file regardless).
fn creds_store_warning(path: &Path, store: &str, tools: &[Tool]) -> Option<String> {
    let helper = format!("docker-credential-{store}");
    let helm_reads = tools.contains(&Tool::Helm);
    let problem = if crate::child::find_program(&helper).is_none() {
        if !helm_reads {
            return None;
        }
        format!(
            "names {helper}, which is not on PATH: {}",
            missing_helper::consequences(&helper, true, tools.contains(&Tool::Docker))
        )
    } else {
        format!("makes docker and helm read logins from {helper}, not from this file")
    };
    Some(format!(
        "{}: \"credsStore\": {store:?} {problem}; remove \"credsStore\" from it, or use --isolated",
        path.display()
    ))
}

/// The `auths` keys written for `hosts`, per distinct file: what a login adds and a logout or
/// cleanup removes.
pub fn keys_by_file(files: &[(Tool, PathBuf)], hosts: &[&str]) -> Vec<(PathBuf, Vec<String>)> {
    group_by_file(files)
        .into_iter()
        .map(|(path, tools)| {
            let mut keys: Vec<String> = Vec::new();
            for host in hosts {
                for tool in &tools {
                    let key = tool.auth_key(host);
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            (path, keys)
        })
        .collect()
}

/// Removes `keys` from the `auths` of the file at `path`, if it exists. Returns the keys that
/// were there.
pub fn remove_keys(path: &Path, keys: &[String]) -> Result<Vec<String>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    auth_file::update(path, |doc| {
        let mut removed = Vec::new();
        for key in keys {
            if docker_format::remove_auth(doc, key)? {
                removed.push(key.clone());
            }
        }
        let changed = !removed.is_empty();
        Ok((removed, changed))
    })
    .with_context(|| format!("cannot update {}", path.display()))
}

/// Removes the hosts' entries from every tool's file that exists. Returns the hosts that had an
/// entry in at least one file. No credential helper is run: see [`remove_logins_via`].
#[cfg(any(fuzzing, test))]
pub fn remove_logins(files: &[(Tool, PathBuf)], hosts: &[&str]) -> Result<Vec<String>> {
    Ok(remove_logins_via(files, hosts, None)?.0)
}

/// [`remove_logins`], also erasing each host from the credential helper a tool's file names for
/// it when that helper is on `path_var` (as `docker logout` does). Returns the hosts logged out
/// of (an entry removed or a stored login erased), and report lines for the erased ones.
pub fn remove_logins_via(
    files: &[(Tool, PathBuf)],
    hosts: &[&str],
    path_var: Option<&std::ffi::OsStr>,
) -> Result<(Vec<String>, Vec<String>)> {
    check_files(files, Some("auths"))?;
    let mut erased_hosts: Vec<&str> = Vec::new();
    let mut erased = Vec::new();
    let mut done: Vec<(PathBuf, String)> = Vec::new();
    for (path, tools) in group_by_file(files) {
        let doc = auth_file::read(&path)?;
        for host in hosts {
            for &tool in &tools {
                let key = tool.auth_key(host);
                let Some(store) = cred_store::store_for(&doc, tool, &key, path_var) else {
                    continue;
                };
                if done.contains(&(store.program.clone(), key.clone())) {
                    continue;
                }
                if cred_store::erase(&store, &key)? {
                    erased.push(format!("  {key}: erased from {}", store.describe(&path)));
                    erased_hosts.push(host);
                }
                done.push((store.program, key));
            }
        }
    }
    let mut removed_keys: Vec<String> = Vec::new();
    for (path, keys) in keys_by_file(files, hosts) {
        removed_keys.extend(remove_keys(&path, &keys)?);
    }
    let removed = hosts
        .iter()
        .filter(|host| {
            erased_hosts.contains(host)
                || crate::tools::TOOLS
                    .iter()
                    .any(|tool| removed_keys.contains(&tool.auth_key(host)))
        })
        .map(|host| host.to_string())
        .collect();
    Ok((removed, erased))
}

/// What [`write_cred_helpers`] did to one file.
#[derive(Debug, Default)]
pub struct HelperEntries {
    /// The file.
    pub path: PathBuf,
    /// The tools that read it.
    pub tools: Vec<Tool>,
    /// The keys that now name the helper (already there or just written).
    pub keys: Vec<String>,
    /// Entries that named another helper before, as (key, that helper).
    pub replaced: Vec<(String, String)>,
}

/// Points every tool's file at the credential helper `helper` for `hosts` (`credHelpers`
/// entries; `auths` entries are left, as the helper takes precedence over them). Every file is
/// read first, so a corrupt one stops the run before anything is written.
pub fn write_cred_helpers(
    files: &[(Tool, PathBuf)],
    hosts: &[&str],
    helper: &str,
) -> Result<Vec<HelperEntries>> {
    check_files(files, Some("credHelpers"))?;
    let mut done = Vec::new();
    for (path, keys) in keys_by_file(files, hosts) {
        let replaced = auth_file::update(&path, |doc| {
            let mut changed = false;
            let mut replaced = Vec::new();
            for key in &keys {
                if let Some(old) = docker_format::set_cred_helper(doc, key, helper)? {
                    changed = true;
                    if !old.is_empty() {
                        replaced.push((key.clone(), old));
                    }
                }
            }
            Ok((replaced, changed))
        })
        .with_context(|| format!("cannot update {}", path.display()))?;
        let tools = files
            .iter()
            .filter(|(_, p)| *p == path)
            .map(|(t, _)| *t)
            .collect();
        done.push(HelperEntries {
            path,
            tools,
            keys,
            replaced,
        });
    }
    Ok(done)
}

/// Removes the `credHelpers` entries naming `helper` for `hosts` (for every host, without
/// `hosts`) from every tool's file that exists; entries naming another helper stay. Returns
/// each file with the keys removed.
pub fn remove_cred_helpers(
    files: &[(Tool, PathBuf)],
    hosts: Option<&[&str]>,
    helper: &str,
) -> Result<Vec<(PathBuf, Vec<String>)>> {
    check_files(files, None)?;
    let mut done = Vec::new();
    for (path, keys) in keys_by_file(files, hosts.unwrap_or_default()) {
        if !path.exists() {
            continue;
        }
        let removed = auth_file::update(&path, |doc| {
            let keys = match hosts {
                Some(_) => keys,
                None => docker_format::cred_helper_keys(doc),
            };
            let removed: Vec<String> = keys
                .iter()
                .filter(|key| docker_format::remove_cred_helper_named(doc, key, helper))
                .cloned()
                .collect();
            let changed = !removed.is_empty();
            Ok((removed, changed))
        })
        .with_context(|| format!("cannot update {}", path.display()))?;
        done.push((path, removed));
    }
    Ok(done)
}

/// Reads every file (a missing one is empty) and checks its `section`, so a file that cannot be
/// changed stops the run before any file is written: a run changes all files or none.
fn check_files(files: &[(Tool, PathBuf)], section: Option<&str>) -> Result<()> {
    for (_, path) in files {
        let doc = auth_file::read(path)?;
        if let Some(section) = section {
            docker_format::check_section(&doc, section)
                .with_context(|| format!("cannot update {}", path.display()))?;
        }
    }
    Ok(())
}

fn group_by_file(files: &[(Tool, PathBuf)]) -> Vec<(PathBuf, Vec<Tool>)> {
    let mut groups: Vec<(PathBuf, Vec<Tool>)> = Vec::new();
    for (tool, path) in files {
        match groups.iter_mut().find(|(p, _)| p == path) {
            Some((_, tools)) => tools.push(*tool),
            None => groups.push((path.clone(), vec![*tool])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_uses_the_legacy_key_for_docker_only() {
        assert_eq!(
            Tool::Docker.auth_key("docker.io"),
            "https://index.docker.io/v1/"
        );
        assert_eq!(Tool::Podman.auth_key("docker.io"), "docker.io");
    }
}
