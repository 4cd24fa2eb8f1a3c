//! Keyless OIDC federation: the CI's OIDC JWT is exchanged over gRPC for an IAM access token of a
//! service account whose federated credentials trust the CI's issuer and the job's `sub`.
//!
//! The JWT comes from GitHub Actions' token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`, which a job
//! has with `permissions: id-token: write`), or from a variable (GitLab's `id_tokens:`, or any CI):
//! `NEBIUS_OIDC_TOKEN_VAR` names it, `NEBIUS_ID_TOKEN` by default. Both the JWT and the access
//! token are masked the moment crlogin has them.
//!
//! The `aud` Nebius requires of the JWT is not documented: it is `NEBIUS_OIDC_AUDIENCE`, by
//! default [`DEFAULT_AUDIENCE`], the audience Nebius's own Kubernetes integration (External
//! Secrets Operator's Nebius provider) requests for this exchange.

use super::exchange_grpc::{
    self, ExchangeError, ExchangeTokenRequest, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN,
    TOKEN_TYPE_JWT, TOKEN_TYPE_SUBJECT_IDENTIFIER,
};
use crate::ci::Ci;
use crate::env::Env;
use crate::secrets::Secret;
use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The service account to act as.
pub const SERVICE_ACCOUNT_ID_VAR: &str = "NEBIUS_SERVICE_ACCOUNT_ID";

/// The `aud` crlogin asks GitHub to put in the JWT.
pub const AUDIENCE_VAR: &str = "NEBIUS_OIDC_AUDIENCE";

/// The default `aud` (Nebius does not document which one it requires; External Secrets
/// Operator's Nebius provider, written by Nebius engineers, names this one "the audience
/// required for Nebius IAM token exchange").
pub const DEFAULT_AUDIENCE: &str = "sts.nebius.com";

/// The variable naming the variable that holds the JWT.
pub const TOKEN_VAR_VAR: &str = "NEBIUS_OIDC_TOKEN_VAR";

/// The variable that holds the JWT unless [`TOKEN_VAR_VAR`] names another.
pub const DEFAULT_TOKEN_VAR: &str = "NEBIUS_ID_TOKEN";

const GITHUB_URL_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
const GITHUB_TOKEN_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
const DOCS: &str = "see \"Keyless: OIDC federation\" in crlogin's README";

/// The settings of one federated exchange.
#[derive(Debug, Clone)]
pub struct Federation {
    /// The service account to act as (`serviceaccount-...`).
    pub service_account_id: String,
    /// The `aud` asked of GitHub (a variable's JWT already has its own).
    pub audience: String,
    /// The variable holding a ready JWT.
    pub token_var: String,
    /// Whether `token_var` was named explicitly (then it must be set).
    pub token_var_explicit: bool,
    /// The gRPC token exchange endpoint.
    pub endpoint: String,
}

impl Federation {
    /// Reads the settings from `env`, for `service_account_id`.
    pub fn from_env(env: &Env, service_account_id: &str) -> Result<Self> {
        check_service_account_id(service_account_id)?;
        let named = env.get(TOKEN_VAR_VAR)?;
        if let Some(name) = &named {
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                bail!("{TOKEN_VAR_VAR} {name:?} is not a variable name: use letters, digits and _, e.g. {DEFAULT_TOKEN_VAR}");
            }
        }
        Ok(Self {
            service_account_id: service_account_id.to_string(),
            audience: env
                .get(AUDIENCE_VAR)?
                .unwrap_or_else(|| DEFAULT_AUDIENCE.to_string()),
            token_var_explicit: named.is_some(),
            token_var: named.unwrap_or_else(|| DEFAULT_TOKEN_VAR.to_string()),
            endpoint: exchange_grpc::endpoint(env)?,
        })
    }
}

/// The source: `NEBIUS_SERVICE_ACCOUNT_ID` with a CI OIDC token.
pub static SOURCE: OidcSource = OidcSource;

/// See [`SOURCE`].
pub struct OidcSource;

