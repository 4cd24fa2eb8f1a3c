//! Reads the log of `strace -f -qq -y -e signal=none -e trace=execve,clone,...,openat,mkdir,...`:
//! every program started with its argv, who started whom, and every path opened for writing,
//! created or renamed to.

use std::collections::HashMap;
use std::path::PathBuf;

/// One `execve` call (tried or done).
pub struct Exec {
    /// The calling process.
    pub pid: u32,
    /// The program's path.
    pub path: String,
    /// Its arguments, raw bytes.
    pub argv: Vec<Vec<u8>>,
}

/// What the log says.
#[derive(Default)]
pub struct Trace {
    /// Every execve, in log order.
    pub execs: Vec<Exec>,
    /// Child (process or thread) to the thread that cloned it.
    pub parent: HashMap<u32, u32>,
    /// Absolute paths opened for writing, created, or renamed to, in log order.
    pub written: Vec<PathBuf>,
    /// Absolute paths of directories created.
    pub mkdirs: Vec<PathBuf>,
    /// Lines whose strings strace cut short (`-s` too small).
    pub truncated: usize,
}

impl Trace {
    /// Parses a whole log.
    pub fn parse(log: &str) -> Trace {
        let mut trace = Trace::default();
        for line in log.lines() {
            trace.line(line);
        }
        trace
    }

    /// The program `pid` runs: its last execve, else its parent's (threads and forks run their
    /// creator's program until they exec).
    pub fn program(&self, pid: u32) -> Option<&str> {
        let mut pid = pid;
        for _ in 0..10_000 {
            if let Some(exec) = self.execs.iter().rev().find(|e| e.pid == pid) {
                return Some(&exec.path);
            }
            pid = *self.parent.get(&pid)?;
        }
        None
    }

