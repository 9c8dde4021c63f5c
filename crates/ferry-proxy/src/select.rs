//! Pure backend selection: which backends a new connection may use, in which order it tries
//! them (round robin over the eligible ones), and the client-IP affinity table with idle
//! expiry. No IO and no clock reads: the caller passes `now`.
//!
//! An empty order means no backend is eligible: the proxy refuses the connection by closing
//! it at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What selection knows about one backend of the current set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The backend's id (the affinity key).
    pub id: &'a str,
    /// Whether it is healthy now.
    pub healthy: bool,
}

/// Returns the indices of the backends a new connection may use: all of them, or only the
/// healthy ones when `health_aware`.
pub fn eligible(candidates: &[Candidate<'_>], health_aware: bool) -> Vec<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, candidate)| !health_aware || candidate.healthy)
        .map(|(index, _)| index)
        .collect()
}

/// Returns the order in which a new connection tries the backends: the `cursor`-th eligible
/// backend (modulo their number) first, then the other eligible ones in ring order, so that
/// a failed connect moves on to the next one. Consecutive cursors spread connections evenly
/// over the eligible backends. Empty when none is eligible.
pub fn round_robin_order(
    candidates: &[Candidate<'_>],
    health_aware: bool,
    cursor: usize,
) -> Vec<usize> {
    let mut order = eligible(candidates, health_aware);
    if !order.is_empty() {
        let start = cursor % order.len();
        order.rotate_left(start);
    }
    order
}

/// Client-IP affinity: the backend each recently seen client is bound to.
///
/// A client keeps its backend while that backend is eligible and the client connects again
/// within the idle timeout; otherwise it is bound anew, round robin over the eligible
/// backends (the table's own cursor moves only on new bindings, so new clients spread
/// evenly).
#[derive(Debug, Default)]
pub struct AffinityTable {
    entries: HashMap<IpAddr, Binding>,
    cursor: usize,
    last_sweep: Option<Instant>,
}

#[derive(Debug)]
struct Binding {
    backend: String,
    last_used: Instant,
}

impl AffinityTable {
    /// An empty table.
    pub fn new() -> AffinityTable {
        AffinityTable::default()
    }

    /// Returns the order in which a connection from `client` tries the backends: its bound
    /// backend first when it is still eligible, else a new round-robin pick (and binds the
    /// client to it). Empty when none is eligible (the binding is then left as it was).
    pub fn order(
        &mut self,
        client: IpAddr,
        now: Instant,
        idle_timeout: Duration,
        candidates: &[Candidate<'_>],
        health_aware: bool,
    ) -> Vec<usize> {
        self.sweep_now_and_then(now, idle_timeout);
        let eligible = eligible(candidates, health_aware);
        if eligible.is_empty() {
            return eligible;
        }
        if let Some(binding) = self.entries.get_mut(&client)
            && now.saturating_duration_since(binding.last_used) <= idle_timeout
            && let Some(position) = eligible
                .iter()
                .position(|&index| candidates[index].id == binding.backend)
        {
            binding.last_used = now;
            let mut order = eligible;
            // The bound backend first, the others after it in ring order.
            order.rotate_left(position);
            return order;
        }
        let mut order = eligible;
        let start = self.cursor % order.len();
        self.cursor = self.cursor.wrapping_add(1);
        order.rotate_left(start);
        self.bind(client, candidates[order[0]].id, now);
        order
    }

    /// Binds `client` to `backend` (used when a failed connect moved the client on to
    /// another backend than the one [`order`](Self::order) put first).
    pub fn bind(&mut self, client: IpAddr, backend: &str, now: Instant) {
        match self.entries.get_mut(&client) {
            Some(binding) => {
                if binding.backend != backend {
                    backend.clone_into(&mut binding.backend);
                }
                binding.last_used = now;
            }
            None => {
                self.entries.insert(
                    client,
                    Binding {
                        backend: backend.to_owned(),
                        last_used: now,
                    },
                );
            }
        }
    }

    /// Returns the backend `client` is bound to, if its binding has not expired.
    pub fn bound(&self, client: IpAddr, now: Instant, idle_timeout: Duration) -> Option<&str> {
        self.entries
            .get(&client)
            .filter(|binding| now.saturating_duration_since(binding.last_used) <= idle_timeout)
            .map(|binding| binding.backend.as_str())
    }

    /// Number of bindings held (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no binding.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every binding idle for longer than `idle_timeout`.
    pub fn sweep(&mut self, now: Instant, idle_timeout: Duration) {
        self.entries
            .retain(|_, binding| now.saturating_duration_since(binding.last_used) <= idle_timeout);
        self.last_sweep = Some(now);
    }

    /// Sweeps at most once per idle timeout (at least once a second), so the table stays
    /// bounded by the clients seen within about two idle timeouts.
    fn sweep_now_and_then(&mut self, now: Instant, idle_timeout: Duration) {
        let period = idle_timeout.max(Duration::from_secs(1));
        match self.last_sweep {
            Some(last) if now.saturating_duration_since(last) < period => {}
            Some(_) => self.sweep(now, idle_timeout),
            None => self.last_sweep = Some(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const IDS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

    fn candidates(health: &[bool]) -> Vec<Candidate<'static>> {
        health
            .iter()
            .zip(IDS)
            .map(|(&healthy, id)| Candidate { id, healthy })
            .collect()
    }

    fn client(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
    }

    #[test]
    fn round_robin_cycles_and_puts_the_others_after_the_pick() {
        let set = candidates(&[true, true, true]);
        assert_eq!(round_robin_order(&set, true, 0), vec![0, 1, 2]);
        assert_eq!(round_robin_order(&set, true, 1), vec![1, 2, 0]);
        assert_eq!(round_robin_order(&set, true, 5), vec![2, 0, 1]);
    }

    #[test]
    fn unhealthy_backends_are_skipped_only_when_health_aware() {
        let set = candidates(&[true, false, true]);
        assert_eq!(round_robin_order(&set, true, 1), vec![2, 0]);
        assert_eq!(round_robin_order(&set, false, 1), vec![1, 2, 0]);
        let down = candidates(&[false, false]);
        assert!(round_robin_order(&down, true, 0).is_empty());
        assert!(round_robin_order(&[], false, 0).is_empty());
    }

    #[test]
    fn a_client_stays_on_its_backend_until_it_is_unhealthy_or_idle() {
        let idle = Duration::from_secs(10);
        let start = Instant::now();
        let mut table = AffinityTable::new();
        let set = candidates(&[true, true, true]);
        let first = table.order(client(2), start, idle, &set, true)[0];
        for step in 1..20 {
            let now = start + Duration::from_secs(step);
            assert_eq!(table.order(client(2), now, idle, &set, true)[0], first);
        }
        // Its backend goes down: it moves, and stays on the new one.
        let mut health = [true, true, true];
        health[first] = false;
        let degraded = candidates(&health);
        let later = start + Duration::from_secs(30);
        let moved = table.order(client(2), later, idle, &degraded, true)[0];
        assert_ne!(moved, first);
        assert_eq!(table.order(client(2), later, idle, &set, true)[0], moved);
        // Idle for longer than the timeout: bound anew, and swept eventually.
        let much_later = later + Duration::from_secs(11);
        assert_eq!(table.bound(client(2), much_later, idle), None);
        table.order(client(3), much_later, idle, &set, true);
        table.sweep(much_later, idle);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn new_clients_spread_evenly_and_a_failed_connect_rebinds() {
        let idle = Duration::from_secs(60);
        let now = Instant::now();
        let mut table = AffinityTable::new();
        let set = candidates(&[true, true, true]);
        let mut counts = [0; 3];
        for n in 2..8 {
            counts[table.order(client(n), now, idle, &set, true)[0]] += 1;
        }
        assert_eq!(counts, [2, 2, 2]);
        table.bind(client(2), "c", now);
        assert_eq!(table.order(client(2), now, idle, &set, true)[0], 2);
        assert!(
            table
                .order(client(9), now, idle, &candidates(&[false]), true)
                .is_empty()
        );
        assert_eq!(table.bound(client(9), now, idle), None);
    }

    proptest! {
        #[test]
        fn round_robin_spreads_within_one_and_never_picks_unhealthy(
            health in proptest::collection::vec(any::<bool>(), 1..8),
            start in 0usize..1000,
            rounds in 1usize..50,
        ) {
            let set = candidates(&health);
            let healthy = health.iter().filter(|h| **h).count();
            let mut counts = vec![0usize; set.len()];
            for cursor in start..start + rounds * set.len() {
                let order = round_robin_order(&set, true, cursor);
                prop_assert_eq!(order.len(), healthy);
                for &index in &order {
                    prop_assert!(set[index].healthy);
                }
                if let Some(&first) = order.first() {
                    counts[first] += 1;
                }
            }
            let picked: Vec<usize> = counts
                .iter()
                .zip(&health)
                .filter(|(_, h)| **h)
                .map(|(c, _)| *c)
                .collect();
            if let (Some(min), Some(max)) = (picked.iter().min(), picked.iter().max()) {
                prop_assert!(max - min <= 1, "counts {:?}", counts);
            }
        }

        #[test]
        fn affinity_is_sticky_and_never_picks_unhealthy(
            steps in proptest::collection::vec(
                (2u8..10, proptest::collection::vec(any::<bool>(), 4)),
                1..200,
            ),
        ) {
            let idle = Duration::from_secs(3600);
            let now = Instant::now();
            let mut table = AffinityTable::new();
            let mut previous: HashMap<u8, usize> = HashMap::new();
            for (n, health) in steps {
                let set = candidates(&health);
                let order = table.order(client(n), now, idle, &set, true);
                for &index in &order {
                    prop_assert!(set[index].healthy);
                }
                let Some(&pick) = order.first() else { continue };
                // Sticky: if the client's last backend is still healthy, it is chosen again.
                if let Some(&last) = previous.get(&n)
                    && health[last]
                {
                    prop_assert_eq!(pick, last);
                }
                previous.insert(n, pick);
            }
        }
    }
}