impl super::Source for OidcSource {
    fn name(&self) -> &'static str {
        "oidc"
    }

    fn help(&self) -> &'static str {
        "keyless OIDC federation for NEBIUS_SERVICE_ACCOUNT_ID"
    }

    fn needs(&self) -> &'static str {
        "NEBIUS_SERVICE_ACCOUNT_ID and a CI OIDC token (GitHub: `permissions: id-token: write`; GitLab: `id_tokens:` NEBIUS_ID_TOKEN; Azure: SYSTEM_ACCESSTOKEN and AZURESUBSCRIPTION_SERVICE_CONNECTION_ID; Bitbucket: `oidc: true`; Buildkite and CircleCI: nothing more)"
    }

    fn configured(&self, vars: &super::Vars) -> bool {
        vars.is_set(SERVICE_ACCOUNT_ID_VAR)
    }

    /// Applies when a service account is named and the CI offers an OIDC token (or when
    /// `--auth oidc` forces it, so a missing token is explained).
    fn find(&self, vars: &super::Vars, forced: bool) -> Result<Option<super::NebiusInput>> {
        let Some(service_account_id) = vars.plain(SERVICE_ACCOUNT_ID_VAR)? else {
            return Ok(None);
        };
        if !forced && !oidc_available(vars.env()) {
            return Ok(None);
        }
        Ok(Some(super::NebiusInput::new(
            "OIDC federation".to_string(),
            Box::new(Federated { service_account_id }),
        )))
    }
}

/// The CI's OIDC token exchanged for this service account's: never cached (the cache is keyed
/// by service account, so another job sharing this HOME would get the token without presenting
/// an OIDC token of its own).
#[derive(Debug)]
pub struct Federated {
    /// The service account to act as.
    pub service_account_id: String,
}

impl super::Obtain for Federated {
    fn kind(&self) -> super::PasswordKind {
        super::PasswordKind::Exchanged
    }

    fn describe(&self, env: &Env) -> (String, Option<super::Iam>) {
        let endpoint = exchange_grpc::endpoint(env).map_err(|e| format!("{e:#}"));
        let at = endpoint
            .as_deref()
            .unwrap_or("NEBIUS_TOKEN_EXCHANGE_GRPC (unusable, below)")
            .to_string();
        let detail = format!(
            "OIDC federation for {}: login exchanges the CI's OIDC token at {at} for an IAM token (user {})",
            self.service_account_id,
            super::NEBIUS_USERNAME
        );
        (
            detail,
            Some(super::Iam::Grpc {
                endpoint,
                signs_here: false,
            }),
        )
    }

    fn account(&self) -> Option<&str> {
        Some(&self.service_account_id)
    }

    fn obtain(&self, env: &Env, ci: &dyn Ci, options: &super::Options) -> Result<super::Minted> {
        let issued_at = SystemTime::now();
        let (token, expires_at) =
            federated_token_with_retries(env, ci, &self.service_account_id, options)?;
        Ok(super::Minted {
            token,
            issued_at,
            expires_at: Some(expires_at),
        })
    }
}

/// Whether `env` offers a CI OIDC token at all (GitHub's token endpoint, the JWT variable, or
/// the CI's own [`Ci::id_token`]):
/// whether federation is worth trying.
pub fn oidc_available(env: &Env) -> bool {
    let var = env
        .get(TOKEN_VAR_VAR)
        .ok()
        .flatten()
        .unwrap_or_else(|| DEFAULT_TOKEN_VAR.to_string());
    env.is_set(&var)
        || (env.is_set(GITHUB_URL_VAR) && env.is_set(GITHUB_TOKEN_VAR))
        || crate::ci::detect(env).offers_id_token(env)
}

/// Fetches the CI's OIDC JWT, exchanges it for an access token of `service_account_id`, and
/// returns the token with its expiry. Both tokens are masked with `ci` as soon as they exist.
/// `timeout` bounds the whole; errors that [`exchange_grpc::is_retryable`] accepts may succeed
/// on another try. Runs its own async runtime: call it outside one.
/// [`federated_token`] with the exchange policy of `options`: retryable failures (network,
/// UNAVAILABLE, RESOURCE_EXHAUSTED, timeouts) are retried with backoff, bounded by the retry
/// count and the overall deadline; anything else fails at once.
pub fn federated_token_with_retries(
    env: &Env,
    ci: &dyn Ci,
    service_account_id: &str,
    options: &crate::auth::Options,
) -> Result<(Secret, SystemTime)> {
    exchange_grpc::with_retries(
        "OIDC federation",
        ci,
        options,
        exchange_grpc::ATTEMPT_DEADLINE,
        |budget| federated_token(env, ci, service_account_id, budget),
    )
}

