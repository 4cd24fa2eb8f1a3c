//! CI detection and the CI-native side channels: masking, errors, warnings, exported variables.
//!
//! Every stage gets a `&dyn Ci`; the secrets stage registers each secret with [`Ci::mask`] the
//! moment it is read, so masking cannot be forgotten further down.

mod azure;
mod bitbucket;
mod buildkite;
mod circleci;
mod github;
mod gitlab;
mod jenkins;
pub mod local;
mod tool;

use crate::env::Env;
use anyhow::Result;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;
use zeroize::Zeroizing;

/// Writes `text` to stderr, ignoring failure: a message crlogin cannot show (stderr closed, a
/// reader gone) must not end it, since `eprint!` would panic there, and a panic in `exec` would
/// skip removing the credentials.
pub fn to_stderr(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// The behaviour that differs between CI systems.
pub trait Ci {
    /// A short name for reports ("GitHub Actions", "local shell", ...).
    fn name(&self) -> &'static str;

    /// Hides `value` from the CI's log. Called for every secret before anything else is printed.
    fn mask(&self, value: &str);

    /// Makes one line of text that may carry outside text (a server's message, a value from
    /// the job) safe to print in this CI's log: [`one_line`] everywhere, and whatever this CI's
    /// log reader would take for a command neutralised. Every line crlogin prints on stderr
    /// goes through here (through [`Ci::note`], [`Ci::error`], [`Ci::warning`], [`Ci::section`]).
    fn clean(&self, line: &str) -> String {
        one_line(line)
    }

    /// Prints one informational line on stderr (a retry note, a verified host).
    fn note(&self, line: &str) {
        to_stderr(&format!("{}\n", self.clean(line)));
    }

    /// Prints a one-line error the way this CI highlights errors, in the words of the wrapper
    /// that runs crlogin.
    fn error(&self, message: &str) {
        to_stderr(&format!(
            "crlogin: error: {}\n",
            self.clean(&crate::wrapper::phrase(message))
        ));
    }

    /// Prints a one-line warning the way this CI highlights warnings, in the wrapper's words.
    fn warning(&self, message: &str) {
        to_stderr(&format!(
            "crlogin: warning: {}\n",
            self.clean(&crate::wrapper::phrase(message))
        ));
    }

    /// Makes `name=value` visible to later steps of the job where the CI allows it (besides the
    /// `export` lines crlogin prints on stdout).
    fn export_var(&self, _name: &str, _value: &Path) -> Result<()> {
        Ok(())
    }

    /// Where `--isolated` creates its fresh directory: a per-job temporary place.
    fn isolated_base(&self, env: &Env) -> PathBuf {
        env.path("TMPDIR").unwrap_or_else(std::env::temp_dir)
    }

    /// Whether `login` isolates its files unless told otherwise (shared build agents).
    fn isolates_by_default(&self) -> bool {
        false
    }

    /// Prints `text` (the report, on stderr) inside a collapsible log section where the CI has
    /// them, each line through [`Ci::clean`].
    fn section(&self, _title: &str, text: &str) {
        to_stderr(&clean_lines(self, text));
    }

    /// Hands the login's outcome to later steps (outputs, summary, saved state) where the CI
    /// has such channels.
    fn publish(&self, _outcome: &Outcome) -> Result<()> {
        Ok(())
    }

    /// Whether [`Ci::publish`] keeps the state for a later `cleanup` (GitHub's post step).
    fn keeps_state(&self) -> bool {
        false
    }

    /// Tells the job's summary, where the CI has one, that the login failed and why: each
    /// registry that refused, with the reason (never a secret). Nothing else is published.
    fn publish_failure(&self, _failures: &[(String, String)]) -> Result<()> {
        Ok(())
    }

    /// The state a login earlier in this job saved with [`Ci::publish`], if the CI carries it.
    fn saved_state(&self, _env: &Env) -> Option<String> {
        None
    }

    /// Makes a secret visible to later steps as `name` (`--export-env`); masked first.
    fn export_secret(&self, name: &str, _value: &str) -> Result<()> {
        anyhow::bail!(
            "--export-env exports {name} to later steps only on GitHub Actions and Azure Pipelines: elsewhere run `crlogin token` where the token is needed"
        )
    }

    /// Whether this job can have an OIDC ID token from the CI itself through [`Ci::id_token`]
    /// (without asking for it yet): whether keyless federation is worth trying.
    fn offers_id_token(&self, _env: &Env) -> bool {
        false
    }

    /// This CI's own OIDC ID token for the job, obtained as the CI documents it: `None` where
    /// crlogin knows no such mechanism for this CI (then a variable or GitHub's endpoint), else
    /// the JWT or an error saying which job setting is missing. The caller masks the token.
    fn id_token<'a>(&'a self, _env: &'a Env, _request: &'a IdTokenRequest) -> Option<IdToken<'a>> {
        None
    }
}

/// What [`Ci::id_token`] is asked for.
pub struct IdTokenRequest {
    /// The `aud` to ask for where the CI lets a job choose one.
    pub audience: String,
    /// Whether the user chose `audience` (else it is crlogin's default, and a CI whose ready
    /// token has its own fixed `aud` hands out that one).
    pub audience_chosen: bool,
    /// How long obtaining the token may take.
    pub timeout: Duration,
}

