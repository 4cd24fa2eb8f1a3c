//! The tools' auth files `login` would write (found as the sinks find them), whether each
//! parses the way `login` needs, and the credential helpers they name (`credHelpers`,
//! `credsStore`): whether `docker-credential-<name>` is on PATH and executable.

use super::Check;
use crate::auth::Choice;
use crate::ci::Ci;
use crate::env::Env;
use crate::files::auth_file::{self, Document};
use crate::helper::answer::{answer, Answer};
use crate::helper::HELPER_NAME;
use crate::os::{helper_link, private};
use crate::sinks::{docker_format, missing_helper, Tool};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// A file that exists and parses, with the tools that read it.
pub struct Parsed {
    path: PathBuf,
    tools: Vec<Tool>,
    doc: Document,
}

/// One `config-file` check per distinct file, and the files that parsed.
pub fn config_files(files: &[(Tool, PathBuf)]) -> (Vec<Check>, Vec<Parsed>) {
    let mut groups: Vec<(PathBuf, Vec<Tool>)> = Vec::new();
    for (tool, path) in files {
        match groups.iter_mut().find(|(p, _)| p == path) {
            Some((_, tools)) => tools.push(*tool),
            None => groups.push((path.clone(), vec![*tool])),
        }
    }
    let mut checks = Vec::new();
    let mut parsed = Vec::new();
    for (path, tools) in groups {
        let (check, doc) = config_file(&path, &tools);
        checks.push(check.on(path.display().to_string()));
        if let Some(doc) = doc {
            parsed.push(Parsed { path, tools, doc });
        }
    }
    (checks, parsed)
}

fn config_file(path: &Path, tools: &[Tool]) -> (Check, Option<Document>) {
    const NAME: &str = "config-file";
    let names = tools
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ");
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let detail = format!("{names}: does not exist yet; login creates it (mode 0600)");
            return (Check::ok(NAME, detail), None);
        }
        Err(e) => {
            let detail = format!("{names}: cannot look at it: {}", e.kind());
            let fix = "make it readable and writable by this user (and its directory), or use --config-dir DIR";
            return (Check::fail(NAME, detail, fix), None);
        }
    };
    let doc = match auth_file::read(path) {
        Ok(doc) => doc,
        Err(e) => {
            let message = format!("{e:#}");
            // The writer's message ends in its own advice; the fix below says it for doctor.
            let shown = format!("{} ", path.display());
            let reason = message
                .split_once(": fix or remove it")
                .map_or(message.as_str(), |(reason, _)| reason);
            let reason = reason.strip_prefix(&shown).unwrap_or(reason);
            let fix = if reason.contains("not a regular file") || reason.contains("larger than") {
                format!(
                    "move it aside (mv {0} {0}.bak) and let login create a regular file: login neither reads on in nor replaces such a file, so it stops before writing anything",
                    path.display()
                )
            } else {
                format!(
                    "repair the JSON or move the file aside (mv {0} {0}.bak): login refuses to overwrite a file it cannot parse, so it stops before writing anything, and {names} cannot read it either",
                    path.display()
                )
            };
            return (Check::fail(NAME, format!("{names}: {reason}"), fix), None);
        }
    };
    for (key, kind) in [
        ("auths", "object"),
        ("credHelpers", "object"),
        ("credsStore", "string"),
    ] {
        let wrong = match (doc.get(key), kind) {
            (None, _) => false,
            (Some(v), "object") => !v.is_object(),
            (Some(v), _) => !v.is_string(),
        };
        if wrong {
            let detail = format!("{names}: its {key:?} is not a JSON {kind}");
            let fix = format!("fix {key:?} in {} or remove it: docker cannot load the file, and login refuses to overwrite it", path.display());
            return (Check::fail(NAME, detail, fix), None);
        }
    }
    let entries = doc
        .get("auths")
        .and_then(Value::as_object)
        .map_or(0, |a| a.len());
    let access = match private::mode(&meta) {
        Some(mode) => format!("mode {mode:04o}"),
        None if private::others_may_read(path, &meta) => "other accounts in its ACL".to_string(),
        None => "an ACL for this user only".to_string(),
    };
    let detail = format!(
        "{names}: valid JSON, {entries} auths {}, {access}",
        if entries == 1 { "entry" } else { "entries" }
    );
    // Login rewrites the file private (0600); entries already in it are exposed until then.
    let check = if private::others_may_read(path, &meta) && entries > 0 {
        let fix = if cfg!(windows) {
            format!(
                "run `crlogin login` again to rewrite {} with an ACL for you alone",
                path.display()
            )
        } else {
            format!("chmod 600 {}", path.display())
        };
        Check::warn(
            NAME,
            format!("{detail}: other users can read the credentials in it"),
            fix,
        )
    } else {
        Check::ok(NAME, detail)
    };
    (check, Some(doc))
}

