//! GitLab's `CI_REGISTRY`, `CI_REGISTRY_USER`, `CI_REGISTRY_PASSWORD`: the job's login to the
//! project's container registry, read only inside GitLab CI (`GITLAB_CI=true`).

use super::{Found, Kind, PasswordKind, Scope, Source, Vars};
use anyhow::{Context, Result};

/// The source.
pub static SOURCE: GitlabRegistry = GitlabRegistry;

/// See the module documentation.
pub struct GitlabRegistry;

const VARS: [&str; 3] = ["CI_REGISTRY", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"];

impl Source for GitlabRegistry {
    fn name(&self) -> &'static str {
        "gitlab-registry"
    }

    fn help(&self) -> &'static str {
        "CI_REGISTRY* inside GitLab CI: the job's login to the project's registry"
    }

    fn needs(&self) -> &'static str {
        "CI_REGISTRY/CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab)"
    }

    fn kind(&self) -> Kind {
        Kind::Registry
    }

    fn configured(&self, vars: &Vars) -> bool {
        vars.env().is_true("GITLAB_CI") && vars.env().is_set("CI_REGISTRY")
    }

    fn registries(&self, vars: &Vars) -> Result<Vec<String>> {
        if !vars.env().is_true("GITLAB_CI") {
            return Ok(Vec::new());
        }
        match vars.plain("CI_REGISTRY")? {
            Some(registry) => Ok(vec![vars.check_registry_file("CI_REGISTRY", registry)?]),
            None => Ok(Vec::new()),
        }
    }

    fn find(&self, vars: &Vars, _forced: bool) -> Result<Option<Found>> {
        let env = vars.env();
        if !env.is_true("GITLAB_CI") || !VARS.iter().all(|name| env.is_set(name)) {
            return Ok(None);
        }
        let username = vars.plain("CI_REGISTRY_USER")?.unwrap_or_default();
        let registry = vars.plain("CI_REGISTRY")?.unwrap_or_default();
        Ok(Some(Found::login(
            "CI_REGISTRY (GitLab)".to_string(),
            Scope::Registry(vars.check_registry_file("CI_REGISTRY", registry)?),
            vars.username("CI_REGISTRY_USER", username)?,
            vars.secret("CI_REGISTRY_PASSWORD")?.context(
                "CI_REGISTRY_PASSWORD is empty: GitLab sets it for every job; check the job's variables",
            )?,
            PasswordKind::Password,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_in;

    #[test]
    fn gitlab_registry_only_in_gitlab() {
        let vars = [
            ("CI_REGISTRY", "registry.gitlab.example"),
            ("CI_REGISTRY_USER", "gitlab-ci-token"),
            ("CI_REGISTRY_PASSWORD", "job-token"),
        ];
        assert!(found_in(&vars, &[]).unwrap().is_empty());
        let mut in_gitlab = vars.to_vec();
        in_gitlab.push(("GITLAB_CI", "true"));
        assert_eq!(found_in(&in_gitlab, &[]).unwrap().len(), 1);
    }
}
