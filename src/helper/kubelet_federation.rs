//! Per-pod federation for the kubelet credential provider (KEP-4412, "service account tokens for
//! image pulls"): when the kubelet's `CredentialProviderConfig` gives crlogin `tokenAttributes`,
//! each request carries the pulling pod's service-account token (a JWT from the cluster's
//! issuer) and the annotations of its ServiceAccount that the config names. A ServiceAccount
//! annotated [`ANNOTATION`]`: serviceaccount-...` pulls as that Nebius service account: the pod's
//! JWT is exchanged for the account's IAM token exactly as the `federated-file` source exchanges
//! a file's JWT (subject = the Nebius service account, actor = the JWT).
//!
//! A pull without that annotation, or without a token at all, gets what `--unannotated`
//! (`CRLOGIN_KUBELET_UNANNOTATED`) says: the node's credential (the default) or a refusal
//! (strict mode, for nodes shared by tenants). An annotation that is there but empty or not a
//! service-account id, and a token that is not a JWT or has expired, are always refused: the
//! owner asked for federation, so the node's credential would be the wrong answer.
//!
//! Tokens go through crlogin's token cache keyed by the service account, the endpoint and the
//! SHA-256 of the pod's JWT (never the JWT): one exchange per (service account, pod token), and
//! another account, or another token, never finds it. The kubelet keeps the answer for the
//! shorter of the two tokens' remaining lives (less a margin, see [`super::kubelet`]).

use crate::auth::exchange_grpc::{self, ExchangeError};
use crate::auth::oidc::{check_service_account_id, federation_request, looks_like_jwt, Claims};
use crate::auth::{
    self, CacheIdentity, Credential, Iam, Minted, NebiusInput, Obtain, Options, PasswordKind,
};
use crate::ci::{one_line, Ci};
use crate::cli::Unannotated;
use crate::env::Env;
use crate::secrets::Secret;
use anyhow::{bail, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The ServiceAccount annotation naming the Nebius service account its pods pull as.
pub const ANNOTATION: &str = "nebius.com/service-account-id";

/// The variable (and `--unannotated` flag) choosing what unannotated pulls get.
pub const UNANNOTATED_VAR: &str = "CRLOGIN_KUBELET_UNANNOTATED";

/// The `aud` the kubelet should request for the pod's token
/// (`tokenAttributes.serviceAccountTokenAudience`): the one Nebius's own Kubernetes integration
/// (External Secrets Operator's Nebius provider) requests for the exchange.
pub const AUDIENCE: &str = "sts.nebius.com";

/// Tags cache entries of pod tokens, apart from every other credential's.
const CACHE_TAG: &str = "kubelet-pod-token";

const SETUP: &str = "see \"Kubernetes: each pod its own service account\" in crlogin's book";

/// The pod-identity fields of a `CredentialProviderRequest`.
#[derive(Deserialize)]
struct PodFields {
    #[serde(rename = "serviceAccountToken", default)]
    token: Option<String>,
    #[serde(rename = "serviceAccountAnnotations", default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// What the request says about the pulling pod.
pub struct PodRequest {
    token: Option<Secret>,
    annotation: Option<String>,
}

/// Reads the pod's token and the [`ANNOTATION`] from a request already checked by
/// `kubelet::parse_request`. Errors never quote the request (it carries the token).
pub fn pod_request(text: &str) -> Result<PodRequest> {
    let fields: PodFields = serde_json::from_str(text).map_err(|_| {
        anyhow::anyhow!("the request's serviceAccountToken or serviceAccountAnnotations is not what the kubelet sends (a string, and a map of strings)")
    })?;
    Ok(PodRequest {
        token: fields
            .token
            .filter(|t| !t.is_empty())
            .map(|t| Secret::new(t.trim().to_string())),
        annotation: fields.annotations.and_then(|mut a| a.remove(ANNOTATION)),
    })
}

/// How one pull is answered.
#[derive(Debug)]
pub enum Mode {
    /// With the node's credential, and why.
    Node(String),
    /// With the pod's own service account's token.
    Pod(PodToken),
}

/// A pod's JWT to exchange for a Nebius service account's token.
#[derive(Debug)]
pub struct PodToken {
    /// The Nebius service account (from [`ANNOTATION`]).
    pub service_account_id: String,
    /// The pod's JWT (never shown).
    jwt: Secret,
    /// Its public claims.
    claims: Claims,
    /// When it expires.
    pub expires_at: SystemTime,
}

/// Chooses how to answer `request`, given the unannotated policy; refusals are errors.
pub fn mode(request: PodRequest, unannotated: Unannotated, now: SystemTime) -> Result<Mode> {
    let strict = |why: &str, fix: &str| -> Result<Mode> {
        match unannotated {
            Unannotated::Node => Ok(Mode::Node(why.to_string())),
            Unannotated::Refuse => bail!("{why}, and {UNANNOTATED_VAR} is refuse (strict): {fix}"),
        }
    };
    let Some(jwt) = request.token else {
        if request.annotation.is_some() {
            bail!("the request names a Nebius service account ({ANNOTATION}) but carries no serviceAccountToken: give the provider tokenAttributes in the kubelet's CredentialProviderConfig; {SETUP}");
        }
        return strict(
            "the kubelet sent no service-account token (its CredentialProviderConfig gives the provider no tokenAttributes)",
            &format!("give the provider tokenAttributes; {SETUP}"),
        );
    };
    let Some(annotation) = request.annotation else {
        return strict(
            &format!("the pod's service account has no {ANNOTATION} annotation"),
            &format!("annotate it: kubectl annotate serviceaccount NAME {ANNOTATION}=serviceaccount-..., and list the key in tokenAttributes.optionalServiceAccountAnnotationKeys"),
        );
    };
    let service_account_id = annotation.trim().to_string();
    if service_account_id.is_empty() {
        bail!("the pod's service account has an empty {ANNOTATION} annotation: set it to the Nebius service account id to pull as (serviceaccount-...), or remove it");
    }
    // Not quoted: the annotation is the cluster user's text, and it goes to the kubelet's log.
    check_service_account_id(&service_account_id).map_err(|_| {
        anyhow::anyhow!("the pod's service account's {ANNOTATION} annotation is not a Nebius service account id: use its id (serviceaccount- and letters, digits, -), not its name")
    })?;
    if !looks_like_jwt(jwt.expose()) {
        bail!("the request's serviceAccountToken is not a JWT (three base64url parts joined by dots): it must be what the kubelet sends");
    }
    let claims = Claims::peek(&jwt);
    let expires_at = claims
        .exp
        .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)));
    let Some(expires_at) = expires_at else {
        bail!("the pod's service-account token has no usable exp: it must be a token the kubelet requested for the pod");
    };
    if expires_at <= now {
        bail!(
            "the pod's service-account token expired at {}: the kubelet sends a fresh one; check the node's clock",
            humantime::format_rfc3339_seconds(expires_at)
        );
    }
    Ok(Mode::Pod(PodToken {
        service_account_id,
        jwt,
        claims,
        expires_at,
    }))
}

