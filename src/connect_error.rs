//! Why a connection failed, read off an error's chain of sources, so that `--verify` and
//! `doctor` tell a refused port, a timeout, DNS and TLS apart the same way.

use std::error::Error;

/// Why a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (an untrusted certificate, plain HTTP on the port, ...).
    Tls,
    /// Nothing listens on the host and port.
    Refused,
    /// No answer in time.
    Timeout,
    /// Anything else.
    Other,
}

/// The cause of a connection error and its innermost message, from its chain of sources.
pub fn cause(e: &(dyn Error + 'static)) -> (Cause, String) {
    let mut texts: Vec<String> = Vec::new();
    let mut io_cause = None;
    let mut next = Some(e);
    while let Some(err) = next {
        if err
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
        {
            io_cause = Some(Cause::Timeout);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => io_cause = Some(Cause::Refused),
                std::io::ErrorKind::TimedOut => io_cause = Some(Cause::Timeout),
                _ => {}
            }
        }
        texts.push(crate::ci::one_line(&err.to_string()));
        next = err.source();
    }
    let all = texts.join(": ").to_ascii_lowercase();
    let cause = if [
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no address associated",
    ]
    .iter()
    .any(|m| all.contains(m))
    {
        Cause::Dns
    } else if [
        "certificate",
        "tls",
        "handshake",
        "invalidcontenttype",
        "corrupt message",
        "received fatal alert",
    ]
    .iter()
    .any(|m| all.contains(m))
    {
        Cause::Tls
    } else {
        io_cause.unwrap_or(Cause::Other)
    };
    (cause, texts.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_told_apart() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(cause(&refused).0, Cause::Refused);
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(cause(&timed_out).0, Cause::Timeout);
        let dns = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(cause(&dns).0, Cause::Dns);
        let tls = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        assert_eq!(
            cause(&tls),
            (
                Cause::Tls,
                "invalid peer certificate: UnknownIssuer".to_string()
            )
        );
        assert_eq!(cause(&std::io::Error::other("reset")).0, Cause::Other);
    }
}
