//! Test support: small tokio servers on loopback that answer each line with their own id
//! (and HTTP `GET`s with a settable status, for HTTP health checks), and line clients that
//! can bind a chosen loopback source address to act as different clients.

#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// A backend: answers every line with `{id}\n` on a kept-alive connection; answers an HTTP
/// `GET` with the current `http_status` and closes.
pub struct TestServer {
    pub id: String,
    pub addr: SocketAddr,
    /// Line requests answered.
    pub requests: Arc<AtomicU64>,
    /// Status returned to HTTP `GET`s (health checks).
    pub http_status: Arc<AtomicU16>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start(id: &str) -> TestServer {
        TestServer::start_on(id, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts a server on `addr` (to restart a stopped one on its old port).
    pub async fn start_on(id: &str, addr: SocketAddr) -> TestServer {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|error| panic!("bind test server {id} on {addr}: {error}"));
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let http_status = Arc::new(AtomicU16::new(200));
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve(
            listener,
            id.to_owned(),
            requests.clone(),
            http_status.clone(),
            stop.clone(),
        ));
        TestServer {
            id: id.to_owned(),
            addr,
            requests,
            http_status,
            stop,
            task: Some(task),
        }
    }

    /// The backend value for this server.
    pub fn backend(&self) -> ferry_proxy::Backend {
        ferry_proxy::Backend::new(self.id.clone(), self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Kills the server: closes the listener and cuts every open connection.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn serve(
    listener: TcpListener,
    id: String,
    requests: Arc<AtomicU64>,
    http_status: Arc<AtomicU16>,
    stop: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                stream.set_nodelay(true).unwrap();
                connections.spawn(answer(stream, id.clone(), requests.clone(), http_status.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // The listener closes first (connect attempts are refused from now on), then every
    // connection task is aborted: their sockets close.
    drop(listener);
    connections.shutdown().await;
}

async fn answer(
    stream: TcpStream,
    id: String,
    requests: Arc<AtomicU64>,
    http_status: Arc<AtomicU16>,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    let reply = format!("{id}\n");
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.starts_with("GET ") {
            // Skip the headers, answer, close.
            loop {
                line.clear();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) if line == "\r\n" || line == "\n" => break,
                    Ok(_) => {}
                }
            }
            let status = http_status.load(Ordering::SeqCst);
            let body = format!("{id}\n");
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = write.write_all(answer.as_bytes()).await;
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A kept-alive line client.
pub struct LineClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    line: String,
}

impl LineClient {
    /// Connects to `addr`, from `source` when given (e.g. 127.0.0.2).
    pub async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<LineClient> {
        let stream = match source {
            None => TcpStream::connect(addr).await?,
            Some(ip) => {
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(addr).await?
            }
        };
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Ok(LineClient {
            reader: BufReader::new(read),
            writer,
            line: String::new(),
        })
    }

    /// Sends one request; returns the id of the backend that answered.
    pub async fn ask(&mut self) -> std::io::Result<String> {
        self.writer.write_all(b"q\n").await?;
        self.line.clear();
        let n = tokio::time::timeout(
            Duration::from_secs(5),
            self.reader.read_line(&mut self.line),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 5 s"))??;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        Ok(self.line.trim_end().to_owned())
    }
}

/// One request on a new connection.
pub async fn ask_once(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<String> {
    LineClient::connect(addr, source).await?.ask().await
}

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns the time taken.
pub async fn wait_for(
    what: &str,
    limit: Duration,
    mut condition: impl FnMut() -> bool,
) -> Duration {
    let start = std::time::Instant::now();
    loop {
        if condition() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not true after {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Active TCP checks with small periods, for tests.
pub fn fast_tcp_check() -> ferry_proxy::HealthCheck {
    ferry_proxy::HealthCheck {
        kind: ferry_proxy::CheckKind::Tcp,
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(200),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
    }
}

/// The health of backend `id` of `proxy`.
pub fn healthy(proxy: &ferry_proxy::Proxy, id: &str) -> bool {
    proxy
        .health()
        .iter()
        .find(|health| health.id == id)
        .unwrap_or_else(|| panic!("backend {id} not in the set"))
        .healthy
}
