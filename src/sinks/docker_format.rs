//! The docker `config.json` format that docker, helm and podman all read: `auths` entries, and
//! the `credHelpers` / `credsStore` settings that can shadow them.

use super::auth_file::Document;
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

/// Removes `auths[key]`. Returns true when there was one.
pub fn remove_auth(doc: &mut Document, key: &str) -> Result<bool> {
    Ok(auths_mut(doc)?.remove(key).is_some())
}

/// Removes a per-host `credHelpers` entry, which would make the client ask that helper instead of
/// reading our `auths` entry. Returns the helper's name when one was removed.
pub fn remove_cred_helper(doc: &mut Document, key: &str) -> Option<String> {
    let helpers = doc.get_mut("credHelpers")?.as_object_mut()?;
    helpers
        .remove(key)
        .map(|v| v.as_str().unwrap_or_default().to_string())
}

/// The global `credsStore`, if set: docker and helm then read every host from that helper
/// instead of from `auths`.
pub fn creds_store(doc: &Document) -> Option<&str> {
    doc.get("credsStore")?.as_str().filter(|s| !s.is_empty())
}

fn auths_mut(doc: &mut Document) -> Result<&mut Map<String, Value>> {
    match doc.entry("auths").or_insert_with(|| json!({})) {
        Value::Object(auths) => Ok(auths),
        _ => bail!(
            "its \"auths\" is not a JSON object: fix or remove it (crlogin will not overwrite it)"
        ),
    }
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
    fn auths_that_is_not_an_object_is_an_error() {
        let mut doc: Document = serde_json::from_str(r#"{"auths":[]}"#).unwrap();
        assert!(set_auth(&mut doc, "r.io", "x").is_err());
    }
}
