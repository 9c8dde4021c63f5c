//! JSON over HTTP and gRPC-Web through the real gateway and deploy binaries on a real
//! etcd: a plain HTTP/2 client creates and lists namespaces with JSON (and reads one over
//! HTTP/1.1), errors come back as
//! `google.rpc.Status` JSON with their HTTP status (401 without a token, 400 naming the
//! bad field, 404 for an unknown path), and a gRPC-Web call of `GetNamespace` works, as
//! does one of the gateway's own `ListTokens`; CORS: preflights of an allowed origin are
//! answered on local and forwarded paths, others refused, and answers carry the headers.

use std::time::Duration;

use base64::Engine;
use ferry_e2e::{Launch, ServiceProcess, eventually, unique_prefix};
use ferry_proto::ferry::deploy::v1::{GetNamespaceRequest, Namespace};
use ferry_store::testsuite::TestEtcd;
use prost::Message;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.unwrap();
    assert_eq!(content_type, "application/json", "{status}: {text}");
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_grpc_web_calls_go_through_the_gateway() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("transcode");
    let launch = Launch::new(&etcd, &prefix);
    let gateway = ServiceProcess::start_with_env(
        "gateway",
        &launch,
        &[
            ("FERRY_AUTH", "enabled"),
            ("FERRY_GATEWAY_CORS_ORIGINS", "https://console.example"),
        ],
    )
    .await;
    let _deploy = ServiceProcess::start("deploy", &launch).await;
    let token = gateway.bootstrap_token().await;
    let base = format!("http://{}", gateway.address);
    let http = client();
    let bearer = format!("Bearer {token}");

    // Wait until the gateway forwards to deploy (it has seen its registration).
    let ready = eventually(Duration::from_secs(10), || {
        let request = http
            .get(format!("{base}/v1/namespaces/ferry-system"))
            .header("authorization", &bearer);
        async move {
            request
                .send()
                .await
                .is_ok_and(|response| response.status() == 200)
        }
    })
    .await;
    assert!(
        ready.is_some(),
        "the gateway never served GET /v1/namespaces/ferry-system; log:\n{}",
        gateway.log_text()
    );

    // Create with a JSON body and a query parameter.
    let (status, created) = send(
        http.post(format!("{base}/v1/namespaces?namespaceId=dev"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(json!({"description": "from JSON"}).to_string()),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["name"], "namespaces/dev");
    assert_eq!(created["description"], "from JSON");
    assert!(created["createTime"].is_string(), "{created}");

    // List: JSON with lowerCamelCase names.
    let (status, listed) = send(
        http.get(format!("{base}/v1/namespaces?pageSize=50"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|namespace| namespace["name"].as_str())
        .collect();
    assert!(names.contains(&"namespaces/dev"), "{listed}");

    // The same over HTTP/1.1, as curl and browsers send it.
    let http1 = reqwest::Client::builder()
        .http1_only()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = http1
        .get(format!("{base}/v1/namespaces/dev"))
        .header("authorization", &bearer)
        .send()
        .await
        .expect("the gateway answers HTTP/1.1");
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["name"], "namespaces/dev", "{body}");

    // A method the gateway serves itself (ferry.auth.v1) is transcoded too.
    let (status, roles) = send(
        http.get(format!("{base}/v1/roles"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 200, "{roles}");
    assert!(
        roles["roles"]
            .as_array()
            .is_some_and(|roles| !roles.is_empty()),
        "{roles}"
    );

    // No token: 401 with a google.rpc.Status body carrying ErrorInfo.
    let (status, error) = send(http.get(format!("{base}/v1/namespaces"))).await;
    assert_eq!(status, 401, "{error}");
    assert_eq!(error["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(error["error"]["code"], 401);
    let details = error["error"]["details"].as_array().expect("details");
    assert!(
        details
            .iter()
            .any(|detail| detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"),
        "{error}"
    );

    // A bad body: 400 naming the field.
    let (status, error) = send(
        http.post(format!("{base}/v1/namespaces?namespaceId=bad"))
            .header("authorization", &bearer)
            .body(r#"{"description": 42}"#),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("namespace.description"), "{message}");

    // An unknown field, and malformed JSON.
    let (status, error) = send(
        http.post(format!("{base}/v1/namespaces?namespaceId=bad"))
            .header("authorization", &bearer)
            .body(r#"{"colour": "red"}"#),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let (status, _) = send(
        http.post(format!("{base}/v1/namespaces?namespaceId=bad"))
            .header("authorization", &bearer)
            .body("{"),
    )
    .await;
    assert_eq!(status, 400);

    // Unknown path and method.
    let (status, error) = send(
        http.get(format!("{base}/v1/nothing/here"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 404, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing/here")
    );
    let (status, _) = send(
        http.put(format!("{base}/v1/namespaces"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(status, 405);

    // An oversized body: 413.
    let (status, _) = send(
        http.post(format!("{base}/v1/namespaces?namespaceId=big"))
            .header("authorization", &bearer)
            .body(vec![b' '; 5 * 1024 * 1024]),
    )
    .await;
    assert_eq!(status, 413);

    // gRPC-Web, binary and text.
    let message = GetNamespaceRequest {
        name: "namespaces/dev".into(),
    }
    .encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    for text in [false, true] {
        let (content_type, body) = if text {
            (
                "application/grpc-web-text",
                base64::engine::general_purpose::STANDARD
                    .encode(&framed)
                    .into_bytes(),
            )
        } else {
            ("application/grpc-web+proto", framed.clone())
        };
        let response = http
            .post(format!(
                "{base}/ferry.deploy.v1.NamespaceService/GetNamespace"
            ))
            .header("authorization", &bearer)
            .header("content-type", content_type)
            .header("x-grpc-web", "1")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut body = response.bytes().await.unwrap().to_vec();
        if text {
            body = base64::engine::general_purpose::STANDARD
                .decode(&body)
                .unwrap();
        }
        assert_eq!(body[0], 0, "a message frame first");
        let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let namespace = Namespace::decode(&body[5..5 + length]).unwrap();
        assert_eq!(namespace.name, "namespaces/dev");
        assert_eq!(namespace.description, "from JSON");
        let trailer = &body[5 + length..];
        assert_eq!(trailer[0], 0x80, "the trailer frame last");
        let trailers = String::from_utf8_lossy(&trailer[5..]);
        assert!(trailers.contains("grpc-status: 0"), "{trailers}");
    }

    // gRPC-Web to a method the gateway serves itself (ListTokens of ferry.auth.v1), from
    // a browser page of an allowed origin: the answer carries the CORS headers.
    let empty = [0u8, 0, 0, 0, 0];
    let response = http
        .post(format!("{base}/ferry.auth.v1.TokenService/ListTokens"))
        .header("authorization", &bearer)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", "https://console.example")
        .body(empty.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://console.example"
    );
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("grpc-status")
    );
    let body = response.bytes().await.unwrap().to_vec();
    assert_eq!(body[0], 0, "a message frame first: {body:?}");
    let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let tokens =
        ferry_proto::ferry::auth::v1::ListTokensResponse::decode(&body[5..5 + length]).unwrap();
    assert!(!tokens.tokens.is_empty(), "the bootstrap token is listed");
    let trailers = String::from_utf8_lossy(&body[5 + length + 5..]);
    assert!(trailers.contains("grpc-status: 0"), "{trailers}");
    // Without a token: UNAUTHENTICATED in the trailer frame, not a transport error.
    let response = http
        .post(format!("{base}/ferry.auth.v1.TokenService/ListTokens"))
        .header("content-type", "application/grpc-web-text")
        .body(base64::engine::general_purpose::STANDARD.encode(empty))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = base64::engine::general_purpose::STANDARD
        .decode(response.bytes().await.unwrap())
        .unwrap();
    let trailers = String::from_utf8_lossy(&body[5..]);
    assert!(trailers.contains("grpc-status: 16"), "{trailers}");

    // CORS preflights: allowed origin on a local and a forwarded path, another refused.
    for path in [
        "/ferry.auth.v1.TokenService/ListTokens",
        "/ferry.deploy.v1.NamespaceService/GetNamespace",
        "/v1/namespaces",
    ] {
        for (origin, expected) in [
            ("https://console.example", 204),
            ("https://elsewhere.example", 403),
        ] {
            let response = http
                .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), expected, "{path} from {origin}");
            assert_eq!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .map(|v| v.to_str().unwrap().to_string()),
                (expected == 204).then(|| origin.to_string()),
                "{path} from {origin}"
            );
        }
    }
    // JSON from an allowed origin carries the header too; from another, it does not.
    for (origin, allowed) in [
        ("https://console.example", true),
        ("https://elsewhere.example", false),
    ] {
        let response = http
            .get(format!("{base}/v1/namespaces/dev"))
            .header("authorization", &bearer)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response
                .headers()
                .contains_key("access-control-allow-origin"),
            allowed,
            "{origin}"
        );
    }
    gateway.assert_no_error_logs();
}
