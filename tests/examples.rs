//! The Kubernetes examples under examples/kubernetes/ do what their comments say: the pull-secret
//! CronJob's script, run as the pod would run it (crlogin on PATH, the key file mounted, kubectl
//! answering `get` with a ServiceAccount and taking what `apply` is given), applies a fresh Secret
//! and the ServiceAccount naming it; its schedule refreshes a 12-hour token in time; and its Role
//! allows exactly the objects the script touches.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod harness;
mod iam_server;

use harness::{require_tool, run, secret_forms, Env};
use iam_server::{credentials_json, IamServer};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;

const SA: &str = "serviceaccount-e00crloginexample";
const KID: &str = "publickey-e00crloginexample";

/// Every YAML document of `examples/NAME`.
fn documents(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_pull_secret_cronjob_applies_a_fresh_secret_and_the_service_account() {
    let docs = documents("kubernetes/refresh-pull-secret-cronjob.yaml");
    let job = of_kind(&docs, "CronJob");
    // "M */N * * *": every N hours, N well under the token's 12.
    let schedule = job["spec"]["schedule"].as_str().unwrap();
    let hours = schedule.split(' ').nth(1).unwrap();
    let every: u32 = hours.strip_prefix("*/").unwrap().parse().unwrap();
    assert!(
        every <= 6,
        "{schedule}: a 12-hour token needs a refresh well before it ends"
    );

    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["command"], json!(["bash", "-c"]));
    let script = container["args"][0].as_str().unwrap();

    // The pod: crlogin and a kubectl stand-in on PATH, the key where the volume mounts it.
    let server = IamServer::start(SA, KID);
    let mut env = Env::new();
    let bin = env.home().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_crlogin"), bin.join("crlogin")).unwrap();
    let current_sa = env.home().join("default-sa.json");
    std::fs::write(
        &current_sa,
        r#"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"apps","resourceVersion":"7"},"imagePullSecrets":[{"name":"keep-me"}]}"#,
    )
    .unwrap();
    let applied = env.home().join("applied.yaml");
    let kubectl = format!(
        "#!/bin/sh\ncase \"$1 $2 $3\" in\n  'get serviceaccount default') cat '{}' ;;\n  'apply -f -') cat > '{}' ;;\n  *) echo \"kubectl stand-in: unexpected $*\" >&2; exit 1 ;;\nesac\n",
        current_sa.display(),
        applied.display()
    );
    std::fs::write(bin.join("kubectl"), kubectl).unwrap();
    std::fs::set_permissions(
        bin.join("kubectl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let key = env.home().join("credentials.json");
    std::fs::write(&key, credentials_json(SA, KID)).unwrap();
    harness::audit::input(&key);
    for var in container["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap();
        let value = match name {
            "NEBIUS_SA_CREDENTIALS_FILE" => {
                let mount = &container["volumeMounts"][0]["mountPath"];
                assert!(var["value"]
                    .as_str()
                    .unwrap()
                    .starts_with(mount.as_str().unwrap()));
                key.display().to_string()
            }
            _ => var["value"].as_str().unwrap().to_string(),
        };
        env.set(name, value);
    }
    env.set("NEBIUS_AUTH_ENDPOINT", server.endpoint());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut cmd = env.command(require_tool("bash"));
    cmd.env("PATH", path).args(["-c", script]);
    let out = run(&mut cmd, None);
    out.assert_success("the CronJob's script");

    // What `kubectl apply` was given: the Secret, holding the token on purpose.
    harness::audit::input(&applied);
    let text = std::fs::read_to_string(&applied).unwrap();
    let applied: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    let secret = of_kind(&applied, "Secret");
    assert_eq!(secret["metadata"]["name"], "nebius-pull");
    let data = secret["data"][".dockerconfigjson"].as_str().unwrap();
    let config: Value = serde_json::from_slice(&base64_decode(data)).unwrap();
    let token = server.tokens()[0].clone();
    assert_eq!(
        config["auths"]["cr.eu-north1.nebius.cloud"]["password"],
        json!(token)
    );
    assert_eq!(
        of_kind(&applied, "ServiceAccount")["imagePullSecrets"],
        json!([{"name": "keep-me"}, {"name": "nebius-pull"}])
    );
    for form in secret_forms(&token, Some("iam")) {
        assert!(
            !out.stderr.contains(&form) && !out.stdout.contains(&form),
            "{out}"
        );
    }

    // The Role lets the job touch exactly the Secret and ServiceAccount the script names.
    let role = of_kind(&docs, "Role");
    let names: Vec<&str> = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resourceNames"].as_array().into_iter().flatten())
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, ["nebius-pull", "default"]);
    assert!(script.contains("--name nebius-pull") && script.contains("--service-account default"));
    assert_eq!(
        pod["serviceAccountName"],
        of_kind(&docs, "ServiceAccount")["metadata"]["name"]
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn the_shell_example_pushes_through_exec_and_leaves_no_credential() {
    let secret = &harness::canary("example-shell");
    let registry = harness::Registry::start(harness::Auth::user("alice", secret));
    let mut env = Env::new();
    let bin = env.home().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_crlogin"), bin.join("crlogin")).unwrap();
    let image = harness::oci_layout(&env.home().join("image"));
    env.set("DCR_USERNAME", "alice")
        .set("DCR_PASSWORD", secret)
        .set("DCR_REGISTRY", registry.host())
        .set("IMAGE", &image)
        .set("TARGET", format!("{}/team/app:1.0", registry.host()))
        .set(
            "SKOPEO_COPY_FLAGS",
            "--insecure-policy --dest-tls-verify=false",
        );
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shell/push-image-with-exec.sh");
    let mut cmd = env.command(require_tool("sh"));
    cmd.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    )
    .arg(script);
    let out = run(&mut cmd, None);
    out.assert_success("examples/shell/push-image-with-exec.sh");
    harness::assert_no_leak(
        secret,
        &secret_forms(secret, Some("alice")),
        &[&out.stdout, &out.stderr],
        env.home(),
        &[],
    );
    let pulled = format!("oci:{}:v1", env.home().join("pulled").display());
    registry
        .pull(&env, "team/app:1.0", &pulled, None)
        .assert_failure("the credential is gone: an anonymous pull is refused");
    assert!(
        registry.log().contains("team/app"),
        "the push reached the registry"
    );
}
