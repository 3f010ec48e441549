//! What the running kernel supports, asked once before a plan is enforced.
//!
//! `Plan::build` and `spawn` read a [`KernelSupport`] to decide which layers can
//! be applied; `vanguard doctor --json` serialises the same struct. Every probe
//! is a read-only query (a syscall with a version flag, a `/proc` file, or a
//! trial in a throwaway child), so probing never changes the calling process.
//!
//! Two parts cost more than all the rest together and are asked only when
//! the plan can use them ([`Scope`]): the namespace and minimal-root trials
//! (children that create namespaces, whose teardown is most of the CPU of
//! a short sandboxed command) and the mount table for the cgroup hierarchy.
//! Nothing is cached across processes: a kernel setting changed since the
//! last run must never leave a plan weaker than the kernel allows, or
//! stronger than it can apply.

use serde::Serialize;
use std::path::PathBuf;

/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version instead of a ruleset.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;
/// `LANDLOCK_CREATE_RULESET_ERRATA`: ask for the bitmask of fixed errata (ABI >= 7).
const LANDLOCK_CREATE_RULESET_ERRATA: libc::c_uint = 1 << 1;

/// The kernel features the sandbox can use, as seen by this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelSupport {
    /// Landlock ABI version; 0 when Landlock is absent or disabled at boot.
    pub landlock_abi: i32,
    /// Bitmask of Landlock errata fixed by this kernel (queried only on ABI >= 7).
    pub landlock_errata: Option<u64>,
    /// Whether `seccomp(2)` filters can be installed.
    pub seccomp: bool,
    /// Seccomp return actions the kernel knows (`/proc/sys/kernel/seccomp/actions_avail`).
    pub seccomp_actions: Vec<String>,
    /// Whether a new user namespace can be created by this process.
    pub user_namespaces: bool,
    /// Why user namespaces are unavailable, when they are.
    pub user_namespaces_reason: Option<String>,
    /// Mount point of the cgroup v2 hierarchy, if one is mounted.
    pub cgroup2_mount: Option<PathBuf>,
    /// Controllers enabled for children of the cgroup v2 root (`cgroup.subtree_control`).
    pub cgroup2_controllers: Vec<String>,
    /// Whether this process can create cgroups under the cgroup v2 root.
    pub cgroup2_writable: bool,
    /// Effective uid 0 with CAP_SYS_ADMIN (root can create namespaces
    /// without a user namespace). Uid 0 without it — a container's root
    /// under the runtime's default capabilities — counts as unprivileged:
    /// it needs a user namespace like any other user.
    pub root: bool,
    /// Highest capability number (`/proc/sys/kernel/cap_last_cap`).
    pub cap_last_cap: u32,
    /// Whether a minimal root can be built: a private mount namespace where
    /// a tmpfs can be mounted and trees bound with `open_tree` and
    /// `mount_setattr` (Linux 5.12+), tried once in a throwaway child.
    pub mounts: bool,
    /// Why not, when `mounts` is false.
    pub mounts_reason: Option<String>,
    /// Whether a fresh procfs can be mounted for a new PID namespace (false
    /// when a container runtime masks parts of `/proc`: the kernel then
    /// refuses every new procfs, so no PID namespace is used either).
    pub fresh_proc: bool,
}

impl KernelSupport {
    /// Whether seccomp knows the given action name (e.g. `"user_notif"`).
    pub fn seccomp_action(&self, name: &str) -> bool {
        self.seccomp_actions.iter().any(|a| a == name)
    }

    /// Whether new namespaces (net, pid, mount) can be created: as root
    /// directly, otherwise inside a fresh user namespace.
    pub fn namespaces(&self) -> bool {
        self.root || self.user_namespaces
    }

    /// Whether a cgroup with `memory.max` / `pids.max` can be created.
    pub fn cgroup_limits(&self) -> bool {
        self.cgroup2_writable
            && self.cgroup2_controllers.iter().any(|c| c == "memory")
            && self.cgroup2_controllers.iter().any(|c| c == "pids")
    }
}

/// Which of the costly parts of the probe a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// User namespaces and the minimal root, tried in throwaway children.
    /// Without it both read as unavailable ("not probed"): only for a plan
    /// that applies no namespace (`--sandbox off`).
    pub namespaces: bool,
    /// The cgroup v2 hierarchy, found in `/proc/self/mountinfo`. Without it
    /// no cgroup reads as available: only for a plan without cgroup limits.
    pub cgroup: bool,
}

