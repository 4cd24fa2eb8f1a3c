//! The real Helm 4 client of the tests: PyPI's helm-sdkpy in a venv made by
//! scripts/install-helm-client.sh, driven by tests/clients/helm_client.py.

use super::{run, Env, Out};
use std::path::{Path, PathBuf};

/// The Helm 4 client's python (PyPI helm-sdkpy in a venv made by scripts/install-helm-client.sh).
pub fn helm_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/helm-venv/bin/python");
    assert!(
        py.exists(),
        "the Helm test client is not installed: run `bash scripts/install-deps.sh` (or .ci/run)"
    );
    py
}

/// Runs tests/clients/helm_client.py with HELM_REGISTRY_CONFIG = `config`.
pub fn helm(env: &Env, config: &Path, args: &[&str]) -> Out {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/helm_client.py");
    let mut cmd = env.command(helm_python());
    cmd.arg(script)
        .args(args)
        .env("HELM_REGISTRY_CONFIG", config);
    run(&mut cmd, None)
}

/// A minimal chart `hello` 0.1.0 in `dir`.
pub fn write_chart(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello}\n",
    )
    .unwrap();
}

/// Pushes a fresh chart to `oci://HOST/charts` over plain HTTP with the login in `config`, pulls
/// it back and checks it arrived; `what` names the step in failures. Returns the push's output.
pub fn push_and_pull_chart(env: &Env, config: &Path, host: &str, what: &str) -> Out {
    let chart = env.home().join("chart");
    write_chart(&chart);
    let oci = format!("oci://{host}/charts");
    let push = helm(
        env,
        config,
        &["push", chart.to_str().unwrap(), &oci, "--plain-http"],
    );
    push.assert_success(&format!("helm push {what}"));
    let dest = env.home().join("charts");
    let pull = [
        "pull",
        &format!("{oci}/hello"),
        "0.1.0",
        dest.to_str().unwrap(),
        "--plain-http",
    ];
    helm(env, config, &pull).assert_success(&format!("helm pull {what}"));
    assert!(dest.join("hello-0.1.0.tgz").exists(), "helm pull {what}");
    push
}
