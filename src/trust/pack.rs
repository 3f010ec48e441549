//! Rule packs: a directory of rule files with a manifest of their hashes
//! (`manifest.json`) and a detached signature over it (`manifest.sig.json`),
//! the layout of the original product's `rules/` directory.
//!
//! A pack is read once into memory ([`Pack::read`]) and everything is
//! checked on that snapshot, so what was verified is what gets used.
//! Installing swaps directories under a state directory with one
//! `renameat2(RENAME_EXCHANGE)`: a reader sees the old pack or the new
//! one, never a mix; the old one is kept as `previous` for a rollback.

use super::signature::{SignatureDoc, Verified, View};
use super::store::{Purpose, TrustStore};
use super::{sha256_hex, TrustError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig.json";
/// Pack manifests this version writes and reads.
pub const PACK_VERSION: u32 = 1;
/// Files and directories in a pack, at most: a pack is rules, not a tree.
const MAX_FILES: usize = 10_000;

/// `manifest.json` of a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    pub version: u32,
    /// When the manifest was made (RFC 3339, UTC). Informational: the
    /// signature covers only `version` and `rules`, as the original's does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Relative path ('/'-separated) → its hash.
    pub rules: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// One way a pack's files differ from its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackProblem {
    Missing(String),
    Changed(String),
    Extra(String),
    /// A manifest entry that is not a plain relative path.
    UnsafeName(String),
}

impl std::fmt::Display for PackProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackProblem::Missing(n) => write!(f, "missing file {n}"),
            PackProblem::Changed(n) => write!(
                f,
                "changed file {n} (its SHA-256 differs from the manifest)"
            ),
            PackProblem::Extra(n) => write!(f, "extra file {n} (not in the manifest)"),
            PackProblem::UnsafeName(n) => write!(
                f,
                "manifest names {n:?}, which is not a plain relative path"
            ),
        }
    }
}

/// A pack directory read into memory.
#[derive(Debug)]
pub struct Pack {
    pub dir: PathBuf,
    /// The bytes of `manifest.json`, if there is one.
    pub manifest_bytes: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
    /// Every other file: relative path → contents.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Pack {
    /// Reads every regular file under `dir`; a symlink or any other kind
    /// of file is an error (a pack must not point outside itself).
    pub fn read(dir: &Path) -> Result<Pack, TrustError> {
        let mut files = BTreeMap::new();
        walk(dir, dir, &mut files)?;
        let manifest_bytes = files.remove(MANIFEST);
        let signature = files.remove(SIGNATURE);
        Ok(Pack {
            dir: dir.to_path_buf(),
            manifest_bytes,
            signature,
            files,
        })
    }

    /// A manifest of the files as they are now.
    pub fn manifest(&self, created: Option<String>) -> PackManifest {
        PackManifest {
            version: PACK_VERSION,
            created,
            rules: self
                .files
                .iter()
                .map(|(name, bytes)| {
                    (
                        name.clone(),
                        FileEntry {
                            sha256: sha256_hex(bytes),
                        },
                    )
                })
                .collect(),
        }
    }

    fn what(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The parsed manifest.
    pub fn read_manifest(&self) -> Result<PackManifest, TrustError> {
        let bytes = self
            .manifest_bytes
            .as_ref()
            .ok_or_else(|| TrustError::Pack {
                dir: self.dir.clone(),
                problems: vec![PackProblem::Missing(MANIFEST.into())],
            })?;
        serde_json::from_slice(bytes).map_err(|e| TrustError::Json {
            what: self.what(MANIFEST),
            message: e.to_string(),
        })
    }

    /// The bytes the pack signature covers.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, TrustError> {
        let bytes = self
            .manifest_bytes
            .as_ref()
            .ok_or_else(|| TrustError::Pack {
                dir: self.dir.clone(),
                problems: vec![PackProblem::Missing(MANIFEST.into())],
            })?;
        View::RulesManifest.signed_bytes(bytes, &self.what(MANIFEST))
    }

