//! seccomp: the syscall half of the sandbox.
//!
//! [`compile`] turns a [`Profile`] into a list of classic-BPF programs in the
//! parent; the child installs them with [`install`] (one `prctl` each, after
//! `no_new_privs`, as the very last restriction before exec). Several filters
//! stack and the kernel takes the most restrictive answer, which lets each
//! filter stay simple:
//!
//! 1. `x32` (x86_64 only): kill syscalls with the x32 bit (`nr >= 0x4000_0000`);
//!    seccompiler's own arch check already kills foreign architectures (i386).
//! 2. `deny`: default allow, the dangerous list below answers `EPERM`.
//! 3. `clone3`: answers `ENOSYS` (its flags live in a struct seccomp cannot
//!    read), so libc falls back to `clone`, whose flags filter 2 checks.
//! 4. `strict` only: default `EPERM`, an allow-list of what node, python, git
//!    and the shells were seen to call (plus their obvious siblings).

use seccompiler::{
    SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition as Cond,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// Which seccomp profile a plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Default allow; a deny-list of escape and kernel-attack syscalls.
    DenyList,
    /// The deny-list plus a default-deny allow-list.
    Strict,
}

impl Profile {
    pub fn for_plan(strict: bool) -> Profile {
        if strict {
            Profile::Strict
        } else {
            Profile::DenyList
        }
    }
}

/// Errors while compiling filters in the parent.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp filter `{filter}`: {source}")]
    Compile {
        filter: &'static str,
        #[source]
        source: seccompiler::BackendError,
    },
}

/// A compiled classic-BPF program, in the kernel's `sock_filter` layout.
#[derive(Clone)]
pub struct Program {
    pub name: &'static str,
    pub code: Vec<libc::sock_filter>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Program({}, {} instructions)",
            self.name,
            self.code.len()
        )
    }
}

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// Syscalls answered with `EPERM` whatever their arguments.
pub fn always_denied() -> Vec<(&'static str, i64)> {
    let mut v = vec![
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("move_mount", libc::SYS_move_mount),
        ("open_tree", libc::SYS_open_tree),
        ("fsopen", libc::SYS_fsopen),
        ("fsconfig", libc::SYS_fsconfig),
        ("fsmount", libc::SYS_fsmount),
        ("fspick", libc::SYS_fspick),
        ("mount_setattr", libc::SYS_mount_setattr),
        ("unshare", libc::SYS_unshare),
        ("setns", libc::SYS_setns),
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("bpf", libc::SYS_bpf),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("io_uring_register", libc::SYS_io_uring_register),
        ("kexec_load", libc::SYS_kexec_load),
        ("kexec_file_load", libc::SYS_kexec_file_load),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("swapon", libc::SYS_swapon),
        ("swapoff", libc::SYS_swapoff),
        ("reboot", libc::SYS_reboot),
        ("acct", libc::SYS_acct),
        ("quotactl", libc::SYS_quotactl),
        ("quotactl_fd", libc::SYS_quotactl_fd),
        ("syslog", libc::SYS_syslog),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        ("uselib", libc::SYS_uselib),
        ("iopl", libc::SYS_iopl),
        ("ioperm", libc::SYS_ioperm),
    ]);
    v.extend(chown_family());
    v
}

