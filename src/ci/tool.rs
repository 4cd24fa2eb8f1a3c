//! Running a CI's own command-line tool (`buildkite-agent`, `circleci`): a secret goes in on
//! stdin, never in argv; what comes back is read up to a bound, and its error text is made safe
//! for the log before anyone sees it.

use anyhow::{anyhow, bail, Result};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

/// The most crlogin reads of a tool's stdout (an ID token is a few KiB) or stderr.
const MAX_OUTPUT: u64 = 64 * 1024;

/// How much of a tool's error message crlogin repeats.
const MAX_MESSAGE_CHARS: usize = 300;

/// How long [`feed`] waits for the tool before killing it.
const FEED_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `program args` with `input` on stdin and nothing on stdout or stderr (where the tool
/// could echo it). Whether it exited 0 within [`FEED_TIMEOUT`] (else it is killed); `Err` when it
/// could not be started.
pub fn feed(program: &str, args: &[&str], input: &[u8]) -> std::io::Result<bool> {
    let mut child = Command::new(located(program)?);
    prepare(&mut child);
    let mut child = child
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(input));
    let deadline = std::time::Instant::now() + FEED_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(status.is_some_and(|s| s.success()) && !matches!(written, Some(Err(_))))
}

/// `program` in an absolute `PATH` entry ([`crate::child::find_program`]): a tool in the
/// checkout, found through an empty or relative entry, never gets a secret.
fn located(program: &str) -> std::io::Result<std::path::PathBuf> {
    crate::child::find_program(program).ok_or_else(|| std::io::ErrorKind::NotFound.into())
}

/// The environment and limits every child of crlogin gets ([`crate::child::prepare`]).
fn prepare(command: &mut Command) {
    crate::child::prepare(command, &crate::env::Env::from_process(), &[]);
}

/// Runs `program args` (no stdin) and returns its stdout, trimmed, within `timeout`. An error
/// names `what` and, when the tool fails, repeats the start of its stderr on one line; `missing`
/// says what to do when the tool is not there.
pub async fn output(
    program: &str,
    args: &[&str],
    timeout: Duration,
    what: &str,
    missing: &str,
) -> Result<Zeroizing<String>> {
    let mut command = match located(program) {
        Ok(path) => tokio::process::Command::new(path),
        Err(_) => bail!("{what}: `{program}` is not on PATH: {missing}"),
    };
    prepare(command.as_std_mut());
    let mut child = match command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what}: `{program}` is not on PATH: {missing}")
        }
        Err(e) => bail!("{what}: cannot run `{program}`: {}", e.kind()),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        bail!("{what}: cannot read `{program}`'s output");
    };
    let run = async {
        let mut out = Zeroizing::new(Vec::new());
        let mut err = Vec::new();
        let (mut stdout, mut stderr) = (stdout.take(MAX_OUTPUT), stderr.take(MAX_OUTPUT));
        let (read_out, read_err) =
            tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        read_out.and(read_err)?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| {
            anyhow!(
                "{what}: `{program}` did not answer within {}: retry",
                humantime::format_duration(timeout)
            )
        })?
        .map_err(|e| anyhow!("{what}: cannot read `{program}`'s output: {}", e.kind()))?;
    if !status.success() {
        let message = super::one_line(String::from_utf8_lossy(&err).trim());
        let message: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
        bail!("{what}: `{program}` failed ({status}): {message}");
    }
    let text = std::str::from_utf8(&out)
        .map_err(|_| anyhow!("{what}: `{program}` printed something that is not text"))?;
    Ok(Zeroizing::new(text.trim().to_string()))
}
