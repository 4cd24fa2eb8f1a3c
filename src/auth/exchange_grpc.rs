//! The gRPC token exchange: `nebius.iam.v1.TokenExchangeService/Exchange` (RFC 8693 over gRPC),
//! called without authorization. The messages are written by hand with `prost` and sent through
//! tonic's generic client, so no `.proto` file or `protoc` is needed.
//!
//! Errors say whether trying again may help ([`ExchangeError::is_retryable`], [`is_retryable`]);
//! they carry the server's message, never the request or a token.

use crate::ci::one_line;
use crate::env::Env;
use crate::secret::Secret;
use anyhow::{bail, Context, Result};
use http::uri::{PathAndQuery, Uri};
use std::fmt;
use std::time::Duration;
use tonic::transport::Endpoint;
use tonic::Code;
use zeroize::Zeroize;

/// The variable that overrides [`DEFAULT_ENDPOINT`].
pub const ENDPOINT_VAR: &str = "NEBIUS_TOKEN_EXCHANGE_GRPC";

/// Nebius's token exchange service.
pub const DEFAULT_ENDPOINT: &str = "https://tokens.iam.api.nebius.cloud:443";

/// `grant_type` of every exchange.
pub const GRANT_TYPE_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// `requested_token_type`: an IAM access token.
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A token type: a signed JWT.
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A token type: the plain id of an IAM subject (the service account a federated JWT acts as).
pub const TOKEN_TYPE_SUBJECT_IDENTIFIER: &str =
    "urn:nebius:params:oauth:token-type:subject_identifier";

/// The method's gRPC path.
const EXCHANGE_PATH: &str = "/nebius.iam.v1.TokenExchangeService/Exchange";

/// The longest one attempt may take, as the Nebius SDKs allow each call: a hung call then
/// leaves the rest of the overall `--timeout` for another attempt.
pub const ATTEMPT_DEADLINE: Duration = Duration::from_secs(5);

/// The header that makes a retried call safe to repeat (a fresh UUIDv4 per call, as the SDKs
/// send it).
pub const IDEMPOTENCY_HEADER: &str = "x-idempotency-key";

/// The longest piece of a server message an error repeats.
const MAX_SERVER_MESSAGE: usize = 300;

/// `nebius.iam.v1.ExchangeTokenRequest`. Its tokens are zeroed on drop and hidden by `Debug`.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct ExchangeTokenRequest {
    /// Always [`GRANT_TYPE_TOKEN_EXCHANGE`].
    #[prost(string, tag = "1")]
    pub grant_type: String,
    /// Always [`TOKEN_TYPE_ACCESS_TOKEN`].
    #[prost(string, tag = "2")]
    pub requested_token_type: String,
    /// The token (or, for federation, the service-account id) being exchanged.
    #[prost(string, tag = "3")]
    pub subject_token: String,
    /// What `subject_token` is.
    #[prost(string, tag = "4")]
    pub subject_token_type: String,
    /// Requested scopes (crlogin sends none).
    #[prost(string, repeated, tag = "5")]
    pub scopes: Vec<String>,
    /// Target audience (crlogin sends none).
    #[prost(string, tag = "6")]
    pub audience: String,
    /// The token proving who acts (for federation: the CI's OIDC JWT).
    #[prost(string, tag = "7")]
    pub actor_token: String,
    /// What `actor_token` is.
    #[prost(string, tag = "8")]
    pub actor_token_type: String,
    /// Target resources (crlogin sends none).
    #[prost(string, repeated, tag = "9")]
    pub resource: Vec<String>,
}

impl Drop for ExchangeTokenRequest {
    fn drop(&mut self) {
        self.subject_token.zeroize();
        self.actor_token.zeroize();
    }
}

