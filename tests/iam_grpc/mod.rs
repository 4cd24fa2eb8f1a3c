//! Test stand-ins for keyless OIDC federation, all on 127.0.0.1 with a free port:
//!
//! - [`TestIssuer`]: an OIDC issuer with a fresh RSA key (generated at test time), its JWKS, and
//!   RS256-signed JWTs like GitHub's;
//! - [`IamServer`]: a real gRPC server (tonic + hyper, HTTP/2) for
//!   `nebius.iam.v1.TokenExchangeService/Exchange` that checks what Nebius IAM checks (the four
//!   token types, the service-account id, the actor JWT's RS256 signature against the JWKS, its
//!   `iss`, `aud`, `sub` and `exp`), counts calls, and can be scripted to fail or hang; it also does
//!   service-account impersonation (an access token as the actor, accepted only when this server
//!   issued it or was told it is valid, for a target it was told to allow) and records each
//!   call's `x-idempotency-key`; and it exchanges a service-account key's JWT as the subject
//!   (the SDKs' way), for keys registered with [`IamServer::accept_key`];
//! - [`FakeGithubOidc`]: GitHub's OIDC token endpoint (plain HTTP/1.1 on a std thread), checking
//!   the Bearer request token and the `audience` query parameter.
//!
//! Every server is listening when `start` returns (the socket is bound first, so nothing needs a
//! sleep) and is stopped and joined on drop. The messages are declared here again, from the
//! wire spec, independently of crlogin's own, so a wrong field number on either side fails.
//! Used by `src/auth/exchange_grpc.rs` unit tests (via `#[path]`) and by binary-level tests.
#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::{Code, Status};

// By path, as iam_server has it: a test binary may include both servers.
#[allow(clippy::duplicate_mod)]
#[path = "../iam_server/key_jwt.rs"]
mod key_jwt;

/// GitHub Actions' OIDC issuer, the default of [`TestIssuer::new`].
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The gRPC path the server answers.
pub const EXCHANGE_PATH: &str = "/nebius.iam.v1.TokenExchangeService/Exchange";
/// The one `grant_type` the server accepts.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The one `requested_token_type` the server accepts.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The `subject_token_type` of federation.
pub const SUBJECT_IDENTIFIER_TYPE: &str = "urn:nebius:params:oauth:token-type:subject_identifier";
/// The `actor_token_type` of federation.
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The lifetime of every issued access token (12 hours, as Nebius's).
pub const EXPIRES_IN: i64 = 12 * 3600;

/// `nebius.iam.v1.ExchangeTokenRequest`, as the server decodes it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExchangeTokenRequest {
    #[prost(string, tag = "1")]
    pub grant_type: String,
    #[prost(string, tag = "2")]
    pub requested_token_type: String,
    #[prost(string, tag = "3")]
    pub subject_token: String,
    #[prost(string, tag = "4")]
    pub subject_token_type: String,
    #[prost(string, repeated, tag = "5")]
    pub scopes: Vec<String>,
    #[prost(string, tag = "6")]
    pub audience: String,
    #[prost(string, tag = "7")]
    pub actor_token: String,
    #[prost(string, tag = "8")]
    pub actor_token_type: String,
    #[prost(string, repeated, tag = "9")]
    pub resource: Vec<String>,
}

/// `nebius.iam.v1.CreateTokenResponse`, as the server encodes it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateTokenResponse {
    #[prost(string, tag = "1")]
    pub access_token: String,
    #[prost(string, tag = "2")]
    pub issued_token_type: String,
    #[prost(string, tag = "3")]
    pub token_type: String,
    #[prost(int64, tag = "4")]
    pub expires_in: i64,
    #[prost(string, repeated, tag = "5")]
    pub scopes: Vec<String>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// An OIDC issuer with a fresh RSA-2048 key.