/// The chown family: a server never needs to give a file away (or take
/// one), and as root it would own every file it can reach.
pub fn chown_family() -> Vec<(&'static str, i64)> {
    let mut v = vec![
        ("fchown", libc::SYS_fchown),
        ("fchownat", libc::SYS_fchownat),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([("chown", libc::SYS_chown), ("lchown", libc::SYS_lchown)]);
    v
}

/// The chmod family and the index of its `mode` argument: modes that set
/// S_ISUID or S_ISGID are refused (a planted setuid binary runs with its
/// owner's rights for any local user).
pub fn chmod_family() -> Vec<(&'static str, i64, u8)> {
    let mut v = vec![
        ("fchmod", libc::SYS_fchmod, 1),
        ("fchmodat", libc::SYS_fchmodat, 2),
        ("fchmodat2", libc::SYS_fchmodat2, 2),
    ];
    #[cfg(target_arch = "x86_64")]
    v.push(("chmod", libc::SYS_chmod, 1));
    v
}

/// Clone flags that create namespaces; any one of them makes `clone` fail.
/// CLONE_NEWNS 0x0002_0000, CLONE_NEWCGROUP 0x0200_0000, CLONE_NEWUTS 0x0400_0000,
/// CLONE_NEWIPC 0x0800_0000, CLONE_NEWUSER 0x1000_0000, CLONE_NEWPID 0x2000_0000,
/// CLONE_NEWNET 0x4000_0000. (CLONE_NEWTIME only exists for clone3/unshare.)
pub const CLONE_NAMESPACE_FLAGS: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

/// `TIOCSTI` (push a byte into a terminal's input) and `TIOCLINUX` (console
/// selection paste); both inject keystrokes into the controlling terminal.
pub const DENIED_IOCTLS: [u64; 2] = [libc::TIOCSTI, libc::TIOCLINUX];

/// Socket families refused outright: raw link-layer frames and VM sockets.
pub const DENIED_FAMILIES: [u64; 2] = [libc::AF_PACKET as u64, libc::AF_VSOCK as u64];

/// `SOCK_TYPE_MASK`: the socket type without SOCK_NONBLOCK / SOCK_CLOEXEC.
const SOCK_TYPE_MASK: u64 = 0xf;

fn cond(arg: u8, op: Op, value: u64) -> Result<Cond, seccompiler::BackendError> {
    // Dword compares the low 32 bits only: ioctl request numbers and socket
    // arguments are ints, and a caller setting high bits must still match.
    Cond::new(arg, Len::Dword, op, value)
}

fn rule(conds: Vec<Cond>) -> Result<SeccompRule, seccompiler::BackendError> {
    SeccompRule::new(conds)
}

/// The deny-list as seccompiler rules (syscall number → rules, any rule matches).
pub fn deny_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::BackendError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (_, nr) in always_denied() {
        rules.insert(nr, Vec::new());
    }
    let clone: Result<Vec<_>, _> = CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|&f| rule(vec![cond(0, Op::MaskedEq(f), f)?]))
        .collect();
    rules.insert(libc::SYS_clone, clone?);
    // personality: only the query (0xffffffff) and PER_LINUX (0) are allowed;
    // anything else could e.g. disable ASLR (ADDR_NO_RANDOMIZE) for a child.
    rules.insert(
        libc::SYS_personality,
        vec![rule(vec![
            cond(0, Op::Ne, 0)?,
            cond(0, Op::Ne, 0xffff_ffff)?,
        ])?],
    );
    let ioctl: Result<Vec<_>, _> = DENIED_IOCTLS
        .iter()
        .map(|&r| rule(vec![cond(1, Op::Eq, r)?]))
        .collect();
    rules.insert(libc::SYS_ioctl, ioctl?);
    let mut socket = Vec::new();
    for family in DENIED_FAMILIES {
        socket.push(rule(vec![cond(0, Op::Eq, family)?])?);
    }
    // Netlink only for NETLINK_ROUTE: glibc's getaddrinfo and node's
    // os.networkInterfaces() read interface addresses through it.
    socket.push(rule(vec![
        cond(0, Op::Eq, libc::AF_NETLINK as u64)?,
        cond(2, Op::Ne, libc::NETLINK_ROUTE as u64)?,
    ])?);
    // Raw sockets of any family except netlink (whose sockets are SOCK_RAW
    // by convention; the rule above already narrows it to NETLINK_ROUTE).
    socket.push(rule(vec![
        cond(1, Op::MaskedEq(SOCK_TYPE_MASK), libc::SOCK_RAW as u64)?,
        cond(0, Op::Ne, libc::AF_NETLINK as u64)?,
    ])?);
    rules.insert(libc::SYS_socket, socket);
    for (_, nr, mode) in chmod_family() {
        let set_id: Result<Vec<_>, _> = [libc::S_ISUID as u64, libc::S_ISGID as u64]
            .iter()
            .map(|&bit| rule(vec![cond(mode, Op::MaskedEq(bit), bit)?]))
            .collect();
        rules.insert(nr, set_id?);
    }
    Ok(rules)
}

