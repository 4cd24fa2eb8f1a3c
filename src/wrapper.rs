//! Which wrapper started crlogin (the GitHub Action, the GitLab component or plain include, the
//! Jenkins step, or none: a shell), and its words for crlogin's settings. Each wrapper sets
//! `CRLOGIN_WRAPPER` (docs/src/ci-contract.md); errors and warnings are phrased through
//! [`phrase`], so a hint names what the user can change where they typed it: an action input
//! (`isolated: true`), a component input, a Jenkins step parameter, or a variable, never a flag
//! the wrapper does not let them pass nor a variable only the wrapper itself sets.

use crate::env::Env;
use std::sync::OnceLock;

/// The variable each wrapper sets to its name.
pub const VAR: &str = "CRLOGIN_WRAPPER";

/// Who runs crlogin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrapper {
    /// A person or script in a shell: flags and variables.
    Shell,
    /// The GitHub Action (`action.yml`): its inputs.
    GitHubAction,
    /// The GitLab CI/CD component (`spec:inputs`).
    GitLabComponent,
    /// The plain GitLab include, configured by CI/CD variables.
    GitLabInclude,
    /// The Jenkins `crlogin` step: its parameters.
    JenkinsStep,
    /// The Buildkite plugin (`buildkite/plugin.yml`): its options.
    BuildkitePlugin,
    /// The CircleCI orb (`circleci/`): its commands' parameters.
    CircleCiOrb,
    /// The Azure Pipelines step template (`azure/crlogin.yml`): its parameters.
    AzureTemplate,
    /// The copy-paste Bitbucket Pipelines step (`bitbucket/`), configured by variables.
    BitbucketStep,
}

impl Wrapper {
    /// Every wrapper, for tests that walk them all.
    pub const ALL: [Wrapper; 9] = [
        Wrapper::Shell,
        Wrapper::GitHubAction,
        Wrapper::GitLabComponent,
        Wrapper::GitLabInclude,
        Wrapper::JenkinsStep,
        Wrapper::BuildkitePlugin,
        Wrapper::CircleCiOrb,
        Wrapper::AzureTemplate,
        Wrapper::BitbucketStep,
    ];

    /// The wrapper `CRLOGIN_WRAPPER` names (an unknown name counts as a shell).
    pub fn from_env(env: &Env) -> Wrapper {
        match env.get(VAR).ok().flatten().as_deref() {
            Some("github-action") => Wrapper::GitHubAction,
            Some("gitlab-component") => Wrapper::GitLabComponent,
            Some("gitlab-include") => Wrapper::GitLabInclude,
            Some("jenkins-step") => Wrapper::JenkinsStep,
            Some("buildkite-plugin") => Wrapper::BuildkitePlugin,
            Some("circleci-orb") => Wrapper::CircleCiOrb,
            Some("azure-template") => Wrapper::AzureTemplate,
            Some("bitbucket-step") => Wrapper::BitbucketStep,
            _ => Wrapper::Shell,
        }
    }

    /// The value of `CRLOGIN_WRAPPER` for this wrapper.
    pub fn name(self) -> &'static str {
        match self {
            Wrapper::Shell => "shell",
            Wrapper::GitHubAction => "github-action",
            Wrapper::GitLabComponent => "gitlab-component",
            Wrapper::GitLabInclude => "gitlab-include",
            Wrapper::JenkinsStep => "jenkins-step",
            Wrapper::BuildkitePlugin => "buildkite-plugin",
            Wrapper::CircleCiOrb => "circleci-orb",
            Wrapper::AzureTemplate => "azure-template",
            Wrapper::BitbucketStep => "bitbucket-step",
        }
    }

    /// `message` in this wrapper's words (unchanged in a shell).
    pub fn phrase(self, message: &str) -> String {
        if self == Wrapper::Shell {
            return message.to_string();
        }
        let mut text = without_placeholders(message);
        for row in NAMES {
            if let Some(name) = row.name_in(self) {
                text = replace_word(&text, row.internal, name);
            }
        }
        if self == Wrapper::GitHubAction && EMPTY_SECRET_SIGNS.iter().any(|s| message.contains(s)) {
            text.push_str(EMPTY_SECRET_CAUSES);
        }
        text
    }

    /// Where this wrapper's settings are documented, for usage errors.
    pub fn docs(self) -> &'static str {
        match self {
            Wrapper::Shell => "see crlogin --help",
            Wrapper::GitHubAction => "see the inputs in the action's action.yml",
            Wrapper::GitLabComponent => "see the component's spec:inputs",
            Wrapper::GitLabInclude => "see the variables listed at the top of the include",
            Wrapper::JenkinsStep => "see the step's help (jenkins/vars/crlogin.txt)",
            Wrapper::BuildkitePlugin => "see the configuration in the plugin's plugin.yml",
            Wrapper::CircleCiOrb => "see the parameters of the orb's login command",
            Wrapper::AzureTemplate => "see the parameters at the top of the template",
            Wrapper::BitbucketStep => "see the variables listed at the top of the step",
        }
    }
}

