//! The Kubernetes builder's objects, built as plain data (no IO; golden-tested): one
//! `batch/v1` Job per build, the Secret of its credentials, the dockerconfigjson Secret
//! of its registry, and the application's cache claim.
//!
//! The Job (`backoffLimit: 0`, `restartPolicy: Never`, `activeDeadlineSeconds` = the
//! build's timeout, kept `ttlSecondsAfterFinished` = 1 h for inspection) runs the steps
//! in order, as init containers and then the main container, on a shared `emptyDir`
//! workspace (`/workspace`):
//!
//! | Container | Image | What it does |
//! |---|---|---|
//! | `fetch` (init) | the platform's builder image (it has git) | fetches the exact commit the service resolved (a shallow fetch of that sha, else every branch and tag) into a bare repository and extracts it (its `sub_directory`) into `/workspace`; token or ssh key from the build Secret |
//! | `build` (init, only with a build script) | the application's builder image | `/bin/sh -e -c <build script>` in `/workspace`, with `FERRY_BUILD_NUMBER`, `FERRY_COMMIT_SHA`, `FERRY_APPLICATION`, `FERRY_CACHE_DIR=/cache` (with the cache) and the application's env (secret values by `secretKeyRef`) |
//! | `test` (init, only with a test script) | the same | the test script; with a JUnit path, the first report matching it is copied to the container's termination message, **cut at 4 KiB** (the kubelet's limit): a longer report cannot be parsed and only the exit code counts |
//! | `image` (main) | rootless BuildKit | `buildctl-daemonless.sh build --frontend dockerfile.v0` of the context, pushed to the build's tag (`push=true`); registry credentials from the dockerconfigjson Secret |
//!
//! The Job is created suspended; its Secrets are created owned by it (so they go with
//! it), then it is resumed. No credential is ever written in the Job's spec: only
//! references to the Secrets' keys.
//!
//! The per-application cache claim (`ReadWriteOnce`, size from
//! `BuildCacheConfig.size_bytes`, default 10 GiB) is mounted at `/cache` in the `build`
//! and `test` containers when the cache is enabled; it outlives the Jobs.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Value, json};
use sha2::Digest as _;

/// The label holding the build's Job name on every object of a build.
pub const BUILD_LABEL: &str = "ferry.dev/build";
/// The label holding the application id.
pub const APPLICATION_LABEL: &str = "ferry.dev/application";
/// How long a finished Job (and its pod) is kept for inspection.
pub const TTL_AFTER_FINISHED_SECONDS: i32 = 3600;
/// The default size of a cache claim (the proto's default).
pub const DEFAULT_CACHE_BYTES: i64 = 10 * 1024 * 1024 * 1024;
/// The longest termination message the kubelet keeps.
pub const TERMINATION_MESSAGE_LIMIT: usize = 4096;
/// The step containers, in the order they run.
pub const CONTAINERS: [&str; 4] = ["fetch", "build", "test", "image"];

/// How the `fetch` container authenticates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GitCredentials {
    /// Anonymous.
    #[default]
    None,
    /// An HTTP `Authorization` header (key `git-http-header` of the build Secret).
    Token,
    /// An ssh key (keys `ssh-private-key` and `known-hosts` of the build Secret).
    SshKey {
        /// Whether `known-hosts` pins the server (else accepted on first use).
        pinned: bool,
    },
}

/// A variable of the `build` and `test` containers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvInput {
    /// A plain value.
    Value(String, String),
    /// A secret value, key `env.<name>` of the build Secret.
    Secret(String),
}

/// CPU and memory of the step containers (0 = unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Requested CPU, millicores (default 1000).
    pub request_cpu_millis: i64,
    /// Requested memory, bytes (default 2 GiB).
    pub request_memory_bytes: i64,
    /// CPU limit, millicores.
    pub limit_cpu_millis: i64,
    /// Memory limit, bytes.
    pub limit_memory_bytes: i64,
    /// Requested local ephemeral storage, bytes.
    pub request_ephemeral_bytes: i64,
    /// Local ephemeral storage limit, bytes.
    pub limit_ephemeral_bytes: i64,
}

