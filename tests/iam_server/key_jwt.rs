//! What Nebius IAM checks of a service-account key's exchange JWT, shared by the HTTP stand-in
//! (`iam_server`) and the gRPC one (`iam_grpc`): RS256 with the key's `kid` and `typ` JWT,
//! `iss` == `sub` == the service account, the audience (a string), at most 60 s of life, not
//! expired, no `jti`. Signature checked against the registered public key.
#![allow(dead_code)]

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// The audience every exchange JWT must carry.
pub const AUDIENCE: &str = "token-service.iam.new.nebiuscloud.net";

/// A registered key: whose it is, its id, its public half.
pub struct Expect {
    /// The service account (`iss`, `sub`).
    pub service_account_id: String,
    /// The public key id (`kid`).
    pub public_key_id: String,
    /// The public key the signature is checked with.
    pub public_key: DecodingKey,
}

/// Why `jwt` is refused, if it is.
pub fn check(jwt: &str, expect: &Expect) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("JWT header: {e}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!("alg {:?}", header.alg));
    }
    if header.kid.as_deref() != Some(expect.public_key_id.as_str()) {
        return Err(format!("kid {:?}", header.kid));
    }
    if header.typ.as_deref() != Some("JWT") {
        return Err(format!("typ {:?}", header.typ));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[expect.service_account_id.as_str()]);
    validation.sub = Some(expect.service_account_id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &expect.public_key, &validation)
        .map_err(|e| format!("JWT rejected: {e}"))?
        .claims;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
        return Err("iat or exp missing".into());
    };
    if claims["iss"] != claims["sub"] {
        return Err("iss != sub".into());
    }
    if !claims["aud"].is_string() {
        return Err("aud is not a string".into());
    }
    if exp <= iat || exp - iat > 60 {
        return Err(format!("lifetime {} s", exp as i64 - iat as i64));
    }
    if iat > now + 5 || exp <= now {
        return Err("iat in the future or expired".into());
    }
    if claims.get("jti").is_some() {
        return Err("jti was sent".into());
    }
    Ok(())
}
