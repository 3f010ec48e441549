//! The JSONL writer thread with size-based rotation and the hash chain
//! ([`super::chain`]).

use super::{chain, Event};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditWriterError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// Where events go. Cloning is cheap. Events are appended to a shared
/// buffer that the writer thread drains every [`DRAIN_EVERY`] while events
/// come: the hot path does not wake another thread per event (a futex wake
/// per message costs more than the inspection itself on a busy 2-core
/// machine). A drain that finds nothing puts the writer to sleep until the
/// next event, so an idle gateway has no timer: the first event after a
/// quiet spell wakes it once. [`AuditSink::flush`] forces a drain and waits
/// for it, and is called when a session ends.
pub struct AuditSink {
    shared: Option<Arc<Shared>>,
    /// Counts every event (also with the log switched off).
    metrics: Option<Arc<super::metrics::Metrics>>,
}

struct Shared {
    queue: Mutex<Vec<Event>>,
    dropped: AtomicU64,
    /// Incremented by the writer after each drain; `flush` waits for it to move.
    drained: Mutex<u64>,
    drained_cv: Condvar,
    writer: std::thread::Thread,
    /// Set by the writer before it sleeps without a timeout; whoever then
    /// queues an event or drops the last sink wakes it.
    asleep: AtomicBool,
    /// Live `AuditSink`s for this log; the writer stops at zero, after a
    /// last drain.
    sinks: AtomicUsize,
    /// Set while a `flush` waits: woken from its sleep, the writer then
    /// drains at once instead of a period later.
    flushing: AtomicBool,
}

impl Shared {
    /// Wakes the writer if it sleeps without a timeout. Called after the
    /// caller's own change (an event queued, a sink gone) is made: with the
    /// fence here and the one in the writer between its `asleep` and its
    /// last look, either the writer sees the change or this sees it asleep.
    fn nudge(&self) {
        fence(Ordering::SeqCst);
        if self.asleep.load(Ordering::Relaxed) {
            self.writer.unpark();
        }
    }
}

impl Clone for AuditSink {
    fn clone(&self) -> AuditSink {
        if let Some(sh) = &self.shared {
            sh.sinks.fetch_add(1, Ordering::Relaxed);
        }
        AuditSink {
            shared: self.shared.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl Drop for AuditSink {
    fn drop(&mut self) {
        if let Some(sh) = &self.shared {
            if sh.sinks.fetch_sub(1, Ordering::AcqRel) == 1 {
                sh.nudge();
            }
        }
    }
}

/// Events held before the hot path starts dropping (and counting) them.
const QUEUE: usize = 65_536;
/// Events the queue and the writer's batch hold room for when idle (an
/// event is ~340 bytes: 1,024 each held 0.7 MiB of an idle gateway). Under
/// load both grow to what one drain needs and shrink back once the load
/// has gone (see `fit`).
const IDLE_CAPACITY: usize = 64;
/// How often the writer drains the queue (the longest an event waits to be written).
pub const DRAIN_EVERY: Duration = Duration::from_millis(20);

impl AuditSink {
    /// A sink that discards everything (audit switched off).
    pub fn disabled() -> AuditSink {
        AuditSink {
            shared: None,
            metrics: None,
        }
    }

    /// The same sink, also counting every event into `m`.
    pub fn with_metrics(mut self, m: Arc<super::metrics::Metrics>) -> AuditSink {
        self.metrics = Some(m);
        self
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
        let path = path.to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Shared>>();
        let handle = std::thread::Builder::new()
            .name("vanguard-audit".into())
            .spawn(move || {
                if let Ok(shared) = rx.recv() {
                    write_loop(shared, path, file, max_bytes, keep);
                }
            })
            .map_err(e)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::with_capacity(IDLE_CAPACITY)),
            dropped: AtomicU64::new(0),
            drained: Mutex::new(0),
            drained_cv: Condvar::new(),
            writer: handle.thread().clone(),
            asleep: AtomicBool::new(false),
            sinks: AtomicUsize::new(1),
            flushing: AtomicBool::new(false),
        });
        let _ = tx.send(shared.clone());
        Ok(AuditSink {
            shared: Some(shared),
            metrics: None,
        })
    }