#[derive(Clone)]
pub struct TestIssuer {
    /// The `iss` of its tokens.
    pub issuer: String,
    /// The key id in its JWKS and in its tokens' headers.
    pub kid: String,
    private_pem: String,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl TestIssuer {
    /// GitHub's issuer URL with a new key.
    pub fn new() -> Self {
        Self::new_with(GITHUB_ISSUER, "test-key-1")
    }

    /// An issuer named `issuer` whose key is called `kid` (a second one with the same names is a
    /// forger: same header, different key).
    pub fn new_with(issuer: &str, kid: &str) -> Self {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::{KeyPair, KeySize};
        use aws_lc_rs::signature::KeyPair as _;
        let key = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
        let der = key.as_der().expect("encode the RSA key as PKCS#8");
        let body = B64.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        let public = key.public_key();
        Self {
            issuer: issuer.to_string(),
            kid: kid.to_string(),
            private_pem: format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                lines.join("\n")
            ),
            modulus: public.modulus().big_endian_without_leading_zero().to_vec(),
            exponent: public.exponent().big_endian_without_leading_zero().to_vec(),
        }
    }

    /// The issuer's JWKS (`{"keys": [...]}`), as its `jwks_uri` serves it.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
            "n": B64URL.encode(&self.modulus), "e": B64URL.encode(&self.exponent),
        }]})
    }

    /// Signs `claims` with RS256 and the issuer's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let key = EncodingKey::from_rsa_pem(self.private_pem.as_bytes()).expect("PKCS#8 PEM key");
        jsonwebtoken::encode(&header, claims, &key).expect("sign a JWT")
    }

    /// A GitHub-like token for `sub` and `aud` that expires `ttl_secs` from now (negative: already
    /// expired).
    pub fn token(&self, sub: &str, aud: &str, ttl_secs: i64) -> String {
        let now = now();
        self.sign(&json!({
            "iss": self.issuer, "sub": sub, "aud": aud,
            "iat": now.min(now + ttl_secs) - 1, "nbf": now.min(now + ttl_secs) - 1,
            "exp": now + ttl_secs,
            "jti": format!("jti-{now}"), "repository": "acme/app", "ref": "refs/heads/main",
        }))
    }
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

/// What the IAM server accepts.
#[derive(Clone)]
pub struct Expect {
    /// The service account federated tokens may act as (`subject_token`).
    pub service_account_id: String,
    /// The trusted issuer (`iss`).
    pub issuer: String,
    /// The required `aud`.
    pub audience: String,
    /// The federated subject (`sub`).
    pub subject: String,
    /// The issuer's JWKS.
    pub jwks: Value,
}

/// How the IAM server answers one call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Check the request like Nebius IAM and issue a token (the default).
    Normal,
    /// Answer this status without looking at the request.
    Status(Code, String),
    /// Never answer.
    Hang,
    /// Check the request, then issue a token with this `token_type`.
    TokenType(String),
    /// Check the request, then issue a Bearer token with this `expires_in`.
    ExpiresIn(i64),
}

/// What impersonation the server allows.
#[derive(Default)]
struct Impersonation {
    /// The service accounts an actor may impersonate.
    targets: Vec<String>,
    /// Access tokens issued elsewhere (the HTTP exchange) that are valid actors.
    trusted_actors: Vec<String>,
    /// `(actor token, target)` of each impersonation granted.
    granted: Vec<(String, String)>,
}

struct State {
    expect: Expect,
    keys: Mutex<Vec<key_jwt::Expect>>,
    /// `(token, account)` of each token issued.
    issued_to: Mutex<Vec<(String, String)>>,
    /// Issue each account always the same token (see [`IamServer::same_token_per_account`]).
    same_token: AtomicBool,
    started: u64,
    /// More `(service account, federated subject)` pairs trusted besides `expect`'s.
    also_trusted: Mutex<Vec<(String, String)>>,
    /// Every request received, as decoded.
    requests: Mutex<Vec<ExchangeTokenRequest>>,
    impersonation: Mutex<Impersonation>,
    idempotency_keys: Mutex<Vec<String>>,
    calls: AtomicUsize,
    script: Mutex<VecDeque<Reply>>,
    issued: Mutex<Vec<String>>,
    rejections: Mutex<Vec<String>>,
    saw_authorization: AtomicBool,
}