/// Fetches the CI's OIDC token and exchanges it once for `service_account_id`'s access token.
pub fn federated_token(
    env: &Env,
    ci: &dyn Ci,
    service_account_id: &str,
    timeout: Duration,
) -> Result<(Secret, SystemTime)> {
    let federation = Federation::from_env(env, service_account_id)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(federated_token_async(env, ci, &federation, timeout))
}

/// [`federated_token`] for callers already in an async runtime.
pub async fn federated_token_async(
    env: &Env,
    ci: &dyn Ci,
    federation: &Federation,
    timeout: Duration,
) -> Result<(Secret, SystemTime)> {
    let deadline = Instant::now() + timeout;
    let jwt = fetch_oidc_token(env, ci, federation, timeout).await?;
    let claims = Claims::peek(&jwt);
    claims.check_unexpired()?;
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(ExchangeError::Transient(format!(
            "fetching the CI's OIDC token took the whole {}: retry, or raise the timeout",
            humantime::format_duration(timeout)
        ))
        .into());
    }
    let sent_at = SystemTime::now();
    let request = federation_request(&federation.service_account_id, &jwt);
    let token = match exchange_grpc::exchange(&federation.endpoint, request, remaining).await {
        Ok(token) => token,
        Err(e) => match e.downcast::<ExchangeError>() {
            Ok(ExchangeError::Denied { status, .. }) => {
                let message = claims.refusal(&status, &federation.service_account_id);
                return Err(ExchangeError::Denied { status, message }.into());
            }
            Ok(other) => return Err(other.into()),
            Err(e) => return Err(e),
        },
    };
    ci.mask(token.access_token.expose());
    Ok((
        token.access_token,
        crate::auth::expiry_after(sent_at, token.expires_in),
    ))
}

/// The federated exchange request: `subject_token` is the service-account id (a subject
/// identifier), `actor_token` the CI's JWT; no audience, scopes or resource.
pub fn federation_request(service_account_id: &str, jwt: &Secret) -> ExchangeTokenRequest {
    ExchangeTokenRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.to_string(),
        requested_token_type: TOKEN_TYPE_ACCESS_TOKEN.to_string(),
        subject_token: service_account_id.to_string(),
        subject_token_type: TOKEN_TYPE_SUBJECT_IDENTIFIER.to_string(),
        scopes: Vec::new(),
        audience: String::new(),
        actor_token: jwt.expose().to_string(),
        actor_token_type: TOKEN_TYPE_JWT.to_string(),
        resource: Vec::new(),
    }
}

