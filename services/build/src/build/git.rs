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

/// A submodule of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submodule {
    /// Where it sits in the superproject's tree.
    pub path: String,
    /// Where it is fetched from (relative URLs resolved against the superproject's).
    pub url: String,
    /// The commit the superproject records for it.
    pub sha: String,
}

/// Most levels of nested submodules followed.
pub const SUBMODULE_DEPTH: usize = 4;

impl RepoCache {
    /// The cache of a submodule fetched from `url` for application `application_id`
    /// (one bare repository per URL, next to the application's).
    pub fn for_submodule(work_dir: &Path, application_id: &str, url: &str) -> Self {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(url.as_bytes());
        let id: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            dir: work_dir
                .join("repos")
                .join(format!("{application_id}.modules"))
                .join(format!("{id}.git")),
        }
    }

    /// The submodules of commit `sha` (from its `.gitmodules` and the tree's gitlinks),
    /// sorted by path; relative URLs are resolved against `superproject_url`.
    pub async fn submodules(
        &self,
        sha: &str,
        superproject_url: &str,
    ) -> Result<Vec<Submodule>, GitError> {
        let blob = format!("{sha}:.gitmodules");
        let (ok, _, _) = git(Some(&self.dir), &["cat-file", "-e", &blob]).await?;
        if !ok {
            return Ok(Vec::new());
        }
        let (ok, out, err) = git(
            Some(&self.dir),
            &[
                "config",
                "--blob",
                &blob,
                "--get-regexp",
                r"^submodule\..*\.(path|url)$",
            ],
        )
        .await?;
        if !ok {
            return Err(GitError::Failed(format!(".gitmodules: {err}")));
        }
        let mut declared: std::collections::BTreeMap<String, (String, String)> = Default::default();
        for line in out.lines() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            let Some(rest) = key.strip_prefix("submodule.") else {
                continue;
            };
            if let Some(name) = rest.strip_suffix(".path") {
                declared.entry(name.to_string()).or_default().0 = value.to_string();
            } else if let Some(name) = rest.strip_suffix(".url") {
                declared.entry(name.to_string()).or_default().1 = value.to_string();
            }
        }
        let mut found = Vec::new();
        for (name, (path, url)) in declared {
            if path.is_empty() || url.is_empty() {
                return Err(GitError::Failed(format!(
                    ".gitmodules: submodule {name:?} needs a path and a url"
                )));
            }
            let (ok, out, _) = git(Some(&self.dir), &["ls-tree", sha, "--", &path]).await?;
            // `160000 commit <sha>\t<path>`; a declared path without a gitlink is skipped
            // (as `git submodule update` does).
            let Some(gitlink) = out
                .lines()
                .find(|line| line.starts_with("160000 commit "))
                .filter(|_| ok)
            else {
                continue;
            };
            let linked = gitlink
                .trim_start_matches("160000 commit ")
                .split('\t')
                .next()
                .unwrap_or_default()
                .to_string();
            found.push(Submodule {
                path: path.trim_matches('/').to_string(),
                url: resolve_submodule_url(superproject_url, &url),
                sha: linked,
            });
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    /// Whether the cache has commit `sha`.
    pub async fn has_commit(&self, sha: &str) -> Result<bool, GitError> {
        let spec = format!("{sha}^{{commit}}");
        let (ok, _, _) = git(Some(&self.dir), &["cat-file", "-e", &spec]).await?;
        Ok(ok)
    }
}

