//! A Nebius service-account authorized key: parsed from the credentials JSON that
//! `nebius iam auth-public-key generate` writes, or from its parts; validated as the Nebius SDKs
//! validate it; and used to sign the short-lived JWT the token exchange takes.
//!
//! No error here ever shows a value from the key or the JSON, only which field is wrong.

use crate::ci::Ci;
use crate::secret::Secret;
use anyhow::{bail, Context, Result};
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// The `aud` of every JWT sent to the Nebius token exchange.
pub const AUDIENCE: &str = "token-service.iam.new.nebiuscloud.net";

/// How long a signed JWT is valid (the Nebius SDKs use one minute).
pub const JWT_LIFETIME: Duration = Duration::from_secs(60);

/// A validated authorized key, ready to sign.
pub struct AuthorizedKey {
    /// The service account (`serviceaccount-...`): the JWT's `iss` and `sub`.
    pub service_account_id: String,
    /// The public key's id (`publickey-...`): the JWT's `kid`.
    pub public_key_id: String,
    /// SHA-256 of the public key (DER), in hex: what binds a cached token to this very key.
    pub public_key_sha256: String,
    /// A profile's API domain (`endpoint:`), which may route the exchange to its gRPC token
    /// service (`key_exchange`).
    pub api_domain: Option<String>,
    key: EncodingKey,
}

impl fmt::Debug for AuthorizedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedKey")
            .field("service_account_id", &self.service_account_id)
            .field("public_key_id", &self.public_key_id)
            .field("key", &"***")
            .finish()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

impl AuthorizedKey {
    /// Parses the credentials JSON (`{"subject-credentials": {...}}`) read from `origin` (a
    /// variable or file name, for errors). Masks the private key with `ci` before anything else.
    pub fn from_json(text: &str, origin: &str, ci: &dyn Ci) -> Result<Self> {
        // Parsed into a Value first: serde_json's syntax errors name a line and column only,
        // while typed deserialising could quote a value in a type error.
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{origin} is not valid JSON (line {}, column {}): use the file `nebius iam auth-public-key generate --output key.json` wrote, unchanged",
                e.line(),
                e.column()
            )
        })?;
        let creds = doc
            .get("subject-credentials")
            .and_then(Value::as_object)
            .with_context(|| format!("{origin} has no \"subject-credentials\" object: use the file `nebius iam auth-public-key generate --output key.json` wrote"))?;
        let field = |name: &str| field(creds, name, origin);

        let private_key = field("private-key")?;
        if let Some(pem) = private_key {
            mask_pem(pem, ci);
        }
        match field("type")? {
            None | Some("JWT") => {}
            Some(other) => bail!(
                "{origin}: \"type\" is {}, not \"JWT\": Nebius authorized keys are JWT credentials",
                shown(other)
            ),
        }
        match field("alg")? {
            Some("RS256") => {}
            Some(other) => bail!(
                "{origin}: \"alg\" is {}, not \"RS256\": Nebius authorized keys are RS256; generate one with `nebius iam auth-public-key generate`",
                shown(other)
            ),
            None => bail!("{origin}: \"alg\" is missing: Nebius authorized keys have \"alg\": \"RS256\""),
        }
        let missing = |name: &str| {
            anyhow::anyhow!("{origin}: \"{name}\" is missing or empty: use the file `nebius iam auth-public-key generate` wrote")
        };
        let kid = field("kid")?.ok_or_else(|| missing("kid"))?;
        let iss = field("iss")?.ok_or_else(|| missing("iss"))?;
        let sub = field("sub")?.ok_or_else(|| missing("sub"))?;
        if iss != sub {
            bail!("{origin}: \"iss\" and \"sub\" differ: both must be the service account id");
        }
        let pem = private_key.ok_or_else(|| missing("private-key"))?;
        Self::build(
            sub,
            kid,
            pem,
            [
                &format!("{origin} \"sub\""),
                &format!("{origin} \"kid\""),
                &format!("{origin} \"private-key\""),
            ],
        )
    }

    /// Builds a key from its parts: service-account id, public-key id and a PEM private key
    /// (PKCS#1 or PKCS#8), each named in `origins` (in that order) for errors. Masks the private
    /// key with `ci` before anything else.
    pub fn from_parts(
        service_account_id: &str,
        public_key_id: &str,
        private_key: &str,
        origins: [&str; 3],
        ci: &dyn Ci,
    ) -> Result<Self> {
        mask_pem(private_key, ci);
        Self::build(service_account_id, public_key_id, private_key, origins)
    }

    fn build(
        service_account_id: &str,
        public_key_id: &str,
        pem: &str,
        [sa_origin, kid_origin, key_origin]: [&str; 3],
    ) -> Result<Self> {
        check_id(service_account_id, sa_origin)?;
        check_id(public_key_id, kid_origin)?;
        let pem = normalise_pem(pem);
        let (key, public_key_sha256) = parse_rsa_pem(&pem, key_origin)?;
        Ok(Self {
            service_account_id: service_account_id.to_string(),
            public_key_id: public_key_id.to_string(),
            public_key_sha256,
            api_domain: None,
            key,
        })
    }

    /// Signs the exchange JWT: header `alg` RS256, `kid`, `typ` JWT; claims `iss` = `sub` =
    /// the service account, `aud`, `iat` = `now`, `exp` = `now` + 60 s. Masks it with `ci`.
    pub fn sign_jwt(&self, now: SystemTime, ci: &dyn Ci) -> Result<Secret> {
        let iat = now
            .duration_since(UNIX_EPOCH)
            .context("the system clock is before 1970: fix the clock")?
            .as_secs();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.public_key_id.clone());
        let claims = Claims {
            iss: &self.service_account_id,
            sub: &self.service_account_id,
            aud: AUDIENCE,
            iat,
            exp: iat + JWT_LIFETIME.as_secs(),
        };
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|_| {
            anyhow::anyhow!("cannot sign with the private key: check that it is an RSA key")
        })?;
        let jwt = Secret::new(jwt);
        ci.mask(jwt.expose());
        Ok(jwt)
    }
}