    /// Whether events are wanted at all (written or counted).
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some() || self.metrics.is_some()
    }

    /// Queues an event. Never blocks on I/O: if the writer is hopelessly
    /// behind, the event is counted as dropped and a warning is logged.
    pub fn record(&self, ev: Event) {
        if let Some(m) = &self.metrics {
            m.observe(&ev);
        }
        let Some(sh) = &self.shared else { return };
        let mut q = sh.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() < QUEUE {
            let first = q.is_empty();
            q.push(ev);
            drop(q);
            // Only the event that found the queue empty can find the
            // writer asleep (it sleeps only after a drain found nothing).
            if first {
                sh.nudge();
            }
            return;
        }
        drop(q);
        let n = sh.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(dropped = n, "audit log writer is behind; events dropped");
        }
    }

    /// Waits until everything queued so far is on disk (at most 5 s).
    pub fn flush(&self) {
        let Some(sh) = &self.shared else { return };
        let guard = sh.drained.lock().unwrap_or_else(|p| p.into_inner());
        let start = *guard;
        sh.flushing.store(true, Ordering::Release);
        sh.writer.unpark();
        // Two drains: the one running now may have missed our last events.
        let _ = sh
            .drained_cv
            .wait_timeout_while(guard, Duration::from_secs(5), |n| {
                if *n == start + 1 {
                    sh.writer.unpark();
                }
                *n < start + 2
            });
        sh.flushing.store(false, Ordering::Release);
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Read too: the writer reads the last line to continue the chain.
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .open(path)
}

fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(chain::rotated(path, keep));
    for n in (1..keep).rev() {
        let _ = std::fs::rename(chain::rotated(path, n), chain::rotated(path, n + 1));
    }
    std::fs::rename(path, chain::rotated(path, 1))
}

