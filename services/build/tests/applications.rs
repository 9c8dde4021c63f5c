//! ApplicationService over real etcd: create with validation (field violations),
//! validate_only, request_id idempotency, get, update with masks and etags, list with
//! paging, delete.

mod common;

use ferry_proto::ferry::build::v1::application_service_client::ApplicationServiceClient;
use ferry_proto::ferry::build::v1::build_config::Mode;
use ferry_proto::ferry::build::v1::{
    Application, BuildConfig, CreateApplicationRequest, DeleteApplicationRequest, DockerfileBuild,
    GetApplicationRequest, GitSource, ListApplicationsRequest, UpdateApplicationRequest,
};
use tonic::Code;
use tonic_types::StatusExt;

fn app(url: &str) -> Application {
    Application {
        source: Some(GitSource {
            repository_url: url.to_string(),
            r#ref: "main".into(),
            ..Default::default()
        }),
        build: Some(BuildConfig {
            build_script: "true".into(),
            mode: Some(Mode::Dockerfile(DockerfileBuild::default())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn violation_field(status: &tonic::Status) -> String {
    status
        .get_details_bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_default()
}

#[tokio::test]
async fn applications_are_created_validated_updated_listed_and_deleted() {
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start(
        "build-apps",
        ferry_build::config::BuildSettings {
            work_dir: work.path().to_path_buf(),
            ..Default::default()
        },
    )
    .await;
    let mut client = ApplicationServiceClient::new(service.channel.clone());

    // Bad input names the field, and nothing is created.
    let mut bad = app("/srv/git/web");
    bad.source.as_mut().unwrap().r#ref = "--upload-pack=evil".into();
    let status = client
        .create_application(CreateApplicationRequest {
            application_id: "web".into(),
            application: Some(bad),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_field(&status), "application.source.ref");
    let mut no_mode = app("/srv/git/web");
    no_mode.build.as_mut().unwrap().mode = None;
    let status = client
        .create_application(CreateApplicationRequest {
            application_id: "web".into(),
            application: Some(no_mode),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violation_field(&status), "application.build.mode");

    // validate_only checks and writes nothing.
    let checked = client
        .create_application(CreateApplicationRequest {
            application_id: "web".into(),
            application: Some(app("/srv/git/web")),
            validate_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.name, "applications/web");
    assert_eq!(
        client
            .get_application(GetApplicationRequest {
                name: "applications/web".into()
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // request_id: a retry answers the first result; a second create is ALREADY_EXISTS.
    let request_id = uuid::Uuid::new_v4().to_string();
    let create = CreateApplicationRequest {
        application_id: "web".into(),
        application: Some(app("/srv/git/web")),
        request_id: request_id.clone(),
        ..Default::default()
    };
    let first = client
        .create_application(create.clone())
        .await
        .unwrap()
        .into_inner();
    let retry = client
        .create_application(create)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, retry);
    assert_eq!(first.generation, 1);
    assert!(!first.etag.is_empty());
    let again = client
        .create_application(CreateApplicationRequest {
            application_id: "web".into(),
            application: Some(app("/srv/git/web")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    // Update: the masked nested field only; a stale etag is ABORTED.
    // The source check writes the status (and so changes the etag): update what it left.
    let checked = wait_checked(&mut client, "applications/web", 1).await;
    let mut change = checked.clone();
    change.source.as_mut().unwrap().r#ref = "develop".into();
    change.display_name = "not in the mask".into();
    let updated = client
        .update_application(UpdateApplicationRequest {
            application: Some(change.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["source.ref".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.source.as_ref().unwrap().r#ref, "develop");
    assert_eq!(updated.display_name, "");
    assert_eq!(updated.generation, 2);
    assert_ne!(updated.etag, first.etag);
    let stale = client
        .update_application(UpdateApplicationRequest {
            application: Some(change.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let bad_mask = client
        .update_application(UpdateApplicationRequest {
            application: Some(updated.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["generation".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_mask.code(), Code::InvalidArgument);

    // Paging over three applications, two per page, with the total.
    for id in ["api", "worker"] {
        client
            .create_application(CreateApplicationRequest {
                application_id: id.into(),
                application: Some(app("https://git.example.com/x.git")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let page1 = client
        .list_applications(ListApplicationsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page1
            .applications
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["applications/api", "applications/web"]
    );
    assert_eq!(page1.total_size, 3);
    let page2 = client
        .list_applications(ListApplicationsRequest {
            page_size: 2,
            page_token: page1.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.applications.len(), 1);
    assert!(page2.next_page_token.is_empty());
    let bad_filter = client
        .list_applications(ListApplicationsRequest {
            filter: "owner = me".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_filter.code(), Code::InvalidArgument);

    // Delete with a stale etag is refused; with the current one it goes.
    let stale = client
        .delete_application(DeleteApplicationRequest {
            name: "applications/web".into(),
            etag: first.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let current_etag = wait_checked(&mut client, "applications/web", 2).await.etag;
    client
        .delete_application(DeleteApplicationRequest {
            name: "applications/web".into(),
            etag: current_etag,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        client
            .get_application(GetApplicationRequest {
                name: "applications/web".into()
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    service.stop().await;
}

async fn wait_checked(
    client: &mut ApplicationServiceClient<tonic::transport::Channel>,
    name: &str,
    generation: i64,
) -> Application {
    for _ in 0..100 {
        let application = client
            .get_application(GetApplicationRequest { name: name.into() })
            .await
            .unwrap()
            .into_inner();
        if application.observed_generation == generation && !application.reconciling {
            return application;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name} was not checked");
}

#[tokio::test]
async fn sources_are_checked_after_create_and_update() {
    use ferry_proto::ferry::build::v1::application::State;
    let work = tempfile::tempdir().unwrap();
    let service = common::Service::start(
        "build-app-check",
        ferry_build::config::BuildSettings {
            work_dir: work.path().to_path_buf(),
            ..Default::default()
        },
    )
    .await;
    let mut client = ApplicationServiceClient::new(service.channel.clone());
    let repo = common::Repo::new();
    let sha = repo.commit(&[("README", "hello")], "first");

    let created = client
        .create_application(CreateApplicationRequest {
            application_id: "ok".into(),
            application: Some(app(&repo.url())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.state(), State::Creating);
    let ok = wait_checked(&mut client, "applications/ok", 1).await;
    assert_eq!(ok.state(), State::Active);
    assert_eq!(ok.last_seen_commit, sha);
    let condition = ok
        .conditions
        .iter()
        .find(|c| c.r#type == "SourceReachable")
        .unwrap();
    assert_eq!(condition.reason, "REF_RESOLVED");

    client
        .create_application(CreateApplicationRequest {
            application_id: "gone".into(),
            application: Some(app("/nonexistent/repo")),
            ..Default::default()
        })
        .await
        .unwrap();
    let gone = wait_checked(&mut client, "applications/gone", 1).await;
    assert_eq!(gone.state(), State::Degraded);
    assert_eq!(gone.conditions[0].reason, "SOURCE_UNREACHABLE");

    // A missing ref degrades; fixing it with an update makes it active again.
    let mut wrong_ref = ok.clone();
    wrong_ref.source.as_mut().unwrap().r#ref = "no-such-branch".into();
    client
        .update_application(UpdateApplicationRequest {
            application: Some(wrong_ref),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["source.ref".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let degraded = wait_checked(&mut client, "applications/ok", 2).await;
    assert_eq!(
        (degraded.state(), degraded.conditions[0].reason.as_str()),
        (State::Degraded, "REF_NOT_FOUND")
    );
    let mut fixed = degraded.clone();
    fixed.source.as_mut().unwrap().r#ref = "main".into();
    client
        .update_application(UpdateApplicationRequest {
            application: Some(fixed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["source.ref".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        wait_checked(&mut client, "applications/ok", 3)
            .await
            .state(),
        State::Active
    );
    service.stop().await;
}