/// The workspace of commit `sha` of `repository` (fetched from `url` into `cache`) as
/// [`RepoCache::archive`] makes it, with every submodule's tree at the commit the
/// superproject records, nested ones too (up to [`SUBMODULE_DEPTH`] levels). Each
/// submodule is fetched with `auth` into its own bare cache. Returns the tar and one log
/// line per submodule.
pub async fn archive_with_submodules(
    work_dir: &Path,
    application_id: &str,
    cache: &RepoCache,
    url: &str,
    sha: &str,
    sub_directory: &str,
    auth: &GitAuth,
) -> Result<(Vec<u8>, Vec<String>), GitError> {
    let sub = sub_directory.trim_matches('/');
    let mut builder = tar::Builder::new(Vec::new());
    let failed = |e: std::io::Error| GitError::Failed(format!("assemble the workspace: {e}"));
    let main = cache.archive(sha, sub).await?;
    append_under(&mut builder, &main, "").map_err(failed)?;
    let mut log = Vec::new();
    // (repository, its URL, commit, its path in the superproject, depth)
    let mut pending = vec![(
        cache.clone(),
        url.to_string(),
        sha.to_string(),
        String::new(),
        0,
    )];
    while let Some((repository, repository_url, commit, at, depth)) = pending.pop() {
        for module in repository.submodules(&commit, &repository_url).await? {
            let path = if at.is_empty() {
                module.path.clone()
            } else {
                format!("{at}/{}", module.path)
            };
            let inside = if sub.is_empty() {
                Some(path.as_str())
            } else {
                path.strip_prefix(sub).and_then(|p| p.strip_prefix('/'))
            };
            let Some(inside) = inside.map(str::to_string) else {
                continue;
            };
            if depth + 1 > SUBMODULE_DEPTH {
                return Err(GitError::Failed(format!(
                    "submodule {path}: more than {SUBMODULE_DEPTH} levels of nested submodules"
                )));
            }
            let module_cache = RepoCache::for_submodule(work_dir, application_id, &module.url);
            module_cache
                .fetch(&module.url, auth)
                .await
                .map_err(|error| match error {
                    GitError::Unreachable(message) => GitError::Unreachable(format!(
                        "submodule {path} ({}): {message}",
                        module.url
                    )),
                    other => other,
                })?;
            if !module_cache.has_commit(&module.sha).await? {
                return Err(GitError::RefNotFound(format!(
                    "{} (submodule {path} of {})",
                    module.sha, repository_url
                )));
            }
            let tree = module_cache.archive(&module.sha, "").await?;
            append_under(&mut builder, &tree, &inside).map_err(failed)?;
            log.push(format!(
                "submodule {path}: {} at {}",
                module.url,
                super::model::short_sha(&module.sha)
            ));
            pending.push((module_cache, module.url, module.sha, path, depth + 1));
        }
    }
    let tar = builder.into_inner().map_err(failed)?;
    Ok((tar, log))
}

/// `url` of a submodule as git resolves it: `./x` and `../x` are relative to the
/// superproject's URL (a path or a URL), anything else stands as it is.
pub fn resolve_submodule_url(superproject: &str, url: &str) -> String {
    if !(url.starts_with("./") || url.starts_with("../")) {
        return url.to_string();
    }
    let mut base: Vec<&str> = superproject.trim_end_matches('/').split('/').collect();
    let mut rest = url;
    loop {
        if let Some(after) = rest.strip_prefix("./") {
            rest = after;
        } else if let Some(after) = rest.strip_prefix("../") {
            if base.len() > 1 {
                base.pop();
            }
            rest = after;
        } else {
            break;
        }
    }
    format!("{}/{rest}", base.join("/"))
}

