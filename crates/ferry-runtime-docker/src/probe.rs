//! Health probes run by the adapter (Docker has no HTTP probe for images without curl):
//! the pure threshold counter, one check of a probe, and the per-container prober task.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use ferry_runtime::{Probe, ProbeAction};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};

/// What the prober knows of one container's health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Health {
    /// The startup check passed (or there is none) in the current run.
    pub(crate) started: bool,
    /// The readiness check passes (or there is none) in the current run.
    pub(crate) ready: bool,
    /// When it last became ready.
    pub(crate) ready_since: Option<SystemTime>,
    /// Why it is not healthy, e.g. `READINESS_CHECK_FAILED`.
    pub(crate) reason: String,
    /// Detail of the last failed check.
    pub(crate) message: String,
    /// Restarts after liveness failures (kept in the adapter's memory).
    pub(crate) restart_count: u32,
    /// The adapter is restarting the container now.
    pub(crate) restarting: bool,
}

/// Consecutive successes and failures of one probe against its thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProbeCounter {
    success_threshold: u32,
    failure_threshold: u32,
    successes: u32,
    failures: u32,
    healthy: Option<bool>,
}

impl ProbeCounter {
    /// A counter for `probe`, neither healthy nor unhealthy yet.
    pub(crate) fn new(probe: &Probe) -> Self {
        Self {
            success_threshold: probe.success_threshold.max(1),
            failure_threshold: probe.failure_threshold.max(1),
            successes: 0,
            failures: 0,
            healthy: None,
        }
    }

    /// Records one check; returns the new verdict when it changes.
    pub(crate) fn record(&mut self, ok: bool) -> Option<bool> {
        if ok {
            self.successes += 1;
            self.failures = 0;
            if self.successes >= self.success_threshold && self.healthy != Some(true) {
                self.healthy = Some(true);
                return Some(true);
            }
        } else {
            self.failures += 1;
            self.successes = 0;
            if self.failures >= self.failure_threshold && self.healthy != Some(false) {
                self.healthy = Some(false);
                return Some(false);
            }
        }
        None
    }

    /// The current verdict, `None` before the thresholds were reached once.
    #[cfg(test)]
    pub(crate) fn healthy(&self) -> Option<bool> {
        self.healthy
    }
}

/// Where a probe reaches the container.
#[derive(Clone, Debug)]
pub(crate) struct ProbeTarget {
    /// The Docker client of the container's engine (for exec probes).
    pub(crate) docker: Docker,
    /// The container id.
    pub(crate) container: String,
    /// The container's address on the namespace network.
    pub(crate) ip: Option<IpAddr>,
    /// Published ports: (container port, host address, host port).
    pub(crate) published: Vec<(u16, IpAddr, u16)>,
}

impl ProbeTarget {
    fn address(&self, port: u16) -> Option<SocketAddr> {
        // The container's own address first: the adapter runs beside the engine. A
        // published port is the way in when the bridge is not reachable.
        if let Some(ip) = self.ip {
            return Some(SocketAddr::new(ip, port));
        }
        self.published
            .iter()
            .find(|(container_port, _, _)| *container_port == port)
            .map(|(_, ip, host_port)| SocketAddr::new(*ip, *host_port))
    }
}

/// Runs one check of `probe`; `Err` says why it failed.
pub(crate) async fn check(probe: &Probe, target: &ProbeTarget) -> Result<(), String> {
    let limit = probe.timeout.max(Duration::from_millis(100));
    match timeout(limit, check_inner(&probe.action, target)).await {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {limit:?}")),
    }
}

