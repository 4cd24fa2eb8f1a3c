//! A loopback stand-in for the Nebius token exchange (`POST /oauth2/token/exchange`), checking
//! what the real one checks: the four form fields exactly, and a JWT signed with the test key
//! (RS256, the right `kid`, `iss` == `sub` == the service account, the audience, at most 60 s of
//! life, not expired). It can be scripted to refuse, fail, or hang, and counts every request.
//!
//! Plain std: one listener thread on 127.0.0.1:0, one request per connection, HTTP/1.1 with
//! Content-Length. Test keys are made once per test binary with `openssl`.
// Each test binary uses a different part of it.
#![allow(dead_code)]

// The leak-audit hooks, by path: not every test binary using this module has the harness (in
// those that do, the second copy writes its own record file).
#[allow(clippy::duplicate_mod)]
#[path = "../harness/audit.rs"]
mod audit;
pub mod key_jwt;
use key_jwt::Expect;

use jsonwebtoken::DecodingKey;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The audience every exchange JWT must carry.
#[allow(unused_imports)]
pub use key_jwt::AUDIENCE;

/// Test keys, made once per test binary.
pub struct Keys {
    /// The RSA key in PKCS#8 PEM (`PRIVATE KEY`), as `nebius iam auth-public-key generate` writes.
    pub pkcs8: String,
    /// The same key in PKCS#1 PEM (`RSA PRIVATE KEY`).
    pub pkcs1: String,
    /// Its public key (SPKI PEM), which the server verifies with.
    pub public: String,
    /// A second RSA key the server does not know.
    pub other_rsa: String,
    /// An EC P-256 key in PKCS#8 PEM: the wrong kind.
    pub ec: String,
}

impl Keys {
    /// Every base64 line of every private key: none may be printed or written by crlogin.
    pub fn secret_lines(&self) -> Vec<String> {
        [&self.pkcs8, &self.pkcs1, &self.other_rsa, &self.ec]
            .iter()
            .flat_map(|pem| pem.lines())
            .filter(|l| !l.starts_with("-----") && l.len() >= 40)
            .map(str::to_string)
            .collect()
    }
}

/// The credentials JSON `nebius iam auth-public-key generate` writes for `service_account`'s
/// key `key_id`, holding the test private key.
pub fn credentials_json(service_account: &str, key_id: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "subject-credentials": {
            "type": "JWT",
            "alg": "RS256",
            "private-key": keys().pkcs8,
            "kid": key_id,
            "iss": service_account,
            "sub": service_account,
        }
    }))
    .unwrap()
}

/// The test keys (generated on first use with the `openssl` command).
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = audit::temp_dir();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).output().expect(
                "openssl is needed to make test keys (scripts/install-deps.sh installs it)",
            );
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let rsa = |out: &str| {
            openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                out,
            ])
        };
        rsa(&path("k8.pem"));
        rsa(&path("other.pem"));
        openssl(&[
            "pkey",
            "-in",
            &path("k8.pem"),
            "-traditional",
            "-out",
            &path("k1.pem"),
        ]);
        openssl(&[
            "pkey",
            "-in",
            &path("k8.pem"),
            "-pubout",
            "-out",
            &path("pub.pem"),
        ]);
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &path("ec.pem"),
        ]);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let keys = Keys {
            pkcs8: read("k8.pem"),
            pkcs1: read("k1.pem"),
            public: read("pub.pem"),
            other_rsa: read("other.pem"),
            ec: read("ec.pem"),
        };
        assert!(keys.pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(keys.pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        for name in ["k8.pem", "k1.pem", "other.pem", "ec.pem"] {
            audit::input(&dir.path().join(name));
        }
        for line in keys.secret_lines() {
            audit::secret("private key line", &line);
        }
        keys
    })
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An RFC 6749 error: status, `error`, `error_description`.
    Error(u16, &'static str, &'static str),
    /// A bare failure status (500, 503, 429, ...) with a small JSON error body.
    Status(u16),
    /// A 200 whose body is `body` with a fresh `access_token` added.
    Success(Value),
    /// Read the request, then answer nothing until the server is dropped.
    Hang,
    /// A bare failure status (429, 503, ...) with a `Retry-After` header of this value.
    StatusRetryAfter(u16, &'static str),
    /// `status` with exactly this body (not necessarily JSON, and no `access_token` added).
    Raw(u16, &'static str),
    /// A 200 whose `Content-Length` promises more than the body it sends before closing.
    Truncated,
    /// Read the request, then close the connection without answering (an orderly FIN).
    Close,
    /// Read the request, then reset the connection (RST, through `SO_LINGER` 0).
    Reset,
}

/// What the server saw and did.
#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    expires_in: u64,
    fixed_token: Option<String>,
    requests: usize,
    jwts: Vec<String>,
    tokens: Vec<String>,
    rejections: Vec<String>,
    /// Seconds the `Date` header runs ahead of this machine's clock (negative: behind).
    clock_offset: i64,
}