/// Everything a build's Job is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobInput {
    /// The application id.
    pub application: String,
    /// The build number.
    pub build_number: i64,
    /// The build's resource name (`applications/{app}/builds/{n}`).
    pub build_name: String,
    /// The namespace.
    pub namespace: String,
    /// The repository URL.
    pub repository_url: String,
    /// The exact commit.
    pub commit_sha: String,
    /// The sub-directory of the repository that is the workspace (empty: all).
    pub sub_directory: String,
    /// How `fetch` authenticates.
    pub git: GitCredentials,
    /// The image of `fetch` (needs git and tar).
    pub fetch_image: String,
    /// The image of `build` and `test`.
    pub builder_image: String,
    /// The build script; empty skips `build`.
    pub build_script: String,
    /// The test script; `None` skips `test`.
    pub test_script: Option<String>,
    /// The JUnit report pattern (relative to the workspace); empty for none.
    pub junit_report_path: String,
    /// The environment of `build` and `test`, after the `FERRY_*` variables.
    pub env: Vec<EnvInput>,
    /// The Dockerfile build: the context directory (relative to the workspace).
    pub context_path: String,
    /// The Dockerfile (relative to the context; default `Dockerfile`).
    pub dockerfile_path: String,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    /// BuildKit secret ids (`RUN --mount=type=secret,id=…`): each value is the build
    /// Secret's key `buildkit.<id>`, mounted as a file for `buildctl --secret`.
    pub build_secrets: Vec<String>,
    /// The target stage; empty for the last.
    pub target: String,
    /// The tag the image is pushed to (`registry/repository:version`).
    pub image_tag: String,
    /// Whether the registry speaks plain HTTP.
    pub insecure_registry: bool,
    /// Whether the registry Secret exists (credentials for the push).
    pub registry_credentials: bool,
    /// The BuildKit image.
    pub buildkit_image: String,
    /// The cache claim to mount at `/cache`, if the cache is on.
    pub cache_claim: Option<String>,
    /// CPU and memory.
    pub resources: Resources,
    /// The build's timeout.
    pub deadline_seconds: i64,
}

/// The Job name of build `number` of `application`: `build-<application>-<number>`,
/// DNS-1123 safe and at most 63 characters (a long application id is cut and a hash of
/// it added, so names stay distinct and deterministic).
pub fn job_name(application: &str, number: i64) -> String {
    let name = format!("build-{application}-{number}");
    if name.len() <= 63 {
        return name;
    }
    let hash = hex8(application);
    let keep = 63 - "build-".len() - format!("-{hash}-{number}").len();
    let cut = application[..keep.min(application.len())].trim_end_matches('-');
    format!("build-{cut}-{hash}-{number}")
}

