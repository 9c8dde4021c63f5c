//! The rollout planner: how many instances each revision's group should have next. Pure:
//! plain data in, a decision out; the controller reads the world, calls [`plan`], and
//! applies the result.
//!
//! A rolling step (with `replicas` R, `max_surge` S and `max_unavailable` U):
//! 1. grow the target group while the total stays within R + S;
//! 2. shrink the other groups by what is unavailable in them (free to remove), plus as
//!    many as the available instances allow while keeping at least R − U available;
//! 3. done when the target group has R instances, all available, and no other group has
//!    any.
//!
//! With the default S = 1, U = 0 this is "one instance at a time": a new instance must be
//! available before an old one is removed. RECREATE empties the other groups first, then
//! fills the target. A failure (an instance of the target ended, or stayed unready past
//! the health deadline) stops the plan; the controller then rolls back (the same
//! algorithm toward the previous revision) or stops where it is.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A rollout strategy with its defaults resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strategy {
    /// RECREATE instead of ROLLING.
    pub recreate: bool,
    /// Instances allowed above `replicas`.
    pub max_surge: u32,
    /// Instances of `replicas` allowed to be unavailable.
    pub max_unavailable: u32,
    /// How long a new instance may take to become ready.
    pub health_deadline: Duration,
    /// How long a ready instance must stay ready to count as available.
    pub min_ready: Duration,
}

/// One observed instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Its revision id.
    pub revision: String,
    /// Counts toward its group's size (pending or running on a live host).
    pub live: bool,
    /// Passes its readiness check.
    pub ready: bool,
    /// Since when it is ready.
    pub ready_since: Option<SystemTime>,
    /// When it was started (or created).
    pub started_at: Option<SystemTime>,
    /// It ended (exited, failed): a crash if it belongs to a rollout's target.
    pub ended: bool,
    /// When it ended.
    pub ended_at: Option<SystemTime>,
    /// Why, for messages.
    pub reason: String,
    /// Its id, for messages.
    pub instance: String,
}

impl Observed {
    /// Ready for at least `min_ready`.
    pub fn available(&self, min_ready: Duration, now: SystemTime) -> bool {
        self.live
            && self.ready
            && self
                .ready_since
                .is_none_or(|since| now.duration_since(since).unwrap_or_default() >= min_ready)
    }
}

/// What to plan for.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The desired number of instances.
    pub replicas: u32,
    /// How to move.
    pub strategy: &'a Strategy,
    /// The revision to move every instance to.
    pub target: &'a str,
    /// Whether failures of `target` instances end the plan (a rollout moving forward);
    /// false while rolling back or aborting (which must finish) and in steady state.
    pub watch_failures: bool,
    /// Failures before this time are ignored (the rollout's start).
    pub since: Option<SystemTime>,
    /// The group sizes now.
    pub groups: &'a BTreeMap<String, u32>,
    /// What runs.
    pub observed: &'a [Observed],
    /// The time.
    pub now: SystemTime,
}

/// The outcome of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Keep going (apply the groups, look again later).
    Progressing,
    /// The target group has every instance, all available; no other group remains.
    Complete,
    /// An instance of the target failed; the groups were left unchanged.
    Failed {
        /// Stable reason, e.g. `INSTANCE_FAILED`, `INSTANCE_HEALTH_DEADLINE_EXCEEDED`.
        reason: &'static str,
        /// What happened.
        message: String,
        /// The instance.
        instance: String,
    },
}

/// A plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The group sizes to apply (groups at 0 are to be deleted).
    pub groups: BTreeMap<String, u32>,
    /// The outcome.
    pub verdict: Verdict,
    /// Live instances of the target.
    pub updated: u32,
    /// Available instances of the target.
    pub available: u32,
    /// Live instances of other revisions.
    pub old: u32,
}