/// The wrapper of this process, set once by [`init`] (a shell until then).
pub fn current() -> Wrapper {
    CURRENT.get().copied().unwrap_or(Wrapper::Shell)
}

/// Reads `CRLOGIN_WRAPPER` once, for every later [`phrase`].
pub fn init(env: &Env) {
    let _ = CURRENT.set(Wrapper::from_env(env));
}

/// `message` in the words of the wrapper that runs crlogin.
pub fn phrase(message: &str) -> String {
    current().phrase(message)
}

static CURRENT: OnceLock<Wrapper> = OnceLock::new();

/// Messages that mean a secret input arrived empty in the action.
const EMPTY_SECRET_SIGNS: &[&str] = &[
    "CRLOGIN_ACTION_PASSWORD not set",
    "CRLOGIN_ACTION_PASSWORD is empty",
    "no credentials found",
];

/// Why a secret input is empty on GitHub, as configure-aws-credentials explains it.
const EMPTY_SECRET_CAUSES: &str = ". A secret input is empty when the secret is not available to this run: in a pull request from a fork, in a Dependabot run (which reads Dependabot secrets, not Actions secrets), or when the repository or environment secret does not exist or is misspelled in `${{ secrets.NAME }}`";

/// One setting and its name in each wrapper. `None` falls back to `variable` (every CI lets a
/// job set variables), and to the internal name when there is none.
pub struct Name {
    /// How crlogin itself names it in messages: a flag, or a variable only a wrapper sets.
    pub internal: &'static str,
    /// The variable that sets it, if any.
    pub variable: Option<&'static str>,
    /// The action's input.
    pub action: Option<&'static str>,
    /// The GitLab component's input.
    pub component: Option<&'static str>,
    /// The plain GitLab include's variable.
    pub include: Option<&'static str>,
    /// The Jenkins step's parameter.
    pub jenkins: Option<&'static str>,
    /// The Buildkite plugin's option.
    pub buildkite: Option<&'static str>,
    /// The CircleCI orb's parameter.
    pub orb: Option<&'static str>,
    /// The Azure Pipelines template's parameter.
    pub azure: Option<&'static str>,
    /// The Bitbucket step's variable.
    pub bitbucket: Option<&'static str>,
}

impl Name {
    fn name_in(&self, wrapper: Wrapper) -> Option<&'static str> {
        let own = match wrapper {
            Wrapper::Shell => return None,
            Wrapper::GitHubAction => self.action,
            Wrapper::GitLabComponent => self.component,
            Wrapper::GitLabInclude => self.include,
            Wrapper::JenkinsStep => self.jenkins,
            Wrapper::BuildkitePlugin => self.buildkite,
            Wrapper::CircleCiOrb => self.orb,
            Wrapper::AzureTemplate => self.azure,
            Wrapper::BitbucketStep => self.bitbucket,
        };
        own.or(self.variable)
    }
}

const fn row(
    internal: &'static str,
    variable: Option<&'static str>,
    action: Option<&'static str>,
    component: Option<&'static str>,
    include: Option<&'static str>,
    jenkins: Option<&'static str>,
) -> Name {
    Name {
        internal,
        variable,
        action,
        component,
        include,
        jenkins,
        buildkite: None,
        orb: None,
        azure: None,
        bitbucket: None,
    }
}

