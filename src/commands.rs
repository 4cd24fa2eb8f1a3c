//! The `login` and `logout` pipelines: ci -> secrets -> auth -> registry -> sinks -> report.

use crate::auth::{self, Scope};
use crate::ci::Ci;
use crate::cli::{LoginArgs, TargetArgs};
use crate::env::Env;
use crate::registry::{self, Selection, Target};
use crate::report;
use crate::secrets::{self, LOOKED_FOR};
use crate::sinks::{self, Login, Tool};
use crate::verify;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `crlogin login`.
pub fn login(args: &LoginArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let inputs = secrets::gather(env, ci, &args.target.from_env)?;
    if inputs.is_empty() {
        bail!("no credentials found: set {LOOKED_FOR}");
    }
    let credentials = auth::resolve(inputs);
    let scopes: Vec<Scope> = credentials.iter().map(|c| c.scope.clone()).collect();
    let targets = registry::select(&scopes, &selection(&args.target, env)?)?;
    let rows: Vec<report::Row> = targets
        .iter()
        .map(|t| {
            let c = &credentials[t.scope];
            report::Row {
                host: &t.host,
                username: &c.username,
                source: &c.source,
                expires_at: c.expires_at,
            }
        })
        .collect();

    if args.dry_run {
        let dir = if args.isolated {
            Some(ci.isolated_base(env).join("crlogin-XXXXXX"))
        } else {
            args.target.config_dir.clone()
        };
        let files = sinks::files(&args.target.tools, env, dir.as_deref())?;
        report::login(&rows, &files, ci.name(), true);
        return Ok(());
    }

    let config_dir = match (&args.target.config_dir, args.isolated) {
        (_, true) => Some(make_isolated_dir(&ci.isolated_base(env))?),
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => None,
    };
    let files = sinks::files(&args.target.tools, env, config_dir.as_deref())?;
    let logins: Vec<Login> = targets
        .iter()
        .map(|t| {
            let c = &credentials[t.scope];
            Login {
                host: &t.host,
                username: &c.username,
                secret: &c.secret,
            }
        })
        .collect();
    let warnings = sinks::write_logins(&files, &logins, ci)?;
    for warning in &warnings {
        ci.warning(warning);
    }
    if config_dir.is_some() {
        export_config_dir(&files, ci)?;
    }
    report::login(&rows, &files, ci.name(), false);

    if args.verify {
        verify_logins(&logins, Duration::from_secs(args.verify_timeout))?;
    }
    Ok(())
}

/// `crlogin logout`: the same selection as `login`; named hosts need no credential.
pub fn logout(args: &TargetArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let inputs = secrets::gather(env, ci, &args.from_env)?;
    let selection = selection(args, env)?;
    let mut scopes = auth::scopes(&inputs);
    if selection.names_hosts() && !scopes.contains(&Scope::Nebius) {
        scopes.push(Scope::Nebius);
    }
    if scopes.is_empty() {
        bail!("nothing to log out of: name hosts with --region/--registry, or set the variables login used ({LOOKED_FOR})");
    }
    let targets: Vec<Target> = registry::select(&scopes, &selection)?;
    let hosts: Vec<&str> = targets.iter().map(|t| t.host.as_str()).collect();
    let files = sinks::files(&args.tools, env, args.config_dir.as_deref())?;
    let removed = sinks::remove_logins(&files, &hosts)?;
    report::logout(&removed, hosts.len(), &files);
    Ok(())
}

fn selection(args: &TargetArgs, env: &Env) -> Result<Selection> {
    Ok(Selection {
        regions: args.regions.clone(),
        all_regions: args.all_regions,
        registries: args.registries.clone(),
        default_region: env.get("NEBIUS_REGION")?,
    })
}

/// A fresh 0700 directory under `base` that outlives this process (the job removes it).
fn make_isolated_dir(base: &Path) -> Result<PathBuf> {
    sinks::auth_file::create_private_dir(base)?;
    let dir = tempfile::Builder::new()
        .prefix("crlogin-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(base)
        .with_context(|| format!("cannot create a directory in {}", base.display()))?;
    Ok(dir.keep())
}

/// Prints `export` lines on stdout and hands the variables to the CI, so tools find the files.
fn export_config_dir(files: &[(Tool, PathBuf)], ci: &dyn Ci) -> Result<()> {
    let vars: Vec<(&str, PathBuf)> = files
        .iter()
        .map(|(tool, path)| tool.env_var(path))
        .collect();
    for (name, value) in &vars {
        ci.export_var(name, value)?;
    }
    print!("{}", report::export_lines(&vars));
    Ok(())
}

fn verify_logins(logins: &[Login], timeout: Duration) -> Result<()> {
    let checks = logins
        .iter()
        .map(|l| verify::Check {
            host: l.host.to_string(),
            username: l.username.to_string(),
            secret: zeroize::Zeroizing::new(l.secret.expose().to_string()),
        })
        .collect();
    let results = verify::verify_all(checks, timeout)?;
    let mut failed = 0;
    for (host, outcome) in &results {
        match outcome {
            Ok(()) => eprintln!("crlogin: verified {host}"),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "crlogin: {host}: {}",
                    crate::ci::one_line(&format!("{e:#}"))
                );
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} registries did not accept the credential (see above); the credentials were written", results.len());
    }
    Ok(())
}
