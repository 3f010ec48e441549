//! The pin file: what vanguard trusts about each server, kept between runs.
//!
//! Two kinds of pins live in one JSON file:
//! - `servers`: per server identity (its command line), the fingerprint of
//!   its tool definitions and any drift seen since (pending approval with
//!   `vanguard pin approve`);
//! - `packages`: per package a launcher resolved (`npm:NAME`, `pypi:NAME`),
//!   the exact version, the registry's integrity value and the SHA-256 of the
//!   installed tree, so a range or `latest` never upgrades silently and a
//!   tampered cache is noticed.
//!
//! Every update takes an exclusive lock on `FILE.lock`, re-reads the file,
//! applies the change, writes a uniquely named temp file, fsyncs it, renames
//! it over the file and fsyncs the directory: concurrent sessions of a
//! hosted gateway never lose each other's entries, and a crash never leaves
//! half a file.

use crate::inspect::pinning::Fingerprint;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinEntry {
    pub pinned: Fingerprint,
    /// Whether a complete tool listing has been pinned (an entry can exist
    /// from `initialize` alone).
    #[serde(default)]
    pub tools_pinned: bool,
    pub pinned_at: String,
    /// What was last seen when it differed from `pinned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Fingerprint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_at: Option<String>,
}

/// One installed version of a package, as pinned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageVersion {
    /// The exact version installed.
    pub version: String,
    /// The registry's integrity value for the package itself: npm's
    /// `integrity` (`sha512-…`), or the wheel/sdist `sha256:` hashes for PyPI.
    #[serde(default)]
    pub integrity: Vec<String>,
    /// The installed tree in vanguard's cache.
    pub tree: PathBuf,
    /// SHA-256 of the tree's manifest (sorted relative paths, kinds, modes,
    /// content hashes, link targets).
    pub tree_sha256: String,
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub bytes: u64,
    /// When this version was installed or seen.
    pub at: String,
    /// What the registry's signature and the package's provenance
    /// attestation said when this version was resolved (npm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceRecord>,
}

/// The provenance check of one package version, as recorded in the pin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceRecord {
    /// `verified` (the attestation verified; the fields below are from its
    /// certificate), `absent` (the registry lists no attestation),
    /// `unavailable` (it could not be fetched) or `unverifiable` (a key or
    /// format vanguard does not know); `detail` says why.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The build signer (workflow) URI, `…/.github/workflows/X@REF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// The transparency-log time of the attestation (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
    /// The registry key that signed `NAME@VERSION:INTEGRITY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_signature: Option<String>,
    /// The requirement it was checked against (`[trust.provenance]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<crate::trust::store::ProvenanceReq>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub checked_at: String,
}

/// A package a launcher resolved (`npx -y NAME`, `uvx NAME`, …).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PackagePin {
    /// `npm` or `pypi`.
    pub ecosystem: String,
    pub name: String,
    /// What the command asked for when it was pinned (`latest`, `^1.2`, `1.2.3`).
    pub requested: String,
    pub pinned: PackageVersion,
    /// Another version (or a changed tree) waiting for `vanguard pin approve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PackageVersion>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinFile {
    pub version: u32,
    #[serde(default)]
    pub servers: BTreeMap<String, PinEntry>,
    /// Keyed `ECOSYSTEM:NAME`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, PackagePin>,
}

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("pin file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pin file {path} is not valid: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

pub struct PinStore {
    path: PathBuf,
}

impl PinStore {
    pub fn new(path: &Path) -> PinStore {
        PinStore {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: std::io::Error) -> PinError {
        PinError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The whole file; an absent file is empty, a corrupt one is an error
    /// (never silently reset: that would re-trust everything).
    pub fn load(&self) -> Result<PinFile, PinError> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| PinError::Parse {
                path: self.path.display().to_string(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PinFile {
                version: 1,
                ..Default::default()
            }),
            Err(source) => Err(self.io_error(source)),
        }
    }

    pub fn entry(&self, server: &str) -> Result<Option<PinEntry>, PinError> {
        Ok(self.load()?.servers.get(server).cloned())
    }

    pub fn package(&self, key: &str) -> Result<Option<PackagePin>, PinError> {
        Ok(self.load()?.packages.get(key).cloned())
    }

    /// Locks the file, re-reads it, applies `f` to it and writes it back
    /// atomically and durably. Returns what `f` returned.
    pub fn update<T>(&self, f: impl FnOnce(&mut PinFile) -> T) -> Result<T, PinError> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io_error(e))?;
        let _lock = FileLock::exclusive(&lock_path(&self.path)).map_err(|e| self.io_error(e))?;
        let mut file = self.load()?;
        file.version = 1;
        let out = f(&mut file);
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| self.io_error(std::io::Error::other(e)))?;
        write_durably(&self.path, &bytes).map_err(|e| self.io_error(e))?;
        Ok(out)
    }

    /// Makes what is pending for `key` (a server identity, or a package
    /// `ECOSYSTEM:NAME`) the new pin. With `expect`, only when the pending
    /// definitions still have that digest ([`PinFile::pending_digest`]): an
    /// operator approves what they looked at, never a newer drift that
    /// arrived meanwhile. `Ok(None)`: nothing (or something else) pending.
    /// `now` is the time recorded as the server pin's `pinned_at`.
    pub fn approve(
        &self,
        key: &str,
        expect: Option<&str>,
        now: &str,
    ) -> Result<Option<Resolved>, PinError> {
        self.update(|f| {
            if expect.is_some_and(|d| f.pending_digest(key).as_deref() != Some(d)) {
                return None;
            }
            if let Some(p) = f.packages.get_mut(key) {
                let v = p.pending.take()?;
                p.pinned = v.clone();
                return Some(Resolved::Package(Box::new(v)));
            }
            let e = f.servers.get_mut(key)?;
            let p = e.pending.take()?;
            e.pinned.tools = p.tools;
            e.pinned.server_info = p.server_info.or(e.pinned.server_info.take());
            e.pinned.capabilities = p.capabilities.or(e.pinned.capabilities.take());
            e.tools_pinned = true;
            e.pinned_at = now.to_string();
            e.pending_at = None;
            Some(Resolved::Server)
        })
    }

    /// Drops what is pending for `key`, keeping the pin: the drift stays
    /// refused (and is recorded again when the server shows it again).
    /// `expect` as in [`PinStore::approve`].
    pub fn reject(&self, key: &str, expect: Option<&str>) -> Result<Option<Resolved>, PinError> {
        self.update(|f| {
            if expect.is_some_and(|d| f.pending_digest(key).as_deref() != Some(d)) {
                return None;
            }
            if let Some(p) = f.packages.get_mut(key) {
                return p.pending.take().map(|v| Resolved::Package(Box::new(v)));
            }
            let e = f.servers.get_mut(key)?;
            e.pending_at = None;
            e.pending.take().map(|_| Resolved::Server)
        })
    }
}