impl Name {
    /// This row's names in the Buildkite plugin, the CircleCI orb, the Azure template and the
    /// Bitbucket step.
    const fn also(
        self,
        buildkite: Option<&'static str>,
        orb: Option<&'static str>,
        azure: Option<&'static str>,
        bitbucket: Option<&'static str>,
    ) -> Name {
        Name {
            buildkite,
            orb,
            azure,
            bitbucket,
            ..self
        }
    }
}

/// The table: every flag of the commands the wrappers run (login, logout, cleanup), and the
/// variables only a wrapper sets. Longer names come before names they contain.
pub const NAMES: &[Name] = &[
    // The action passes its username/password/registry inputs under this prefix.
    row(
        "a CRLOGIN_ACTION login",
        None,
        Some("a username/password login"),
        None,
        None,
        None,
    ),
    row(
        " (or NAME_FILE for any of them)",
        None,
        Some(""),
        None,
        None,
        None,
    ),
    row(
        "CRLOGIN_ACTION_USERNAME",
        None,
        Some("input `username`"),
        None,
        None,
        None,
    ),
    row(
        "CRLOGIN_ACTION_PASSWORD",
        None,
        Some("input `password`"),
        None,
        None,
        None,
    ),
    row(
        "CRLOGIN_ACTION_REGISTRY",
        None,
        Some("input `registry`"),
        None,
        None,
        None,
    ),
    row(
        "CRLOGIN_ACTION_*",
        None,
        Some("inputs username/password/registry"),
        None,
        None,
        None,
    ),
    row(
        "CRLOGIN_ACTION",
        None,
        Some("username/password"),
        None,
        None,
        None,
    ),
    // The Jenkins step binds these from its credential.
    row(
        "NEBIUS_SA_CREDENTIALS_FILE",
        None,
        None,
        None,
        None,
        Some("the Secret file credential (credentialsId, kind: 'file')"),
    ),
    row(
        "DCR_REGISTRY",
        None,
        None,
        None,
        None,
        Some("parameter registry"),
    ),
    // Flags.
    row(
        "--auth oidc",
        None,
        Some("`oidc: true`"),
        Some("input `auth: oidc`"),
        None,
        None,
    )
    .also(
        Some("option `auth: oidc`"),
        Some("parameter `auth: oidc`"),
        Some("parameter `auth: oidc`"),
        None,
    ),
    row(
        "--auth",
        Some("CRLOGIN_AUTH"),
        None,
        Some("input `auth`"),
        None,
        None,
    )
    .also(
        Some("option `auth`"),
        Some("parameter `auth`"),
        Some("parameter `auth`"),
        None,
    ),
    row(
        "--impersonate",
        Some("NEBIUS_IMPERSONATE_SERVICE_ACCOUNT_ID"),
        None,
        None,
        None,
        None,
    ),
    row(
        "--from-env",
        Some("CRLOGIN_FROM_ENV"),
        None,
        Some("input `from-env`"),
        None,
        None,
    )
    .also(
        Some("option `from-env`"),
        Some("parameter `from-env`"),
        Some("parameter `fromEnv`"),
        None,
    ),
    row(
        "--all-regions",
        Some("an empty NEBIUS_REGIONS"),
        Some("an empty `regions`"),
        Some("an empty input `regions`"),
        None,
        Some("no regions parameter"),
    )
    .also(
        Some("an empty option `regions`"),
        Some("an empty parameter `regions`"),
        Some("an empty parameter `regions`"),
        None,
    ),
    row(
        "--region",
        Some("NEBIUS_REGIONS"),
        Some("input `regions`"),
        Some("input `regions`"),
        None,
        Some("parameter regions"),
    )
    .also(
        Some("option `regions`"),
        Some("parameter `regions`"),
        Some("parameter `regions`"),
        None,
    ),
    row(
        "--registry",
        Some("CRLOGIN_REGISTRIES"),
        Some("input `registries`"),
        Some("input `registries`"),
        None,
        Some("parameter registries"),
    )
    .also(
        Some("option `registries`"),
        Some("parameter `registries`"),
        Some("parameter `registries`"),
        None,
    ),
    row(
        "--for",
        Some("CRLOGIN_FOR"),
        Some("input `for`"),
        Some("input `for`"),
        None,
        Some("parameter tools"),
    )
    .also(
        Some("option `tools`"),
        Some("parameter `tools`"),
        Some("parameter `tools`"),
        None,
    ),
    row(
        "--config-dir",
        Some("CRLOGIN_CONFIG_DIR"),
        None,
        Some("the component's per-job directory (input `isolated`)"),
        Some("the include's per-job directory (CRLOGIN_ISOLATED)"),
        Some("the step's per-build directory"),
    )
    .also(
        Some("the plugin's per-job directory (option `isolated`)"),
        Some("the orb's per-job directory (parameter `isolated`)"),
        Some("the template's per-job directory (parameter `isolated`)"),
        None,
    ),
    row(
        "--isolated",
        Some("CRLOGIN_ISOLATED=true"),
        Some("`isolated: true`"),
        Some("`isolated: true`"),
        None,
        Some("the step's per-build directory (always used)"),
    )
    .also(
        Some("`isolated: true`"),
        Some("`isolated: true`"),
        Some("`isolated: true`"),
        None,
    ),
    row(
        "--export-env",
        Some("CRLOGIN_EXPORT_ENV=true"),
        Some("`export-env: true`"),
        None,
        None,
        None,
    ),
    row(
        "--verify-timeout",
        Some("CRLOGIN_VERIFY_TIMEOUT"),
        None,
        None,
        None,
        None,
    ),
    row(
        "--verify",
        Some("CRLOGIN_VERIFY=true"),
        Some("`verify: true`"),
        Some("`verify: true`"),
        None,
        Some("`verify: true`"),
    )
    .also(
        Some("option `verify: true`"),
        Some("parameter `verify: true`"),
        Some("parameter `verify: true`"),
        Some("CRLOGIN_VERIFY=true"),
    ),
    // docker's `login -u USER --password-stdin`, which no wrapper runs.
    row("--username", Some("-u"), None, None, None, None),
    row(
        "--password-stdin",
        Some("a password on stdin"),
        None,
        None,
        None,
        None,
    ),
    row("--password", Some("-p"), None, None, None, None),
    row("--retries", Some("CRLOGIN_RETRIES"), None, None, None, None),
    row("--timeout", Some("CRLOGIN_TIMEOUT"), None, None, None, None),
    row(
        "--lock-timeout",
        Some("CRLOGIN_LOCK_TIMEOUT"),
        None,
        None,
        None,
        None,
    ),
    row(
        "--no-cache",
        Some("CRLOGIN_NO_CACHE=true"),
        None,
        None,
        None,
        None,
    ),
    row("--dry-run", Some("a dry run"), None, None, None, None),
    row(
        "--output",
        Some("the report's format"),
        None,
        None,
        None,
        None,
    ),
    row("-o json", Some("the JSON report"), None, None, None, None),
    row(
        "`crlogin login --isolated`",
        Some("an isolated login"),
        Some("`isolated: true`"),
        Some("`isolated: true`"),
        None,
        None,
    )
    .also(
        Some("`isolated: true`"),
        Some("`isolated: true`"),
        Some("`isolated: true`"),
        None,
    ),
    row(
        "crlogin --help",
        None,
        Some("the action's inputs"),
        Some("the component's inputs"),
        Some("the include's variables"),
        Some("the step's help"),
    )
    .also(
        Some("the plugin's options"),
        Some("the orb's parameters"),
        Some("the template's parameters"),
        Some("the step's variables"),
    ),
];

