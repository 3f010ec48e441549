//! The control socket: how an operator reaches the sessions of a running
//! gateway (`vanguard risk show|reset`).
//!
//! Every `vanguard start` and `vanguard sse` listens on a unix socket
//! `DIR/PID.sock` (DIR is `$XDG_RUNTIME_DIR/vanguard`, else
//! `$XDG_STATE_HOME/vanguard/run`; the directory is 0700 and the socket
//! 0600, so only the user who runs vanguard reaches it). One JSON request
//! per line, one JSON answer per line:
//!
//! ```text
//! {"op":"sessions"}                      → {"ok":true,"pid":…,"sessions":[SessionInfo…]}
//! {"op":"risk_reset","session":"ID|*"}   → {"ok":true,"reset":["ID"…]}
//! ```

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Longest request line accepted.
const MAX_REQUEST: usize = 4096;

/// Where the control sockets of this user's vanguard processes live.
pub fn socket_dir() -> PathBuf {
    let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").and_then(abs) {
        return run.join("vanguard");
    }
    crate::policy::Vars::from_env(None)
        .state
        .join("vanguard/run")
}

/// A listening control socket; the file is removed on drop.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    /// Binds `DIR/PID.sock` and serves it on the current runtime.
    pub fn start(dir: &Path) -> std::io::Result<ControlSocket> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let path = dir.join(format!("{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_one(stream));
            }
        });
        Ok(ControlSocket { path, task })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_one(stream: tokio::net::UnixStream) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r.take(MAX_REQUEST as u64 * 16)).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let answer = if line.len() > MAX_REQUEST {
            json!({"ok": false, "error": "request too long"})
        } else {
            answer(&line).await
        };
        let mut out = answer.to_string();
        out.push('\n');
        if w.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn answer(line: &str) -> Value {
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"ok": false, "error": format!("not JSON: {e}")}),
    };
    match req.get("op").and_then(Value::as_str) {
        Some("sessions") => json!({
            "ok": true,
            "pid": std::process::id(),
            "sessions": super::live_sessions(),
        }),
        Some("risk_reset") => match req.get("session").and_then(Value::as_str) {
            Some(id) => match super::reset_risk(id).await {
                Ok(reset) => json!({"ok": true, "pid": std::process::id(), "reset": reset}),
                Err(e) => json!({"ok": false, "error": e}),
            },
            None => json!({"ok": false, "error": "risk_reset needs \"session\" (an id or \"*\")"}),
        },
        other => {
            json!({"ok": false, "error": format!("unknown op {other:?} (sessions, risk_reset)")})
        }
    }
}
