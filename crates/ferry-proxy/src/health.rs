//! Backend health: the consecutive-result counter that decides state changes (pure), and the
//! active probes (a TCP connect, or an HTTP/1.1 `GET` written by hand over a `TcpStream`,
//! expecting a 2xx or 3xx status).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::CheckKind;

/// Counts consecutive results and flips the state at the thresholds.
///
/// A backend starts healthy (a new instance is used at once; its first failed connect or
/// probe starts counting against it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCounter {
    healthy: bool,
    successes: u32,
    failures: u32,
}

impl Default for HealthCounter {
    fn default() -> Self {
        HealthCounter::new()
    }
}

impl HealthCounter {
    /// A healthy backend with no result counted yet.
    pub fn new() -> HealthCounter {
        HealthCounter {
            healthy: true,
            successes: 0,
            failures: 0,
        }
    }

    /// Whether the backend is healthy.
    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// Records one result; returns the new state when this result changed it.
    ///
    /// A healthy backend goes down after `unhealthy_threshold` failures in a row; an
    /// unhealthy one comes back after `healthy_threshold` successes in a row. A result of
    /// the other kind resets the streak.
    pub fn record(
        &mut self,
        ok: bool,
        healthy_threshold: u32,
        unhealthy_threshold: u32,
    ) -> Option<bool> {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if !self.healthy && self.successes >= healthy_threshold {
                self.healthy = true;
                return Some(true);
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.healthy && self.failures >= unhealthy_threshold {
                self.healthy = false;
                return Some(false);
            }
        }
        None
    }

    /// Marks the backend down at once (passive ejection without active checks).
    pub fn eject(&mut self) -> bool {
        let changed = self.healthy;
        *self = HealthCounter {
            healthy: false,
            successes: 0,
            failures: 0,
        };
        changed
    }

    /// Marks the backend up at once (end of a passive ejection).
    pub fn restore(&mut self) -> bool {
        let changed = !self.healthy;
        *self = HealthCounter::new();
        changed
    }
}

/// Why a probe failed (for logs).
#[derive(Debug, PartialEq, Eq)]
pub enum ProbeFailure {
    /// The probe did not finish within its timeout.
    Timeout,
    /// Connecting, writing or reading failed.
    Io(String),
    /// The HTTP answer was not a 2xx or 3xx status line.
    Status(String),
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeFailure::Timeout => write!(f, "timed out"),
            ProbeFailure::Io(error) => write!(f, "{error}"),
            ProbeFailure::Status(line) => write!(f, "unexpected status line {line:?}"),
        }
    }
}

/// Runs one probe of `kind` against `addr` within `timeout`.
pub async fn probe(
    addr: SocketAddr,
    kind: &CheckKind,
    timeout: Duration,
) -> Result<(), ProbeFailure> {
    match tokio::time::timeout(timeout, probe_inner(addr, kind)).await {
        Ok(result) => result,
        Err(_) => Err(ProbeFailure::Timeout),
    }
}

async fn probe_inner(addr: SocketAddr, kind: &CheckKind) -> Result<(), ProbeFailure> {
    let io = |error: std::io::Error| ProbeFailure::Io(error.to_string());
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let CheckKind::Http { path } = kind else {
        return Ok(());
    };
    stream.set_nodelay(true).map_err(io)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ferry-proxy-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    // Only the status line matters; read until its end (bounded).
    let mut head = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') {
        if head.len() > 4096 {
            return Err(ProbeFailure::Status(
                "status line longer than 4096 bytes".into(),
            ));
        }
        let n = stream.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = String::from_utf8_lossy(&head[..line_end])
        .trim_end()
        .to_owned();
    match parse_status(&line) {
        Some(status) if (200..400).contains(&status) => Ok(()),
        _ => Err(ProbeFailure::Status(line)),
    }
}

/// Returns the status code of an HTTP/1.x status line.
pub fn parse_status(line: &str) -> Option<u16> {
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_flips_only_at_the_thresholds_and_streaks_reset() {
        let mut counter = HealthCounter::new();
        assert_eq!(counter.record(false, 2, 3), None);
        assert_eq!(counter.record(false, 2, 3), None);
        assert_eq!(counter.record(true, 2, 3), None);
        assert_eq!(counter.record(false, 2, 3), None);
        assert_eq!(counter.record(false, 2, 3), None);
        assert_eq!(counter.record(false, 2, 3), Some(false));
        assert!(!counter.healthy());
        assert_eq!(counter.record(false, 2, 3), None);
        assert_eq!(counter.record(true, 2, 3), None);
        assert_eq!(counter.record(false, 2, 3), None);
        assert_eq!(counter.record(true, 2, 3), None);
        assert_eq!(counter.record(true, 2, 3), Some(true));
        assert!(counter.healthy());
        assert!(counter.eject());
        assert!(!counter.eject());
        assert!(counter.restore());
        assert!(counter.healthy());
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(parse_status("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(parse_status("HTTP/1.0 302 Found"), Some(302));
        assert_eq!(parse_status("HTTP/1.1 503"), Some(503));
        assert_eq!(parse_status("HTTP/2 200"), None);
        assert_eq!(parse_status("hello"), None);
        assert_eq!(parse_status("HTTP/1.1 20 OK"), None);
    }

    #[tokio::test]
    async fn probes_against_real_sockets() {
        // A closed port fails the TCP probe.
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let timeout = Duration::from_secs(2);
        assert!(matches!(
            probe(closed, &CheckKind::Tcp, timeout).await,
            Err(ProbeFailure::Io(_))
        ));

        // An HTTP server answering 204 then 503.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for status in ["204 No Content", "503 Service Unavailable"] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 1024];
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).await.unwrap();
                    request.extend_from_slice(&buf[..n]);
                }
                let text = String::from_utf8(request).unwrap();
                assert!(text.starts_with("GET /healthz HTTP/1.1\r\n"), "{text}");
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let http = CheckKind::Http {
            path: "/healthz".into(),
        };
        assert_eq!(probe(addr, &http, timeout).await, Ok(()));
        assert_eq!(
            probe(addr, &http, timeout).await,
            Err(ProbeFailure::Status(
                "HTTP/1.1 503 Service Unavailable".into()
            ))
        );
        server.await.unwrap();
    }
}