    fn line(&mut self, line: &str) {
        let Some((pid, call)) = line.split_once(' ') else {
            return;
        };
        let Ok(pid) = pid.parse::<u32>() else { return };
        let call = call.trim_start();
        if let Some(resumed) = call.strip_prefix("<... ") {
            let name = resumed.split(' ').next().unwrap_or("");
            self.clone_result(pid, name, resumed);
            return;
        }
        let Some((name, rest)) = call.split_once('(') else {
            return;
        };
        let (args, truncated) = parse_args(rest);
        if truncated {
            self.truncated += 1;
        }
        match name {
            "execve" | "execveat" => {
                let strings: Vec<&Arg> = args.iter().filter(|a| !matches!(a, Arg::Fd(_))).collect();
                if let (Some(Arg::Str(path)), Some(Arg::List(argv))) =
                    (strings.first(), strings.get(1))
                {
                    let argv = argv
                        .iter()
                        .filter_map(|a| match a {
                            Arg::Str(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect();
                    self.execs.push(Exec {
                        pid,
                        path: String::from_utf8_lossy(path).into_owned(),
                        argv,
                    });
                }
            }
            "clone" | "clone3" | "fork" | "vfork" => self.clone_result(pid, name, call),
            "open" | "openat" | "creat" => {
                let writes = name == "creat"
                    || args.iter().any(|a| {
                        matches!(a, Arg::Word(w) if ["O_WRONLY", "O_RDWR", "O_CREAT"]
                            .iter()
                            .any(|flag| w.split('|').any(|f| f == *flag)))
                    });
                if writes {
                    self.written.extend(paths(&args).into_iter().take(1));
                }
            }
            "mkdir" | "mkdirat" => self.mkdirs.extend(paths(&args).into_iter().take(1)),
            "rename" | "renameat" | "renameat2" => {
                self.written.extend(paths(&args).into_iter().nth(1));
            }
            _ => {}
        }
    }

    /// Records `= CHILD` at the end of a clone-family line (whole or resumed).
    fn clone_result(&mut self, pid: u32, name: &str, line: &str) {
        let name = name.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        if !["clone", "clone3", "fork", "vfork"].contains(&name) {
            return;
        }
        if let Some((_, result)) = line.rsplit_once(" = ") {
            if let Ok(child) = result.trim().parse::<u32>() {
                self.parent.insert(child, pid);
            }
        }
    }
}

/// One argument as strace prints it.
enum Arg {
    /// A quoted C string, unescaped.
    Str(Vec<u8>),
    /// A file descriptor with its path (`-y`: `3</dir>`, `AT_FDCWD</cwd>`); None for a bare
    /// `AT_FDCWD`.
    Fd(Option<PathBuf>),
    /// `[...]`.
    List(Vec<Arg>),
    /// Anything else (flags, numbers, structs), as printed.
    Word(String),
}

/// The absolute paths among `args`: each string, joined to the directory fd before it.
fn paths(args: &[Arg]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut base: Option<PathBuf> = None;
    for arg in args {
        match arg {
            Arg::Fd(dir) => base = dir.clone(),
            Arg::Str(s) => {
                let path = PathBuf::from(String::from_utf8_lossy(s).into_owned());
                let path = match (&base, path.is_absolute()) {
                    (_, true) => Some(path),
                    (Some(dir), false) => Some(dir.join(path)),
                    (None, false) => None,
                };
                out.extend(path);
                base = None;
            }
            _ => {}
        }
    }
    out
}

/// Parses the arguments after `name(` up to the closing parenthesis or `<unfinished ...>`;
/// also says whether a string was cut short.
fn parse_args(text: &str) -> (Vec<Arg>, bool) {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
        truncated: false,
    };
    let args = parser.list(b')');
    (args, parser.truncated)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    truncated: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Items separated by ", " up to `close` (consumed) or the end.
    fn list(&mut self, close: u8) -> Vec<Arg> {
        let mut items = Vec::new();
        loop {
            while self.peek() == Some(b' ') || self.peek() == Some(b',') {
                self.at += 1;
            }
            match self.peek() {
                None => return items,
                Some(c) if c == close => {
                    self.at += 1;
                    return items;
                }
                Some(b'<') => return items, // "<unfinished ...>"
                Some(b'"') => items.push(Arg::Str(self.string())),
                Some(b'[') => {
                    self.at += 1;
                    items.push(Arg::List(self.list(b']')));
                }
                Some(_) => items.push(self.word(close)),
            }
        }
    }

    /// A word up to ", " or `close` at depth 0; `N<path>` or `AT_FDCWD<path>` is a descriptor.
    fn word(&mut self, close: u8) -> Arg {
        let start = self.at;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' if depth > 0 => depth -= 1,
                b'"' => {
                    self.string();
                    continue;
                }
                b'<' if depth == 0 && self.at > start => {
                    let fd = &self.bytes[start..self.at];
                    if fd.iter().all(u8::is_ascii_digit) || fd == b"AT_FDCWD" {
                        self.at += 1;
                        let path_start = self.at;
                        while self.peek().is_some_and(|c| c != b'>') {
                            self.at += 1;
                        }
                        let path = String::from_utf8_lossy(&self.bytes[path_start..self.at]);
                        self.at += 1;
                        return Arg::Fd(Some(PathBuf::from(path.into_owned())));
                    }
                }
                _ if depth == 0 && (c == close || c == b',') => break,
                _ => {}
            }
            self.at += 1;
        }
        let word = String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned();
        if word == "AT_FDCWD" {
            Arg::Fd(None)
        } else {
            Arg::Word(word)
        }
    }

    /// A C string as strace quotes it; notes a trailing "..." (cut short).
    fn string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.at += 1; // the opening quote
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => out.push(self.escape()),
                _ => out.push(c),
            }
        }
        if self.bytes[self.at..].starts_with(b"...") {
            self.truncated = true;
            self.at += 3;
        }
        out
    }

    fn escape(&mut self) -> u8 {
        let Some(c) = self.peek() else { return b'\\' };
        self.at += 1;
        match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'v' => 0x0b,
            b'f' => 0x0c,
            b'a' => 0x07,
            b'b' => 0x08,
            b'x' => {
                let hex = self.take_while(2, u8::is_ascii_hexdigit);
                u8::from_str_radix(&hex, 16).unwrap_or(b'?')
            }
            b'0'..=b'7' => {
                self.at -= 1;
                let octal = self.take_while(3, |c| (b'0'..=b'7').contains(c));
                u8::from_str_radix(&octal, 8).unwrap_or(b'?')
            }
            other => other, // \\ \" \'
        }
    }

    fn take_while(&mut self, max: usize, ok: impl Fn(&u8) -> bool) -> String {
        let start = self.at;
        while self.at - start < max && self.peek().is_some_and(|c| ok(&c)) {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned()
    }
}
