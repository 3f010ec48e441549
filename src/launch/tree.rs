//! The manifest of an installed package tree, and its verification.
//!
//! A manifest lists every entry under the tree root, sorted by relative
//! path: its kind (file, directory, symlink), its permission bits, and the
//! SHA-256 of a file's contents or a link's target. The tree's hash is the
//! SHA-256 of the manifest's canonical text, so two trees have the same hash
//! exactly when they have the same paths, kinds, modes, contents and links.
//!
//! The pin holds the hash; the per-file manifest is kept beside the tree
//! (outside it) so a tampered tree can be reported file by file. Files are
//! hashed on all cores; symlinks are never followed.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the tree root, `/`-separated, never empty.
    pub path: String,
    pub kind: Kind,
    /// Permission bits (`mode & 0o7777`); 0 for symlinks.
    pub mode: u32,
    /// SHA-256 of a file's contents (hex), a symlink's target, or empty.
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::File => 'f',
            Kind::Dir => 'd',
            Kind::Link => 'l',
        }
    }
}

/// A tree's entries and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not UTF-8; vanguard cannot pin this tree")]
    NotUtf8 { path: PathBuf },
    #[error("{path}: a special file (device, socket or fifo) in a package tree")]
    Special { path: PathBuf },
    #[error("manifest {path}, line {line}: {message}")]
    Manifest {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TreeError + '_ {
    move |source| TreeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

const HEADER: &str = "vanguard-tree 1";

/// What `stat` says of a file, to skip re-hashing files that did not
/// change: any write, truncate, chmod, rename over or `utime` changes the
/// inode's ctime, which only the kernel sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatKey {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl StatKey {
    fn of(m: &std::fs::Metadata) -> StatKey {
        StatKey {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        }
    }
}

/// Digests of files as last hashed, keyed by relative path with their
/// [`StatKey`]. Kept outside the tree, beside the pin file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatCache {
    pub files: std::collections::HashMap<String, (StatKey, String)>,
}

impl StatCache {
    pub fn text(&self) -> String {
        let mut lines: Vec<String> = self
            .files
            .iter()
            .map(|(p, (k, d))| {
                format!(
                    "{} {} {} {} {} {} {}",
                    k.dev,
                    k.ino,
                    k.size,
                    k.mtime_ns,
                    k.ctime_ns,
                    d,
                    serde_json::to_string(p).unwrap_or_default()
                )
            })
            .collect();
        lines.sort();
        lines.join("\n") + "\n"
    }

    /// Reads [`StatCache::text`]; a line that does not parse is skipped (its
    /// file is simply hashed again).
    pub fn parse(text: &str) -> StatCache {
        let mut files = std::collections::HashMap::new();
        for line in text.lines() {
            let mut f = line.splitn(7, ' ');
            let parsed = (|| {
                let key = StatKey {
                    dev: f.next()?.parse().ok()?,
                    ino: f.next()?.parse().ok()?,
                    size: f.next()?.parse().ok()?,
                    mtime_ns: f.next()?.parse().ok()?,
                    ctime_ns: f.next()?.parse().ok()?,
                };
                let digest = f.next()?.to_string();
                let path: String = serde_json::from_str(f.next()?).ok()?;
                Some((path, (key, digest)))
            })();
            if let Some((p, v)) = parsed {
                files.insert(p, v);
            }
        }
        StatCache { files }
    }
}

impl Manifest {
    /// Walks and hashes the tree at `root`.
    pub fn of(root: &Path) -> Result<Manifest, TreeError> {
        Ok(Manifest::of_with(root, &StatCache::default())?.0)
    }