/// Resolves `CountOrPercent` style values: a count, or a percentage of `replicas`
/// rounded up (`round_up`) or down.
pub fn resolve(
    count: Option<i32>,
    percent: Option<i32>,
    replicas: u32,
    round_up: bool,
    default: u32,
) -> u32 {
    match (count, percent) {
        (Some(count), _) => count.max(0) as u32,
        (None, Some(percent)) => {
            let scaled = u64::from(replicas) * percent.clamp(0, 100) as u64;
            (if round_up {
                scaled.div_ceil(100)
            } else {
                scaled / 100
            }) as u32
        }
        (None, None) => default,
    }
}

/// Plans the next group sizes.
pub fn plan(input: &Input<'_>) -> Plan {
    let now = input.now;
    let min_ready = input.strategy.min_ready;
    let target = input.target;
    let of_target = |o: &&Observed| o.revision == target;
    let updated = input
        .observed
        .iter()
        .filter(of_target)
        .filter(|o| o.live)
        .count() as u32;
    let available_target = input
        .observed
        .iter()
        .filter(of_target)
        .filter(|o| o.available(min_ready, now))
        .count() as u32;
    let old_live = input
        .observed
        .iter()
        .filter(|o| o.revision != target && o.live)
        .count() as u32;
    let mut groups: BTreeMap<String, u32> = input.groups.clone();
    let summary = |groups: BTreeMap<String, u32>, verdict| Plan {
        groups,
        verdict,
        updated,
        available: available_target,
        old: old_live,
    };

    if input.watch_failures
        && let Some(failure) = find_failure(input)
    {
        return summary(input.groups.clone(), failure);
    }

    let replicas = input.replicas;
    let new_size = groups.get(target).copied().unwrap_or(0);
    let old_sizes: u32 = groups
        .iter()
        .filter(|(r, _)| r.as_str() != target)
        .map(|(_, n)| n)
        .sum();
    let complete = new_size == replicas
        && old_sizes == 0
        && updated >= replicas
        && available_target >= replicas;
    if complete {
        groups.retain(|revision, _| revision == target);
        return summary(groups, Verdict::Complete);
    }

    if input.strategy.recreate {
        // Empty every other group; only once nothing old runs, fill the target.
        for (revision, size) in groups.iter_mut() {
            if revision != target {
                *size = 0;
            }
        }
        if old_live == 0 {
            groups.insert(target.to_string(), replicas);
        }
        return summary(groups, Verdict::Progressing);
    }

    // A scale-in during a rollout shrinks the target at once.
    let mut new_size = new_size.min(replicas);
    // 1. Grow the target within the surge budget.
    let max_total = replicas + input.strategy.max_surge;
    let total = new_size + old_sizes;
    if new_size < replicas && total < max_total {
        new_size += (max_total - total).min(replicas - new_size);
    }
    groups.insert(target.to_string(), new_size);

    // 2. Shrink the other groups, oldest revision first.
    let min_available = replicas.saturating_sub(input.strategy.max_unavailable);
    let available_old = input
        .observed
        .iter()
        .filter(|o| o.revision != target && o.available(min_ready, now))
        .count() as u32;
    let mut removable_available = (available_target + available_old).saturating_sub(min_available);
    let mut old: Vec<(u64, String)> = groups
        .keys()
        .filter(|r| r.as_str() != target)
        .map(|r| (revision_number(r), r.clone()))
        .collect();
    old.sort();
    for (_, revision) in old {
        let size = groups[&revision];
        let available_here = input
            .observed
            .iter()
            .filter(|o| o.revision == revision && o.available(min_ready, now))
            .count() as u32;
        // Instances that are not available are free to remove.
        let unavailable_here = size.saturating_sub(available_here);
        let mut remove = unavailable_here.min(size);
        let more = (size - remove).min(removable_available);
        remove += more;
        removable_available -= more;
        groups.insert(revision, size - remove);
    }
    summary(groups, Verdict::Progressing)
}

