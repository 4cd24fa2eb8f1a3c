//! The certificate authorities every TLS connection trusts, the HTTP client built on them, and
//! the bound on what crlogin reads of an answer.
//!
//! crlogin ships as one static binary that must work on a runner image with a full CA store, in a
//! distroless or scratch container with none, and behind a corporate proxy with its own CA. So it
//! trusts the union of three sets: Mozilla's roots bundled into the binary (public registries and
//! Nebius work anywhere), the system store, and `SSL_CERT_FILE`/`SSL_CERT_DIR` (which replace the
//! system store, as in OpenSSL, while the bundled roots stay).

use rustls_pki_types::CertificateDer;
use std::sync::OnceLock;

/// The User-Agent header of every request crlogin makes.
pub const USER_AGENT: &str = concat!("crlogin/", env!("CARGO_PKG_VERSION"));

/// The bundled roots followed by the system's (or `SSL_CERT_FILE`/`SSL_CERT_DIR`'s), read once
/// per process however many clients are built (a login with `--verify` builds two). A system
/// store that is missing or partly unreadable is not an error: the bundled roots still apply.
pub fn root_certificates() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
        roots.extend(rustls_native_certs::load_native_certs().certs);
        roots
    })
}

/// A reqwest client builder with crlogin's user agent, trusting [`root_certificates`], using
/// the proxies the environment names as the docker CLI does ([`crate::proxy`]): never for a
/// loopback host, and not for the hosts `NO_PROXY` names.
pub fn http_client() -> anyhow::Result<reqwest::ClientBuilder> {
    let roots = root_certificates()
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    let proxies = crate::proxy::Proxies::from_process_env()?;
    Ok(reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .tls_certs_only(roots)
        .no_proxy()
        .proxy(reqwest::Proxy::custom(move |url| proxies.for_url(url))))
}

/// The most crlogin reads of any HTTP answer it parses (a token, a JSON document): none it
/// expects comes near, and a bigger one is never held in memory whole.
pub const MAX_ANSWER: usize = 64 * 1024;

/// `response`'s body when it is at most [`MAX_ANSWER`] bytes; `None` (having read no more than
/// that and one chunk) when the server sends more.
pub async fn answer_within_limit(
    mut response: reqwest::Response,
) -> reqwest::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let mut body = zeroize::Zeroizing::new(Vec::new());
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The gRPC (tonic) TLS settings trusting [`root_certificates`]. Certificates that are not
/// usable as trust anchors are skipped, as the system store's loader does.
pub fn grpc_tls_config() -> tonic::transport::ClientTlsConfig {
    let anchors = root_certificates()
        .iter()
        .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok())
        .map(|anchor| anchor.to_owned())
        .collect::<Vec<_>>();
    tonic::transport::ClientTlsConfig::new().trust_anchors(anchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_come_first_and_are_usable_anchors() {
        let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        let roots = root_certificates();
        assert!(bundled.len() > 100, "{} bundled roots", bundled.len());
        assert_eq!(&roots[..bundled.len()], bundled);
        for der in bundled {
            webpki::anchor_from_trusted_cert(der).expect("a bundled root is a trust anchor");
        }
    }

    #[test]
    fn clients_build() {
        http_client().unwrap().build().unwrap();
        let _ = grpc_tls_config();
    }
}
