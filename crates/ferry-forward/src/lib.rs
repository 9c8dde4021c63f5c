//! `ferry-forward`: a tiny L4 TCP forwarder, standard library only so that it links
//! statically into a one-file image. The routing service runs it in one container per
//! Service and Docker engine, on the Service's namespace network, under the Service's
//! names (`svc`, `svc.ns`, `svc.ns.svc.cluster.local`).
//!
//! The configuration is a text file, one rule per line (blank lines and `#` comments
//! ignored):
//!
//! ```text
//! listen <port> <rr|client-ip> [<ip:port> ...]
//! end
//! ```
//!
//! The closing `end` line is required: a file being written (Docker's archive upload
//! truncates, then writes) must not be taken for a smaller configuration.
//!
//! Each rule listens on `0.0.0.0:<port>` and forwards every accepted connection to one
//! backend: the next one in turn (`rr`), or the one a hash of the client's IP picks
//! (`client-ip`); when a connect fails (or takes longer than [`CONNECT_TIMEOUT`]) the
//! next backend is tried. A rule without backends accepts and closes connections at once.
//!
//! [`Forwarder::apply`] moves the listeners to a new configuration: ports no longer named
//! stop accepting, new ones are bound, and the backends of kept ports are swapped for new
//! connections only (open connections stay where they are until they end). The binary
//! re-reads the file every [`POLL`] and applies it when its content changed and is
//! complete.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

/// How often the binary looks at its configuration file.
pub const POLL: Duration = Duration::from_millis(250);
/// How long one connect to a backend may take before the next backend is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What went wrong in the forwarder.
#[derive(Debug)]
pub enum ForwardError {
    /// A configuration line is not `listen <port> <mode> <ip:port>...`.
    Parse {
        /// 1-based line number.
        line: usize,
        /// Why.
        message: String,
    },
    /// A port could not be listened on.
    Bind {
        /// The port.
        port: u16,
        /// The cause.
        source: io::Error,
    },
}

impl fmt::Display for ForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardError::Parse { line, message } => write!(f, "line {line}: {message}"),
            ForwardError::Bind { port, source } => {
                write!(f, "cannot listen on port {port}: {source}")
            }
        }
    }
}

impl std::error::Error for ForwardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ForwardError::Parse { .. } => None,
            ForwardError::Bind { source, .. } => Some(source),
        }
    }
}

/// How a rule picks the backend of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The next backend in turn.
    RoundRobin,
    /// The backend a hash of the client's IP address picks (the same client keeps its
    /// backend while the backend list stays the same).
    ClientIp,
}

/// One `listen` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// How a backend is picked.
    pub mode: Mode,
    /// Where connections go, in order.
    pub backends: Vec<SocketAddr>,
}

/// A whole configuration: the rule of every listened port.
pub type Config = BTreeMap<u16, Rule>;

