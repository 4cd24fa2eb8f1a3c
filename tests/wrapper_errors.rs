//! Errors in the words of the place the user typed them: every error (and the credsStore
//! warning) the wrappers can run into, under each wrapper (`CRLOGIN_WRAPPER`, with its CI's
//! markers), names no internal `CRLOGIN_ACTION_*` variable and none of crlogin's flags, which no
//! wrapper lets its user pass; in a shell the same messages do name the flags. The action's empty
//! secret input gets its causes; the post step after a failed login suggests no `crlogin logout`.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use clap::CommandFactory;
use harness::{canary, Env, Out};

/// A wrapper: its `CRLOGIN_WRAPPER` name, the CI variables it runs under, and the arguments it
/// passes to `login`.
type Wrapper = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// Every wrapper.
const WRAPPERS: &[Wrapper] = &[
    ("github-action", &[("GITHUB_ACTIONS", "true")], &[]),
    ("gitlab-component", &[("GITLAB_CI", "true")], &[]),
    ("gitlab-include", &[("GITLAB_CI", "true")], &[]),
    (
        "jenkins-step",
        &[("JENKINS_URL", "https://jenkins.example")],
        &["--config-dir", "CFG"],
    ),
    ("buildkite-plugin", &[("BUILDKITE", "true")], &[]),
    ("circleci-orb", &[("CIRCLECI", "true")], &["--isolated"]),
    ("azure-template", &[("TF_BUILD", "True")], &["--isolated"]),
    (
        "bitbucket-step",
        &[("BITBUCKET_BUILD_NUMBER", "42")],
        &["--config-dir", "CFG"],
    ),
];