/// The future of [`Ci::id_token`]: the JWT, in memory that is wiped when dropped.
pub type IdToken<'a> = Pin<Box<dyn Future<Output = Result<Zeroizing<String>>> + 'a>>;

/// What a login did, for the CI's outputs and summary. Holds no secret.
pub struct Outcome {
    /// One row per registry: host, user, tools, expiry (RFC 3339 or "not known").
    pub rows: Vec<[String; 4]>,
    /// The distinct usernames written.
    pub usernames: Vec<String>,
    /// The earliest expiry of the credentials written, RFC 3339, where known.
    pub expires_at: Option<String>,
    /// The state `cleanup` needs, as one line of JSON.
    pub state: String,
}

/// Detects the CI this process runs in from its environment.
pub fn detect(env: &Env) -> Box<dyn Ci> {
    crate::wrapper::init(env);
    if env.is_true("GITHUB_ACTIONS") {
        Box::new(github::GitHub::new(env))
    } else if env.is_true("GITLAB_CI") {
        Box::new(gitlab::GitLab)
    } else if env.is_true("BUILDKITE") {
        Box::new(buildkite::Buildkite::default())
    } else if env.is_true("TF_BUILD") {
        Box::new(azure::Azure::new(env))
    } else if env.is_true("CIRCLECI") {
        Box::new(circleci::CircleCi::new(env))
    } else if env.is_set("BITBUCKET_BUILD_NUMBER") {
        Box::new(bitbucket::Bitbucket)
    } else if env.is_set("JENKINS_URL") || (env.is_set("JENKINS_HOME") && env.is_set("BUILD_ID")) {
        Box::new(jenkins::Jenkins)
    } else {
        Box::new(local::Local)
    }
}

/// `text`, each line through [`Ci::clean`], each ended by a newline.
pub fn clean_lines(ci: &(impl Ci + ?Sized), text: &str) -> String {
    text.lines().map(|l| ci.clean(l) + "\n").collect()
}

/// Folds a message onto one line that cannot rewrite the log, on any CI: line breaks (also
/// Unicode's) and tabs become spaces; ANSI escape sequences (`\e[1A\e[2K` moves up and erases a
/// line on GitLab and Jenkins too) and every other control or invisible formatting character
/// (bidirectional overrides, zero-width characters) are removed.
pub fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            '\x1b' => skip_escape_sequence(&mut chars),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Skips the rest of an escape sequence after its ESC: CSI (`[` parameters, then a final byte
/// in `@`..`~`), OSC and the other string sequences (up to BEL or ESC `\`), or one more
/// character.
fn skip_escape_sequence(chars: &mut std::iter::Peekable<std::str::Chars>) {
    match chars.next() {
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            while let Some(c) = chars.next() {
                if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Zero-width and bidirectional formatting characters, which make a log line read other than
/// it is.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A value the user gave, quoted for a message: escaped onto one line, and cut after
/// [`QUOTED_CHARS`] characters so a huge value cannot flood the log. Never for secrets.
pub fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => format!("{value:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &value[..end], value.len()),
    }
}

/// How much of a value [`quoted`] shows.
const QUOTED_CHARS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_escapes_and_controls_cannot_rewrite_the_log() {
        assert_eq!(
            one_line(
                "a\x1b[1A\x1b[2Kb\x1b]0;title\x07c\x1b]8;;x\x1b\\d\x1bMe\u{9b}f\0g\u{202e}h\r\ni"
            ),
            "abcdefgh  i"
        );
        assert_eq!(one_line("\x1b[31"), "", "an unfinished sequence is dropped");
        assert_eq!(one_line("tab\there\u{2028}x"), "tab here x");
    }

    #[test]
    fn quoted_values_are_one_short_line() {
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        let long = quoted(&"é".repeat(1000));
        assert!(long.ends_with("\"... (2000 bytes)"), "{long}");
        assert_eq!(long.chars().filter(|&c| c == 'é').count(), QUOTED_CHARS);
    }

    #[test]
    fn detects_each_ci() {
        let name = |pairs: &[(&str, &str)]| detect(&Env::from_pairs(pairs)).name();
        assert_eq!(name(&[("GITHUB_ACTIONS", "true")]), "GitHub Actions");
        assert_eq!(name(&[("GITLAB_CI", "true")]), "GitLab CI");
        assert_eq!(name(&[("JENKINS_URL", "https://ci")]), "Jenkins");
        assert_eq!(
            name(&[("JENKINS_HOME", "/j"), ("BUILD_ID", "7")]),
            "Jenkins"
        );
        assert_eq!(name(&[("BUILDKITE", "true")]), "Buildkite");
        assert_eq!(name(&[("TF_BUILD", "True")]), "Azure Pipelines");
        assert_eq!(name(&[("CIRCLECI", "true")]), "CircleCI");
        assert_eq!(
            name(&[("BITBUCKET_BUILD_NUMBER", "12")]),
            "Bitbucket Pipelines"
        );
        assert_eq!(name(&[("BUILDKITE", "false")]), "local shell");
        assert_eq!(name(&[("JENKINS_HOME", "/j")]), "local shell");
        assert_eq!(name(&[("GITLAB_CI", "false")]), "local shell");
        assert_eq!(name(&[]), "local shell");
    }
}