/// Parses a configuration file's text.
pub fn parse(text: &str) -> Result<Config, ForwardError> {
    let mut config = Config::new();
    let mut ended = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let error = |message: String| ForwardError::Parse {
            line: index + 1,
            message,
        };
        if ended {
            return Err(error(format!("{line:?} after the `end` line")));
        }
        if line == "end" {
            ended = true;
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next() != Some("listen") {
            return Err(error(format!(
                "expected `listen <port> <mode> <ip:port>...`, got {line:?}"
            )));
        }
        let port = words.next().ok_or_else(|| error("missing port".into()))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| error(format!("port {port:?} is not a number in 1..65535")))?;
        let mode = match words.next() {
            Some("rr") => Mode::RoundRobin,
            Some("client-ip") => Mode::ClientIp,
            Some(other) => return Err(error(format!("mode {other:?} is not rr or client-ip"))),
            None => return Err(error("missing mode (rr or client-ip)".into())),
        };
        let backends = words
            .map(|word| {
                word.parse::<SocketAddr>()
                    .map_err(|_| error(format!("backend {word:?} is not ip:port")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if config.insert(port, Rule { mode, backends }).is_some() {
            return Err(error(format!("port {port} is listed twice")));
        }
    }
    if !ended {
        return Err(ForwardError::Parse {
            line: text.lines().count(),
            message: "incomplete: no closing `end` line".into(),
        });
    }
    Ok(config)
}

/// Renders a configuration in the file format [`parse`] reads.
pub fn render(config: &Config) -> String {
    let mut out = String::new();
    for (port, rule) in config {
        out.push_str("listen ");
        out.push_str(&port.to_string());
        out.push_str(match rule.mode {
            Mode::RoundRobin => " rr",
            Mode::ClientIp => " client-ip",
        });
        for backend in &rule.backends {
            out.push(' ');
            out.push_str(&backend.to_string());
        }
        out.push('\n');
    }
    out.push_str("end\n");
    out
}

/// The state one listener shares with its connections.
struct Shared {
    rule: RwLock<Rule>,
    next: AtomicUsize,
    stopped: AtomicBool,
}

/// One open listener.
struct Listening {
    shared: Arc<Shared>,
    /// Where a connect wakes the blocked accept up (to notice `stopped`).
    wake: SocketAddr,
}

/// The listeners of the current configuration.
pub struct Forwarder {
    /// The address listeners bind (`0.0.0.0` in the container; loopback in tests).
    bind: IpAddr,
    listeners: BTreeMap<u16, Listening>,
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forwarder")
            .field("bind", &self.bind)
            .field("ports", &self.listeners.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Forwarder {
    /// A forwarder whose listeners bind `bind`, with no rule yet.
    pub fn new(bind: IpAddr) -> Self {
        Forwarder {
            bind,
            listeners: BTreeMap::new(),
        }
    }

    /// The ports listened on now.
    pub fn ports(&self) -> Vec<u16> {
        self.listeners.keys().copied().collect()
    }

    /// Moves to `config`: stops the listeners of ports it does not name, swaps the rules
    /// of kept ones and binds new ones. Ports that cannot be bound are reported (the
    /// others are applied); applying the same config again retries them.
    pub fn apply(&mut self, config: &Config) -> Vec<ForwardError> {
        let gone: Vec<u16> = self
            .listeners
            .keys()
            .filter(|port| !config.contains_key(port))
            .copied()
            .collect();
        for port in gone {
            if let Some(listening) = self.listeners.remove(&port) {
                listening.shared.stopped.store(true, Ordering::SeqCst);
                // Wake the blocked accept; it sees `stopped` and ends.
                let _ = TcpStream::connect_timeout(&listening.wake, CONNECT_TIMEOUT);
            }
        }
        let mut errors = Vec::new();
        for (port, rule) in config {
            if let Some(listening) = self.listeners.get(port) {
                let mut current = listening
                    .shared
                    .rule
                    .write()
                    .unwrap_or_else(|e| e.into_inner());
                if *current != *rule {
                    *current = rule.clone();
                }
                continue;
            }
            match TcpListener::bind(SocketAddr::new(self.bind, *port)) {
                Ok(listener) => {
                    let shared = Arc::new(Shared {
                        rule: RwLock::new(rule.clone()),
                        next: AtomicUsize::new(0),
                        stopped: AtomicBool::new(false),
                    });
                    let wake_ip = if self.bind.is_unspecified() {
                        IpAddr::from([127, 0, 0, 1])
                    } else {
                        self.bind
                    };
                    let accepting = shared.clone();
                    thread::spawn(move || accept_loop(listener, accepting));
                    self.listeners.insert(
                        *port,
                        Listening {
                            shared,
                            wake: SocketAddr::new(wake_ip, *port),
                        },
                    );
                }
                Err(source) => errors.push(ForwardError::Bind {
                    port: *port,
                    source,
                }),
            }
        }
        errors
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.apply(&Config::new());
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            Ok(client) => {
                let shared = shared.clone();
                thread::spawn(move || serve(client, &shared));
            }
            Err(error) => {
                eprintln!("ferry-forward: accept failed: {error}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The order backends are tried in for a connection from `client`.
fn candidates(rule: &Rule, client: IpAddr, next: &AtomicUsize) -> Vec<SocketAddr> {
    let count = rule.backends.len();
    if count == 0 {
        return Vec::new();
    }
    let start = match rule.mode {
        Mode::RoundRobin => next.fetch_add(1, Ordering::Relaxed) % count,
        Mode::ClientIp => {
            let mut hasher = DefaultHasher::new();
            client.hash(&mut hasher);
            (hasher.finish() % count as u64) as usize
        }
    };
    (0..count)
        .map(|offset| rule.backends[(start + offset) % count])
        .collect()
}

fn serve(client: TcpStream, shared: &Shared) {
    let Ok(peer) = client.peer_addr() else { return };
    let order = {
        let rule = shared.rule.read().unwrap_or_else(|e| e.into_inner());
        candidates(&rule, peer.ip(), &shared.next)
    };
    for backend in order {
        match TcpStream::connect_timeout(&backend, CONNECT_TIMEOUT) {
            Ok(upstream) => {
                pipe(client, upstream);
                return;
            }
            Err(error) => {
                eprintln!(
                    "ferry-forward: connect to {backend} failed: {error}; trying the next backend"
                );
            }
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// Copies both ways until both directions ended (a finished direction half-closes the
/// other side's write end).
fn pipe(client: TcpStream, upstream: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (Ok(client_reader), Ok(upstream_writer)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let upload = thread::spawn(move || copy(client_reader, upstream_writer));
    copy(upstream, client);
    let _ = upload.join();
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Read);
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use super::*;

    #[test]
    fn parse_reads_rules_and_refuses_bad_lines() {
        let config = parse(
            "# comment\n\nlisten 80 rr 10.0.0.2:8080 10.0.0.3:8080\nlisten 81 client-ip # none\nend\n",
        )
        .unwrap();
        assert_eq!(config.len(), 2);
        assert_eq!(config[&80].mode, Mode::RoundRobin);
        assert_eq!(
            config[&80].backends,
            vec![
                "10.0.0.2:8080".parse::<SocketAddr>().unwrap(),
                "10.0.0.3:8080".parse().unwrap()
            ]
        );
        assert_eq!(config[&81].mode, Mode::ClientIp);
        assert!(config[&81].backends.is_empty());
        assert_eq!(parse(&render(&config)).unwrap(), config);
        assert_eq!(parse("end").unwrap(), Config::new());
        for (bad, expected) in [
            ("", "no closing `end`"),
            ("listen 80 rr 10.0.0.1:80", "no closing `end`"),
            ("end\nlisten 80 rr", "after the `end` line"),
            ("forward 80 rr\nend", "expected `listen"),
            ("listen\nend", "missing port"),
            ("listen 0 rr\nend", "not a number"),
            ("listen 70000 rr\nend", "not a number"),
            ("listen 80\nend", "missing mode"),
            ("listen 80 random\nend", "not rr or client-ip"),
            ("listen 80 rr 10.0.0.1\nend", "not ip:port"),
            ("listen 80 rr\nlisten 80 rr\nend", "listed twice"),
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains(expected), "{bad:?}: {error}");
        }
    }

    #[test]
    fn client_ip_keeps_a_client_on_one_backend_and_round_robin_rotates() {
        let backends: Vec<SocketAddr> = (1..=3)
            .map(|i| SocketAddr::from(([10, 0, 0, i], 80)))
            .collect();
        let next = AtomicUsize::new(0);
        let sticky = Rule {
            mode: Mode::ClientIp,
            backends: backends.clone(),
        };
        let client = IpAddr::from([172, 18, 0, 9]);
        let first = candidates(&sticky, client, &next)[0];
        for _ in 0..5 {
            assert_eq!(candidates(&sticky, client, &next)[0], first);
        }
        let rr = Rule {
            mode: Mode::RoundRobin,
            backends: backends.clone(),
        };
        let picks: Vec<SocketAddr> = (0..6).map(|_| candidates(&rr, client, &next)[0]).collect();
        assert_eq!(&picks[..3], &backends[..]);
        assert_eq!(&picks[3..], &backends[..]);
        // Every backend is a fallback, each once.
        let mut all = candidates(&rr, client, &next);
        all.sort();
        assert_eq!(all, backends);
    }

    /// A backend answering each connection with its name and closing.
    fn named_backend(name: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        thread::spawn(move || {
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

    fn ask(port: u16) -> io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    fn rule(mode: Mode, backends: &[SocketAddr]) -> Rule {
        Rule {
            mode,
            backends: backends.to_vec(),
        }
    }

    #[test]
    fn forwards_round_robin_skips_dead_backends_and_follows_new_configs() {
        let a = named_backend("a");
        let b = named_backend("b");
        // A port nothing listens on: connects are refused.
        let dead = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let port = free_port();
        let mut forwarder = Forwarder::new(IpAddr::from([127, 0, 0, 1]));
        let config = Config::from([(port, rule(Mode::RoundRobin, &[a, dead, b]))]);
        assert!(forwarder.apply(&config).is_empty());
        let answers: Vec<String> = (0..6).map(|_| ask(port).unwrap()).collect();
        assert!(answers.iter().all(|x| x == "a" || x == "b"), "{answers:?}");
        assert!(
            answers.iter().filter(|x| *x == "a").count() >= 2,
            "{answers:?}"
        );
        assert!(
            answers.iter().filter(|x| *x == "b").count() >= 2,
            "{answers:?}"
        );

        // Only b now: every answer is b.
        forwarder.apply(&Config::from([(port, rule(Mode::RoundRobin, &[b]))]));
        for _ in 0..4 {
            assert_eq!(ask(port).unwrap(), "b");
        }

        // No backend: the connection is closed without an answer.
        forwarder.apply(&Config::from([(port, rule(Mode::RoundRobin, &[]))]));
        assert_eq!(ask(port).unwrap_or_default(), "");

        // A second port, then the first one removed: it stops accepting.
        let other = free_port();
        forwarder.apply(&Config::from([(other, rule(Mode::ClientIp, &[a]))]));
        assert_eq!(ask(other).unwrap(), "a");
        assert_eq!(forwarder.ports(), vec![other]);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "port {port} still accepts"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn relays_both_ways_with_half_close() {
        // An upper-casing backend that answers once the client finished writing.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = io::BufReader::new(stream.try_clone().unwrap());
                let mut all = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    all.push_str(&line);
                    line.clear();
                }
                let mut stream = stream;
                let _ = stream.write_all(all.to_uppercase().as_bytes());
            }
        });
        let port = free_port();
        let mut forwarder = Forwarder::new(IpAddr::from([127, 0, 0, 1]));
        assert!(
            forwarder
                .apply(&Config::from([(port, rule(Mode::RoundRobin, &[backend]))]))
                .is_empty()
        );
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let payload = "hello\n".repeat(10_000);
        stream.write_all(payload.as_bytes()).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, payload.to_uppercase());
    }

    #[test]
    fn a_taken_port_is_reported_and_the_rest_applied() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let a = named_backend("a");
        let port = free_port();
        let mut forwarder = Forwarder::new(IpAddr::from([127, 0, 0, 1]));
        let errors = forwarder.apply(&Config::from([
            (taken_port, rule(Mode::RoundRobin, &[a])),
            (port, rule(Mode::RoundRobin, &[a])),
        ]));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .contains(&format!("port {taken_port}"))
        );
        assert_eq!(ask(port).unwrap(), "a");
    }
}
