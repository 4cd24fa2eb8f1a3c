//! The `login`, `logout` and `token` pipelines: ci -> auth (sources) -> plan -> sinks ->
//! report.

use crate::auth::{self, Scope};
use crate::ci::{Ci, Outcome};
use crate::cli::{
    AuthArgs, CleanupArgs, LoginArgs, LogoutArgs, NebiusTargetArgs, RegistryArgs, ReportFormat,
    TokenArgs,
};
use crate::env::Env;
use crate::no_credentials::{self, Wanted};
use crate::plan::{self, Planned};
use crate::registry::Selection;
use crate::report;
use crate::sinks::{self, Login, Tool};
use crate::state::{self, State};
use crate::verify;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The credentials a login writes, each with the registries it is for: what `login` and
/// `exec` share, resolved before anything is written.
pub struct Resolved {
    logins: Vec<Planned<auth::Credential>>,
}

impl Resolved {
    /// Each host with the credential written for it, in order.
    fn each(&self) -> impl Iterator<Item = (&str, &auth::Credential)> {
        self.logins
            .iter()
            .flat_map(|p| p.hosts.iter().map(move |h| (h.as_str(), &p.login)))
    }

    /// One report row per registry.
    pub fn rows(&self) -> Vec<report::Row<'_>> {
        self.each()
            .map(|(host, c)| report::Row {
                host,
                username: c.shown_username(),
                source: &c.source,
                expires_at: c.expires_at,
            })
            .collect()
    }

    /// The first credential that expires (an IAM token, given or exchanged), if any.
    pub fn expiring(&self) -> Option<&auth::Credential> {
        self.logins
            .iter()
            .map(|p| &p.login)
            .find(|c| c.kind.is_iam_token())
    }

    /// One auth-file entry per registry.
    pub fn logins(&self) -> Vec<Login<'_>> {
        self.each()
            .map(|(host, c)| Login {
                host,
                username: &c.username,
                secret: &c.secret,
            })
            .collect()
    }
}

/// Reads the inputs `select` and `auth` name and turns them into credentials for their hosts.
/// The registry selection is checked before any token exchange.
pub fn resolve_logins(
    select: &RegistryArgs,
    auth_args: &AuthArgs,
    dry_run: bool,
    env: &Env,
    ci: &dyn Ci,
) -> Result<Resolved> {
    let found = auth::gather(env, ci, &select.from_env, &auth_args.choice())?;
    resolve_found(found, select, auth_args, dry_run, env, ci)
}