fn hex8(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name of the build Secret (git credentials and secret env) of Job `job`.
pub fn secret_name(job: &str) -> String {
    format!("{job}-secrets")
}

/// The name of the registry Secret of Job `job`.
pub fn registry_secret_name(job: &str) -> String {
    format!("{job}-registry")
}

/// The cache claim of `application`.
pub fn cache_claim_name(application: &str) -> String {
    format!("ferry-build-cache-{application}")
}

/// The key of secret variable `name` in the build Secret.
pub fn env_key(name: &str) -> String {
    format!("env.{name}")
}

fn labels(application: &str, job: &str) -> Value {
    json!({
        "app.kubernetes.io/managed-by": "ferry",
        APPLICATION_LABEL: application,
        BUILD_LABEL: job,
    })
}

/// The fetch script: the exact commit into `/workspace` (sub-directory only).
const FETCH_SCRIPT: &str = r#"git init -q --bare /tmp/ferry-source
cd /tmp/ferry-source
if ! git fetch -q --depth 1 "$FERRY_REPOSITORY_URL" "$FERRY_COMMIT_SHA"; then
  git fetch -q "$FERRY_REPOSITORY_URL" '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'
fi
git cat-file -e "$FERRY_COMMIT_SHA^{commit}"
tree="$FERRY_COMMIT_SHA"
if [ -n "$FERRY_SUB_DIRECTORY" ]; then tree="$FERRY_COMMIT_SHA:$FERRY_SUB_DIRECTORY"; fi
git archive --format=tar -o /tmp/ferry-workspace.tar "$tree"
tar -x -f /tmp/ferry-workspace.tar -C /workspace
echo "workspace: commit $FERRY_COMMIT_SHA"
"#;

/// The test wrapper: runs the script ($1), copies the first report matching $2 to the
/// termination message (cut at 4 KiB), exits with the script's code.
const TEST_WRAPPER: &str = r#"/bin/sh -e -c "$1"
code=$?
for report in $2; do
  if [ -f "$report" ]; then head -c 4096 "$report" > /dev/termination-log; break; fi
done
exit $code
"#;

fn quantity_cpu(millis: i64) -> String {
    format!("{millis}m")
}

fn resources_of(resources: &Resources) -> Value {
    let request_cpu = if resources.request_cpu_millis > 0 {
        resources.request_cpu_millis
    } else {
        1000
    };
    let request_memory = if resources.request_memory_bytes > 0 {
        resources.request_memory_bytes
    } else {
        2 * 1024 * 1024 * 1024
    };
    let mut value = json!({
        "requests": {"cpu": quantity_cpu(request_cpu), "memory": request_memory.to_string()},
    });
    if resources.request_ephemeral_bytes > 0 {
        value["requests"]["ephemeral-storage"] =
            json!(resources.request_ephemeral_bytes.to_string());
    }
    let mut limits = serde_json::Map::new();
    if resources.limit_ephemeral_bytes > 0 {
        limits.insert(
            "ephemeral-storage".into(),
            json!(resources.limit_ephemeral_bytes.to_string()),
        );
    }
    if resources.limit_cpu_millis > 0 {
        limits.insert(
            "cpu".into(),
            json!(quantity_cpu(resources.limit_cpu_millis)),
        );
    }
    if resources.limit_memory_bytes > 0 {
        limits.insert(
            "memory".into(),
            json!(resources.limit_memory_bytes.to_string()),
        );
    }
    if !limits.is_empty() {
        value["limits"] = Value::Object(limits);
    }
    value
}

fn workspace_dir(relative: &str) -> String {
    let relative = relative.trim_matches('/').trim_start_matches("./");
    if relative.is_empty() || relative == "." {
        "/workspace".to_string()
    } else {
        format!("/workspace/{relative}")
    }
}

/// Where the `image` container finds the BuildKit secrets' files.
pub const BUILDKIT_SECRETS_DIR: &str = "/run/ferry/buildkit-secrets";

/// The arguments of `buildctl-daemonless.sh` for `input`.
pub fn buildctl_args(input: &JobInput) -> Vec<String> {
    let context = workspace_dir(&input.context_path);
    let dockerfile = if input.dockerfile_path.is_empty() {
        "Dockerfile"
    } else {
        input.dockerfile_path.as_str()
    };
    let (directory, filename) = match dockerfile.rsplit_once('/') {
        Some((directory, filename)) => (format!("{context}/{directory}"), filename),
        None => (context.clone(), dockerfile),
    };
    let mut args: Vec<String> = vec![
        "build".into(),
        "--frontend".into(),
        "dockerfile.v0".into(),
        "--local".into(),
        format!("context={context}"),
        "--local".into(),
        format!("dockerfile={directory}"),
        "--opt".into(),
        format!("filename={filename}"),
    ];
    if !input.target.is_empty() {
        args.push("--opt".into());
        args.push(format!("target={}", input.target));
    }
    for (name, value) in &input.build_args {
        args.push("--opt".into());
        args.push(format!("build-arg:{name}={value}"));
    }
    for id in &input.build_secrets {
        args.push("--secret".into());
        args.push(format!("id={id},src={BUILDKIT_SECRETS_DIR}/{id}"));
    }
    let mut output = format!("type=image,name={},push=true", input.image_tag);
    if input.insecure_registry {
        output.push_str(",registry.insecure=true");
    }
    args.push("--output".into());
    args.push(output);
    args
}

/// The Job of a build, created suspended (see the module's documentation).
pub fn job(input: &JobInput) -> Job {
    let name = job_name(&input.application, input.build_number);
    let secret = secret_name(&name);
    let mut volumes = vec![
        json!({"name": "workspace", "emptyDir": {}}),
        json!({"name": "buildkit", "emptyDir": {}}),
    ];
    let workspace_mount = json!({"name": "workspace", "mountPath": "/workspace"});
    let resources = resources_of(&input.resources);

    // fetch
    let mut fetch_env = vec![
        json!({"name": "FERRY_REPOSITORY_URL", "value": input.repository_url}),
        json!({"name": "FERRY_COMMIT_SHA", "value": input.commit_sha}),
        json!({"name": "FERRY_SUB_DIRECTORY", "value": input.sub_directory}),
        json!({"name": "GIT_TERMINAL_PROMPT", "value": "0"}),
    ];
    let mut fetch_mounts = vec![workspace_mount.clone()];
    match input.git {
        GitCredentials::None => fetch_env.push(json!({
            "name": "GIT_SSH_COMMAND",
            "value": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
        })),
        GitCredentials::Token => {
            fetch_env.push(json!({"name": "GIT_CONFIG_COUNT", "value": "1"}));
            fetch_env.push(json!({"name": "GIT_CONFIG_KEY_0", "value": "http.extraHeader"}));
            fetch_env.push(json!({
                "name": "GIT_CONFIG_VALUE_0",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "git-http-header"}},
            }));
        }
        GitCredentials::SshKey { pinned } => {
            volumes.push(json!({
                "name": "git-credentials",
                "secret": {
                    "secretName": secret,
                    "defaultMode": 0o400,
                    "items": [
                        {"key": "ssh-private-key", "path": "id"},
                        {"key": "known-hosts", "path": "known_hosts"},
                    ],
                },
            }));
            fetch_mounts.push(
                json!({"name": "git-credentials", "mountPath": "/ferry/git", "readOnly": true}),
            );
            fetch_env.push(json!({
                "name": "GIT_SSH_COMMAND",
                "value": format!(
                    "ssh -o BatchMode=yes -o IdentitiesOnly=yes -i /ferry/git/id -o UserKnownHostsFile=/ferry/git/known_hosts -o StrictHostKeyChecking={}",
                    if pinned { "yes" } else { "accept-new" }
                ),
            }));
        }
    }
    let mut init_containers = vec![json!({
        "name": "fetch",
        "image": input.fetch_image,
        "command": ["/bin/sh", "-e", "-c", FETCH_SCRIPT],
        "env": fetch_env,
        "volumeMounts": fetch_mounts,
        "resources": resources,
    })];

    // build and test
    let mut env = vec![
        json!({"name": "FERRY_BUILD_NUMBER", "value": input.build_number.to_string()}),
        json!({"name": "FERRY_COMMIT_SHA", "value": input.commit_sha}),
        json!({"name": "FERRY_APPLICATION", "value": input.application}),
    ];
    let mut step_mounts = vec![workspace_mount.clone()];
    if let Some(claim) = &input.cache_claim {
        env.push(json!({"name": "FERRY_CACHE_DIR", "value": "/cache"}));
        volumes.push(json!({"name": "cache", "persistentVolumeClaim": {"claimName": claim}}));
        step_mounts.push(json!({"name": "cache", "mountPath": "/cache"}));
    }
    for variable in &input.env {
        env.push(match variable {
            EnvInput::Value(name, value) => json!({"name": name, "value": value}),
            EnvInput::Secret(name) => json!({
                "name": name,
                "valueFrom": {"secretKeyRef": {"name": secret, "key": env_key(name)}},
            }),
        });
    }
    if !input.build_script.trim().is_empty() {
        init_containers.push(json!({
            "name": "build",
            "image": input.builder_image,
            "command": ["/bin/sh", "-e", "-c", input.build_script],
            "workingDir": "/workspace",
            "env": env,
            "volumeMounts": step_mounts,
            "resources": resources,
        }));
    }
    if let Some(script) = &input.test_script {
        let command = if input.junit_report_path.is_empty() {
            json!(["/bin/sh", "-e", "-c", script])
        } else {
            json!([
                "/bin/sh",
                "-c",
                TEST_WRAPPER,
                "ferry-test",
                script,
                input.junit_report_path
            ])
        };
        init_containers.push(json!({
            "name": "test",
            "image": input.builder_image,
            "command": command,
            "workingDir": "/workspace",
            "env": env,
            "volumeMounts": step_mounts,
            "resources": resources,
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }));
    }

    // image
    let mut image_env = vec![json!({
        "name": "BUILDKITD_FLAGS",
        "value": "--oci-worker-no-process-sandbox",
    })];
    let mut image_mounts = vec![
        json!({"name": "workspace", "mountPath": "/workspace", "readOnly": true}),
        json!({"name": "buildkit", "mountPath": "/home/user/.local/share/buildkit"}),
    ];
    if input.registry_credentials {
        volumes.push(json!({
            "name": "registry-credentials",
            "secret": {
                "secretName": registry_secret_name(&name),
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
            },
        }));
        image_mounts.push(json!({
            "name": "registry-credentials",
            "mountPath": "/home/user/.docker",
            "readOnly": true,
        }));
        image_env.push(json!({"name": "DOCKER_CONFIG", "value": "/home/user/.docker"}));
    }
    if !input.build_secrets.is_empty() {
        let items: Vec<serde_json::Value> = input
            .build_secrets
            .iter()
            .map(|id| json!({"key": format!("buildkit.{id}"), "path": id}))
            .collect();
        volumes.push(json!({
            "name": "buildkit-secrets",
            "secret": {"secretName": secret, "items": items, "defaultMode": 0o400},
        }));
        image_mounts.push(json!({
            "name": "buildkit-secrets",
            "mountPath": BUILDKIT_SECRETS_DIR,
            "readOnly": true,
        }));
    }
    let image = json!({
        "name": "image",
        "image": input.buildkit_image,
        "command": ["buildctl-daemonless.sh"],
        "args": buildctl_args(input),
        "env": image_env,
        "volumeMounts": image_mounts,
        "resources": resources,
        "securityContext": {
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
    });

    let value = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": input.namespace,
            "labels": labels(&input.application, &name),
            "annotations": {
                "ferry.dev/build-name": input.build_name,
                "ferry.dev/commit": input.commit_sha,
            },
        },
        "spec": {
            "suspend": true,
            "backoffLimit": 0,
            "activeDeadlineSeconds": input.deadline_seconds.max(1),
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": {
                "metadata": {"labels": labels(&input.application, &name)},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "initContainers": init_containers,
                    "containers": [image],
                    "volumes": volumes,
                },
            },
        },
    });
    serde_json::from_value(value).expect("the Job matches the batch/v1 schema (golden-tested)")
}