    /// Every file against the manifest: missing, changed and extra files,
    /// each named.
    pub fn check_files(&self) -> Result<(), TrustError> {
        let manifest = self.read_manifest()?;
        let mut problems = Vec::new();
        for (name, entry) in &manifest.rules {
            if !is_plain_relative(name) {
                problems.push(PackProblem::UnsafeName(name.clone()));
                continue;
            }
            match self.files.get(name) {
                None => problems.push(PackProblem::Missing(name.clone())),
                Some(b) if sha256_hex(b) != entry.sha256 => {
                    problems.push(PackProblem::Changed(name.clone()))
                }
                Some(_) => {}
            }
        }
        for name in self.files.keys() {
            if !manifest.rules.contains_key(name) {
                problems.push(PackProblem::Extra(name.clone()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TrustError::Pack {
                dir: self.dir.clone(),
                problems,
            })
        }
    }

    /// The signature, by a `rules` signer of `store`, then every file.
    pub fn verify(&self, store: &TrustStore, now: u64) -> Result<Verified, TrustError> {
        let sig_bytes = self.signature.as_ref().ok_or_else(|| TrustError::Pack {
            dir: self.dir.clone(),
            problems: vec![PackProblem::Missing(SIGNATURE.into())],
        })?;
        let sig: SignatureDoc =
            serde_json::from_slice(sig_bytes).map_err(|e| TrustError::Json {
                what: self.what(SIGNATURE),
                message: e.to_string(),
            })?;
        let signed = self.signed_bytes()?;
        let v = sig.verify(&signed, store, Purpose::Rules, now, &self.what(MANIFEST))?;
        self.check_files()?;
        Ok(v)
    }
}

/// A name a pack may hold: relative, `/`-separated, no `.`, `..` or empty parts.
pub fn is_plain_relative(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), TrustError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TrustError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TrustError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| TrustError::io(&path, e))?;
        if out.len() >= MAX_FILES {
            return Err(TrustError::Path {
                path: root.to_path_buf(),
                message: format!("more than {MAX_FILES} files: not a rule pack"),
            });
        }
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let rel = path
                .strip_prefix(root)
                .ok()
                .and_then(|r| r.to_str())
                .map(str::to_string)
                .ok_or_else(|| TrustError::Path {
                    path: path.clone(),
                    message: "file name is not UTF-8".into(),
                })?;
            let bytes = std::fs::read(&path).map_err(|e| TrustError::io(&path, e))?;
            out.insert(rel, bytes);
        } else {
            return Err(TrustError::Path {
                path,
                message: "a symlink or special file: a rule pack holds regular files only".into(),
            });
        }
    }
    Ok(())
}

/// Where `vanguard update` installs packs: `$XDG_DATA_HOME/vanguard/rules`
/// (`~/.local/share/vanguard/rules`).
pub fn default_rules_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(data.join("vanguard/rules"))
}

/// The installed pack of a state directory.
pub fn current(state: &Path) -> PathBuf {
    state.join("current")
}

/// The pack an update replaced.
pub fn previous(state: &Path) -> PathBuf {
    state.join("previous")
}

/// Copies the pack at `from` into `state`, verifies the copy (signature by
/// a `rules` signer of `store`, every file), and only then makes it the
/// installed pack; the pack it replaces becomes `previous`. On any error
/// the installed pack is unchanged.
pub fn install(
    from: &Path,
    state: &Path,
    store: &TrustStore,
    now: u64,
) -> Result<Verified, TrustError> {
    std::fs::create_dir_all(state).map_err(|e| TrustError::io(state, e))?;
    let staging = state.join(format!(".staging-{}", std::process::id()));
    remove_if_present(&staging)?;
    let result = copy_tree(from, &staging)
        .and_then(|()| Pack::read(&staging))
        .and_then(|p| p.verify(store, now));
    let verified = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let cur = current(state);
    if cur.exists() {
        exchange(&staging, &cur)?;
        // `staging` now holds the pack that was installed.
        let prev = previous(state);
        remove_if_present(&prev)?;
        std::fs::rename(&staging, &prev).map_err(|e| TrustError::io(&prev, e))?;
    } else {
        std::fs::rename(&staging, &cur).map_err(|e| TrustError::io(&cur, e))?;
    }
    Ok(verified)
}

/// Makes `previous` the installed pack again (and the current one
/// `previous`, so a second rollback undoes the first).
pub fn rollback(state: &Path) -> Result<(), TrustError> {
    let prev = previous(state);
    let none = || TrustError::Path {
        path: previous(state),
        message: "no previous rule pack to roll back to".into(),
    };
    if !prev.is_dir() {
        return Err(none());
    }
    let _lock = lock_state(state)?;
    if !prev.is_dir() {
        return Err(none());
    }
    let cur = current(state);
    if cur.exists() {
        exchange(&prev, &cur)
    } else {
        std::fs::rename(&prev, &cur).map_err(|e| TrustError::io(&cur, e))
    }
}

/// Serialises updates and rollbacks of one state directory (held until
/// the returned file is dropped).
fn lock_state(state: &Path) -> Result<std::fs::File, TrustError> {
    use std::os::fd::AsRawFd as _;
    let path = state.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| TrustError::io(&path, e))?;
    // SAFETY: a valid open descriptor; flock has no memory effects.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(TrustError::io(&path, std::io::Error::last_os_error()));
    }
    Ok(f)
}