impl fmt::Debug for ExchangeTokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeTokenRequest")
            .field("grant_type", &self.grant_type)
            .field("requested_token_type", &self.requested_token_type)
            .field("subject_token", &"***")
            .field("subject_token_type", &self.subject_token_type)
            .field("actor_token", &"***")
            .field("actor_token_type", &self.actor_token_type)
            .finish_non_exhaustive()
    }
}

/// `nebius.iam.v1.CreateTokenResponse`. Its token is zeroed on drop and hidden by `Debug`.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct CreateTokenResponse {
    /// The IAM access token.
    #[prost(string, tag = "1")]
    pub access_token: String,
    /// What `access_token` is.
    #[prost(string, tag = "2")]
    pub issued_token_type: String,
    /// How to present it: `Bearer`.
    #[prost(string, tag = "3")]
    pub token_type: String,
    /// Seconds until it expires.
    #[prost(int64, tag = "4")]
    pub expires_in: i64,
    /// Granted scopes.
    #[prost(string, repeated, tag = "5")]
    pub scopes: Vec<String>,
}

impl Drop for CreateTokenResponse {
    fn drop(&mut self) {
        self.access_token.zeroize();
    }
}

impl fmt::Debug for CreateTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateTokenResponse")
            .field("access_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A successful exchange. The caller masks `access_token` with its CI at once.
#[derive(Debug)]
pub struct TokenResponse {
    /// The IAM access token.
    pub access_token: Secret,
    /// How long it lives, counted from when the request was sent.
    pub expires_in: Duration,
    /// The server's `issued_token_type` (informational: the spec leaves its value unconfirmed,
    /// so nothing depends on it; the tests check it is carried through).
    #[allow(dead_code)]
    pub issued_token_type: String,
}

/// Why an exchange (or fetching what it needs) failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// Network error, UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED: trying again later may
    /// succeed.
    Transient(String),
    /// UNAUTHENTICATED or PERMISSION_DENIED: the credential is not accepted for this subject.
    Denied {
        /// The status code and the server's (cleaned) message, e.g. `UNAUTHENTICATED: ...`.
        status: String,
        /// The whole error message.
        message: String,
    },
    /// Any other refusal (INVALID_ARGUMENT, UNIMPLEMENTED, ...): the same request fails again.
    Rejected(String),
    /// The server answered with something crlogin cannot use (not a Bearer token, no token).
    BadResponse(String),
}

impl ExchangeError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient(m) | Self::Rejected(m) | Self::BadResponse(m) => f.write_str(m),
            Self::Denied { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// Whether `err` (or any error it wraps) is a retryable [`ExchangeError`]: what a retry loop
/// around [`exchange`] or `oidc::federated_token` asks.
pub fn is_retryable(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<ExchangeError>())
        .any(ExchangeError::is_retryable)
}

/// The variable naming the Nebius API domain, as in the SDKs (`api.nebius.cloud:443`).
pub const DOMAIN_VAR: &str = "NEBIUS_ENDPOINT";

/// The endpoint to call: `NEBIUS_TOKEN_EXCHANGE_GRPC`, else `tokens.iam.<domain>` for
/// `NEBIUS_ENDPOINT`, else [`DEFAULT_ENDPOINT`].
pub fn endpoint(env: &Env) -> Result<String> {
    endpoint_in(env, None)
}

/// [`endpoint`], with a profile's `endpoint:` (`profile_domain`) below `NEBIUS_ENDPOINT`, as the
/// SDKs rank them: `tokens.iam.<domain>`, port 443 unless the domain names one.
pub fn endpoint_in(env: &Env, profile_domain: Option<&str>) -> Result<String> {
    if let Some(explicit) = env.get(ENDPOINT_VAR)? {
        return Ok(explicit);
    }
    let domain = match env.get(DOMAIN_VAR)? {
        Some(domain) if !domain.trim().is_empty() => domain,
        _ => match profile_domain.map(str::trim).filter(|d| !d.is_empty()) {
            Some(domain) => domain.to_string(),
            None => return Ok(DEFAULT_ENDPOINT.to_string()),
        },
    };
    let domain = domain.trim().trim_end_matches('/');
    if domain.contains("://")
        || domain.contains(['/', '@', '?', '#'])
        || domain.chars().any(char::is_whitespace)
    {
        bail!("{DOMAIN_VAR} (or the profile's endpoint:) is not an API domain: set it like api.nebius.cloud or api.nebius.cloud:443");
    }
    let with_port = if domain
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty())
    {
        domain.to_string()
    } else {
        format!("{domain}:443")
    };
    Ok(format!("https://tokens.iam.{with_port}"))
}