/// What [`PinStore::approve`] or [`PinStore::reject`] acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A server's pending tool definitions.
    Server,
    /// A package's pending version.
    Package(Box<PackageVersion>),
}

impl PinFile {
    /// SHA-256 (hex) of what is pending for `key`, `None` when nothing is.
    pub fn pending_digest(&self, key: &str) -> Option<String> {
        let bytes = match self.packages.get(key) {
            Some(p) => serde_json::to_vec(p.pending.as_ref()?),
            None => serde_json::to_vec(self.servers.get(key)?.pending.as_ref()?),
        }
        .ok()?;
        Some(crate::trust::sha256_hex(&bytes))
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// An exclusive advisory lock (`flock`) on a lock file, released on drop.
pub struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    /// Blocks until the lock on `path` (created if missing) is held.
    pub fn exclusive(path: &Path) -> std::io::Result<FileLock> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        loop {
            // SAFETY: flock(2) on an fd this function owns; no memory is passed.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FileLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Writes `bytes` to `path` through a uniquely named temp file in the same
/// directory: write, fsync, rename, fsync the directory.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    let suffix: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{suffix}"));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_an_error() {
        let d = tempfile::tempdir().expect("tempdir");
        let store = PinStore::new(&d.path().join("sub/pins.json"));
        assert!(store.entry("s").expect("empty").is_none());
        store
            .update(|f| {
                let mut e = PinEntry::default();
                e.pinned.tools.insert("t".into(), "h".into());
                f.servers.insert("s".into(), e);
            })
            .expect("write");
        assert_eq!(
            store.entry("s").expect("read").expect("entry").pinned.tools["t"],
            "h"
        );
        std::fs::write(store.path(), b"{nope").expect("corrupt");
        assert!(matches!(store.load(), Err(PinError::Parse { .. })));
    }

    #[test]
    fn approve_and_reject_only_what_was_looked_at() {
        let d = tempfile::tempdir().expect("tempdir");
        let store = PinStore::new(&d.path().join("pins.json"));
        let drift = |tool_hash: &str| {
            store
                .update(|f| {
                    let e = f.servers.entry("s".into()).or_default();
                    e.pinned.tools.insert("t".into(), "old".into());
                    let mut p = Fingerprint::default();
                    p.tools.insert("t".into(), tool_hash.into());
                    e.pending = Some(p);
                    e.pending_at = Some("then".into());
                })
                .expect("write")
        };
        drift("new-1");
        let seen = store
            .load()
            .expect("load")
            .pending_digest("s")
            .expect("digest");
        // Another drift arrives before the operator clicks: refused.
        drift("new-2");
        assert_eq!(store.approve("s", Some(&seen), "now").expect("io"), None);
        assert!(store
            .entry("s")
            .expect("read")
            .expect("entry")
            .pending
            .is_some());
        let seen = store
            .load()
            .expect("load")
            .pending_digest("s")
            .expect("digest");
        assert_eq!(
            store.approve("s", Some(&seen), "now").expect("io"),
            Some(Resolved::Server)
        );
        let e = store.entry("s").expect("read").expect("entry");
        assert_eq!(e.pinned.tools["t"], "new-2");
        assert!(e.pending.is_none() && e.pending_at.is_none());
        assert_eq!(e.pinned_at, "now");
        assert_eq!(store.approve("s", None, "now").expect("io"), None);
        // Reject keeps the pin and forgets the drift.
        drift("new-3");
        assert_eq!(store.reject("s", None).expect("io"), Some(Resolved::Server));
        let e = store.entry("s").expect("read").expect("entry");
        assert_eq!(e.pinned.tools["t"], "old");
        assert!(e.pending.is_none());
        assert_eq!(store.reject("nobody", None).expect("io"), None);
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("pins.json");
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = path.clone();
                s.spawn(move || {
                    let store = PinStore::new(&path);
                    for i in 0..25 {
                        store
                            .update(|f| {
                                f.servers.insert(format!("s{t}-{i}"), PinEntry::default());
                            })
                            .expect("update");
                    }
                });
            }
        });
        let file = PinStore::new(&path).load().expect("load");
        assert_eq!(file.servers.len(), 200);
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn files_without_packages_still_load() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("pins.json");
        std::fs::write(&path, br#"{"version":1,"servers":{}}"#).expect("write");
        let f = PinStore::new(&path).load().expect("load");
        assert!(f.packages.is_empty());
    }
}
