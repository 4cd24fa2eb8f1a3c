//! The docker `config.json` format that docker, helm and podman all read: `auths` entries, and
//! the `credHelpers` / `credsStore` settings that can shadow them.

use crate::files::auth_file::Document;
use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

/// Sets `auths[key].auth`. Returns true when the document changed.
pub fn set_auth(doc: &mut Document, key: &str, auth: &str) -> Result<bool> {
    let auths = auths_mut(doc)?;
    let entry = json!({ "auth": auth });
    if auths.get(key) == Some(&entry) {
        return Ok(false);
    }
    auths.insert(key.to_string(), entry);
    Ok(true)
}

/// Removes `auths[key]`, keeping the other entries in their order. Returns true when there was
/// one.
pub fn remove_auth(doc: &mut Document, key: &str) -> Result<bool> {
    Ok(auths_mut(doc)?.shift_remove(key).is_some())
}

/// Removes a per-host `credHelpers` entry, which would make the client ask that helper instead of
/// reading our `auths` entry. Returns the helper's name when one was removed.
pub fn remove_cred_helper(doc: &mut Document, key: &str) -> Option<String> {
    let helpers = doc.get_mut("credHelpers")?.as_object_mut()?;
    helpers
        .shift_remove(key)
        .map(|v| v.as_str().unwrap_or_default().to_string())
}

/// Sets `credHelpers[key]` to `helper`. Returns the helper it replaced (`Some("")` when there
/// was none), or `None` when the entry was already there.
pub fn set_cred_helper(doc: &mut Document, key: &str, helper: &str) -> Result<Option<String>> {
    let helpers = match doc.entry("credHelpers").or_insert_with(|| json!({})) {
        Value::Object(helpers) => helpers,
        _ => bail!(not_an_object("credHelpers")),
    };
    if helpers.get(key).and_then(Value::as_str) == Some(helper) {
        return Ok(None);
    }
    let old = helpers.insert(key.to_string(), json!(helper));
    Ok(Some(
        old.as_ref()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    ))
}

/// The keys of `credHelpers`, if any.
pub fn cred_helper_keys(doc: &Document) -> Vec<String> {
    doc.get("credHelpers")
        .and_then(Value::as_object)
        .map(|helpers| helpers.keys().cloned().collect())
        .unwrap_or_default()
}

/// Removes `credHelpers[key]` only when it names `helper`, and `credHelpers` itself when that
/// leaves it empty. Returns true when an entry was removed.
pub fn remove_cred_helper_named(doc: &mut Document, key: &str, helper: &str) -> bool {
    let Some(helpers) = doc.get_mut("credHelpers").and_then(Value::as_object_mut) else {
        return false;
    };
    if helpers.get(key).and_then(Value::as_str) != Some(helper) {
        return false;
    }
    helpers.shift_remove(key);
    if helpers.is_empty() {
        doc.shift_remove("credHelpers");
    }
    true
}

/// The global `credsStore`, if set: docker and helm then read every host from that helper
/// instead of from `auths`.
pub fn creds_store(doc: &Document) -> Option<&str> {
    doc.get("credsStore")?.as_str().filter(|s| !s.is_empty())
}

fn auths_mut(doc: &mut Document) -> Result<&mut Map<String, Value>> {
    match doc.entry("auths").or_insert_with(|| json!({})) {
        Value::Object(auths) => Ok(auths),
        _ => bail!(not_an_object("auths")),
    }
}

/// Fails, as writing `section` would, when the document has a `section` that is not a JSON
/// object: checked in every file before any is written, so a run changes all files or none.
pub fn check_section(doc: &Document, section: &str) -> Result<()> {
    match doc.get(section) {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => bail!(not_an_object(section)),
    }
}

fn not_an_object(section: &str) -> String {
    format!(
        "its \"{section}\" is not a JSON object: fix or remove it (crlogin will not overwrite it)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_other_keys_and_removes_shadowing_helper() {
        let mut doc: Document = serde_json::from_str(
            r#"{"auths":{"other.io":{"auth":"eA=="}},"credHelpers":{"r.io":"gcloud","x.io":"ecr"},"proxies":{"default":{}}}"#,
        )
        .unwrap();
        assert!(set_auth(&mut doc, "r.io", "dTpw").unwrap());
        assert!(
            !set_auth(&mut doc, "r.io", "dTpw").unwrap(),
            "same entry is no change"
        );
        assert_eq!(
            remove_cred_helper(&mut doc, "r.io").as_deref(),
            Some("gcloud")
        );
        assert_eq!(doc["credHelpers"], json!({"x.io": "ecr"}));
        assert_eq!(doc["auths"]["other.io"], json!({"auth": "eA=="}));
        assert!(doc.contains_key("proxies"));
        assert!(remove_auth(&mut doc, "r.io").unwrap());
        assert!(!remove_auth(&mut doc, "r.io").unwrap());
    }

    #[test]
    fn cred_helpers_are_set_and_removed_only_when_ours() {
        let mut doc: Document =
            serde_json::from_str(r#"{"credHelpers":{"a.io":"nebius","b.io":"ecr"}}"#).unwrap();
        assert_eq!(
            set_cred_helper(&mut doc, "a.io", "crlogin")
                .unwrap()
                .as_deref(),
            Some("nebius")
        );
        assert_eq!(
            set_cred_helper(&mut doc, "c.io", "crlogin")
                .unwrap()
                .as_deref(),
            Some("")
        );
        assert_eq!(set_cred_helper(&mut doc, "c.io", "crlogin").unwrap(), None);
        assert!(!remove_cred_helper_named(&mut doc, "b.io", "crlogin"));
        assert!(remove_cred_helper_named(&mut doc, "a.io", "crlogin"));
        assert!(remove_cred_helper_named(&mut doc, "c.io", "crlogin"));
        assert_eq!(doc["credHelpers"], json!({"b.io": "ecr"}));
        assert!(remove_cred_helper_named(&mut doc, "b.io", "ecr"));
        assert!(
            !doc.contains_key("credHelpers"),
            "an emptied credHelpers goes"
        );
        let mut doc: Document = serde_json::from_str(r#"{"credHelpers":[]}"#).unwrap();
        assert!(set_cred_helper(&mut doc, "a.io", "crlogin").is_err());
    }

    #[test]
    fn auths_that_is_not_an_object_is_an_error() {
        let mut doc: Document = serde_json::from_str(r#"{"auths":[]}"#).unwrap();
        assert!(set_auth(&mut doc, "r.io", "x").is_err());
    }
}
