//! The places a secret is meant to be, cut out before a text is scanned, and nothing more: the
//! credential fields of auth-file entries for hosts the tests named, the token cache's token, and
//! the few crlogin outputs whose job is to hand over a credential.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize as _;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// The fields of an `auths` entry that hold the credential.
const CREDENTIAL_FIELDS: [&str; 4] = ["auth", "password", "identitytoken", "registrytoken"];

/// Nebius registry hosts: crlogin logs into these for a Nebius credential.
const NEBIUS_REGIONS: [&str; 6] = [
    "eu-north1",
    "eu-north2",
    "eu-west1",
    "me-west1",
    "uk-south1",
    "us-central1",
];

/// The hosts credentials are meant for: the Nebius registries and every host a test named.
#[derive(Default)]
pub struct Hosts(HashSet<String>);

impl Hosts {
    /// Adds each host in `list` (comma- or space-separated; scheme and path dropped).
    pub fn add(&mut self, list: &str) {
        for item in list.split([',', ' ', '\n']).filter(|s| !s.is_empty()) {
            self.0.insert(normalize(item));
        }
    }

    /// Whether credentials for `host` are meant to be written.
    pub fn intended(&self, host: &str) -> bool {
        let host = normalize(host);
        self.0.contains(&host)
            || NEBIUS_REGIONS
                .iter()
                .any(|r| host == format!("cr.{r}.nebius.cloud"))
    }
}

fn normalize(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(&host);
    host.split('/').next().unwrap_or("").to_string()
}

/// Removes the credential fields of `doc.auths[HOST]` for intended hosts; says whether `doc`
/// is an auth file (a JSON object with an `auths` object).
pub fn strip_auths(doc: &mut Value, hosts: &Hosts) -> bool {
    let Some(auths) = doc.get_mut("auths").and_then(Value::as_object_mut) else {
        return false;
    };
    for (host, entry) in auths.iter_mut() {
        if let (true, Some(entry)) = (hosts.intended(host), entry.as_object_mut()) {
            for field in CREDENTIAL_FIELDS {
                entry.remove(field);
            }
        }
    }
    true
}

/// What of file `path` to scan: an auth file without its intended credentials, a token-cache
/// file (`crlogin/token-*.json`) without its `access_token`, anything else whole.
pub fn file_text(path: &Path, bytes: &[u8], hosts: &Hosts) -> Vec<u8> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(bytes) else {
        return bytes.to_vec();
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let in_cache = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "crlogin");
    let cache_file =
        in_cache && name.is_some_and(|n| n.starts_with("token-") && n.ends_with(".json"));
    if cache_file {
        if let Some(doc) = doc.as_object_mut() {
            doc.remove("access_token");
        }
    } else if !strip_auths(&mut doc, hosts) {
        return bytes.to_vec();
    }
    doc.to_string().into_bytes()
}

/// What a crlogin run is, for its output rules.
#[derive(Debug, PartialEq)]
pub enum Run {
    /// `crlogin token`: stdout is the password.
    Token,
    /// The docker credential helper's `get`: stdout is JSON with the `Secret`.
    HelperGet,
    /// `crlogin kubelet-credential-provider`: stdout has `auth.HOST.password`.
    Kubelet,
    /// `crlogin k8s-secret`: stdout is a Secret whose `.dockerconfigjson` holds auths.
    K8sSecret,
    /// Any other crlogin run.
    Other,
    /// Not crlogin.
    NotCrlogin,
}

/// Classifies the argv of a recorded process. Like crlogin itself, a link named
/// `docker-credential-crlogin` or `crlogin-credential-provider` is its helper subcommand.
pub fn classify(argv: &[String]) -> Run {
    let program = argv
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut words: Vec<&str> = argv[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    match program.as_str() {
        "crlogin" => {}
        "docker-credential-crlogin" => words.insert(0, "credential-helper"),
        "crlogin-credential-provider" => words.insert(0, "kubelet-credential-provider"),
        _ => return Run::NotCrlogin,
    }
    match words.as_slice() {
        ["token", ..] => Run::Token,
        ["credential-helper", "get", ..] => Run::HelperGet,
        ["kubelet-credential-provider", ..] => Run::Kubelet,
        ["k8s-secret", ..] => Run::K8sSecret,
        _ => Run::Other,
    }
}

/// What of a recorded output to scan. For crlogin: on GitHub Actions or Azure Pipelines
/// (`github`) without the `::add-mask::` and `##vso[task.setsecret]` lines (the runner consumes them: they carry secrets on purpose; anywhere else
/// they would be printed), and on stdout without the credential
/// its protocol hands over (`token`'s line that is exactly a registered secret, the helper's
/// `Secret`, the kubelet response's and the Secret manifest's intended credentials).
pub fn output_text(
    run: &Run,
    github: bool,
    stdout: bool,
    bytes: &[u8],
    hosts: &Hosts,
    secrets: &[String],
) -> Vec<u8> {
    if *run == Run::NotCrlogin {
        return bytes.to_vec();
    }
    let text = String::from_utf8_lossy(bytes);
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| {
            !(github && (l.starts_with("::add-mask::") || l.starts_with("##vso[task.setsecret]")))
        })
        .filter(|l| {
            !(stdout && *run == Run::Token && secrets.iter().any(|s| s == l.trim_end_matches('\n')))
        })
        .collect();
    let text = kept.concat();
    if !stdout {
        return text.into_bytes();
    }
    let stripped = match run {
        Run::HelperGet => serde_json::from_str::<Value>(&text).ok().map(|mut doc| {
            if let Some(doc) = doc.as_object_mut() {
                doc.remove("Secret");
            }
            doc
        }),
        Run::Kubelet => serde_json::from_str::<Value>(&text).ok().map(|mut doc| {
            strip_kubelet(&mut doc, hosts);
            doc
        }),
        // YAML with `--service-account` is two documents (the Secret, then the ServiceAccount).
        Run::K8sSecret => serde_yaml::Deserializer::from_str(&text)
            .map(|doc| Value::deserialize(doc).ok())
            .collect::<Option<Vec<Value>>>()
            .map(|docs| {
                let docs = docs.into_iter().map(|d| strip_secret_manifest(d, hosts));
                Value::Array(docs.collect())
            }),
        _ => None,
    };
    stripped.map_or(text.into_bytes(), |doc| doc.to_string().into_bytes())
}

fn strip_kubelet(doc: &mut Value, hosts: &Hosts) {
    if let Some(auth) = doc.get_mut("auth").and_then(Value::as_object_mut) {
        for (host, entry) in auth.iter_mut() {
            if let (true, Some(entry)) = (hosts.intended(host), entry.as_object_mut()) {
                entry.remove("password");
            }
        }
    }
}

/// The manifest with `.dockerconfigjson` decoded and stripped like an auth file (left as it is
/// if it does not decode); in a `List` (`--service-account`), each item so.
fn strip_secret_manifest(mut doc: Value, hosts: &Hosts) -> Value {
    if let Some(items) = doc.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            *item = strip_secret_manifest(item.take(), hosts);
        }
        return doc;
    }
    let Some(data) = doc.pointer_mut("/data/.dockerconfigjson") else {
        return doc;
    };
    let decoded = data
        .as_str()
        .and_then(|d| B64.decode(d).ok())
        .and_then(|d| serde_json::from_slice::<Value>(&d).ok());
    if let Some(mut config) = decoded {
        strip_auths(&mut config, hosts);
        *data = config;
    }
    doc
}