/// The gRPC endpoint chosen by the configuration, if any: `NEBIUS_TOKEN_EXCHANGE_GRPC`, or
/// `tokens.iam.<domain>` for an API domain ([`endpoint_in`]) other than Nebius's own. `None` when
/// it would be [`DEFAULT_ENDPOINT`], which a service-account key reaches over HTTP instead.
pub fn chosen_endpoint(env: &Env, profile_domain: Option<&str>) -> Result<Option<String>> {
    let endpoint = endpoint_in(env, profile_domain)?;
    Ok((endpoint != DEFAULT_ENDPOINT).then_some(endpoint))
}

/// Exchanges at `endpoint` with [`with_retries`] (each attempt at most [`ATTEMPT_DEADLINE`]),
/// building each attempt's request anew with `request` (a file re-read, a JWT re-signed), and
/// masks the token got. Its life counts from when the answered request was sent. `what` names
/// the exchange in retry notes and errors.
pub fn mint(
    what: &str,
    endpoint: &str,
    ci: &dyn crate::ci::Ci,
    options: &crate::auth::Options,
    mut request: impl FnMut() -> Result<ExchangeTokenRequest>,
) -> Result<crate::auth::Minted> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (token, sent_at) = with_retries(what, ci, options, ATTEMPT_DEADLINE, |budget| {
        let request = request()?;
        let sent_at = std::time::SystemTime::now();
        runtime
            .block_on(exchange(endpoint, request, budget))
            .map(|token| (token, sent_at))
    })?;
    ci.mask(token.access_token.expose());
    Ok(crate::auth::Minted {
        token: token.access_token,
        issued_at: sent_at,
        expires_at: Some(crate::auth::expiry_after(sent_at, token.expires_in)),
    })
}

/// Calls `Exchange` at `endpoint` (`https://host:port`, or `http://` to a loopback address) and
/// checks the answer is a Bearer token. `timeout` bounds the whole call, connecting included.
pub async fn exchange(
    endpoint: &str,
    request: ExchangeTokenRequest,
    timeout: Duration,
) -> Result<TokenResponse> {
    let target = connect_target(endpoint, timeout)?;
    let redact = Redactor::new(&request);
    let call = async {
        let channel = target.connect().await.map_err(|e| {
            ExchangeError::Transient(format!(
                "cannot connect to the token exchange at {endpoint}: {}: check the network, or {ENDPOINT_VAR}",
                redact.clean(&causes(&e))
            ))
        })?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| {
            ExchangeError::Transient(format!(
                "the token exchange at {endpoint} is not ready: {}",
                redact.clean(&e.to_string())
            ))
        })?;
        let mut request = tonic::Request::new(request);
        request.set_timeout(timeout);
        let key = idempotency_key()?;
        request.metadata_mut().insert(
            IDEMPOTENCY_HEADER,
            key.parse().expect("a UUID is valid metadata"),
        );
        grpc.unary(
            request,
            PathAndQuery::from_static(EXCHANGE_PATH),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .map_err(|status| status_error(endpoint, &status, &redact))
    };
    let mut response = match tokio::time::timeout(timeout, call).await {
        Ok(Ok(response)) => response.into_inner(),
        Ok(Err(error)) => return Err(error.into()),
        Err(_) => {
            return Err(ExchangeError::Transient(format!(
                "the token exchange at {endpoint} did not answer within {}: retry, or raise the timeout",
                humantime::format_duration(Duration::from_millis(timeout.as_millis() as u64))
            ))
            .into())
        }
    };
    check_response(endpoint, &mut response)
}

