//! Reproducible image layers: a tar of files, directories and symlinks with sorted
//! entries, a fixed modification time, owner 0:0 without names and the source modes, then
//! gzip without file name or time. The same input always gives the same bytes, so a
//! rebuild of unchanged content has the digest of the layer already in the registry.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::{Compression, GzBuilder};

use crate::digest::HashingWriter;
use crate::{Digest, ImageError};

/// How a layer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerOptions {
    /// Modification time of every entry, in seconds since the Unix epoch (the
    /// `SOURCE_DATE_EPOCH` convention); 0 by default.
    pub mtime: u64,
    /// gzip level, 0 (store) to 9 (best); 6 by default, like `gzip` and Docker.
    pub compression_level: u32,
}

impl Default for LayerOptions {
    fn default() -> Self {
        Self {
            mtime: 0,
            compression_level: 6,
        }
    }
}

impl LayerOptions {
    /// Options with the time given as a `SOURCE_DATE_EPOCH` value (decimal seconds).
    pub fn with_source_date_epoch(value: &str) -> Result<Self, ImageError> {
        let mtime = value
            .trim()
            .parse::<u64>()
            .map_err(|_| ImageError::InvalidContent {
                what: "SOURCE_DATE_EPOCH".into(),
                reason: format!("{value:?} is not a number of seconds"),
            })?;
        Ok(Self {
            mtime,
            ..Self::default()
        })
    }
}

/// A built layer: the compressed blob and what a manifest and a config need about it.
#[derive(Clone)]
pub struct Layer {
    /// The gzip-compressed tar.
    pub blob: Bytes,
    /// Digest of `blob` (the manifest's layer descriptor).
    pub digest: Digest,
    /// Size of `blob` in bytes.
    pub size: u64,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
    /// Size of the uncompressed tar in bytes.
    pub uncompressed_size: u64,
    /// Number of entries (files, directories, symlinks) in the tar.
    pub entries: usize,
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layer")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("diff_id", &self.diff_id)
            .field("uncompressed_size", &self.uncompressed_size)
            .field("entries", &self.entries)
            .finish()
    }
}

/// Where an entry's content comes from.
#[derive(Debug, Clone)]
enum Source {
    Directory,
    File(PathBuf),
    Bytes(Vec<u8>),
    Symlink(PathBuf),
}

#[derive(Debug, Clone)]
struct Entry {
    source: Source,
    mode: u32,
}

/// Collects entries (by their path in the image) and writes them as a [`Layer`].
///
/// Entries are kept sorted by path; adding a path twice keeps the last one. Parent
/// directories that were not added are written with mode 0755. Files are read when
/// [`LayerBuilder::build`] runs.
#[derive(Debug, Clone, Default)]
pub struct LayerBuilder {
    options: LayerOptions,
    entries: BTreeMap<String, Entry>,
}

impl LayerBuilder {
    /// An empty layer written with `options`.
    pub fn new(options: LayerOptions) -> Self {
        Self {
            options,
            entries: BTreeMap::new(),
        }
    }

    /// Number of entries added so far (without implied parent directories).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `source` at `path_in_image`: a regular file, a symlink (kept as a symlink) or
    /// a directory with everything under it (symlinks inside are not followed).
    pub fn add_path(
        &mut self,
        path_in_image: &str,
        source: impl AsRef<Path>,
    ) -> Result<&mut Self, ImageError> {
        let path = normalize(path_in_image)?;
        self.add_source(path, source.as_ref())?;
        Ok(self)
    }

