//! docker's habit `crlogin login -u USER --password-stdin [REGISTRY]`: one username/password
//! login named on the command line, its password read from stdin, as `docker login` takes it.
//! The password is never a flag (`-p` is refused, as it shows in `ps` and shell history).

use crate::ci::Ci;
use crate::secrets::{read_text, PlainLogin, Secret, TextError};
use anyhow::{bail, Result};
use clap::Args;
use std::io::Read;

/// The most `--password-stdin` reads: far more than any registry password or token.
const MAX_PASSWORD: u64 = 64 * 1024;

/// Where docker logs in when no registry is named (the sinks write Docker Hub's own key).
const DOCKER_HUB: &str = "docker.io";

/// What the report names as the source of a `-u`/`--password-stdin` login.
pub const SOURCE: &str = "-u/--password-stdin";

/// `docker login`'s flags on `crlogin login`.
#[derive(Debug, Args)]
pub struct DockerLoginArgs {
    /// Log in to REGISTRY only, as this user, with the password read from stdin
    /// (--password-stdin), as `docker login -u USER --password-stdin REGISTRY` does.
    #[arg(short = 'u', long, value_name = "USER")]
    pub username: Option<String>,

    /// Read the password for -u USER from stdin (one line; a trailing newline is dropped).
    #[arg(long)]
    pub password_stdin: bool,

    /// Refused: a password on the command line shows in `ps` and the shell history.
    #[arg(short = 'p', long = "password", value_name = "PASSWORD", hide = true)]
    pub password: Option<String>,

    /// The registry for -u USER, as `host[:port][/path]` or `https://host[:port][/path]`
    /// (default: Docker Hub, as docker's).
    #[arg(value_name = "REGISTRY")]
    pub registry: Option<String>,
}

/// The login `args` name, its password read from `stdin` and masked with `ci` at once; `None`
/// when they name none (the credentials then come from the environment).
pub fn plain_login(
    args: &DockerLoginArgs,
    stdin: impl Read,
    ci: &dyn Ci,
) -> Result<Option<PlainLogin>> {
    if args.password.is_some() {
        bail!("-p/--password puts the password in the process list and shell history: pipe it instead, e.g. printf '%s' \"$PASSWORD\" | crlogin login -u USER --password-stdin REGISTRY");
    }
    let username = match (&args.username, args.password_stdin) {
        (None, false) => {
            if let Some(registry) = &args.registry {
                bail!(
                    "a registry on the command line ({}) is for docker's form: crlogin login -u USER --password-stdin REGISTRY (crlogin never prompts); without it, name hosts with --registry or the variables",
                    crate::ci::quoted(registry)
                );
            }
            return Ok(None);
        }
        (None, true) => bail!("--password-stdin needs -u USER, as docker's does"),
        (Some(_), false) => bail!("-u USER needs --password-stdin (crlogin never prompts): printf '%s' \"$PASSWORD\" | crlogin login -u USER --password-stdin REGISTRY"),
        (Some(username), true) => crate::secrets::check_username("-u", username.clone())?,
    };
    let text = read_text(stdin, MAX_PASSWORD).map_err(|e| match e {
        TextError::Io(kind) => anyhow::anyhow!("cannot read the password from stdin (--password-stdin): {kind}"),
        TextError::TooLarge => anyhow::anyhow!("--password-stdin read more than {} KiB, which no registry password is: pipe the password alone", MAX_PASSWORD / 1024),
        TextError::NotUtf8 => anyhow::anyhow!("--password-stdin read something that is not UTF-8 text: pipe the password alone"),
    })?;
    // docker drops one trailing newline (and a carriage return before it), nothing else.
    let password = text
        .strip_suffix('\n')
        .map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
    if password.is_empty() {
        bail!("--password-stdin read an empty password: pipe the password, e.g. printf '%s' \"$PASSWORD\" | crlogin login -u USER --password-stdin REGISTRY");
    }
    if password.chars().any(|c| c == '\n' || c == '\r') {
        bail!("--password-stdin read more than one line: pipe the password alone");
    }
    ci.mask(password);
    Ok(Some(PlainLogin {
        source: SOURCE.to_string(),
        registry: args
            .registry
            .clone()
            .unwrap_or_else(|| DOCKER_HUB.to_string()),
        username,
        username_from_file: false,
        password: Secret::new(password.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(username: Option<&str>, stdin: bool, registry: Option<&str>) -> DockerLoginArgs {
        DockerLoginArgs {
            username: username.map(str::to_string),
            password_stdin: stdin,
            password: None,
            registry: registry.map(str::to_string),
        }
    }

    /// A CI that records what it was asked to mask.
    #[derive(Default)]
    struct Masks(std::cell::RefCell<Vec<String>>);

    impl Ci for Masks {
        fn name(&self) -> &'static str {
            "test"
        }
        fn mask(&self, value: &str) {
            self.0.borrow_mut().push(value.to_string());
        }
    }

    fn login(args: &DockerLoginArgs, stdin: &str) -> Result<Option<PlainLogin>> {
        plain_login(args, stdin.as_bytes(), &Masks::default())
    }

    #[test]
    fn the_password_is_masked_before_it_is_returned() {
        let ci = Masks::default();
        let a = args(Some("alice"), true, None);
        let got = plain_login(&a, "pw-masked\n".as_bytes(), &ci)
            .unwrap()
            .unwrap();
        assert_eq!(*ci.0.borrow(), ["pw-masked"]);
        assert_eq!(got.source, SOURCE);
    }

    #[test]
    fn reads_one_line_and_drops_its_newline_as_docker_does() {
        let a = args(Some("alice"), true, Some("https://r.example:5000/team"));
        for input in ["pw-1\n", "pw-1\r\n", "pw-1"] {
            let got = login(&a, input).unwrap().unwrap();
            assert_eq!(got.password.expose(), "pw-1");
            assert_eq!(got.username, "alice");
            assert_eq!(got.registry, "https://r.example:5000/team");
        }
        let hub = login(&args(Some("a"), true, None), "x").unwrap().unwrap();
        assert_eq!(hub.registry, "docker.io");
    }

    #[test]
    fn refuses_what_docker_would_not_take_without_echoing_the_secret() {
        let mut with_p = args(Some("alice"), false, Some("r.example"));
        with_p.password = Some("pw-on-argv".into());
        let err = login(&with_p, "").unwrap_err().to_string();
        assert!(
            err.contains("--password-stdin") && !err.contains("pw-on-argv"),
            "{err}"
        );
        for (a, stdin, why) in [
            (args(None, true, None), "pw", "needs -u USER"),
            (args(Some("a"), false, None), "pw", "needs --password-stdin"),
            (args(None, false, Some("r.example")), "", "docker's form"),
            (args(Some("a"), true, None), "\n", "empty password"),
            (
                args(Some("a"), true, None),
                "pw-x\nmore",
                "more than one line",
            ),
            (args(Some("a:b"), true, None), "pw-x", "':'"),
        ] {
            let err = login(&a, stdin).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
            assert!(!err.contains("pw-x"), "{err}");
        }
        let big = "x".repeat(MAX_PASSWORD as usize + 1);
        let err = login(&args(Some("a"), true, None), &big).unwrap_err();
        assert!(err.to_string().contains("KiB"), "{err}");
        assert!(login(&args(None, false, None), "").unwrap().is_none());
    }
}
