//! `crlogin doctor`: the troubleshooting a failing login needs, automated. It looks at what
//! `crlogin login` would use (CI, credential source, the tools' files and credential helpers,
//! regions and hosts) and at what it would talk to (the IAM endpoint and its clock, each
//! registry's `/v2/`), and reports one line per check with a fix for each problem.
//!
//! It writes nothing and exchanges nothing. Secrets are read only to learn which source applies
//! and whether it parses; no check's text is built from a secret's value.

mod credentials;
mod files;
mod kubelet;
mod network;
mod output;
mod selection;

use crate::ci::Ci;
use crate::cli::{DoctorArgs, ReportFormat};
use crate::env::Env;
use crate::sinks;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::time::Duration;

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but may surprise (login succeeds; something else may not).
    Warn,
    /// `login`, or the tools after it, would fail; the check says how to fix it.
    Fail,
    /// Not applicable to this setup (e.g. no service-account key, so no clock check).
    Skip,
}

impl Status {
    /// The status as the report shows it (`ok`, `warn`, `FAIL`, `skip`).
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }

    /// The status as the JSON document names it (lower case).
    pub fn key(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's outcome. No field ever holds a secret.
#[derive(Debug, Clone)]
pub struct Check {
    /// Which check: one of a fixed set of names (`ci`, `credentials`, `config-file`, ...).
    pub name: &'static str,
    /// What it looked at, where there are several (a file, a helper, a host).
    pub subject: Option<String>,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it (for `warn` and `fail`).
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: String, fix: Option<String>) -> Self {
        Self {
            name,
            subject: None,
            status,
            detail,
            fix,
        }
    }

    /// A passed check.
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail.into(), None)
    }

    /// A check that does not apply here.
    pub fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, detail.into(), None)
    }

    /// A warning, with what to do about it.
    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail.into(), Some(fix.into()))
    }

    /// A failure, with its fix.
    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail.into(), Some(fix.into()))
    }

    /// The same check, about `subject`.
    pub fn on(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

/// Runs every check and prints the report on stdout. Fails (exit 1) when any check failed;
/// warnings alone are success.
pub fn run(args: &DoctorArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    let checks = all_checks(args, env, ci);
    let report = match args.output {
        // The runner reads workflow commands on stdout too: each line goes through the CI's
        // cleaning, as every stderr line does.
        ReportFormat::Text => crate::ci::clean_lines(ci, &output::text(&checks, ci.name())),
        ReportFormat::Json => output::json(&checks, ci.name()),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(report.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write the report to stdout")?;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| match &c.subject {
            Some(subject) => format!("{} {subject}", c.name),
            None => c.name.to_string(),
        })
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} checks failed ({}): each has a fix in the report",
            failed.len(),
            checks.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

/// The checks in report order: what login would read, then what it would reach.
fn all_checks(args: &DoctorArgs, env: &Env, ci: &dyn Ci) -> Vec<Check> {
    let mut checks = vec![credentials::ci(ci, env, args.target.config_dir.is_some())];
    let choice = crate::auth::Choice {
        source: args.source,
        impersonate: args.impersonate.clone(),
    };
    let (found_checks, found) =
        credentials::credentials(env, ci, &args.target.select.registries.from_env, &choice);
    checks.extend(found_checks);
    checks.push(credentials::metadata(env, ci, &found));
    let nebius = found
        .scopes
        .iter()
        .any(|(s, _)| *s == crate::auth::Scope::Nebius);
    checks.extend(kubelet::check(env, nebius));

    match sinks::files(
        &args.target.select.tools,
        env,
        args.target.config_dir.as_deref(),
    ) {
        Ok(paths) => {
            let (file_checks, documents) = files::config_files(&paths);
            checks.extend(file_checks);
            let unmasked = credentials::Unmasked(ci);
            checks.extend(files::credential_helpers(
                &documents, env, &unmasked, &choice,
            ));
        }
        Err(e) => checks.push(Check::fail(
            "config-file",
            format!("{e:#}"),
            "set HOME, or name the directory login writes into with --config-dir DIR",
        )),
    }

    let (selection_checks, hosts) =
        selection::hosts(&args.target.select.registries.nebius, env, &found);
    checks.extend(selection_checks);
    checks.extend(network::checks(
        found.iam.as_ref(),
        &hosts,
        Duration::from_secs(args.timeout),
    ));
    checks
}
