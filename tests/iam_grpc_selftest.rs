//! Checks the OIDC federation stand-ins themselves (`iam_grpc`), with their own gRPC messages
//! and plain HTTP clients, so a binary-level test can trust what they accept and refuse.
// Unix only (modes, signals, Linux servers and clients): on Windows the unit tests and
// scripts/windows-test.sh cover crlogin.
#![cfg(unix)]

mod iam_grpc;

use iam_grpc::{
    CreateTokenResponse, ExchangeTokenRequest, Expect, FakeGithubOidc, IamServer, TestIssuer,
    ACCESS_TOKEN_TYPE, EXCHANGE_PATH, GRANT_TYPE, JWT_TYPE, SUBJECT_IDENTIFIER_TYPE,
};
use std::time::Duration;

const SA: &str = "serviceaccount-e00selftest";
const SUB: &str = "repo:acme/app:ref:refs/heads/main";
const AUD: &str = "selftest-audience";

fn request(jwt: &str) -> ExchangeTokenRequest {
    ExchangeTokenRequest {
        grant_type: GRANT_TYPE.into(),
        requested_token_type: ACCESS_TOKEN_TYPE.into(),
        subject_token: SA.into(),
        subject_token_type: SUBJECT_IDENTIFIER_TYPE.into(),
        actor_token: jwt.into(),
        actor_token_type: JWT_TYPE.into(),
        ..Default::default()
    }
}

async fn call(
    url: &str,
    request: ExchangeTokenRequest,
) -> Result<CreateTokenResponse, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(request),
        http::uri::PathAndQuery::from_static(EXCHANGE_PATH),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn iam_server_accepts_only_what_nebius_would() {
    let issuer = TestIssuer::new();
    let server = IamServer::start(Expect {
        service_account_id: SA.into(),
        issuer: issuer.issuer.clone(),
        audience: AUD.into(),
        subject: SUB.into(),
        jwks: issuer.jwks(),
    });
    let url = server.url();

    let ok = call(&url, request(&issuer.token(SUB, AUD, 60)))
        .await
        .unwrap();
    assert_eq!(ok.token_type, "Bearer");
    assert_eq!(server.issued(), vec![ok.access_token.clone()]);

    let mut with_audience = request(&issuer.token(SUB, AUD, 60));
    with_audience.audience = "x".into();
    let forger = TestIssuer::new_with(&issuer.issuer, &issuer.kid);
    let cases = [
        (with_audience, tonic::Code::InvalidArgument, "must be empty"),
        (
            request(&forger.token(SUB, AUD, 60)),
            tonic::Code::Unauthenticated,
            "InvalidSignature",
        ),
        (
            request(&issuer.token("repo:other/app:ref:refs/heads/main", AUD, 60)),
            tonic::Code::Unauthenticated,
            "InvalidSubject",
        ),
        (
            request(&issuer.token(SUB, AUD, -1)),
            tonic::Code::Unauthenticated,
            "ExpiredSignature",
        ),
    ];
    for (request, code, why) in cases {
        let status = call(&url, request).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(why), "{status:?}");
    }
    assert_eq!(server.calls(), 5);
    assert_eq!(server.rejections().len(), 4);
    assert!(!server.saw_authorization());
}

#[tokio::test]
async fn fake_github_checks_the_request_token_and_audience() {
    let issuer = TestIssuer::new();
    let github = FakeGithubOidc::start(&issuer, "request-token", SUB);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let get = |token: &'static str, audience: Option<&'static str>| {
        let mut url = reqwest::Url::parse(&github.request_url()).unwrap();
        if let Some(audience) = audience {
            url.query_pairs_mut().append_pair("audience", audience);
        }
        client.get(url).bearer_auth(token).send()
    };
    assert_eq!(get("wrong", Some(AUD)).await.unwrap().status(), 401);
    assert_eq!(get("request-token", None).await.unwrap().status(), 400);
    let answer: serde_json::Value = get("request-token", Some("a b&c"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = answer["value"].as_str().unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    assert_eq!(github.audiences(), vec!["a b&c".to_string()]);
    assert_eq!(github.calls(), 3);
}