/// The CI's OIDC JWT, masked: from the variable if set, else from GitHub Actions.
pub async fn fetch_oidc_token(
    env: &Env,
    ci: &dyn Ci,
    federation: &Federation,
    timeout: Duration,
) -> Result<Secret> {
    let var = &federation.token_var;
    if let Some(value) = env.get(var)? {
        let value = zeroize::Zeroizing::new(value);
        let jwt = Secret::new(value.trim().to_string());
        ci.mask(jwt.expose());
        if !looks_like_jwt(jwt.expose()) {
            bail!("{var} does not hold a JWT (three base64url parts joined by dots): set it to the token, e.g. with GitLab's id_tokens:; {DOCS}");
        }
        return Ok(jwt);
    }
    if federation.token_var_explicit {
        bail!("{var} (named by {TOKEN_VAR_VAR}) is not set: define it in the job, e.g. GitLab's `id_tokens: {var}: aud: {}`; {DOCS}", federation.audience);
    }
    let request = crate::ci::IdTokenRequest {
        audience: federation.audience.clone(),
        audience_chosen: env.is_set(AUDIENCE_VAR),
        timeout,
    };
    if let Some(token) = ci.id_token(env, &request) {
        let jwt = Secret::new(std::mem::take(&mut *token.await?));
        ci.mask(jwt.expose());
        if !looks_like_jwt(jwt.expose()) {
            bail!(
                "{} handed out an OIDC token that is not a JWT: retry the job",
                ci.name()
            );
        }
        return Ok(jwt);
    }
    match (env.get(GITHUB_URL_VAR)?, env.get(GITHUB_TOKEN_VAR)?) {
        (Some(url), Some(request_token)) => {
            // Used for this login, they are not a child's to mint more tokens with.
            crate::child::used(GITHUB_URL_VAR);
            crate::child::used(GITHUB_TOKEN_VAR);
            let request_token = Secret::new(request_token);
            ci.mask(request_token.expose());
            let jwt = fetch_github(&url, &request_token, &federation.audience, timeout).await?;
            ci.mask(jwt.expose());
            if !looks_like_jwt(jwt.expose()) {
                return Err(ExchangeError::BadResponse(
                    "GitHub's OIDC token endpoint returned something that is not a JWT: retry the job".into(),
                )
                .into());
            }
            Ok(jwt)
        }
        _ if env.is_true("GITHUB_ACTIONS") => bail!(
            "GitHub gave this job no OIDC token ({GITHUB_URL_VAR} is not set): add `permissions: id-token: write` to the workflow or the job (pull requests from forks never get one); {DOCS}"
        ),
        _ if env.is_true("GITLAB_CI") => bail!(
            "{var} is not set: give the job `id_tokens: {var}: aud: {}`, or set {TOKEN_VAR_VAR} to the variable your id_tokens: defines; {DOCS}",
            federation.audience
        ),
        _ => bail!(
            "no OIDC token from the CI: on GitHub Actions give the job `permissions: id-token: write`; on GitLab define {var} with id_tokens:; elsewhere put the JWT in {var}; {DOCS}"
        ),
    }
}

/// GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD` with the request token; the answer is
/// `{"value": "<jwt>"}`.
async fn fetch_github(
    url: &str,
    request_token: &Secret,
    audience: &str,
    timeout: Duration,
) -> Result<Secret> {
    let mut url = reqwest::Url::parse(url).with_context(|| {
        format!("{GITHUB_URL_VAR} is not a URL: it is set by the GitHub runner; do not override it")
    })?;
    let loopback = url.host_str().is_some_and(exchange_grpc::is_loopback_host);
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        bail!("{GITHUB_URL_VAR} is not an https:// URL: it is set by the GitHub runner; do not override it");
    }
    url.query_pairs_mut().append_pair("audience", audience);
    let client = crate::tls::http_client()?
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(url)
        .bearer_auth(request_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            ExchangeError::Transient(format!(
                "cannot reach GitHub's OIDC token endpoint: {}: retry",
                e.without_url()
            ))
        })?;
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(ExchangeError::Transient(format!(
            "GitHub's OIDC token endpoint answered HTTP {status}: retry later"
        ))
        .into());
    }
    if !status.is_success() {
        return Err(ExchangeError::Rejected(format!(
            "GitHub refused to issue an OIDC token (HTTP {status}): give the job `permissions: id-token: write`; {DOCS}"
        ))
        .into());
    }
    #[derive(serde::Deserialize)]
    struct IdToken {
        value: Option<String>,
    }
    let body = crate::tls::answer_within_limit(response)
        .await
        .map_err(|e| {
            ExchangeError::Transient(format!(
                "GitHub's OIDC token endpoint broke off its answer: {}: retry",
                e.without_url()
            ))
        })?
        .ok_or_else(|| {
            ExchangeError::BadResponse(
                "GitHub's OIDC token endpoint answered more than 64 KiB, which no token is: retry the job"
                    .into(),
            )
        })?;
    match serde_json::from_slice::<IdToken>(&body) {
        Ok(IdToken { value: Some(jwt) }) if !jwt.trim().is_empty() => Ok(Secret::new(jwt)),
        _ => Err(ExchangeError::BadResponse(
            "GitHub's OIDC token endpoint answered without a token (no \"value\"): retry the job"
                .into(),
        )
        .into()),
    }
}

/// Refuses what cannot be a service-account id (a name, a key, whitespace).
pub(crate) fn check_service_account_id(id: &str) -> Result<()> {
    let body = id.strip_prefix("serviceaccount-").unwrap_or_default();
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        // Not quoted: the value may have come from a file, whose content is never shown.
        bail!("{SERVICE_ACCOUNT_ID_VAR} is not a service account id: use its id (serviceaccount- and letters, digits, -), not its name");
    }
    Ok(())
}