fn remove_if_present(p: &Path) -> Result<(), TrustError> {
    match std::fs::remove_dir_all(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TrustError::io(p, e)),
        _ => Ok(()),
    }
}

/// Swaps two directories in one step (`renameat2(RENAME_EXCHANGE)`, Linux
/// 3.15; every local file system we run on supports it).
fn exchange(a: &Path, b: &Path) -> Result<(), TrustError> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| TrustError::Path {
            path: p.to_path_buf(),
            message: "path contains a NUL byte".into(),
        })
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(TrustError::io(b, std::io::Error::last_os_error()))
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), TrustError> {
    let pack = Pack::read(from)?;
    std::fs::create_dir(to).map_err(|e| TrustError::io(to, e))?;
    let named = pack
        .manifest_bytes
        .iter()
        .map(|b| (MANIFEST.to_string(), b))
        .chain(pack.signature.iter().map(|b| (SIGNATURE.to_string(), b)))
        .chain(pack.files.iter().map(|(n, b)| (n.clone(), b)));
    for (name, bytes) in named {
        let dest = to.join(&name);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| TrustError::io(parent, e))?;
        }
        std::fs::write(&dest, bytes).map_err(|e| TrustError::io(&dest, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::key::SigningKey;
    use crate::trust::store::Signer;

    fn signed_pack(dir: &Path, key: &SigningKey, a: &str) {
        std::fs::write(dir.join("a.toml"), a).unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/b.toml"), "# b\n").unwrap();
        let pack = Pack::read(dir).unwrap();
        let m =
            serde_json::to_vec_pretty(&pack.manifest(Some("2026-12-04T00:00:00Z".into()))).unwrap();
        std::fs::write(dir.join(MANIFEST), &m).unwrap();
        let signed = View::RulesManifest.signed_bytes(&m, "m").unwrap();
        let sig = SignatureDoc::sign(key, "k1", &signed);
        std::fs::write(dir.join(SIGNATURE), sig.to_json()).unwrap();
    }

    fn store(key: &SigningKey) -> TrustStore {
        let mut s = TrustStore::default();
        s.add(
            Purpose::Rules,
            Signer {
                doc: key.signer_doc(Some("k1")),
                not_after: None,
                not_after_secs: None,
                source: "t".into(),
            },
        );
        s
    }

    #[test]
    fn missing_changed_and_extra_files_are_each_named() {
        let d = tempfile::tempdir().unwrap();
        let k = SigningKey::generate().unwrap();
        signed_pack(d.path(), &k, "# a\n");
        Pack::read(d.path()).unwrap().verify(&store(&k), 0).unwrap();
        std::fs::write(d.path().join("a.toml"), "# changed\n").unwrap();
        std::fs::remove_file(d.path().join("sub/b.toml")).unwrap();
        std::fs::write(d.path().join("c.toml"), "").unwrap();
        let e = Pack::read(d.path())
            .unwrap()
            .verify(&store(&k), 0)
            .unwrap_err();
        let TrustError::Pack { problems, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(
            problems,
            &[
                PackProblem::Changed("a.toml".into()),
                PackProblem::Missing("sub/b.toml".into()),
                PackProblem::Extra("c.toml".into())
            ]
        );
    }

    #[test]
    fn install_refuses_a_bad_pack_and_rollback_restores() {
        let k = SigningKey::generate().unwrap();
        let state = tempfile::tempdir().unwrap();
        let read_a = || std::fs::read_to_string(current(state.path()).join("a.toml")).unwrap();
        let v1 = tempfile::tempdir().unwrap();
        signed_pack(v1.path(), &k, "# v1\n");
        install(v1.path(), state.path(), &store(&k), 0).unwrap();

        // A file changed after signing: refused, v1 stays installed.
        let bad = tempfile::tempdir().unwrap();
        signed_pack(bad.path(), &k, "# v2\n");
        std::fs::write(bad.path().join("a.toml"), "# tampered\n").unwrap();
        assert!(install(bad.path(), state.path(), &store(&k), 0).is_err());
        assert_eq!(read_a(), "# v1\n");
        assert!(!state
            .path()
            .join(format!(".staging-{}", std::process::id()))
            .exists());

        let v2 = tempfile::tempdir().unwrap();
        signed_pack(v2.path(), &k, "# v2\n");
        install(v2.path(), state.path(), &store(&k), 0).unwrap();
        assert_eq!(read_a(), "# v2\n");
        rollback(state.path()).unwrap();
        assert_eq!(read_a(), "# v1\n");
        rollback(state.path()).unwrap();
        assert_eq!(read_a(), "# v2\n");
    }
}