/// An optional string field: absent or empty is `None`; any other non-string is an error.
fn field<'a>(creds: &'a Map<String, Value>, name: &str, origin: &str) -> Result<Option<&'a str>> {
    match creds.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => bail!("{origin}: \"{name}\" is not a string: use the file `nebius iam auth-public-key generate` wrote"),
    }
}

/// Ids go into a JWT and a cache file name's hash: one short line without spaces.
fn check_id(id: &str, origin: &str) -> Result<()> {
    if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("{origin} is empty, too long or contains spaces: check its value");
    }
    Ok(())
}

/// A value safe to quote in an error: a short token such as an algorithm name. Anything else
/// (it could be key material put in the wrong field) is described, not shown.
pub(crate) fn shown(value: &str) -> String {
    if value.len() <= 16
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        format!("{value:?}")
    } else {
        "something else".to_string()
    }
}

/// Masks the base64 body of a PEM block (its `-----BEGIN/END-----` lines are no secret, and
/// masking them would hide them in every log).
fn mask_pem(pem: &str, ci: &dyn Ci) {
    let pem = normalise_pem(pem);
    let body: Zeroizing<String> = Zeroizing::new(
        pem.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    if !body.is_empty() {
        ci.mask(&body);
    }
}

/// A PEM pasted into a one-line variable often has literal `\n` for its line breaks.
fn normalise_pem(pem: &str) -> Zeroizing<String> {
    if !pem.contains('\n') && pem.contains("\\n") {
        Zeroizing::new(pem.replace("\\n", "\n"))
    } else {
        Zeroizing::new(pem.to_string())
    }
}

/// Whether `text` looks like a PEM block rather than a file path.
pub fn looks_like_pem(text: &str) -> bool {
    text.contains("-----BEGIN")
}

/// Parses an unencrypted RSA private key in PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8
/// `PRIVATE KEY`) and checks it as the signer will load it: aws-lc parses the DER and checks the
/// RSA key's consistency and size. It signs nothing: a process's first RSA signature costs tens
/// of milliseconds, which a run that finds its token in the cache must not pay. Returns the key
/// and the SHA-256 (hex) of its public key.
fn parse_rsa_pem(pem: &str, origin: &str) -> Result<(EncodingKey, String)> {
    let kind = pem
        .lines()
        .find_map(|l| l.trim().strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"));
    match kind {
        None => bail!("{origin} is not a PEM private key: give the PEM text (-----BEGIN PRIVATE KEY-----...) or the path of a file holding it"),
        Some("RSA PRIVATE KEY" | "PRIVATE KEY") => {}
        Some("ENCRYPTED PRIVATE KEY") => bail!("{origin} is encrypted: give the unencrypted key the nebius CLI generated"),
        Some("EC PRIVATE KEY" | "OPENSSH PRIVATE KEY" | "DSA PRIVATE KEY") => {
            bail!("{origin} is not an RSA key: Nebius authorized keys are RSA (RS256)")
        }
        Some(_) => bail!("{origin} is not a private key: give an RSA private key in PEM (PKCS#1 or PKCS#8)"),
    }
    let Ok(key) = EncodingKey::from_rsa_pem(pem.as_bytes()) else {
        if EncodingKey::from_ec_pem(pem.as_bytes()).is_ok()
            || EncodingKey::from_ed_pem(pem.as_bytes()).is_ok()
        {
            bail!("{origin} is not an RSA key: Nebius authorized keys are RSA (RS256)");
        }
        bail!("{origin} is not a readable RSA private key (PKCS#1 or PKCS#8 PEM): check that it was copied whole");
    };
    // The PEM parser checks the outer structure only; this is the parse signing starts with
    // (the key as PKCS#1 DER), which also checks the RSA numbers themselves.
    let pair = RsaKeyPair::from_der(key.as_bytes()).map_err(|_| {
        anyhow::anyhow!("{origin} is not a usable RSA private key: check that it was copied whole")
    })?;
    let public = sha2::Sha256::digest(pair.public_key().as_ref());
    Ok((key, public.iter().map(|b| format!("{b:02x}")).collect()))
}

#[cfg(test)]
impl AuthorizedKey {
    /// A key generated now, for tests that need a real one.
    pub(crate) fn generated(service_account_id: &str, public_key_id: &str) -> Self {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::KeySize;
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pem = tests::pkcs8_pem(pair.as_der().unwrap().as_ref());
        let (key, public_key_sha256) = parse_rsa_pem(&pem, "test key").unwrap();
        Self {
            service_account_id: service_account_id.to_string(),
            public_key_id: public_key_id.to_string(),
            public_key_sha256,
            api_domain: None,
            key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::detect;
    use crate::env::Env;

    fn parse(json: &str) -> String {
        let ci = detect(&Env::default());
        AuthorizedKey::from_json(json, "NEBIUS_SA_CREDENTIALS", ci.as_ref())
            .unwrap_err()
            .to_string()
    }

    fn creds(fields: &str) -> String {
        format!(r#"{{"subject-credentials": {{{fields}}}}}"#)
    }

    const OK: &str = r#""type":"JWT","alg":"RS256","kid":"publickey-1","iss":"serviceaccount-1","sub":"serviceaccount-1""#;

    #[test]
    fn json_errors_name_the_field_and_never_the_value() {
        let secretish = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        let err = parse(&format!(
            "{{\"subject-credentials\": {{\"private-key\": \"{secretish}\",}}"
        ));
        assert!(err.contains("is not valid JSON (line 1"), "{err}");
        let err = parse(&creds(&format!(
            r#""type":"JWT","alg":"{secretish}","private-key":"x""#
        )));
        assert!(
            err.contains("\"alg\" is something else, not \"RS256\""),
            "{err}"
        );
        assert!(!err.contains(secretish), "{err}");
        let err = parse(&creds(&OK.replace("RS256", "HS256")));
        assert!(err.contains("\"alg\" is \"HS256\""), "{err}");
        let err = parse(&creds(&OK.replace("\"JWT\"", "\"OIDC\"")));
        assert!(err.contains("\"type\" is \"OIDC\", not \"JWT\""), "{err}");
        let err = parse(&creds(&OK.replace(
            "\"sub\":\"serviceaccount-1\"",
            "\"sub\":\"serviceaccount-2\"",
        )));
        assert!(err.contains("\"iss\" and \"sub\" differ"), "{err}");
        let err = parse(&creds(OK));
        assert!(err.contains("\"private-key\" is missing"), "{err}");
        let err = parse(r#"{"kid": 1}"#);
        assert!(err.contains("no \"subject-credentials\" object"), "{err}");
        let err = parse(&creds(&format!(r#"{OK},"private-key": 7"#)));
        assert!(err.contains("\"private-key\" is not a string"), "{err}");
    }

    #[test]
    fn key_errors_say_what_is_wrong() {
        let err = |pem: &str| parse_rsa_pem(pem, "K").unwrap_err().to_string();
        assert!(err("not a pem").contains("is not a PEM private key"));
        assert!(
            err("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .contains("is not an RSA key")
        );
        assert!(
            err("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .contains("is not a readable RSA private key")
        );
        assert!(err(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"
        )
        .contains("is encrypted"));
    }

    /// A PKCS#8 PEM of `der`, 64 base64 characters a line.
    pub(super) fn pkcs8_pem(der: &[u8]) -> String {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    /// Parsing signs nothing, so it must still refuse a key whose DER is well formed but whose
    /// RSA numbers do not fit together (a corrupted copy), before any exchange is tried.
    #[test]
    fn a_well_formed_but_inconsistent_key_is_refused_at_parse_time() {
        use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
        use aws_lc_rs::rsa::KeySize;
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let der: Pkcs8V1Der = pair.as_der().unwrap();
        let mut der = der.as_ref().to_vec();
        assert!(parse_rsa_pem(&pkcs8_pem(&der), "K").is_ok());
        // The last byte is inside the last INTEGER (the CRT coefficient): the DER stays valid.
        *der.last_mut().unwrap() ^= 1;
        let err = parse_rsa_pem(&pkcs8_pem(&der), "K")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("K is not a usable RSA private key: check that it was copied whole"),
            "{err}"
        );
    }

    #[test]
    fn escaped_newlines_are_restored() {
        assert_eq!(
            normalise_pem("-----BEGIN X-----\\nAAAA\\n-----END X-----").as_str(),
            "-----BEGIN X-----\nAAAA\n-----END X-----"
        );
        assert_eq!(normalise_pem("a\nb\\nc").as_str(), "a\nb\\nc");
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("serviceaccount-e00abc", "X").is_ok());
        assert!(check_id("service account", "X").is_err());
        assert!(check_id("", "X").is_err());
    }
}
