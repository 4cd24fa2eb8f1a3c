//! Reading crlogin's stderr as GitHub's runner reads a step's output, for the tests that feed
//! it hostile text: which values the runner would mask, and whether any line would run a
//! workflow command crlogin did not mean.

use super::Out;

/// The values GitHub's runner would mask after reading `stderr` as it reads a step's output:
/// `::command::data` at a line's start (after blanks), `##[command]data` anywhere in a line,
/// and, between `::stop-commands::TOKEN` and `::TOKEN::`, no command at all.
pub fn runner_masks(stderr: &str) -> Vec<String> {
    let mut masks = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stderr.lines() {
        let command = match line.trim_start().strip_prefix("::") {
            Some(rest) => rest.split_once("::"),
            None => line
                .find("##[")
                .and_then(|at| line[at + 3..].split_once(']')),
        };
        let Some((head, data)) = command else {
            continue;
        };
        let name = head.split(' ').next().unwrap_or_default();
        if let Some(token) = &stopped {
            if name == token {
                stopped = None;
            }
            continue;
        }
        match name {
            "stop-commands" => stopped = Some(data.to_string()),
            "add-mask" => masks.push(data.to_string()),
            _ => {}
        }
    }
    masks
}

/// No line of `out` carries a workflow command the runner would run other than crlogin's own,
/// nor an ANSI escape or another control character.
pub fn assert_log_is_inert(out: &Out, what: &str) {
    for line in out.stderr.lines() {
        assert!(!line.contains("##["), "{what}: {line:?}\n{out}");
        assert!(!line.contains(char::is_control), "{what}: {line:?}\n{out}");
        if let Some(rest) = line.trim_start().strip_prefix("::") {
            let name = rest.split([' ', ':']).next().unwrap_or_default();
            assert!(
                [
                    "add-mask",
                    "error",
                    "warning",
                    "group",
                    "endgroup",
                    "stop-commands"
                ]
                .contains(&name)
                    || name.starts_with("crlogin"),
                "{what}: a command crlogin did not mean: {line:?}\n{out}"
            );
        }
    }
}

/// No line of `out`'s stdout (data, which a job may leave uncaptured, so the runner reads it) would
/// run a workflow command: no `##[` anywhere, no `::` at a line's start.
pub fn assert_stdout_is_inert(out: &Out, what: &str) {
    for line in out.stdout.lines() {
        assert!(!line.contains("##["), "{what}: stdout {line:?}\n{out}");
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: stdout {line:?}\n{out}"
        );
    }
}