/// Where one helper is named: the file, and the `credHelpers` keys (or `credsStore`).
struct Use<'a> {
    path: &'a Path,
    hosts: Vec<String>,
    store: bool,
    /// Whether helm reads this file (a missing helper breaks helm, not docker).
    helm: bool,
    /// Whether docker reads this file.
    docker: bool,
}

/// Notes that `path` names helper `name` for `host` (`None`: as its `credsStore`).
fn add<'a>(
    helpers: &mut Vec<(String, Vec<Use<'a>>)>,
    name: &str,
    file: &'a Parsed,
    host: Option<&str>,
) {
    let path = file.path.as_path();
    let index = match helpers.iter().position(|(n, _)| n == name) {
        Some(index) => index,
        None => {
            helpers.push((name.to_string(), Vec::new()));
            helpers.len() - 1
        }
    };
    let uses = &mut helpers[index].1;
    let at = match uses.iter().position(|u| u.path == path) {
        Some(at) => at,
        None => {
            uses.push(Use {
                path,
                hosts: Vec::new(),
                store: false,
                helm: file.tools.contains(&Tool::Helm),
                docker: file.tools.contains(&Tool::Docker),
            });
            uses.len() - 1
        }
    };
    match host {
        Some(host) => uses[at].hosts.push(host.to_string()),
        None => uses[at].store = true,
    }
}

/// One `cred-helper` check per helper the files name, and one `helper-hosts` check per host
/// the files send to crlogin's own helper.
pub fn credential_helpers(files: &[Parsed], env: &Env, ci: &dyn Ci, choice: &Choice) -> Vec<Check> {
    let mut helpers: Vec<(String, Vec<Use>)> = Vec::new();
    for file in files {
        if let Some(entries) = file.doc.get("credHelpers").and_then(Value::as_object) {
            for (host, helper) in entries {
                if let Some(helper) = helper.as_str().filter(|h| !h.is_empty()) {
                    add(&mut helpers, helper, file, Some(host));
                }
            }
        }
        if file.tools.iter().any(|t| t.reads_creds_store()) {
            if let Some(store) = docker_format::creds_store(&file.doc) {
                add(&mut helpers, store, file, None);
            }
        }
    }
    if helpers.is_empty() {
        return vec![Check::ok(
            "cred-helper",
            "no credHelpers or credsStore in the tools' files: they read the entries login writes",
        )];
    }
    let path_var = env.path("PATH");
    let mut checks: Vec<Check> = helpers
        .iter()
        .map(|(name, uses)| helper(name, uses, path_var.as_deref()).on(name.as_str()))
        .collect();
    if let Some((_, uses)) = helpers.iter().find(|(name, _)| name == HELPER_NAME) {
        checks.extend(helper_hosts(uses, env, ci, choice));
    }
    checks
}