    /// Adds everything under the directory `source` at `path_in_image` (`/` for the image
    /// root); the directory itself keeps its mode unless it is the root.
    pub fn add_tree(
        &mut self,
        path_in_image: &str,
        source: impl AsRef<Path>,
    ) -> Result<&mut Self, ImageError> {
        let source = source.as_ref();
        let metadata = fs::symlink_metadata(source).map_err(|e| io_error(source, e))?;
        if !metadata.is_dir() {
            return Err(ImageError::Io {
                path: source.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        self.add_path(path_in_image, source)
    }

    /// Adds a regular file with `content` and `mode` (permission bits, e.g. `0o755`).
    pub fn add_bytes(
        &mut self,
        path_in_image: &str,
        content: impl Into<Vec<u8>>,
        mode: u32,
    ) -> Result<&mut Self, ImageError> {
        let path = non_root(normalize(path_in_image)?, path_in_image)?;
        self.entries.insert(
            path,
            Entry {
                source: Source::Bytes(content.into()),
                mode: mode & 0o7777,
            },
        );
        Ok(self)
    }

    /// Adds a symlink pointing at `target` (kept as written, relative or absolute).
    pub fn add_symlink(
        &mut self,
        path_in_image: &str,
        target: &str,
    ) -> Result<&mut Self, ImageError> {
        let path = non_root(normalize(path_in_image)?, path_in_image)?;
        if target.is_empty() {
            return Err(ImageError::InvalidLayerPath {
                path: path_in_image.to_string(),
                reason: "the symlink target is empty".into(),
            });
        }
        self.entries.insert(
            path,
            Entry {
                source: Source::Symlink(PathBuf::from(target)),
                mode: 0o777,
            },
        );
        Ok(self)
    }

    /// Adds an empty directory with `mode`.
    pub fn add_directory(
        &mut self,
        path_in_image: &str,
        mode: u32,
    ) -> Result<&mut Self, ImageError> {
        let path = non_root(normalize(path_in_image)?, path_in_image)?;
        self.entries.insert(
            path,
            Entry {
                source: Source::Directory,
                mode: mode & 0o7777,
            },
        );
        Ok(self)
    }

    fn add_source(&mut self, path: String, source: &Path) -> Result<(), ImageError> {
        let metadata = fs::symlink_metadata(source).map_err(|e| io_error(source, e))?;
        let mode = metadata.permissions().mode() & 0o7777;
        let file_type = metadata.file_type();
        if file_type.is_dir() {
            if !path.is_empty() {
                self.entries.insert(
                    path.clone(),
                    Entry {
                        source: Source::Directory,
                        mode,
                    },
                );
            }
            let children = fs::read_dir(source).map_err(|e| io_error(source, e))?;
            for child in children {
                let child = child.map_err(|e| io_error(source, e))?;
                let Some(name) = child.file_name().to_str().map(str::to_string) else {
                    return Err(ImageError::InvalidLayerPath {
                        path: child.path().display().to_string(),
                        reason: "the file name is not UTF-8".into(),
                    });
                };
                let child_path = if path.is_empty() {
                    name
                } else {
                    format!("{path}/{name}")
                };
                self.add_source(child_path, &child.path())?;
            }
        } else {
            let path = non_root(path, &source.display().to_string())?;
            let source = if file_type.is_file() {
                Source::File(source.to_path_buf())
            } else if file_type.is_symlink() {
                Source::Symlink(fs::read_link(source).map_err(|e| io_error(source, e))?)
            } else {
                return Err(ImageError::UnsupportedFileType {
                    path: source.to_path_buf(),
                });
            };
            self.entries.insert(path, Entry { source, mode });
        }
        Ok(())
    }

    /// Writes the layer (blocking: reads every file; run it on a blocking thread in async
    /// code).
    pub fn build(&self) -> Result<Layer, ImageError> {
        let compressed = HashingWriter::new(Vec::new());
        let gzip = GzBuilder::new().write(
            compressed,
            Compression::new(self.options.compression_level.min(9)),
        );
        let (uncompressed, entries) = self.write_tar(HashingWriter::new(gzip))?;
        let (gzip, diff_id, uncompressed_size) = uncompressed.finish();
        let compressed = gzip.finish().map_err(ImageError::Archive)?;
        let (blob, digest, size) = compressed.finish();
        Ok(Layer {
            blob: Bytes::from(blob),
            digest,
            size,
            diff_id,
            uncompressed_size,
            entries,
        })
    }

    /// The layer's `diff_id` (digest of the uncompressed tar) and uncompressed size,
    /// without compressing: a cheap fingerprint of the content (blocking, reads every
    /// file).
    pub fn diff_id(&self) -> Result<(Digest, u64), ImageError> {
        let (hashed, _) = self.write_tar(HashingWriter::new(std::io::sink()))?;
        let (_, diff_id, size) = hashed.finish();
        Ok((diff_id, size))
    }

    /// Writes the tar into `out`; returns it and the number of entries.
    fn write_tar<W: Write>(&self, out: W) -> Result<(W, usize), ImageError> {
        let entries = self.with_parents()?;
        let mut tar = tar::Builder::new(out);
        for (path, entry) in &entries {
            self.append(&mut tar, path, entry)?;
        }
        let out = tar.into_inner().map_err(ImageError::Archive)?;
        Ok((out, entries.len()))
    }

    /// The entries plus every missing parent directory; refuses a path under a
    /// non-directory.
    fn with_parents(&self) -> Result<BTreeMap<String, Entry>, ImageError> {
        let mut all = self.entries.clone();
        for path in self.entries.keys() {
            let mut parent = path.as_str();
            while let Some((up, _)) = parent.rsplit_once('/') {
                parent = up;
                match all.get(parent) {
                    Some(Entry {
                        source: Source::Directory,
                        ..
                    }) => {}
                    Some(_) => {
                        return Err(ImageError::InvalidLayerPath {
                            path: format!("/{path}"),
                            reason: format!("/{parent} is not a directory in this layer"),
                        });
                    }
                    None => {
                        all.insert(
                            parent.to_string(),
                            Entry {
                                source: Source::Directory,
                                mode: 0o755,
                            },
                        );
                    }
                }
            }
        }
        Ok(all)
    }

    fn append<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        path: &str,
        entry: &Entry,
    ) -> Result<(), ImageError> {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(self.options.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(entry.mode);
        match &entry.source {
            Source::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, format!("{path}/"), std::io::empty())
                    .map_err(ImageError::Archive)
            }
            Source::Bytes(content) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(content.len() as u64);
                tar.append_data(&mut header, path, content.as_slice())
                    .map_err(ImageError::Archive)
            }
            Source::File(source) => {
                let file = fs::File::open(source).map_err(|e| io_error(source, e))?;
                let len = file.metadata().map_err(|e| io_error(source, e))?.len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(len);
                // Take exactly the announced size: a file growing while it is read must
                // not corrupt the archive.
                tar.append_data(&mut header, path, std::io::Read::take(file, len))
                    .map_err(|e| io_error(source, e))
            }
            Source::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, path, target)
                    .map_err(ImageError::Archive)
            }
        }
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ImageError {
    ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `/a//b/` → `a/b`; the root is the empty string. `.` and `..` are refused.
fn normalize(path_in_image: &str) -> Result<String, ImageError> {
    let mut parts = Vec::new();
    for part in path_in_image.split('/') {
        match part {
            "" => {}
            "." | ".." => {
                return Err(ImageError::InvalidLayerPath {
                    path: path_in_image.to_string(),
                    reason: "'.' and '..' components are not allowed".into(),
                });
            }
            part if part.contains('\0') => {
                return Err(ImageError::InvalidLayerPath {
                    path: path_in_image.to_string(),
                    reason: "NUL byte in the path".into(),
                });
            }
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

fn non_root(path: String, given: &str) -> Result<String, ImageError> {
    if path.is_empty() {
        Err(ImageError::InvalidLayerPath {
            path: given.to_string(),
            reason: "only a directory can be placed at the image root".into(),
        })
    } else {
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::fs::symlink;

    use super::*;

    /// Path, type, mode, mtime, uid + gid, content, link target.
    type Unpacked = (String, tar::EntryType, u32, u64, u64, Vec<u8>, String);

    fn unpack(layer: &Layer) -> Vec<Unpacked> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&layer.blob[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(Digest::of(&raw), layer.diff_id);
        assert_eq!(raw.len() as u64, layer.uncompressed_size);
        let mut archive = tar::Archive::new(&raw[..]);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let header = entry.header().clone();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                let link = entry
                    .link_name()
                    .unwrap()
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                let path = entry.path().unwrap().display().to_string();
                // Directories are written with a trailing slash, like Docker's layers.
                assert_eq!(
                    path.ends_with('/'),
                    header.entry_type() == tar::EntryType::Directory,
                    "{path}"
                );
                (
                    path.trim_end_matches('/').to_string(),
                    header.entry_type(),
                    header.mode().unwrap(),
                    header.mtime().unwrap(),
                    header.uid().unwrap() + header.gid().unwrap(),
                    content,
                    link,
                )
            })
            .collect()
    }

    fn sample_tree(dir: &Path) {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("share/doc")).unwrap();
        fs::write(dir.join("bin/run"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(dir.join("bin/run"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(dir.join("share/doc/README"), b"read me").unwrap();
        fs::set_permissions(
            dir.join("share/doc/README"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        symlink("bin/run", dir.join("start")).unwrap();
        fs::write(dir.join("a.txt"), "x".repeat(300_000)).unwrap();
    }

    #[test]
    fn a_tree_gives_sorted_fixed_time_root_owned_entries_with_modes_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        sample_tree(dir.path());
        let mut builder = LayerBuilder::new(LayerOptions {
            mtime: 1_700_000_000,
            ..Default::default()
        });
        builder.add_tree("/app", dir.path()).unwrap();
        let layer = builder.build().unwrap();
        assert_eq!(Digest::of(&layer.blob), layer.digest);
        assert_eq!(layer.blob.len() as u64, layer.size);
        // gzip header: no name flag, mtime 0.
        assert_eq!(&layer.blob[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&layer.blob[4..8], &[0, 0, 0, 0]);
        let entries = unpack(&layer);
        let paths: Vec<_> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "app",
                "app/a.txt",
                "app/bin",
                "app/bin/run",
                "app/share",
                "app/share/doc",
                "app/share/doc/README",
                "app/start"
            ]
        );
        for entry in &entries {
            assert_eq!(entry.3, 1_700_000_000, "{}", entry.0);
            assert_eq!(entry.4, 0, "{}", entry.0);
        }
        let run = entries.iter().find(|e| e.0 == "app/bin/run").unwrap();
        assert_eq!(run.2, 0o750);
        assert_eq!(run.5, b"#!/bin/sh\necho hi\n");
        let readme = entries
            .iter()
            .find(|e| e.0 == "app/share/doc/README")
            .unwrap();
        assert_eq!(readme.2, 0o640);
        let start = entries.iter().find(|e| e.0 == "app/start").unwrap();
        assert_eq!(start.1, tar::EntryType::Symlink);
        assert_eq!(start.6, "bin/run");
        assert_eq!(
            entries.iter().find(|e| e.0 == "app/bin").unwrap().1,
            tar::EntryType::Directory
        );
        assert_eq!(layer.entries, 8);
    }

    #[test]
    fn same_content_gives_byte_identical_blobs_whatever_the_file_times() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        sample_tree(first.path());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        sample_tree(second.path());
        let build = |dir: &Path| {
            let mut builder = LayerBuilder::new(LayerOptions::default());
            builder.add_tree("/", dir).unwrap();
            builder.build().unwrap()
        };
        let (a, b) = (build(first.path()), build(second.path()));
        assert_eq!(a.blob, b.blob);
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.diff_id, b.diff_id);
        // The fingerprint without compression is the same diff_id.
        let mut builder = LayerBuilder::new(LayerOptions::default());
        builder.add_tree("/", second.path()).unwrap();
        assert_eq!(
            builder.diff_id().unwrap(),
            (a.diff_id.clone(), a.uncompressed_size)
        );
        // A one-byte change changes both digests.
        fs::write(second.path().join("share/doc/README"), b"read me!").unwrap();
        let c = build(second.path());
        assert_ne!(a.digest, c.digest);
        assert_ne!(a.diff_id, c.diff_id);
        // Another time changes the layer too.
        let mut builder = LayerBuilder::new(LayerOptions::with_source_date_epoch("5").unwrap());
        builder.add_tree("/", first.path()).unwrap();
        assert_ne!(builder.build().unwrap().digest, a.digest);
    }

    #[test]
    fn entries_from_bytes_get_parents_and_paths_are_checked() {
        let mut builder = LayerBuilder::new(LayerOptions::default());
        builder
            .add_bytes("/srv/app/config.json", b"{}".to_vec(), 0o600)
            .unwrap()
            .add_symlink("/usr/bin/app", "/srv/app/run")
            .unwrap();
        let layer = builder.build().unwrap();
        let paths: Vec<_> = unpack(&layer).into_iter().map(|e| (e.0, e.2)).collect();
        assert_eq!(
            paths,
            [
                ("srv".to_string(), 0o755),
                ("srv/app".to_string(), 0o755),
                ("srv/app/config.json".to_string(), 0o600),
                ("usr".to_string(), 0o755),
                ("usr/bin".to_string(), 0o755),
                ("usr/bin/app".to_string(), 0o777),
            ]
        );
        for bad in ["/a/../b", "./a", "/", ""] {
            assert!(
                matches!(
                    LayerBuilder::default().add_bytes(bad, Vec::new(), 0o644),
                    Err(ImageError::InvalidLayerPath { .. })
                ),
                "{bad:?}"
            );
        }
        let mut under_file = LayerBuilder::default();
        under_file
            .add_bytes("/a", b"file".to_vec(), 0o644)
            .unwrap()
            .add_bytes("/a/b", b"x".to_vec(), 0o644)
            .unwrap();
        assert!(matches!(
            under_file.build(),
            Err(ImageError::InvalidLayerPath { .. })
        ));
        assert!(matches!(
            LayerBuilder::default().add_path("/x", "/nonexistent/ferry"),
            Err(ImageError::Io { .. })
        ));
        assert!(LayerOptions::with_source_date_epoch("soon").is_err());
    }

    #[test]
    fn long_paths_and_link_targets_survive() {
        let long = format!("/{}/file", "d".repeat(150));
        let target = "t".repeat(200);
        let mut builder = LayerBuilder::default();
        builder
            .add_bytes(&long, b"x".to_vec(), 0o644)
            .unwrap()
            .add_symlink("/link", &target)
            .unwrap();
        let entries = unpack(&builder.build().unwrap());
        assert!(entries.iter().any(|e| format!("/{}", e.0) == long));
        assert!(entries.iter().any(|e| e.0 == "link" && e.6 == target));
    }
}