/// A fresh random UUID (version 4), from aws-lc's RNG.
fn idempotency_key() -> std::result::Result<String, ExchangeError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        ExchangeError::Rejected("the system random number generator failed".to_string())
    })?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// Runs `attempt` until it succeeds, fails for good, or the retry count or the overall deadline
/// of `options` runs out. Each attempt gets at most `per_attempt` of the time left; retryable
/// failures ([`is_retryable`]) wait with backoff and a note on stderr naming `what`.
pub fn with_retries<T>(
    what: &str,
    ci: &dyn crate::ci::Ci,
    options: &crate::auth::Options,
    per_attempt: Duration,
    mut attempt: impl FnMut(Duration) -> Result<T>,
) -> Result<T> {
    let deadline = std::time::Instant::now() + options.timeout;
    let attempts = options.retries.saturating_add(1);
    let mut tried = 0;
    loop {
        tried += 1;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let error = match attempt(left.min(per_attempt)) {
            Ok(value) => return Ok(value),
            Err(e) if !is_retryable(&e) => return Err(e),
            Err(e) => e,
        };
        let wait = crate::auth::exchange_http::retry_wait(tried);
        if tried >= attempts || std::time::Instant::now() + wait >= deadline {
            return Err(error.context(format!(
                "{what} failed after {tried} attempt(s): allow more with --retries/CRLOGIN_RETRIES and --timeout/CRLOGIN_TIMEOUT"
            )));
        }
        ci.note(&format!(
            "crlogin: {what} attempt {tried} of {attempts} failed ({error:#}); retrying in {:.1} s",
            wait.as_secs_f64()
        ));
        std::thread::sleep(wait);
    }
}

/// Turns a server answer into a [`TokenResponse`], or says why it is unusable.
fn check_response(endpoint: &str, response: &mut CreateTokenResponse) -> Result<TokenResponse> {
    if !response.token_type.eq_ignore_ascii_case("bearer") {
        return Err(ExchangeError::BadResponse(format!(
            "the token exchange at {endpoint} returned token_type {:?}, not Bearer: crlogin can use only Bearer tokens; check {ENDPOINT_VAR}",
            one_line(&response.token_type).chars().take(40).collect::<String>()
        ))
        .into());
    }
    if response.access_token.trim().is_empty() {
        return Err(ExchangeError::BadResponse(format!(
            "the token exchange at {endpoint} returned no access token: check {ENDPOINT_VAR}"
        ))
        .into());
    }
    let Ok(seconds @ 1..) = u64::try_from(response.expires_in) else {
        return Err(ExchangeError::BadResponse(format!(
            "the token exchange at {endpoint} returned a token that expires in {} s: check {ENDPOINT_VAR}",
            response.expires_in
        ))
        .into());
    };
    Ok(TokenResponse {
        access_token: Secret::new(std::mem::take(&mut response.access_token)),
        expires_in: Duration::from_secs(seconds).min(crate::auth::MAX_TOKEN_LIFETIME),
        issued_token_type: std::mem::take(&mut response.issued_token_type),
    })
}