/// Turns the logins found (in the environment, or docker's `-u`/`--password-stdin`) into
/// credentials for their hosts.
fn resolve_found(
    found: Vec<auth::Found>,
    select: &RegistryArgs,
    auth_args: &AuthArgs,
    dry_run: bool,
    env: &Env,
    ci: &dyn Ci,
) -> Result<Resolved> {
    if found.is_empty() {
        bail!("{}", no_credentials::message(Wanted::Any));
    }
    let planned = plan::plan(found, |f| &f.scope, &selection(&select.nebius, env)?)?;
    let options = auth_options(auth_args, dry_run);
    let logins = planned
        .into_iter()
        .map(|p| {
            Ok(Planned {
                hosts: p.hosts,
                login: auth::resolve(p.login, env, ci, &options)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Resolved { logins })
}

/// `crlogin login`.
pub fn login(args: &LoginArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let select = &args.target.select.registries;
    let found = match crate::docker_login::plain_login(&args.docker, std::io::stdin(), ci)? {
        Some(given) => vec![given],
        None => auth::gather(env, ci, &select.from_env, &args.auth.choice())?,
    };
    let resolved = resolve_found(found, select, &args.auth, args.dry_run, env, ci)?;
    let rows = resolved.rows();

    let isolated = isolation(args, env, ci)?;
    if args.dry_run {
        let dir = if isolated {
            Some(ci.isolated_base(env).join("crlogin-XXXXXX"))
        } else {
            args.target.config_dir.clone()
        };
        let files = sinks::files(&args.target.select.tools, env, dir.as_deref())?;
        ci.section(
            "crlogin login",
            &report::login(&rows, &files, ci.name(), true),
        );
        if args.output == ReportFormat::Json {
            print_json(&report::login_json(&rows, &files, &[], true))?;
        }
        return Ok(());
    }

    // Checked before anything is written: a refused credential leaves no file, entry or state.
    let verified = match args.verify {
        true => verify_logins(&resolved.logins(), verify_limits(args), ci)?,
        false => Vec::new(),
    };
    let isolated_dir = match isolated {
        true => Some(fresh_private_dir(env, ci)?),
        false => None,
    };
    let config_dir = isolated_dir
        .clone()
        .or_else(|| args.target.config_dir.clone());
    let files = sinks::files(&args.target.select.tools, env, config_dir.as_deref())?;
    let logins = resolved.logins();
    let hosts: Vec<&str> = logins.iter().map(|l| l.host).collect();
    // Only where cleanup will find the state: elsewhere nothing would ever put them back.
    let replaced = if config_dir.is_some() || ci.keeps_state() {
        crate::sinks::restore::save(&sinks::keys_by_file(&files, &hosts))?
    } else {
        Vec::new()
    };
    let path_var = env.path("PATH");
    let written = sinks::write_logins_via(
        &files,
        &logins,
        ci,
        path_var.as_deref().map(Path::as_os_str),
    )
    .inspect_err(|_| crate::sinks::restore::discard(&replaced))?;
    for warning in &written.warnings {
        ci.warning(warning);
    }
    // Only now: writing masked the encoded credentials, which must precede any other line.
    for host in &verified {
        ci.note(&format!("crlogin: verified {host}"));
    }
    let state = State {
        entries: sinks::keys_by_file(&files, &hosts)
            .into_iter()
            .map(|(file, keys)| state::Entry { file, keys })
            .collect(),
        stored: written
            .stored
            .iter()
            .map(|s| state::Stored {
                helper: s.helper.clone(),
                key: s.key.clone(),
            })
            .collect(),
        isolated_dir,
        replaced,
    };
    let mut exported = Vec::new();
    if let Some(dir) = &config_dir {
        state.save_in(dir)?;
        exported = export_config_dir(&files, ci)?;
        if args.output == ReportFormat::Text {
            print!("{}", report::export_lines(&exported));
        }
    }
    if args.export_env {
        let Some(nebius) = resolved
            .logins
            .iter()
            .map(|p| &p.login)
            .find(|c| c.scope == Scope::Nebius)
        else {
            bail!("--export-env exports the Nebius token, and no Nebius credential was found");
        };
        if nebius.kind == PasswordKind::StaticKey {
            bail!("--export-env exports an IAM token as NEBIUS_IAM_TOKEN, and a static key is not one: drop --export-env, or use a service-account key");
        }
        ci.export_secret("NEBIUS_IAM_TOKEN", nebius.secret.expose())?;
    }
    let mut text = report::login(&rows, &files, ci.name(), false);
    text.extend(written.stored.iter().map(|s| format!("{}\n", s.line)));
    ci.section("crlogin login", &text);
    ci.publish(&outcome(&rows, &files, &state))?;
    if args.output == ReportFormat::Json {
        print_json(&report::login_json(&rows, &files, &exported, false))?;
    }
    Ok(())
}

/// `crlogin logout`: the same selection as `login`, read without any secret; named hosts need
/// no credential variables at all.
pub fn logout(args: &LogoutArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let (named, args, output) = (&args.registry, &args.target, args.output);
    // `crlogin logout REGISTRY`, as docker's: that registry alone, whatever the environment holds.
    let (registries, nebius) = match named {
        Some(registry) => (vec![registry.clone()], false),
        None => (
            auth::registries_only(env, ci, &args.select.registries.from_env)?,
            auth::nebius_configured(env, ci),
        ),
    };
    let selection = selection(&args.select.registries.nebius, env)?;
    let mut scopes: Vec<Scope> = registries.into_iter().map(Scope::Registry).collect();
    if nebius || selection.names_hosts() {
        scopes.push(Scope::Nebius);
    }
    if scopes.is_empty() {
        bail!("nothing to log out of: name the registry (`crlogin logout REGISTRY`), the hosts with --registry or --region, or set the registry variable login read (DCR_REGISTRY, or PREFIX_REGISTRY with --from-env PREFIX); logout needs no password, key or token");
    }
    let planned = plan::plan(scopes, |s| s, &selection)?;
    let hosts: Vec<&str> = plan::hosts(&planned).collect();
    let files = sinks::files(&args.select.tools, env, args.config_dir.as_deref())?;
    let path_var = env.path("PATH");
    let (removed, erased) =
        sinks::remove_logins_via(&files, &hosts, path_var.as_deref().map(Path::as_os_str))?;
    let mut text = report::logout(&removed, hosts.len(), &files);
    text.extend(erased.iter().map(|line| format!("{line}\n")));
    ci.section("crlogin logout", &text);
    if output == ReportFormat::Json {
        print_json(&report::logout_json(&removed, &hosts, &files))?;
    }
    Ok(())
}

/// `crlogin cleanup`: undoes this job's login from the state it saved.
pub fn cleanup(args: &CleanupArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let dir = args
        .config_dir
        .clone()
        .or_else(|| env.path("DOCKER_CONFIG"));
    let saved = ci.saved_state(env);
    let from_config_dir = saved.is_none();
    let state = match saved {
        Some(json) => Some(State::from_json(&json)?),
        None => match &dir {
            Some(dir) => State::load_from(dir)?,
            None => None,
        },
    };
    let Some(state) = state else {
        let why = match crate::wrapper::current() {
            // The post step after a login that failed, or wrote nothing: nothing for the user to do.
            crate::wrapper::Wrapper::Shell => "no login in this job saved its state (logins without --isolated or --config-dir are undone with `crlogin logout`)",
            _ => "the login step saved no state (it failed or stopped before writing anything)",
        };
        ci.note(&format!("crlogin: nothing to clean up: {why}"));
        return Ok(());
    };
    let tool_files: Vec<PathBuf> = crate::tools::TOOLS
        .iter()
        .filter_map(|tool| tool.auth_file(env).ok())
        .collect();
    let (removed, restored) = state.undo(&state::Bounds {
        config_dir: dir.as_deref(),
        from_config_dir,
        isolated_base: &ci.isolated_base(env),
        tool_files: &tool_files,
    })?;
    let mut text = format!(
        "crlogin: cleaned up {removed} {} in {} {}\n",
        if removed == 1 { "entry" } else { "entries" },
        state.entries.len(),
        if state.entries.len() == 1 {
            "file"
        } else {
            "files"
        }
    );
    if restored > 0 {
        text.push_str(&format!(
            "  put back {restored} {} this job's login had replaced\n",
            if restored == 1 { "entry" } else { "entries" }
        ));
    }
    if let Some(dir) = &state.isolated_dir {
        text.push_str(&format!("  removed {}\n", dir.display()));
    }
    ci.section("crlogin cleanup", &text);
    Ok(())
}

/// Whether this login writes into a fresh directory: `--isolated`, or the CI's default when no
/// `--config-dir` is named and `CRLOGIN_ISOLATED=false` does not turn it off.
fn isolation(args: &LoginArgs, env: &Env, ci: &dyn Ci) -> Result<bool> {
    let turned_off = env
        .get("CRLOGIN_ISOLATED")?
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    match (args.isolated, &args.target.config_dir) {
        (true, Some(_)) => {
            bail!("--isolated and --config-dir both choose where to write: keep one")
        }
        (true, None) => Ok(true),
        (false, Some(_)) => Ok(false),
        (false, None) => Ok(ci.isolates_by_default() && !turned_off),
    }
}

/// The outcome the CI publishes: rows, usernames, earliest expiry and the state.
fn outcome(rows: &[report::Row], files: &[(Tool, PathBuf)], state: &State) -> Outcome {
    let tools = report::tool_names(files);
    let mut usernames: Vec<String> = Vec::new();
    for row in rows {
        if !usernames.iter().any(|u| u == row.username) {
            usernames.push(row.username.to_string());
        }
    }
    Outcome {
        rows: rows
            .iter()
            .map(|r| {
                [
                    r.host.to_string(),
                    r.username.to_string(),
                    tools.clone(),
                    report::expiry(r.expires_at),
                ]
            })
            .collect(),
        usernames,
        expires_at: rows
            .iter()
            .filter_map(|r| r.expires_at)
            .min()
            .map(|t| report::expiry(Some(t))),
        state: state.to_json(),
    }
}

/// `crlogin token`: the Nebius registry password alone on stdout, for `--password-stdin`.
pub fn token(args: &TokenArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let (credential, _) = nebius_credential(&args.auth, env, ci)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", credential.secret.expose())
        .and_then(|()| out.flush())
        .context("cannot write the token to stdout")?;
    ci.note(&format!(
        "crlogin: printed a Nebius registry password from {}; expires {}",
        credential.source,
        report::expiry(credential.expires_at)
    ));
    Ok(())
}

pub use crate::auth::PasswordKind;

/// The Nebius registry password from the environment, through the token cache: what `token`,
/// the credential helpers and `k8s-secret` hand out.
pub fn nebius_credential(
    args: &AuthArgs,
    env: &Env,
    ci: &dyn Ci,
) -> Result<(auth::Credential, PasswordKind)> {
    let Some(input) = auth::find_nebius(env, ci, &args.choice())? else {
        bail!("{}", no_credentials::message(Wanted::Nebius));
    };
    let kind = input.credential.kind();
    let credential = auth::resolve(input, env, ci, &auth_options(args, false))
        .map_err(|e| no_credentials::narrowed(e, Wanted::Nebius))?;
    Ok((credential, kind))
}

/// The exchange settings from the flags.
pub fn auth_options(args: &AuthArgs, dry_run: bool) -> auth::Options {
    auth::Options {
        retries: args.retries,
        timeout: Duration::from_secs(args.timeout),
        cache: !args.no_cache,
        dry_run,
    }
}

/// The Nebius hosts `args` select, as `login` selects them for a Nebius credential: the named
/// regions and registries, else `NEBIUS_REGION`, else every region.
pub fn nebius_hosts(args: &NebiusTargetArgs, env: &Env) -> Result<Vec<String>> {
    plan::nebius_hosts(&selection(args, env)?)
}

/// The registry selection `args` name, with `NEBIUS_REGION` as the default region.
pub fn selection(args: &NebiusTargetArgs, env: &Env) -> Result<Selection> {
    Ok(Selection {
        regions: args.regions.clone(),
        all_regions: args.all_regions,
        registries: args.registries.clone(),
        default_region: env.get("NEBIUS_REGION")?,
    })
}

/// A fresh 0700 `crlogin-*` directory in the CI's per-job temporary place, for `--isolated`
/// and `exec`.
///
/// The CI's per-job directory comes first. Where another user controls it (a GitHub container job
/// runs as root while `RUNNER_TEMP` belongs to the runner's uid), the system's temporary directory
/// serves instead if it passes the same check; only when neither does is the login refused.
pub fn fresh_private_dir(env: &Env, ci: &dyn Ci) -> Result<PathBuf> {
    let base = ci.isolated_base(env);
    sinks::check_path(
        &base,
        "the directory for --isolated",
        "set TMPDIR (RUNNER_TEMP on GitHub, WORKSPACE on Jenkins) to a plain path",
    )?;
    if let Some(problem) = crate::files::private_base_problem(&base) {
        let system = std::env::temp_dir();
        if system == base || crate::files::private_base_problem(&system).is_some() {
            bail!("{problem}: run crlogin as that directory's owner, or set TMPDIR (RUNNER_TEMP on GitHub, WORKSPACE on Jenkins) to a directory only you and root control");
        }
        ci.note(&format!(
            "crlogin: {problem}, so the private directory is made under {} instead",
            system.display()
        ));
        return make_isolated_dir(&system);
    }
    make_isolated_dir(&base)
}

/// A fresh 0700 directory under `base` that outlives this process (the job removes it).
fn make_isolated_dir(base: &Path) -> Result<PathBuf> {
    crate::files::auth_file::create_private_dir(base)?;
    crate::os::private::temp_dir_in(base, "crlogin-")
        .with_context(|| format!("cannot create a directory in {}", base.display()))
}

/// Hands the tools' variables to the CI, so later steps find the files; returns them for the
/// `export` lines (or the JSON report).
fn export_config_dir(
    files: &[(Tool, PathBuf)],
    ci: &dyn Ci,
) -> Result<Vec<(&'static str, PathBuf)>> {
    let vars: Vec<(&str, PathBuf)> = files
        .iter()
        .map(|(tool, path)| tool.env_var(path))
        .collect();
    for (name, value) in &vars {
        ci.export_var(name, value)?;
    }
    Ok(vars)
}

/// One JSON document on stdout (`-o json`).
fn print_json(value: &serde_json::Value) -> Result<()> {
    let text = report::inert_json(value)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the report to stdout: {}", e.kind()))
}

/// `--verify`'s bounds: `--verify-timeout` per attempt, `--retries` and `--timeout` in all.
fn verify_limits(args: &LoginArgs) -> verify::Limits {
    verify::Limits {
        attempt: Duration::from_secs(args.verify_timeout),
        total: Duration::from_secs(args.auth.timeout),
        retries: args.auth.retries,
    }
}

/// Asks every registry whether it accepts its credential and returns the hosts; any refusal is
/// the error, after the CI's summary says which registries failed and why (nothing has been
/// written then).
fn verify_logins(logins: &[Login], limits: verify::Limits, ci: &dyn Ci) -> Result<Vec<String>> {
    let checks = logins
        .iter()
        .map(|l| verify::Check {
            host: l.host.to_string(),
            username: l.username.to_string(),
            secret: zeroize::Zeroizing::new(l.secret.expose().to_string()),
        })
        .collect();
    let results = verify::verify_all(checks, limits)?;
    let failures: Vec<(String, String)> = results
        .iter()
        .filter_map(|(host, outcome)| {
            outcome
                .as_ref()
                .err()
                .map(|e| (host.clone(), format!("{e:#}")))
        })
        .collect();
    if failures.is_empty() {
        return Ok(results.into_iter().map(|(host, _)| host).collect());
    }
    ci.publish_failure(&failures)?;
    // One failure is the error line itself, so its cause and fix are where a reader looks first.
    match failures.as_slice() {
        [(host, why)] => {
            bail!("--verify: {host} did not accept the login: {why}; nothing was written")
        }
        many => {
            for (host, why) in many {
                ci.note(&format!("crlogin: {host}: {why}"));
            }
            bail!(
                "--verify: {} of {} registries did not accept the login (see above); nothing was written",
                many.len(),
                results.len()
            )
        }
    }
}
