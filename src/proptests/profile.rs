//! The Nebius CLI profile (`~/.nebius/config.yaml`): structured profiles with each field valid,
//! missing, of the wrong type or holding key material, then damaged, and arbitrary text. A
//! valid service-account profile gives its key; anything else is skipped or an error that shows
//! no key material.

use super::credentials::{body_lines, shows_key_material, test_key, KEY_CANARY, KID, SA};
use super::{config, damage, json_value, Damage, Recorder};
use crate::auth::profile::{read, CONFIG_FILE};
use crate::env::Env;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// How the selected profile `ci` gives its private key.
#[derive(Debug, Clone)]
enum KeySource {
    /// `private-key`: the test key's PEM inline.
    Inline,
    /// `private-key-file-path`: `~/key.pem`, holding the test key.
    File,
    /// `service-account-credentials-file-path`: `~/creds.json`, the credentials JSON.
    Credentials,
    /// `private-key` holding a PEM block of `KEY_CANARY`.
    Canary,
    /// `private-key` of any other value.
    Other(Value),
}

/// A profile field: `None` as it should be, or `Some(replacement)` (`Null`: left out).
fn field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        8 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!(KEY_CANARY))),
        1 => json_value(1).prop_map(Some),
    ]
}

fn key_source() -> impl Strategy<Value = KeySource> {
    prop_oneof![
        3 => Just(KeySource::Inline),
        2 => Just(KeySource::File),
        2 => Just(KeySource::Credentials),
        1 => Just(KeySource::Canary),
        1 => json_value(1).prop_map(KeySource::Other),
    ]
}

/// A config file and whether it must give the key (`Some(true)`), must not (`Some(false)`),
/// or either.
#[derive(Debug, Clone)]
struct Case {
    text: String,
    expect_key: Option<bool>,
    inline_key: bool,
}

prop_compose! {
    fn structured()(
        fields in [field(), field(), field()],
        key in key_source(),
        default in prop_oneof![Just(None), Just(Some(json!("ci"))), Just(Some(json!("other"))), json_value(0).prop_map(Some)],
        second in any::<bool>(),
        damage in damage(),
    ) -> Case {
        let [auth_type, sa, kid] = fields.clone();
        let mut ci = Map::new();
        // A credentials file holds both ids: the SDK refuses a profile naming them beside it.
        let beside_file = |name: &str| matches!(key, KeySource::Credentials) && name != "auth-type";
        for (name, pick, valid) in [("auth-type", auth_type, "service account"), ("service-account-id", sa, SA), ("public-key-id", kid, KID)] {
            match pick {
                None if beside_file(name) => {}
                None => { ci.insert(name.into(), json!(valid)); }
                Some(Value::Null) => {}
                Some(other) => { ci.insert(name.into(), other); }
            }
        }
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{KEY_CANARY}\n-----END PRIVATE KEY-----\n");
        match &key {
            KeySource::Inline => ci.insert("private-key".into(), json!(test_key().pem)),
            KeySource::File => ci.insert("private-key-file-path".into(), json!("~/key.pem")),
            KeySource::Credentials => ci.insert("service-account-credentials-file-path".into(), json!("~/creds.json")),
            KeySource::Canary => ci.insert("private-key".into(), json!(pem)),
            KeySource::Other(v) => ci.insert("private-key".into(), v.clone()),
        };
        let mut profiles = Map::new();
        profiles.insert("ci".into(), Value::Object(ci));
        if second {
            profiles.insert("other".into(), json!({"auth-type": "federation"}));
        }
        let mut doc = Map::new();
        if let Some(d) = &default {
            doc.insert("default".into(), d.clone());
        }
        doc.insert("profiles".into(), Value::Object(profiles));
        let text = serde_yaml::to_string(&doc).unwrap();
        let selects_ci = match &default {
            Some(Value::String(name)) => name == "ci",
            None | Some(_) => !second,
        };
        let fields_valid = fields.iter().all(Option::is_none);
        // `service-account-credentials-file-path` wins over the parts, which it does not need.
        let key_valid = matches!(key, KeySource::Inline | KeySource::File)
            || matches!(key, KeySource::Credentials) && fields.iter().all(Option::is_none);
        let expect_key = match damage {
            Damage::None if selects_ci && fields_valid => Some(key_valid),
            Damage::None if !selects_ci => Some(false),
            _ => None,
        };
        let inline_key = matches!(damage, Damage::None) && selects_ci && fields[0].is_none() && matches!(key, KeySource::Inline);
        Case { text: damage.apply_str(&text), expect_key, inline_key }
    }
}

