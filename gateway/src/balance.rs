//! The proxy's decisions, as pure functions over plain data: which instance takes a call
//! ([`choose`]), whether a failed attempt may be retried on another instance
//! ([`may_retry`]), and whether the failed instance sits out a cool-down ([`cools_down`]).

use std::time::Duration;

/// Attempts per call, the first included (each on a different instance).
pub const MAX_ATTEMPTS: usize = 3;

/// How long an instance whose connection failed is skipped.
pub const COOL_DOWN: Duration = Duration::from_secs(2);

/// One instance a call could go to, as the balancer sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Candidate {
    /// Preference: lower is preferred (0 for the target service, 1 for the others a
    /// call to "any service" may use).
    pub rank: u8,
    /// Calls the gateway has in flight on it.
    pub in_flight: usize,
    /// Its connection failed recently.
    pub cooling: bool,
    /// This call already tried it.
    pub tried: bool,
    /// It has as many calls in flight as the gateway sends it at once: never chosen.
    pub full: bool,
}

/// Picks the instance for the next attempt; `None` when every candidate was tried or is
/// full ([`all_full`] tells the two apart).
///
/// Untried instances that are not full only; those cooling down only when no other is left (a last resort
/// beats a certain UNAVAILABLE: a cool-down orders the choice, it never refuses a call
/// an instance might still answer); the best rank among those; then the power of two
/// choices: of two candidates drawn with `random`, the one with fewer calls in flight
/// (the first on a tie). Two random draws spread load like round robin when all are
/// idle and steer away from a slow instance without any shared counter.
pub fn choose(candidates: &[Candidate], random: [usize; 2]) -> Option<usize> {
    let untried: Vec<usize> = (0..candidates.len())
        .filter(|&i| !candidates[i].tried && !candidates[i].full)
        .collect();
    let warm: Vec<usize> = untried
        .iter()
        .copied()
        .filter(|&i| !candidates[i].cooling)
        .collect();
    let pool = if warm.is_empty() { untried } else { warm };
    let best = pool.iter().map(|&i| candidates[i].rank).min()?;
    let pool: Vec<usize> = pool
        .into_iter()
        .filter(|&i| candidates[i].rank == best)
        .collect();
    if pool.len() == 1 {
        return Some(pool[0]);
    }
    let first = random[0] % pool.len();
    // The second draw is among the others, so the two are always distinct.
    let mut second = random[1] % (pool.len() - 1);
    if second >= first {
        second += 1;
    }
    let (a, b) = (pool[first], pool[second]);
    Some(if candidates[b].in_flight < candidates[a].in_flight {
        b
    } else {
        a
    })
}

/// True when some instance is left untried but every such one is full: the call is
/// refused at once (UNAVAILABLE, to be retried later) rather than queued.
pub fn all_full(candidates: &[Candidate]) -> bool {
    let mut untried = candidates.iter().filter(|candidate| !candidate.tried);
    let mut any = false;
    let full = untried.all(|candidate| {
        any = true;
        candidate.full
    });
    any && full
}

/// How an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The request never reached the instance: the connection could not be made, or the
    /// instance refused the stream before reading it.
    NotSent,
    /// The connection broke after the request was (maybe) sent: the instance may have
    /// acted on it.
    Lost,
    /// The instance answered UNAVAILABLE (shedding load, or its own dependency is down).
    Unavailable,
}

/// What makes a call safe to send again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// The request body is buffered, so it can be sent again at all.
    pub buffered: bool,
    /// The method only reads ([`is_idempotent`]).
    pub idempotent: bool,
    /// The request carries a `request_id`: the service answers a repeat from its record.
    pub request_id: bool,
}

impl Replay {
    /// True when sending the call twice cannot do harm.
    pub fn harmless(&self) -> bool {
        self.idempotent || self.request_id
    }
}

/// True when a call that failed its `attempts`-th attempt may go to another instance.
///
/// A request that never reached an instance may always be sent elsewhere; one that may
/// have reached it only when sending it twice is harmless. Either way the body must
/// have been buffered, and attempts are capped by [`MAX_ATTEMPTS`].
pub fn may_retry(failure: Failure, replay: Replay, attempts: usize) -> bool {
    if !replay.buffered || attempts >= MAX_ATTEMPTS {
        return false;
    }
    match failure {
        Failure::NotSent => true,
        Failure::Lost | Failure::Unavailable => replay.harmless(),
    }
}

/// True when the failure says the instance (not the call) is in trouble, so it sits out
/// a [`COOL_DOWN`]. An UNAVAILABLE answer comes from an instance that is up.
pub fn cools_down(failure: Failure) -> bool {
    match failure {
        Failure::NotSent | Failure::Lost => true,
        Failure::Unavailable => false,
    }
}

