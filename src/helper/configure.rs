//! `crlogin configure-helper`: makes docker, helm and podman ask crlogin for the Nebius
//! registries on every pull and push. It writes `"credHelpers": {"<host>": "crlogin"}` into each
//! tool's auth file (all three read `credHelpers`, which wins over an `auths` entry for the same
//! host), records the hosts beyond the Nebius regions for the helper ([`super::served`]), and
//! links `docker-credential-crlogin` to this executable. `--remove` takes all three away again,
//! leaving entries that name another helper alone.

use super::link::{self, Placed};
use super::{served, served_hosts, server_host, DOCKER_HELPER_PROGRAM, HELPER_NAME};
use crate::ci::Ci;
use crate::cli::ConfigureHelperArgs;
use crate::commands::nebius_hosts;
use crate::env::Env;
use crate::report;
use crate::sinks;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::Path;

/// Runs `configure-helper` (or its `--remove`), reporting on stderr.
pub fn run(args: &ConfigureHelperArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let hosts = nebius_hosts(&args.target, env)?;
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let files = sinks::files(&args.tools, env, None)?;
    let exe = link::current_exe()?;
    let home = crate::os::paths::home(env, crate::os::Os::CURRENT).ok();
    let dirs = link::candidate_dirs(&exe, args.bin_dir.as_deref(), home.as_deref());
    let (text, warnings) = if args.remove {
        // Without a selection, --remove takes away every entry naming crlogin.
        let named = crate::commands::selection(&args.target, env)?.names_hosts();
        let only = named.then_some(hosts.as_slice());
        let mut text = remove(&files, only, &exe, &dirs)?;
        text.push_str(&forget(env)?);
        let only_prefixes = (named || !args.from_env.is_empty()).then_some(&args.from_env[..]);
        text.push_str(&forget_prefixes(env, only_prefixes)?);
        (text, Vec::new())
    } else {
        configure(&files, &hosts, &args.from_env, &exe, &dirs, env)?
    };
    ci.section("crlogin configure-helper", &text);
    for warning in &warnings {
        ci.warning(warning);
    }
    Ok(())
}

fn configure(
    files: &[(sinks::Tool, std::path::PathBuf)],
    hosts: &[&str],
    prefixes: &[String],
    exe: &Path,
    dirs: &[std::path::PathBuf],
    env: &Env,
) -> Result<(String, Vec<String>)> {
    let mut warnings = Vec::new();
    let regions = served_hosts(&[])?;
    let extra: Vec<&str> = hosts
        .iter()
        .copied()
        .filter(|h| !regions.iter().any(|r| r == h))
        .collect();
    let record = served::path(env)?;
    // A record that cannot be updated stops the run before any file is written.
    served::load(&record)?;
    served::load_prefixes(&record)?;
    let prefixes: Vec<&str> = prefixes
        .iter()
        .map(|p| p.trim().trim_end_matches('_'))
        .collect();
    let written = sinks::write_cred_helpers(files, hosts, HELPER_NAME)?;
    if !extra.is_empty() {
        served::record(&record, &extra)?;
    }
    if !prefixes.is_empty() {
        served::record_prefixes(&record, &prefixes)?;
    }
    let (placed, passed_over) = link::install(exe, dirs)?;
    let mut text = format!(
        "crlogin: {} now {} crlogin for {}\n",
        report::tool_names(files),
        if files.len() == 1 { "asks" } else { "ask" },
        hosts.join(", ")
    );
    for entries in &written {
        let tools: Vec<&str> = entries.tools.iter().map(|t| t.name()).collect();
        let _ = writeln!(
            text,
            "  {}: credHelpers {} -> {HELPER_NAME:?} ({})",
            entries.path.display(),
            entries.keys.join(", "),
            tools.join(", ")
        );
        for (key, old) in &entries.replaced {
            warnings.push(format!(
                "{}: the credHelpers entry for {key} named {old:?}; it now names {HELPER_NAME:?}",
                entries.path.display()
            ));
        }
    }
    if !extra.is_empty() {
        let _ = writeln!(
            text,
            "  the helper serves {} from now on (recorded in {})",
            extra.join(", "),
            record.display()
        );
    }
    for why in &passed_over {
        let _ = writeln!(text, "  not next to crlogin: {why}");
    }
    match &placed {
        Placed::Created(path) => {
            let _ = writeln!(text, "  linked {} -> {}", path.display(), exe.display());
        }
        Placed::AlreadyThere(path) => {
            let _ = writeln!(text, "  {} -> {} (already there)", path.display(), exe.display());
        }
        Placed::NotOurs(path) => warnings.push(format!(
            "{} exists and is not a link: left as it is; remove it and run configure-helper again if it is not a crlogin",
            path.display()
        )),
    }
    let path_var = env.path("PATH");
    let dir = placed.path().parent().unwrap_or(Path::new("/"));
    match link::found_on_path(path_var.as_deref().map(|p| p.as_os_str())) {
        None => warnings.push(format!(
            "{} is not on PATH, so clients cannot run {DOCKER_HELPER_PROGRAM}: add it to PATH (e.g. export PATH=\"{}:$PATH\")",
            dir.display(),
            dir.display()
        )),
        Some(found) if std::fs::canonicalize(&found).ok().as_deref() != Some(exe) => {
            warnings.push(format!(
                "PATH finds {} before {}, and it is not this crlogin: remove it, or put {} first on PATH",
                found.display(),
                placed.path().display(),
                dir.display()
            ))
        }
        Some(_) => {}
    }
    if !prefixes.is_empty() {
        let _ = writeln!(
            text,
            "  the helper serves the logins in {} from now on (recorded in {})",
            prefix_list(&prefixes),
            record.display()
        );
    }
    text.push_str(
        "  the helper reads the Nebius credential from the environment the client runs in (NEBIUS_SA_CREDENTIALS_FILE, ...) or ~/.nebius/config.yaml\n",
    );
    text.push_str(
        "  and a username/password login for a host from DCR_* (or a recorded --from-env prefix) there\n",
    );
    Ok((text, warnings))
}

