//! The Kubernetes builder's lifecycle observer, a pure function: from a build's Job (or
//! its absence) and its pods, which step container runs, which ended and how, and
//! whether the build is over.
//!
//! - Step containers come from the Job's spec (init containers, then the main one), their
//!   states from the newest pod's `initContainerStatuses` / `containerStatuses`.
//! - A missing Job, or one being deleted, is [`Outcome::Lost`].
//! - Job condition `Complete` (or `SuccessCriteriaMet`) is [`Outcome::Succeeded`];
//!   `Failed` (or `FailureTarget`) with reason `DeadlineExceeded` is
//!   [`Outcome::TimedOut`], any other reason names the first container that exited
//!   non-zero ([`Outcome::Failed`]) or the pod's own failure.
//! - Without waiting for the Job controller: a container that exited non-zero, a pod in
//!   phase `Failed` (evicted…), and a container that cannot start (bad image name, image
//!   pull back-off, missing Secret key) end the build at once.
//! - Why the pod does not run yet (unschedulable…) is reported as
//!   [`Observation::waiting`], for the build log.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// The state of one step container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// Not started (no status yet, or waiting with this reason).
    Waiting(String),
    /// Running.
    Running,
    /// Ended.
    Terminated {
        /// Exit code.
        exit_code: i32,
        /// The kubelet's reason (`Completed`, `Error`, `OOMKilled`…).
        reason: String,
        /// The termination message (the test step's JUnit report).
        message: String,
    },
}

/// The build's end as the Job tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every step succeeded.
    Succeeded,
    /// Over `activeDeadlineSeconds`.
    TimedOut(String),
    /// A step failed; `container` is `None` when the pod itself failed.
    Failed {
        /// The step container that failed.
        container: Option<String>,
        /// Its exit code.
        exit_code: Option<i32>,
        /// What happened.
        message: String,
    },
    /// A container cannot start (its image or configuration is wrong).
    CannotStart {
        /// The step container.
        container: String,
        /// The kubelet's reason and message.
        message: String,
    },
    /// The Job is gone or being deleted.
    Lost(String),
}

/// What the Job and its pods say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The pod observed (the newest), if any.
    pub pod: Option<String>,
    /// Every step container of the Job, in order, with its state.
    pub containers: Vec<(String, ContainerState)>,
    /// The end, once known.
    pub outcome: Option<Outcome>,
    /// Why nothing runs yet (e.g. the scheduler's message), if known.
    pub waiting: Option<String>,
}

/// Waiting reasons after which a container will not start without a change.
const CANNOT_START: &[&str] = &[
    "InvalidImageName",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
];

fn state_of(status: Option<&ContainerStatus>) -> ContainerState {
    let Some(state) = status.and_then(|s| s.state.as_ref()) else {
        return ContainerState::Waiting(String::new());
    };
    if let Some(terminated) = &state.terminated {
        return ContainerState::Terminated {
            exit_code: terminated.exit_code,
            reason: terminated.reason.clone().unwrap_or_default(),
            message: terminated.message.clone().unwrap_or_default(),
        };
    }
    if state.running.is_some() {
        return ContainerState::Running;
    }
    let reason = state
        .waiting
        .as_ref()
        .map(|w| {
            let reason = w.reason.clone().unwrap_or_default();
            match &w.message {
                Some(message) if !message.is_empty() => format!("{reason}: {message}"),
                _ => reason,
            }
        })
        .unwrap_or_default();
    ContainerState::Waiting(reason)
}

fn condition<'a>(job: &'a Job, types: &[&str]) -> Option<(&'a str, &'a str)> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| types.contains(&c.type_.as_str()) && c.status == "True")
        .map(|c| {
            (
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default(),
            )
        })
}

