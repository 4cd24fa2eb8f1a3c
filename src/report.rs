//! The human report on stderr (never a secret), and the `export` lines on stdout that point a
//! shell at an isolated config directory.

use crate::sinks::Tool;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `value` as pretty JSON that no CI log reader takes for a command, for stdout (which a job
/// may leave uncaptured): GitHub's runner runs a `##[command]` anywhere in a line, so every
/// `##[` (only ever inside a string: `#` is no JSON syntax) is written `\u0023#[`, which parses
/// back to the same text. A `::command` must start its line, and a pretty JSON line starts
/// with blanks and `{`, `}`, `[`, `]` or `"`, never `::`.
pub fn inert_json(value: &Value) -> serde_json::Result<String> {
    let text = zeroize::Zeroizing::new(serde_json::to_string_pretty(value)?);
    Ok(text.replace("##[", "\\u0023#["))
}

/// One row of the report.
pub struct Row<'a> {
    /// The registry host.
    pub host: &'a str,
    /// The username written.
    pub username: &'a str,
    /// Where the credential came from.
    pub source: &'a str,
    /// When it expires, where known.
    pub expires_at: Option<SystemTime>,
}

/// Columns are padded to the widest value up to this width; a wider value just sticks out.
const MAX_COLUMN: usize = 64;

/// What was written (or, with `dry_run`, what would be), for stderr.
pub fn login(rows: &[Row], files: &[(Tool, PathBuf)], ci_name: &str, dry_run: bool) -> String {
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|r| [cell(r.host), cell(r.username), cell(r.source)])
        .collect();
    let width = |column: usize, title: &str| {
        cells
            .iter()
            .map(|c| c[column].chars().count())
            .max()
            .unwrap_or(0)
            .clamp(title.len(), MAX_COLUMN)
    };
    let (width, user_width, source_width) =
        (width(0, "registry"), width(1, "user"), width(2, "source"));
    let verb = if dry_run {
        "would log in to"
    } else {
        "logged in to"
    };
    let mut out = format!(
        "crlogin: {verb} {} {} for {} ({ci_name})\n",
        rows.len(),
        plural(rows.len(), "registry", "registries"),
        tool_names(files)
    );
    out.push_str(&format!(
        "  {:width$}  {:user_width$}  {:source_width$}  expires\n",
        "registry", "user", "source"
    ));
    for (row, [host, username, source]) in rows.iter().zip(&cells) {
        out.push_str(&format!(
            "  {host:width$}  {username:user_width$}  {source:source_width$}  {}\n",
            expiry(row.expires_at)
        ));
    }
    for (tool, path) in files {
        let path = cell(&path.display().to_string());
        out.push_str(&format!("  {:7} {path}\n", tool.name()));
    }
    if dry_run {
        out.push_str("  dry run: nothing was written\n");
    }
    out
}

/// Which hosts were logged out of, and from which files, for stderr.
pub fn logout(removed: &[String], asked: usize, files: &[(Tool, PathBuf)]) -> String {
    let mut out = format!(
        "crlogin: logged out of {} of {asked} {} for {}\n",
        removed.len(),
        plural(asked, "registry", "registries"),
        tool_names(files)
    );
    for host in removed {
        out.push_str(&format!("  {host}\n"));
    }
    out
}

/// The login report as JSON for `-o json`: registries (host, user, source, expiry), tools with
/// their files, the variables exported for them, and the earliest expiry. Holds no secret.
pub fn login_json(
    rows: &[Row],
    files: &[(Tool, PathBuf)],
    exported: &[(&str, PathBuf)],
    dry_run: bool,
) -> Value {
    let registries: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "host": r.host,
                "username": r.username,
                "source": r.source,
                "expires_at": r.expires_at.map(|t| expiry(Some(t))),
            })
        })
        .collect();
    let env: Map<String, Value> = exported
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value.display().to_string())))
        .collect();
    json!({
        "command": "login",
        "dry_run": dry_run,
        "registries": registries,
        "tools": tools_json(files),
        "env": env,
        "expires_at": rows.iter().filter_map(|r| r.expires_at).min().map(|t| expiry(Some(t))),
    })
}

/// The logout report as JSON for `-o json`: the hosts asked for, those removed, and the files.
pub fn logout_json(removed: &[String], asked: &[&str], files: &[(Tool, PathBuf)]) -> Value {
    json!({
        "command": "logout",
        "hosts": asked,
        "removed": removed,
        "tools": tools_json(files),
    })
}

fn tools_json(files: &[(Tool, PathBuf)]) -> Vec<Value> {
    files
        .iter()
        .map(|(tool, path)| json!({"tool": tool.name(), "file": path.display().to_string()}))
        .collect()
}

/// `export NAME='value'` lines for `eval "$(crlogin login --isolated)"`.
pub fn export_lines(vars: &[(&str, PathBuf)]) -> String {
    vars.iter()
        .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
        .collect()
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

/// The tools' names, comma-separated.
pub fn tool_names(files: &[(Tool, PathBuf)]) -> String {
    files
        .iter()
        .map(|(t, _)| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An expiry time as RFC 3339, or "not known" (also for a time RFC 3339 cannot write: before
/// 1970 or after 9999, which no checked expiry is).
pub fn expiry(at: Option<SystemTime>) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    match at.map(|t| (t, t.duration_since(std::time::UNIX_EPOCH))) {
        Some((t, Ok(since))) if since.as_secs() < YEAR_10000 => {
            humantime::format_rfc3339_seconds(t).to_string()
        }
        _ => "not known".to_string(),
    }
}

/// A value as one report cell: on one line, so no value can start a line of its own.
fn cell(value: &str) -> String {
    value.replace(char::is_control, " ")
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_value_stays_in_its_cell_on_one_line() {
        let long = "u".repeat(100_000);
        let rows = [Row {
            host: "r.example",
            username: &long,
            source: "profile x\n::error::y",
            expires_at: None,
        }];
        let text = login(
            &rows,
            &[(Tool::Docker, "/a\rb".into())],
            "local shell",
            false,
        );
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.contains("profile x ::error::y"), "{text}");
        assert!(text.contains("docker  /a b"), "{text}");
    }

    #[test]
    fn export_lines_are_shell_quoted() {
        let lines = export_lines(&[("DOCKER_CONFIG", PathBuf::from("/tmp/it's"))]);
        assert_eq!(lines, "export DOCKER_CONFIG='/tmp/it'\\''s'\n");
    }
}