/// Validates `endpoint` and prepares (without connecting) a channel to it. Plain `http://` is
/// allowed only to a loopback address, so a token never crosses a network in the clear.
pub(crate) fn connect_target(endpoint: &str, timeout: Duration) -> Result<Endpoint> {
    let uri: Uri = endpoint.parse().with_context(|| {
        format!("{ENDPOINT_VAR} {endpoint:?} is not a URL: use https://host:port, e.g. {DEFAULT_ENDPOINT}")
    })?;
    let host = uri.host().unwrap_or_default();
    let loopback = is_loopback_host(host);
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") if loopback => false,
        Some("http") => bail!(
            "{ENDPOINT_VAR} {endpoint:?} is plain http to a host that is not loopback, which would send a token in the clear: use https://"
        ),
        _ => bail!("{ENDPOINT_VAR} {endpoint:?} has no https:// scheme: use https://host:port, e.g. {DEFAULT_ENDPOINT}"),
    };
    if host.is_empty() {
        bail!("{ENDPOINT_VAR} {endpoint:?} names no host: use https://host:port, e.g. {DEFAULT_ENDPOINT}");
    }
    let mut target = Endpoint::from_shared(endpoint.to_string())
        .with_context(|| {
            format!("{ENDPOINT_VAR} {endpoint:?} is not a usable URL: use https://host:port")
        })?
        .connect_timeout(timeout)
        .user_agent(crate::tls::USER_AGENT)
        .context("cannot set the gRPC user agent")?;
    if tls {
        target = target
            .tls_config(crate::tls::grpc_tls_config())
            .with_context(|| format!("cannot set up TLS for {endpoint}"))?;
    }
    Ok(target)
}

/// Whether `host` (a name, an IP address, or an IPv6 address in brackets) is this machine.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Maps a gRPC status to an error carrying the server's (cleaned) message.
fn status_error(endpoint: &str, status: &tonic::Status, redact: &Redactor) -> ExchangeError {
    let code = status.code();
    let message = redact.clean(status.message());
    let said = if message.is_empty() {
        code_name(code).to_string()
    } else {
        format!("{}: {message}", code_name(code))
    };
    match code {
        Code::Unavailable | Code::ResourceExhausted => ExchangeError::Transient(format!(
            "the token exchange at {endpoint} is unavailable ({said}): retry later"
        )),
        // CANCELLED: tonic's own enforcement of the deadline this client sent.
        Code::DeadlineExceeded | Code::Cancelled => ExchangeError::Transient(format!(
            "the token exchange at {endpoint} did not answer in time ({said}): retry, or raise the timeout"
        )),
        Code::Unauthenticated => ExchangeError::Denied {
            message: format!(
                "Nebius IAM did not accept the credential ({said}): check that it is valid, unexpired and from a trusted issuer"
            ),
            status: said,
        },
        Code::PermissionDenied => ExchangeError::Denied {
            message: format!(
                "Nebius IAM refused the exchange ({said}): check the service account id and what it trusts"
            ),
            status: said,
        },
        Code::InvalidArgument => ExchangeError::Rejected(format!(
            "Nebius IAM rejected the request ({said}): check the service account id and the credential's format"
        )),
        _ => ExchangeError::Rejected(format!(
            "the token exchange at {endpoint} failed ({said}): check {ENDPOINT_VAR}"
        )),
    }
}

/// An error and its causes, joined by `: `, without tonic's bare "transport error" and without
/// a cause repeated by the next.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if text != "transport error" && parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The canonical name of a gRPC status code, as in the gRPC documentation.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Keeps the request's tokens out of anything the server says back.
struct Redactor {
    secrets: Vec<zeroize::Zeroizing<String>>,
}

impl Redactor {
    fn new(request: &ExchangeTokenRequest) -> Self {
        let secrets = [&request.subject_token, &request.actor_token]
            .into_iter()
            .filter(|s| s.len() >= 8)
            .map(|s| zeroize::Zeroizing::new(s.clone()))
            .collect();
        Self { secrets }
    }

    /// One line, at most [`MAX_SERVER_MESSAGE`] characters, every token replaced by `***`.
    fn clean(&self, message: &str) -> String {
        let mut message = one_line(message);
        for secret in &self.secrets {
            message = message.replace(secret.as_str(), "***");
        }
        let message = message.trim();
        match message.char_indices().nth(MAX_SERVER_MESSAGE) {
            Some((cut, _)) => format!("{}...", &message[..cut]),
            None => message.to_string(),
        }
    }
}