impl State {
    async fn answer(
        &self,
        request: tonic::Request<ExchangeTokenRequest>,
    ) -> Result<tonic::Response<CreateTokenResponse>, Status> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let key = request
            .metadata()
            .get("x-idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        self.idempotency_keys.lock().unwrap().push(key);
        self.requests
            .lock()
            .unwrap()
            .push(request.get_ref().clone());
        if request.metadata().contains_key("authorization") {
            self.saw_authorization.store(true, Ordering::SeqCst);
        }
        let reply = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Reply::Normal);
        let (token_type, expires_in) = match reply {
            Reply::Status(code, message) => return Err(Status::new(code, message)),
            Reply::Hang => std::future::pending().await,
            Reply::Normal => ("Bearer".to_string(), EXPIRES_IN),
            Reply::TokenType(t) => (t, EXPIRES_IN),
            Reply::ExpiresIn(seconds) => ("Bearer".to_string(), seconds),
        };
        let r = request.get_ref();
        // Every exchange is called without authorization; then each kind has its own checks.
        let checked = if request.metadata().contains_key("authorization") {
            Err(Status::invalid_argument(
                "the token exchange is called without authorization",
            ))
        } else if r.actor_token_type == ACCESS_TOKEN_TYPE {
            self.check_impersonation(r)
                .map(|()| r.subject_token.clone())
        } else if r.subject_token_type == JWT_TYPE {
            self.check_key_jwt(r)
        } else {
            self.check(r).map(|()| r.subject_token.clone())
        };
        let account = match checked {
            Ok(account) => account,
            Err(status) => {
                self.rejections
                    .lock()
                    .unwrap()
                    .push(status.message().to_string());
                return Err(status);
            }
        };
        let access_token = if self.same_token.load(Ordering::SeqCst) {
            format!("v1.test-access-token-of-{account}-{}", self.started)
        } else {
            format!("v1.test-access-token-{n}-{}", now())
        };
        self.issued.lock().unwrap().push(access_token.clone());
        self.issued_to
            .lock()
            .unwrap()
            .push((access_token.clone(), account));
        Ok(tonic::Response::new(CreateTokenResponse {
            access_token,
            issued_token_type: ACCESS_TOKEN_TYPE.to_string(),
            token_type,
            expires_in,
            scopes: Vec::new(),
        }))
    }

    /// What Nebius IAM checks of an impersonation: the actor is an access token it issued (or
    /// was told is valid), and the subject is a service account the actor may impersonate.
    fn check_impersonation(&self, r: &ExchangeTokenRequest) -> Result<(), Status> {
        if r.grant_type != GRANT_TYPE
            || r.requested_token_type != ACCESS_TOKEN_TYPE
            || r.subject_token_type != SUBJECT_IDENTIFIER_TYPE
        {
            return Err(Status::invalid_argument("unsupported token types"));
        }
        no_extras(r)?;
        let issued_here = self.issued.lock().unwrap().contains(&r.actor_token);
        let mut policy = self.impersonation.lock().unwrap();
        if !issued_here && !policy.trusted_actors.contains(&r.actor_token) {
            return Err(Status::unauthenticated(
                "invalid actor token: not an access token this IAM issued",
            ));
        }
        if !policy.targets.contains(&r.subject_token) {
            return Err(Status::permission_denied(format!(
                "the actor may not impersonate {}",
                r.subject_token
            )));
        }
        policy
            .granted
            .push((r.actor_token.clone(), r.subject_token.clone()));
        Ok(())
    }

    /// What Nebius IAM checks of a service-account key's JWT sent as the subject (the SDKs'
    /// exchange): the token types, nothing else set, and the JWT's signature and claims against
    /// the key its `kid` names. Answers the key's account.
    fn check_key_jwt(&self, r: &ExchangeTokenRequest) -> Result<String, Status> {
        if r.grant_type != GRANT_TYPE || r.requested_token_type != ACCESS_TOKEN_TYPE {
            return Err(Status::invalid_argument("unsupported token types"));
        }
        if !r.actor_token.is_empty() || !r.actor_token_type.is_empty() {
            return Err(Status::invalid_argument("a JWT subject takes no actor"));
        }
        no_extras(r)?;
        let kid = jsonwebtoken::decode_header(&r.subject_token)
            .ok()
            .and_then(|h| h.kid)
            .unwrap_or_default();
        let keys = self.keys.lock().unwrap();
        let key = keys
            .iter()
            .find(|k| k.public_key_id == kid)
            .ok_or_else(|| Status::unauthenticated(format!("unknown public key {kid:?}")))?;
        key_jwt::check(&r.subject_token, key)
            .map_err(|why| Status::unauthenticated(format!("invalid subject token: {why}")))?;
        Ok(key.service_account_id.clone())
    }

    /// What Nebius IAM checks of a federated exchange, with statuses like its.
    fn check(&self, r: &ExchangeTokenRequest) -> Result<(), Status> {
        for (field, got, want) in [
            ("grant_type", &r.grant_type, GRANT_TYPE),
            (
                "requested_token_type",
                &r.requested_token_type,
                ACCESS_TOKEN_TYPE,
            ),
            (
                "subject_token_type",
                &r.subject_token_type,
                SUBJECT_IDENTIFIER_TYPE,
            ),
            ("actor_token_type", &r.actor_token_type, JWT_TYPE),
        ] {
            if got != want {
                return Err(Status::invalid_argument(format!(
                    "unsupported {field} {got:?}"
                )));
            }
        }
        no_extras(r)?;
        let subject = if r.subject_token == self.expect.service_account_id {
            self.expect.subject.clone()
        } else {
            let also = self.also_trusted.lock().unwrap();
            let Some((_, subject)) = also.iter().find(|(sa, _)| *sa == r.subject_token) else {
                return Err(Status::permission_denied(format!(
                    "no federated credentials of {} trust this token",
                    r.subject_token
                )));
            };
            subject.clone()
        };
        self.check_jwt(&r.actor_token, &subject)
            .map_err(|why| Status::unauthenticated(format!("invalid actor token: {why}")))
    }

    fn check_jwt(&self, jwt: &str, subject: &str) -> Result<(), String> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("{:?}", e.kind()))?;
        if header.alg != Algorithm::RS256 {
            return Err(format!("alg {:?} is not RS256", header.alg));
        }
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(self.expect.jwks.clone()).map_err(|e| e.to_string())?;
        let jwk = header
            .kid
            .as_deref()
            .and_then(|kid| jwks.find(kid))
            .ok_or("unknown kid")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("{:?}", e.kind()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.set_issuer(&[&self.expect.issuer]);
        validation.set_audience(&[&self.expect.audience]);
        validation.sub = Some(subject.to_string());
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .map(|_| ())
            .map_err(|e| format!("{:?}", e.kind()))
    }
}

