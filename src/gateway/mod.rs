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

/// Metadata answers after which the heap is trimmed, per process.
const TRIMS: u8 = 2;
static TRIMMED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Hands the heap pages freed since start back to the kernel, after the
/// first `initialize` and `tools/list` answers: compiling the rules and the
/// first metadata checks leave megabytes of freed temporaries that glibc
/// otherwise keeps resident for the life of the process. Cheap (a walk of
/// the free lists) and done at most twice per process.
pub(crate) fn trim_after_start() {
    use std::sync::atomic::Ordering;
    if TRIMMED.load(Ordering::Relaxed) >= TRIMS || TRIMMED.fetch_add(1, Ordering::Relaxed) >= TRIMS
    {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
