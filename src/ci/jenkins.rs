//! Jenkins. `withCredentials` masks only the values it bound, not ones derived from them, so
//! crlogin's guarantee there is that it prints none.

use super::Ci;
use crate::env::Env;
use std::path::PathBuf;

/// Jenkins (`JENKINS_URL`, or `JENKINS_HOME` with `BUILD_ID`).
pub struct Jenkins;

impl Ci for Jenkins {
    fn name(&self) -> &'static str {
        "Jenkins"
    }

    fn mask(&self, _value: &str) {}

    /// Agents are shared between jobs: credentials must not stay in the agent user's home.
    fn isolates_by_default(&self) -> bool {
        true
    }

    /// `$WORKSPACE@tmp` is the per-build scratch directory Jenkins itself uses for secrets files.
    fn isolated_base(&self, env: &Env) -> PathBuf {
        match env.path("WORKSPACE") {
            Some(ws) => {
                let mut tmp = ws.into_os_string();
                tmp.push("@tmp");
                PathBuf::from(tmp)
            }
            None => env.path("TMPDIR").unwrap_or_else(std::env::temp_dir),
        }
    }
}