/// What Nebius IAM requires of every exchange crlogin sends: no audience, scopes or resource.
fn no_extras(r: &ExchangeTokenRequest) -> Result<(), Status> {
    if !r.audience.is_empty() || !r.scopes.is_empty() || !r.resource.is_empty() {
        return Err(Status::invalid_argument(
            "audience, scopes and resource must be empty",
        ));
    }
    Ok(())
}

struct ExchangeService(Arc<State>);

type Answer = Result<tonic::Response<CreateTokenResponse>, Status>;

impl tonic::server::UnaryService<ExchangeTokenRequest> for ExchangeService {
    type Response = CreateTokenResponse;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn call(&mut self, request: tonic::Request<ExchangeTokenRequest>) -> Self::Future {
        let state = self.0.clone();
        Box::pin(async move { state.answer(request).await })
    }
}

/// The gRPC token exchange server.
pub struct IamServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl IamServer {
    /// A server trusting `issuer`'s tokens with this `audience` and `subject` for
    /// `service_account_id`.
    pub fn trusting(
        issuer: &TestIssuer,
        service_account_id: &str,
        audience: &str,
        subject: &str,
    ) -> Self {
        IamServer::start(Expect {
            service_account_id: service_account_id.into(),
            issuer: issuer.issuer.clone(),
            audience: audience.into(),
            subject: subject.into(),
            jwks: issuer.jwks(),
        })
    }