impl Scope {
    /// Everything (`vanguard doctor`).
    pub const ALL: Scope = Scope {
        namespaces: true,
        cgroup: true,
    };
}

/// Why a part of the probe reads as unavailable when its [`Scope`] left it out.
const NOT_PROBED: &str = "not probed (the plan uses no namespaces)";

/// Probes everything of the running kernel. Safe to call from any thread.
pub fn probe() -> KernelSupport {
    probe_scope(Scope::ALL)
}

/// Probes the running kernel, the costly parts only as far as `scope` asks.
pub fn probe_scope(scope: Scope) -> KernelSupport {
    let landlock_abi = landlock_abi();
    let landlock_errata = (landlock_abi >= 7).then(landlock_errata).flatten();
    let actions_avail = read_trimmed("/proc/sys/kernel/seccomp/actions_avail");
    let seccomp = seccomp_available(actions_avail.is_some());
    let seccomp_actions: Vec<String> = actions_avail
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let root = privileged_root();
    let (user_namespaces, user_namespaces_reason) = if scope.namespaces {
        user_namespaces(root)
    } else {
        (false, Some(NOT_PROBED.into()))
    };
    let cgroup2_mount = if scope.cgroup { cgroup2_mount() } else { None };
    let cgroup2_controllers = cgroup2_mount
        .as_ref()
        .and_then(|m| read_trimmed(m.join("cgroup.subtree_control")))
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let cgroup2_writable = cgroup2_mount
        .as_ref()
        .is_some_and(|m| nix::unistd::access(m, nix::unistd::AccessFlags::W_OK).is_ok());
    let cap_last_cap = read_trimmed("/proc/sys/kernel/cap_last_cap")
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let (mounts, mounts_reason, fresh_proc) = if !scope.namespaces {
        (false, Some(NOT_PROBED.into()), true)
    } else if root || user_namespaces {
        mounts_probe(root)
    } else {
        (false, Some("no namespaces".into()), true)
    };
    KernelSupport {
        landlock_abi,
        landlock_errata,
        seccomp,
        seccomp_actions,
        user_namespaces,
        user_namespaces_reason,
        cgroup2_mount,
        cgroup2_controllers,
        cgroup2_writable,
        root,
        cap_last_cap,
        mounts,
        mounts_reason,
        fresh_proc,
    }
}