/// True for the API's reads: methods named `Get…`, `List…`, `Watch…` and `Wait…`.
pub fn is_idempotent(method: &str) -> bool {
    ["Get", "List", "Watch", "Wait"].iter().any(|verb| {
        method
            .strip_prefix(verb)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(n: usize) -> Vec<Candidate> {
        vec![Candidate::default(); n]
    }

    #[test]
    fn nothing_to_choose_from_is_none() {
        assert_eq!(choose(&[], [0, 0]), None);
        let all_tried = vec![
            Candidate {
                tried: true,
                ..Default::default()
            };
            3
        ];
        assert_eq!(choose(&all_tried, [0, 1]), None);
    }

    #[test]
    fn of_two_random_instances_the_less_busy_one_wins() {
        let mut candidates = idle(3);
        candidates[0].in_flight = 5;
        candidates[1].in_flight = 1;
        candidates[2].in_flight = 3;
        assert_eq!(choose(&candidates, [0, 0]), Some(1)); // draws 0 and 1
        assert_eq!(choose(&candidates, [0, 1]), Some(2)); // draws 0 and 2
        assert_eq!(choose(&candidates, [2, 0]), Some(2)); // draws 2 and 0
        // The two draws are always distinct.
        assert_eq!(choose(&idle(2), [1, 1]), Some(1));
        assert_eq!(choose(&idle(2), [0, 7]), Some(0));
    }

    #[test]
    fn random_draws_spread_idle_load_over_every_instance() {
        let candidates = idle(4);
        let mut seen = [0usize; 4];
        for a in 0..16 {
            for b in 0..16 {
                seen[choose(&candidates, [a, b]).unwrap()] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    }

    #[test]
    fn tried_instances_are_never_chosen_again() {
        let mut candidates = idle(3);
        candidates[0].tried = true;
        candidates[2].tried = true;
        for a in 0..5 {
            assert_eq!(choose(&candidates, [a, a + 1]), Some(1));
        }
    }

    #[test]
    fn cooling_instances_are_skipped_while_another_is_left() {
        let mut candidates = idle(2);
        candidates[0].cooling = true;
        candidates[1].in_flight = 100;
        assert_eq!(choose(&candidates, [0, 0]), Some(1));
        // Last resort: only cooling instances remain untried.
        candidates[1].tried = true;
        assert_eq!(choose(&candidates, [0, 0]), Some(0));
    }

    #[test]
    fn the_preferred_rank_wins_while_it_has_a_warm_instance() {
        let candidates = vec![
            Candidate {
                rank: 1,
                ..Default::default()
            },
            Candidate {
                rank: 0,
                in_flight: 50,
                ..Default::default()
            },
        ];
        assert_eq!(choose(&candidates, [0, 0]), Some(1));
        // The preferred one is cooling: another service answers instead.
        let mut candidates = candidates;
        candidates[1].cooling = true;
        assert_eq!(choose(&candidates, [0, 0]), Some(0));
    }

    #[test]
    fn full_instances_are_never_chosen_and_all_full_is_told_apart() {
        let mut candidates = idle(3);
        candidates[0].full = true;
        candidates[1].full = true;
        for a in 0..5 {
            assert_eq!(choose(&candidates, [a, a + 1]), Some(2));
        }
        assert!(!all_full(&candidates));
        candidates[2].full = true;
        assert_eq!(choose(&candidates, [0, 1]), None);
        assert!(all_full(&candidates), "every instance is full");
        // Tried instances do not count: the call already failed there.
        candidates[2] = Candidate {
            tried: true,
            ..Default::default()
        };
        assert!(all_full(&candidates));
        // Nothing left at all is not "full": there is no instance.
        assert!(!all_full(&[]));
        let tried = vec![
            Candidate {
                tried: true,
                ..Default::default()
            };
            2
        ];
        assert!(!all_full(&tried));
    }

    #[test]
    fn retries_only_when_safe() {
        let read = Replay {
            buffered: true,
            idempotent: true,
            request_id: false,
        };
        let keyed_write = Replay {
            buffered: true,
            idempotent: false,
            request_id: true,
        };
        let plain_write = Replay {
            buffered: true,
            ..Default::default()
        };
        let stream = Replay {
            buffered: false,
            idempotent: true,
            request_id: true,
        };
        // Never reached the instance: always safe (when the body can be sent again).
        assert!(may_retry(Failure::NotSent, plain_write, 1));
        assert!(may_retry(Failure::NotSent, read, 1));
        assert!(!may_retry(Failure::NotSent, stream, 1));
        // May have reached it: reads and request ids only.
        for failure in [Failure::Lost, Failure::Unavailable] {
            assert!(may_retry(failure, read, 1));
            assert!(may_retry(failure, keyed_write, 2));
            assert!(!may_retry(failure, plain_write, 1), "{failure:?}");
            assert!(!may_retry(failure, stream, 1));
        }
        // Capped.
        assert!(!may_retry(Failure::NotSent, read, MAX_ATTEMPTS));
    }

    #[test]
    fn only_connection_failures_cool_an_instance_down() {
        assert!(cools_down(Failure::NotSent));
        assert!(cools_down(Failure::Lost));
        assert!(!cools_down(Failure::Unavailable));
    }

    #[test]
    fn reads_are_recognised_by_their_verb() {
        for read in [
            "GetNamespace",
            "ListNamespaces",
            "WatchOperation",
            "WaitOperation",
            "GetOperation",
        ] {
            assert!(is_idempotent(read), "{read}");
        }
        for write in [
            "CreateNamespace",
            "DeleteNamespace",
            "UpdateNamespace",
            "CancelOperation",
            "Getaway",
            "Listen",
            "Get",
            "Waiting",
        ] {
            assert!(!is_idempotent(write), "{write}");
        }
    }
}