/// The owner reference that ties an object to its Job.
pub fn owned_by(job: &Job) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.metadata.name.clone()?,
        uid: job.metadata.uid.clone()?,
        controller: Some(true),
        block_owner_deletion: None,
    })
}

/// The build Secret of Job `job` with `data` (keys `git-http-header`,
/// `ssh-private-key`, `known-hosts`, `env.<name>`, `buildkit.<id>`), owned by `owner`.
pub fn build_secret(
    input: &JobInput,
    data: BTreeMap<String, Vec<u8>>,
    owner: Option<OwnerReference>,
) -> Secret {
    let job = job_name(&input.application, input.build_number);
    secret_of(input, &secret_name(&job), "Opaque", data, owner)
}

/// The dockerconfigjson Secret that lets the `image` container push to `registry`.
pub fn registry_secret(
    input: &JobInput,
    registry: &str,
    username: &str,
    password: &str,
    owner: Option<OwnerReference>,
) -> Secret {
    use base64::Engine as _;
    let job = job_name(&input.application, input.build_number);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let config = json!({"auths": {registry: {"auth": auth}}});
    let data = BTreeMap::from([(
        ".dockerconfigjson".to_string(),
        config.to_string().into_bytes(),
    )]);
    secret_of(
        input,
        &registry_secret_name(&job),
        "kubernetes.io/dockerconfigjson",
        data,
        owner,
    )
}