/// The number in a revision id `r{n}` (0 if it has none), to order revisions.
pub fn revision_number(revision: &str) -> u64 {
    revision
        .strip_prefix('r')
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn find_failure(input: &Input<'_>) -> Option<Verdict> {
    let deadline = input.strategy.health_deadline;
    for observed in input.observed.iter().filter(|o| o.revision == input.target) {
        let after_start = |time: Option<SystemTime>| match (time, input.since) {
            (Some(time), Some(since)) => time >= since,
            _ => true,
        };
        if observed.ended && after_start(observed.ended_at.or(observed.started_at)) {
            let why = if observed.reason.is_empty() {
                "ended"
            } else {
                observed.reason.as_str()
            };
            return Some(Verdict::Failed {
                reason: "INSTANCE_FAILED",
                message: format!("instance {} failed: {why}", observed.instance),
                instance: observed.instance.clone(),
            });
        }
        if observed.live && !observed.ready {
            let started = observed.started_at.or(input.since);
            if let Some(started) = started
                && input.now.duration_since(started).unwrap_or_default() > deadline
            {
                return Some(Verdict::Failed {
                    reason: "INSTANCE_HEALTH_DEADLINE_EXCEEDED",
                    message: format!(
                        "instance {} not ready within {}",
                        observed.instance,
                        humanize(deadline)
                    ),
                    instance: observed.instance.clone(),
                });
            }
        }
    }
    None
}

fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy() -> Strategy {
        Strategy {
            recreate: false,
            max_surge: 1,
            max_unavailable: 0,
            health_deadline: Duration::from_secs(60),
            min_ready: Duration::ZERO,
        }
    }

    fn inst(revision: &str, n: usize, ready: bool) -> Vec<Observed> {
        (0..n)
            .map(|i| Observed {
                revision: revision.into(),
                live: true,
                ready,
                ready_since: ready.then_some(SystemTime::UNIX_EPOCH),
                started_at: Some(SystemTime::UNIX_EPOCH),
                ended: false,
                ended_at: None,
                reason: String::new(),
                instance: format!("{revision}-{i}"),
            })
            .collect()
    }

    fn groups(entries: &[(&str, u32)]) -> BTreeMap<String, u32> {
        entries.iter().map(|(r, n)| (r.to_string(), *n)).collect()
    }

    fn run(
        replicas: u32,
        strategy: &Strategy,
        groups: &BTreeMap<String, u32>,
        observed: &[Observed],
    ) -> Plan {
        plan(&Input {
            replicas,
            strategy,
            target: "r2",
            watch_failures: true,
            since: None,
            groups,
            observed,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(10),
        })
    }

    /// Simulates a whole rollout where every planned instance becomes ready at once, and
    /// checks the invariants at every step: never more than R + S instances, never fewer
    /// than R − U available.
    fn simulate(replicas: u32, surge: u32, unavailable: u32) -> usize {
        let strategy = Strategy {
            max_surge: surge,
            max_unavailable: unavailable,
            ..strategy()
        };
        let mut groups = groups(&[("r1", replicas)]);
        for step in 1..100 {
            let observed: Vec<Observed> = groups
                .iter()
                .flat_map(|(revision, n)| inst(revision, *n as usize, true))
                .collect();
            let available = observed.len() as u32;
            assert!(
                available >= replicas.saturating_sub(unavailable),
                "step {step}: {groups:?}"
            );
            let plan = run(replicas, &strategy, &groups, &observed);
            let total: u32 = plan.groups.values().sum();
            assert!(total <= replicas + surge, "step {step}: {:?}", plan.groups);
            if plan.verdict == Verdict::Complete {
                assert_eq!(plan.groups, groups_of(&[("r2", replicas)]));
                return step;
            }
            assert_ne!(plan.groups, groups, "step {step}: no progress");
            // Shrinking happens at once; growth is observed next round.
            groups = plan.groups;
        }
        panic!("rollout did not complete");
    }

    fn groups_of(entries: &[(&str, u32)]) -> BTreeMap<String, u32> {
        groups(entries)
    }

    #[test]
    fn one_at_a_time_by_default() {
        // Start: r1=3. The first step adds one r2 instance and removes nothing.
        let g = groups(&[("r1", 3)]);
        let plan = run(3, &strategy(), &g, &inst("r1", 3, true));
        assert_eq!(plan.groups, groups(&[("r1", 3), ("r2", 1)]));
        // The new one is not ready yet: nothing old is removed.
        let g = groups(&[("r1", 3), ("r2", 1)]);
        let mut observed = inst("r1", 3, true);
        observed.extend(inst("r2", 1, false));
        let plan = run(3, &strategy(), &g, &observed);
        assert_eq!(plan.groups, g);
        // Once ready, one old instance goes.
        let mut observed = inst("r1", 3, true);
        observed.extend(inst("r2", 1, true));
        let plan = run(3, &strategy(), &g, &observed);
        assert_eq!(plan.groups, groups(&[("r1", 2), ("r2", 1)]));
    }

    #[test]
    fn rollouts_complete_within_their_budgets() {
        for replicas in 1..6 {
            for (surge, unavailable) in [(1, 0), (0, 1), (2, 0), (1, 1), (3, 2)] {
                let steps = simulate(replicas, surge, unavailable);
                assert!(
                    steps <= 2 * replicas as usize + 2,
                    "{replicas} {surge} {unavailable}: {steps}"
                );
            }
        }
    }

    #[test]
    fn a_crashed_target_instance_fails_the_plan_without_changes() {
        let g = groups(&[("r1", 3), ("r2", 1)]);
        let mut observed = inst("r1", 3, true);
        let mut crashed = inst("r2", 1, false);
        crashed[0].live = false;
        crashed[0].ended = true;
        crashed[0].reason = "ERROR (exit 1)".into();
        observed.extend(crashed);
        let plan = run(3, &strategy(), &g, &observed);
        assert_eq!(plan.groups, g);
        assert!(matches!(
            plan.verdict,
            Verdict::Failed { reason: "INSTANCE_FAILED", ref message, .. } if message == "instance r2-0 failed: ERROR (exit 1)"
        ));
    }

    #[test]
    fn an_instance_unready_past_the_deadline_fails_the_plan() {
        let strategy = Strategy {
            health_deadline: Duration::from_secs(5),
            ..strategy()
        };
        let g = groups(&[("r1", 1), ("r2", 1)]);
        let mut observed = inst("r1", 1, true);
        observed.extend(inst("r2", 1, false));
        let plan = run(1, &strategy, &g, &observed);
        assert!(matches!(
            plan.verdict,
            Verdict::Failed {
                reason: "INSTANCE_HEALTH_DEADLINE_EXCEEDED",
                ..
            }
        ));
    }

    #[test]
    fn recreate_empties_old_groups_first() {
        let strategy = Strategy {
            recreate: true,
            ..strategy()
        };
        let g = groups(&[("r1", 2)]);
        let plan = run(2, &strategy, &g, &inst("r1", 2, true));
        assert_eq!(plan.groups, groups(&[("r1", 0)]));
        let plan = run(2, &strategy, &groups(&[("r1", 0)]), &[]);
        assert_eq!(plan.groups, groups(&[("r1", 0), ("r2", 2)]));
    }

    #[test]
    fn steady_state_scaling_is_immediate() {
        let g = groups(&[("r2", 2)]);
        let plan = run(4, &strategy(), &g, &inst("r2", 2, true));
        assert_eq!(plan.groups, groups(&[("r2", 4)]));
        // …and scaling in goes straight to the size.
        let plan = run(1, &strategy(), &groups(&[("r2", 3)]), &inst("r2", 3, true));
        assert_eq!(plan.groups, groups(&[("r2", 1)]));
    }

    #[test]
    fn percentages_round_as_documented() {
        assert_eq!(resolve(None, Some(25), 3, true, 1), 1);
        assert_eq!(resolve(None, Some(25), 3, false, 0), 0);
        assert_eq!(resolve(None, Some(50), 5, true, 1), 3);
        assert_eq!(resolve(Some(2), Some(50), 5, true, 1), 2);
        assert_eq!(resolve(None, None, 5, true, 1), 1);
    }
}