/// Effective uid 0 holding CAP_SYS_ADMIN (`CapEff` in /proc/self/status).
pub fn privileged_root() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    if !nix::unistd::geteuid().is_root() {
        return false;
    }
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        // Unreadable: assume the capabilities root usually has.
        .is_none_or(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// Tries, once per process, what a minimal root needs: in a forked child,
/// a new mount namespace (inside a user namespace when not root), a tmpfs,
/// and `open_tree`/`mount_setattr` on a bind of it. The host is untouched.
/// (mounts, why not, fresh procfs possible).
type MountsProbe = (bool, Option<String>, bool);

fn mounts_probe(root: bool) -> MountsProbe {
    static RESULT: std::sync::OnceLock<MountsProbe> = std::sync::OnceLock::new();
    RESULT.get_or_init(|| mounts_probe_uncached(root)).clone()
}

fn mounts_probe_uncached(root: bool) -> MountsProbe {
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let uid_map = format!("{uid} {uid} 1\n");
    let gid_map = format!("{gid} {gid} 1\n");
    let Ok(init_stack) = super::vm_child::Stack::new() else {
        return (false, Some("cannot map a stack for the probe".into()), true);
    };
    let args = MountsProbeArgs {
        root,
        uid_map: uid_map.as_bytes(),
        gid_map: gid_map.as_bytes(),
        init_stack: &init_stack,
    };
    // SAFETY: the entry keeps vm_child's rules (raw syscalls on `args`,
    // which outlives the child: CLONE_VFORK returns once it is gone).
    let child = unsafe {
        super::vm_child::spawn(
            libc::CLONE_VFORK,
            mounts_probe_child,
            &args as *const MountsProbeArgs as *mut std::ffi::c_void,
        )
    };
    let status = match child.and_then(|c| c.wait()) {
        Ok(status) => status,
        Err(e) => return (false, Some(format!("cannot start the probe: {e}")), true),
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let why = match code {
        0 => return (true, None, true),
        10 | 11 => "cannot create a user namespace",
        12 | 13 => "cannot create a private mount namespace",
        14 => "cannot mount a tmpfs",
        15 => "the kernel lacks open_tree/mount_setattr (Linux 5.12+)",
        16 => "cannot create a PID namespace for the minimal root",
        17 => "cannot mount a fresh /proc: the container runtime masks parts of /proc (podman: --security-opt unmask=ALL; docker: --security-opt systempaths=unconfined; Kubernetes: procMount: Unmasked)",
        _ => "the probe failed",
    };
    (false, Some(why.into()), code != 17)
}

/// What the mounts probe's child needs, prepared before the clone.
struct MountsProbeArgs<'a> {
    root: bool,
    uid_map: &'a [u8],
    gid_map: &'a [u8],
    /// For the probe's own child, PID 1 of its new PID namespace.
    init_stack: &'a super::vm_child::Stack,
}

/// The mounts probe, in a child sharing vanguard's memory (vm_child's
/// rules): exits 0 when everything worked, else the number of the failed
/// step. It changes nothing outside its own namespaces.
extern "C" fn mounts_probe_child(arg: *mut std::ffi::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's MountsProbeArgs, alive until this child
    // is gone; every path is a NUL-terminated literal; only raw syscalls.
    unsafe {
        let a = &*(arg as *const MountsProbeArgs);
        let step = |n: i32, ok: bool| {
            if !ok {
                libc::_exit(n);
            }
        };
        if !a.root {
            step(10, libc::unshare(libc::CLONE_NEWUSER) == 0);
            for (path, data) in [
                (c"/proc/self/setgroups", "deny".as_bytes()),
                (c"/proc/self/uid_map", a.uid_map),
                (c"/proc/self/gid_map", a.gid_map),
            ] {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                step(
                    11,
                    fd >= 0 && libc::write(fd, data.as_ptr().cast(), data.len()) >= 0,
                );
                libc::close(fd);
            }
        }
        step(12, libc::unshare(libc::CLONE_NEWNS) == 0);
        step(
            13,
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) == 0,
        );
        step(
            14,
            libc::mount(
                c"tmpfs".as_ptr(),
                c"/tmp".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            ) == 0,
        );
        // What the minimal root does with each tree.
        step(
            15,
            super::root::clone_tree(c"/tmp", super::root::ATTR_RDONLY, -1).is_ok(),
        );
        // A fresh procfs for a new PID namespace, as the minimal root
        // mounts it. A container runtime that masks parts of /proc
        // (Docker's and Podman's defaults) makes the kernel refuse it.
        step(16, libc::unshare(libc::CLONE_NEWPID) == 0);
        let init = super::vm_child::clone_blocked(
            a.init_stack,
            libc::CLONE_VFORK,
            mounts_probe_init,
            std::ptr::null_mut(),
        );
        let Ok(init) = init else {
            libc::_exit(16);
        };
        let mut status = 0;
        libc::waitpid(init, &mut status, 0);
        step(
            17,
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        );
        0
    }
}

/// PID 1 of the probe's PID namespace: mounts a fresh procfs.
extern "C" fn mounts_probe_init(_: *mut std::ffi::c_void) -> libc::c_int {
    // SAFETY: raw syscalls on NUL-terminated literals.
    unsafe {
        if libc::mkdir(c"/tmp/proc".as_ptr(), 0o755) != 0 {
            return 17;
        }
        let rc = libc::mount(
            c"proc".as_ptr(),
            c"/tmp/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        );
        if rc == 0 {
            0
        } else {
            17
        }
    }
}

fn landlock_abi() -> i32 {
    // SAFETY: a NULL attribute with size 0 and the VERSION flag only queries.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        0
    } else {
        v as i32
    }
}

fn landlock_errata() -> Option<u64> {
    // SAFETY: as above, the ERRATA flag only queries.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_ERRATA,
        )
    };
    (v >= 0).then_some(v as u64)
}

/// `actions_avail`: whether `/proc/sys/kernel/seccomp/actions_avail` could be read.
fn seccomp_available(actions_avail: bool) -> bool {
    // PR_GET_SECCOMP returns the current mode (0, 1 or 2) where seccomp is built in,
    // and EINVAL where it is not.
    // SAFETY: a query without pointers.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode >= 0 && actions_avail
}

