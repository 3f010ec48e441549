//! What `--undo` needs, kept in `$XDG_STATE_HOME/vanguard/configure/`, one
//! JSON file per client file (named by a hash of its path).
//!
//! Not inside the client's file: Claude Desktop, VS Code and Codex validate
//! their configuration, and an unknown key is at best a warning in the
//! client's UI and at worst a rejected file; and a copy of the original
//! command inside the entry would be one more place for the user to edit.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// One wrapped entry: the text of its `command`…`args` span before and
/// after wrapping, exactly as in the file.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Record {
    pub container: Vec<String>,
    pub name: String,
    pub original: String,
    pub wrapped: String,
}

#[derive(Serialize, Deserialize, Debug, Default)]
pub struct UndoState {
    pub file: PathBuf,
    pub records: Vec<Record>,
    #[serde(skip)]
    location: PathBuf,
}

/// The state file of a client file; creates the directory (0700).
pub fn state_path(client_file: &Path) -> Result<PathBuf, String> {
    let abs = client_file
        .canonicalize()
        .map_err(|e| format!("{}: {e}", client_file.display()))?;
    let digest = Sha256::digest(abs.to_string_lossy().as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let dir = state_home().join("vanguard").join("configure");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    Ok(dir.join(format!("{hex}.json")))
}

/// `$XDG_STATE_HOME`, else `~/.local/state` (as the profiles' `${state}`).
pub fn state_home() -> PathBuf {
    let abs = |v: &str| {
        std::env::var_os(v)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    abs("XDG_STATE_HOME")
        .or_else(|| abs("HOME").map(|h| h.join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

impl UndoState {
    pub fn load(client_file: &Path) -> Result<UndoState, String> {
        let location = state_path(client_file)?;
        let mut state = match std::fs::read_to_string(&location) {
            Ok(text) => serde_json::from_str::<UndoState>(&text).map_err(|e| {
                format!("{}: the undo record is damaged ({e}); the backups beside {} still hold the originals", location.display(), client_file.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => UndoState {
                file: client_file.to_path_buf(),
                ..Default::default()
            },
            Err(e) => return Err(format!("{}: cannot read: {e}", location.display())),
        };
        state.location = location;
        Ok(state)
    }

    /// Adds a record, replacing an older one of the same entry (a wrapped
    /// entry is skipped, so an older record exists only when the user put
    /// the entry back by hand and it was wrapped again).
    pub fn put(&mut self, r: Record) {
        self.records
            .retain(|o| !(o.container == r.container && o.name == r.name));
        self.records.push(r);
    }

    pub fn save(&self) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("{}: {e}", self.location.display()))?;
        let tmp = self.location.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.location))
            .map_err(|e| format!("{}: cannot write: {e}", self.location.display()))
    }
}
