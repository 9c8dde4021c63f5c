//! `ferry-echo`: a tiny HTTP/1.1 application for Ferry's runtime and end-to-end tests.
//!
//! Standard library only, so it builds in seconds and links statically into a one-file
//! image. Behaviour (all of it driven by the environment):
//! - listens on `$PORT` (default 8080) on every address;
//! - `GET /` answers `version=$VERSION` and `instance=$HOSTNAME`, one per line;
//! - `GET /healthz` answers 200, or 503 while `UNHEALTHY=1`;
//! - `GET /env/NAME` answers the value of `NAME` (404 when unset);
//! - `GET /burn?ms=N` burns CPU for N milliseconds, then answers;
//! - `GET /resolve/NAME` answers the addresses NAME resolves to, one per line (404 when
//!   it does not resolve): checks the runtime's DNS from inside the instance;
//! - `CRASH=1` makes it print a line and exit with code 1 at start;
//! - one log line per request on stdout; keep-alive and `Connection: close` both work,
//!   and every request read from a connection is answered.

use std::env;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let port = env::var("PORT").unwrap_or_else(|_| "8080".to_string());
    if env::var("CRASH").as_deref() == Ok("1") {
        println!("echo: CRASH=1, exiting with code 1");
        return ExitCode::from(1);
    }
    let listener = match TcpListener::bind(format!("0.0.0.0:{port}")) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("echo: cannot listen on port {port}: {error}");
            return ExitCode::from(2);
        }
    };
    println!("echo: listening on port {port}");
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || {
                    if let Err(error) = serve(stream) {
                        eprintln!("echo: connection error: {error}");
                    }
                });
            }
            Err(error) => eprintln!("echo: accept failed: {error}"),
        }
    }
    ExitCode::SUCCESS
}

/// Serves the requests of one connection until the client closes it or asks to.
fn serve(stream: TcpStream) -> io::Result<()> {
    let peer = stream
        .peer_addr()
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let request_line = request_line.trim_end().to_string();
        if request_line.is_empty() {
            continue;
        }
        let mut close = request_line.ends_with("HTTP/1.0");
        let mut content_length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                } else if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.parse().unwrap_or(0);
                }
            }
        }
        // A body is read and ignored, so that the next request starts at its first byte.
        if content_length > 0 {
            io::copy(
                &mut io::Read::take(&mut reader, content_length as u64),
                &mut io::sink(),
            )?;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        let (status, body) = respond(method, target);
        println!("echo: {peer} {method} {target} {status}");
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            405 => "Method Not Allowed",
            503 => "Service Unavailable",
            _ => "Bad Request",
        };
        let connection = if close { "close" } else { "keep-alive" };
        write!(
            writer,
            "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n{body}",
            body.len()
        )?;
        writer.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// The status and body for one request.
fn respond(method: &str, target: &str) -> (u16, String) {
    if method != "GET" && method != "HEAD" {
        return (405, "only GET\n".to_string());
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/" => (
            200,
            format!(
                "version={}\ninstance={}\n",
                env::var("VERSION").unwrap_or_default(),
                env::var("HOSTNAME").unwrap_or_default()
            ),
        ),
        "/healthz" => {
            if env::var("UNHEALTHY").as_deref() == Ok("1") {
                (503, "unhealthy\n".to_string())
            } else {
                (200, "ok\n".to_string())
            }
        }
        "/burn" => {
            let millis: u64 = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("ms="))
                .and_then(|value| value.parse().ok())
                .unwrap_or(100);
            let until = Instant::now() + Duration::from_millis(millis);
            let mut counter = 0u64;
            while Instant::now() < until {
                counter = counter.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            (200, format!("burned {millis} ms ({counter})\n"))
        }
        _ if path.starts_with("/resolve/") => {
            let name = &path["/resolve/".len()..];
            match std::net::ToSocketAddrs::to_socket_addrs(&(name, 80)) {
                Ok(addresses) => {
                    let mut ips: Vec<String> = addresses.map(|a| a.ip().to_string()).collect();
                    ips.sort();
                    ips.dedup();
                    (200, ips.iter().map(|ip| format!("{ip}\n")).collect())
                }
                Err(error) => (404, format!("{name}: {error}\n")),
            }
        }
        _ => match path.strip_prefix("/env/") {
            Some(name) if !name.is_empty() => match env::var(name) {
                Ok(value) => (200, value),
                Err(_) => (404, format!("{name} is not set\n")),
            },
            _ => (404, "not found\n".to_string()),
        },
    }
}
