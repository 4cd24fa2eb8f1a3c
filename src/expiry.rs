//! Expiry times as crlogin shows them, in reports, outputs and notes.

use std::time::SystemTime;

/// An expiry time as RFC 3339, or "not known" (also for a time RFC 3339 cannot write: before
/// 1970 or after 9999, which no checked expiry is).
pub fn shown(at: Option<SystemTime>) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    match at.map(|t| (t, t.duration_since(std::time::UNIX_EPOCH))) {
        Some((t, Ok(since))) if since.as_secs() < YEAR_10000 => {
            humantime::format_rfc3339_seconds(t).to_string()
        }
        _ => "not known".to_string(),
    }
}
