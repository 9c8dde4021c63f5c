//! The `ferry-forward` binary over real sockets: it follows its configuration file as
//! it changes (new backends, an invalid file keeps the previous rules, a removed port
//! stops accepting).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A backend answering each connection with its name and closing.
fn named_backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(name.as_bytes());
        }
    });
    address
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ask(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// Waits (up to 5 s) until `check` holds for an answer of `port`.
fn wait_until(port: u16, what: &str, check: impl Fn(Option<String>) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check(ask(port)) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "port {port} never {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_follows_its_config_file() {
    let dir = std::env::temp_dir().join(format!("ferry-forward-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("forward.conf");
    let a = named_backend("a");
    let b = named_backend("b");
    let port = free_port();
    std::fs::write(&path, format!("listen {port} rr {a}\nend\n")).unwrap();
    let _child = Killed(
        Command::new(env!("CARGO_BIN_EXE_ferry-forward"))
            .arg(&path)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until(port, "answered a", |x| x.as_deref() == Some("a"));

    // Same length, written within the same second: still noticed (content, not mtime).
    std::fs::write(&path, format!("listen {port} rr {b}\nend\n")).unwrap();
    let took = wait_until(port, "switched to b", |x| x.as_deref() == Some("b"));
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // An invalid file, or one still being written (no `end` yet), keeps the previous
    // rules.
    std::fs::write(&path, "listen nonsense\nend\n").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(ask(port).as_deref(), Some("b"));
    std::fs::write(&path, "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(ask(port).as_deref(), Some("b"));

    // The port gone from the file stops accepting.
    std::fs::write(&path, "end\n").unwrap();
    wait_until(port, "closed", |x| x.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