/// The strict profile's allow-list: what `node`, `python3`, `git`, `sh`,
/// `bash` and `true` call (measured with `strace -f`), plus close relatives
/// (the `*at` and vectored forms, networking, timers) that a server needs.
pub fn strict_allowed() -> Vec<i64> {
    let mut v = vec![
        // memory
        libc::SYS_brk,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mprotect,
        libc::SYS_mremap,
        libc::SYS_madvise,
        libc::SYS_msync,
        libc::SYS_mincore,
        libc::SYS_membarrier,
        libc::SYS_mlock,
        libc::SYS_munlock,
        libc::SYS_pkey_alloc,
        libc::SYS_pkey_free,
        libc::SYS_pkey_mprotect,
        libc::SYS_memfd_create,
        // files
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_openat,
        libc::SYS_close,
        libc::SYS_close_range,
        libc::SYS_lseek,
        libc::SYS_pread64,
        libc::SYS_pwrite64,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_preadv,
        libc::SYS_pwritev,
        libc::SYS_preadv2,
        libc::SYS_pwritev2,
        libc::SYS_fstat,
        libc::SYS_newfstatat,
        libc::SYS_statx,
        libc::SYS_statfs,
        libc::SYS_fstatfs,
        libc::SYS_getdents64,
        libc::SYS_readlinkat,
        libc::SYS_faccessat,
        libc::SYS_faccessat2,
        libc::SYS_fcntl,
        libc::SYS_flock,
        libc::SYS_fsync,
        libc::SYS_fdatasync,
        libc::SYS_ftruncate,
        libc::SYS_truncate,
        libc::SYS_fallocate,
        libc::SYS_fadvise64,
        libc::SYS_mkdirat,
        libc::SYS_unlinkat,
        libc::SYS_renameat,
        libc::SYS_renameat2,
        libc::SYS_linkat,
        libc::SYS_symlinkat,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        libc::SYS_utimensat,
        libc::SYS_umask,
        libc::SYS_chdir,
        libc::SYS_fchdir,
        libc::SYS_getcwd,
        libc::SYS_dup,
        libc::SYS_dup3,
        libc::SYS_pipe2,
        libc::SYS_ioctl,
        libc::SYS_copy_file_range,
        libc::SYS_sendfile,
        libc::SYS_splice,
        libc::SYS_tee,
        libc::SYS_getxattr,
        libc::SYS_lgetxattr,
        libc::SYS_fgetxattr,
        libc::SYS_listxattr,
        libc::SYS_flistxattr,
        libc::SYS_inotify_init1,
        libc::SYS_inotify_add_watch,
        libc::SYS_inotify_rm_watch,
        libc::SYS_sync_file_range,
        // events and waiting
        libc::SYS_ppoll,
        libc::SYS_pselect6,
        libc::SYS_epoll_create1,
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2,
        libc::SYS_eventfd2,
        libc::SYS_futex,
        libc::SYS_futex_waitv,
        libc::SYS_timerfd_create,
        libc::SYS_timerfd_settime,
        libc::SYS_timerfd_gettime,
        libc::SYS_signalfd4,
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
        libc::SYS_clock_gettime,
        libc::SYS_clock_getres,
        libc::SYS_gettimeofday,
        libc::SYS_sched_yield,
        libc::SYS_sched_getaffinity,
        libc::SYS_sched_setaffinity,
        libc::SYS_sched_getparam,
        libc::SYS_sched_getscheduler,
        libc::SYS_getitimer,
        libc::SYS_setitimer,
        // signals
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_rt_sigsuspend,
        libc::SYS_rt_sigtimedwait,
        libc::SYS_rt_sigqueueinfo,
        libc::SYS_sigaltstack,
        libc::SYS_kill,
        libc::SYS_tgkill,
        libc::SYS_tkill,
        // processes and threads
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_wait4,
        libc::SYS_waitid,
        libc::SYS_set_tid_address,
        libc::SYS_set_robust_list,
        libc::SYS_get_robust_list,
        libc::SYS_rseq,
        libc::SYS_prctl,
        libc::SYS_prlimit64,
        libc::SYS_getrlimit,
        libc::SYS_getrusage,
        libc::SYS_getpriority,
        libc::SYS_setpriority,
        libc::SYS_setsid,
        libc::SYS_setpgid,
        libc::SYS_getpgid,
        libc::SYS_getsid,
        libc::SYS_getpid,
        libc::SYS_getppid,
        libc::SYS_gettid,
        libc::SYS_personality,
        libc::SYS_capget,
        libc::SYS_pidfd_open,
        libc::SYS_pidfd_send_signal,
        // identity and system
        libc::SYS_getuid,
        libc::SYS_geteuid,
        libc::SYS_getgid,
        libc::SYS_getegid,
        libc::SYS_getresuid,
        libc::SYS_getresgid,
        libc::SYS_getgroups,
        libc::SYS_uname,
        libc::SYS_sysinfo,
        libc::SYS_getrandom,
        libc::SYS_times,
        libc::SYS_getcpu,
        // sockets (Landlock, the netns and filter 2 decide where they may go)
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        libc::SYS_getsockname,
        libc::SYS_getpeername,
        libc::SYS_getsockopt,
        libc::SYS_setsockopt,
        libc::SYS_sendto,
        libc::SYS_recvfrom,
        libc::SYS_sendmsg,
        libc::SYS_recvmsg,
        libc::SYS_sendmmsg,
        libc::SYS_recvmmsg,
        libc::SYS_shutdown,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_arch_prctl,
        libc::SYS_open,
        libc::SYS_creat,
        libc::SYS_stat,
        libc::SYS_lstat,
        libc::SYS_access,
        libc::SYS_readlink,
        libc::SYS_getdents,
        libc::SYS_mkdir,
        libc::SYS_rmdir,
        libc::SYS_unlink,
        libc::SYS_rename,
        libc::SYS_link,
        libc::SYS_symlink,
        libc::SYS_chmod,
        libc::SYS_utimes,
        libc::SYS_pipe,
        libc::SYS_dup2,
        libc::SYS_poll,
        libc::SYS_select,
        libc::SYS_epoll_create,
        libc::SYS_epoll_wait,
        libc::SYS_eventfd,
        libc::SYS_signalfd,
        libc::SYS_inotify_init,
        libc::SYS_fork,
        libc::SYS_vfork,
        libc::SYS_alarm,
        libc::SYS_time,
        libc::SYS_getpgrp,
        libc::SYS_getrlimit,
    ]);
    v.sort_unstable();
    v.dedup();
    v
}

