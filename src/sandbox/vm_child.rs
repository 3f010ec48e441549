//! Helper children that share vanguard's memory instead of copying it.
//!
//! The kernel probes and the idmap helper are a handful of raw syscalls.
//! `fork` would first copy the page tables of vanguard's whole address space
//! and leave every private page copy-on-write, so vanguard would also take a
//! fault on its next write to each of them. `clone(CLONE_VM)` on a private
//! stack costs neither: measured on `vanguard run -- true`, the mounts probe
//! alone (two forks) was about 0.3 ms of its CPU.
//!
//! # The rules for an entry function
//! It runs in a process that shares vanguard's heap, globals and the calling
//! thread's thread-local storage (errno included), on a stack of its own:
//! - raw syscalls on data prepared before the clone, nothing else: no
//!   allocation, no locks, no std I/O, no panics, no `fork` (glibc's takes
//!   the allocator's locks; nest [`spawn`] instead);
//! - a failing libc wrapper writes errno in the calling thread's slot. With
//!   `CLONE_VFORK` that thread is suspended until the child is gone, so
//!   nothing can read the value in between; without it, the entry function
//!   must make only calls that cannot fail;
//! - it ends with `_exit` or by returning its exit code (glibc's `clone`
//!   then calls `exit`).
//!
//! Every signal is blocked in the child from its first instruction: a
//! handler of vanguard's running on the child's small stack, against shared
//! memory, is never an option. SIGKILL still ends it.

use std::ffi::c_void;

/// The size of a helper's stack (untouched pages cost nothing).
const STACK: usize = 128 * 1024;
const PAGE: usize = 4096;

/// An anonymous mapping used as a child's stack, with a guard page below it.
pub(super) struct Stack {
    base: *mut c_void,
    len: usize,
}

impl Stack {
    pub(super) fn new() -> std::io::Result<Stack> {
        let len = STACK + PAGE;
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let stack = Stack { base, len };
        // SAFETY: the lowest page of the mapping just made.
        if unsafe { libc::mprotect(base, PAGE, libc::PROT_NONE) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The highest address, 16-byte aligned (stacks grow down on x86_64).
    pub(super) fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of our own mapping.
        unsafe { self.base.cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; no child runs on it any more
        // (see `Child::drop`).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// A running or finished helper child; dropping it kills and reaps a child
/// that was not waited for, before its stack goes away.
pub(super) struct Child {
    pid: libc::pid_t,
    reaped: bool,
    // Declared last: freed after the child is gone.
    _stack: Stack,
}

impl Child {
    pub(super) fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Waits for the child; returns its raw wait status.
    pub(super) fn wait(mut self) -> std::io::Result<libc::c_int> {
        let status = reap(self.pid);
        self.reaped = true;
        status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: our own child, not yet reaped, so the pid is still ours.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = reap(self.pid);
        }
    }
}

fn reap(pid: libc::pid_t) -> std::io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            return Ok(status);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Starts `entry(arg)` in a child that shares this process's memory, on a
/// new stack, with every signal blocked. `flags`: extra clone flags
/// (`CLONE_VFORK`, namespace flags); `CLONE_VM` and the exit signal SIGCHLD
/// are added, so the child is waited for like a forked one.
///
/// # Safety
/// `entry` must keep the rules in the module documentation, and `arg` must
/// stay valid until the child is gone (with `CLONE_VFORK`, until this
/// returns).
pub(super) unsafe fn spawn(
    flags: libc::c_int,
    entry: extern "C" fn(*mut c_void) -> libc::c_int,
    arg: *mut c_void,
) -> std::io::Result<Child> {
    let stack = Stack::new()?;
    let pid = clone_blocked(&stack, flags, entry, arg)?;
    Ok(Child {
        pid,
        reaped: false,
        _stack: stack,
    })
}

/// `clone` on `stack` with every signal blocked in the calling thread around
/// it (the child inherits the blocked mask). Returns the child's pid.
///
/// # Safety
/// As [`spawn`]; `stack` must outlive the child. Usable inside an entry
/// function (only raw syscalls), with a stack prepared before the outer
/// clone.
pub(super) unsafe fn clone_blocked(
    stack: &Stack,
    flags: libc::c_int,
    entry: extern "C" fn(*mut c_void) -> libc::c_int,
    arg: *mut c_void,
) -> std::io::Result<libc::pid_t> {
    let mut all: libc::sigset_t = std::mem::zeroed();
    let mut old: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut all);
    libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    let pid = libc::clone(
        entry,
        stack.top(),
        flags | libc::CLONE_VM | libc::SIGCHLD,
        arg,
    );
    // Read before anything else can overwrite errno.
    let err = std::io::Error::last_os_error();
    libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    if pid < 0 {
        return Err(err);
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    extern "C" fn store_and_exit(arg: *mut c_void) -> libc::c_int {
        // SAFETY: arg points at the test's AtomicU32, alive until the child is gone.
        let cell = unsafe { &*(arg as *const AtomicU32) };
        cell.store(0xC0FFEE, Ordering::SeqCst);
        7
    }

    #[test]
    fn a_vfork_child_writes_shared_memory_and_its_exit_code_is_seen() {
        let cell = AtomicU32::new(0);
        // SAFETY: the entry stores into `cell` and returns.
        let child = unsafe {
            spawn(
                libc::CLONE_VFORK,
                store_and_exit,
                &cell as *const AtomicU32 as *mut c_void,
            )
        }
        .unwrap();
        // CLONE_VFORK: the child has exited by now.
        assert_eq!(cell.load(Ordering::SeqCst), 0xC0FFEE);
        let status = child.wait().unwrap();
        assert!(libc::WIFEXITED(status));
        assert_eq!(libc::WEXITSTATUS(status), 7);
    }

    extern "C" fn sleep_forever(_: *mut c_void) -> libc::c_int {
        loop {
            // SAFETY: pause has no arguments; every signal is blocked, so only SIGKILL ends it.
            unsafe { libc::pause() };
        }
    }

    #[test]
    fn dropping_an_unwaited_child_kills_and_reaps_it() {
        // SAFETY: the entry only calls pause.
        let child = unsafe { spawn(0, sleep_forever, std::ptr::null_mut()) }.unwrap();
        let pid = child.pid();
        // Blocked signals: SIGTERM does not end it.
        // SAFETY: our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        std::thread::sleep(std::time::Duration::from_millis(50));
        // SAFETY: signal 0 only checks that the pid exists.
        assert_eq!(unsafe { libc::kill(pid, 0) }, 0, "SIGTERM ended the child");
        drop(child);
        // Reaped: the pid is gone (not even a zombie of ours).
        let mut status = 0;
        // SAFETY: WNOHANG poll for a pid that is no longer our child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert_eq!(r, -1);
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ECHILD)
        );
    }
}