/// The running server; stopped when dropped.
pub struct IamServer {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl IamServer {
    /// Starts a server that accepts JWTs for `service_account_id` / `public_key_id` signed by
    /// the test key, answering 12-hour tokens unless scripted otherwise.
    pub fn start(service_account_id: &str, public_key_id: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            expires_in: 12 * 3600,
            ..State::default()
        }));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let expect = Expect {
            service_account_id: service_account_id.to_string(),
            public_key_id: public_key_id.to_string(),
            public_key: DecodingKey::from_rsa_pem(keys().public.as_bytes()).unwrap(),
        };
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if *stop.0.lock().unwrap() {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &expect, &state, &stop);
                    }
                }
            })
        };
        Self {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `NEBIUS_AUTH_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers the next requests with `replies`, in order, then with tokens again.
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().cloned());
    }

    /// The `expires_in` of tokens answered from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.lock().unwrap().expires_in = seconds;
    }

    /// Answers `token` as the access token from now on (instead of a fresh unique one), so a
    /// test registry's htpasswd can be written for it before crlogin asks.
    pub fn set_token(&self, token: &str) {
        self.state.lock().unwrap().fixed_token = Some(token.to_string());
    }

    /// Makes every answer's `Date` header run `seconds` ahead of this machine's clock (negative:
    /// behind), as a server with a skewed clock would send it.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.state.lock().unwrap().clock_offset = seconds;
    }

    /// Requests received so far (each is one exchange attempt).
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// The access tokens handed out so far.
    pub fn tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.clone()
    }

    /// The JWTs received so far.
    pub fn jwts(&self) -> Vec<String> {
        self.state.lock().unwrap().jwts.clone()
    }

    /// Why requests were refused by the checks (not by the script).
    pub fn rejections(&self) -> Vec<String> {
        self.state.lock().unwrap().rejections.clone()
    }
}

impl Drop for IamServer {
    fn drop(&mut self) {
        if let Ok(st) = self.state.lock() {
            st.tokens
                .iter()
                .for_each(|t| audit::secret("access token", t));
            st.jwts
                .iter()
                .for_each(|j| audit::secret("exchange JWT", j));
        }
        *self.stop.0.lock().unwrap() = true;
        self.stop.1.notify_all();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    expect: &Expect,
    state: &Mutex<State>,
    stop: &Arc<(Mutex<bool>, Condvar)>,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = match read_request(&stream) {
        Ok(request) => request,
        Err(e) => {
            // The drop's wake-up connection sends nothing; anything else is a client bug.
            if !*stop.0.lock().unwrap() {
                state
                    .lock()
                    .unwrap()
                    .rejections
                    .push(format!("unreadable request: {e}"));
            }
            return;
        }
    };
    let mut st = state.lock().unwrap();
    st.requests += 1;
    let date = server_date(st.clock_offset);
    if let Some(jwt) = form_value(&request.body, "subject_token") {
        st.jwts.push(jwt);
    }
    let (status, body) = match check(&request, expect) {
        Err((status, error, description)) => {
            st.rejections.push(format!("{error}: {description}"));
            (
                status,
                json!({"error": error, "error_description": description}),
            )
        }
        Ok(()) => match st.script.pop_front() {
            Some(Reply::Hang) => {
                drop(st);
                let stop = stop.clone();
                // Held open (unanswered) until the server stops, bounded so no thread is leaked
                // for long should a test forget to drop it.
                std::thread::spawn(move || {
                    let _stream = stream;
                    let (flag, wake) = &*stop;
                    let guard = flag.lock().unwrap();
                    let _ = wake
                        .wait_timeout_while(guard, Duration::from_secs(120), |stopped| !*stopped);
                });
                return;
            }
            Some(
                reply @ (Reply::StatusRetryAfter(..)
                | Reply::Raw(..)
                | Reply::Truncated
                | Reply::Close
                | Reply::Reset),
            ) => {
                drop(st);
                misbehave(stream, &reply);
                return;
            }
            Some(Reply::Error(status, error, description)) => (
                status,
                json!({"error": error, "error_description": description}),
            ),
            Some(Reply::Status(status)) => (
                status,
                json!({"error": "temporarily_unavailable", "error_description": "scripted failure"}),
            ),
            Some(Reply::Success(mut body)) => {
                let token = st
                    .fixed_token
                    .clone()
                    .unwrap_or_else(|| new_token(st.tokens.len()));
                st.tokens.push(token.clone());
                body["access_token"] = json!(token);
                (200, body)
            }
            None => {
                let token = st
                    .fixed_token
                    .clone()
                    .unwrap_or_else(|| new_token(st.tokens.len()));
                st.tokens.push(token.clone());
                (
                    200,
                    json!({
                        "access_token": token,
                        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                        "token_type": "Bearer",
                        "expires_in": st.expires_in,
                    }),
                )
            }
        },
    };
    drop(st);
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nDate: {date}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// The `Date` header (RFC 9110 IMF-fixdate) of a server whose clock is `offset` seconds ahead.
fn server_date(offset: i64) -> String {
    let now = SystemTime::now();
    let shift = Duration::from_secs(offset.unsigned_abs());
    httpdate::fmt_http_date(if offset < 0 { now - shift } else { now + shift })
}

/// The scripted answers that break HTTP or the token response rather than refuse.
fn misbehave(mut stream: TcpStream, reply: &Reply) {
    let head = |status: u16, headers: &str, length: usize| {
        format!(
            "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n{headers}Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
    };
    let text = match *reply {
        Reply::StatusRetryAfter(status, after) => {
            let body = r#"{"error":"slow_down","error_description":"scripted throttling"}"#;
            head(status, &format!("Retry-After: {after}\r\n"), body.len()) + body
        }
        Reply::Raw(status, body) => head(status, "", body.len()) + body,
        Reply::Truncated => {
            audit::secret("truncated access token", TRUNCATED_TOKEN);
            let start = format!(r#"{{"access_token":"{TRUNCATED_TOKEN}","#);
            head(200, "", start.len() + 100) + &start
        }
        Reply::Close => String::new(),
        Reply::Reset => {
            // Dropping a socket with a zero linger time sends RST instead of FIN.
            let _ = tokio::net::TcpSocket::from_std_stream(stream).set_zero_linger();
            return;
        }
        _ => unreachable!("not a misbehaving reply: {reply:?}"),
    };
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
}

/// The start of an access token that [`Reply::Truncated`] sends before breaking off: crlogin
/// must not show it.
pub const TRUNCATED_TOKEN: &str = "v1.CrloginTruncatedTokenCanary";

/// A token that looks like a Nebius one and is unique across tests.
fn new_token(n: usize) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("v1.CrloginTestAccessToken{n}x{nanos:x}")
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(std::io::Error::other("no request line"));
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request {
        method,
        path,
        headers,
        body: String::from_utf8(body).map_err(std::io::Error::other)?,
    })
}

type Refusal = (u16, &'static str, String);

/// The real endpoint's checks: 400 for a malformed request, 401 for a JWT it does not accept.
fn check(request: &Request, expect: &Expect) -> Result<(), Refusal> {
    let bad = |what: String| Err((400, "invalid_request", what));
    if request.method != "POST" || request.path != "/oauth2/token/exchange" {
        return bad(format!(
            "{} {} is not the exchange",
            request.method, request.path
        ));
    }
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if header("content-type") != Some("application/x-www-form-urlencoded") {
        return bad(format!("content-type {:?}", header("content-type")));
    }
    if header("authorization").is_some() {
        return bad("an Authorization header was sent".into());
    }
    let mut fields: Vec<(String, String)> = request
        .body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    fields.sort();
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    if names
        != [
            "grant_type",
            "requested_token_type",
            "subject_token",
            "subject_token_type",
        ]
    {
        return bad(format!("form fields {names:?}"));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    for (name, want) in [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    ] {
        if field(name) != want {
            return bad(format!("{name} is {:?}", field(name)));
        }
    }
    key_jwt::check(field("subject_token"), expect).map_err(|why| (401, "invalid_grant", why))
}

/// The value of form field `name` in `body`, decoded.
fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(v))
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