/// Three non-empty base64url parts joined by dots.
pub(crate) fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The JWT's public claims, read without verifying it (Nebius does that): for a clear local
/// expiry error, and to say which federated credentials a refusal calls for.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Option<serde_json::Value>,
    pub(crate) exp: Option<u64>,
}

impl Claims {
    pub(crate) fn peek(jwt: &Secret) -> Self {
        jwt.expose()
            .split('.')
            .nth(1)
            .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
            .and_then(|json| serde_json::from_slice(&json).ok())
            .unwrap_or_default()
    }

    fn check_unexpired(&self) -> Result<()> {
        if let Some(exp) = self.exp {
            // An `exp` past what a time can hold is far in the future: not expired.
            let Some(expires) = UNIX_EPOCH.checked_add(Duration::from_secs(exp)) else {
                return Ok(());
            };
            if expires <= SystemTime::now() {
                bail!(
                    "the CI's OIDC token expired at {}: use a fresh one (GitLab's id_tokens: live as long as the job may run)",
                    humantime::format_rfc3339_seconds(expires)
                );
            }
        }
        Ok(())
    }

    /// The `aud` claim on one line (`?` when absent), for messages.
    pub(crate) fn audience(&self) -> String {
        match &self.aud {
            Some(serde_json::Value::String(s)) => crate::ci::one_line(s),
            Some(other) => crate::ci::one_line(&other.to_string()),
            None => "?".to_string(),
        }
    }

    /// The error for a refused exchange (`status`: code and server message): what the service
    /// account's federated credentials must say to accept this token.
    fn refusal(&self, status: &str, service_account_id: &str) -> String {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(crate::ci::one_line)
                .unwrap_or_else(|| "?".to_string())
        };
        let aud = self.audience();
        format!(
            "Nebius IAM refused the CI's OIDC token ({status}): {service_account_id} needs federated credentials with --oidc-provider-issuer-url {} --federated-subject-id {} (the token's aud is {aud}: set {AUDIENCE_VAR} if Nebius wants another); {DOCS}",
            text(&self.iss),
            text(&self.sub),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::exchange_grpc::is_retryable;
    use super::super::exchange_grpc::test_server::{
        Expect, FakeGithubOidc, IamServer, Reply, TestIssuer,
    };
    use super::*;
    use std::cell::RefCell;

    const SA: &str = "serviceaccount-e00ci";
    const SUB: &str = "repo:acme/app:ref:refs/heads/main";
    const AUD: &str = "nebius-test";
    const REQUEST_TOKEN: &str = "ghs_request-token-1234";
    const T: Duration = Duration::from_secs(10);

    #[test]
    fn the_oidc_variables_are_the_ones_children_never_get() {
        assert_eq!(TOKEN_VAR_VAR, crate::child::NAMES_THE_JWT_VARIABLE);
        assert!(crate::child::ALWAYS_HIDDEN.contains(&DEFAULT_TOKEN_VAR));
    }

    /// A CI that records what it was asked to mask.
    #[derive(Default)]
    struct Recorder {
        masked: RefCell<Vec<String>>,
    }

    impl Ci for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }

