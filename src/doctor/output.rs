//! The report: one line per check for people, or one JSON document for programs.

use super::{Check, Status};
use serde_json::{json, Value};

/// The version of the JSON document's shape; it changes only when a field changes meaning or
/// goes away (new fields and new check names may be added).
const JSON_VERSION: u64 = 1;

const ALL: [Status; 4] = [Status::Ok, Status::Warn, Status::Fail, Status::Skip];

fn count(checks: &[Check], status: Status) -> usize {
    checks.iter().filter(|c| c.status == status).count()
}

/// `STATUS  NAME  [SUBJECT: ]DETAIL`, with an indented `fix:` line under each warning and
/// failure, then a summary line.
pub fn text(checks: &[Check], ci_name: &str) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = format!("crlogin doctor ({ci_name}): what `crlogin login` would use and reach\n");
    for check in checks {
        let subject = check
            .subject
            .as_deref()
            .map_or(String::new(), |s| format!("{s}: "));
        out.push_str(&format!(
            "  {:<4}  {:<width$}  {subject}{}\n",
            check.status.label(),
            check.name,
            crate::ci::one_line(&check.detail)
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!(
                "  {:<4}  {:<width$}  fix: {}\n",
                "",
                "",
                crate::ci::one_line(fix)
            ));
        }
    }
    out.push_str(&format!(
        "crlogin doctor: {} checks: {} ok, {} warning{}, {} failed, {} skipped\n",
        checks.len(),
        count(checks, Status::Ok),
        count(checks, Status::Warn),
        if count(checks, Status::Warn) == 1 {
            ""
        } else {
            "s"
        },
        count(checks, Status::Fail),
        count(checks, Status::Skip),
    ));
    out
}

/// The JSON document: `version`, `ci`, `ok` (no check failed), `counts` per status, and
/// `checks` in report order, each with `name`, `subject`, `status`, `detail` and `fix`.
pub fn json(checks: &[Check], ci_name: &str) -> String {
    let counts: serde_json::Map<String, Value> = ALL
        .iter()
        .map(|s| (s.key().to_string(), json!(count(checks, *s))))
        .collect();
    let document = json!({
        "version": JSON_VERSION,
        "ci": ci_name,
        "ok": count(checks, Status::Fail) == 0,
        "counts": counts,
        "checks": checks.iter().map(|c| json!({
            "name": c.name,
            "subject": c.subject,
            "status": c.status.key(),
            "detail": c.detail,
            "fix": c.fix,
        })).collect::<Vec<_>>(),
    });
    // Its details quote paths and values from the job: no workflow command on stdout.
    let mut text = crate::report::inert_json(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Check> {
        vec![
            Check::ok("ci", "local shell"),
            Check::fail("reach-registry", "connection refused", "start it").on("r.example"),
            Check::warn("clock", "6 s behind", "sync it"),
            Check::skip("reach-iam", "no exchange"),
        ]
    }

    #[test]
    fn text_has_a_line_per_check_and_a_fix_under_problems() {
        let text = text(&sample(), "local shell");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 4 + 2 + 1, "{text}");
        assert!(lines[2].starts_with("  FAIL  reach-registry  r.example: connection refused"));
        assert_eq!(lines[3].trim(), "fix: start it");
        assert!(lines[7].ends_with("4 checks: 1 ok, 1 warning, 1 failed, 1 skipped"));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let doc: Value = serde_json::from_str(&json(&sample(), "local shell")).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["ok"], false);
        assert_eq!(
            doc["counts"],
            json!({"ok": 1, "warn": 1, "fail": 1, "skip": 1})
        );
        assert_eq!(
            doc["checks"][1],
            json!({"name": "reach-registry", "subject": "r.example", "status": "fail", "detail": "connection refused", "fix": "start it"})
        );
        assert_eq!(doc["checks"][0]["subject"], Value::Null);
        assert_eq!(doc["checks"][0]["fix"], Value::Null);
    }
}
