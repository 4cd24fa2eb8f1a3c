//! The planner: the user's selection and the logins the sources found become the list of
//! logins to write, each with the hosts it is for. Nothing downstream joins hosts to
//! credentials: a [`Planned`] carries both.

use crate::auth::Scope;
use crate::registry::{nebius_host, parse_registry, Selection, NEBIUS_REGIONS};
use anyhow::{bail, Result};

/// One login (a found source, or a credential resolved from it) and the hosts it is for.
#[derive(Debug)]
pub struct Planned<T> {
    /// The auth keys (host with an optional port), in the order they are written.
    pub hosts: Vec<String>,
    /// The login.
    pub login: T,
}

/// Chooses the hosts for each login (`scope` says which it serves). A Nebius login gets the
/// named regions and registries, else `NEBIUS_REGION`, else every region; a registry login its
/// own registry's host. Two logins for one host are an error, as is a Nebius selection with no
/// Nebius login.
pub fn plan<T>(
    logins: Vec<T>,
    scope: impl Fn(&T) -> &Scope,
    selection: &Selection,
) -> Result<Vec<Planned<T>>> {
    if !logins.iter().any(|l| *scope(l) == Scope::Nebius) && selection.names_hosts() {
        bail!(
            "--region, --all-regions and --registry choose hosts for a Nebius credential, and none was found: \
             set one of {}",
            crate::auth::nebius_looked_for()
        );
    }
    let mut planned: Vec<Planned<T>> = Vec::new();
    for login in logins {
        let hosts = match scope(&login) {
            Scope::Registry(value) => vec![parse_registry(value)?],
            Scope::Nebius => nebius_hosts(selection)?,
        };
        if let Some(host) = hosts
            .iter()
            .find(|h| planned.iter().any(|p| p.hosts.contains(h)))
        {
            bail!("two credentials were found for {host}: keep one of them");
        }
        planned.push(Planned { hosts, login });
    }
    Ok(planned)
}

/// Every host of a plan, in order.
pub fn hosts<T>(planned: &[Planned<T>]) -> impl Iterator<Item = &str> {
    planned
        .iter()
        .flat_map(|p| p.hosts.iter().map(String::as_str))
}

/// The Nebius hosts a selection names (deduplicated, in order).
pub fn nebius_hosts(selection: &Selection) -> Result<Vec<String>> {
    let mut hosts = Vec::new();
    if selection.all_regions || !selection.names_hosts() && selection.default_region.is_none() {
        hosts.extend(
            NEBIUS_REGIONS
                .iter()
                .map(|r| format!("cr.{r}.nebius.cloud")),
        );
    } else if !selection.names_hosts() {
        hosts.extend(
            selection
                .default_region
                .iter()
                .map(|r| nebius_host(r))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    for region in selection.regions.iter().filter(|r| !r.trim().is_empty()) {
        hosts.push(nebius_host(region)?);
    }
    for registry in &selection.registries {
        hosts.push(parse_registry(registry)?);
    }
    let mut unique = Vec::new();
    for host in hosts {
        if !unique.contains(&host) {
            unique.push(host);
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_scopes(scopes: &[Scope], selection: &Selection) -> Result<Vec<Planned<Scope>>> {
        plan(scopes.to_vec(), |s| s, selection)
    }

    fn hosts_of(scopes: &[Scope], selection: &Selection) -> Vec<String> {
        let planned = plan_scopes(scopes, selection).unwrap();
        super::hosts(&planned).map(String::from).collect()
    }

    #[test]
    fn nebius_default_is_env_region_else_all() {
        let scopes = [Scope::Nebius];
        let all = hosts_of(&scopes, &Selection::default());
        assert_eq!(all.len(), NEBIUS_REGIONS.len());
        let one = Selection {
            default_region: Some("eu-west1".into()),
            ..Default::default()
        };
        let hosts: Vec<String> = hosts_of(&scopes, &one);
        assert_eq!(hosts, ["cr.eu-west1.nebius.cloud"]);
        let named = Selection {
            regions: vec!["us-central1".into()],
            registries: vec!["mirror.example:5000".into()],
            default_region: Some("eu-west1".into()),
            ..Default::default()
        };
        let hosts: Vec<String> = hosts_of(&scopes, &named);
        assert_eq!(
            hosts,
            ["cr.us-central1.nebius.cloud", "mirror.example:5000"]
        );
    }

    #[test]
    fn region_without_nebius_credential_is_an_error() {
        let sel = Selection {
            regions: vec!["eu-north1".into()],
            ..Default::default()
        };
        assert!(plan_scopes(&[Scope::Registry("r.example".into())], &sel).is_err());
    }

    #[test]
    fn two_credentials_for_one_host_is_an_error() {
        let scopes = [
            Scope::Registry("r.example/a".into()),
            Scope::Registry("r.example/b".into()),
        ];
        assert!(plan_scopes(&scopes, &Selection::default()).is_err());
    }
}
