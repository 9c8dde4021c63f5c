//! The pure autoscaling planner: from a policy, the deployment's replicas and the usage
//! samples of its ready instances over the evaluation window, the replicas to set now
//! (or none) and why. No IO, no clock: `now` is an input.
//!
//! Rules (see `ferry/deploy/v1/autoscaling.proto`):
//! - a disabled policy, or a deployment with an active rollout or scale operation,
//!   changes nothing;
//! - `replicas` outside `[min, max]` is brought inside at once;
//! - utilisation is usage divided by the instances' request (or limit), averaged over
//!   the ready instances that report usage (missing samples are not zeros) and over the
//!   samples of the evaluation window; nothing is decided before the window is full;
//! - scale up when any used metric is above its up threshold, down when every used
//!   metric is below its down threshold; the new count is the one that brings the
//!   utilisation to the target (the larger over the metrics), moved by at most the step
//!   and kept within `[min, max]`;
//! - a scale-up waits `up_cooldown` after the last change, a scale-down `down_cooldown`.

use std::time::{Duration, SystemTime};

/// The thresholds of one metric, in percent of the request (or limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// The utilisation aimed for.
    pub target: u32,
    /// Above this, instances are added.
    pub up: u32,
    /// Below this, instances may be removed.
    pub down: u32,
}

/// The most instances one change adds or removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A number of instances.
    Count(u32),
    /// A percentage of the current replicas (up: rounded up; down: rounded down; at
    /// least 1 either way).
    Percent(u32),
}

impl Step {
    /// The number of instances this step allows from `replicas`, at least 1.
    pub fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        let n = match self {
            Step::Count(count) => count,
            Step::Percent(percent) => {
                let scaled = u64::from(replicas) * u64::from(percent);
                let n = if round_up {
                    scaled.div_ceil(100)
                } else {
                    scaled / 100
                };
                u32::try_from(n).unwrap_or(u32::MAX)
            }
        };
        n.max(1)
    }
}

/// A policy as the planner reads it (defaults already applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Whether the autoscaler acts.
    pub enabled: bool,
    /// The fewest instances (at least 1).
    pub min: u32,
    /// The most instances.
    pub max: u32,
    /// CPU thresholds, `None` when CPU is not used.
    pub cpu: Option<Thresholds>,
    /// Memory thresholds, `None` when memory is not used.
    pub memory: Option<Thresholds>,
    /// The most one scale-up adds.
    pub up_step: Step,
    /// The most one scale-down removes.
    pub down_step: Step,
    /// Least time between a change and the next scale-up.
    pub up_cooldown: Duration,
    /// Least time between a change and the next scale-down.
    pub down_cooldown: Duration,
    /// The time usage is averaged over before a decision.
    pub window: Duration,
}

/// What one instance may use of each metric: its request, or its limit when it has no
/// request; `None` when it has neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    /// Millicores.
    pub cpu_millis: Option<u64>,
    /// Bytes.
    pub memory_bytes: Option<u64>,
}

/// What one instance used at one time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Millicores.
    pub cpu_millis: u64,
    /// Bytes.
    pub memory_bytes: u64,
}

/// One look at the ready instances: their usage, `None` for an instance the runtime has
/// no figures for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// When taken.
    pub at: SystemTime,
    /// One entry per ready instance.
    pub instances: Vec<Option<Usage>>,
}

/// A direction of scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Instances added.
    Up,
    /// Instances removed.
    Down,
}

/// Where the autoscaler stands after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The policy is disabled.
    Disabled,
    /// Evaluating and scaling.
    Active,
    /// A rollout or scale operation is active.
    Suspended,
    /// No usable metrics.
    MetricsUnavailable,
}

