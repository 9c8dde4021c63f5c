//! Basic authentication against a real registry: a private Debian `docker-registry` with
//! htpasswd auth, started by this test on a free loopback port (the registry of
//! `FERRY_TEST_REGISTRY` has no auth). Anonymous and wrong credentials are refused with
//! clear errors; the right ones push and pull; the password never shows in errors or
//! Debug output.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_image::{
    Base, ClientOptions, Credentials, ImageError, ImageSettings, LayerBuilder, Reference,
    RegistryClient, assemble_and_push, build_layer, testing,
};

const USER: &str = "ferry";
const PASSWORD: &str = "ferry-test-password";
/// bcrypt of PASSWORD (made with crypt(3) `$2b$05$`); a test-only credential.
const HTPASSWD: &str = "ferry:$2b$05$ferrytestsaltferryteseWBJUpeB9WnXfKV1rTEB9ehA0ZAnaJaG\n";

/// A registry process, killed (by its own handle) when dropped.
struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_registry_with_htpasswd() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("htpasswd"), HTPASSWD).unwrap();
    let auth = format!(
        "{{htpasswd: {{realm: ferry-test, path: {}}}}}",
        dir.path().join("htpasswd").display()
    );
    start_registry(dir, &auth)
}

/// Starts `docker-registry` with its storage in `dir` and the `auth` section given.
fn start_registry(dir: tempfile::TempDir, auth: &str) -> Registry {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut config = std::fs::File::create(dir.path().join("config.yml")).unwrap();
    write!(
        config,
        "version: 0.1\nlog: {{level: error}}\n\
         storage: {{filesystem: {{rootdirectory: {root}}}}}\n\
         http: {{addr: {addr}}}\n\
         auth: {auth}\n",
        root = dir.path().join("data").display(),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start docker-registry (Debian package docker-registry): {e}")
        });
    let registry = Registry {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&registry.addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry did not listen on {}",
            registry.addr
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    registry
}

fn client_with(credentials: Option<Credentials>, registry: &str) -> RegistryClient {
    let mut options = ClientOptions::default();
    if let Some(credentials) = credentials {
        options
            .credentials
            .insert(registry.to_string(), credentials);
    }
    RegistryClient::new(options).unwrap()
}

#[tokio::test]
async fn basic_auth_is_answered_and_refusals_are_clear() {
    let registry = start_registry_with_htpasswd();
    let addr = registry.addr.clone();

    let anonymous = client_with(None, &addr);
    let error = anonymous.ping(&addr).await.unwrap_err();
    assert!(matches!(error, ImageError::Unauthorized { .. }), "{error}");
    assert!(error.to_string().contains("none are configured"), "{error}");

    let wrong = client_with(Some(Credentials::basic(USER, "not-the-password")), &addr);
    let error = wrong.ping(&addr).await.unwrap_err();
    assert!(matches!(error, ImageError::Unauthorized { .. }), "{error}");
    assert!(error.to_string().contains("refused"), "{error}");
    assert!(!error.to_string().contains("not-the-password"), "{error}");

    let client = client_with(Some(Credentials::basic(USER, PASSWORD)), &addr);
    assert!(!format!("{client:?}").contains(PASSWORD));
    client.ping(&addr).await.unwrap();
    let base: Reference = format!("{addr}/ferry/busybox:v1").parse().unwrap();
    let pushed = testing::push_busybox_base(&client, &base).await.unwrap();
    assert_eq!(pushed.uploaded_blobs, 2);
    let mut builder = LayerBuilder::default();
    builder.add_bytes("/srv/x", b"x".to_vec(), 0o644).unwrap();
    let layer = build_layer(builder).await.unwrap();
    let target: Reference = format!("{addr}/ferry/app:v1").parse().unwrap();
    let report = assemble_and_push(
        &client,
        &target,
        &Base::Image(base),
        &layer,
        &ImageSettings::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.mounted_blobs, 1, "{report:?}");
    assert_eq!(
        client.get_manifest(&target).await.unwrap().digest,
        report.digest
    );

    // The anonymous client cannot read what was pushed either.
    let error = anonymous.get_manifest(&target).await.unwrap_err();
    assert!(matches!(error, ImageError::Unauthorized { .. }), "{error}");
}

