//! Which CI crlogin runs in, and which credentials `login` would use: each source named (the
//! variable or file), with the registry and user, never the secret.

use super::Check;
pub use crate::auth::Iam;
use crate::auth::{self, Scope};
use crate::ci::Ci;
use crate::env::Env;

/// What the credential check learnt, for the checks after it.
#[derive(Default)]
pub struct Found {
    /// One scope per credential in `login`'s order (what the planner takes), each with its
    /// source for the host list.
    pub scopes: Vec<(Scope, String)>,
    /// Where the Nebius credential would be exchanged, when it is exchanged at all.
    pub iam: Option<Iam>,
    /// Whether the credentials could be read at all (false: `scopes` may be missing some).
    pub read: bool,
    /// Whether the Nebius credential is the VM's metadata service.
    pub metadata: bool,
}

/// Secrets are read through this: doctor prints no secret, so there is nothing to mask, and
/// no `::add-mask::` line carries a value to the log stream either.
pub struct Unmasked<'a>(pub &'a dyn Ci);

impl Ci for Unmasked<'_> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn mask(&self, _value: &str) {}
}

/// The CI detected, and where `login` writes there by default.
pub fn ci(ci: &dyn Ci, env: &Env, config_dir_named: bool) -> Check {
    let isolation_off = env
        .get("CRLOGIN_ISOLATED")
        .ok()
        .flatten()
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let no_ci = crate::ci::detect(&Env::default());
    let detail = if ci.name() == no_ci.name() {
        "no CI detected (none of GITHUB_ACTIONS=true, GITLAB_CI=true, JENKINS_URL, JENKINS_HOME with BUILD_ID)".to_string()
    } else if ci.isolates_by_default() && !isolation_off && !config_dir_named {
        format!("{}: login writes into a fresh directory under {} by default; the files below are the ones used with CRLOGIN_ISOLATED=false", ci.name(), ci.isolated_base(env).display())
    } else {
        ci.name().to_string()
    };
    Check::ok("ci", detail)
}

/// One check per credential `login` would use, or one failure saying what is missing.
pub fn credentials(
    env: &Env,
    ci: &dyn Ci,
    from_env: &[String],
    auth: &auth::Choice,
) -> (Vec<Check>, Found) {
    let logins = match auth::gather(env, &Unmasked(ci), from_env, auth) {
        Ok(logins) => logins,
        Err(e) => {
            let check = Check::fail(
                "credentials",
                format!("{e:#}"),
                "login stops with this same error: fix the variable or file it names",
            );
            return (vec![check], Found::default());
        }
    };
    if logins.is_empty() {
        let check = Check::fail(
            "credentials",
            "no credentials found: login would have nothing to log in with",
            format!("set one of: {}", auth::looked_for()),
        );
        let found = Found {
            read: true,
            ..Found::default()
        };
        return (vec![check], found);
    }
    let mut checks = Vec::new();
    let mut found = Found {
        read: true,
        ..Found::default()
    };
    for login in &logins {
        match &login.scope {
            Scope::Registry(registry) => {
                let user = login.shown_username();
                checks.push(
                    Check::ok("credentials", format!("user {user} for {registry}"))
                        .on(&login.source),
                );
            }
            Scope::Nebius => {
                let (detail, iam) = login.credential.describe(env);
                checks.push(Check::ok("credentials", detail).on(&login.source));
                found.iam = iam;
                found.metadata = auth::metadata::is_source(&login.source);
            }
        }
        found
            .scopes
            .push((login.scope.clone(), login.source.clone()));
    }
    (checks, found)
}

/// Whether this machine's metadata service (or mounted token) gives a usable token: a failure
/// only when login would use it.
pub fn metadata(env: &Env, ci: &dyn Ci, found: &Found) -> Check {
    match (auth::metadata::check(env, &Unmasked(ci)), found.metadata) {
        (Ok(detail), true) => Check::ok("metadata", detail),
        (Ok(detail), false) => Check::ok("metadata", format!("{detail}; login uses it only when no other credential is set, or with --auth metadata")),
        (Err(why), true) => Check::fail("metadata", why, "run crlogin on a Nebius VM or Managed Kubernetes node with a service account attached, or set another credential"),
        (Err(why), false) => Check::skip("metadata", format!("no Nebius VM service account here: {why}")),
    }
}