/// The pod's service account's registry password: from the token cache, else one exchange.
pub fn credential(pod: PodToken, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Credential> {
    ci.mask(pod.jwt.expose());
    let source = format!("pod federation for {}", pod.service_account_id);
    auth::resolve_nebius(NebiusInput::new(source, Box::new(pod)), env, ci, options)
}

impl PodToken {
    /// Why Nebius refused the exchange, and what federated credential it needs.
    fn refusal(&self, status: &str) -> String {
        let text = |v: &Option<String>| v.as_deref().map(one_line).unwrap_or_else(|| "?".into());
        format!(
            "Nebius IAM refused the pod's service-account token for {sa} ({status}): {sa} needs a federated credential with --oidc-provider-issuer-url {iss} --federated-subject-id {sub}, and the token's aud ({aud}) must be {AUDIENCE} (tokenAttributes.serviceAccountTokenAudience); {SETUP}",
            sa = self.service_account_id,
            iss = text(&self.claims.iss),
            sub = text(&self.claims.sub),
            aud = self.claims.audience(),
        )
    }
}

impl Obtain for PodToken {
    fn kind(&self) -> PasswordKind {
        PasswordKind::Exchanged
    }

    fn account(&self) -> Option<&str> {
        Some(&self.service_account_id)
    }

    fn describe(&self, env: &Env) -> (String, Option<Iam>) {
        let endpoint = exchange_grpc::endpoint(env).map_err(|e| format!("{e:#}"));
        let detail = format!(
            "pod federation for {}: the pod's service-account token is exchanged for an IAM token",
            self.service_account_id
        );
        let iam = Iam::Grpc {
            endpoint,
            signs_here: false,
        };
        (detail, Some(iam))
    }

    /// Keyed by the SHA-256 of the pod's JWT: the same token finds the same entry, another
    /// token (another pod, a rotated one) or another account does not.
    fn cache_identity(&self, env: &Env) -> Result<Option<CacheIdentity>> {
        let digest = Sha256::digest(self.jwt.expose().as_bytes());
        Ok(Some(CacheIdentity {
            service_account_id: self.service_account_id.clone(),
            public_key_id: CACHE_TAG.to_string(),
            public_key_sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            endpoint: exchange_grpc::endpoint(env)?,
        }))
    }

    fn obtain(&self, env: &Env, ci: &dyn Ci, options: &Options) -> Result<Minted> {
        let endpoint = exchange_grpc::endpoint(env)?;
        exchange_grpc::mint("the pod's token exchange", &endpoint, ci, options, || {
            Ok(federation_request(&self.service_account_id, &self.jwt))
        })
        .map_err(|e| {
            let denied = e.chain().find_map(|c| match c.downcast_ref() {
                Some(ExchangeError::Denied { status, .. }) => Some(status.clone()),
                _ => None,
            });
            match denied {
                Some(status) => anyhow::anyhow!(self.refusal(&status)),
                None => e,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    const SA: &str = "serviceaccount-e00pod";

    fn jwt(claims: serde_json::Value) -> String {
        let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.c2ln",
            part(&serde_json::json!({"alg": "RS256"})),
            part(&claims)
        )
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(2_000_000_000)
    }

    fn request(token: Option<&str>, annotation: Option<&str>) -> PodRequest {
        let mut doc = serde_json::json!({"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest", "image": "x"});
        if let Some(token) = token {
            doc["serviceAccountToken"] = token.into();
        }
        if let Some(value) = annotation {
            doc["serviceAccountAnnotations"] =
                serde_json::json!({ ANNOTATION: value, "other": "x" });
        }
        pod_request(&doc.to_string()).unwrap()
    }

    fn live() -> String {
        jwt(serde_json::json!({"sub": "system:serviceaccount:ns:app", "exp": 2_000_003_600u64}))
    }

    #[test]
    fn an_annotated_pod_with_a_live_token_pulls_as_its_account() {
        let token = live();
        let Mode::Pod(pod) =
            mode(request(Some(&token), Some(SA)), Unannotated::Refuse, now()).unwrap()
        else {
            panic!("not pod mode")
        };
        assert_eq!(pod.service_account_id, SA);
        assert_eq!(
            pod.expires_at,
            UNIX_EPOCH + Duration::from_secs(2_000_003_600)
        );
        assert!(!format!("{pod:?}").contains(&token));
    }

    #[test]
    fn unannotated_pulls_follow_the_policy() {
        let token = live();
        for (token, why) in [
            (None, "no service-account token"),
            (Some(token.as_str()), "has no nebius.com/service-account-id"),
        ] {
            let node = mode(request(token, None), Unannotated::Node, now()).unwrap();
            assert!(
                matches!(&node, Mode::Node(w) if w.contains(why)),
                "{node:?}"
            );
            let err = mode(request(token, None), Unannotated::Refuse, now()).unwrap_err();
            assert!(err.to_string().contains("is refuse (strict)"), "{err}");
        }
    }

    #[test]
    fn a_bad_annotation_or_token_is_refused_whatever_the_policy() {
        let token = live();
        let expired = jwt(serde_json::json!({"exp": 1_999_999_999u64}));
        let no_exp = jwt(serde_json::json!({"sub": "x"}));
        for (token, annotation, want) in [
            (Some(token.as_str()), Some(" "), "empty"),
            (
                Some(&token),
                Some("my-robot-canary"),
                "not a Nebius service account id",
            ),
            (Some("not-a-jwt-canary"), Some(SA), "is not a JWT"),
            (Some(&expired), Some(SA), "expired at"),
            (Some(&no_exp), Some(SA), "no usable exp"),
            (None, Some(SA), "carries no serviceAccountToken"),
        ] {
            let err = mode(request(token, annotation), Unannotated::Node, now())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("canary"), "{err}");
        }
    }

    #[test]
    fn the_cache_identity_hashes_the_token_and_names_the_account() {
        let env = Env::default();
        let token = live();
        let pod = |sa: &str, token: &str| PodToken {
            service_account_id: sa.into(),
            jwt: Secret::new(token.into()),
            claims: Claims::default(),
            expires_at: now(),
        };
        let id = pod(SA, &token).cache_identity(&env).unwrap().unwrap();
        assert_eq!(id.service_account_id, SA);
        assert_eq!(id.public_key_id, CACHE_TAG);
        assert!(!format!("{id:?}").contains(&token));
        let other_sa = pod("serviceaccount-e00other", &token);
        assert_ne!(other_sa.cache_identity(&env).unwrap().unwrap(), id);
        let other_token = pod(SA, &format!("{token}x"));
        let other = other_token.cache_identity(&env).unwrap().unwrap();
        assert_ne!(other.public_key_sha256, id.public_key_sha256);
    }

    #[test]
    fn annotations_of_the_wrong_shape_are_refused_without_echo() {
        let text = r#"{"serviceAccountToken":"canary-tok","serviceAccountAnnotations":{"nebius.com/service-account-id":7}}"#;
        let err = pod_request(text).err().unwrap().to_string();
        assert!(
            err.contains("map of strings") && !err.contains("canary"),
            "{err}"
        );
    }
}
