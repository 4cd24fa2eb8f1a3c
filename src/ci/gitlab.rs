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

    /// GitLab's collapsible section markers (escape lines the job log folds).
    fn section(&self, title: &str, text: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let text = super::clean_lines(self, text);
        super::to_stderr(&format!(
            "\x1b[0Ksection_start:{now}:crlogin[collapsed=true]\r\x1b[0K{title}\n{text}\x1b[0Ksection_end:{now}:crlogin\r\x1b[0K\n"
        ));
    }
}