    /// Starts a server accepting federated exchanges as `expect` says.
    pub fn start(expect: Expect) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking socket");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            expect,
            keys: Mutex::new(Vec::new()),
            issued_to: Mutex::new(Vec::new()),
            same_token: AtomicBool::new(false),
            started: now() as u64 * 1000 + u64::from(addr.port()),
            also_trusted: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            impersonation: Mutex::new(Impersonation::default()),
            idempotency_keys: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            script: Mutex::new(VecDeque::new()),
            issued: Mutex::new(Vec::new()),
            rejections: Mutex::new(Vec::new()),
            saw_authorization: AtomicBool::new(false),
        });
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let served = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test server runtime");
            runtime.block_on(serve(listener, served, stop));
        });
        Self {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `NEBIUS_TOKEN_EXCHANGE_GRPC`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many calls arrived so far.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Queues answers for the next calls; after them, calls are answered normally.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// Makes the next `n` calls fail with UNAVAILABLE.
    pub fn fail_unavailable(&self, n: usize) {
        self.script(
            (0..n).map(|_| Reply::Status(Code::Unavailable, "try again later".to_string())),
        );
    }

    /// The access tokens issued so far, in order.
    pub fn issued(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }

    /// Why requests were refused so far (the status messages).
    pub fn rejections(&self) -> Vec<String> {
        self.state.rejections.lock().unwrap().clone()
    }

    /// Accepts JWTs signed by `public_pem`'s private key for `service_account_id`'s key
    /// `public_key_id`, as subjects.
    pub fn accept_key(&self, service_account_id: &str, public_key_id: &str, public_pem: &str) {
        self.state.keys.lock().unwrap().push(key_jwt::Expect {
            service_account_id: service_account_id.to_string(),
            public_key_id: public_key_id.to_string(),
            public_key: DecodingKey::from_rsa_pem(public_pem.as_bytes())
                .expect("an RSA public key"),
        });
    }

    /// From now on issues each account the same token every time (two clients exchanging the
    /// same credential then get the same token, as a comparison needs).
    pub fn same_token_per_account(&self) {
        self.state.same_token.store(true, Ordering::SeqCst);
    }

    /// Also trusts tokens of the same issuer and audience with `subject` for `service_account_id`
    /// (a second federated credential).
    pub fn also_trust(&self, service_account_id: &str, subject: &str) {
        self.state
            .also_trusted
            .lock()
            .unwrap()
            .push((service_account_id.into(), subject.into()));
    }

    /// Every request received so far, in order, as decoded (field by field).
    pub fn requests(&self) -> Vec<ExchangeTokenRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// `(token, account)` of each token issued so far, in order.
    pub fn issued_to(&self) -> Vec<(String, String)> {
        self.state.issued_to.lock().unwrap().clone()
    }

    /// Lets actors impersonate `target`.
    pub fn allow_impersonation_of(&self, target: &str) {
        let mut policy = self.state.impersonation.lock().unwrap();
        policy.targets.push(target.to_string());
    }

    /// Accepts `token` (issued by another server, e.g. the HTTP exchange) as an actor token.
    pub fn trust_actor_token(&self, token: &str) {
        let mut policy = self.state.impersonation.lock().unwrap();
        policy.trusted_actors.push(token.to_string());
    }

    /// `(actor token, target)` of each impersonation granted so far.
    pub fn impersonations(&self) -> Vec<(String, String)> {
        self.state.impersonation.lock().unwrap().granted.clone()
    }

    /// Each call's `x-idempotency-key` (empty when it had none), in order.
    pub fn idempotency_keys(&self) -> Vec<String> {
        self.state.idempotency_keys.lock().unwrap().clone()
    }

    /// Whether any call carried `authorization` metadata (the real service takes none).
    pub fn saw_authorization(&self) -> bool {
        self.state.saw_authorization.load(Ordering::SeqCst)
    }
}

