//! The pin file: per server identity, the pinned fingerprint and any drift
//! seen since (pending approval with `vanguard pin approve`).
//!
//! Written atomically (temp file + rename) so a crash never leaves half a
//! file, and re-read before each write so two sessions of different servers
//! do not lose each other's entries.

use crate::inspect::pinning::Fingerprint;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinFile {
    pub version: u32,
    pub servers: BTreeMap<String, PinEntry>,
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
            Err(source) => Err(PinError::Io {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }

    pub fn entry(&self, server: &str) -> Result<Option<PinEntry>, PinError> {
        Ok(self.load()?.servers.get(server).cloned())
    }

    /// Re-reads the file, applies `f` to it, writes it back atomically.
    pub fn update(&self, f: impl FnOnce(&mut PinFile)) -> Result<(), PinError> {
        let io = |source| PinError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut file = self.load()?;
        file.version = 1;
        f(&mut file);
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp.{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
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
}