/// Observes a build: its Job (`None` when it does not exist) and the Job's pods.
pub fn observe(job: Option<&Job>, pods: &[Pod]) -> Observation {
    let Some(job) = job else {
        return Observation {
            outcome: Some(Outcome::Lost("the builder Job is gone".into())),
            ..Default::default()
        };
    };
    let pod = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() || pods.len() == 1)
        .max_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
    let template = job.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let mut names: Vec<(String, bool)> = Vec::new();
    if let Some(template) = template {
        names.extend(
            template
                .init_containers
                .iter()
                .flatten()
                .map(|c| (c.name.clone(), true)),
        );
        names.extend(template.containers.iter().map(|c| (c.name.clone(), false)));
    }
    let status = pod.and_then(|p| p.status.as_ref());
    let containers: Vec<(String, ContainerState)> = names
        .iter()
        .map(|(name, init)| {
            let statuses = status.and_then(|s| {
                if *init {
                    s.init_container_statuses.as_ref()
                } else {
                    s.container_statuses.as_ref()
                }
            });
            let found = statuses.and_then(|list| list.iter().find(|c| &c.name == name));
            (name.clone(), state_of(found))
        })
        .collect();
    let mut observation = Observation {
        pod: pod.and_then(|p| p.metadata.name.clone()),
        containers,
        outcome: None,
        waiting: None,
    };
    let first_failed = || {
        observation
            .containers
            .iter()
            .find_map(|(name, state)| match state {
                ContainerState::Terminated {
                    exit_code, reason, ..
                } if *exit_code != 0 => Some(Outcome::Failed {
                    container: Some(name.clone()),
                    exit_code: Some(*exit_code),
                    message: format!(
                        "{name} exited with {exit_code}{}",
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(" ({reason})")
                        }
                    ),
                }),
                _ => None,
            })
    };
    let pod_failure = || {
        status
            .filter(|s| s.phase.as_deref() == Some("Failed"))
            .map(|s| Outcome::Failed {
                container: None,
                exit_code: None,
                message: format!(
                    "the builder pod failed: {}{}",
                    s.reason.as_deref().unwrap_or("no reason given"),
                    s.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            })
    };
    let outcome = if job.metadata.deletion_timestamp.is_some() {
        Some(Outcome::Lost("the builder Job is being deleted".into()))
    } else if condition(job, &["Complete", "SuccessCriteriaMet"]).is_some() {
        Some(Outcome::Succeeded)
    } else if let Some((reason, message)) = condition(job, &["Failed", "FailureTarget"]) {
        if reason == "DeadlineExceeded" {
            Some(Outcome::TimedOut(if message.is_empty() {
                "the builder Job exceeded its deadline".into()
            } else {
                message.to_string()
            }))
        } else {
            Some(
                first_failed()
                    .or_else(pod_failure)
                    .unwrap_or_else(|| Outcome::Failed {
                        container: None,
                        exit_code: None,
                        message: format!("the builder Job failed: {reason}: {message}"),
                    }),
            )
        }
    } else {
        first_failed().or_else(pod_failure).or_else(|| {
            observation
                .containers
                .iter()
                .find_map(|(name, state)| match state {
                    ContainerState::Waiting(reason)
                        if CANNOT_START.iter().any(|r| reason.starts_with(r)) =>
                    {
                        Some(Outcome::CannotStart {
                            container: name.clone(),
                            message: reason.clone(),
                        })
                    }
                    _ => None,
                })
        })
    };
    observation.outcome = outcome;
    if observation.outcome.is_none() {
        observation.waiting = match status {
            None if pod.is_none() => {
                Some(if job.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
                    "the Job is suspended".into()
                } else {
                    "waiting for the Job's pod".into()
                })
            }
            _ => status.and_then(|s| {
                s.conditions
                    .iter()
                    .flatten()
                    .find(|c| c.type_ == "PodScheduled" && c.status == "False")
                    .map(|c| {
                        format!(
                            "not scheduled: {}",
                            c.message
                                .as_deref()
                                .or(c.reason.as_deref())
                                .unwrap_or("no reason given")
                        )
                    })
            }),
        };
    }
    observation
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(conditions: serde_json::Value) -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": "build-shop-1", "namespace": "ferry-builds"},
            "spec": {"template": {"spec": {
                "initContainers": [
                    {"name": "fetch", "image": "b"},
                    {"name": "build", "image": "b"},
                    {"name": "test", "image": "b"},
                ],
                "containers": [{"name": "image", "image": "k"}],
            }}},
            "status": {"conditions": conditions},
        }))
        .unwrap()
    }

    fn terminated(name: &str, code: i32, message: &str) -> serde_json::Value {
        json!({"name": name, "image": "b", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": if code == 0 {"Completed"} else {"Error"}, "message": message}}})
    }

    fn running(name: &str) -> serde_json::Value {
        json!({"name": name, "image": "b", "imageID": "", "ready": true, "restartCount": 0,
            "state": {"running": {}}})
    }

    fn waiting(name: &str, reason: &str) -> serde_json::Value {
        json!({"name": name, "image": "b", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": reason}}})
    }

    fn pod(
        name: &str,
        phase: &str,
        init: Vec<serde_json::Value>,
        main: Vec<serde_json::Value>,
    ) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": "2026-11-26T10:00:00Z"},
            "status": {"phase": phase, "initContainerStatuses": init, "containerStatuses": main},
        }))
        .unwrap()
    }

    fn states(observation: &Observation) -> Vec<ContainerState> {
        observation
            .containers
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    #[test]
    fn a_missing_or_deleted_job_is_lost() {
        assert!(matches!(observe(None, &[]).outcome, Some(Outcome::Lost(_))));
        let mut deleted = job(json!([]));
        deleted.metadata.deletion_timestamp =
            Some(serde_json::from_value(json!("2026-11-26T10:00:00Z")).unwrap());
        assert!(matches!(
            observe(Some(&deleted), &[]).outcome,
            Some(Outcome::Lost(_))
        ));
    }

    #[test]
    fn steps_are_followed_in_order() {
        let job = job(json!([]));
        let pending = observe(Some(&job), &[]);
        assert_eq!(pending.outcome, None);
        assert_eq!(
            pending.waiting.as_deref(),
            Some("waiting for the Job's pod")
        );
        assert_eq!(pending.containers.len(), 4);

        let building = pod(
            "p",
            "Pending",
            vec![
                terminated("fetch", 0, ""),
                running("build"),
                waiting("test", "PodInitializing"),
            ],
            vec![waiting("image", "PodInitializing")],
        );
        let observation = observe(Some(&job), &[building]);
        assert_eq!(observation.pod.as_deref(), Some("p"));
        assert_eq!(observation.outcome, None);
        assert_eq!(
            states(&observation),
            [
                ContainerState::Terminated {
                    exit_code: 0,
                    reason: "Completed".into(),
                    message: String::new()
                },
                ContainerState::Running,
                ContainerState::Waiting("PodInitializing".into()),
                ContainerState::Waiting("PodInitializing".into()),
            ]
        );
    }

    #[test]
    fn a_complete_job_succeeds_and_the_test_report_is_read() {
        let job = job(json!([
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"},
        ]));
        let done = pod(
            "p",
            "Succeeded",
            vec![
                terminated("fetch", 0, ""),
                terminated("build", 0, ""),
                terminated("test", 0, "<testsuite tests=\"1\"/>"),
            ],
            vec![terminated("image", 0, "")],
        );
        let observation = observe(Some(&job), &[done]);
        assert_eq!(observation.outcome, Some(Outcome::Succeeded));
        assert!(matches!(
            &observation.containers[2].1,
            ContainerState::Terminated { message, .. } if message.contains("testsuite")
        ));
    }

    #[test]
    fn a_failed_step_is_named_with_its_exit_code_before_the_job_fails() {
        let failing = pod(
            "p",
            "Failed",
            vec![terminated("fetch", 0, ""), terminated("build", 2, "")],
            vec![waiting("image", "PodInitializing")],
        );
        for conditions in [
            json!([]),
            json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]),
        ] {
            let observation = observe(Some(&job(conditions)), std::slice::from_ref(&failing));
            assert_eq!(
                observation.outcome,
                Some(Outcome::Failed {
                    container: Some("build".into()),
                    exit_code: Some(2),
                    message: "build exited with 2 (Error)".into()
                })
            );
        }
    }

    #[test]
    fn the_deadline_is_a_timeout() {
        let job = job(
            json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
            "message": "Job was active longer than specified deadline"}]),
        );
        assert_eq!(
            observe(Some(&job), &[]).outcome,
            Some(Outcome::TimedOut(
                "Job was active longer than specified deadline".into()
            ))
        );
        let target = self::job(
            json!([{"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"}]),
        );
        assert!(matches!(
            observe(Some(&target), &[]).outcome,
            Some(Outcome::TimedOut(_))
        ));
    }

    #[test]
    fn pod_level_failures_and_unstartable_containers_end_the_build() {
        let job = job(json!([]));
        let mut evicted = pod(
            "p",
            "Failed",
            vec![terminated("fetch", 0, ""), running("build")],
            vec![],
        );
        let status = evicted.status.as_mut().unwrap();
        status.reason = Some("Evicted".into());
        status.message = Some("The node was low on resource: memory.".into());
        assert_eq!(
            observe(Some(&job), &[evicted]).outcome,
            Some(Outcome::Failed {
                container: None,
                exit_code: None,
                message: "the builder pod failed: Evicted: The node was low on resource: memory."
                    .into()
            })
        );
        let bad_image = pod(
            "p",
            "Pending",
            vec![waiting("fetch", "InvalidImageName")],
            vec![],
        );
        assert_eq!(
            observe(Some(&job), &[bad_image]).outcome,
            Some(Outcome::CannotStart {
                container: "fetch".into(),
                message: "InvalidImageName".into()
            })
        );
        let other = self::job(
            json!([{"type": "Failed", "status": "True", "reason": "PodFailurePolicy", "message": "x"}]),
        );
        assert!(matches!(
            observe(Some(&other), &[]).outcome,
            Some(Outcome::Failed {
                container: None,
                ..
            })
        ));
    }

    #[test]
    fn an_unschedulable_pod_says_why() {
        let job = job(json!([]));
        let pending: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/2 nodes are available: 2 Insufficient cpu."}]},
        }))
        .unwrap();
        let observation = observe(Some(&job), &[pending]);
        assert_eq!(observation.outcome, None);
        assert_eq!(
            observation.waiting.as_deref(),
            Some("not scheduled: 0/2 nodes are available: 2 Insufficient cpu.")
        );
    }
}
