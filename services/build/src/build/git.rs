//! The FETCH step with the `git` CLI: one bare repository per application under the work
//! directory (so later fetches only bring new objects), the ref resolved to an exact
//! commit, and the workspace exported as a tar (`git archive`), optionally of a
//! sub-directory, ready to be uploaded into a builder container on any engine.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The repository could not be reached (or refused the credentials).
    #[error("repository unreachable: {0}")]
    Unreachable(String),
    /// The ref does not exist in the repository.
    #[error("ref {0:?} not found in the repository")]
    RefNotFound(String),
    /// The sub-directory does not exist at that commit.
    #[error("sub_directory {0:?} does not exist at the commit")]
    NoSubDirectory(String),
    /// git itself failed (not installed, disk full…).
    #[error("git failed: {0}")]
    Failed(String),
}

/// The commit a ref resolved to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full sha.
    pub sha: String,
    /// The full ref it was resolved from (`refs/heads/main`); empty for a sha.
    pub resolved_ref: String,
    /// Commit message (cut at 4 KiB).
    pub message: String,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// Author time, seconds since the epoch.
    pub time: i64,
}

/// A per-application bare repository under a work directory.
#[derive(Clone, Debug)]
pub struct RepoCache {
    dir: PathBuf,
}

/// Credentials of a fetch, opened from their secrets; never printed.
#[derive(Clone, Default)]
pub enum GitAuth {
    /// None (public repositories, local paths).
    #[default]
    None,
    /// An https token sent as HTTP basic authentication.
    Token {
        /// User name (default `git`).
        username: String,
        /// The token.
        token: String,
    },
    /// An ssh private key, with the `known_hosts` lines the server must match (empty:
    /// accepted on first use).
    SshKey {
        /// The key (OpenSSH or PEM).
        private_key: String,
        /// `known_hosts` lines.
        known_hosts: Vec<String>,
    },
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GitAuth::None => "GitAuth::None",
            GitAuth::Token { .. } => "GitAuth::Token(<redacted>)",
            GitAuth::SshKey { .. } => "GitAuth::SshKey(<redacted>)",
        })
    }
}

/// The environment that gives git `auth`, with the files it needs written under `dir`
/// (mode 0600, removed by the caller). The token travels in git's configuration
/// environment (`GIT_CONFIG_*`), never on a command line.
pub fn auth_env(auth: &GitAuth, dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    use base64::Engine as _;
    let ssh_base = "ssh -o BatchMode=yes";
    Ok(match auth {
        GitAuth::None => vec![(
            "GIT_SSH_COMMAND".into(),
            format!("{ssh_base} -o StrictHostKeyChecking=accept-new"),
        )],
        GitAuth::Token { username, token } => {
            let user = if username.is_empty() { "git" } else { username };
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
            vec![
                ("GIT_CONFIG_COUNT".into(), "1".into()),
                ("GIT_CONFIG_KEY_0".into(), "http.extraHeader".into()),
                (
                    "GIT_CONFIG_VALUE_0".into(),
                    format!("Authorization: Basic {basic}"),
                ),
            ]
        }
        GitAuth::SshKey {
            private_key,
            known_hosts,
        } => {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::create_dir_all(dir)?;
            let key_path = dir.join("id");
            let mut key = private_key.clone();
            if !key.ends_with('\n') {
                key.push('\n');
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&key_path)?;
            std::io::Write::write_all(&mut file, key.as_bytes())?;
            let hosts_path = dir.join("known_hosts");
            std::fs::write(&hosts_path, known_hosts.join("\n") + "\n")?;
            let checking = if known_hosts.is_empty() {
                "accept-new"
            } else {
                "yes"
            };
            vec![(
                "GIT_SSH_COMMAND".into(),
                format!(
                    "{ssh_base} -o IdentitiesOnly=yes -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking={checking}",
                    key_path.display(),
                    hosts_path.display()
                ),
            )]
        }
    })
}

async fn git(dir: Option<&Path>, args: &[&str]) -> Result<(bool, String, String), GitError> {
    git_with(dir, args, &[]).await
}