/// Everything a decision depends on.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The deployment's `replicas` now.
    pub replicas: u32,
    /// Request (or limit) of each instance.
    pub capacity: Capacity,
    /// Samples in time order; those older than the window are ignored.
    pub samples: &'a [Sample],
    /// When the current uninterrupted run of samples started (`None`: no sample yet).
    pub sampling_since: Option<SystemTime>,
    /// When the autoscaler last changed `replicas`.
    pub last_scale: Option<SystemTime>,
    /// Why the deployment must not be touched now (an active rollout or scale
    /// operation), if it must not.
    pub busy: Option<&'a str>,
    /// Whether the deployment is still converging to its `replicas` (e.g. after the
    /// autoscaler's last change): no new change until it has.
    pub settling: bool,
    /// Now.
    pub now: SystemTime,
}

/// What the planner decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Where the autoscaler stands.
    pub state: State,
    /// The replicas to set now; `None`: no change.
    pub replicas: Option<u32>,
    /// The replicas the metrics ask for, before step, bounds and cool-down.
    pub desired: u32,
    /// CPU utilisation over the window, percent (when CPU is used and measured).
    pub cpu_percent: Option<u32>,
    /// Memory utilisation over the window, percent (when memory is used and measured).
    pub memory_percent: Option<u32>,
    /// Why (a change's reason, or why there is none).
    pub reason: String,
    /// The bound that cut the desired replicas (`min_replicas` or `max_replicas`).
    pub limited_by: Option<&'static str>,
}

impl Decision {
    /// The direction of the change, if any.
    pub fn direction(&self, from: u32) -> Option<Direction> {
        match self.replicas {
            Some(to) if to > from => Some(Direction::Up),
            Some(to) if to < from => Some(Direction::Down),
            _ => None,
        }
    }
}

/// Average utilisation (percent) of one metric over the window's samples; `None` when
/// no instance reported it. Each sample counts once, averaged over the instances that
/// reported usage.
fn utilisation(samples: &[&Sample], capacity: u64, read: impl Fn(&Usage) -> u64) -> Option<f64> {
    let per_sample: Vec<f64> = samples
        .iter()
        .filter_map(|sample| {
            let values: Vec<f64> = sample
                .instances
                .iter()
                .flatten()
                .map(|usage| read(usage) as f64 * 100.0 / capacity as f64)
                .collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        })
        .collect();
    (!per_sample.is_empty()).then(|| per_sample.iter().sum::<f64>() / per_sample.len() as f64)
}

