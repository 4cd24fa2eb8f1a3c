//! The Nebius credentials JSON (`NEBIUS_SA_CREDENTIALS`, or a file): structured documents with
//! each field valid, missing, of the wrong type or holding key material, then damaged, and
//! arbitrary text. A valid document gives a key that signs a JWT the public key verifies; any
//! other gives an error that shows no key material; the private key is masked before anything.

use super::{config, damage, json_object, json_value, Damage, Recorder};
use crate::auth::authorized_key::{AuthorizedKey, AUDIENCE};
use crate::auth::{find_nebius, AuthSource, Choice, NebiusInput};
use crate::env::Env;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The service account of the valid documents.
pub const SA: &str = "serviceaccount-e00propcanary";
/// The public key id of the valid documents.
pub const KID: &str = "publickey-e00propcanary";
/// Key material put where it does not belong; no error may show it.
pub const KEY_CANARY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwPropCanaryKeyMaterial";

/// An RSA key made once per test run: its PKCS#8 PEM and its public key (PKCS#1 DER).
pub struct TestKey {
    /// The private key, PKCS#8 PEM.
    pub pem: String,
    /// The public key, PKCS#1 DER.
    pub public_der: Vec<u8>,
}

/// The test key, made on first use.
pub fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = STANDARD.encode(pair.as_der().unwrap().as_ref());
        let lines: Vec<&str> = der
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        TestKey {
            pem: format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                lines.join("\n")
            ),
            public_der: pair.public_key().as_ref().to_vec(),
        }
    })
}

/// The base64 lines of a PEM, the secret part.
pub fn body_lines(pem: &str) -> Vec<&str> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect()
}

/// Whether `message` shows any key material the generators use.
pub fn shows_key_material(message: &str) -> Option<String> {
    let key = test_key();
    let first = &body_lines(&key.pem)[0][..24];
    [KEY_CANARY, first]
        .into_iter()
        .chain(body_lines(&key.pem))
        .find(|m| message.contains(m))
        .map(str::to_string)
}

/// One string field of `subject-credentials`.
#[derive(Debug, Clone)]
enum Pick {
    Valid,
    Absent,
    Null,
    Blank,
    Canary,
    Other(Value),
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        12 => Just(Pick::Valid),
        1 => Just(Pick::Absent),
        1 => Just(Pick::Null),
        1 => Just(Pick::Blank),
        1 => Just(Pick::Canary),
        1 => json_value(2).prop_map(Pick::Other),
    ]
}

impl Pick {
    fn value(&self, valid: &str) -> Option<Value> {
        match self {
            Pick::Valid => Some(json!(valid)),
            Pick::Absent => None,
            Pick::Null => Some(Value::Null),
            Pick::Blank => Some(json!(" \t")),
            Pick::Canary => Some(json!(KEY_CANARY)),
            Pick::Other(v) => Some(v.clone()),
        }
    }

    /// Whether the field as picked is the valid value (`optional`: or left out).
    fn accepted(&self, valid: &str, optional: bool) -> bool {
        match self.value(valid) {
            None | Some(Value::Null) => optional,
            Some(Value::String(s)) if s.trim().is_empty() => optional,
            Some(v) => v == json!(valid),
        }
    }

    /// The id the field gives when it is one: one short line without spaces.
    fn id(&self, valid: &str) -> Option<String> {
        match self.value(valid)? {
            Value::String(s)
                if !s.is_empty()
                    && s.len() <= 256
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Some(s)
            }
            _ => None,
        }
    }
}

