//! `crlogin k8s-secret`: a `kubernetes.io/dockerconfigjson` Secret for every registry `login`
//! would write (username/password logins, GitLab's registry, the Nebius registries), printed for
//! `kubectl apply -f -` (which creates or replaces it in one step). Its `.dockerconfigjson` is
//! `{"auths":{host:{"username","password","auth"}}}`, base64-encoded as Secret `data` is: what
//! `kubectl create secret docker-registry` makes. stdout is the manifest alone; everything else
//! goes to stderr.
//!
//! With `--service-account`, a ServiceAccount follows whose `imagePullSecrets` names the Secret.
//! That list has no merge key in the Kubernetes API, so `kubectl apply` (and a strategic-merge
//! patch) replaces it whole: crlogin therefore reads the current ServiceAccount on stdin, keeps
//! every entry, adds the Secret once, and keeps its `resourceVersion`, so an apply racing another
//! change to it fails instead of dropping that change.

use crate::ci::{quoted, Ci};
use crate::cli::{K8sSecretArgs, ManifestFormat};
use crate::commands::resolve_logins;
use crate::env::Env;
use crate::report;
use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::io::{IsTerminal, Write};
use zeroize::Zeroizing;

/// Largest ServiceAccount accepted on stdin; real ones are a few hundred bytes.
const MAX_SERVICE_ACCOUNT: u64 = 256 * 1024;

/// Prints the Secret manifest (and the ServiceAccount, with `--service-account`) on stdout.
pub fn run(args: &K8sSecretArgs, env: &Env, ci: &dyn Ci) -> Result<()> {
    check_name(&args.name, 253, "--name", "pull-secret")?;
    if let Some(namespace) = &args.namespace {
        check_name(namespace, 63, "--namespace", "default")?;
        if namespace.contains('.') {
            bail!("--namespace {namespace:?} is not a valid namespace: use lower-case letters, digits and '-'");
        }
    }
    // Everything that can be wrong with the input is found before any token exchange.
    let service_account = match &args.service_account {
        Some(name) => {
            check_name(name, 253, "--service-account", "default")?;
            let current = read_stdin_service_account()?;
            Some(with_pull_secret(
                current,
                name,
                args.namespace.as_deref(),
                &args.name,
            )?)
        }
        None => None,
    };
    let resolved = resolve_logins(&args.registries, &args.auth, false, env, ci)?;
    let mut auths = Map::new();
    for login in resolved.logins() {
        let auth =
            Zeroizing::new(B64.encode(format!("{}:{}", login.username, login.secret.expose())));
        ci.mask(&auth);
        auths.insert(
            login.host.to_string(),
            json!({
                "username": login.username,
                "password": login.secret.expose(),
                "auth": auth.as_str(),
            }),
        );
    }
    let config = Zeroizing::new(serde_json::to_string(&json!({ "auths": auths }))?);
    drop(auths);
    let encoded = Zeroizing::new(B64.encode(config.as_bytes()));
    ci.mask(&encoded);
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(&args.name, args.namespace.as_deref()),
        "type": "kubernetes.io/dockerconfigjson",
        "data": { ".dockerconfigjson": encoded.as_str() },
    });
    let documents: Vec<Value> = std::iter::once(secret).chain(service_account).collect();
    let text = Zeroizing::new(render(&documents, args.output)?);
    drop(documents);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the manifest to stdout: {}", e.kind()))?;
    drop(out);

    let rows = resolved.rows();
    let hosts: Vec<&str> = rows.iter().map(|r| r.host).collect();
    let mut sources: Vec<&str> = Vec::new();
    for row in &rows {
        if !sources.contains(&row.source) {
            sources.push(row.source);
        }
    }
    ci.note(&format!(
        "crlogin: printed Secret {} for {} (from {}{})",
        args.name,
        hosts.join(", "),
        sources.join(", "),
        match &args.service_account {
            Some(sa) => format!("; ServiceAccount {sa} lists it in imagePullSecrets"),
            None => String::new(),
        }
    ));
    // An IAM token lives 12 hours; a static key or a registry password as long as its owner lets it.
    if let Some(credential) = resolved.expiring() {
        ci.warning(&format!(
            "the Secret holds an IAM access token, which expires {}: for long-lived pulls use a Container Registry static key (NEBIUS_STATIC_KEY), the kubelet credential provider (crlogin kubelet-credential-provider), or re-apply the Secret on a schedule (examples/kubernetes/refresh-pull-secret-cronjob.yaml)",
            match credential.expires_at {
                Some(_) => format!("at {}", report::expiry(credential.expires_at)),
                None => "within 12 hours".to_string(),
            }
        ));
    }
    Ok(())
}

/// `metadata` with `name` and, when given, `namespace`.
fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({ "name": name });
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    metadata
}

/// YAML documents separated by `---`, or one JSON document (a `v1` `List` when there are two).
fn render(documents: &[Value], format: ManifestFormat) -> Result<String> {
    Ok(match format {
        ManifestFormat::Yaml => {
            let mut text = String::new();
            for (i, document) in documents.iter().enumerate() {
                if i > 0 {
                    text.push_str("---\n");
                }
                text.push_str(&serde_yaml::to_string(document)?);
            }
            text
        }
        ManifestFormat::Json => {
            let value = match documents {
                [one] => one.clone(),
                many => json!({ "apiVersion": "v1", "kind": "List", "items": many }),
            };
            report::inert_json(&value)? + "\n"
        }
    })
}