fn seconds(duration: Duration) -> String {
    let s = duration.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Decides the replicas to set now.
pub fn plan(input: &Input<'_>) -> Decision {
    let policy = input.policy;
    let replicas = input.replicas;
    let mut decision = Decision {
        state: State::Active,
        replicas: None,
        desired: replicas,
        cpu_percent: None,
        memory_percent: None,
        reason: String::new(),
        limited_by: None,
    };
    if !policy.enabled {
        decision.state = State::Disabled;
        decision.reason = "the policy is disabled".into();
        return decision;
    }
    if let Some(busy) = input.busy {
        decision.state = State::Suspended;
        decision.reason = busy.to_string();
        return decision;
    }
    let (min, max) = (policy.min.max(1), policy.max.max(policy.min.max(1)));
    if replicas < min {
        decision.replicas = Some(min);
        decision.desired = min;
        decision.reason = format!("replicas {replicas} below min_replicas {min}");
        return decision;
    }
    if replicas > max {
        decision.replicas = Some(max);
        decision.desired = max;
        decision.reason = format!("replicas {replicas} above max_replicas {max}");
        return decision;
    }

    // Utilisation over the window.
    let since = input.now.checked_sub(policy.window).unwrap_or(input.now);
    let window: Vec<&Sample> = input.samples.iter().filter(|s| s.at >= since).collect();
    let mut metrics: Vec<(&'static str, Thresholds, f64)> = Vec::new();
    for (name, thresholds, capacity) in [
        ("cpu", policy.cpu, input.capacity.cpu_millis),
        ("memory", policy.memory, input.capacity.memory_bytes),
    ] {
        let Some(thresholds) = thresholds else {
            continue;
        };
        let Some(capacity) = capacity.filter(|c| *c > 0) else {
            decision.state = State::MetricsUnavailable;
            decision.reason =
                format!("the template gives {name} neither a request nor a limit to compare with");
            return decision;
        };
        let read = |usage: &Usage| match name {
            "cpu" => usage.cpu_millis,
            _ => usage.memory_bytes,
        };
        let Some(value) = utilisation(&window, capacity, read) else {
            decision.state = State::MetricsUnavailable;
            decision.reason = format!("no ready instance reports {name} usage");
            return decision;
        };
        let percent = value.round().clamp(0.0, i32::MAX as f64) as u32;
        match name {
            "cpu" => decision.cpu_percent = Some(percent),
            _ => decision.memory_percent = Some(percent),
        }
        metrics.push((name, thresholds, value));
    }
    if metrics.is_empty() {
        decision.state = State::MetricsUnavailable;
        decision.reason = "the policy uses no metric".into();
        return decision;
    }
    let covered = input
        .sampling_since
        .and_then(|since| input.now.duration_since(since).ok())
        .unwrap_or_default();
    if covered < policy.window {
        decision.reason = format!(
            "collecting usage: {} of the {} evaluation window",
            seconds(covered),
            seconds(policy.window)
        );
        return decision;
    }

    if input.settling {
        decision.reason = "waiting for the deployment to reach its replicas".into();
        return decision;
    }

    let describe = |(name, t, value): &(&str, Thresholds, f64), up: bool| {
        if up {
            format!("{name} {value:.0}% > {}%", t.up)
        } else {
            format!("{name} {value:.0}% < {}%", t.down)
        }
    };
    let wanted = metrics
        .iter()
        .map(|(_, t, value)| {
            let n = (f64::from(replicas) * value / f64::from(t.target.max(1))).ceil();
            n.clamp(0.0, u32::MAX as f64) as u32
        })
        .max()
        .unwrap_or(replicas);
    let up: Vec<String> = metrics
        .iter()
        .filter(|(_, t, value)| *value > f64::from(t.up))
        .map(|m| describe(m, true))
        .collect();
    let down = metrics
        .iter()
        .all(|(_, t, value)| *value < f64::from(t.down));
    let over = format!("over {}", seconds(policy.window));
    let since_last = input
        .last_scale
        .map(|at| input.now.duration_since(at).unwrap_or_default());

    if !up.is_empty() {
        decision.desired = wanted.max(replicas + 1);
        let stepped = replicas.saturating_add(policy.up_step.resolve(replicas, true));
        let new = decision.desired.min(stepped).min(max);
        if decision.desired > max {
            decision.limited_by = Some("max_replicas");
        }
        if new <= replicas {
            decision.reason = format!("{} {over}, but at max_replicas {max}", up.join(", "));
            return decision;
        }
        if let Some(elapsed) = since_last
            && elapsed < policy.up_cooldown
        {
            decision.reason = format!(
                "{} {over}; scale-up cool-down for {} more",
                up.join(", "),
                seconds(policy.up_cooldown - elapsed)
            );
            return decision;
        }
        decision.replicas = Some(new);
        decision.reason = format!("{} {over}", up.join(", "));
        return decision;
    }
    if down {
        decision.desired = wanted.min(replicas.saturating_sub(1));
        let stepped = replicas.saturating_sub(policy.down_step.resolve(replicas, false));
        let new = decision.desired.max(stepped).max(min);
        if decision.desired < min {
            decision.limited_by = Some("min_replicas");
        }
        let reasons: Vec<String> = metrics.iter().map(|m| describe(m, false)).collect();
        if new >= replicas {
            decision.reason = format!("{} {over}, but at min_replicas {min}", reasons.join(", "));
            return decision;
        }
        if let Some(elapsed) = since_last
            && elapsed < policy.down_cooldown
        {
            decision.reason = format!(
                "{} {over}; scale-down cool-down for {} more",
                reasons.join(", "),
                seconds(policy.down_cooldown - elapsed)
            );
            return decision;
        }
        decision.replicas = Some(new);
        decision.reason = format!("{} {over}", reasons.join(", "));
        return decision;
    }
    decision.reason = "utilisation within the thresholds".into();
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MB: u64 = 1 << 20;

    fn policy() -> Policy {
        Policy {
            enabled: true,
            min: 1,
            max: 5,
            cpu: Some(Thresholds {
                target: 50,
                up: 70,
                down: 30,
            }),
            memory: None,
            up_step: Step::Count(1),
            down_step: Step::Count(1),
            up_cooldown: Duration::from_secs(60),
            down_cooldown: Duration::from_secs(300),
            window: Duration::from_secs(60),
        }
    }

    fn t(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)
    }

    /// Samples every 10 s from `from` to `to` where every instance uses `cpu` millicores.
    fn samples(from: u64, to: u64, instances: usize, cpu: u64) -> Vec<Sample> {
        (from..=to)
            .step_by(10)
            .map(|s| Sample {
                at: t(s),
                instances: vec![
                    Some(Usage {
                        cpu_millis: cpu,
                        memory_bytes: 100 * MB,
                    });
                    instances
                ],
            })
            .collect()
    }

    fn input<'a>(policy: &'a Policy, replicas: u32, samples: &'a [Sample]) -> Input<'a> {
        Input {
            policy,
            replicas,
            capacity: Capacity {
                cpu_millis: Some(100),
                memory_bytes: Some(200 * MB),
            },
            samples,
            sampling_since: samples.first().map(|s| s.at),
            last_scale: None,
            busy: None,
            settling: false,
            now: samples.last().map_or(t(0), |s| s.at),
        }
    }

    #[test]
    fn decisions_follow_the_thresholds() {
        struct Case {
            name: &'static str,
            replicas: u32,
            cpu: u64,
            step_up: Step,
            step_down: Step,
            want: Option<u32>,
            desired: u32,
        }
        let cases = [
            Case {
                name: "above up: one step up",
                replicas: 2,
                cpu: 90,
                step_up: Step::Count(1),
                step_down: Step::Count(1),
                want: Some(3),
                desired: 4, // ceil(2 × 90 / 50)
            },
            Case {
                name: "above up with a big step: to the target",
                replicas: 2,
                cpu: 90,
                step_up: Step::Percent(100),
                step_down: Step::Count(1),
                want: Some(4),
                desired: 4,
            },
            Case {
                name: "far above: capped by max",
                replicas: 4,
                cpu: 400,
                step_up: Step::Count(10),
                step_down: Step::Count(1),
                want: Some(5),
                desired: 32,
            },
            Case {
                name: "at max: no change",
                replicas: 5,
                cpu: 400,
                step_up: Step::Count(10),
                step_down: Step::Count(1),
                want: None,
                desired: 40,
            },
            Case {
                name: "between thresholds: no change",
                replicas: 3,
                cpu: 50,
                step_up: Step::Count(1),
                step_down: Step::Count(1),
                want: None,
                desired: 3,
            },
            Case {
                name: "below down: one step down",
                replicas: 4,
                cpu: 10,
                step_up: Step::Count(1),
                step_down: Step::Count(1),
                want: Some(3),
                desired: 1,
            },
            Case {
                name: "below down with a percent step: rounded down, at least 1",
                replicas: 3,
                cpu: 10,
                step_up: Step::Count(1),
                step_down: Step::Percent(10),
                want: Some(2),
                desired: 1,
            },
            Case {
                name: "below down: not under min",
                replicas: 1,
                cpu: 0,
                step_up: Step::Count(1),
                step_down: Step::Count(5),
                want: None,
                desired: 0,
            },
        ];
        for case in cases {
            let mut p = policy();
            p.up_step = case.step_up;
            p.down_step = case.step_down;
            let s = samples(0, 60, case.replicas as usize, case.cpu);
            let decision = plan(&input(&p, case.replicas, &s));
            assert_eq!(decision.replicas, case.want, "{}: {decision:?}", case.name);
            assert_eq!(decision.desired, case.desired, "{}", case.name);
            assert_eq!(decision.state, State::Active, "{}", case.name);
        }
    }

    #[test]
    fn the_reason_names_the_metric() {
        let p = policy();
        let s = samples(0, 60, 2, 91);
        let decision = plan(&input(&p, 2, &s));
        assert_eq!(decision.reason, "cpu 91% > 70% over 1m");
        assert_eq!(decision.cpu_percent, Some(91));
        assert_eq!(decision.direction(2), Some(Direction::Up));
    }

    #[test]
    fn cool_downs_hold_changes_back() {
        let p = policy();
        let high = samples(0, 60, 2, 90);
        let mut i = input(&p, 2, &high);
        i.last_scale = Some(t(20)); // 40 s ago, up cool-down 60 s
        let decision = plan(&i);
        assert_eq!(decision.replicas, None);
        assert!(
            decision.reason.contains("cool-down for 20s"),
            "{decision:?}"
        );
        i.last_scale = Some(t(0)); // 60 s ago
        assert_eq!(plan(&i).replicas, Some(3));

        let low = samples(240, 300, 3, 5);
        let mut i = input(&p, 3, &low);
        i.last_scale = Some(t(10)); // 290 s ago, down cool-down 300 s
        assert_eq!(plan(&i).replicas, None);
        i.now = t(310);
        assert_eq!(plan(&i).replicas, Some(2));
    }

    #[test]
    fn nothing_is_decided_before_the_window_is_full() {
        let p = policy();
        let s = samples(0, 50, 2, 90);
        let decision = plan(&input(&p, 2, &s));
        assert_eq!(decision.replicas, None);
        assert!(decision.reason.contains("collecting"), "{decision:?}");
        // Nor while the last change is still being carried out.
        let full = samples(0, 60, 2, 90);
        let mut i = input(&p, 2, &full);
        i.settling = true;
        let decision = plan(&i);
        assert_eq!(decision.replicas, None);
        assert_eq!(decision.cpu_percent, Some(90));
        // The same samples once the window has passed since sampling began.
        let mut i = input(&p, 2, &s);
        i.now = t(60);
        assert_eq!(plan(&i).replicas, Some(3));
    }

    #[test]
    fn missing_samples_are_not_zeros() {
        let p = policy();
        // Two instances report 90 %, a new one reports nothing yet: still 90 %.
        let s: Vec<Sample> = (0..=60)
            .step_by(10)
            .map(|sec| Sample {
                at: t(sec),
                instances: vec![
                    Some(Usage {
                        cpu_millis: 90,
                        memory_bytes: 0,
                    }),
                    None,
                    Some(Usage {
                        cpu_millis: 90,
                        memory_bytes: 0,
                    }),
                ],
            })
            .collect();
        let decision = plan(&input(&p, 3, &s));
        assert_eq!(decision.cpu_percent, Some(90));
        assert_eq!(decision.replicas, Some(4));
        // No figures at all: metrics unavailable, no change.
        let none = vec![Sample {
            at: t(60),
            instances: vec![None, None],
        }];
        let mut i = input(&p, 2, &none);
        i.sampling_since = Some(t(0));
        let decision = plan(&i);
        assert_eq!(decision.state, State::MetricsUnavailable);
        assert_eq!(decision.replicas, None);
    }

    #[test]
    fn samples_older_than_the_window_are_ignored() {
        let p = policy();
        let mut s = samples(0, 50, 2, 500);
        s.extend(samples(100, 160, 2, 50));
        let mut i = input(&p, 2, &s);
        i.sampling_since = Some(t(0));
        let decision = plan(&i);
        assert_eq!(decision.cpu_percent, Some(50));
        assert_eq!(decision.replicas, None);
    }

    #[test]
    fn memory_counts_and_down_needs_every_metric_low() {
        let mut p = policy();
        p.memory = Some(Thresholds {
            target: 50,
            up: 80,
            down: 20,
        });
        // CPU low, memory at 50 % of 200 MiB: no scale-down.
        let s = samples(0, 60, 3, 5);
        let decision = plan(&input(&p, 3, &s));
        assert_eq!(decision.memory_percent, Some(50));
        assert_eq!(decision.replicas, None);
        // Memory high alone scales up.
        let s: Vec<Sample> = (0..=60)
            .step_by(10)
            .map(|sec| Sample {
                at: t(sec),
                instances: vec![
                    Some(Usage {
                        cpu_millis: 5,
                        memory_bytes: 190 * MB,
                    });
                    2
                ],
            })
            .collect();
        let decision = plan(&input(&p, 2, &s));
        assert_eq!(decision.replicas, Some(3));
        assert!(
            decision.reason.starts_with("memory 95% > 80%"),
            "{decision:?}"
        );
        // A used metric without a request or limit: unavailable.
        let mut i = input(&p, 2, &s);
        i.capacity.memory_bytes = None;
        assert_eq!(plan(&i).state, State::MetricsUnavailable);
    }

    #[test]
    fn bounds_apply_at_once_and_disabled_or_busy_change_nothing() {
        let p = policy();
        let s = samples(0, 0, 1, 50);
        let mut i = input(&p, 0, &s);
        i.last_scale = Some(t(0));
        assert_eq!(plan(&i).replicas, Some(1));
        i.replicas = 9;
        assert_eq!(plan(&i).replicas, Some(5));
        i.busy = Some("rollout r2 is active");
        let decision = plan(&i);
        assert_eq!(
            (decision.state, decision.replicas),
            (State::Suspended, None)
        );
        let mut off = policy();
        off.enabled = false;
        let decision = plan(&input(&off, 9, &s));
        assert_eq!((decision.state, decision.replicas), (State::Disabled, None));
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1u32..20).prop_map(Step::Count),
            (1u32..=100).prop_map(Step::Percent)
        ]
    }

    proptest! {
        #[test]
        fn result_stays_in_bounds_and_rollouts_freeze(
            min in 1u32..10,
            extra in 0u32..20,
            replicas in 0u32..40,
            cpu in proptest::collection::vec(proptest::option::of(0u64..2000), 0..6),
            up_step in arb_step(),
            down_step in arb_step(),
            last in proptest::option::of(0u64..400),
            busy in any::<bool>(),
            settling in any::<bool>(),
        ) {
            let mut p = policy();
            p.min = min;
            p.max = min + extra;
            p.up_step = up_step;
            p.down_step = down_step;
            let s: Vec<Sample> = (0..=60).step_by(10).map(|sec| Sample {
                at: t(sec),
                instances: cpu.iter().map(|c| c.map(|cpu_millis| Usage { cpu_millis, memory_bytes: 0 })).collect(),
            }).collect();
            let mut i = input(&p, replicas, &s);
            i.last_scale = last.map(t);
            i.busy = busy.then_some("rollout");
            i.settling = settling;
            let decision = plan(&i);
            if settling && (p.min..=p.max).contains(&replicas) {
                prop_assert_eq!(decision.replicas, None);
            }
            if busy {
                prop_assert_eq!(decision.replicas, None);
                prop_assert_eq!(decision.state, State::Suspended);
            }
            if let Some(new) = decision.replicas {
                prop_assert!(new >= p.min && new <= p.max, "{new} outside [{}, {}]", p.min, p.max);
                prop_assert!(new != replicas);
            }
        }
    }
}