async fn git_with(
    dir: Option<&Path>,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(bool, String, String), GitError> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env(
            "GIT_SSH_COMMAND",
            "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
        )
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = command
        .output()
        .await
        .map_err(|e| GitError::Failed(format!("cannot run git: {e}")))?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_string(),
    ))
}

/// The URL git is given: local paths as they are, `file://` kept.
fn git_url(url: &str) -> &str {
    url
}

impl RepoCache {
    /// The cache of application `application_id` under `work_dir`.
    pub fn new(work_dir: &Path, application_id: &str) -> Self {
        Self {
            dir: work_dir.join("repos").join(format!("{application_id}.git")),
        }
    }

    /// Fetches every branch and tag (and the remote's HEAD) of `url`; returns what git
    /// printed.
    pub async fn fetch(&self, url: &str, auth: &GitAuth) -> Result<String, GitError> {
        if !self.dir.join("HEAD").exists() {
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(|e| GitError::Failed(format!("create {}: {e}", self.dir.display())))?;
            let (ok, _, err) = git(Some(&self.dir), &["init", "--bare", "--quiet"]).await?;
            if !ok {
                return Err(GitError::Failed(err));
            }
        }
        let credentials_dir = self.dir.with_extension("auth");
        let env = auth_env(auth, &credentials_dir)
            .map_err(|e| GitError::Failed(format!("write the credentials: {e}")))?;
        let fetched = git_with(
            Some(&self.dir),
            &[
                "fetch",
                "--force",
                "--prune",
                "--no-tags",
                "--",
                git_url(url),
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
                "+HEAD:refs/ferry/HEAD",
            ],
            &env,
        )
        .await;
        let _ = std::fs::remove_dir_all(&credentials_dir);
        let (ok, out, err) = fetched?;
        if !ok {
            // An empty repository has no HEAD to fetch: report it as unreachable too.
            return Err(GitError::Unreachable(err));
        }
        Ok(format!("{out}{err}"))
    }

    /// Resolves `git_ref` (empty = the remote's HEAD; a branch, tag, full ref or sha)
    /// to a commit.
    pub async fn resolve(&self, git_ref: &str) -> Result<CommitInfo, GitError> {
        let candidates: Vec<(String, String)> = if git_ref.is_empty() || git_ref == "HEAD" {
            vec![("refs/ferry/HEAD".into(), String::new())]
        } else if git_ref.starts_with("refs/") {
            vec![(git_ref.to_string(), git_ref.to_string())]
        } else {
            let mut candidates = vec![
                (
                    format!("refs/heads/{git_ref}"),
                    format!("refs/heads/{git_ref}"),
                ),
                (
                    format!("refs/tags/{git_ref}"),
                    format!("refs/tags/{git_ref}"),
                ),
            ];
            if git_ref.len() >= 7 && git_ref.bytes().all(|b| b.is_ascii_hexdigit()) {
                candidates.push((git_ref.to_string(), String::new()));
            }
            candidates
        };
        for (candidate, resolved_ref) in candidates {
            let spec = format!("{candidate}^{{commit}}");
            let (ok, out, _) = git(
                Some(&self.dir),
                &["rev-parse", "--verify", "--quiet", &spec],
            )
            .await?;
            if ok {
                let sha = out.trim().to_string();
                return self.describe(&sha, resolved_ref).await;
            }
        }
        Err(GitError::RefNotFound(git_ref.to_string()))
    }