/// An exclusive `flock` on the log's lock file, held while a batch is
/// linked and written: every vanguard process appending to this log
/// continues one chain.
struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    fn new(f: &'a File) -> std::io::Result<Locked<'a>> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: flock(2) on a descriptor this struct borrows.
            let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(Locked(f));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; unlocking a lock this process holds.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// The log as this writer sees it: the open file (reopened when another
/// process rotated it away) and the chain's end.
struct Log {
    path: PathBuf,
    file: File,
    lock: Option<File>,
    /// Signs the head file (`None`: the key could not be read or made).
    key: Option<crate::trust::SigningKey>,
    max: u64,
    keep: u32,
    failed: bool,
    /// The last batch's bytes: their room is reused by the next.
    out: Vec<u8>,
    /// The log's length and last link as this writer left them. While
    /// the file (same inode) still has that length, no other process
    /// appended since, and the next batch links to it without reading
    /// the log's tail again (a read and a parse per drain under load).
    end: Option<(u64, chain::Link)>,
}

impl Log {
    fn error(&mut self, what: &str, e: &std::io::Error) {
        if !self.failed {
            tracing::error!(path = %self.path.display(), error = %e, "{what}");
            self.failed = true;
        }
    }

    /// Another process rotated the file: ours is now `<log>.1`.
    fn reopen_if_rotated(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let ours = self.file.metadata()?.ino();
        let now = std::fs::metadata(&self.path).map(|m| m.ino()).ok();
        if now != Some(ours) {
            self.end = None;
            self.file = open_append(&self.path)?;
        }
        Ok(())
    }

    /// The chain's end: the last line of the log, or of `<log>.1` when the
    /// log was just rotated.
    fn last_link(&mut self) -> Option<chain::Link> {
        if let Ok(Some(l)) = chain::last_link(&mut self.file) {
            return Some(l);
        }
        let mut older = File::open(chain::rotated(&self.path, 1)).ok()?;
        chain::last_link(&mut older).ok().flatten()
    }

    /// Links and writes one batch.
    fn write(&mut self, batch: &mut Vec<Event>) {
        // Out of `self` while held, so `self` stays usable.
        let lock_file = self.lock.take();
        let lock = lock_file.as_ref().map(Locked::new);
        if let Some(Err(e)) = &lock {
            let e = std::io::Error::new(e.kind(), e.to_string());
            self.error("cannot lock the audit log; writing unlinked", &e);
        }
        if let Err(e) = self.reopen_if_rotated() {
            self.error("cannot reopen the audit log", &e);
        }
        let len = self.file.metadata().map(|m| m.len()).ok();
        let mut last = match (&self.end, len) {
            (Some((at, link)), Some(len)) if *at == len => Some(link.clone()),
            _ => self.last_link(),
        };
        self.end = None;
        let mut size = len.unwrap_or(0);
        // Whether `size` is the file's length: not after a failed write.
        let mut known = len.is_some();
        // Each line is serialised straight into the batch's bytes, kept
        // from one batch to the next (a fresh multi-megabyte buffer per
        // drain under load was a page fault per 4 KiB written).
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        for ev in batch.drain(..) {
            let start = out.len();
            super::line::write(&ev, &mut out);
            match chain::link_from(&mut out, start, last.as_ref()) {
                Some(l) => last = Some(l),
                // The file's last line may now be this unlinked one: let
                // the next batch read what is there, as before.
                None => known = false,
            }
            out.push(b'\n');
            size += (out.len() - start) as u64;
            if size >= self.max {
                known &= self.append(&out);
                out.clear();
                match rotate(&self.path, self.keep).and_then(|_| open_append(&self.path)) {
                    Ok(f) => {
                        self.file = f;
                        size = 0;
                    }
                    Err(e) => self.error("audit log rotation failed", &e),
                }
            }
        }
        known &= self.append(&out);
        if known {
            self.end = last.clone().map(|l| (size, l));
        }
        let written = out.len();
        fit(&mut out, written);
        self.out = out;
        if let Some(l) = &last {
            if let Err(e) = chain::write_head(&self.path, l, self.key.as_ref()) {
                self.error("cannot write the audit log's head file", &e);
            }
        }
        drop(lock);
        self.lock = lock_file;
    }

    /// Whether all of `bytes` reached the file.
    fn append(&mut self, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        if let Err(e) = self.file.write_all(bytes) {
            self.error("cannot write the audit log", &e);
            return false;
        }
        true
    }
}

fn write_loop(shared: Arc<Shared>, path: PathBuf, file: File, max: u64, keep: u32) {
    use std::os::unix::fs::OpenOptionsExt;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(chain::lock_path(&path));
    let key = match chain::signing_key(&path) {
        Ok(k) => Some(k),
        Err(e) => {
            tracing::error!(path = %path.display(), "the audit head will not be signed: {e}");
            None
        }
    };
    let mut log = Log {
        key,
        lock: lock.ok(),
        path,
        file,
        max,
        keep,
        failed: false,
        out: Vec::new(),
        end: None,
    };
    let mut batch: Vec<Event> = Vec::with_capacity(IDLE_CAPACITY);
    // Whether the last drain found nothing: then sleep until woken.
    let mut quiet = false;
    loop {
        if quiet {
            shared.asleep.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let pending = !shared
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty();
            if !pending && shared.sinks.load(Ordering::Relaxed) > 0 {
                std::thread::park();
            }
            shared.asleep.store(false, Ordering::Relaxed);
        }
        // Also after that sleep: the first event after a quiet spell is
        // drained a period later with those that follow, as under load (a
        // drain at once ran beside the call it logs and delayed its
        // answer: the first call of a session 0.55 → 0.83 ms); a waiting
        // `flush` is served at once.
        if !(quiet && shared.flushing.load(Ordering::Acquire)) {
            std::thread::park_timeout(DRAIN_EVERY);
        }
        std::mem::swap(
            &mut batch,
            &mut *shared.queue.lock().unwrap_or_else(|p| p.into_inner()),
        );
        let drained = batch.len();
        quiet = drained == 0;
        if drained > 0 {
            log.write(&mut batch);
        } else if log.out.capacity() > 0 {
            // Quiet: the bytes' room goes back too.
            log.out = Vec::new();
        }
        // The two vectors take turns as the queue: each is fitted to the
        // drain it just carried, so both come back down after a burst.
        fit(&mut batch, drained);
        let mut n = shared.drained.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        shared.drained_cv.notify_all();
        drop(n);
        // The last sink is gone and its events are written: stop.
        if shared.sinks.load(Ordering::Acquire) == 0 && drained == 0 {
            return;
        }
    }
}

/// Gives back a vector's room when it is over four times what the last
/// drain needed (never below [`IDLE_CAPACITY`]); steady load keeps its size.
fn fit<T>(v: &mut Vec<T>, needed: usize) {
    let want = needed.max(IDLE_CAPACITY);
    if v.capacity() > 4 * want {
        v.shrink_to(want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Direction;

    #[test]
    fn queue_room_follows_the_load() {
        let mut v: Vec<u64> = Vec::with_capacity(IDLE_CAPACITY);
        v.extend(0..10_000);
        v.clear();
        fit(&mut v, 10_000);
        assert!(v.capacity() >= 10_000, "steady load keeps its room");
        fit(&mut v, 3_000);
        assert!(v.capacity() >= 10_000, "within 4x: no churn");
        fit(&mut v, 0);
        assert!(
            v.capacity() < 4 * IDLE_CAPACITY,
            "idle gives it back: {}",
            v.capacity()
        );
    }

    fn ev(i: u64) -> Event {
        Event {
            ts: super::super::Stamp::now(),
            event_id: format!("e-{i}").into(),
            session_id: "s".into(),
            server_id: "srv".into(),
            direction: Direction::AgentToServer,
            kind: crate::audit::EventKind::Decision,
            method: Some("tools/call".into()),
            request_id: Some(serde_json::json!(i)),
            tool: None,
            verdict: crate::verdict::Verdict::Allow,
            layer: None,
            rules: vec![],
            findings: vec![],
            latency_us: 1,
            profile: "balanced".into(),
            principal: None,
            risk: None,
            mode: crate::policy::Mode::Enforce,
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

    /// Two writers on one log (two processes' sinks: separate files and
    /// locks) take turns; each links to what the other wrote, though a
    /// writer keeps its own last link between batches, and a line
    /// appended behind both writers' backs (here by hand) is linked to
    /// as well.
    #[test]
    fn writers_taking_turns_keep_one_chain() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("audit.jsonl");
        let a = AuditSink::open(&p, 1 << 20, 2).expect("open a");
        let b = AuditSink::open(&p, 1 << 20, 2).expect("open b");
        let mut n: u64 = 0;
        for round in 0..4 {
            for sink in [&a, &a, &b, &a, &b, &b] {
                sink.record(ev(n));
                n += 1;
                sink.flush();
            }
            if round == 2 {
                // A linked line another writer left, with a seq of its own.
                let text = std::fs::read(&p).expect("read");
                let mut f = std::fs::File::open(&p).expect("open");
                let last = crate::audit::chain::last_link(&mut f).expect("tail");
                let mut line = br#"{"kind":"manual"}"#.to_vec();
                let link = crate::audit::chain::link(&mut line, last.as_ref()).expect("link");
                assert_eq!(link.seq, n + 1);
                line.push(b'\n');
                std::fs::write(&p, [text, line].concat()).expect("append");
            }
        }
        let r = crate::audit::chain::verify(std::slice::from_ref(&p), None);
        assert!(r.problem.is_none(), "{r:?}");
        assert_eq!(r.lines, n + 1);
        let text = std::fs::read_to_string(&p).expect("read");
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                v["seq"].as_u64().expect("seq")
            })
            .collect();
        assert_eq!(seqs, (1..=n + 1).collect::<Vec<_>>());
    }
}