/// Appends the entries of the tar `archive` to `builder`, their paths moved from under
/// `workspace/` to under `workspace/<prefix>/`.
pub fn append_under(
    builder: &mut tar::Builder<Vec<u8>>,
    archive: &[u8],
    prefix: &str,
) -> std::io::Result<()> {
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Ok(inside) = path.strip_prefix("workspace") else {
            continue;
        };
        let target = Path::new("workspace").join(prefix).join(inside);
        let mut header = entry.header().clone();
        if header.entry_type().is_symlink() || header.entry_type().is_hard_link() {
            let link = entry
                .link_name()?
                .map(|l| l.into_owned())
                .unwrap_or_default();
            builder.append_link(&mut header, &target, link)?;
        } else {
            builder.append_data(&mut header, &target, &mut entry)?;
        }
    }
    Ok(())
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

    /// Runs git in `dir` (real git, as the build service uses it).
    fn run_git(dir: &Path, args: &[&str]) {
        let output = std::process::Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=ferry",
                "-c",
                "user.email=ferry@example.com",
                "-c",
                "protocol.file.allow=always",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .expect("git is installed (deploy/dev/setup.sh)");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn repo_with(dir: &Path, file: &str, content: &str) {
        std::fs::create_dir_all(dir).unwrap();
        run_git(dir, &["init", "--quiet"]);
        std::fs::write(dir.join(file), content).unwrap();
        run_git(dir, &["add", "."]);
        run_git(dir, &["commit", "--quiet", "-m", file]);
    }

    fn entries(tar_bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut found = std::collections::BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().unwrap().display().to_string();
            let mut content = String::new();
            std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
            found.insert(path, content);
        }
        found
    }

    #[tokio::test]
    async fn submodules_and_nested_ones_are_in_the_workspace_at_their_recorded_commits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        repo_with(&root.join("deep"), "deep.txt", "deep v1");
        repo_with(&root.join("lib"), "lib.txt", "lib v1");
        run_git(
            &root.join("lib"),
            &["submodule", "add", "--quiet", "../deep", "third_party/deep"],
        );
        run_git(&root.join("lib"), &["commit", "--quiet", "-m", "deep"]);
        repo_with(&root.join("app"), "app.txt", "app");
        run_git(
            &root.join("app"),
            &["submodule", "add", "--quiet", "../lib", "vendor/lib"],
        );
        run_git(&root.join("app"), &["commit", "--quiet", "-m", "lib"]);
        // A later commit of lib is not what app records: the workspace keeps v1.
        std::fs::write(root.join("lib/lib.txt"), "lib v2").unwrap();
        run_git(&root.join("lib"), &["commit", "--quiet", "-am", "v2"]);

        let work = root.join("work");
        let url = root.join("app").display().to_string();
        let cache = RepoCache::new(&work, "app");
        cache.fetch(&url, &GitAuth::None).await.unwrap();
        let commit = cache.resolve("main").await.unwrap();
        let modules = cache.submodules(&commit.sha, &url).await.unwrap();
        assert_eq!(modules.len(), 1);
        assert_eq!(modules[0].path, "vendor/lib");
        assert_eq!(modules[0].url, root.join("lib").display().to_string());
        let (tar_bytes, log) =
            archive_with_submodules(&work, "app", &cache, &url, &commit.sha, "", &GitAuth::None)
                .await
                .unwrap();
        let files = entries(&tar_bytes);
        assert_eq!(
            files.get("workspace/app.txt").map(String::as_str),
            Some("app")
        );
        assert_eq!(
            files
                .get("workspace/vendor/lib/lib.txt")
                .map(String::as_str),
            Some("lib v1"),
            "{files:?}"
        );
        assert_eq!(
            files
                .get("workspace/vendor/lib/third_party/deep/deep.txt")
                .map(String::as_str),
            Some("deep v1"),
            "{files:?}"
        );
        assert_eq!(log.len(), 2, "{log:?}");
        // A sub-directory keeps only what lies under it, nested submodules included.
        let (tar_bytes, _) = archive_with_submodules(
            &work,
            "app",
            &cache,
            &url,
            &commit.sha,
            "vendor",
            &GitAuth::None,
        )
        .await
        .unwrap();
        let files = entries(&tar_bytes);
        assert!(files.contains_key("workspace/lib/lib.txt"), "{files:?}");
        assert!(
            files.contains_key("workspace/lib/third_party/deep/deep.txt"),
            "{files:?}"
        );
        assert!(!files.contains_key("workspace/app.txt"));
        // A submodule whose repository is gone: unreachable, naming the submodule.
        std::fs::rename(root.join("lib"), root.join("lib-moved")).unwrap();
        std::fs::remove_dir_all(work.join("repos/app.modules")).unwrap();
        let error =
            archive_with_submodules(&work, "app", &cache, &url, &commit.sha, "", &GitAuth::None)
                .await
                .unwrap_err();
        assert!(
            matches!(&error, GitError::Unreachable(m) if m.contains("submodule vendor/lib")),
            "{error:?}"
        );
    }

    #[test]
    fn relative_submodule_urls_resolve_against_the_superproject() {
        assert_eq!(
            resolve_submodule_url("https://git.example/org/app.git", "../lib.git"),
            "https://git.example/org/lib.git"
        );
        assert_eq!(
            resolve_submodule_url("/srv/git/app", "./modules/lib"),
            "/srv/git/app/modules/lib"
        );
        assert_eq!(
            resolve_submodule_url("/srv/git/app/", "../../other/lib"),
            "/srv/other/lib"
        );
        assert_eq!(
            resolve_submodule_url("/srv/git/app", "https://git.example/lib.git"),
            "https://git.example/lib.git"
        );
    }

    #[test]
    fn archives_append_under_a_prefix() {
        let mut inner = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        inner
            .append_data(&mut header, "workspace/hello.txt", &b"hello"[..])
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        inner
            .append_link(&mut link, "workspace/link", "hello.txt")
            .unwrap();
        let inner = inner.into_inner().unwrap();
        let mut outer = tar::Builder::new(Vec::new());
        append_under(&mut outer, &inner, "vendor/lib").unwrap();
        let outer = outer.into_inner().unwrap();
        let mut archive = tar::Archive::new(outer.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut content = String::new();
            std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
            let link = entry.link_name().unwrap().map(|l| l.display().to_string());
            seen.push((path, content, link));
        }
        assert_eq!(
            seen,
            vec![
                (
                    "workspace/vendor/lib/hello.txt".to_string(),
                    "hello".to_string(),
                    None
                ),
                (
                    "workspace/vendor/lib/link".to_string(),
                    String::new(),
                    Some("hello.txt".to_string())
                ),
            ]
        );
    }

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