/// What `docker-credential-crlogin get` answers for each host the files send to it, as the
/// helper itself decides ([`crate::helper::answer`]): one it does not serve answers
/// "credentials not found", and docker then pulls without credentials.
fn helper_hosts(uses: &[Use], env: &Env, ci: &dyn Ci, choice: &Choice) -> Vec<Check> {
    const NAME: &str = "helper-hosts";
    let registries: Vec<String> = match env.get("CRLOGIN_REGISTRIES") {
        Ok(value) => value
            .unwrap_or_default()
            .split(',')
            .map(String::from)
            .collect(),
        Err(e) => {
            let fix = "set CRLOGIN_REGISTRIES to UTF-8 text";
            return vec![Check::fail(NAME, format!("{e:#}"), fix).on(HELPER_NAME)];
        }
    };
    let mut keys: Vec<(&str, Vec<String>)> = Vec::new();
    for usage in uses {
        for key in &usage.hosts {
            let file = usage.path.display().to_string();
            match keys.iter_mut().find(|(k, _)| k == key) {
                Some((_, files)) => files.push(file),
                None => keys.push((key, vec![file])),
            }
        }
    }
    keys.into_iter()
        .map(|(key, files)| {
            let check = match crate::helper::server_host(key) {
                None => refused(
                    format!("{} names no registry host", crate::ci::quoted(key)),
                    &files,
                ),
                Some(host) => match answer(&host, &registries, choice, env, ci) {
                    Ok(Answer::Login(found)) => Check::ok(
                        NAME,
                        format!(
                            "served from {} as user {}",
                            found.source,
                            found.shown_username()
                        ),
                    ),
                    Ok(Answer::Nebius(found)) => {
                        Check::ok(NAME, format!("served from Nebius ({})", found.source))
                    }
                    Ok(Answer::NotServed(why)) => refused(why, &files),
                    Err(e) => Check::fail(
                        NAME,
                        format!("the helper answers with an error: {e:#}"),
                        "fix what the error names, in the environment docker runs the helper in",
                    ),
                },
            };
            check.on(key)
        })
        .collect()
}

/// A `credHelpers` entry the helper answers "credentials not found" for, with its reason.
fn refused(why: String, files: &[String]) -> Check {
    Check::fail(
        "helper-hosts",
        format!(
            "not served: {why} (credHelpers in {}): clients get no credentials there",
            files.join(", ")
        ),
        "set DCR_* (or record a prefix with `crlogin configure-helper --from-env PREFIX`) for a username/password registry, run `crlogin configure-helper --registry HOST` for a Nebius one, or drop the entry with `crlogin configure-helper --remove --registry HOST`",
    )
}