/// `text` with every occurrence of `word` (not followed by a letter, digit, `-` or `_`)
/// replaced by `with`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let after = &rest[at + word.len()..];
        let continues = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        out.push_str(&rest[..at]);
        out.push_str(if continues { word } else { with });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// clap's value placeholders (`'--for <TOOLS>'` -> `'--for'`), which name nothing a wrapper user
/// types.
fn without_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" <") {
        match rest[at..].find('>') {
            Some(end)
                if rest[at + 2..at + end]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_') =>
            {
                out.push_str(&rest[..at]);
                rest = &rest[at + end + 1..];
            }
            _ => {
                out.push_str(&rest[..at + 2]);
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The flags of the commands a wrapper runs.
    fn wrapper_flags() -> Vec<String> {
        let command = crate::cli::Cli::command();
        let mut flags = Vec::new();
        for name in ["login", "logout", "cleanup"] {
            let sub = command.find_subcommand(name).unwrap();
            for arg in sub.get_arguments() {
                if let Some(long) = arg.get_long().filter(|l| *l != "help") {
                    flags.push(format!("--{long}"));
                }
            }
        }
        flags
    }

    #[test]
    fn every_flag_a_wrapper_runs_with_has_a_name_in_every_wrapper() {
        for flag in wrapper_flags() {
            let message = format!("{flag} is wrong: fix {flag}, e.g. '{flag} <VALUE>'.");
            for wrapper in Wrapper::ALL.into_iter().filter(|w| *w != Wrapper::Shell) {
                let phrased = wrapper.phrase(&message);
                assert!(
                    !phrased.contains(&flag),
                    "{flag} under {wrapper:?}: {phrased}"
                );
            }
        }
    }

    #[test]
    fn action_messages_name_inputs_and_explain_an_empty_secret() {
        let message = "CRLOGIN_ACTION_PASSWORD not set: a CRLOGIN_ACTION login needs CRLOGIN_ACTION_USERNAME, CRLOGIN_ACTION_PASSWORD and CRLOGIN_ACTION_REGISTRY (or NAME_FILE for any of them)";
        let phrased = Wrapper::GitHubAction.phrase(message);
        assert!(
            phrased.starts_with("input `password` not set: a username/password login needs input `username`, input `password` and input `registry`. A secret input is empty"),
            "{phrased}"
        );
        assert!(phrased.contains("fork") && phrased.contains("Dependabot"));
        assert!(!phrased.contains("CRLOGIN_ACTION"));
        let warning = "remove \"credsStore\", or use --isolated";
        assert_eq!(
            Wrapper::GitHubAction.phrase(warning),
            "remove \"credsStore\", or use `isolated: true`"
        );
        assert_eq!(Wrapper::Shell.phrase(message), message);
    }

    #[test]
    fn words_are_replaced_only_whole() {
        assert_eq!(
            Wrapper::GitHubAction.phrase("--verify and --verify-timeout"),
            "`verify: true` and CRLOGIN_VERIFY_TIMEOUT"
        );
        assert_eq!(
            Wrapper::JenkinsStep.phrase("invalid value 'x' for '--for <TOOLS>'"),
            "invalid value 'x' for 'parameter tools'"
        );
        assert_eq!(without_placeholders("a <b> <C>"), "a <b>");
    }

    #[test]
    fn a_refused_login_names_each_wrappers_verify_setting() {
        let message = "--verify: r.example did not accept the login: HTTP 401; nothing was written";
        for (wrapper, setting) in [
            (Wrapper::GitHubAction, "`verify: true`"),
            (Wrapper::GitLabComponent, "`verify: true`"),
            (Wrapper::GitLabInclude, "CRLOGIN_VERIFY=true"),
            (Wrapper::JenkinsStep, "`verify: true`"),
            (Wrapper::BuildkitePlugin, "option `verify: true`"),
            (Wrapper::CircleCiOrb, "parameter `verify: true`"),
            (Wrapper::AzureTemplate, "parameter `verify: true`"),
            (Wrapper::BitbucketStep, "CRLOGIN_VERIFY=true"),
        ] {
            let phrased = wrapper.phrase(message);
            assert!(
                phrased.starts_with(&format!("{setting}: r.example did not accept")),
                "{wrapper:?}: {phrased}"
            );
        }
    }

    #[test]
    fn each_wrapper_is_read_from_its_name() {
        for wrapper in Wrapper::ALL {
            let env = Env::from_pairs(&[(VAR, wrapper.name())]);
            assert_eq!(Wrapper::from_env(&env), wrapper);
        }
        assert_eq!(Wrapper::from_env(&Env::default()), Wrapper::Shell);
    }
}