async fn check_inner(action: &ProbeAction, target: &ProbeTarget) -> Result<(), String> {
    match action {
        ProbeAction::Tcp { port } => {
            let address = target
                .address(*port)
                .ok_or_else(|| "the container has no address".to_string())?;
            TcpStream::connect(address)
                .await
                .map(|_| ())
                .map_err(|e| format!("connect {address}: {e}"))
        }
        ProbeAction::Http {
            port,
            path,
            headers,
        } => {
            let address = target
                .address(*port)
                .ok_or_else(|| "the container has no address".to_string())?;
            let mut stream = TcpStream::connect(address)
                .await
                .map_err(|e| format!("connect {address}: {e}"))?;
            let mut request = format!(
                "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: ferry-probe\r\nConnection: close\r\n"
            );
            for (name, value) in headers {
                request.push_str(&format!("{name}: {value}\r\n"));
            }
            request.push_str("\r\n");
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| format!("write to {address}: {e}"))?;
            let mut head = Vec::with_capacity(64);
            let mut buffer = [0u8; 256];
            while !head.contains(&b'\n') && head.len() < 4096 {
                let n = stream
                    .read(&mut buffer)
                    .await
                    .map_err(|e| format!("read from {address}: {e}"))?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buffer[..n]);
            }
            let line = String::from_utf8_lossy(&head);
            let status: u16 = line
                .split_whitespace()
                .nth(1)
                .and_then(|code| code.parse().ok())
                .ok_or_else(|| format!("no HTTP status from {address}"))?;
            if (200..400).contains(&status) {
                Ok(())
            } else {
                Err(format!("GET {path} answered {status}"))
            }
        }
        ProbeAction::Exec { command } => {
            let exec = target
                .docker
                .create_exec(
                    &target.container,
                    ExecConfig {
                        cmd: Some(command.clone()),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| format!("exec: {e}"))?;
            if let StartExecResults::Attached { mut output, .. } = target
                .docker
                .start_exec(&exec.id, None::<StartExecOptions>)
                .await
                .map_err(|e| format!("exec: {e}"))?
            {
                while output.next().await.is_some() {}
            }
            let inspect = target
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| format!("exec: {e}"))?;
            match inspect.exit_code {
                Some(0) => Ok(()),
                code => Err(format!("{command:?} exited with {code:?}")),
            }
        }
    }
}

/// What a prober needs from the adapter; kept behind a trait so this module stays free
/// of the runtime's internals.
pub(crate) trait ProberHost: Send + Sync + 'static {
    /// Updates the health record of a container.
    fn update_health(&self, container: &str, update: &dyn Fn(&mut Health));
    /// The container's current target, `None` when it no longer runs (the prober ends).
    fn target(
        &self,
        container: &str,
    ) -> impl std::future::Future<Output = Option<ProbeTarget>> + Send;
    /// Restarts the container after a liveness failure.
    fn restart(&self, container: &str) -> impl std::future::Future<Output = ()> + Send;
    /// Tells event subscribers that an instance's health changed.
    fn health_event(&self, container: &str, action: &str);
}

/// The probes of one container.
#[derive(Clone, Debug, Default)]
pub(crate) struct Probes {
    /// Must pass once before the others run.
    pub(crate) startup: Option<Probe>,
    /// Decides `ready`.
    pub(crate) readiness: Option<Probe>,
    /// Restarts the container when it fails.
    pub(crate) liveness: Option<Probe>,
}

/// The prober of one container: runs until the container stops running (or the adapter is
/// dropped), restarting it on liveness failure.
pub(crate) async fn run_prober<H: ProberHost>(host: Weak<H>, container: String, probes: Probes) {
    loop {
        let restart = run_once(&host, &container, &probes).await;
        let Some(strong) = host.upgrade() else { return };
        if !restart {
            return;
        }
        strong.update_health(&container, &|h| {
            h.restarting = true;
            h.ready = false;
            h.started = false;
            h.ready_since = None;
            h.restart_count += 1;
            h.reason = "LIVENESS_CHECK_FAILED".into();
        });
        strong.health_event(&container, "health_status: unhealthy");
        strong.restart(&container).await;
        strong.update_health(&container, &|h| h.restarting = false);
    }
}

