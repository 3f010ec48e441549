//! The server side of a session, as the session sees it: a writer (the
//! server's input), a reader (its output), optionally its diagnostics, an
//! exit to await, and a way to stop it. A sandboxed child process is one
//! ([`From<ServerProcess>`]); tests build one from in-memory pipes, so the
//! session's logic runs in-process without a server to spawn.

use crate::transport::child::ServerProcess;
use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

pub type BoxRead = Box<dyn AsyncRead + Unpin + Send>;
pub type BoxWrite = Box<dyn AsyncWrite + Unpin + Send>;

/// How the session stops a server that does not exit on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ask it to exit (SIGTERM to its process group).
    Term,
    /// End it, and everything it started (SIGKILL to its process group).
    Kill,
}

/// Stops the server; cloned into the session boundary so a panicking
/// session still ends its server.
pub type Stopper = Arc<dyn Fn(Stop) + Send + Sync>;

/// A server to run a session against.
pub struct Upstream {
    /// For logs and audit events (0 when there is no process).
    pub pid: u32,
    /// What the sandbox enforces, for the `session_start` event.
    pub sandbox: Option<String>,
    /// With a minimal root: the host paths the server can see (a refusal
    /// reads "No such file or directory" for the rest).
    pub visible: Option<Arc<[std::path::PathBuf]>>,
    pub input: Option<BoxWrite>,
    pub output: Option<BoxRead>,
    pub stderr: Option<BoxRead>,
    /// Resolves once with the server's exit status.
    pub exit: oneshot::Receiver<io::Result<ExitStatus>>,
    pub stop: Stopper,
}

impl From<ServerProcess> for Upstream {
    fn from(p: ServerProcess) -> Upstream {
        let pid = p.pid;
        Upstream {
            pid,
            sandbox: p.enforcement.as_ref().map(|e| e.summary()),
            visible: p
                .enforcement
                .as_ref()
                .filter(|e| !e.visible.is_empty())
                .map(|e| Arc::from(e.visible.as_slice())),
            input: p.stdin.map(|s| Box::new(s) as BoxWrite),
            output: p.stdout.map(|s| Box::new(s) as BoxRead),
            stderr: p.stderr.map(|s| Box::new(s) as BoxRead),
            exit: p.exit,
            stop: Arc::new(move |how| {
                let sig = match how {
                    Stop::Term => libc::SIGTERM,
                    Stop::Kill => libc::SIGKILL,
                };
                ServerProcess::signal_group(pid, sig);
            }),
        }
    }
}
