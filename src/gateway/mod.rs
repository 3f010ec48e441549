//! A gateway session: the two pumps between agent and upstream, the table
//! of requests in flight, verdicts applied, and the shutdown order.
//!
//! ```text
//! agent ──lines──▶ agent pump ──classify──▶ inspector ──allow──▶ upstream writer ──▶ child stdin
//!   ▲                    │ block: one error response                 
//!   └── agent writer ◀───┴───────────────── upstream pump ◀── child stdout
//! ```
//! Both pumps write to the agent through one channel, so every line reaches
//! the agent whole and in the order it was decided.

pub mod control;
pub mod server_side;
pub mod session;
pub mod upstream;

pub use session::{live_sessions, reset_risk, run, Outcome, SessionConfig, SessionInfo};
pub use upstream::{Stop, Upstream};

/// Set by every line a session reads (agent or server); cleared by the
/// idle trimmer's check.
static ACTIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Whether this process's runtime has an idle trimmer running.
static TRIMMER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// How often the idle trimmer looks: the heap is trimmed after one whole
/// period without a line, following a period with lines.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);
/// Periods of uninterrupted work after which the heap is trimmed anyway
/// (a trim is ~25 `madvise` calls; once a second it costs nothing measurable).
const BUSY_TRIM: u32 = 1;

/// Wakes the idle trimmer when work starts again after it trimmed.
static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Marks the process busy: a line was read. A relaxed load per line; the
/// store and the wake-up only on the first line after a check.
#[inline]
pub(crate) fn note_activity() {
    use std::sync::atomic::Ordering;
    if !ACTIVE.load(Ordering::Relaxed) {
        ACTIVE.store(true, Ordering::Relaxed);
        WAKE.notify_one();
    }
}

/// Starts, once per runtime, the task that hands free heap pages back to
/// the kernel when the gateway goes quiet after work. glibc keeps freed
/// memory in the middle of its heap resident until `malloc_trim`; over a
/// few thousand calls a session's heap grows to 8-11 MiB of which about 3
/// are live (measured with heaptrack and smaps), and that anonymous memory
/// cannot be reclaimed without swap. After 5,000 calls through
/// server-everything one trim was 25 `madvise` calls, under a millisecond
/// even under strace; it runs after a quiet second and, under steady work,
/// once a second: the heap of a busy HTTP gateway otherwise settled at its
/// high-water mark, 1-2 MiB above what it held (the HTTP soak's RSS grew
/// +5.7…+11.2 % between call 10,000 and 100,000; with the busy trim
/// -2.9…-4.4 %, CPU per call unchanged within noise). After a quiet
/// second only, it also drops the page-table entries of vanguard's own
/// code ([`crate::sandbox::release_code_pages`]): start-up code a session
/// never runs again leaves, and the next call faults back in only the block
/// of functions a session runs (about 1.5 MiB; the build lays them out
/// together). Must be called inside a Tokio runtime.
pub(crate) fn keep_heap_trimmed() {
    use std::sync::atomic::Ordering;
    if TRIMMER.swap(true, Ordering::AcqRel) {
        return;
    }
    /// Clears TRIMMER when the task ends with its runtime, so a later
    /// runtime (tests run one each) starts its own.
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            TRIMMER.store(false, Ordering::Release);
        }
    }
    // Moved in, so it drops with the task even if the task never ran.
    let running = Running;
    tokio::spawn(async move {
        let _running = running;
        loop {
            // Parked while idle: no timer runs in an idle gateway.
            WAKE.notified().await;
            if !ACTIVE.load(Ordering::Relaxed) {
                // A wake-up stored during the last round, already served.
                continue;
            }
            // Then one check a period until a whole period passes quietly;
            // under steady work, a trim every BUSY_TRIM periods.
            let mut busy = 0u32;
            let quiet = loop {
                ACTIVE.store(false, Ordering::Relaxed);
                tokio::time::sleep(IDLE_CHECK).await;
                if !ACTIVE.load(Ordering::Relaxed) {
                    break true;
                }
                busy += 1;
                if busy >= BUSY_TRIM {
                    break false;
                }
            };
            release_free_heap();
            if quiet {
                crate::sandbox::release_code_pages();
            } else {
                // Still busy: come back for the next round.
                WAKE.notify_one();
            }
        }
    });
}

fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How long after a metadata answer its start-up code is dropped.
const AFTER_START: std::time::Duration = std::time::Duration::from_millis(100);

/// Metadata answers after which the heap is trimmed, per process.
const TRIMS: u8 = 2;
static TRIMMED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Hands the heap pages freed since start back to the kernel, after the
/// first `initialize` and `tools/list` answers: compiling the rules and the
/// first metadata checks leave megabytes of freed temporaries that glibc
/// otherwise keeps resident for the life of the process. Cheap (a walk of
/// the free lists) and done at most twice per process.
///
/// Then, [`AFTER_START`] later (the answer written, its audit event
/// written), drops the mapped start-up code as the idle trimmer does: a
/// session that never pauses for a whole second would otherwise keep it
/// mapped for good. Reading `/proc/self/smaps` takes about 0.3 ms.
pub(crate) fn trim_after_start() {
    use std::sync::atomic::Ordering;
    if TRIMMED.load(Ordering::Relaxed) >= TRIMS || TRIMMED.fetch_add(1, Ordering::Relaxed) >= TRIMS
    {
        return;
    }
    release_free_heap();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async {
            tokio::time::sleep(AFTER_START).await;
            crate::sandbox::release_code_pages();
        });
    }
}