    async fn describe(&self, sha: &str, resolved_ref: String) -> Result<CommitInfo, GitError> {
        let (ok, out, err) = git(
            Some(&self.dir),
            &[
                "log",
                "-1",
                "--format=%H%x00%an%x00%ae%x00%at%x00%B",
                sha,
                "--",
            ],
        )
        .await?;
        if !ok {
            return Err(GitError::Failed(err));
        }
        let mut parts = out.splitn(5, '\0');
        let mut next = || parts.next().unwrap_or_default().to_string();
        let (sha, author_name, author_email, time, mut message) =
            (next(), next(), next(), next(), next());
        message = message.trim_end().to_string();
        if message.len() > 4096 {
            let mut cut = 4096;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        Ok(CommitInfo {
            sha,
            resolved_ref,
            message,
            author_name,
            author_email,
            time: time.trim().parse().unwrap_or(0),
        })
    }

    /// The tree of `sha` (or of its `sub_directory`) as a tar whose entries sit under
    /// `workspace/`.
    pub async fn archive(&self, sha: &str, sub_directory: &str) -> Result<Vec<u8>, GitError> {
        let sub = sub_directory.trim_matches('/');
        let tree = if sub.is_empty() {
            sha.to_string()
        } else {
            format!("{sha}:{sub}")
        };
        if !sub.is_empty() {
            let (ok, out, _) = git(Some(&self.dir), &["cat-file", "-t", &tree]).await?;
            if !ok || out.trim() != "tree" {
                return Err(GitError::NoSubDirectory(sub.to_string()));
            }
        }
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&self.dir)
            .args(["archive", "--format=tar", "--prefix=workspace/", &tree])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let output = command
            .output()
            .await
            .map_err(|e| GitError::Failed(format!("cannot run git: {e}")))?;
        if !output.status.success() {
            return Err(GitError::Failed(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ));
        }
        Ok(output.stdout)
    }
}

/// The credentials of `source`, opened from their secrets (platform-wide secrets of the
/// deploy service, `secrets/{name}`); an error names the field and the secret.
pub async fn source_auth(
    store: &dyn ferry_store::Store,
    source: &ferry_proto::ferry::build::v1::GitSource,
) -> Result<GitAuth, String> {
    use ferry_proto::ferry::build::v1::git_credentials::Method;
    let open = |reference: Option<ferry_proto::ferry::common::v1::SecretRef>,
                what: &'static str| async move {
        let value = ferry_deploy::secret::resolve(store, &reference.unwrap_or_default(), "")
            .await
            .map_err(|error| {
                format!(
                    "{what}: {}",
                    ferry_kit::error::ApiError::from(error).message
                )
            })?;
        String::from_utf8(value).map_err(|_| format!("{what}: the secret is not UTF-8 text"))
    };
    match source.credentials.as_ref().and_then(|c| c.method.as_ref()) {
        None => Ok(GitAuth::None),
        Some(Method::Token(token)) => Ok(GitAuth::Token {
            username: token.username.clone(),
            token: open(token.token.clone(), "source.credentials.token").await?,
        }),
        Some(Method::SshKey(key)) => Ok(GitAuth::SshKey {
            private_key: open(key.private_key.clone(), "source.credentials.ssh_key").await?,
            known_hosts: key.known_hosts.clone(),
        }),
    }
}

/// Longest wait for a repository to list its refs.
const LS_REMOTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The refs of `url` (`<sha>\t<ref>` lines), or why it cannot be reached.
pub async fn ls_remote(url: &str, auth: &GitAuth) -> Result<String, GitError> {
    let args = ["ls-remote", "--", git_url(url)];
    let credentials_dir =
        std::env::temp_dir().join(format!("ferry-git-{}", uuid::Uuid::new_v4().simple()));
    let env = auth_env(auth, &credentials_dir)
        .map_err(|e| GitError::Failed(format!("write the credentials: {e}")))?;
    let listing = tokio::time::timeout(LS_REMOTE_TIMEOUT, git_with(None, &args, &env)).await;
    let _ = std::fs::remove_dir_all(&credentials_dir);
    let (ok, out, err) = listing
        .map_err(|_| GitError::Unreachable(format!("no answer within {LS_REMOTE_TIMEOUT:?}")))??;
    if ok {
        Ok(out)
    } else {
        Err(GitError::Unreachable(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_off_command_lines_and_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let token = GitAuth::Token {
            username: String::new(),
            token: "t0ken".into(),
        };
        assert!(!format!("{token:?}").contains("t0ken"));
        let env = auth_env(&token, dir.path()).unwrap();
        assert_eq!(env[1].1, "http.extraHeader");
        assert!(env[2].1.starts_with("Authorization: Basic "));
        let key = GitAuth::SshKey {
            private_key: "KEY".into(),
            known_hosts: vec!["host ssh-ed25519 AAAA".into()],
        };
        let env = auth_env(&key, dir.path()).unwrap();
        assert!(env[0].1.contains("StrictHostKeyChecking=yes"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("id"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