impl Drop for IamServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        // As real gRPC servers do: without it an answer can wait for a delayed ACK (40 ms).
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(route(state, request).await) }
            });
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(
    state: Arc<State>,
    request: http::Request<hyper::body::Incoming>,
) -> http::Response<tonic::body::Body> {
    if request.uri().path() != EXCHANGE_PATH {
        return Status::unimplemented(format!("no method {}", request.uri().path())).into_http();
    }
    let codec = tonic_prost::ProstCodec::<CreateTokenResponse, ExchangeTokenRequest>::default();
    tonic::server::Grpc::new(codec)
        .unary(ExchangeService(state), request)
        .await
}

struct GithubState {
    issuer: TestIssuer,
    request_token: String,
    subject: String,
    calls: AtomicUsize,
    audiences: Mutex<Vec<String>>,
    failures: Mutex<VecDeque<u16>>,
}

/// GitHub Actions' OIDC token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`).
pub struct FakeGithubOidc {
    addr: SocketAddr,
    state: Arc<GithubState>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGithubOidc {
    /// Starts an endpoint that accepts `request_token` and issues `issuer` tokens for `subject`.
    pub fn start(issuer: &TestIssuer, request_token: &str, subject: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(GithubState {
            issuer: issuer.clone(),
            request_token: request_token.to_string(),
            subject: subject.to_string(),
            calls: AtomicUsize::new(0),
            audiences: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (served, stopping) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer_github(&served, stream);
                }
            }
        });
        Self {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The request URL, with a query already on it as GitHub's has.
    pub fn request_url(&self) -> String {
        format!("http://{}/_apis/idtoken?api-version=2.0", self.addr)
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` as a job sees them.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("ACTIONS_ID_TOKEN_REQUEST_URL".into(), self.request_url()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                self.state.request_token.clone(),
            ),
        ]
    }

    /// How many requests arrived so far.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// The `audience` of each accepted request, in order.
    pub fn audiences(&self) -> Vec<String> {
        self.state.audiences.lock().unwrap().clone()
    }

    /// Makes the next requests fail with these HTTP statuses.
    pub fn fail_next(&self, statuses: impl IntoIterator<Item = u16>) {
        self.state.failures.lock().unwrap().extend(statuses);
    }
}

impl Drop for FakeGithubOidc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // Wakes the accept loop.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one HTTP/1.1 request and closes the connection.
fn answer_github(state: &GithubState, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    state.calls.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head).to_string();
    let (status, body) = github_reply(state, &head);
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn github_reply(state: &GithubState, head: &str) -> (u16, String) {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (request_line.next(), request_line.next().unwrap_or("/"));
    if method != Some("GET") {
        return (405, json!({"message": "use GET"}).to_string());
    }
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    let accepted = authorization
        .split_once(' ')
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token == state.request_token
        });
    if !accepted {
        return (401, json!({"message": "bad request token"}).to_string());
    }
    let url = reqwest::Url::parse(&format!("http://localhost{target}")).expect("request target");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(k, v)| k == "api-version" && v == "2.0") {
        return (400, json!({"message": "api-version missing"}).to_string());
    }
    let Some(audience) = pairs
        .iter()
        .find(|(k, _)| k == "audience")
        .map(|(_, v)| v.clone())
    else {
        return (400, json!({"message": "audience missing"}).to_string());
    };
    if let Some(status) = state.failures.lock().unwrap().pop_front() {
        return (status, json!({"message": "scripted failure"}).to_string());
    }
    state.audiences.lock().unwrap().push(audience.clone());
    let jwt = state.issuer.token(&state.subject, &audience, 300);
    (200, json!({"count": jwt.len(), "value": jwt}).to_string())
}
