//! EventService through a real tonic server on loopback and a real etcd: recording and
//! repeats, paging, filters, acknowledgement, the resumable watch (with compaction), and
//! retention.

mod common;

use std::time::Duration;

use common::{etcd_store, serve};
use ferry_events::event::watch::WatchConfig;
use ferry_events::{EventInput, Recorder, Retention, RetentionConfig};
use ferry_proto::ferry::deploy::v1::event::{Severity, Source, Type};
use ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient;
use ferry_proto::ferry::deploy::v1::watch_events_response::ChangeType;
use ferry_proto::ferry::deploy::v1::*;
use ferry_store::Store;
use ferry_store::testsuite::TestEtcd;
use std::sync::Arc;
use tonic::Code;
use tonic_types::StatusExt;

fn input(resource: &str, kind: Type, reason: &str, message: &str) -> Event {
    Event {
        involved_resource: resource.into(),
        involved_resource_type: "ferry.dev/Deployment".into(),
        r#type: kind as i32,
        reason: reason.into(),
        message: message.into(),
        source: Some(Source {
            component: "test/tool".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn create(parent: &str, event: Event) -> CreateEventRequest {
    CreateEventRequest {
        parent: parent.into(),
        event: Some(event),
        ..Default::default()
    }
}

fn field_of(status: &tonic::Status) -> String {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations[0].field.clone())
        .unwrap_or_default()
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_created_repeated_listed_filtered_and_acknowledged() {
    let server = serve(etcd_store("events-api").await, WatchConfig::default()).await;
    let mut client = EventServiceClient::new(server.channel.clone());

    // Validation names the field, and nothing is written.
    let mut bad = input(
        "namespaces/dev/deployments/web",
        Type::Warning,
        "rolled back",
        "m",
    );
    let error = client
        .create_event(create("namespaces/dev", bad.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), field_of(&error).as_str()),
        (Code::InvalidArgument, "event.reason")
    );
    bad.reason = "ROLLED_BACK".into();
    bad.severity = Severity::Info as i32;
    let error = client
        .create_event(create("namespaces/dev", bad))
        .await
        .unwrap_err();
    assert_eq!(field_of(&error), "event.severity");
    let error = client
        .create_event(create("namespaces/-", input("x/y", Type::Normal, "A", "m")))
        .await
        .unwrap_err();
    assert_eq!(field_of(&error), "parent");

    // Five events; the first one repeats (same identity) and is counted, not added.
    let web = "namespaces/dev/deployments/web";
    let first = client
        .create_event(create(
            "namespaces/dev",
            input(web, Type::Warning, "ROLLOUT_ROLLED_BACK", "r7 rolled back"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.count, 1);
    assert_eq!(first.severity(), Severity::Warning);
    assert_eq!(first.deployment, web);
    let repeated = client
        .create_event(create(
            "namespaces/dev",
            input(web, Type::Warning, "ROLLOUT_ROLLED_BACK", "r7 rolled back"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (repeated.name.as_str(), repeated.count),
        (first.name.as_str(), 2)
    );
    assert_ne!(repeated.etag, first.etag);
    // An idempotent retry returns the first answer instead of counting again.
    let request_id = "0b0c1f6e-8a3e-4c39-9d0e-5b7f0f3d2a11".to_string();
    let mut with_id = create(
        "namespaces/dev",
        input(web, Type::Normal, "ROLLOUT_STARTED", "r8 started"),
    );
    with_id.request_id = request_id.clone();
    let once = client
        .create_event(with_id.clone())
        .await
        .unwrap()
        .into_inner();
    let twice = client.create_event(with_id).await.unwrap().into_inner();
    assert_eq!(once, twice);
    assert_eq!(twice.count, 1);
    for (resource, kind, reason) in [
        (
            "namespaces/dev/deployments/api",
            Type::Warning,
            "INSTANCE_OOM_KILLED",
        ),
        (
            "namespaces/dev/deployments/web/instances/web-1",
            Type::Warning,
            "INSTANCE_CRASH_LOOP",
        ),
        (
            "namespaces/prod/deployments/web",
            Type::Normal,
            "ROLLOUT_SUCCEEDED",
        ),
    ] {
        let parent = format!("namespaces/{}", resource.split('/').nth(1).unwrap());
        client
            .create_event(create(&parent, input(resource, kind, reason, "m")))
            .await
            .unwrap();
    }

    // Paging: newest first, 2 per page, every event once.
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_events(ListEventsRequest {
                parent: "namespaces/dev".into(),
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total_size, 4);
        assert!(page.events.len() <= 2);
        names.extend(page.events.into_iter().map(|e| e.name));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(names.len(), 4);
    assert_eq!(names[0].split('/').nth(1), Some("dev"));
    let list = |filter: &str, parent: &str| ListEventsRequest {
        parent: parent.into(),
        filter: filter.into(),
        ..Default::default()
    };
    let all = client
        .list_events(list("", "namespaces/-"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total_size, 5);
    let warnings = client
        .list_events(list(
            "type = WARNING AND acknowledged = false",
            "namespaces/dev",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(warnings.total_size, 3);
    let under_web = client
        .list_events(list(
            "involved_resource:\"namespaces/dev/deployments/web\"",
            "namespaces/dev",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(under_web.total_size, 3, "web and its instance");
    let by_reason = client
        .list_events(list("reason = INSTANCE_OOM_KILLED", "namespaces/-"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_reason.events[0].involved_resource,
        "namespaces/dev/deployments/api"
    );
    let by_count = client
        .list_events(ListEventsRequest {
            order_by: "count desc".into(),
            ..list("", "namespaces/dev")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_count.events[0].name, first.name);
    let now = prost_types::Timestamp::from(std::time::SystemTime::now());
    let hour_ago = prost_types::Timestamp {
        seconds: now.seconds - 3600,
        nanos: 0,
    };
    let in_range = client
        .list_events(list(
            &format!("last_time >= \"{hour_ago}\" AND last_time < \"{now}\""),
            "namespaces/-",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(in_range.total_size, 5);
    let error = client
        .list_events(list("colour = red", "namespaces/dev"))
        .await
        .unwrap_err();
    assert_eq!(
        (reason_of(&error).as_str(), field_of(&error).as_str()),
        ("INVALID_FILTER", "filter")
    );

    // Acknowledgement: etag-conditional, records who and the note, idempotent.
    let current = client
        .get_event(GetEventRequest {
            name: first.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let error = client
        .acknowledge_event(AcknowledgeEventRequest {
            name: first.name.clone(),
            etag: first.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), reason_of(&error).as_str()),
        (Code::Aborted, "ETAG_MISMATCH")
    );
    let mut ack = tonic::Request::new(AcknowledgeEventRequest {
        name: first.name.clone(),
        etag: current.etag.clone(),
        note: "rolled forward".into(),
        ..Default::default()
    });
    ack.metadata_mut()
        .insert("x-ferry-principal", "users/ann".parse().unwrap());
    let acked = client.acknowledge_event(ack).await.unwrap().into_inner();
    assert!(acked.acknowledged);
    assert_eq!(
        (
            acked.acknowledged_by.as_str(),
            acked.acknowledge_note.as_str()
        ),
        ("users/ann", "rolled forward")
    );
    let again = client
        .acknowledge_event(AcknowledgeEventRequest {
            name: first.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, acked);
    // A repeat of an acknowledged event is a new event.
    let fresh = client
        .create_event(create(
            "namespaces/dev",
            input(web, Type::Warning, "ROLLOUT_ROLLED_BACK", "r7 rolled back"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(fresh.name, first.name);
    assert_eq!(fresh.count, 1);

    // Batch: all or nothing.
    let unacked = client
        .list_events(list("acknowledged = false", "namespaces/dev"))
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<String> = unacked.events.iter().map(|e| e.name.clone()).collect();
    names.push("namespaces/dev/events/e0000000000000000deadbeef".into());
    let error = client
        .batch_acknowledge_events(BatchAcknowledgeEventsRequest {
            parent: "namespaces/dev".into(),
            names: names.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    names.pop();
    let prod = all
        .events
        .iter()
        .find(|e| e.name.starts_with("namespaces/prod/"))
        .unwrap()
        .name
        .clone();
    let mut foreign = names.clone();
    foreign.push(prod);
    let error = client
        .batch_acknowledge_events(BatchAcknowledgeEventsRequest {
            parent: "namespaces/dev".into(),
            names: foreign,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (reason_of(&error).as_str(), field_of(&error).as_str()),
        ("INVALID_NAME", "names[4]")
    );
    let still = client
        .list_events(list("acknowledged = false", "namespaces/dev"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.total_size, 4, "a refused batch changes nothing");
    let batch = client
        .batch_acknowledge_events(BatchAcknowledgeEventsRequest {
            parent: "namespaces/dev".into(),
            names: names.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        batch
            .events
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>(),
        names
    );
    assert!(batch.events.iter().all(|e| e.acknowledged));
    let none = client
        .list_events(list("acknowledged = false", "namespaces/dev"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(none.total_size, 0);
}

async fn next(stream: &mut tonic::Streaming<WatchEventsResponse>) -> WatchEventsResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a watch message within 10 s")
        .unwrap()
        .expect("the stream is open")
}

/// The next message that is not a heartbeat.
async fn next_change(stream: &mut tonic::Streaming<WatchEventsResponse>) -> WatchEventsResponse {
    loop {
        let message = next(stream).await;
        if message.change_type() != ChangeType::Heartbeat {
            return message;
        }
    }
}

fn warning(namespace: &str, deployment: &str, reason: &str) -> EventInput {
    EventInput::warning(
        namespace,
        &format!("namespaces/{namespace}/deployments/{deployment}"),
        "ferry.dev/Deployment",
        reason,
        format!("{reason} on {deployment}"),
        "test/recorder",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_after_a_disconnect_and_resyncs_after_compaction() {
    // A private etcd: this test compacts it.
    let etcd = TestEtcd::start_private();
    let store: Arc<dyn Store> = Arc::new(etcd.store().await);
    let server = serve(
        store.clone(),
        WatchConfig {
            heartbeat: Duration::from_millis(300),
            max_duration: Duration::from_secs(60),
            ..Default::default()
        },
    )
    .await;
    let recorder = Recorder::new(store.clone());
    let mut client = EventServiceClient::new(server.channel.clone());
    let request = |token: &str| WatchEventsRequest {
        parent: "namespaces/dev".into(),
        filter: "type = WARNING".into(),
        resume_token: token.into(),
        start_time: None,
    };

    let mut stream = client.watch_events(request("")).await.unwrap().into_inner();
    // An idle stream gets heartbeats with a token.
    let heartbeat = next(&mut stream).await;
    assert_eq!(heartbeat.change_type(), ChangeType::Heartbeat);
    assert!(!heartbeat.resume_token.is_empty() && heartbeat.event.is_none());
    recorder
        .record(warning("dev", "web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    recorder
        .record(warning("prod", "web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap(); // other namespace
    recorder
        .record(EventInput::normal(
            "dev",
            "namespaces/dev/deployments/web",
            "ferry.dev/Deployment",
            "ROLLOUT_STARTED",
            "r1",
            "test",
        ))
        .await
        .unwrap(); // filtered out
    let added = next_change(&mut stream).await;
    assert_eq!(added.change_type(), ChangeType::Added);
    assert_eq!(added.event.as_ref().unwrap().reason, "INSTANCE_CRASH_LOOP");
    let token = added.resume_token.clone();
    drop(stream);

    // Recorded while disconnected: delivered after resuming, in order, then live ones.
    recorder
        .record(warning("dev", "api", "INSTANCE_OOM_KILLED"))
        .await
        .unwrap();
    recorder
        .record(warning("dev", "web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap(); // a repeat
    let mut stream = client
        .watch_events(request(&token))
        .await
        .unwrap()
        .into_inner();
    let oom = next_change(&mut stream).await;
    assert_eq!(
        (
            oom.change_type(),
            oom.event.as_ref().unwrap().reason.as_str()
        ),
        (ChangeType::Added, "INSTANCE_OOM_KILLED")
    );
    let repeat = next_change(&mut stream).await;
    assert_eq!(repeat.change_type(), ChangeType::Modified);
    assert_eq!(repeat.event.as_ref().unwrap().count, 2);
    recorder
        .record(warning("dev", "db", "HOST_NOT_READY"))
        .await
        .unwrap();
    let live = next_change(&mut stream).await;
    assert_eq!(live.event.as_ref().unwrap().reason, "HOST_NOT_READY");
    drop(stream);

    // A token from another filter is refused.
    let mut other = request(&token);
    other.filter = "type = NORMAL".into();
    let error = client.watch_events(other).await.unwrap_err();
    assert_eq!(
        (error.code(), field_of(&error).as_str()),
        (Code::InvalidArgument, "resume_token")
    );

    // History compacted past the token: RESYNC, then every retained match, oldest first.
    let first_page = client
        .list_events(ListEventsRequest {
            parent: "namespaces/dev".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    recorder
        .record(EventInput::normal(
            "dev",
            "namespaces/dev/deployments/web",
            "ferry.dev/Deployment",
            "ROLLOUT_SUCCEEDED",
            "r1 done",
            "test",
        ))
        .await
        .unwrap();
    let revision = store.current_revision().await.unwrap();
    store.compact(revision).await.unwrap();
    // A page token whose snapshot was compacted away has expired.
    let error = client
        .list_events(ListEventsRequest {
            parent: "namespaces/dev".into(),
            page_size: 1,
            page_token: first_page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), reason_of(&error).as_str()),
        (Code::InvalidArgument, "INVALID_PAGE_TOKEN")
    );
    let mut stream = client
        .watch_events(request(&token))
        .await
        .unwrap()
        .into_inner();
    let resync = next_change(&mut stream).await;
    assert_eq!(resync.change_type(), ChangeType::Resync);
    assert!(resync.event.is_none());
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let message = next_change(&mut stream).await;
        assert_eq!(message.change_type(), ChangeType::Added);
        replayed.push(message.event.unwrap().reason);
    }
    assert_eq!(
        replayed,
        [
            "INSTANCE_OOM_KILLED",
            "INSTANCE_CRASH_LOOP",
            "HOST_NOT_READY"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_with_start_time_replays_the_backlog_first() {
    let store = etcd_store("events-backlog").await;
    let draining = tokio_util::sync::CancellationToken::new();
    let server = serve(
        store.clone(),
        WatchConfig {
            draining: draining.clone(),
            ..Default::default()
        },
    )
    .await;
    let recorder = Recorder::new(store.clone());
    recorder
        .record(warning("dev", "a", "FIRST_REASON"))
        .await
        .unwrap();
    recorder
        .record(warning("dev", "b", "SECOND_REASON"))
        .await
        .unwrap();
    let mut client = EventServiceClient::new(server.channel.clone());
    let mut stream = client
        .watch_events(WatchEventsRequest {
            parent: "namespaces/-".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        next_change(&mut stream).await.event.unwrap().reason,
        "FIRST_REASON"
    );
    assert_eq!(
        next_change(&mut stream).await.event.unwrap().reason,
        "SECOND_REASON"
    );
    recorder
        .record(warning("dev", "c", "THIRD_REASON"))
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut stream).await.event.unwrap().reason,
        "THIRD_REASON"
    );
    // Draining the server ends the stream; the client resumes elsewhere.
    draining.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("the stream ends when the server drains");
    assert!(matches!(end, Ok(None)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_events_and_caps_namespaces() {
    let store = etcd_store("events-retention").await;
    let recorder = Recorder::new(store.clone()).with_retention(Duration::from_secs(2));
    for name in ["old-a", "old-b"] {
        recorder
            .record(warning("dev", name, "OLD_EVENT"))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for name in ["new-a", "new-b", "new-c", "new-d"] {
        recorder
            .record(warning("dev", name, "NEW_EVENT"))
            .await
            .unwrap();
    }
    recorder
        .record(warning("prod", "p", "NEW_EVENT"))
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let retention = Retention::new(
        store.clone(),
        "test-instance",
        RetentionConfig {
            retention: Duration::from_secs(2),
            max_per_namespace: 3,
            interval: Duration::from_millis(200),
            lease_ttl: Duration::from_secs(2),
            ..Default::default()
        },
    );
    let task = tokio::spawn(retention.run(stop.clone()));
    let prefix = ferry_events::layout::events_prefix();
    common::wait_for(Duration::from_secs(15), "the sweep", || {
        let store = store.clone();
        let prefix = prefix.clone();
        async move {
            let (events, _) = ferry_events::event::api::list_at(store.as_ref(), &prefix, None)
                .await
                .unwrap();
            events.len() == 4
        }
    })
    .await;
    let (events, _) = ferry_events::event::api::list_at(store.as_ref(), &prefix, None)
        .await
        .unwrap();
    let mut kept: Vec<String> = events
        .iter()
        .map(|e| e.involved_resource.rsplit('/').next().unwrap().to_string())
        .collect();
    kept.sort();
    // The two old events expired; dev kept its 3 newest; prod is untouched.
    assert_eq!(kept, ["new-b", "new-c", "new-d", "p"]);
    assert!(events.iter().all(|e| e.reason == "NEW_EVENT"));
    // The repeat-detection entries of the removed events went with them.
    let index = store
        .list(
            &ferry_events::layout::event_index_prefix(),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(index.items.len(), 4);
    stop.cancel();
    task.await.unwrap();
}
