//! The kubelet's `CredentialProviderRequest`: a request in either apiVersion, with any image and
//! any extra fields, reads back as its apiVersion and image; a damaged or arbitrary one is an
//! error that does not show the service-account token it may carry. Also the pieces of the
//! response: the image's host and the Go duration string.

use super::registry::host;
use super::{config, damage, json_object, json_value, Damage};
use crate::helper::kubelet::{go_duration, image_host, parse_request, API_VERSIONS};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::time::Duration;

/// The service-account token a request may carry; no error may show it.
const SA_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.PropCanarySaToken.c2ln";

/// An image reference and the registry host it is pulled from.
fn image() -> impl Strategy<Value = (String, String)> {
    let path = "[a-z0-9]{1,8}(/[a-z0-9._-]{1,8}){0,2}";
    let reference = prop_oneof![
        Just(String::new()),
        ":[a-zA-Z0-9_.-]{1,12}",
        "@sha256:[0-9a-f]{64}",
    ];
    prop_oneof![
        (host(), path, reference.clone()).prop_map(|((host, canonical), path, reference)| {
            // A single name without '.', ':' or "localhost" is a Docker Hub namespace.
            let is_host = host.contains(['.', ':']) || host == "localhost";
            let expected = if is_host {
                canonical
            } else {
                "docker.io".to_string()
            };
            (format!("{host}/{path}{reference}"), expected)
        }),
        ("[a-z0-9]{1,8}", reference)
            .prop_map(|(name, reference)| (format!("{name}{reference}"), "docker.io".to_string())),
    ]
}

/// A field of the request: `Some(None)` as it should be, `None` left out, or any other value
/// (also the token).
fn field() -> impl Strategy<Value = Option<Option<Value>>> {
    prop_oneof![
        10 => Just(Some(None)),
        1 => Just(None),
        1 => Just(Some(Some(json!(SA_TOKEN)))),
        1 => json_value(2).prop_map(|v| Some(Some(v))),
    ]
}

prop_compose! {
    fn request()(
        api_version in prop::sample::select(API_VERSIONS.to_vec()),
        (image, host) in image(),
        space in "[ \t\n]{0,2}",
        extra in json_object(2),
        fields in (field(), field(), field()),
        annotations in json_object(1),
    ) -> (Value, String, String, String) {
        let mut doc = extra;
        doc.insert("serviceAccountToken".into(), json!(SA_TOKEN));
        doc.insert("serviceAccountAnnotations".into(), Value::Object(annotations));
        let (a, k, i) = fields;
        for (name, pick, valid) in [
            ("apiVersion", a, json!(api_version)),
            ("kind", k, json!("CredentialProviderRequest")),
            ("image", i, json!(format!("{space}{image}{space}"))),
        ] {
            doc.remove(name);
            if let Some(value) = pick {
                doc.insert(name.into(), value.unwrap_or(valid));
            }
        }
        (Value::Object(doc), api_version.to_string(), image, host)
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// A request reads back as its apiVersion and trimmed image, and anything else is an error
    /// that does not show the token.
    #[test]
    fn requests_round_trip_or_fail_without_echo(
        (doc, api_version, image, host) in request(),
        pretty in any::<bool>(),
        damage in damage(),
    ) {
        let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) }.unwrap();
        let text = damage.apply_str(&text);
        // Any apiVersion crlogin speaks, and any non-blank image (the token too) is a request.
        let given_image = doc["image"].as_str().map(str::trim).filter(|i| !i.is_empty());
        let as_built = doc["apiVersion"] == json!(api_version)
            && doc["kind"] == "CredentialProviderRequest"
            && given_image.is_some();
        match parse_request(&text) {
            Ok((got_version, got_image)) => {
                if matches!(damage, Damage::None) {
                    prop_assert!(as_built, "accepted {}", text);
                    prop_assert_eq!(got_version, api_version);
                    prop_assert_eq!(Some(got_image.as_str()), given_image);
                    if got_image == image {
                        prop_assert_eq!(image_host(&got_image).unwrap(), host);
                    }
                }
            }
            Err(e) => {
                let message = format!("{e:#}");
                prop_assert!(!(as_built && matches!(damage, Damage::None)), "refused {}: {}", text, message);
                prop_assert!(!message.contains("PropCanary"), "{}", message);
            }
        }
    }

    /// Arbitrary text on stdin is refused, or is a request.
    #[test]
    fn arbitrary_text_is_no_request(text in prop_oneof![any::<String>(), json_value(3).prop_map(|v| v.to_string())]) {
        if let Ok((api_version, image)) = parse_request(&text) {
            prop_assert!(API_VERSIONS.contains(&api_version.as_str()));
            prop_assert!(!image.is_empty() && image.trim() == image);
        }
    }

    /// Any image's host is Docker Hub or a canonical registry host.
    #[test]
    fn any_image_has_a_canonical_host_or_an_error(image in prop_oneof![any::<String>(), "[a-zA-Z0-9.:/@\\[\\]_-]{0,40}"]) {
        if let Ok(host) = image_host(&image) {
            prop_assert_eq!(crate::registry::parse_registry(&host).unwrap(), host);
        }
    }

    /// `cacheDuration` as Go writes it reads back as the same number of seconds.
    #[test]
    fn go_durations_read_back(secs in prop_oneof![0u64..100_000, any::<u32>().prop_map(u64::from)]) {
        let text = go_duration(Duration::from_secs(secs));
        let mut total = 0u64;
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c { 'h' => 3600, 'm' => 60, 's' => 1, _ => panic!("{text}") };
            total += number.parse::<u64>().unwrap() * unit;
            number.clear();
        }
        prop_assert!(number.is_empty() && text.ends_with('s'), "{}", text);
        prop_assert_eq!(total, secs);
    }
}
