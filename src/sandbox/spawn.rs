//! The ordered child set-up: everything between `fork` and `exec`.
//!
//! `mod.rs` fills a [`ChildSetup`] in the parent (ruleset fd, BPF programs,
//! rlimit table, maps, `ifreq`); [`install`] moves it into the `Command`'s
//! `pre_exec` hook. Inside the hook only raw, async-signal-safe syscalls run:
//! no allocation, no locks, no logging.
//!
//! Process layout with a PID namespace (the default when namespaces work):
//!
//! ```text
//! vanguard ── supervisor (the returned Child; old PID namespace)
//!               └── init (PID 1 of the new namespace: reaps, forwards signals)
//!                     └── server (PID 2: restricted, then exec)
//! ```
//!
//! The supervisor and init only wait and forward SIGTERM/SIGINT/SIGHUP/SIGQUIT/
//! SIGUSR1/SIGUSR2 downwards, and exit with the server's status (128+N when
//! the server died from signal N; the supervisor re-raises N on itself). The
//! server is not PID 1 because PID 1 ignores signals it has no handler for,
//! which would make a plain SIGTERM a no-op. When init dies the kernel kills
//! the whole namespace; every level has PR_SET_PDEATHSIG(SIGKILL) on its parent,
//! so `kill -9` of vanguard takes down every server process. Both first drop
//! the heap they inherited from vanguard and the code pages set-up touched
//! (`shed.rs`): well under 1 MiB RSS each instead of a copy-on-write share of
//! vanguard's whole heap.
//!
//! A set-up failure in any level is reported through std's exec-error pipe
//! (the spawn returns an error) and the failing step is read from a shared page.

use super::egress::ListenerHandoff;
use super::landlock;
use super::limits::{self, Rlimit};
use super::namespaces::{self, Loopback, UserMaps};
use super::seccomp::Program;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;

/// The steps of the child's set-up, in the order they run. The child
/// records the step it enters in a shared page, so a failure names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    Start = 0,
    Setsid = 1,
    ParentDeath = 2,
    JoinCgroup = 3,
    UserNamespace = 4,
    Unshare = 5,
    LoopbackUp = 6,
    ForkPidNamespace = 7,
    MountProc = 8,
    Rlimits = 9,
    DropCapabilities = 10,
    NoNewPrivs = 11,
    Landlock = 12,
    Seccomp = 13,
    CloseFds = 14,
    Exec = 15,
    EgressListener = 16,
    MinimalRoot = 17,
}

impl Step {
    const ALL: [Step; 18] = [
        Step::Start,
        Step::Setsid,
        Step::ParentDeath,
        Step::JoinCgroup,
        Step::UserNamespace,
        Step::Unshare,
        Step::LoopbackUp,
        Step::ForkPidNamespace,
        Step::MountProc,
        Step::Rlimits,
        Step::DropCapabilities,
        Step::NoNewPrivs,
        Step::Landlock,
        Step::Seccomp,
        Step::CloseFds,
        Step::Exec,
        Step::EgressListener,
        Step::MinimalRoot,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Setsid => "setsid",
            Step::ParentDeath => "parent-death signal",
            Step::JoinCgroup => "join cgroup",
            Step::UserNamespace => "user namespace",
            Step::Unshare => "unshare namespaces",
            Step::LoopbackUp => "loopback up",
            Step::ForkPidNamespace => "fork into PID namespace",
            Step::MountProc => "mount private /proc",
            Step::Rlimits => "rlimits",
            Step::DropCapabilities => "drop capabilities",
            Step::NoNewPrivs => "no_new_privs",
            Step::Landlock => "landlock",
            Step::Seccomp => "seccomp",
            Step::CloseFds => "close stray fds",
            Step::Exec => "exec",
            Step::EgressListener => "egress listener",
            Step::MinimalRoot => "minimal root",
        }
    }
}

/// Everything the child needs, prepared in the parent.
#[derive(Debug, Default)]
pub struct ChildSetup {
    /// Full sandbox (false: only setsid + parent-death signal + fd hygiene).
    pub sandboxed: bool,
    pub cgroup_procs: Option<OwnedFd>,
    pub user_maps: Option<UserMaps>,
    pub unshare_flags: libc::c_int,
    pub loopback: Option<Loopback>,
    pub pid_namespace: bool,
    pub rlimits: Vec<Rlimit>,
    pub cap_last_cap: u32,
    pub has_setpcap: bool,
    pub landlock: Option<OwnedFd>,
    pub seccomp: Vec<Program>,
    /// Network allow-list mode: create the proxy listener in the new network
    /// namespace and send it to vanguard.
    pub egress: Option<ListenerHandoff>,
    /// The minimal root, built by the sandbox's init before the server forks.
    pub root: Option<super::root::RootPlan>,
    /// vanguard's own argument and environment strings, wiped in the child
    /// so the sandbox's init and supervisor (forks of vanguard that never
    /// exec) show none of them (`/proc/1/cmdline` inside the sandbox).
    pub own_strings: Option<OwnStrings>,
}

