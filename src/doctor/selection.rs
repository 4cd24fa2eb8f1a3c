//! Whether the selected Nebius regions exist, and which hosts `login` would write entries for
//! (the same selection `login` makes).

use super::credentials::Found;
use super::Check;
use crate::auth::Scope;
use crate::cli::NebiusTargetArgs;
use crate::commands;
use crate::env::Env;
use crate::plan;
use crate::registry::{self, Selection, NEBIUS_REGIONS};

/// The `regions` and `hosts` checks, and the hosts (each with its credential's source) to
/// check for reachability.
pub fn hosts(args: &NebiusTargetArgs, env: &Env, found: &Found) -> (Vec<Check>, Vec<String>) {
    let selection = match commands::selection(args, env) {
        Ok(selection) => selection,
        Err(e) => {
            let fix = "set NEBIUS_REGION to a region name in UTF-8, or unset it";
            return (
                vec![Check::fail("regions", format!("{e:#}"), fix)],
                Vec::new(),
            );
        }
    };
    let nebius_found = found.scopes.iter().any(|(s, _)| *s == Scope::Nebius);
    // Unreadable credentials already failed above: the named regions are checked regardless.
    let has_nebius = nebius_found || (!found.read && selection.names_hosts());
    let regions = regions(&selection, has_nebius);
    let regions_failed = regions.status == super::Status::Fail;

    // Named hosts are still listed (and checked) when the credential is missing.
    let mut scopes = found.scopes.clone();
    if !nebius_found && selection.names_hosts() {
        let why = if found.read {
            "no Nebius credential"
        } else {
            "credentials unreadable"
        };
        scopes.push((Scope::Nebius, why.to_string()));
    }
    let plain_only: Vec<(Scope, String)> = scopes
        .iter()
        .filter(|(s, _)| *s != Scope::Nebius)
        .cloned()
        .collect();
    let (chosen, selection) = if regions_failed {
        (&plain_only, Selection::default())
    } else {
        (&scopes, selection)
    };
    let (hosts_check, hosts) = match plan::plan(chosen.clone(), |(s, _)| s, &selection) {
        Ok(planned) if planned.is_empty() => (
            Check::skip("hosts", "no registry is selected, so none is checked below"),
            Vec::new(),
        ),
        Ok(planned) => {
            let listed: Vec<String> = planned
                .iter()
                .flat_map(|p| p.hosts.iter().map(|h| format!("{h} ({})", p.login.1)))
                .collect();
            let more = if regions_failed {
                "; the Nebius hosts follow once the regions are fixed"
            } else {
                ""
            };
            (
                Check::ok(
                    "hosts",
                    format!("login would write {}{more}", listed.join(", ")),
                ),
                plan::hosts(&planned).map(String::from).collect(),
            )
        }
        Err(e) => (
            Check::fail(
                "hosts",
                format!("{e:#}"),
                "login stops with this same error: fix the registry value or selection it names",
            ),
            Vec::new(),
        ),
    };
    (vec![regions, hosts_check], hosts)
}

/// Whether every region named (or `NEBIUS_REGION`, when none is) is a known one.
fn regions(selection: &Selection, has_nebius: bool) -> Check {
    let named: Vec<&str> = selection
        .regions
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .collect();
    let known = NEBIUS_REGIONS.join(", ");
    if !has_nebius {
        if selection.names_hosts() {
            return Check::fail(
                "regions",
                "--region, --all-regions and --registry choose hosts for a Nebius credential, and none was found",
                format!("set one of {}, or drop the region/registry selection", crate::auth::nebius_looked_for()),
            );
        }
        return Check::skip("regions", "no Nebius credential, so no region is used");
    }
    let (candidates, from): (Vec<&str>, &str) = if !named.is_empty() {
        (named, "--region/NEBIUS_REGIONS")
    } else if selection.all_regions || !selection.registries.is_empty() {
        (Vec::new(), "")
    } else if let Some(region) = selection.default_region.as_deref() {
        (vec![region.trim()], "NEBIUS_REGION")
    } else {
        return Check::ok(
            "regions",
            format!("no region named and NEBIUS_REGION unset: every region ({known})"),
        );
    };
    if candidates.is_empty() {
        let what = if selection.all_regions {
            format!("--all-regions: {known}")
        } else {
            "no region: only the --registry hosts".to_string()
        };
        return Check::ok("regions", what);
    }
    let unknown: Vec<String> = candidates
        .iter()
        .filter(|r| registry::nebius_host(r).is_err())
        .map(|r| format!("{r:?}"))
        .collect();
    if unknown.is_empty() {
        Check::ok(
            "regions",
            format!("{} (from {from})", candidates.join(", ")),
        )
    } else {
        Check::fail(
            "regions",
            format!("unknown Nebius region {} (from {from})", unknown.join(", ")),
            format!("use known regions in {from}: {known}"),
        )
    }
}
