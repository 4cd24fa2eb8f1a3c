//! `crlogin k8s-secret`: a `kubernetes.io/dockerconfigjson` Secret for the selected Nebius
//! registries, printed for `kubectl apply -f -` (which creates or replaces it in one step). Its
//! `.dockerconfigjson` is `{"auths":{host:{"username","password","auth"}}}`, base64-encoded as
//! Secret `data` is. stdout is the manifest alone; everything else goes to stderr.

use crate::ci::Ci;
use crate::cli::{K8sSecretArgs, ManifestFormat};
use crate::commands::{nebius_credential, nebius_hosts, PasswordKind};
use crate::env::Env;
use crate::report;
use anyhow::{bail, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map};
use std::io::Write;
use zeroize::Zeroizing;

/// Prints the Secret manifest on stdout.
pub fn run(args: &K8sSecretArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    check_name(&args.name, 253, "--name", "pull-secret")?;
    if let Some(namespace) = &args.namespace {
        check_name(namespace, 63, "--namespace", "default")?;
        if namespace.contains('.') {
            bail!("--namespace {namespace:?} is not a valid namespace: use lower-case letters, digits and '-'");
        }
    }
    let hosts = nebius_hosts(&args.target, env)?;
    let (credential, kind) = nebius_credential(&args.auth, env, ci)?;
    let auth = Zeroizing::new(B64.encode(format!(
        "{}:{}",
        credential.username,
        credential.secret.expose()
    )));
    ci.mask(&auth);
    let mut auths = Map::new();
    for host in &hosts {
        auths.insert(
            host.clone(),
            json!({
                "username": credential.username,
                "password": credential.secret.expose(),
                "auth": auth.as_str(),
            }),
        );
    }
    let config = Zeroizing::new(serde_json::to_string(&json!({ "auths": auths }))?);
    let encoded = Zeroizing::new(B64.encode(config.as_bytes()));
    ci.mask(&encoded);
    let mut metadata = json!({ "name": args.name });
    if let Some(namespace) = &args.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "kubernetes.io/dockerconfigjson",
        "data": { ".dockerconfigjson": encoded.as_str() },
    });
    let text = Zeroizing::new(match args.output {
        ManifestFormat::Yaml => serde_yaml::to_string(&manifest)?,
        ManifestFormat::Json => serde_json::to_string_pretty(&manifest)? + "\n",
    });
    drop(manifest);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the manifest to stdout: {}", e.kind()))?;
    drop(out);

    ci.note(&format!(
        "crlogin: printed Secret {} for {} (password from {}; expires {})",
        args.name,
        hosts.join(", "),
        credential.source,
        report::expiry(credential.expires_at)
    ));
    if kind != PasswordKind::StaticKey {
        ci.warning(&format!(
            "the Secret holds an IAM access token, which expires {}: for long-lived pulls use a Container Registry static key (NEBIUS_STATIC_KEY) or the kubelet credential provider (crlogin kubelet-credential-provider)",
            match credential.expires_at {
                Some(_) => format!("at {}", report::expiry(credential.expires_at)),
                None => "within 12 hours".to_string(),
            }
        ));
    }
    Ok(())
}

/// A Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending
/// with a letter or digit, at most `max` characters.
fn check_name(name: &str, max: usize, flag: &str, example: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        bail!("{flag} {name:?} is not a valid Kubernetes name: use at most {max} lower-case letters, digits and '-', starting and ending with a letter or digit, e.g. {example}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["pull", "nebius-pull.v2", "a"] {
            assert!(check_name(good, 253, "--name", "x").is_ok(), "{good}");
        }
        for bad in ["", "Pull", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(check_name(bad, 63, "--name", "x").is_err(), "{bad}");
        }
    }
}
