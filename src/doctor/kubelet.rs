//! The `kubelet-provider` check: on a node whose kubelet runs crlogin as its image credential
//! provider, which mode the provider would use for a pull and why: per-pod federation (the
//! provider has `tokenAttributes` and the kubelet passes the [`ANNOTATION`]), and what pods
//! without it get (`CRLOGIN_KUBELET_UNANNOTATED`, from the config's `env`/`args` or this shell).

use super::Check;
use crate::cli::Unannotated;
use crate::env::Env;
use crate::files;
use crate::helper::kubelet_federation::{ANNOTATION, AUDIENCE, UNANNOTATED_VAR};
use crate::helper::KUBELET_PROVIDER_PROGRAM;
use clap::ValueEnum;
use serde_yaml::Value;
use std::path::PathBuf;

/// The variable naming the kubelet's `CredentialProviderConfig` (its
/// `--image-credential-provider-config`).
pub const CONFIG_VAR: &str = "CRLOGIN_KUBELET_CONFIG";

/// Where crlogin's example puts it.
pub const DEFAULT_CONFIG: &str = "/etc/kubernetes/credential-provider-config.yaml";

const NAME: &str = "kubelet-provider";
const DOCS: &str = "see examples/kubernetes/per-pod-federation/";

/// The check, on a node (`CRLOGIN_KUBELET_CONFIG` set, or a config at [`DEFAULT_CONFIG`]);
/// `node_credential`: whether this shell has a Nebius credential for the fallback.
pub fn check(env: &Env, node_credential: bool) -> Option<Check> {
    let named = env.is_set(CONFIG_VAR);
    if !named && !std::path::Path::new(DEFAULT_CONFIG).exists() {
        return None;
    }
    Some(check_config(env, node_credential))
}

fn check_config(env: &Env, node_credential: bool) -> Check {
    let path = env
        .path(CONFIG_VAR)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let text = match files::read_regular(&path, 1024 * 1024) {
        Ok(text) => text,
        Err(e) => {
            let why = match e {
                files::ReadError::NotFound => "there is no such file".to_string(),
                files::ReadError::NotRegular(kind) => format!("it is {kind}"),
                files::ReadError::TooLarge => "it is over 1 MiB".to_string(),
                files::ReadError::NotUtf8 => "it is not UTF-8".to_string(),
                files::ReadError::Io(kind) => kind.to_string(),
            };
            return Check::fail(
                NAME,
                format!("cannot read {}: {why}", path.display()),
                format!("point {CONFIG_VAR} at the kubelet's --image-credential-provider-config"),
            );
        }
    };
    let Ok(config) = serde_yaml::from_str::<Value>(&text) else {
        return Check::fail(
            NAME,
            format!("{} is not YAML", path.display()),
            "fix the file: the kubelet will not start with it",
        );
    };
    let on = path.display().to_string();
    let provider = config["providers"].as_sequence().and_then(|providers| {
        providers
            .iter()
            .find(|p| p["name"].as_str() == Some(KUBELET_PROVIDER_PROGRAM))
    });
    let Some(provider) = provider else {
        return Check::warn(
            NAME,
            format!("no provider named {KUBELET_PROVIDER_PROGRAM}"),
            format!("add one; {DOCS}"),
        )
        .on(on);
    };
    let unannotated = match policy(provider, env) {
        Ok(policy) => policy,
        Err(value) => {
            return Check::fail(
                NAME,
                format!(
                    "{UNANNOTATED_VAR} (or --unannotated) is {value:?}, neither node nor refuse"
                ),
                "set it to node (the default) or refuse",
            )
            .on(on)
        }
    };
    let others = match unannotated {
        Unannotated::Node if node_credential => "the node's credential (found here)".to_string(),
        Unannotated::Node => "the node's credential".to_string(),
        Unannotated::Refuse => format!("a refusal ({UNANNOTATED_VAR}=refuse)"),
    };
    let attributes = &provider["tokenAttributes"];
    if attributes.is_null() {
        let detail = format!("node credential for every pod: the provider has no tokenAttributes, so the kubelet sends no pod token; pulls get {others}");
        return match unannotated {
            Unannotated::Refuse => Check::fail(
                NAME,
                detail,
                format!("give the provider tokenAttributes, or set {UNANNOTATED_VAR}=node; {DOCS}"),
            ),
            Unannotated::Node if !node_credential => Check::warn(
                NAME,
                detail,
                format!("give the node a Nebius credential in the provider's env, or the provider tokenAttributes; {DOCS}"),
            ),
            Unannotated::Node => Check::ok(NAME, detail),
        }
        .on(on);
    }
    let keys = |field: &str| -> Vec<&str> {
        attributes[field]
            .as_sequence()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let passed = keys("requiredServiceAccountAnnotationKeys").contains(&ANNOTATION)
        || keys("optionalServiceAccountAnnotationKeys").contains(&ANNOTATION);
    if !passed {
        return Check::fail(
            NAME,
            format!("the kubelet sends pod tokens but not the {ANNOTATION} annotation, so no pod is federated; pulls get {others}"),
            format!("add {ANNOTATION} to tokenAttributes.optionalServiceAccountAnnotationKeys"),
        )
        .on(on);
    }
    let audience = attributes["serviceAccountTokenAudience"]
        .as_str()
        .unwrap_or_default();
    let detail = format!("per-pod federation for service accounts annotated {ANNOTATION} (pod tokens for aud {audience:?}); other pods get {others}");
    if audience != AUDIENCE {
        return Check::warn(
            NAME,
            detail,
            format!("set tokenAttributes.serviceAccountTokenAudience to {AUDIENCE}, the audience Nebius's own Kubernetes integration uses"),
        )
        .on(on);
    }
    if unannotated == Unannotated::Node && !node_credential {
        return Check::warn(
            NAME,
            detail,
            format!("unannotated pods' pulls fail without a node credential: give the provider's env one, or set {UNANNOTATED_VAR}=refuse to make that the rule"),
        )
        .on(on);
    }
    Check::ok(NAME, detail).on(on)
}

/// The unannotated policy the kubelet would run the provider with: its `args`, then its `env`,
/// then this shell's, else the default. `Err` holds an unknown value.
fn policy(provider: &Value, env: &Env) -> Result<Unannotated, String> {
    let args: Vec<&str> = provider["args"]
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let from_args = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--unannotated=")
            .or_else(|| (*a == "--unannotated").then(|| args.get(i + 1).copied().unwrap_or("")))
    });
    let from_env = provider["env"].as_sequence().and_then(|vars| {
        vars.iter()
            .find(|v| v["name"].as_str() == Some(UNANNOTATED_VAR))
            .map(|v| v["value"].as_str().unwrap_or_default())
    });
    let shell = env.get(UNANNOTATED_VAR).ok().flatten();
    match from_args.or(from_env).or(shell.as_deref()) {
        None => Ok(Unannotated::Node),
        Some(value) => Unannotated::from_str(value.trim(), true).map_err(|_| value.to_string()),
    }
}