/// Forgets the recorded hosts that no tool's file (docker's, helm's or podman's, wherever this
/// environment puts them) still sends to crlogin, and says which.
fn forget(env: &Env) -> Result<String> {
    let mut still_named: Vec<String> = Vec::new();
    for (_, path) in sinks::files(crate::tools::TOOLS, env, None)? {
        let doc = crate::files::auth_file::read(&path)?;
        let Some(helpers) = doc.get("credHelpers").and_then(|v| v.as_object()) else {
            continue;
        };
        still_named.extend(
            helpers
                .iter()
                .filter(|(_, helper)| helper.as_str() == Some(HELPER_NAME))
                .filter_map(|(key, _)| server_host(key)),
        );
    }
    let record = served::path(env)?;
    let forgotten = served::forget_unless(&record, |host| still_named.iter().any(|h| h == host))?;
    Ok(match forgotten.as_slice() {
        [] => String::new(),
        hosts => format!(
            "  the helper no longer serves {} (forgotten in {})\n",
            hosts.join(", "),
            record.display()
        ),
    })
}

/// Forgets the recorded `--from-env` prefixes (only `only`, when given), and says which.
fn forget_prefixes(env: &Env, only: Option<&[String]>) -> Result<String> {
    let record = served::path(env)?;
    let trimmed: Option<Vec<String>> = only.map(|o| {
        o.iter()
            .map(|p| p.trim().trim_end_matches('_').to_string())
            .collect()
    });
    let forgotten = served::forget_prefixes(&record, trimmed.as_deref())?;
    Ok(match forgotten.as_slice() {
        [] => String::new(),
        prefixes => format!(
            "  the helper no longer serves the logins in {} (forgotten in {})\n",
            prefix_list(prefixes),
            record.display()
        ),
    })
}

/// `A_*, B_*`, for the report.
fn prefix_list(prefixes: &[impl AsRef<str>]) -> String {
    let shown: Vec<String> = prefixes
        .iter()
        .map(|p| format!("{}_*", p.as_ref()))
        .collect();
    shown.join(", ")
}

/// Removes the entries naming crlogin for `hosts` (every one, without `hosts`) and the link.
fn remove(
    files: &[(sinks::Tool, std::path::PathBuf)],
    hosts: Option<&[&str]>,
    exe: &Path,
    dirs: &[std::path::PathBuf],
) -> Result<String> {
    let removed = sinks::remove_cred_helpers(files, hosts, HELPER_NAME)?;
    let (links, kept) = link::remove(exe, dirs)?;
    let count: usize = removed.iter().map(|(_, keys)| keys.len()).sum();
    let mut text = format!(
        "crlogin: removed {count} credHelpers {} naming crlogin\n",
        if count == 1 { "entry" } else { "entries" }
    );
    for (path, keys) in removed.iter().filter(|(_, keys)| !keys.is_empty()) {
        let _ = writeln!(text, "  {}: {}", path.display(), keys.join(", "));
    }
    for path in &links {
        let _ = writeln!(text, "  removed {}", path.display());
    }
    for path in &kept {
        let _ = writeln!(
            text,
            "  kept {} (not a link to this crlogin)",
            path.display()
        );
    }
    Ok(text)
}
