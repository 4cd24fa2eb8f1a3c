//! The reference that is generated, never kept by hand: the man pages under docs/man/ (clap_mangen)
//! and the flags reference docs/src/reference/flags.md, both rendered from the binary's own
//! command-line definition (`crlogin::cli::Cli`), must match what is committed; and `crlogin completions`
//! prints a script each shell accepts. `CRLOGIN_REGENERATE=1` rewrites the committed files.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;

use clap::CommandFactory;
use crlogin::cli::Cli;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "CRLOGIN_REGENERATE=1 cargo test --locked --test generated_docs";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every man page: `crlogin.1` and `crlogin-SUBCOMMAND.1`, with their content.
fn man_pages() -> Vec<(PathBuf, Vec<u8>)> {
    // The package version alone: the long one names the commit, which every commit changes.
    let version = concat!("crlogin ", env!("CARGO_PKG_VERSION"));
    let mut command = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .long_version(env!("CARGO_PKG_VERSION"));
    command.build();
    let mut pages = Vec::new();
    let mut render = |cmd: clap::Command, name: String| {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .source(version)
            .render(&mut page)
            .unwrap();
        pages.push((repo().join("docs/man").join(format!("{name}.1")), page));
    };
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("crlogin-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        render(sub.clone().name(leaked), name);
    }
    render(command, "crlogin".to_string());
    pages
}

/// A Markdown table cell: one line, no column separators, and no `<name>` read as an HTML tag.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// docs/src/reference/flags.md: per command, its usage and one row per flag (flag, variable,
/// default, meaning).
fn flags_markdown() -> String {
    let mut command = Cli::command();
    command.build();
    let mut out = String::from(
        "# crlogin flags reference\n\n\
         Generated from crlogin's command-line definition by tests/generated_docs.rs; do not edit.\n\
         Regenerate with `",
    );
    out.push_str(REGENERATE);
    out.push_str(
        "`.\n\nEvery flag that has a variable can be set by it instead; secrets are never flags.\n",
    );
    for sub in command
        .get_subcommands_mut()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ");
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        let _ = write!(
            out,
            "\n## crlogin {}\n\n{}\n\n```\ncrlogin {}\n```\n",
            sub.get_name(),
            cell(&about),
            usage
                .trim_start_matches(&format!("{} ", sub.get_name()))
                .trim_start_matches("crlogin ")
        );
        let args: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .collect();
        if args.is_empty() {
            continue;
        }
        out.push_str("\n| flag | variable | default | meaning |\n|---|---|---|---|\n");
        for arg in args {
            let values = arg
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let flag = match (arg.get_long(), arg.get_short()) {
                _ if arg.is_positional() => values.clone(),
                (Some(long), Some(short)) => format!("-{short}, --{long}"),
                (Some(long), None) => format!("--{long}"),
                (None, Some(short)) => format!("-{short}"),
                (None, None) => values.clone(),
            };
            let takes_value = arg.get_action().takes_values() && !arg.is_positional();
            let flag = if takes_value && !values.is_empty() {
                format!("{flag} {values}")
            } else {
                flag
            };
            let variable = arg
                .get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default();
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = match defaults.join(",") {
                d if d.is_empty() || (d == "false" && !takes_value) => String::new(),
                d => format!("`{d}`"),
            };
            let mut meaning = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let choices: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| format!("`{}`", v.get_name()))
                .collect();
            if !meaning.is_empty() && !meaning.ends_with('.') {
                meaning.push('.');
            }
            if !choices.is_empty() && arg.get_action().takes_values() {
                meaning.push_str(&format!(" One of {}.", choices.join(", ")));
            }
            let _ = writeln!(
                out,
                "| `{}` | {variable} | {default} | {} |",
                cell(&flag),
                cell(&meaning)
            );
        }
    }
    out
}

/// Compares `path` with `wanted`; with `CRLOGIN_REGENERATE=1` writes it instead.
fn check(path: &Path, wanted: &[u8], stale: &mut Vec<String>) {
    if std::env::var_os("CRLOGIN_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, wanted).unwrap();
        return;
    }
    if std::fs::read(path).ok().as_deref() != Some(wanted) {
        stale.push(path.strip_prefix(repo()).unwrap().display().to_string());
    }
}

#[test]
fn the_committed_man_pages_and_flags_reference_are_what_the_binary_generates() {
    let mut stale = Vec::new();
    let pages = man_pages();
    for (path, page) in &pages {
        check(path, page, &mut stale);
    }
    check(
        &repo().join("docs/src/reference/flags.md"),
        flags_markdown().as_bytes(),
        &mut stale,
    );
    // No page of a command that is gone.
    for entry in std::fs::read_dir(repo().join("docs/man")).unwrap() {
        let path = entry.unwrap().path();
        if !pages.iter().any(|(p, _)| *p == path) {
            stale.push(format!(
                "{} (no such command any more: delete it)",
                path.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {}; regenerate with `{REGENERATE}` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn completions_are_printed_for_every_shell_and_bash_parses_them() {
    let env = harness::Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env.crlogin(["completions", shell]).run();
        out.assert_success(shell);
        for sub in ["login", "exec", "k8s-secret", "service-account"] {
            assert!(out.stdout.contains(sub), "{shell} completes {sub}");
        }
        if shell == "bash" {
            let script = env.home().join("crlogin.bash");
            std::fs::write(&script, &out.stdout).unwrap();
            let mut cmd = env.command(harness::require_tool("bash"));
            cmd.arg("-c").arg(format!(
                "source '{}' && complete -p crlogin",
                script.display()
            ));
            let check = harness::run(&mut cmd, None);
            check.assert_success("bash sources the completion script");
            assert!(check.stdout.contains("-F _crlogin crlogin"), "{check}");
        }
    }
    let bad = env.crlogin(["completions", "tcsh"]).run();
    assert_eq!(bad.status.code(), Some(2), "{bad}");
}