        fn mask(&self, value: &str) {
            self.masked.borrow_mut().push(value.to_string());
        }
    }

    fn iam(issuer: &TestIssuer, audience: &str) -> IamServer {
        IamServer::start(Expect {
            service_account_id: SA.into(),
            issuer: issuer.issuer.clone(),
            audience: audience.into(),
            subject: SUB.into(),
            jwks: issuer.jwks(),
        })
    }

    fn env(pairs: &[(&str, &str)], extra: &[(String, String)]) -> Env {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Env::from_pairs(&all)
    }

    #[test]
    fn github_token_is_fetched_masked_and_exchanged() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, AUD);
        let github = FakeGithubOidc::start(&issuer, REQUEST_TOKEN, SUB);
        let url = server.url();
        let env = env(
            &[
                ("GITHUB_ACTIONS", "true"),
                ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
                (AUDIENCE_VAR, AUD),
            ],
            &github.env(),
        );
        let ci = Recorder::default();
        let before = SystemTime::now();
        let (token, expires_at) = federated_token(&env, &ci, SA, T).unwrap();
        assert_eq!(server.issued(), vec![token.expose().to_string()]);
        assert_eq!(github.audiences(), vec![AUD.to_string()]);
        assert_eq!((github.calls(), server.calls()), (1, 1));
        let life = expires_at.duration_since(before).unwrap();
        assert!(
            life >= Duration::from_secs(12 * 3600) && life < Duration::from_secs(12 * 3600 + 60)
        );
        let masked = ci.masked.borrow();
        assert!(masked.contains(&REQUEST_TOKEN.to_string()));
        assert!(masked.contains(&token.expose().to_string()));
        assert!(masked
            .iter()
            .any(|m| m.matches('.').count() == 2 && m.starts_with("eyJ")));
    }

    #[test]
    fn github_audience_defaults() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, DEFAULT_AUDIENCE);
        let github = FakeGithubOidc::start(&issuer, REQUEST_TOKEN, SUB);
        let url = server.url();
        let env = env(
            &[
                ("GITHUB_ACTIONS", "true"),
                ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
            ],
            &github.env(),
        );
        federated_token(&env, &Recorder::default(), SA, T).unwrap();
        assert_eq!(github.audiences(), vec![DEFAULT_AUDIENCE.to_string()]);
    }

    #[test]
    fn github_without_id_token_permission_says_so() {
        let env = Env::from_pairs(&[("GITHUB_ACTIONS", "true")]);
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        assert!(
            err.to_string().contains("permissions: id-token: write"),
            "{err}"
        );
        assert!(!is_retryable(&err));
    }

    #[test]
    fn github_refusing_the_request_token_is_not_retryable() {
        let issuer = TestIssuer::new();
        let github = FakeGithubOidc::start(&issuer, "another-token", SUB);
        let mut vars = github.env();
        vars[1].1 = REQUEST_TOKEN.into();
        let env = env(&[("GITHUB_ACTIONS", "true")], &vars);
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        assert!(err.to_string().contains("id-token: write"), "{err}");
        assert!(!is_retryable(&err));
        assert!(!format!("{err:#}").contains(REQUEST_TOKEN));
    }

    #[test]
    fn github_server_error_is_retryable() {
        let issuer = TestIssuer::new();
        let github = FakeGithubOidc::start(&issuer, REQUEST_TOKEN, SUB);
        github.fail_next([503]);
        let env = env(&[("GITHUB_ACTIONS", "true")], &github.env());
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        assert!(is_retryable(&err), "{err:#}");
        assert!(err.to_string().contains("HTTP 503"), "{err}");
    }

    #[test]
    fn gitlab_variable_is_exchanged() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, AUD);
        let jwt = issuer.token(SUB, AUD, 300);
        let url = server.url();
        let env = Env::from_pairs(&[
            ("GITLAB_CI", "true"),
            (DEFAULT_TOKEN_VAR, &format!("{jwt}\n")),
            ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
        ]);
        let ci = Recorder::default();
        let (token, _) = federated_token(&env, &ci, SA, T).unwrap();
        assert_eq!(server.issued(), vec![token.expose().to_string()]);
        assert_eq!(*ci.masked.borrow(), vec![jwt, token.expose().to_string()]);
    }

    #[test]
    fn token_variable_name_is_configurable() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, AUD);
        let jwt = issuer.token(SUB, AUD, 300);
        let url = server.url();
        let env = Env::from_pairs(&[
            (TOKEN_VAR_VAR, "MY_OIDC"),
            ("MY_OIDC", &jwt),
            ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
        ]);
        federated_token(&env, &Recorder::default(), SA, T).unwrap();
        let env = Env::from_pairs(&[(TOKEN_VAR_VAR, "MY_OIDC"), ("GITLAB_CI", "true")]);
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        assert!(
            err.to_string()
                .contains("MY_OIDC (named by NEBIUS_OIDC_TOKEN_VAR) is not set"),
            "{err}"
        );
    }

    #[test]
    fn gitlab_without_id_tokens_says_so() {
        let env = Env::from_pairs(&[("GITLAB_CI", "true")]);
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("id_tokens: NEBIUS_ID_TOKEN: aud: sts.nebius.com"),
            "{text}"
        );
    }

    #[test]
    fn not_a_jwt_or_expired_fails_before_any_call() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, AUD);
        let url = server.url();
        let run = |value: &str| {
            let env = Env::from_pairs(&[
                (DEFAULT_TOKEN_VAR, value),
                ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
            ]);
            federated_token(&env, &Recorder::default(), SA, T)
                .unwrap_err()
                .to_string()
        };
        let text = run("not-a-jwt-secret");
        assert!(
            text.contains("does not hold a JWT") && !text.contains("not-a-jwt-secret"),
            "{text}"
        );
        let text = run(&issuer.token(SUB, AUD, -60));
        assert!(text.contains("expired at"), "{text}");
        assert_eq!(server.calls(), 0);
    }

    #[test]
    fn refusal_names_the_federated_credentials_needed() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, AUD);
        let jwt = issuer.token("repo:acme/app:pull_request", AUD, 300);
        let url = server.url();
        let env = Env::from_pairs(&[
            (DEFAULT_TOKEN_VAR, &jwt),
            ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
        ]);
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        let text = format!("{err:#}");
        assert!(!is_retryable(&err));
        assert!(
            text.contains("UNAUTHENTICATED: invalid actor token: InvalidSubject"),
            "{text}"
        );
        assert!(text.contains("--oidc-provider-issuer-url https://token.actions.githubusercontent.com --federated-subject-id repo:acme/app:pull_request"), "{text}");
        assert!(!text.contains(&jwt));
        assert_eq!(server.rejections().len(), 1);
    }

    #[test]
    fn unavailable_stays_retryable_through_federation() {
        let issuer = TestIssuer::new();
        let server = iam(&issuer, AUD);
        server.script([Reply::Status(tonic::Code::Unavailable, "busy".into())]);
        let jwt = issuer.token(SUB, AUD, 300);
        let url = server.url();
        let env = Env::from_pairs(&[
            (DEFAULT_TOKEN_VAR, &jwt),
            ("NEBIUS_TOKEN_EXCHANGE_GRPC", &url),
        ]);
        let err = federated_token(&env, &Recorder::default(), SA, T).unwrap_err();
        assert!(is_retryable(&err), "{err:#}");
        federated_token(&env, &Recorder::default(), SA, T).unwrap();
        assert_eq!(server.calls(), 2);
    }

    #[test]
    fn request_follows_the_spec() {
        let r = federation_request(SA, &Secret::new("a.b.c".into()));
        assert_eq!(
            r.grant_type,
            "urn:ietf:params:oauth:grant-type:token-exchange"
        );
        assert_eq!(
            r.requested_token_type,
            "urn:ietf:params:oauth:token-type:access_token"
        );
        assert_eq!(r.subject_token, SA);
        assert_eq!(
            r.subject_token_type,
            "urn:nebius:params:oauth:token-type:subject_identifier"
        );
        assert_eq!(r.actor_token, "a.b.c");
        assert_eq!(r.actor_token_type, "urn:ietf:params:oauth:token-type:jwt");
        assert!(r.audience.is_empty() && r.scopes.is_empty() && r.resource.is_empty());
    }

    #[test]
    fn service_account_id_is_checked() {
        assert!(check_service_account_id("serviceaccount-e00abc123").is_ok());
        for bad in ["", "my-robot", "serviceaccount-", "serviceaccount-a b"] {
            let err = check_service_account_id(bad).unwrap_err().to_string();
            assert!(err.contains("not a service account id"), "{err}");
        }
    }

    #[test]
    fn availability_follows_the_environment() {
        assert!(!oidc_available(&Env::default()));
        assert!(oidc_available(&Env::from_pairs(&[(
            DEFAULT_TOKEN_VAR,
            "a.b.c"
        )])));
        assert!(oidc_available(&Env::from_pairs(&[
            (GITHUB_URL_VAR, "https://x"),
            (GITHUB_TOKEN_VAR, "t")
        ])));
        assert!(!oidc_available(&Env::from_pairs(&[
            (TOKEN_VAR_VAR, "OTHER"),
            (DEFAULT_TOKEN_VAR, "a.b.c")
        ])));
    }
}