fn helper(name: &str, uses: &[Use], path_var: Option<&Path>) -> Check {
    const NAME: &str = "cred-helper";
    let program = helper_link::file_name(&format!("docker-credential-{name}"));
    let named_in: Vec<String> = uses
        .iter()
        .map(|u| {
            let mut what = u.hosts.clone();
            if u.store {
                what.push("credsStore".to_string());
            }
            format!("{} in {}", what.join(", "), u.path.display())
        })
        .collect();
    let named_in = named_in.join("; ");
    let ours = name == HELPER_NAME;
    let store_files: Vec<String> = uses
        .iter()
        .filter(|u| u.store)
        .map(|u| u.path.display().to_string())
        .collect();
    let remove = if ours {
        "run `crlogin configure-helper` to link it again, or `crlogin configure-helper --remove` to drop the entries".to_string()
    } else if !store_files.is_empty() {
        format!(
            "install {program}, or remove \"credsStore\" from {} (on CI, `crlogin login --isolated` writes a file without it)",
            store_files.join(", ")
        )
    } else {
        format!("install {program}, or remove the credHelpers entries naming {name:?}")
    };
    // docker reads the file's own entries when the helper is missing, helm fails; crlogin's own
    // helper names no entries in the file, so without it docker gets no credentials either.
    let helm_reads = uses.iter().any(|u| u.helm);
    let docker_reads = uses.iter().any(|u| u.docker);
    let missing = |what: String, remove: String| {
        if ours {
            Check::fail(
                NAME,
                format!("{what}: docker and helm get no credentials from it"),
                remove,
            )
        } else {
            let consequences = missing_helper::consequences(&program, helm_reads, docker_reads);
            let detail = format!("{what}: {consequences}");
            if helm_reads {
                Check::fail(NAME, detail, remove)
            } else {
                Check::warn(NAME, detail, remove)
            }
        }
    };
    match locate(&program, path_var) {
        Located::Executable(at) if store_files.is_empty() => Check::ok(
            NAME,
            format!("{} is executable (named by {named_in})", at.display()),
        ),
        Located::Executable(at) => Check::ok(
            NAME,
            format!("{} is executable, and \"credsStore\" makes docker and helm read every login from it: login stores through it, as docker login does (named by {named_in})", at.display()),
        ),
        Located::NotExecutable(at, mode) => Check::fail(
            NAME,
            format!("{} is on PATH but not executable (mode {mode:04o}): docker fails with \"permission denied\" for {named_in}", at.display()),
            if ours {
                format!("chmod +x {}, or {remove}", at.display())
            } else {
                format!("chmod +x {}", at.display())
            },
        ),
        Located::BrokenLink(at) => missing(
            format!("{} is a link to a file that does not exist ({named_in})", at.display()),
            remove,
        ),
        Located::Missing => missing(
            format!("{program} is not on PATH ({named_in})"),
            remove,
        ),
    }
}

/// What a PATH search for a helper program finds.
#[derive(Debug, PartialEq, Eq)]
enum Located {
    /// An executable file (the first on PATH, as docker's search takes it).
    Executable(PathBuf),
    /// Only a file that no one may execute, with its mode.
    NotExecutable(PathBuf, u32),
    /// Only a symlink whose target is missing.
    BrokenLink(PathBuf),
    /// Nothing by that name.
    Missing,
}

/// Searches `path_var` the way docker's `exec.LookPath` does (the first executable file in an
/// absolute entry wins; directories and non-executables are passed over), remembering what was
/// passed over.
fn locate(program: &str, path_var: Option<&Path>) -> Located {
    let mut passed_over = Located::Missing;
    let Some(path_var) = path_var else {
        return passed_over;
    };
    for dir in std::env::split_paths(path_var.as_os_str()) {
        // Empty and relative entries are skipped, as crlogin's helper search skips them.
        if !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(program);
        match fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() && private::is_executable(&meta) => {
                return Located::Executable(candidate)
            }
            Ok(meta) if meta.is_file() && !matches!(passed_over, Located::NotExecutable(..)) => {
                let mode = private::mode(&meta).unwrap_or_default();
                passed_over = Located::NotExecutable(candidate, mode);
            }
            Ok(_) => {}
            Err(_)
                if fs::symlink_metadata(&candidate).is_ok() && passed_over == Located::Missing =>
            {
                passed_over = Located::BrokenLink(candidate);
            }
            Err(_) => {}
        }
    }
    passed_over
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn locate_prefers_an_executable_and_remembers_what_it_passed_over() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let path_var = PathBuf::from(std::env::join_paths([&a, &b]).unwrap());
        let find = || locate("docker-credential-x", Some(&path_var));
        assert_eq!(find(), Located::Missing);

        std::os::unix::fs::symlink(tmp.path().join("gone"), a.join("docker-credential-x")).unwrap();
        assert_eq!(find(), Located::BrokenLink(a.join("docker-credential-x")));

        let plain = b.join("docker-credential-x");
        fs::write(&plain, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find(), Located::NotExecutable(plain.clone(), 0o644));

        fs::set_permissions(&plain, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find(), Located::Executable(plain));
        assert_eq!(locate("x", None), Located::Missing);
    }
}
