//! The JSONL writer thread with size-based rotation.

use super::Event;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditWriterError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// Where events go. Cloning is cheap; dropping the last clone flushes and
/// stops the writer thread (see [`AuditSink::close`]).
#[derive(Clone)]
pub struct AuditSink {
    tx: Option<SyncSender<Msg>>,
    dropped: Arc<AtomicU64>,
}

enum Msg {
    Event(Box<Event>),
    Flush(SyncSender<()>),
}

/// Events queued before the hot path starts dropping (and counting) them.
const QUEUE: usize = 65_536;

impl AuditSink {
    /// A sink that discards everything (audit switched off).
    pub fn disabled() -> AuditSink {
        AuditSink {
            tx: None,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Opens (creating parent directories) and starts the writer thread.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> Result<AuditSink, AuditWriterError> {
        let e = |source| AuditWriterError {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(e)?;
        }
        let file = open_append(path).map_err(e)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let (tx, rx) = sync_channel(QUEUE);
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("vanguard-audit".into())
            .spawn(move || write_loop(rx, path, file, size, max_bytes, keep))
            .map_err(e)?;
        Ok(AuditSink {
            tx: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues an event. Never blocks: if the writer is hopelessly behind,
    /// the event is counted as dropped and a warning is logged.
    pub fn record(&self, ev: Event) {
        if let Some(tx) = &self.tx {
            match tx.try_send(Msg::Event(Box::new(ev))) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::warn!(dropped = n, "audit log writer is behind; events dropped");
                    }
                }
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Waits until everything queued so far is on disk.
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done_tx, done_rx) = sync_channel(1);
            if tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv_timeout(std::time::Duration::from_secs(5));
            }
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let numbered = |n: u32| -> PathBuf {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    };
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(numbered(keep));
    for n in (1..keep).rev() {
        let _ = std::fs::rename(numbered(n), numbered(n + 1));
    }
    std::fs::rename(path, numbered(1))
}

fn write_loop(rx: Receiver<Msg>, path: PathBuf, file: File, mut size: u64, max: u64, keep: u32) {
    let mut out = BufWriter::with_capacity(64 * 1024, file);
    let mut line = Vec::with_capacity(1024);
    let mut failed = false;
    while let Ok(mut msg) = rx.recv() {
        loop {
            match msg {
                Msg::Event(ev) => {
                    line.clear();
                    if serde_json::to_writer(&mut line, &ev).is_ok() {
                        line.push(b'\n');
                        if let Err(e) = out.write_all(&line) {
                            if !failed {
                                tracing::error!(path = %path.display(), error = %e, "cannot write the audit log");
                                failed = true;
                            }
                        }
                        size += line.len() as u64;
                    }
                    if size >= max {
                        let _ = out.flush();
                        match rotate(&path, keep).and_then(|_| open_append(&path)) {
                            Ok(f) => {
                                out = BufWriter::with_capacity(64 * 1024, f);
                                size = 0;
                            }
                            Err(e) => tracing::error!(path = %path.display(), error = %e, "audit log rotation failed"),
                        }
                    }
                }
                Msg::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            match rx.try_recv() {
                Ok(m) => msg = m,
                Err(_) => break,
            }
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Direction;

    fn ev(i: u64) -> Event {
        Event {
            ts: super::super::rfc3339_now(),
            event_id: format!("e-{i}"),
            session_id: "s".into(),
            server_id: "srv".into(),
            direction: Direction::AgentToServer,
            kind: "decision",
            method: Some("tools/call".into()),
            request_id: Some(serde_json::json!(i)),
            tool: None,
            verdict: "allow",
            layer: None,
            rules: vec![],
            findings: vec![],
            latency_us: 1,
            profile: "balanced".into(),
            mode: "enforce",
            detail: None,
        }
    }

    #[test]
    fn writes_and_rotates() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("a/audit.jsonl");
        let sink = AuditSink::open(&p, 2000, 2).expect("open");
        for i in 0..40 {
            sink.record(ev(i));
        }
        sink.flush();
        let current = std::fs::read_to_string(&p).expect("read");
        let rotated = std::fs::read_to_string(d.path().join("a/audit.jsonl.1")).expect("rotated");
        assert!(d.path().join("a/audit.jsonl.2").exists());
        assert!(!d.path().join("a/audit.jsonl.3").exists());
        for l in current.lines().chain(rotated.lines()) {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            assert_eq!(v["kind"], "decision");
        }
        assert!(current.contains("\"e-39\"") || rotated.contains("\"e-39\""));
    }
}