fn secret_of(
    input: &JobInput,
    name: &str,
    type_: &str,
    data: BTreeMap<String, Vec<u8>>,
    owner: Option<OwnerReference>,
) -> Secret {
    let job = job_name(&input.application, input.build_number);
    let mut secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": input.namespace,
            "labels": labels(&input.application, &job),
        },
        "type": type_,
    }))
    .expect("the Secret matches the v1 schema");
    secret.metadata.owner_references = owner.map(|o| vec![o]);
    secret.data = Some(
        data.into_iter()
            .map(|(k, v)| (k, k8s_openapi::ByteString(v)))
            .collect(),
    );
    secret
}

/// The cache claim of `application` (`ReadWriteOnce`, `size_bytes` or 10 GiB).
pub fn cache_claim(namespace: &str, application: &str, size_bytes: i64) -> PersistentVolumeClaim {
    let size = if size_bytes > 0 {
        size_bytes
    } else {
        DEFAULT_CACHE_BYTES
    };
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": cache_claim_name(application),
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "ferry",
                APPLICATION_LABEL: application,
            },
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size.to_string()}},
        },
    }))
    .expect("the claim matches the v1 schema")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A representative build: token credentials, build and test scripts, a JUnit
    /// path, plain and secret env, cache, limits, build args and a target.
    pub(crate) fn representative() -> JobInput {
        JobInput {
            application: "shop".into(),
            build_number: 42,
            build_name: "applications/shop/builds/42".into(),
            namespace: "ferry-builds".into(),
            repository_url: "https://git.example.com/shop.git".into(),
            commit_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            sub_directory: "services/web".into(),
            git: GitCredentials::Token,
            fetch_image: "ferry-builder:latest".into(),
            builder_image: "rust:1.80".into(),
            build_script: "cargo build --release\n".into(),
            test_script: Some("cargo test\n".into()),
            junit_report_path: "target/reports/*.xml".into(),
            env: vec![
                EnvInput::Value("RUST_LOG".into(), "info".into()),
                EnvInput::Secret("NPM_TOKEN".into()),
            ],
            context_path: ".".into(),
            dockerfile_path: "docker/Dockerfile".into(),
            build_args: BTreeMap::from([("PROFILE".into(), "release".into())]),
            build_secrets: vec!["npmrc".into()],
            target: "runtime".into(),
            image_tag: "registry.example.com:5000/applications/shop:42-0123456".into(),
            insecure_registry: false,
            registry_credentials: true,
            buildkit_image: crate::config::DEFAULT_BUILDKIT_IMAGE.into(),
            cache_claim: Some(cache_claim_name("shop")),
            resources: Resources {
                request_cpu_millis: 500,
                request_memory_bytes: 0,
                limit_cpu_millis: 2000,
                limit_memory_bytes: 4 * 1024 * 1024 * 1024,
                request_ephemeral_bytes: 0,
                limit_ephemeral_bytes: 20 * 1024 * 1024 * 1024,
            },
            deadline_seconds: 1800,
        }
    }

    fn check_golden(file: &str, value: &impl serde::Serialize) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(file);
        let actual = serde_json::to_string_pretty(value).expect("serializes") + "\n";
        if std::env::var_os("FERRY_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &actual).expect("writes the golden file");
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with FERRY_UPDATE_GOLDEN=1 to create it",
                path.display()
            )
        });
        assert!(
            actual == expected,
            "{} differs from what the builders make now; if the change is intended, run \
             FERRY_UPDATE_GOLDEN=1 cargo test -p ferry-build --lib kube and review the diff.\n--- now:\n{actual}",
            path.display()
        );
    }

    #[test]
    fn the_job_matches_golden() {
        check_golden("kube-job.json", &job(&representative()));
    }

    #[test]
    fn the_secrets_and_claim_match_golden() {
        let input = representative();
        let owner = Some(OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: job_name("shop", 42),
            uid: "00000000-0000-0000-0000-000000000042".into(),
            controller: Some(true),
            block_owner_deletion: None,
        });
        let secret = build_secret(
            &input,
            BTreeMap::from([
                (
                    "git-http-header".into(),
                    b"Authorization: Basic eDp5".to_vec(),
                ),
                (env_key("NPM_TOKEN"), b"npm-secret".to_vec()),
            ]),
            owner.clone(),
        );
        check_golden("kube-secret.json", &secret);
        check_golden(
            "kube-registry-secret.json",
            &registry_secret(&input, "registry.example.com:5000", "ci", "pw", owner),
        );
        check_golden(
            "kube-cache-claim.json",
            &cache_claim("ferry-builds", "shop", 0),
        );
    }

    #[test]
    fn job_names_are_dns_labels_and_deterministic() {
        assert_eq!(job_name("shop", 7), "build-shop-7");
        let long = "a".repeat(40) + "-" + &"b".repeat(22);
        let name = job_name(&long, 123_456);
        assert!(name.len() <= 63, "{name}");
        assert_eq!(name, job_name(&long, 123_456));
        assert_ne!(name, job_name(&(long.clone() + "c"), 123_456));
        assert!(name.ends_with("-123456"));
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        assert!(!name.contains("--"), "{name}");
    }

    #[test]
    fn no_secret_value_is_in_the_job_and_steps_are_in_order() {
        let mut input = representative();
        let text = serde_json::to_string(&job(&input)).unwrap();
        assert!(!text.contains("npm-secret") && !text.contains("Basic"));
        let names = |job: &Job| -> Vec<String> {
            let spec = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
            spec.init_containers
                .iter()
                .flatten()
                .chain(spec.containers.iter())
                .map(|c| c.name.clone())
                .collect()
        };
        assert_eq!(names(&job(&input)), CONTAINERS);
        input.build_script = "  \n".into();
        input.test_script = None;
        input.cache_claim = None;
        input.git = GitCredentials::SshKey { pinned: true };
        let job = job(&input);
        assert_eq!(names(&job), ["fetch", "image"]);
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.contains("StrictHostKeyChecking=yes"));
        assert!(!text.contains("/cache"));
    }

    #[test]
    fn buildctl_is_given_the_context_dockerfile_and_push_target() {
        let mut input = representative();
        input.context_path = "app/".into();
        input.dockerfile_path = String::new();
        input.insecure_registry = true;
        input.build_args.clear();
        input.build_secrets.clear();
        input.target.clear();
        assert_eq!(
            buildctl_args(&input),
            [
                "build",
                "--frontend",
                "dockerfile.v0",
                "--local",
                "context=/workspace/app",
                "--local",
                "dockerfile=/workspace/app",
                "--opt",
                "filename=Dockerfile",
                "--output",
                "type=image,name=registry.example.com:5000/applications/shop:42-0123456,push=true,registry.insecure=true",
            ]
        );
    }
}