/// The `private-key` field.
#[derive(Debug, Clone)]
enum KeyPick {
    /// The test key's PEM, as written, in one line with `\n` escapes, with CRLF line ends, or
    /// padded with blank lines.
    Pem(u8),
    /// The test key's PEM, damaged.
    Damaged(Damage),
    /// A PEM block of `KEY_CANARY`, with this header.
    FakePem(&'static str),
    /// One of the plain [`Pick`]s.
    Field(Pick),
}

fn key_pick() -> impl Strategy<Value = KeyPick> {
    prop_oneof![
        8 => (0u8..4).prop_map(KeyPick::Pem),
        2 => damage().prop_map(KeyPick::Damaged),
        2 => prop::sample::select(vec!["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "CERTIFICATE"])
            .prop_map(KeyPick::FakePem),
        2 => pick().prop_map(KeyPick::Field),
    ]
}

impl KeyPick {
    fn value(&self) -> Option<Value> {
        let pem = &test_key().pem;
        match self {
            KeyPick::Pem(0) => Some(json!(pem)),
            KeyPick::Pem(1) => Some(json!(pem.trim_end().replace('\n', "\\n"))),
            KeyPick::Pem(2) => Some(json!(pem.replace('\n', "\r\n"))),
            KeyPick::Pem(_) => Some(json!(format!("\n\n{pem}\n\n"))),
            KeyPick::Damaged(d) => Some(json!(d.apply_str(pem))),
            KeyPick::FakePem(kind) => Some(json!(format!(
                "-----BEGIN {kind}-----\n{KEY_CANARY}\n-----END {kind}-----\n"
            ))),
            KeyPick::Field(pick) => pick.value(pem),
        }
    }

    /// Ok(true): a usable key; Ok(false): not one; Err: cannot tell (a damage may be harmless).
    fn accepted(&self) -> Option<bool> {
        match self {
            KeyPick::Pem(_) => Some(true),
            KeyPick::Damaged(Damage::None) => Some(true),
            KeyPick::Damaged(_) => None,
            KeyPick::FakePem(_) => Some(false),
            KeyPick::Field(pick) => Some(pick.accepted(&test_key().pem, false)),
        }
    }

    /// The key material that must have been masked, when the field is a string.
    fn must_mask(&self) -> Vec<String> {
        match self {
            KeyPick::Pem(_) => body_lines(&test_key().pem)
                .into_iter()
                .map(str::to_string)
                .collect(),
            KeyPick::FakePem(_) | KeyPick::Field(Pick::Canary) => vec![KEY_CANARY.to_string()],
            _ => Vec::new(),
        }
    }
}

/// A credentials document and what parsing it must give.
#[derive(Debug, Clone)]
struct Case {
    text: String,
    /// Some(true): a key; Some(false): an error; None: either.
    expect_ok: Option<bool>,
    /// Key material the parser must have masked.
    must_mask: Vec<String>,
    /// The service account and public key ids of a valid document.
    ids: Option<(String, String)>,
}

prop_compose! {
    fn structured()(
        fields in [pick(), pick(), pick(), pick(), pick()],
        key in key_pick(),
        extra in json_object(1),
        top_extra in json_object(1),
        wrap in prop_oneof![8 => Just(None), 1 => json_value(2).prop_map(Some)],
        pretty in any::<bool>(),
        damage in damage(),
    ) -> Case {
        let [kind, alg, kid, iss, sub] = fields;
        let mut creds: Map<String, Value> = extra;
        for (name, pick, valid) in [("type", &kind, "JWT"), ("alg", &alg, "RS256"), ("kid", &kid, KID), ("iss", &iss, SA), ("sub", &sub, SA)] {
            creds.remove(name);
            if let Some(v) = pick.value(valid) {
                creds.insert(name.into(), v);
            }
        }
        creds.remove("private-key");
        if let Some(v) = key.value() {
            creds.insert("private-key".into(), v);
        }
        let mut doc = top_extra;
        doc.insert("subject-credentials".into(), wrap.clone().unwrap_or(Value::Object(creds)));
        let doc = Value::Object(doc);
        let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) }.unwrap();
        let ids = match (iss.id(SA), sub.id(SA), kid.id(KID)) {
            (Some(iss), Some(sub), Some(kid)) if iss == sub => Some((sub, kid)),
            _ => None,
        };
        let fields_ok = kind.accepted("JWT", true) && alg.accepted("RS256", false) && ids.is_some();
        let expect_ok = match (&damage, &wrap, key.accepted()) {
            (Damage::None, Some(_), _) => Some(false),
            (Damage::None, None, Some(key_ok)) => Some(key_ok && fields_ok),
            (Damage::None, None, None) if !fields_ok => Some(false),
            _ => None,
        };
        let must_mask = if matches!(damage, Damage::None) && wrap.is_none() { key.must_mask() } else { Vec::new() };
        let ids = ids.filter(|_| matches!(damage, Damage::None));
        Case { text: damage.apply_str(&text), expect_ok, must_mask, ids }
    }
}

fn case() -> impl Strategy<Value = Case> {
    let arbitrary = |text: String| Case {
        text,
        expect_ok: None,
        must_mask: Vec::new(),
        ids: None,
    };
    prop_oneof![
        6 => structured(),
        1 => any::<String>().prop_map(arbitrary),
        1 => (1usize..300, any::<bool>()).prop_map(move |(n, objects)| arbitrary(super::nested(n, "1", objects))),
    ]
}

/// Checks a parse result against the case; returns the key when there is one.
fn check<K>(case: &Case, result: anyhow::Result<K>, ci: &Recorder) -> Option<K> {
    let masked = ci.masked.borrow();
    for material in &case.must_mask {
        let line = material.as_str();
        assert!(
            masked.iter().any(|m| m.contains(line)),
            "{line:?} was not masked; masked: {masked:?}"
        );
    }
    match result {
        Ok(key) => {
            assert_ne!(case.expect_ok, Some(false), "accepted {:?}", case.text);
            Some(key)
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert_ne!(
                case.expect_ok,
                Some(true),
                "refused {:?}: {message}",
                case.text
            );
            if let Some(shown) = shows_key_material(&message) {
                panic!("the error shows key material {shown:?}: {message}");
            }
            None
        }
    }
}

/// A key parsed from a valid document has its ids, and signs a JWT its public key verifies.
fn assert_signs(key: &AuthorizedKey, case: &Case) {
    if let Some((sa, kid)) = &case.ids {
        assert_eq!(&key.service_account_id, sa);
        assert_eq!(&key.public_key_id, kid);
    }
    let jwt = key
        .sign_jwt(SystemTime::now(), &Recorder::default())
        .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    let decoded = jsonwebtoken::decode::<Value>(
        jwt.expose(),
        &jsonwebtoken::DecodingKey::from_rsa_der(&test_key().public_der),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.header.kid.as_ref(), Some(&key.public_key_id));
    assert_eq!(decoded.claims["sub"], json!(key.service_account_id));
}

proptest! {
    #![proptest_config(config(256))]

    /// `AuthorizedKey::from_json`, the parser every source of credentials JSON goes through.
    #[test]
    fn credentials_json_parses_or_fails_without_showing_the_key(case in case()) {
        let ci = Recorder::default();
        let result = AuthorizedKey::from_json(&case.text, "NEBIUS_SA_CREDENTIALS", &ci);
        if let Some(key) = check(&case, result, &ci) {
            assert_signs(&key, &case);
        }
    }

    /// The same through the environment: `NEBIUS_SA_CREDENTIALS` inline, as `--auth
    /// sa-credentials` reads it.
    #[test]
    fn sa_credentials_variable_is_read_the_same_way(case in case()) {
        let ci = Recorder::default();
        let env = Env::from_pairs(&[("NEBIUS_SA_CREDENTIALS", &case.text)]);
        let result = find_nebius(&env, &ci, &Choice { source: AuthSource::named("sa-credentials"), ..Choice::default() }).map(key_of);
        // Text that is neither JSON nor a path is refused before parsing: only the leak check holds.
        let case = if case.text.trim_start().starts_with('{') { case } else { Case { expect_ok: None, must_mask: Vec::new(), ids: None, ..case } };
        check(&case, result, &ci);
    }

    /// `NEBIUS_SA_CREDENTIALS_FILE`: the file's bytes, damaged so some are not UTF-8.
    #[test]
    fn sa_credentials_file_of_any_bytes_is_read_or_refused(case in structured(), damage in damage()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let bytes = damage.apply(case.text.as_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let ci = Recorder::default();
        let env = Env::from_pairs(&[("NEBIUS_SA_CREDENTIALS_FILE", path.to_str().unwrap())]);
        let result = find_nebius(&env, &ci, &Choice::default()).map(key_of);
        if std::str::from_utf8(&bytes).is_err() {
            let message = format!("{:#}", result.as_ref().unwrap_err());
            prop_assert!(message.contains("not UTF-8 text"), "{}", message);
        }
        let case = if matches!(damage, Damage::None) { case } else { Case { expect_ok: None, must_mask: Vec::new(), ids: None, ..case } };
        check(&case, result, &ci);
    }
}

/// The credential a source found, which must be an authorized key.
fn key_of(input: Option<NebiusInput>) -> NebiusInput {
    let input = input.expect("a credential");
    assert!(input.credential.key().is_some(), "not a key: {input:?}");
    input
}