fn case() -> impl Strategy<Value = Case> {
    let arbitrary = |text: String| Case {
        text,
        expect_key: None,
        inline_key: false,
    };
    prop_oneof![
        6 => structured(),
        1 => any::<String>().prop_map(arbitrary),
        1 => "(profiles|default|ci|auth-type|private-key|[:{}\\[\\]\\-\\n &*!|>'\"]| ){0,60}".prop_map(arbitrary),
        1 => (100usize..200).prop_map(move |n| arbitrary(format!("profiles: {}", super::nested(n, "1", false)))),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn profiles_give_their_key_or_fail_without_showing_it(case in case(), required in any::<bool>()) {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".nebius")).unwrap();
        std::fs::write(home.path().join(CONFIG_FILE), &case.text).unwrap();
        std::fs::write(home.path().join("key.pem"), &test_key().pem).unwrap();
        let creds = json!({"subject-credentials": {"alg": "RS256", "kid": KID, "iss": SA, "sub": SA, "private-key": test_key().pem}});
        std::fs::write(home.path().join("creds.json"), creds.to_string()).unwrap();
        let env = Env::from_pairs(&[("HOME", home.path().to_str().unwrap())]);
        let ci = Recorder::default();
        let result = read(&env, &ci, required);
        if case.inline_key && matches!(result, Ok(Some(_))) {
            let masked = ci.masked.borrow();
            for line in body_lines(&test_key().pem) {
                prop_assert!(masked.iter().any(|m| m.contains(line)), "{} was not masked", line);
            }
        }
        match result {
            Ok(Some(input)) => {
                prop_assert_ne!(case.expect_key, Some(false), "accepted {}", case.text);
                if case.expect_key == Some(true) {
                    prop_assert_eq!(input.source, "profile ci");
                    let key = input.credential.key().expect("an authorized key");
                    prop_assert_eq!(key.service_account_id.as_str(), SA);
                    prop_assert_eq!(key.public_key_id.as_str(), KID);
                }
            }
            Ok(None) => {
                prop_assert!(!required, "--auth profile gave nothing and no error");
                prop_assert_ne!(case.expect_key, Some(true), "skipped {}", case.text);
            }
            Err(e) => {
                let message = format!("{e:#}");
                prop_assert_ne!(case.expect_key, Some(true), "refused {}: {}", case.text, message);
                if let Some(shown) = shows_key_material(&message) {
                    panic!("the error shows key material {shown:?}: {message}");
                }
            }
        }
    }
}

/// Found by `profiles_give_their_key_or_fail_without_showing_it`: an `auth-type` holding key
/// material (a value in the wrong field) was quoted whole in the error.
#[test]
fn an_auth_type_holding_key_material_is_not_shown() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".nebius")).unwrap();
    let yaml = format!("profiles:\n  ci:\n    auth-type: {KEY_CANARY}\n");
    std::fs::write(home.path().join(CONFIG_FILE), yaml).unwrap();
    let env = Env::from_pairs(&[("HOME", home.path().to_str().unwrap())]);
    let message = format!("{:#}", read(&env, &Recorder::default(), true).unwrap_err());
    assert!(
        message.contains("has auth-type something else"),
        "{message}"
    );
    assert!(!message.contains(KEY_CANARY), "{message}");
}