fn compile_filter(
    name: &'static str,
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: SeccompAction,
    matched: SeccompAction,
) -> Result<Program, SeccompError> {
    let map = |source| SeccompError::Compile {
        filter: name,
        source,
    };
    let filter = SeccompFilter::new(rules, mismatch, matched, ARCH).map_err(map)?;
    let bpf: seccompiler::BpfProgram = filter.try_into().map_err(map)?;
    let code = bpf
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    Ok(Program { name, code })
}

/// Compiles the filters for `profile`, in install order.
pub fn compile(profile: Profile) -> Result<Vec<Program>, SeccompError> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    out.push(x32_filter());
    let deny = deny_rules().map_err(|source| SeccompError::Compile {
        filter: "deny",
        source,
    })?;
    out.push(compile_filter(
        "deny",
        deny,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
    )?);
    out.push(compile_filter(
        "clone3",
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
    )?);
    if profile == Profile::Strict {
        let allow = strict_allowed()
            .into_iter()
            .map(|nr| (nr, Vec::new()))
            .collect();
        out.push(compile_filter(
            "strict",
            allow,
            SeccompAction::Errno(libc::EPERM as u32),
            SeccompAction::Allow,
        )?);
    }
    Ok(out)
}

/// Kills x32-ABI syscalls on x86_64: they share AUDIT_ARCH_X86_64 but carry
/// `__X32_SYSCALL_BIT` in the number, so a deny-list keyed on numbers misses them.
#[cfg(target_arch = "x86_64")]
fn x32_filter() -> Program {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const NR_OFFSET: u32 = 0; // offsetof(struct seccomp_data, nr)
    const ARCH_OFFSET: u32 = 4; // offsetof(struct seccomp_data, arch)
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let jge = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    Program {
        name: "x32",
        code: vec![
            ins(ld, 0, 0, ARCH_OFFSET),
            ins(jeq, 0, 2, AUDIT_ARCH_X86_64), // other arch: allow here, filter 2 kills it
            ins(ld, 0, 0, NR_OFFSET),
            ins(jge, 1, 0, X32_SYSCALL_BIT),
            ins(ret, 0, 0, libc::SECCOMP_RET_ALLOW),
            ins(ret, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ],
    }
}

/// Installs one prepared program on the calling thread. Requires
/// `no_new_privs` (or `CAP_SYS_ADMIN`). Async-signal-safe.
pub fn install(prog: &libc::sock_fprog) -> std::io::Result<()> {
    // SAFETY: prog points to a filter that outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            prog as *const libc::sock_fprog,
            0,
            0,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_list_covers_escape_syscalls() {
        let rules = deny_rules().expect("rules");
        for nr in [
            libc::SYS_ptrace,
            libc::SYS_mount,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_bpf,
            libc::SYS_keyctl,
            libc::SYS_io_uring_setup,
            libc::SYS_process_vm_readv,
        ] {
            assert!(
                rules.get(&nr).is_some_and(Vec::is_empty),
                "syscall {nr} unconditionally denied"
            );
        }
        assert_eq!(rules.get(&libc::SYS_clone).map(Vec::len), Some(7));
        assert_eq!(rules.get(&libc::SYS_ioctl).map(Vec::len), Some(2));
        assert!(!rules.contains_key(&libc::SYS_read));
    }

    #[test]
    fn strict_profile_adds_an_allow_list_filter() {
        let default: Vec<_> = compile(Profile::DenyList)
            .expect("compile")
            .iter()
            .map(|p| p.name)
            .collect();
        let strict: Vec<_> = compile(Profile::Strict)
            .expect("compile")
            .iter()
            .map(|p| p.name)
            .collect();
        assert!(!default.contains(&"strict"));
        assert_eq!(strict.last(), Some(&"strict"));
        assert!(strict.contains(&"deny"));
        assert!(strict_allowed().contains(&libc::SYS_execve));
        assert!(!strict_allowed().contains(&libc::SYS_ptrace));
        assert!(!strict_allowed().contains(&libc::SYS_mount));
    }

    #[test]
    fn strict_allow_list_never_contains_denied_syscalls() {
        let allowed = strict_allowed();
        for (name, nr) in always_denied() {
            assert!(!allowed.contains(&nr), "{name} is in the strict allow-list");
        }
    }
}
