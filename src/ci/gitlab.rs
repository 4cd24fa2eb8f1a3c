//! GitLab CI. GitLab can only mask variables defined in its settings, never a value minted at
//! run time, so crlogin's guarantee there is simply that it prints none.

use super::Ci;

/// GitLab CI (`GITLAB_CI=true`).
pub struct GitLab;

impl Ci for GitLab {
    fn name(&self) -> &'static str {
        "GitLab CI"
    }

    fn mask(&self, _value: &str) {}
}
