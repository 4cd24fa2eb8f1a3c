//! A loopback stand-in for a Nebius VM's metadata service: `GET /v1/iam/sa/token` answers
//! `{"access_token", "expires_at"}` (RFC 3339), and, like the real service, only to a request
//! that carries `Metadata: true` (anything else is 400). Answers can be scripted (statuses, a
//! huge body, a raw body); every request is counted, and every token it hands out is a canary
//! registered with the leak audit.
#![allow(dead_code)]

// The leak-audit hooks, by path, as tests/iam_server has them.
#[allow(clippy::duplicate_mod)]
#[path = "../harness/audit.rs"]
mod audit;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The path the service answers on.
pub const PATH: &str = "/v1/iam/sa/token";

/// One scripted answer; when the script is empty the server answers [`Reply::Token`].
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// 200 with the token and an `expires_at` this far ahead.
    Token,
    /// This status with a small JSON error body.
    Status(u16),
    /// 200 with a body of this many bytes (a JSON string of padding around the token).
    Huge(usize),
    /// 200 with the token and this `expires_at` text.
    ExpiresAt(&'static str),
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    requests: usize,
    refused: usize,
}

/// The running server; stopped when dropped.
pub struct MetadataServer {
    addr: SocketAddr,
    token: String,
    lifetime: Duration,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetadataServer {
    /// A server on a free port of 127.0.0.1.
    pub fn start(token: &str) -> Self {
        Self::start_on("127.0.0.1:0", token)
    }

    /// A server on `addr` (e.g. `127.77.0.1:80` for the default URL), handing out `token`
    /// with one hour of life.
    pub fn start_on(addr: &str, token: &str) -> Self {
        audit::secret("metadata access token", token);
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let lifetime = Duration::from_secs(3600);
        let thread = {
            let (state, stop, token) = (state.clone(), stop.clone(), token.to_string());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &state, &token, lifetime);
                    }
                }
            })
        };
        MetadataServer {
            addr,
            token: token.to_string(),
            lifetime,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The token endpoint's URL.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// Answers these, in order, before the default token answers.
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().cloned());
    }

    /// Requests answered with a token or a scripted reply.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// Requests refused for lacking `Metadata: true` or asking for another path.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// The token's lifetime from each answer.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

impl Drop for MetadataServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, token: &str, lifetime: Duration) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push(line.trim_end().to_string()),
        }
        if head.len() > 100 {
            return;
        }
    }
    let request_line = head.first().cloned().unwrap_or_default();
    let has_header = head
        .iter()
        .any(|h| h.eq_ignore_ascii_case("metadata: true"));
    if request_line != format!("GET {PATH} HTTP/1.1") || !has_header {
        state.lock().unwrap().refused += 1;
        respond(&mut stream, 400, r#"{"error":"bad request"}"#);
        return;
    }
    let reply = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        state.script.pop_front().unwrap_or(Reply::Token)
    };
    let expires = humantime::format_rfc3339_seconds(SystemTime::now() + lifetime).to_string();
    let body = |expires_at: &str| {
        serde_json::json!({"access_token": token, "expires_at": expires_at}).to_string()
    };
    match reply {
        Reply::Token => respond(&mut stream, 200, &body(&expires)),
        Reply::Status(status) => respond(&mut stream, status, r#"{"error":"scripted"}"#),
        Reply::Huge(size) => {
            let pad = "x".repeat(size);
            let text =
                serde_json::json!({"access_token": token, "expires_at": expires, "pad": pad});
            respond(&mut stream, 200, &text.to_string())
        }
        Reply::ExpiresAt(text) => respond(&mut stream, 200, &body(text)),
    }
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}