/// One run of the container; returns whether a liveness failure asks for a restart.
async fn run_once<H: ProberHost>(host: &Weak<H>, container: &str, probes: &Probes) -> bool {
    let run_start = Instant::now();
    let Some(target) = fetch_target(host, container).await else {
        return false;
    };
    let target = Arc::new(target);
    if let Some(startup) = &probes.startup {
        let mut counter = ProbeCounter::new(startup);
        let mut next = run_start + startup.initial_delay;
        loop {
            sleep_until(next).await;
            next += startup.period.max(Duration::from_millis(100));
            let Some(strong) = host.upgrade() else {
                return false;
            };
            if strong.target(container).await.is_none() {
                return false;
            }
            let result = check(startup, &target).await;
            match counter.record(result.is_ok()) {
                Some(true) => break,
                Some(false) => {
                    strong.update_health(container, &|h| {
                        h.message = format!(
                            "startup check: {}",
                            result.clone().err().unwrap_or_default()
                        );
                    });
                    return true;
                }
                None => {}
            }
        }
    }
    let Some(strong) = host.upgrade() else {
        return false;
    };
    let ready_now = probes.readiness.is_none();
    strong.update_health(container, &|h| {
        h.started = true;
        h.ready = ready_now;
        h.ready_since = ready_now.then(SystemTime::now);
        h.reason = if ready_now {
            String::new()
        } else {
            "READINESS_CHECK_FAILED".into()
        };
    });
    drop(strong);
    let started = Instant::now();
    let mut readiness = probes
        .readiness
        .as_ref()
        .map(|p| (p, ProbeCounter::new(p), started + p.initial_delay));
    let mut liveness = probes
        .liveness
        .as_ref()
        .map(|p| (p, ProbeCounter::new(p), started + p.initial_delay));
    // Checks that the container still runs even when it has no probe at all.
    let mut presence = started + Duration::from_secs(2);
    loop {
        let next_readiness = readiness.as_ref().map(|(_, _, at)| *at);
        let next_liveness = liveness.as_ref().map(|(_, _, at)| *at);
        let wake = [Some(presence), next_readiness, next_liveness]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(presence);
        sleep_until(wake).await;
        let Some(strong) = host.upgrade() else {
            return false;
        };
        let now = Instant::now();
        if now >= presence {
            presence = now + Duration::from_secs(2);
        }
        let Some(current) = strong.target(container).await else {
            strong.update_health(container, &|h| {
                h.ready = false;
                h.ready_since = None;
            });
            return false;
        };
        if let Some((probe, counter, at)) = readiness.as_mut().filter(|(_, _, at)| now >= *at) {
            *at = now + probe.period.max(Duration::from_millis(100));
            let result = check(probe, &current).await;
            if let Some(verdict) = counter.record(result.is_ok()) {
                let message = result.err().unwrap_or_default();
                strong.update_health(container, &|h| {
                    h.ready = verdict;
                    h.ready_since = verdict.then(SystemTime::now);
                    h.reason = if verdict {
                        String::new()
                    } else {
                        "READINESS_CHECK_FAILED".into()
                    };
                    h.message = message.clone();
                });
                strong.health_event(
                    container,
                    if verdict {
                        "health_status: healthy"
                    } else {
                        "health_status: unhealthy"
                    },
                );
            }
        }
        if let Some((probe, counter, at)) = liveness.as_mut().filter(|(_, _, at)| now >= *at) {
            *at = now + probe.period.max(Duration::from_millis(100));
            let result = check(probe, &current).await;
            if counter.record(result.is_ok()) == Some(false) {
                let message = result.err().unwrap_or_default();
                strong.update_health(container, &|h| {
                    h.message = format!("liveness check: {message}");
                });
                return true;
            }
        }
    }
}

async fn fetch_target<H: ProberHost>(host: &Weak<H>, container: &str) -> Option<ProbeTarget> {
    let strong = host.upgrade()?;
    strong.target(container).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(success: u32, failure: u32) -> Probe {
        Probe {
            action: ProbeAction::Tcp { port: 1 },
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    #[test]
    fn counter_needs_consecutive_results() {
        let mut counter = ProbeCounter::new(&probe(2, 3));
        assert_eq!(counter.record(true), None);
        assert_eq!(counter.record(false), None);
        assert_eq!(counter.record(true), None);
        assert_eq!(counter.record(true), Some(true));
        assert_eq!(counter.record(true), None, "no change, no verdict");
        assert_eq!(counter.record(false), None);
        assert_eq!(counter.record(false), None);
        assert_eq!(counter.healthy(), Some(true));
        assert_eq!(counter.record(false), Some(false));
        assert_eq!(counter.record(false), None);
        assert_eq!(counter.record(true), None);
        assert_eq!(counter.record(true), Some(true));
    }

    #[test]
    fn zero_thresholds_count_as_one() {
        let mut counter = ProbeCounter::new(&probe(0, 0));
        assert_eq!(counter.record(false), Some(false));
        assert_eq!(counter.record(true), Some(true));
    }
}