/// Where this process's argument and environment strings live (from
/// `/proc/self/stat`): `[arg_start, arg_end)` and `[env_start, env_end)`.
#[derive(Debug, Clone, Copy)]
pub struct OwnStrings {
    args: (usize, usize),
    env: (usize, usize),
}

impl OwnStrings {
    /// Read once, in the parent.
    pub fn of_this_process() -> Option<OwnStrings> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which may itself hold spaces.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let f: Vec<usize> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // Field 48 of stat(5) is arg_start; `rest` starts at field 3.
        let at = |n: usize| f.get(n - 3).copied().filter(|v| *v != 0);
        let s = OwnStrings {
            args: (at(48)?, at(49)?),
            env: (at(50)?, at(51)?),
        };
        (s.args.0 < s.args.1 && s.env.0 <= s.env.1).then_some(s)
    }

    /// Zeroes both areas and leaves a plain name as the command line.
    /// Async-signal-safe: writes to this process's own memory only.
    fn wipe(&self) {
        const NAME: &[u8] = b"vanguard-sandbox";
        for (start, end) in [self.args, self.env] {
            let len = end.saturating_sub(start);
            // SAFETY: the kernel reports these ranges as this process's
            // argument and environment strings, mapped and writable (the
            // initial stack); nothing in the child reads them again.
            unsafe { std::ptr::write_bytes(start as *mut u8, 0, len) };
        }
        let room = self.args.1 - self.args.0;
        if room > NAME.len() {
            // SAFETY: within the argument area just zeroed.
            unsafe {
                std::ptr::copy_nonoverlapping(NAME.as_ptr(), self.args.0 as *mut u8, NAME.len())
            };
        }
        // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated string.
        unsafe { libc::prctl(libc::PR_SET_NAME, c"vg-sandbox".as_ptr(), 0, 0, 0) };
    }
}

/// A shared anonymous page where the child records the step it is in (slot
/// 0) and init records the signal that killed the server (slot 1).
pub struct Progress {
    ptr: *mut AtomicU32,
}

// SAFETY: the page is only accessed through the atomic.
unsafe impl Send for Progress {}
// SAFETY: as above.
unsafe impl Sync for Progress {}

impl Progress {
    pub fn new() -> std::io::Result<Progress> {
        // SAFETY: anonymous shared mapping of one page; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Progress { ptr: ptr.cast() })
    }

    fn slot(&self, i: usize) -> &AtomicU32 {
        // SAFETY: ptr is a live, zero-initialised 4096-byte page; callers
        // use slots 0 to 2 (the shed test), far below its 1,024.
        unsafe { &*self.ptr.add(i) }
    }

    /// Slot `i` as a raw pointer into the shared page, for a helper that
    /// drops its heap (where this struct lives) and keeps the page.
    pub(super) fn raw_slot(&self, i: usize) -> *const AtomicU32 {
        self.slot(i)
    }

    fn set(&self, step: Step) {
        self.slot(0).store(step as u32, Ordering::SeqCst);
    }

    /// The name of the last step a child entered.
    pub fn step(&self) -> &'static str {
        let n = self.slot(0).load(Ordering::SeqCst) as usize;
        Step::ALL.get(n).map_or("unknown", |s| s.name())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // SAFETY: unmapping the page mapped in new().
        unsafe { libc::munmap(self.ptr.cast(), 4096) };
    }
}

/// The pid signals are forwarded to (0: none yet).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
/// The signals a parent passes on to its child (also PID 1's init).
pub const FORWARDED: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::Relaxed);
    if pid != 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