/// `root`: [`privileged_root`], read once by the caller.
fn user_namespaces(root: bool) -> (bool, Option<String>) {
    if let Some(max) = read_trimmed("/proc/sys/user/max_user_namespaces") {
        if max == "0" {
            return (false, Some("user.max_user_namespaces is 0".into()));
        }
    }
    if !root {
        if let Some(v) = read_trimmed("/proc/sys/kernel/unprivileged_userns_clone") {
            if v == "0" {
                return (false, Some("kernel.unprivileged_userns_clone is 0".into()));
            }
        }
        if let Some(v) = read_trimmed("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") {
            if v == "1" {
                return (
                    false,
                    Some("kernel.apparmor_restrict_unprivileged_userns is 1".into()),
                );
            }
        }
        // The knobs allow it; a seccomp filter may still refuse the call
        // (Docker's default profile does without CAP_SYS_ADMIN): try it.
        return userns_trial();
    }
    (true, None)
}

/// `unshare(CLONE_NEWUSER)` in a throwaway child, once per process.
fn userns_trial() -> (bool, Option<String>) {
    static RESULT: std::sync::OnceLock<(bool, Option<String>)> = std::sync::OnceLock::new();
    RESULT
        .get_or_init(|| {
            // SAFETY: the entry makes one raw syscall; CLONE_VFORK returns
            // once the child is gone.
            let child = unsafe {
                super::vm_child::spawn(libc::CLONE_VFORK, userns_trial_child, std::ptr::null_mut())
            };
            let status = match child.and_then(|c| c.wait()) {
                Ok(status) => status,
                Err(e) => return (false, Some(format!("cannot start the user namespace probe: {e}"))),
            };
            if !libc::WIFEXITED(status) {
                return (false, Some("the user namespace probe died".into()));
            }
            match libc::WEXITSTATUS(status) {
                0 => (true, None),
                errno => (
                    false,
                    Some(format!(
                        "unshare(CLONE_NEWUSER) is refused ({}): a seccomp filter or policy of the container runtime (Docker's default profile refuses it without CAP_SYS_ADMIN; see docs/CONTAINER.md)",
                        std::io::Error::from_raw_os_error(errno)
                    )),
                ),
            }
        })
        .clone()
}

/// `unshare(CLONE_NEWUSER)`; exits 0 or with the errno (vm_child's rules).
extern "C" fn userns_trial_child(_: *mut std::ffi::c_void) -> libc::c_int {
    // SAFETY: one raw syscall; errno is read in this child, whose parent
    // thread is suspended (CLONE_VFORK).
    unsafe {
        if libc::unshare(libc::CLONE_NEWUSER) == 0 {
            0
        } else {
            (*libc::__errno_location()).clamp(1, 255)
        }
    }
}

/// Finds the cgroup2 mount in `/proc/self/mountinfo` (field 9 is the fs type
/// after the `-` separator, field 5 the mount point).
fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    cgroup2_mount_in(&info)
}

fn cgroup2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        if fstype != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

fn read_trimmed(path: impl AsRef<std::path::Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup2_mount_point() {
        let info = "25 30 0:22 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                    26 30 0:23 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount_in(info),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount_in("1 2 0:1 / / rw - ext4 /dev/sda rw\n"),
            None
        );
    }

    #[test]
    fn a_narrow_scope_reports_what_it_left_out_as_unavailable() {
        let s = probe_scope(Scope {
            namespaces: false,
            cgroup: false,
        });
        assert!(!s.user_namespaces && !s.mounts && !s.cgroup_limits());
        assert_eq!(s.mounts_reason.as_deref(), Some(NOT_PROBED));
        assert_eq!(s.user_namespaces_reason.as_deref(), Some(NOT_PROBED));
        assert_eq!(s.cgroup2_mount, None);
        // The cheap parts are the same as a full probe's.
        let all = probe();
        assert_eq!(
            (s.landlock_abi, s.seccomp, s.root, s.cap_last_cap),
            (all.landlock_abi, all.seccomp, all.root, all.cap_last_cap)
        );
        assert_eq!(s.seccomp_actions, all.seccomp_actions);
    }

    #[test]
    fn probe_serialises() {
        let support = probe();
        let json = serde_json::to_string(&support).expect("serialise");
        assert!(json.contains("landlock_abi"));
    }
}