/// One way to fail: its variables, the command, and a piece of the shell's message.
struct Case {
    what: &'static str,
    vars: Vec<(&'static str, String)>,
    command: &'static str,
    shell_says: &'static str,
}

fn cases() -> Vec<Case> {
    let secret = canary("wrapper-words");
    let case = |what, vars: &[(&'static str, &str)], command, shell_says| Case {
        what,
        vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        command,
        shell_says,
    };
    vec![
        case(
            "no credential",
            &[],
            "login",
            "set DCR_USERNAME, DCR_PASSWORD and DCR_REGISTRY",
        ),
        case(
            "the action's password input empty",
            &[
                ("CRLOGIN_ACTION_USERNAME", "alice"),
                ("CRLOGIN_ACTION_REGISTRY", "r.example"),
                ("CRLOGIN_FROM_ENV", "CRLOGIN_ACTION"),
            ],
            "login",
            "CRLOGIN_ACTION_PASSWORD not set",
        ),
        case(
            "isolated and a config dir",
            &[
                ("NEBIUS_STATIC_KEY", &secret),
                ("CRLOGIN_ISOLATED", "true"),
                ("CRLOGIN_CONFIG_DIR", "/tmp/x"),
            ],
            "login",
            "--isolated and --config-dir",
        ),
        case(
            "an unknown tool",
            &[
                ("NEBIUS_STATIC_KEY", &secret),
                ("CRLOGIN_FOR", "docker,kubectl"),
            ],
            "login",
            "--for",
        ),
        case(
            "too many retries",
            &[("NEBIUS_STATIC_KEY", &secret), ("CRLOGIN_RETRIES", "99")],
            "login",
            "--retries",
        ),
        case(
            "an unknown region",
            &[("NEBIUS_STATIC_KEY", &secret), ("NEBIUS_REGIONS", "mars-1")],
            "login",
            "mars-1",
        ),
        case(
            "export-env with a static key",
            &[
                ("NEBIUS_STATIC_KEY", &secret),
                ("CRLOGIN_EXPORT_ENV", "true"),
                ("NEBIUS_REGIONS", "eu-north1"),
            ],
            "login",
            "--export-env",
        ),
        case(
            "oidc without a token",
            &[("CRLOGIN_AUTH", "oidc")],
            "login",
            "--auth oidc",
        ),
        case(
            "a bad prefix",
            &[("CRLOGIN_FROM_ENV", "A B")],
            "login",
            "--from-env",
        ),
        case(
            "verify against nothing",
            &[
                ("DCR_USERNAME", "alice"),
                ("DCR_PASSWORD", &secret),
                ("DCR_REGISTRY", "127.0.0.1:1"),
                ("CRLOGIN_VERIFY", "true"),
                ("CRLOGIN_VERIFY_TIMEOUT", "5"),
            ],
            "login",
            "--verify",
        ),
        case(
            "a credsStore helper that is missing",
            &[
                ("NEBIUS_STATIC_KEY", &secret),
                ("NEBIUS_REGIONS", "eu-north1"),
                ("DOCKER_CONFIG", "DOCKERDIR"),
                // helm reads it too: a missing store's helper matters to helm only.
                ("HELM_REGISTRY_CONFIG", "DOCKERFILE"),
            ],
            "login",
            "use --isolated",
        ),
        case(
            "nothing to log out of",
            &[],
            "logout",
            "the hosts with --registry or --region",
        ),
    ]
}

/// crlogin's own flags (the commands the wrappers run take all of them).
fn flags() -> Vec<String> {
    crlogin::cli::Cli::command()
        .get_subcommands()
        .flat_map(|s| {
            s.get_arguments()
                .filter_map(|a| a.get_long())
                .map(|l| format!("--{l}"))
                .collect::<Vec<_>>()
        })
        .filter(|f| f != "--help")
        .collect()
}

/// The flags named in `text` as whole words.
fn flags_in(text: &str, flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .filter(|flag| {
            text.match_indices(flag.as_str()).any(|(at, _)| {
                !text[at + flag.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
            })
        })
        .cloned()
        .collect()
}

fn run_case(case: &Case, wrapper: Option<Wrapper>) -> Out {
    let mut env = Env::new();
    let docker_dir = env.home().join("docker");
    std::fs::create_dir(&docker_dir).unwrap();
    std::fs::write(
        docker_dir.join("config.json"),
        r#"{"credsStore":"no-such-store"}"#,
    )
    .unwrap();
    let cfg = env.home().join("cfg").display().to_string();
    for (name, value) in &case.vars {
        let value = if value == "DOCKERDIR" {
            docker_dir.display().to_string()
        } else if value == "DOCKERFILE" {
            docker_dir.join("config.json").display().to_string()
        } else {
            value.clone()
        };
        env.set(name, value);
    }
    let mut args = vec![case.command.to_string()];
    if let Some((name, ci, extra)) = wrapper {
        env.set("CRLOGIN_WRAPPER", name);
        for (k, v) in ci {
            env.set(k, v);
        }
        if case.command == "login" {
            args.extend(extra.iter().map(|a| {
                if *a == "CFG" {
                    cfg.clone()
                } else {
                    a.to_string()
                }
            }));
        }
    }
    env.crlogin(&args).run()
}

#[test]
fn every_error_names_what_the_user_can_set_in_their_wrapper() {
    let flags = flags();
    for case in cases() {
        let shell = run_case(&case, None);
        assert!(
            shell.stderr.contains(case.shell_says),
            "{}: in a shell, wanted {:?}: {shell}",
            case.what,
            case.shell_says
        );
        for &(name, ci, extra) in WRAPPERS {
            // Only the action sets CRLOGIN_ACTION_*.
            if case.what.contains("the action's") && name != "github-action" {
                continue;
            }
            let out = run_case(&case, Some((name, ci, extra)));
            let said = &out.stderr;
            // (Jenkins's step never writes into a file with a credsStore: nothing to warn of.)
            assert!(
                out.status.success() || said.contains("error"),
                "{} under {name}: no message: {out}",
                case.what
            );
            assert!(
                !said.contains("CRLOGIN_ACTION"),
                "{} under {name}: {out}",
                case.what
            );
            let named = flags_in(said, &flags);
            assert!(
                named.is_empty(),
                "{} under {name} names {named:?}: {out}",
                case.what
            );
        }
    }
}

#[test]
fn an_empty_secret_input_in_the_action_names_the_input_and_the_causes() {
    let cases = cases();
    let empty = cases
        .iter()
        .find(|c| c.what == "the action's password input empty")
        .unwrap();
    let out = run_case(empty, Some(WRAPPERS[0]));
    assert_eq!(out.status.code(), Some(1), "{out}");
    for want in [
        "::error title=crlogin::input `password` not set",
        "fork",
        "Dependabot",
        "does not exist",
    ] {
        assert!(out.stderr.contains(want), "wanted {want:?}: {out}");
    }
    let none = run_case(&cases[0], Some(WRAPPERS[0]));
    assert!(
        none.stderr.contains("no credentials found") && none.stderr.contains("Dependabot"),
        "{none}"
    );
}

#[test]
fn the_post_step_after_a_failed_login_suggests_no_logout() {
    let mut env = Env::new();
    env.set("CRLOGIN_WRAPPER", "github-action")
        .set("GITHUB_ACTIONS", "true");
    let out = env.crlogin(["cleanup"]).run();
    out.assert_success("cleanup with nothing saved");
    assert!(
        out.stderr
            .contains("nothing to clean up: the login step saved no state"),
        "{out}"
    );
    assert!(!out.stderr.contains("logout"), "{out}");
}
