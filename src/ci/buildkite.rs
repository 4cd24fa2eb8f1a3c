//! Buildkite. Secrets are masked with `buildkite-agent redactor add` (agent 3.66 and newer; the
//! value on stdin), the report is a `---` group, and the ID token comes from
//! `buildkite-agent oidc request-token`. Variables reach the job's command through the plugin's
//! `environment` hook, which evaluates the `export` lines crlogin prints.

use super::{tool, Ci, IdToken, IdTokenRequest};
use crate::env::Env;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::Zeroizing;

/// The agent's command-line tool, on the PATH of every job the agent runs.
const AGENT: &str = "buildkite-agent";

/// Buildkite (`BUILDKITE=true`).
#[derive(Default)]
pub struct Buildkite {
    /// Whether the "cannot mask" warning was printed (once per run is enough).
    warned: AtomicBool,
}

/// What to redact of `value`: all of it and each of its lines (a multi-line secret is printed,
/// and matched, line by line), trimmed, none empty.
fn pieces(value: &str) -> impl Iterator<Item = &str> {
    std::iter::once(value.trim())
        .chain(value.lines().map(str::trim))
        .filter(|p| !p.is_empty())
}

/// Every piece of `value`, as the JSON object `redactor add --format json` reads.
fn redactions(value: &str) -> Zeroizing<String> {
    let mut parts = serde_json::Map::new();
    for (i, piece) in pieces(value).enumerate() {
        parts.insert(format!("crlogin{i}"), piece.into());
    }
    Zeroizing::new(serde_json::Value::Object(parts).to_string())
}

/// Gives `value` and its lines to the agent's redactor (`redactor add --format json`, on stdin).
/// Whether the agent took them.
fn redact(value: &str) -> bool {
    let args = ["redactor", "add", "--format", "json"];
    matches!(
        tool::feed(AGENT, &args, redactions(value).as_bytes()),
        Ok(true)
    )
}

impl Ci for Buildkite {
    fn name(&self) -> &'static str {
        "Buildkite"
    }

    fn mask(&self, value: &str) {
        if value.trim().is_empty() {
            return;
        }
        if !redact(value) && !self.warned.swap(true, Ordering::Relaxed) {
            self.warning("`buildkite-agent redactor add` failed, so values crlogin derives are not masked in this log (agent 3.66 or newer masks them); crlogin prints none of them");
        }
    }

    /// Buildkite starts a log group at a line beginning `---`, `+++`, `~~~` (or `^^^ +++`): no
    /// line crlogin prints can.
    fn clean(&self, line: &str) -> String {
        let mut line = super::one_line(line);
        let start = line.len() - line.trim_start().len();
        if ["---", "+++", "~~~", "^^^"]
            .iter()
            .any(|marker| line[start..].starts_with(marker))
        {
            line.insert(start + 1, ' ');
        }
        line
    }

    /// A collapsed `---` group; the job's next group header ends it.
    fn section(&self, title: &str, text: &str) {
        super::to_stderr(&format!(
            "--- {}\n{}",
            super::one_line(title),
            super::clean_lines(self, text)
        ));
    }

    /// Agents are long-lived and shared by pipelines: credentials must not stay in the agent
    /// user's home.
    fn isolates_by_default(&self) -> bool {
        true
    }

    /// Next to the checkout (`$BUILDKITE_BUILD_CHECKOUT_PATH.tmp`), outside what the job uploads
    /// or cleans, as the agent has no per-job temporary directory.
    fn isolated_base(&self, env: &Env) -> PathBuf {
        match env.path("BUILDKITE_BUILD_CHECKOUT_PATH") {
            Some(checkout) => {
                let mut tmp = checkout.into_os_string();
                tmp.push(".tmp");
                PathBuf::from(tmp)
            }
            None => env.path("TMPDIR").unwrap_or_else(std::env::temp_dir),
        }
    }

    /// The agent gives every job `BUILDKITE_AGENT_ACCESS_TOKEN`, with which it asks for tokens.
    fn offers_id_token(&self, env: &Env) -> bool {
        env.is_set("BUILDKITE_AGENT_ACCESS_TOKEN")
    }

    fn id_token<'a>(&'a self, _env: &'a Env, request: &'a IdTokenRequest) -> Option<IdToken<'a>> {
        Some(Box::pin(async move {
            tool::output(
                AGENT,
                &["oidc", "request-token", "--audience", &request.audience],
                request.timeout,
                "Buildkite gave no OIDC token",
                "run crlogin in a Buildkite job (the agent puts buildkite-agent on its PATH)",
            )
            .await
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_can_open_a_log_group() {
        let buildkite = Buildkite::default();
        assert_eq!(buildkite.clean("--- x"), "- -- x");
        assert_eq!(buildkite.clean("  +++ x"), "  + ++ x");
        assert_eq!(buildkite.clean("~~~"), "~ ~~");
        assert_eq!(buildkite.clean("^^^ +++"), "^ ^^ +++");
        assert_eq!(buildkite.clean("a --- b"), "a --- b");
        assert_eq!(buildkite.clean("\n--- x"), " - -- x");
    }

    #[test]
    fn redacts_the_value_and_each_line() {
        let json: serde_json::Value = serde_json::from_str(&redactions("a\nb \n\n")).unwrap();
        let values: Vec<&str> = json
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(values, ["a\nb", "a", "b"]);
    }

    #[test]
    fn isolates_next_to_the_checkout() {
        let env = Env::from_pairs(&[("BUILDKITE_BUILD_CHECKOUT_PATH", "/b/org/pipe")]);
        assert_eq!(
            Buildkite::default().isolated_base(&env),
            PathBuf::from("/b/org/pipe.tmp")
        );
    }
}
