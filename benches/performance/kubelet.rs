//! Per-pod federation in the kubelet credential provider: one provider call with the pod's
//! service-account token and an annotated ServiceAccount, cold (the pod's JWT exchanged at the
//! loopback gRPC IAM stand-in, tests/iam_grpc) and on a cache hit (no exchange).

use crate::harness::{self, Env};
use crate::iam_grpc::{IamServer, TestIssuer};
use crate::timing::{self, Samples};
use std::path::Path;

const SA: &str = "serviceaccount-e00benchpod";
const SUB: &str = "system:serviceaccount:bench:puller";
const AUD: &str = "sts.nebius.com";
const HOST: &str = "cr.eu-north1.nebius.cloud";

/// What the kubelet benchmarks found.
pub struct Results {
    /// A call that exchanges the pod's token (`CRLOGIN_NO_CACHE=1`: every call is a first call).
    pub cold: Samples,
    /// A call served from crlogin's token cache.
    pub hit: Samples,
    /// Exchanges the stand-in saw during the cache-hit runs (expected 0).
    pub hit_exchanges: usize,
}

fn provide(bin: &Path, env: &Env, request: &str) {
    let out = harness::run(
        env.command(bin).arg("kubelet-credential-provider"),
        Some(request),
    );
    out.assert_success("kubelet-credential-provider (per-pod federation)");
    assert!(out.stdout.contains(HOST), "{out}");
}

/// Runs the kubelet benchmarks, `runs` runs each after warm-up runs.
pub fn run(bin: &Path, runs: usize) -> Results {
    let issuer = TestIssuer::new_with("https://oidc.cluster.example", "bench-key");
    let iam = IamServer::trusting(&issuer, SA, AUD, SUB);
    let jwt = issuer.token(SUB, AUD, 3600);
    let request = serde_json::json!({
        "kind": "CredentialProviderRequest",
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "image": format!("{HOST}/e00registry/app:v1"),
        "serviceAccountToken": jwt,
        "serviceAccountAnnotations": {"nebius.com/service-account-id": SA},
    })
    .to_string();
    let mut env = Env::new();
    env.set("NEBIUS_TOKEN_EXCHANGE_GRPC", iam.url());
    provide(bin, &env, &request);
    let before = iam.calls();
    let hit = timing::sample(10, runs, || provide(bin, &env, &request));
    let hit_exchanges = iam.calls() - before;
    env.set("CRLOGIN_NO_CACHE", "1");
    let cold = timing::sample(10, runs, || provide(bin, &env, &request));
    Results {
        cold,
        hit,
        hit_exchanges,
    }
}