    /// Walks the tree at `root`, hashing only the files whose [`StatKey`]
    /// differs from `known`; returns the manifest and the refreshed cache.
    pub fn of_with(root: &Path, known: &StatCache) -> Result<(Manifest, StatCache), TreeError> {
        let mut entries = Vec::new();
        let mut files: Vec<(usize, PathBuf, StatKey)> = Vec::new();
        walk(root, root, &mut entries, &mut files)?;
        let mut cache = StatCache::default();
        let mut to_hash = Vec::new();
        for (i, path, key) in files {
            let Some(e) = entries.get_mut(i) else {
                continue;
            };
            match known.files.get(&e.path) {
                Some((k, digest)) if *k == key => {
                    e.digest = digest.clone();
                    cache.files.insert(e.path.clone(), (key, digest.clone()));
                }
                _ => to_hash.push((i, path, key)),
            }
        }
        hash_files(&mut entries, &to_hash)?;
        for (i, _, key) in &to_hash {
            if let Some(e) = entries.get(*i) {
                cache.files.insert(e.path.clone(), (*key, e.digest.clone()));
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((Manifest { entries }, cache))
    }

    /// The canonical text: one line per entry, paths as JSON strings.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(self.entries.len() * 96);
        out.push_str(HEADER);
        out.push('\n');
        for e in &self.entries {
            let path = serde_json::to_string(&e.path).unwrap_or_default();
            out.push_str(&format!(
                "{} {:04o} {} {} {}\n",
                e.kind.letter(),
                e.mode,
                if e.digest.is_empty() { "-" } else { &e.digest },
                e.size,
                path
            ));
        }
        out
    }

    /// SHA-256 (hex) of [`Manifest::text`].
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.text().as_bytes()))
    }

    pub fn files(&self) -> u64 {
        self.entries.iter().filter(|e| e.kind == Kind::File).count() as u64
    }

    pub fn bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .map(|e| e.size)
            .sum()
    }

    /// Reads a manifest written by [`Manifest::text`].
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest, TreeError> {
        let bad = |line: usize, message: &str| TreeError::Manifest {
            path: origin.to_path_buf(),
            line,
            message: message.to_string(),
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(bad(1, "not a vanguard tree manifest")),
        }
        let mut entries = Vec::new();
        for (i, line) in lines {
            let mut parts = line.splitn(5, ' ');
            let (Some(kind), Some(mode), Some(digest), Some(size), Some(path)) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return Err(bad(i + 1, "expected 5 fields"));
            };
            let kind = match kind {
                "f" => Kind::File,
                "d" => Kind::Dir,
                "l" => Kind::Link,
                _ => return Err(bad(i + 1, "unknown kind")),
            };
            let mode = u32::from_str_radix(mode, 8).map_err(|_| bad(i + 1, "bad mode"))?;
            let size = size.parse().map_err(|_| bad(i + 1, "bad size"))?;
            let path: String = serde_json::from_str(path).map_err(|_| bad(i + 1, "bad path"))?;
            entries.push(Entry {
                path,
                kind,
                mode,
                digest: if digest == "-" {
                    String::new()
                } else {
                    digest.to_string()
                },
                size,
            });
        }
        Ok(Manifest { entries })
    }

    /// What differs between `self` (expected) and `actual`, as
    /// `changed|added|removed PATH` lines, in path order.
    pub fn differences(&self, actual: &Manifest) -> Vec<String> {
        let mut out = Vec::new();
        let (mut a, mut b) = (
            self.entries.iter().peekable(),
            actual.entries.iter().peekable(),
        );
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(x), None) => {
                    out.push(format!("removed {}", x.path));
                    a.next();
                }
                (None, Some(y)) => {
                    out.push(format!("added   {}", y.path));
                    b.next();
                }
                (Some(x), Some(y)) => match x.path.cmp(&y.path) {
                    std::cmp::Ordering::Less => {
                        out.push(format!("removed {}", x.path));
                        a.next();
                    }
                    std::cmp::Ordering::Greater => {
                        out.push(format!("added   {}", y.path));
                        b.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if x != y {
                            let what = if x.kind != y.kind {
                                "kind"
                            } else if x.digest != y.digest {
                                "content"
                            } else {
                                "mode"
                            };
                            out.push(format!("changed {} ({what})", x.path));
                        }
                        a.next();
                        b.next();
                    }
                },
            }
        }
        out
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    entries: &mut Vec<Entry>,
    files: &mut Vec<(usize, PathBuf, StatKey)>,
) -> Result<(), TreeError> {
    let mut children: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let path = child.path();
        // fstatat on the directory's fd, without following a final link.
        let meta = child.metadata().map_err(io(&path))?;
        let rel = path
            .strip_prefix(root)
            .ok()
            .and_then(Path::to_str)
            .ok_or_else(|| TreeError::NotUtf8 { path: path.clone() })?
            .to_string();
        let ft = meta.file_type();
        let mode = meta.permissions().mode() & 0o7777;
        if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(io(&path))?;
            let target = target
                .to_str()
                .ok_or_else(|| TreeError::NotUtf8 { path: path.clone() })?;
            entries.push(Entry {
                path: rel,
                kind: Kind::Link,
                mode: 0,
                digest: hex(&Sha256::digest(target.as_bytes())),
                size: 0,
            });
        } else if ft.is_dir() {
            entries.push(Entry {
                path: rel,
                kind: Kind::Dir,
                mode,
                digest: String::new(),
                size: 0,
            });
            walk(root, &path, entries, files)?;
        } else if ft.is_file() {
            files.push((entries.len(), path, StatKey::of(&meta)));
            entries.push(Entry {
                path: rel,
                kind: Kind::File,
                mode,
                digest: String::new(),
                size: meta.size(),
            });
        } else {
            return Err(TreeError::Special { path });
        }
    }
    Ok(())
}