fn set_forwarding(handler: libc::sighandler_t) {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with a handler address or SIG_DFL is valid.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = handler;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc < 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// PR_SET_PDEATHSIG(SIGKILL), then make sure the parent did not already die
/// between fork and prctl (the signal would never come).
fn die_with_parent(expected_parent: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: prctl/getppid with integer arguments.
    unsafe {
        check(libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ))?;
        if libc::getppid() != expected_parent {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}

/// `fork` without running libc's atfork handlers (which may take locks).
fn raw_fork() -> std::io::Result<libc::pid_t> {
    // SAFETY: clone with only SIGCHLD and no stack behaves like fork.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(last_error());
    }
    Ok(pid as libc::pid_t)
}

/// Closes every fd (stdio and std's exec-error pipe included, so the parent
/// sees EOF as soon as the server execs), then waits for `child` and exits
/// like it. `reap_all`: also reap re-parented orphans (PID 1 duty).
fn supervise(
    child: libc::pid_t,
    reap_all: bool,
    progress: &Progress,
    code: &super::shed::CodeRanges,
) -> ! {
    // Negative: the child's whole process group (see fork_supervised).
    FORWARD_TO.store(-child, Ordering::Relaxed);
    // The signal slot as a raw pointer and the code ranges as a copy on
    // the stack: `progress` and the hook that holds `code` live on the
    // heap, which is dropped below.
    let signal_slot = progress.raw_slot(1);
    let code = *code;
    // SAFETY: raw syscalls only; this process never returns to Rust code that
    // could use the closed fds, and touches no heap memory after shedding it.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
        super::shed::shed_inherited_memory(&code);
        let signal_slot = &*signal_slot;
        loop {
            let mut status = 0;
            let waited = libc::waitpid(if reap_all { -1 } else { child }, &mut status, 0);
            if waited < 0 {
                if last_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                libc::_exit(127);
            }
            if waited != child {
                continue;
            }
            // init (PID 1) cannot die from its own signals, so it exits
            // 128+N and leaves N in the shared page for the supervisor.
            let (code, sig) = if libc::WIFEXITED(status) {
                let code = libc::WEXITSTATUS(status);
                let sig = signal_slot.load(Ordering::SeqCst) as libc::c_int;
                (
                    code,
                    if sig != 0 && code == 128 + sig {
                        sig
                    } else {
                        0
                    },
                )
            } else {
                (128 + libc::WTERMSIG(status), libc::WTERMSIG(status))
            };
            if reap_all && sig != 0 {
                signal_slot.store(sig as u32, Ordering::SeqCst);
            }
            if !reap_all && sig != 0 {
                // Re-raise so the caller sees "killed by signal N"; no core file.
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                libc::signal(sig, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, sig);
                libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::kill(libc::getpid(), sig);
            }
            libc::_exit(code);
        }
    }
}

/// Forks; the parent side becomes a supervisor and never returns, the child
/// side returns with PR_SET_PDEATHSIG set on that supervisor. `into_new_pid_ns`:
/// the child is the first process of a new PID namespace, where getppid()
/// reads 0 (the parent lives in the ancestor namespace).
fn fork_supervised(
    reap_all: bool,
    into_new_pid_ns: bool,
    progress: &Progress,
    code: &super::shed::CodeRanges,
) -> std::io::Result<()> {
    // SAFETY: getpid is a plain syscall.
    let me = if into_new_pid_ns {
        0
    } else {
        unsafe { libc::getpid() }
    };
    set_forwarding(forward_signal as *const () as libc::sighandler_t);
    let pid = raw_fork()?;
    if pid > 0 {
        // Each level leads its own process group and a forwarded signal
        // goes to the next level's group: a signal to vanguard's child's
        // group reaches every level exactly once (the server no longer gets
        // it both directly and relayed). Both sides call setpgid, so the
        // group exists whichever runs first.
        // SAFETY: setpgid on our own child.
        unsafe { libc::setpgid(pid, pid) };
        supervise(pid, reap_all, progress, code);
    }
    // SAFETY: setpgid on ourselves.
    unsafe { libc::setpgid(0, 0) };
    set_forwarding(libc::SIG_DFL);
    die_with_parent(me)
}

