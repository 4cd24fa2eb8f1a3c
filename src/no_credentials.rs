//! The "no credentials found" error of `login`, `logout`, `exec`, `token`, the credential
//! helpers and `doctor`: one short line saying what is missing, in the words of the wrapper that
//! runs crlogin, pointing to `crlogin doctor` and the book's credentials page for the full list
//! of sources (about 700 characters, too long for an error a helper prints on every pull).

use crate::wrapper::{self, Wrapper};

/// The book's page that lists every credential source, in the order crlogin tries them.
pub const CREDENTIALS_PAGE: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/src/credentials/index.md"
);

/// Which credential a command needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// Any: a username/password login or a Nebius credential (`login`, `exec`, `k8s-secret`).
    Any,
    /// A Nebius credential (`token`, the credential helpers).
    Nebius,
}

/// "No credentials found" as an error value, for a source deep down (the metadata service, the
/// last resort) to return and a command that wants only a Nebius credential to narrow.
#[derive(Debug)]
pub struct NotFound(pub Wanted);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&message(self.0))
    }
}

impl std::error::Error for NotFound {}

/// `error`, saying `wanted` if it is a [`NotFound`] (anything else unchanged).
pub fn narrowed(error: anyhow::Error, wanted: Wanted) -> anyhow::Error {
    if error.is::<NotFound>() {
        NotFound(wanted).into()
    } else {
        error
    }
}

/// The error line when no `wanted` credential was found, in the current wrapper's words.
pub fn message(wanted: Wanted) -> String {
    message_in(wrapper::current(), wanted)
}

/// The error line for `wrapper`.
fn message_in(wrapper: Wrapper, wanted: Wanted) -> String {
    let what = match wanted {
        Wanted::Any => "credentials",
        Wanted::Nebius => "Nebius credential",
    };
    format!(
        "no {what} found: {}; `crlogin doctor` and {CREDENTIALS_PAGE} list every source",
        how_to_give(wrapper, wanted)
    )
}

/// What to set, in `wrapper`'s words: the usual choices, not every one.
fn how_to_give(wrapper: Wrapper, wanted: Wanted) -> String {
    const NEBIUS: &str = "a Nebius credential such as NEBIUS_IAM_TOKEN";
    const PLAIN: &str = "DCR_USERNAME, DCR_PASSWORD and DCR_REGISTRY";
    match (wrapper, wanted) {
        (Wrapper::Shell | Wrapper::GitLabInclude, Wanted::Any) => format!("set {PLAIN}, or {NEBIUS}"),
        (_, Wanted::Nebius) => format!("set {NEBIUS}"),
        (Wrapper::GitHubAction, Wanted::Any) => "give the action a credential input (static-key, sa-credentials, service-account-id with oidc: true, or username, password and registry)".to_string(),
        (Wrapper::GitLabComponent, Wanted::Any) => format!("set {PLAIN}, or {NEBIUS}, as CI/CD variables (a protected one is empty on unprotected branches), or use input auth: oidc"),
        (Wrapper::BuildkitePlugin, Wanted::Any) => format!("set {PLAIN}, or {NEBIUS}, in the step's env (from your secrets), or use option `auth: oidc` with service-account-id"),
        (Wrapper::CircleCiOrb, Wanted::Any) => format!("set {PLAIN}, or {NEBIUS}, as project or context variables, or use parameter `auth: oidc` with service-account-id"),
        (Wrapper::AzureTemplate, Wanted::Any) => format!("set {PLAIN}, or {NEBIUS}, as pipeline variables (a secret one through staticKeyVariable and the like), or use parameter `auth: oidc`"),
        (Wrapper::BitbucketStep, Wanted::Any) => format!("set {PLAIN}, or {NEBIUS}, as secured variables, or CRLOGIN_AUTH=oidc with NEBIUS_SERVICE_ACCOUNT_ID on a step with `oidc: true`"),
        (Wrapper::JenkinsStep, Wanted::Any) => "the credential credentialsId names holds nothing: check it under Manage Jenkins > Credentials, and that kind matches it (file, string or usernamePassword)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_short_and_points_to_the_full_list() {
        for wrapper in Wrapper::ALL {
            for wanted in [Wanted::Any, Wanted::Nebius] {
                let line = wrapper.phrase(&message_in(wrapper, wanted));
                assert!(line.starts_with("no "), "{line}");
                assert!(
                    line.contains("`crlogin doctor`") && line.contains(CREDENTIALS_PAGE),
                    "{line}"
                );
                assert!(!line.contains('\n'), "{line}");
                // The action adds why a secret input can be empty (about 330 characters).
                let limit = match wrapper {
                    Wrapper::GitHubAction => 600,
                    Wrapper::Shell => 300,
                    _ => 360,
                };
                assert!(line.len() <= limit, "{} characters: {line}", line.len());
            }
        }
    }
}