/// Hashes the files on every core (the tree of a typical npm server holds
/// thousands of small files; opening them dominates).
fn hash_files(entries: &mut [Entry], files: &[(usize, PathBuf, StatKey)]) -> Result<(), TreeError> {
    if files.is_empty() {
        return Ok(());
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = files.len().div_ceil(threads).max(1);
    type Hashed = Vec<(usize, String, u64)>;
    let results: Vec<Result<Hashed, TreeError>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    part.iter()
                        .map(|(i, p, _)| hash_file(p, &mut buf).map(|(d, n)| (*i, d, n)))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(TreeError::Io {
                        path: PathBuf::new(),
                        source: std::io::Error::other("a hashing thread failed"),
                    })
                })
            })
            .collect()
    });
    for r in results {
        for (i, digest, size) in r? {
            if let Some(e) = entries.get_mut(i) {
                e.digest = digest;
                e.size = size;
            }
        }
    }
    Ok(())
}

fn hash_file(path: &Path, buf: &mut [u8]) -> Result<(String, u64), TreeError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = f.read(buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok((hex(&h.finalize()), total))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("pkg/dist")).expect("mkdir");
        std::fs::write(d.path().join("pkg/dist/index.js"), "console.log(1)\n").expect("w");
        std::fs::write(d.path().join("pkg/package.json"), "{}").expect("w");
        std::fs::create_dir_all(d.path().join(".bin")).expect("mkdir");
        symlink("../pkg/dist/index.js", d.path().join(".bin/tool")).expect("link");
        d
    }

    #[test]
    fn hash_is_stable_and_round_trips() {
        let d = tree();
        let a = Manifest::of(d.path()).expect("walk");
        let b = Manifest::of(d.path()).expect("walk");
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.files(), 2);
        let parsed = Manifest::parse(&a.text(), Path::new("m")).expect("parse");
        assert_eq!(parsed, a);
        assert!(a.differences(&b).is_empty());
    }

    #[test]
    fn every_kind_of_change_is_seen() {
        let d = tree();
        let before = Manifest::of(d.path()).expect("walk");
        std::fs::write(d.path().join("pkg/dist/index.js"), "evil()\n").expect("w");
        std::fs::write(d.path().join("pkg/dist/extra.js"), "").expect("w");
        std::fs::remove_file(d.path().join("pkg/package.json")).expect("rm");
        let after = Manifest::of(d.path()).expect("walk");
        assert_ne!(before.hash(), after.hash());
        let diff = before.differences(&after);
        assert_eq!(
            diff,
            vec![
                "added   pkg/dist/extra.js",
                "changed pkg/dist/index.js (content)",
                "removed pkg/package.json"
            ]
        );
        std::fs::set_permissions(
            d.path().join("pkg/dist/extra.js"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .expect("chmod");
        let moded = Manifest::of(d.path()).expect("walk");
        assert_eq!(
            after.differences(&moded),
            vec!["changed pkg/dist/extra.js (mode)"]
        );
        std::fs::remove_file(d.path().join(".bin/tool")).expect("rm");
        symlink("/etc/passwd", d.path().join(".bin/tool")).expect("link");
        let relinked = Manifest::of(d.path()).expect("walk");
        assert_eq!(
            moded.differences(&relinked),
            vec!["changed .bin/tool (content)"]
        );
    }

    #[test]
    fn the_stat_cache_skips_unchanged_files_and_sees_changed_ones() {
        let d = tree();
        let (full, cache) = Manifest::of_with(d.path(), &StatCache::default()).expect("walk");
        assert_eq!(cache.files.len(), 2);
        let reread = StatCache::parse(&cache.text());
        assert_eq!(reread, cache);
        let (fast, _) = Manifest::of_with(d.path(), &reread).expect("walk");
        assert_eq!(fast.hash(), full.hash());
        // Same size, mtime put back: the ctime still moves, so it is re-hashed.
        let f = d.path().join("pkg/dist/index.js");
        let before = std::fs::metadata(&f).expect("stat");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, "console.log(2)\n").expect("w");
        let mtime = std::time::UNIX_EPOCH
            + std::time::Duration::new(before.mtime() as u64, before.mtime_nsec() as u32);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .and_then(|h| h.set_modified(mtime))
            .expect("utime");
        let (after, _) = Manifest::of_with(d.path(), &reread).expect("walk");
        assert_eq!(
            full.differences(&after),
            vec!["changed pkg/dist/index.js (content)"]
        );
    }

    #[test]
    fn malformed_manifests_are_errors() {
        assert!(Manifest::parse("nope\n", Path::new("m")).is_err());
        assert!(Manifest::parse("vanguard-tree 1\nf 0644 x\n", Path::new("m")).is_err());
    }
}