/// The ServiceAccount piped in on stdin (JSON or YAML, as `kubectl get -o json|yaml` prints).
fn read_stdin_service_account() -> Result<Value> {
    const HOW: &str = "pipe in the current one: kubectl get serviceaccount NAME -o json | crlogin k8s-secret ... --service-account NAME";
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("--service-account reads the ServiceAccount on stdin, which is a terminal: {HOW}");
    }
    let text =
        crate::secrets::read_text(stdin.lock(), MAX_SERVICE_ACCOUNT).map_err(|e| match e {
            crate::secrets::TextError::Io(kind) => anyhow::anyhow!("cannot read stdin: {kind}"),
            crate::secrets::TextError::TooLarge => {
                anyhow::anyhow!("stdin is larger than 256 KiB, which no ServiceAccount is: {HOW}")
            }
            crate::secrets::TextError::NotUtf8 => anyhow::anyhow!("stdin is not UTF-8 text: {HOW}"),
        })?;
    if text.trim().is_empty() {
        bail!("--service-account found nothing on stdin: {HOW} (a new one: kubectl create serviceaccount NAME first)");
    }
    serde_yaml::from_str(&text).with_context(|| format!("stdin is not a ServiceAccount: {HOW}"))
}

/// The ServiceAccount to apply: `current`'s name, namespace, `resourceVersion` and
/// `imagePullSecrets`, with `secret` added when it is not listed yet.
fn with_pull_secret(
    current: Value,
    name: &str,
    namespace: Option<&str>,
    secret: &str,
) -> Result<Value> {
    if current["kind"] != "ServiceAccount" {
        bail!("stdin is not a ServiceAccount (kind {}): pipe in kubectl get serviceaccount {name} -o json", current["kind"].as_str().map_or_else(|| "missing".to_string(), quoted));
    }
    let meta = &current["metadata"];
    let given = meta["name"].as_str().unwrap_or_default();
    if given != name {
        bail!("stdin holds ServiceAccount {}, not {name}: pipe in kubectl get serviceaccount {name} -o json", quoted(given));
    }
    let given_namespace = meta["namespace"].as_str();
    if let (Some(want), Some(got)) = (namespace, given_namespace) {
        if want != got {
            bail!("stdin holds ServiceAccount {name} of namespace {}, not {want}: add -n {want} to kubectl get", quoted(got));
        }
    }
    if let Some(got) = given_namespace {
        check_piped_name(got, 63, "namespace")?;
    }
    // Only a checked `name` of each entry is printed: stdout may reach the CI's log, and
    // anything else piped in (`##[stop-commands]`, `::set-output`) would be a command there.
    let not_a_list = "the ServiceAccount on stdin has an imagePullSecrets that is not a list of {name: ...}: check what was piped in";
    let mut entries: Vec<Value> = match &current["imagePullSecrets"] {
        Value::Null => Vec::new(),
        Value::Array(entries) => entries
            .iter()
            .map(|e| {
                let name = e["name"].as_str().context(not_a_list)?;
                check_piped_name(name, 253, "imagePullSecrets entry")?;
                Ok(json!({ "name": name }))
            })
            .collect::<Result<_>>()?,
        _ => bail!("{not_a_list}"),
    };
    if !entries.iter().any(|e| e["name"] == secret) {
        entries.push(json!({ "name": secret }));
    }
    let mut metadata = metadata(name, namespace.or(given_namespace));
    if let Some(version) = meta["resourceVersion"].as_str() {
        // Opaque to clients, but the API server's are short runs of letters and digits.
        if version.len() > 64 || !version.bytes().all(|b| b.is_ascii_alphanumeric()) {
            bail!("the ServiceAccount on stdin has a resourceVersion that the API server does not make (its value is not shown): pipe in kubectl get serviceaccount {name} -o json");
        }
        metadata["resourceVersion"] = json!(version);
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        "imagePullSecrets": entries,
    }))
}

/// A name in the ServiceAccount piped in (`what`): checked as [`check_name`] checks a flag, and
/// never shown when it fails (it came from outside and would be printed in the CI's log).
fn check_piped_name(name: &str, max: usize, what: &str) -> Result<()> {
    check_name(name, max, "x", "x").map_err(|_| {
        anyhow::anyhow!("the ServiceAccount on stdin has a {what} that is not a valid Kubernetes name (it is not shown): check what was piped in")
    })
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
    use serde_json::json;

    #[test]
    fn the_pull_secret_is_added_once_and_other_entries_stay() {
        let current = json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "apps", "resourceVersion": "42", "uid": "u"},
            "secrets": [{"name": "token"}],
            "imagePullSecrets": [{"name": "other"}],
        });
        let sa = with_pull_secret(current.clone(), "default", None, "pull").unwrap();
        assert_eq!(
            sa,
            json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "apps", "resourceVersion": "42"},
                "imagePullSecrets": [{"name": "other"}, {"name": "pull"}],
            })
        );
        let again = with_pull_secret(sa, "default", Some("apps"), "pull").unwrap();
        assert_eq!(again["imagePullSecrets"].as_array().unwrap().len(), 2);
        for (name, namespace, want) in [
            (
                "builder",
                None,
                "stdin holds ServiceAccount \"default\", not builder",
            ),
            ("default", Some("ci"), "of namespace \"apps\", not ci"),
        ] {
            let err = with_pull_secret(current.clone(), name, namespace, "pull").unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
        }
        let secret = json!({"kind": "Secret", "metadata": {"name": "default"}});
        assert!(with_pull_secret(secret, "default", None, "pull").is_err());
    }

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