impl ChildSetup {
    /// Runs the set-up in the forked child. Returns only in the process that
    /// will exec the server.
    fn run(
        &self,
        progress: &Progress,
        vanguard: libc::pid_t,
        code: &super::shed::CodeRanges,
    ) -> std::io::Result<()> {
        // 0. Nothing of vanguard's command line or environment stays in the
        //    processes that never exec (supervisor, init).
        if let Some(own) = &self.own_strings {
            own.wipe();
        }
        // 1. New session and process group: the server is cut off from
        //    vanguard's terminal, and kill(-pgid) reaches every level.
        progress.set(Step::Setsid);
        // SAFETY: setsid has no arguments.
        check(unsafe { libc::setsid() })?;
        // 2. Die with vanguard, and check it did not die before prctl.
        progress.set(Step::ParentDeath);
        die_with_parent(vanguard)?;
        if !self.sandboxed {
            // 3'. Off: only fd hygiene (marked close-on-exec, see step 14).
            progress.set(Step::CloseFds);
            close_stray_fds()?;
            progress.set(Step::Exec);
            return Ok(());
        }
        // 3. Join the cgroup first, so everything forked below is counted.
        if let Some(fd) = &self.cgroup_procs {
            progress.set(Step::JoinCgroup);
            super::cgroup::join(fd.as_raw_fd())?;
        }
        // 4. User namespace first when not root: it grants the capabilities
        //    the next unshare needs.
        if let Some(maps) = &self.user_maps {
            progress.set(Step::UserNamespace);
            namespaces::enter_user_namespace(maps)?;
        }
        // 5. Network, PID, mount and IPC namespaces.
        if self.unshare_flags != 0 {
            progress.set(Step::Unshare);
            namespaces::unshare(self.unshare_flags)?;
        }
        // 6. Loopback up in the new network namespace.
        if let Some(lo) = &self.loopback {
            progress.set(Step::LoopbackUp);
            lo.bring_up()?;
        }
        // 6b. The egress proxy's listener, in this namespace, sent to vanguard
        //     before anything else is forked (only the server's namespace
        //     has it; the fd is closed here, so the server never holds it).
        if let Some(handoff) = &self.egress {
            progress.set(Step::EgressListener);
            handoff.create_and_send()?;
        }
        if self.pid_namespace {
            // 7. The supervisor stays outside; its child is PID 1 (init) of
            //    the new namespace, and init's child is the server.
            progress.set(Step::ForkPidNamespace);
            fork_supervised(false, true, progress, code)?;
            // 8. The minimal root (with the PID namespace's own /proc), or
            //    at least a private /proc for the new PID namespace.
            match &self.root {
                Some(root) => {
                    progress.set(Step::MinimalRoot);
                    root.build()?;
                }
                None => {
                    progress.set(Step::MountProc);
                    namespaces::mount_private_proc()?;
                }
            }
            progress.set(Step::ForkPidNamespace);
            fork_supervised(true, false, progress, code)?;
        }
        // 9. Resource limits.
        progress.set(Step::Rlimits);
        limits::apply_rlimits(&self.rlimits)?;
        // 10. Drop every capability (bounding, ambient, then the rest).
        progress.set(Step::DropCapabilities);
        limits::drop_capabilities(
            self.cap_last_cap,
            self.has_setpcap,
            self.root.as_ref().is_some_and(|r| r.nobody),
        )?;
        // 11. no_new_privs: required for Landlock and seccomp without caps.
        progress.set(Step::NoNewPrivs);
        limits::set_no_new_privs()?;
        // 12. Landlock, with the fresh /proc readable when we mounted it.
        if let Some(fd) = &self.landlock {
            progress.set(Step::Landlock);
            if self.pid_namespace {
                landlock::add_path_rule(fd.as_raw_fd(), c"/proc", super::baseline::Access::Read)?;
            }
            landlock::restrict_self(fd.as_raw_fd())?;
        }
        // 13. seccomp last: the filters may deny syscalls used above.
        progress.set(Step::Seccomp);
        for prog in &self.seccomp {
            let fprog = libc::sock_fprog {
                len: prog.code.len() as libc::c_ushort,
                filter: prog.code.as_ptr() as *mut libc::sock_filter,
            };
            super::seccomp::install(&fprog)?;
        }
        // 14. Stray fds: mark everything above stdio close-on-exec.
        progress.set(Step::CloseFds);
        close_stray_fds()?;
        // 15. exec (std, right after this hook returns).
        progress.set(Step::Exec);
        Ok(())
    }
}

/// Marks fds >= 3 close-on-exec rather than closing them: std's own
/// exec-error pipe must stay usable until exec, and exec closes the rest.
fn close_stray_fds() -> std::io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes fd flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc < 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Registers the set-up as the command's `pre_exec` hook.
///
/// # Warning
/// A `Command` keeps its hooks: spawning the same `Command` twice through
/// `sandbox::spawn` would stack two set-ups. Build a fresh one per spawn.
pub fn install(cmd: &mut std::process::Command, setup: ChildSetup, progress: Arc<Progress>) {
    let vanguard = std::process::id() as libc::pid_t;
    // Read in the parent before the fork; the helpers (only forked with a
    // PID namespace) drop these pages.
    let code = if setup.pid_namespace {
        super::shed::code_ranges()
    } else {
        super::shed::CodeRanges::EMPTY
    };
    // SAFETY: the hook only runs raw async-signal-safe syscalls on data
    // prepared here; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || setup.run(&progress, vanguard, &code));
    }
}