#[cfg(test)]
#[path = "../../tests/iam_grpc/mod.rs"]
pub(crate) mod test_server;

#[cfg(test)]
mod tests {
    use super::test_server::{Expect, IamServer, Reply, TestIssuer};
    use super::*;
    use std::time::Instant;

    const SA: &str = "serviceaccount-e00test";
    const SUB: &str = "repo:acme/app:ref:refs/heads/main";
    const AUD: &str = "test-audience";

    fn server(issuer: &TestIssuer) -> IamServer {
        IamServer::start(Expect {
            service_account_id: SA.into(),
            issuer: issuer.issuer.clone(),
            audience: AUD.into(),
            subject: SUB.into(),
            jwks: issuer.jwks(),
        })
    }

    fn request(jwt: &str) -> ExchangeTokenRequest {
        ExchangeTokenRequest {
            grant_type: GRANT_TYPE_TOKEN_EXCHANGE.into(),
            requested_token_type: TOKEN_TYPE_ACCESS_TOKEN.into(),
            subject_token: SA.into(),
            subject_token_type: TOKEN_TYPE_SUBJECT_IDENTIFIER.into(),
            scopes: Vec::new(),
            audience: String::new(),
            actor_token: jwt.into(),
            actor_token_type: TOKEN_TYPE_JWT.into(),
            resource: Vec::new(),
        }
    }

