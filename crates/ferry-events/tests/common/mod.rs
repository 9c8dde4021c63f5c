//! Shared test harness: a real tonic server on loopback over a real etcd, the workers,
//! and small real receivers (an HTTP/1.1 server and an SMTP sink) written on tokio.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_events::event::watch::WatchConfig;
use ferry_events::{
    DeliveryConfig, DeliveryWorker, Dispatcher, EventApi, NotificationApi, Recorder,
};
use ferry_kit::idempotency::{DEFAULT_WINDOW, Idempotency};
use ferry_store::Store;
use ferry_store::testsuite::TestEtcd;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A store under a unique prefix of the shared test etcd.
pub async fn etcd_store(label: &str) -> Arc<dyn Store> {
    Arc::new(TestEtcd::shared().prefixed_store(label).await)
}

/// Delivery timing short enough for tests.
pub fn fast_delivery() -> DeliveryConfig {
    DeliveryConfig {
        base_backoff: Duration::from_millis(400),
        max_backoff: Duration::from_secs(3),
        max_attempts: 5,
        lease_ttl: Duration::from_secs(2),
        max_concurrent: 4,
    }
}

/// The APIs served on a loopback port; dropped → stopped.
pub struct Server {
    pub channel: Channel,
    pub store: Arc<dyn Store>,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves EventService and NotificationService from `store`.
pub async fn serve(store: Arc<dyn Store>, watch: WatchConfig) -> Server {
    let idempotency = Idempotency::new(store.clone(), DEFAULT_WINDOW);
    let events = EventApi::new(store.clone(), idempotency.clone()).with_watch_config(watch);
    let notifications = NotificationApi::new(store.clone(), idempotency, fast_delivery());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(events.into_server())
            .add_service(notifications.into_server())
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stopped.cancelled_owned(),
            )
            .await
            .unwrap();
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Server {
        channel,
        store,
        stop,
    }
}

/// The dispatcher and delivery worker running as `identity`; cancel the token to stop.
pub async fn start_workers(store: Arc<dyn Store>, identity: &str) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn(Dispatcher::new(store.clone(), identity, fast_delivery()).run(stop.clone()));
    tokio::spawn(
        DeliveryWorker::new(fast_delivery(), Recorder::new(store.clone()))
            .controller(store.clone(), identity)
            .run(stop.clone()),
    );
    // Events recorded from now on are dispatched once the cursor exists.
    wait_for(Duration::from_secs(15), "the dispatch cursor", || {
        let store = store.clone();
        async move {
            store
                .get(&ferry_events::layout::dispatch_cursor_key())
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    stop
}

/// Polls `check` until it holds, or fails naming `what`.
pub async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One request an [`HttpReceiver`] got.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: tokio::time::Instant,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A real HTTP/1.1 server on loopback answering with scripted statuses (the last one
/// repeats), one request per connection.
pub struct HttpReceiver {
    pub address: SocketAddr,
    pub requests: Arc<Mutex<Vec<Received>>>,
    pub script: Arc<Mutex<Vec<(u16, Duration)>>>,
}

impl HttpReceiver {
    /// Answers the n-th request with `script[n]` (status, delay before answering).
    pub async fn start(script: Vec<(u16, Duration)>) -> HttpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let (seen, answers) = (requests.clone(), script.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, answers) = (seen.clone(), answers.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(socket);
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut headers = HashMap::new();
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).await.unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            headers
                                .insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
                        }
                    }
                    let length: usize = headers
                        .get("content-length")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).await.unwrap();
                    let index = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(Received {
                            at: tokio::time::Instant::now(),
                            path,
                            headers,
                            body,
                        });
                        seen.len() - 1
                    };
                    let (status, delay) = {
                        let answers = answers.lock().unwrap();
                        answers
                            .get(index)
                            .or(answers.last())
                            .copied()
                            .unwrap_or((200, Duration::ZERO))
                    };
                    tokio::time::sleep(delay).await;
                    let text = format!("answer {status}");
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let mut socket = reader.into_inner();
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        HttpReceiver {
            address,
            requests,
            script,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }
}

/// One message an [`SmtpSink`] accepted.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A minimal real SMTP server on loopback (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
pub struct SmtpSink {
    pub address: SocketAddr,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut reader = BufReader::new(read);
                    write.write_all(b"220 sink ESMTP ready\r\n").await.unwrap();
                    let mut mail = Mail {
                        from: String::new(),
                        to: Vec::new(),
                        data: String::new(),
                    };
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_string();
                        let verb = command
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "HELO" => b"250 sink\r\n",
                            "MAIL" => {
                                mail.from = command[5..].trim().to_string();
                                b"250 ok\r\n"
                            }
                            "RCPT" => {
                                mail.to.push(command[5..].trim().to_string());
                                b"250 ok\r\n"
                            }
                            "DATA" => {
                                write.write_all(b"354 end with .\r\n").await.unwrap();
                                let mut data = String::new();
                                loop {
                                    let mut data_line = String::new();
                                    reader.read_line(&mut data_line).await.unwrap();
                                    if data_line == ".\r\n" || data_line.is_empty() {
                                        break;
                                    }
                                    data.push_str(&data_line);
                                }
                                mail.data = data;
                                kept.lock().unwrap().push(mail.clone());
                                b"250 queued\r\n"
                            }
                            "RSET" | "NOOP" => b"250 ok\r\n",
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"502 not implemented\r\n",
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        SmtpSink { address, mails }
    }
}
