//! PID 1 duties, for vanguard as a container's entrypoint.
//!
//! The kernel gives PID 1 two jobs a normal program does not have: every
//! orphan in the container is re-parented to it and must be reaped (or
//! it stays a zombie until the container ends), and a signal for which PID
//! 1 has no handler is dropped (`docker stop` would then wait for its
//! SIGKILL). vanguard's gateway waits for the children it spawned, by pid,
//! so it cannot also reap whatever a server left behind without stealing
//! those statuses.
//!
//! So when vanguard finds itself PID 1 it splits in two before anything
//! else runs (no threads yet, nothing allocated that a child could not
//! use): the parent stays PID 1 as a minimal init — it forwards SIGTERM,
//! SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the gateway, reaps every
//! process re-parented to it, and exits with the gateway's status (128+N
//! when the gateway died of signal N) — and the child carries on as the
//! ordinary command. Set `VANGUARD_NO_INIT=1` to run without it (e.g.
//! under `docker run --init`, `tini` or `dumb-init`, which already do
//! this; there vanguard is not PID 1 and nothing happens anyway).

// The signals the init passes on to the gateway: the ones the sandbox's
// supervisor passes on to its server.
use crate::sandbox::spawn::FORWARDED;

/// Returns in the process that should run the command: at once when this
/// is not PID 1 (or `VANGUARD_NO_INIT` is set), else in a forked child;
/// the PID-1 parent never returns (it exits with the child's status).
pub fn become_init_if_pid1() {
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != 1 {
        return;
    }
    if std::env::var_os("VANGUARD_NO_INIT").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    // SAFETY: plain libc calls on a sigset_t owned by this frame; the
    // process is single-threaded here (called first thing in main).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        // Blocked before the fork, so a signal that arrives in between waits
        // in the parent's queue instead of being lost.
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        // An inherited SIG_IGN for SIGCHLD would have the kernel reap
        // behind our back (and the gateway's waits fail).
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        let child = libc::fork();
        if child < 0 {
            // No init then: run the command as PID 1 rather than not at all.
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            eprintln!(
                "vanguard: warning: running as PID 1 without an init (fork failed: {}); orphans will not be reaped",
                std::io::Error::last_os_error()
            );
            return;
        }
        if child == 0 {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            return;
        }
        libc::_exit(init_loop(child, &set));
    }
}

/// The PID-1 loop: waits for a signal, forwards it or reaps, until `child`
/// has exited; returns the exit code to leave with.
///
/// # Safety
/// `set` must be blocked in this thread (it is waited for with sigwaitinfo).
unsafe fn init_loop(child: libc::pid_t, set: &libc::sigset_t) -> libc::c_int {
    loop {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let sig = libc::sigwaitinfo(set, &mut info);
        if sig < 0 {
            // EINTR: some other signal interrupted the wait; wait again.
            continue;
        }
        if sig != libc::SIGCHLD {
            libc::kill(child, sig);
            continue;
        }
        // Reap everything that has exited: the gateway and any orphan.
        loop {
            let mut status = 0;
            let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
            if pid <= 0 {
                break;
            }
            if pid == child {
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                };
                // Orphans still running are killed with the container
                // anyway; reap the ones already gone so none is left.
                while libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 {}
                return code;
            }
        }
    }
}
