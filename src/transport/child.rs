//! The upstream server as a child process with piped stdio.
//!
//! The child is started by [`crate::sandbox::spawn`] (new session, so its own
//! process group; parent-death signal; and, unless the sandbox is off, the
//! kernel confinement of its plan). Here its pipes become async streams and
//! its exit becomes a future; shutdown signals go to its whole process group.

use std::process::{ExitStatus, Stdio};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::oneshot;

pub struct ServerProcess {
    pub pid: u32,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    pub stderr: Option<ChildStderr>,
    pub exit: oneshot::Receiver<std::io::Result<ExitStatus>>,
    pub enforcement: Option<crate::sandbox::Enforcement>,
    /// Network allow-list mode: the egress proxy's listener inside the
    /// server's network namespace, to be served by the caller.
    pub egress_listener: Option<crate::sandbox::egress::Listeners>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("the server command is empty")]
    Empty,
    #[error("cannot start server {program:?}: {source}")]
    Io {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
}

/// A pidfd for `pid`, registered with the reactor (`None` when the kernel
/// has no pidfd_open or no runtime is running).
fn exit_watch(pid: u32) -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    tokio::runtime::Handle::try_current().ok()?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is a fresh fd that nothing else owns.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw as i32) };
    // SAFETY: the AsyncFd owns `fd` (an OwnedFd), so it stays open and the
    // same for as long as it is registered.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .ok()
}

impl ServerProcess {
    /// Starts `plan`'s command with piped stdin/stdout/stderr. Must be called
    /// from a thread that outlives the child (the parent-death signal fires
    /// when the forking thread exits): the main thread in practice.
    pub fn spawn(plan: &crate::sandbox::Plan) -> Result<ServerProcess, SpawnError> {
        let mut cmd = crate::sandbox::command_for(plan);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let crate::sandbox::Spawned {
            mut child,
            enforcement,
            egress_listener,
        } = crate::sandbox::spawn_with_egress(&mut cmd, plan)?;
        let program = plan.program().display().to_string();
        let io_err = |source| SpawnError::Io {
            program: program.clone(),
            source,
        };
        let stdin = child
            .stdin
            .take()
            .map(ChildStdin::from_std)
            .transpose()
            .map_err(io_err)?;
        let stdout = child
            .stdout
            .take()
            .map(ChildStdout::from_std)
            .transpose()
            .map_err(io_err)?;
        let stderr = child
            .stderr
            .take()
            .map(ChildStderr::from_std)
            .transpose()
            .map_err(io_err)?;
        let pid = child.id();
        let (tx, rx) = oneshot::channel();
        match exit_watch(pid) {
            // A pidfd becomes readable when the child exits: the reactor
            // waits for it, no thread per upstream (a hosted gateway has many).
            Some(fd) => {
                tokio::spawn(async move {
                    let _ = fd.readable().await;
                    let _ = tx.send(child.wait());
                });
            }
            // Kernels without pidfd_open (< 5.3): a parked thread per child.
            None => {
                std::thread::Builder::new()
                    .name("vanguard-wait".into())
                    .spawn(move || {
                        let _ = tx.send(child.wait());
                    })
                    .map_err(io_err)?;
            }
        }
        Ok(ServerProcess {
            pid,
            stdin,
            stdout,
            stderr,
            exit: rx,
            enforcement: Some(enforcement),
            egress_listener,
        })
    }

    /// Sends `sig` to the child's process group (it leads its own session),
    /// falling back to the child alone.
    pub fn signal_group(pid: u32, sig: i32) {
        let pid = pid as libc::pid_t;
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            if libc::kill(-pid, sig) != 0 {
                libc::kill(pid, sig);
            }
        }
    }
}