    const T: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn exchanges_a_federated_jwt() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let started = Instant::now();
        let token = exchange(&server.url(), request(&issuer.token(SUB, AUD, 300)), T)
            .await
            .unwrap();
        eprintln!("gRPC exchange round trip: {:?}", started.elapsed());
        assert_eq!(
            server.issued(),
            vec![token.access_token.expose().to_string()]
        );
        assert_eq!(token.expires_in, Duration::from_secs(12 * 3600));
        assert_eq!(token.issued_token_type, TOKEN_TYPE_ACCESS_TOKEN);
        assert_eq!(server.calls(), 1);
        assert!(!server.saw_authorization());
    }

    #[tokio::test]
    async fn each_call_carries_a_fresh_uuid4_idempotency_key() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let jwt = issuer.token(SUB, AUD, 300);
        for _ in 0..2 {
            exchange(&server.url(), request(&jwt), T).await.unwrap();
        }
        let keys = server.idempotency_keys();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
        for key in &keys {
            let uuid = uuid::Uuid::parse_str(key).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{key}");
            assert_eq!(key.len(), 36, "{key}");
        }
    }

    /// A hung call uses only its own deadline, and the retry inside the overall budget
    /// succeeds (before, one hung call took the whole `--timeout`).
    #[test]
    fn a_hung_attempt_is_cut_at_its_deadline_and_retried() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        server.script([Reply::Hang]);
        let jwt = issuer.token(SUB, AUD, 300);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let options = crate::auth::Options {
            retries: 2,
            timeout: Duration::from_secs(30),
            cache: false,
            dry_run: false,
        };
        let mut budgets = Vec::new();
        let ci = crate::ci::detect(&Env::default());
        let token = with_retries(
            "test exchange",
            ci.as_ref(),
            &options,
            Duration::from_millis(300),
            |budget| {
                budgets.push(budget);
                runtime.block_on(exchange(&server.url(), request(&jwt), budget))
            },
        )
        .unwrap();
        assert_eq!(
            server.issued(),
            vec![token.access_token.expose().to_string()]
        );
        assert_eq!(server.calls(), 2);
        assert!(
            budgets.iter().all(|b| *b <= Duration::from_millis(300)),
            "{budgets:?}"
        );
    }

    #[tokio::test]
    async fn unavailable_is_retryable_then_succeeds() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        server.fail_unavailable(2);
        let jwt = issuer.token(SUB, AUD, 300);
        for _ in 0..2 {
            let err = exchange(&server.url(), request(&jwt), T).await.unwrap_err();
            assert!(is_retryable(&err), "{err:#}");
            assert!(format!("{err:#}").contains("UNAVAILABLE"), "{err:#}");
        }
        exchange(&server.url(), request(&jwt), T).await.unwrap();
        assert_eq!(server.calls(), 3);
    }

    #[tokio::test]
    async fn resource_exhausted_and_deadline_are_retryable() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        server.script([
            Reply::Status(Code::ResourceExhausted, "slow down".into()),
            Reply::Status(Code::DeadlineExceeded, "too slow".into()),
        ]);
        let jwt = issuer.token(SUB, AUD, 300);
        for expected in [
            "RESOURCE_EXHAUSTED: slow down",
            "DEADLINE_EXCEEDED: too slow",
        ] {
            let err = exchange(&server.url(), request(&jwt), T).await.unwrap_err();
            assert!(is_retryable(&err), "{err:#}");
            assert!(format!("{err:#}").contains(expected), "{err:#}");
        }
    }

    #[tokio::test]
    async fn wrong_audience_is_unauthenticated_with_the_server_message() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let jwt = issuer.token(SUB, "someone-else", 300);
        let err = exchange(&server.url(), request(&jwt), T).await.unwrap_err();
        let text = format!("{err:#}");
        assert!(!is_retryable(&err), "{text}");
        assert!(text.contains("UNAUTHENTICATED"), "{text}");
        assert!(text.contains("InvalidAudience"), "{text}");
        assert!(!text.contains(&jwt), "{text}");
        assert_eq!(server.calls(), 1);
    }

    #[tokio::test]
    async fn forged_signature_and_expiry_are_rejected() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let other = TestIssuer::new_with(&issuer.issuer, &issuer.kid);
        let forged = other.token(SUB, AUD, 300);
        let err = exchange(&server.url(), request(&forged), T)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("InvalidSignature"), "{err:#}");
        let expired = issuer.token(SUB, AUD, -120);
        let err = exchange(&server.url(), request(&expired), T)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("ExpiredSignature"), "{err:#}");
    }

    #[tokio::test]
    async fn other_service_account_is_permission_denied() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let mut req = request(&issuer.token(SUB, AUD, 300));
        req.subject_token = "serviceaccount-other".into();
        let err = exchange(&server.url(), req, T).await.unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("PERMISSION_DENIED"), "{text}");
        assert!(!is_retryable(&err));
    }

    #[tokio::test]
    async fn wrong_token_type_is_invalid_argument() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let mut req = request(&issuer.token(SUB, AUD, 300));
        req.actor_token_type = "urn:ietf:params:oauth:token-type:id_token".into();
        let err = exchange(&server.url(), req, T).await.unwrap_err();
        assert!(format!("{err:#}").contains("INVALID_ARGUMENT"), "{err:#}");
        assert!(!is_retryable(&err));
    }

    #[tokio::test]
    async fn server_echo_of_the_jwt_is_redacted() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        let jwt = issuer.token(SUB, AUD, 300);
        server.script([Reply::Status(
            Code::Unauthenticated,
            format!("bad token {jwt}\nsecond line"),
        )]);
        let text = format!(
            "{:#}",
            exchange(&server.url(), request(&jwt), T).await.unwrap_err()
        );
        assert!(text.contains("bad token *** second line"), "{text}");
        assert!(!text.contains(&jwt));
    }

    #[tokio::test]
    async fn non_bearer_token_type_is_refused() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        server.script([
            Reply::TokenType("bEaReR".into()),
            Reply::TokenType("MAC".into()),
        ]);
        let jwt = issuer.token(SUB, AUD, 300);
        exchange(&server.url(), request(&jwt), T).await.unwrap();
        let err = exchange(&server.url(), request(&jwt), T).await.unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("token_type \"MAC\", not Bearer"), "{text}");
        assert!(!is_retryable(&err));
        assert!(!text.contains("v1."), "{text}");
    }

    #[tokio::test]
    async fn hanging_server_times_out_as_retryable() {
        let issuer = TestIssuer::new();
        let server = server(&issuer);
        server.script([Reply::Hang]);
        let timeout = Duration::from_millis(300);
        let started = Instant::now();
        let err = exchange(
            &server.url(),
            request(&issuer.token(SUB, AUD, 300)),
            timeout,
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(is_retryable(&err), "{err:#}");
        assert_eq!(server.calls(), 1);
    }

    #[tokio::test]
    async fn refused_connection_is_retryable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // Closed again: nothing listens there now.
        let err = exchange(&format!("http://127.0.0.1:{port}"), request("x.y.z"), T)
            .await
            .unwrap_err();
        assert!(is_retryable(&err), "{err:#}");
        assert!(format!("{err:#}").contains("cannot connect"), "{err:#}");
    }

    #[test]
    fn endpoint_must_be_https_unless_loopback() {
        let t = Duration::from_secs(1);
        assert!(connect_target(DEFAULT_ENDPOINT, t).is_ok());
        assert!(connect_target("http://127.0.0.1:1234", t).is_ok());
        assert!(connect_target("http://[::1]:1234", t).is_ok());
        assert!(connect_target("http://localhost:1234", t).is_ok());
        let err = connect_target("http://tokens.example:80", t).unwrap_err();
        assert!(err.to_string().contains("in the clear"), "{err}");
        let err = connect_target("tokens.example:443", t).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
    }

    #[test]
    fn the_api_domain_picks_tokens_iam_unless_the_endpoint_is_explicit() {
        let env = Env::from_pairs(&[(DOMAIN_VAR, "api.example.net")]);
        assert_eq!(
            endpoint(&env).unwrap(),
            "https://tokens.iam.api.example.net:443"
        );
        let env = Env::from_pairs(&[(DOMAIN_VAR, "api.example.net:8443")]);
        assert_eq!(
            endpoint(&env).unwrap(),
            "https://tokens.iam.api.example.net:8443"
        );
        assert_eq!(
            endpoint_in(&Env::default(), Some("api.profile.net")).unwrap(),
            "https://tokens.iam.api.profile.net:443"
        );
        let env = Env::from_pairs(&[(DOMAIN_VAR, "api.env.net")]);
        assert_eq!(
            endpoint_in(&env, Some("api.profile.net")).unwrap(),
            "https://tokens.iam.api.env.net:443"
        );
        let env = Env::from_pairs(&[
            (DOMAIN_VAR, "api.env.net"),
            (ENDPOINT_VAR, "http://127.0.0.1:9"),
        ]);
        assert_eq!(endpoint_in(&env, Some("x")).unwrap(), "http://127.0.0.1:9");
        let env = Env::from_pairs(&[(DOMAIN_VAR, "https://api.env.net/x")]);
        assert!(endpoint(&env).is_err());
        // The default is what the default domain gives.
        assert_eq!(
            endpoint_in(&Env::default(), Some("api.nebius.cloud")).unwrap(),
            DEFAULT_ENDPOINT
        );
    }

    #[test]
    fn endpoint_comes_from_the_environment() {
        assert_eq!(endpoint(&Env::default()).unwrap(), DEFAULT_ENDPOINT);
        let env = Env::from_pairs(&[(ENDPOINT_VAR, "http://127.0.0.1:9")]);
        assert_eq!(endpoint(&env).unwrap(), "http://127.0.0.1:9");
    }

    #[test]
    fn debug_hides_tokens() {
        let text = format!("{:?}", request("header.payload.signature"));
        assert!(!text.contains("payload"), "{text}");
        assert!(!text.contains(SA), "{text}");
    }
}