/// Runs `openssl` with `args` in `dir`, feeding `input`, and returns its stdout.
fn openssl(dir: &std::path::Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A token server in the shape of the distribution token spec: checks basic
/// credentials, grants every requested scope in an RS256 JWT whose `x5c` holds the
/// certificate the registry trusts (signed with the openssl CLI). Counts the tokens it
/// issued.
struct TokenServer {
    realm: String,
    issued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_token_server(dir: std::path::PathBuf, service: &'static str) -> TokenServer {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let realm = format!("http://{}/token", listener.local_addr().unwrap());
    let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = issued.clone();
    let der = openssl(&dir, &["x509", "-in", "cert.pem", "-outform", "DER"], b"");
    let x5c = STANDARD.encode(der);
    let expected = format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request).to_string();
            let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let authorized = request.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("authorization:") && l[14..].trim() == expected
            });
            let (status, body) = if authorized {
                let url = reqwest::Url::parse(&format!("http://token{target}")).unwrap();
                let access: Vec<serde_json::Value> = url
                    .query_pairs()
                    .filter(|(k, _)| k == "scope")
                    .filter_map(|(_, scope)| {
                        let mut parts = scope.splitn(3, ':');
                        let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                        Some(serde_json::json!({
                            "type": kind, "name": name,
                            "actions": actions.split(',').collect::<Vec<_>>(),
                        }))
                    })
                    .collect();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": "ferry-test-issuer", "sub": USER, "aud": service,
                    "exp": now + 300, "nbf": now - 10, "iat": now,
                    "jti": format!("{now}-{}", counter.load(std::sync::atomic::Ordering::SeqCst)),
                    "access": access,
                });
                let input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(claims.to_string())
                );
                let (signing_dir, signing_input) = (dir.clone(), input.clone());
                let signature = tokio::task::spawn_blocking(move || {
                    openssl(
                        &signing_dir,
                        &["dgst", "-sha256", "-sign", "key.pem"],
                        signing_input.as_bytes(),
                    )
                })
                .await
                .unwrap();
                let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                (
                    "200 OK",
                    serde_json::json!({"token": token, "expires_in": 300}).to_string(),
                )
            } else {
                (
                    "401 Unauthorized",
                    r#"{"details":"bad credentials"}"#.to_string(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    TokenServer {
        realm,
        issued,
        task,
    }
}

#[tokio::test]
async fn the_bearer_token_flow_gets_scoped_tokens_and_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=ferry-test-token",
        ],
        b"",
    );
    let service = "ferry-test-registry";
    let tokens = start_token_server(dir.path().to_path_buf(), service).await;
    let auth = format!(
        "{{token: {{realm: \"{}\", service: {service}, issuer: ferry-test-issuer, rootcertbundle: {}}}}}",
        tokens.realm,
        dir.path().join("cert.pem").display()
    );
    let registry = start_registry(dir, &auth);
    let addr = registry.addr.clone();

    // Without credentials the token server refuses, and the error says so.
    let anonymous = client_with(None, &addr);
    let error = anonymous.ping(&addr).await.unwrap_err();
    assert!(matches!(error, ImageError::Unauthorized { .. }), "{error}");
    assert!(
        error.to_string().contains("token server answered 401"),
        "{error}"
    );

    let client = client_with(Some(Credentials::basic(USER, PASSWORD)), &addr);
    client.ping(&addr).await.unwrap();
    let base: Reference = format!("{addr}/ferry/busybox:v1").parse().unwrap();
    testing::push_busybox_base(&client, &base).await.unwrap();
    let mut builder = LayerBuilder::default();
    builder.add_bytes("/srv/y", b"y".to_vec(), 0o644).unwrap();
    let layer = build_layer(builder).await.unwrap();
    let target: Reference = format!("{addr}/ferry/tokened:v1").parse().unwrap();
    let report = assemble_and_push(
        &client,
        &target,
        &Base::Image(base.clone()),
        &layer,
        &ImageSettings::default(),
    )
    .await
    .unwrap();
    // The mount's token covers both repositories, so the base layer is mounted.
    assert_eq!(report.mounted_blobs, 1, "{report:?}");
    assert_eq!(
        client.get_manifest(&target).await.unwrap().digest,
        report.digest
    );

    // Tokens are cached per scope: pushing the same again asks for no new token.
    let issued = tokens.issued.load(std::sync::atomic::Ordering::SeqCst);
    assert!(issued > 0);
    let again = assemble_and_push(
        &client,
        &target,
        &Base::Image(base),
        &layer,
        &ImageSettings::default(),
    )
    .await
    .unwrap();
    assert!(again.is_cache_hit());
    assert_eq!(
        tokens.issued.load(std::sync::atomic::Ordering::SeqCst),
        issued
    );
}
