//! Namespaces: the server gets its own network (for `net = none`), PID and
//! mount namespaces, and, when vanguard is not root, a user namespace that
//! makes the others possible.
//!
//! [`decide`] is the pure choice; [`UserMaps`] and [`Loopback`] are prepared in
//! the parent; the child calls [`enter_user_namespace`], [`unshare`],
//! [`Loopback::bring_up`] and, inside the new PID namespace,
//! [`mount_private_proc`].
//!
//! Why a PID + mount namespace: the server's init (the sandbox's own tiny
//! reaper, PID 1) dying makes the kernel kill every process in the namespace,
//! so no grandchild outlives vanguard; and a fresh `/proc` mounted there shows
//! only the sandbox's own processes, which is what makes granting Landlock read
//! on `/proc` safe (no other process's `cmdline`, `environ` or `fd`).

use std::ffi::CString;

/// Which namespaces to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Namespaces {
    /// A user namespace (only when not root: root creates the others directly).
    pub user: bool,
    /// A network namespace with only loopback.
    pub net: bool,
    /// PID + mount namespaces with a private `/proc`.
    pub pid: bool,
}

impl Namespaces {
    /// `unshare(2)` flags for everything except the user namespace.
    /// CLONE_NEWNET: own network stack. CLONE_NEWPID: children start a new PID
    /// namespace. CLONE_NEWNS: own mount table (for the private `/proc`).
    /// CLONE_NEWIPC: own SysV IPC and POSIX message queues.
    pub fn unshare_flags(&self) -> libc::c_int {
        let mut flags = 0;
        if self.net {
            flags |= libc::CLONE_NEWNET;
        }
        if self.pid {
            flags |= libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC;
        }
        flags
    }
}

/// Chooses namespaces: network only when the plan has no network; PID/mount
/// always (orphan safety, private `/proc`); user when not root.
/// `possible` is whether the kernel lets us (root, or user namespaces allowed).
pub fn decide(want_net_isolation: bool, root: bool, possible: bool) -> Namespaces {
    if !possible {
        return Namespaces::default();
    }
    Namespaces {
        user: !root,
        net: want_net_isolation,
        pid: true,
    }
}

/// The uid/gid maps written after `unshare(CLONE_NEWUSER)`: the caller's own
/// ids map to themselves, so files keep their owners.
#[derive(Debug)]
pub struct UserMaps {
    uid_map: CString,
    gid_map: CString,
}

impl UserMaps {
    pub fn for_current() -> UserMaps {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        // Formatting cannot produce an interior NUL.
        UserMaps {
            uid_map: CString::new(format!("{uid} {uid} 1\n")).unwrap_or_default(),
            gid_map: CString::new(format!("{gid} {gid} 1\n")).unwrap_or_default(),
        }
    }
}

fn write_file(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: path is NUL-terminated; data is a valid slice.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n < 0 {
            return Err(err);
        }
    }
    Ok(())
}

/// Creates a user namespace and maps the caller's ids. Async-signal-safe.
pub fn enter_user_namespace(maps: &UserMaps) -> std::io::Result<()> {
    unshare(libc::CLONE_NEWUSER)?;
    // setgroups must be denied before an unprivileged gid_map write.
    write_file(c"/proc/self/setgroups", b"deny")?;
    write_file(c"/proc/self/uid_map", maps.uid_map.as_bytes())?;
    write_file(c"/proc/self/gid_map", maps.gid_map.as_bytes())?;
    Ok(())
}

/// `unshare(2)`. Async-signal-safe.
pub fn unshare(flags: libc::c_int) -> std::io::Result<()> {
    // SAFETY: integer argument.
    if unsafe { libc::unshare(flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The `ifreq` for `lo`, prepared in the parent.
#[derive(Clone, Copy)]
pub struct Loopback {
    req: libc::ifreq,
}

// SAFETY: the ifreq only holds the name "lo" and flags; its union's pointer
// member is never set or dereferenced.
unsafe impl Send for Loopback {}
// SAFETY: as above; the value is only copied.
unsafe impl Sync for Loopback {}

impl std::fmt::Debug for Loopback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loopback(lo)")
    }
}

impl Default for Loopback {
    fn default() -> Self {
        // SAFETY: ifreq is plain old data; all-zero is valid.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        Loopback { req }
    }
}

impl Loopback {
    /// Sets IFF_UP on `lo` in the current (new) network namespace, so the
    /// server can still talk to itself over 127.0.0.1. Async-signal-safe.
    pub fn bring_up(&self) -> std::io::Result<()> {
        let mut req = self.req;
        // SAFETY: socket/ioctl/close on a local fd with a valid ifreq.
        unsafe {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if sock < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) < 0 {
                let err = std::io::Error::last_os_error();
                libc::close(sock);
                return Err(err);
            }
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            let rc = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
            let err = std::io::Error::last_os_error();
            libc::close(sock);
            if rc < 0 {
                return Err(err);
            }
        }
        Ok(())
    }
}

/// Makes every mount private (nothing propagates back to the host) and mounts
/// a fresh procfs on `/proc` for the current PID namespace. Must run in the
/// new namespace's PID 1 (or a descendant). Async-signal-safe.
pub fn mount_private_proc() -> std::io::Result<()> {
    // SAFETY: static C strings and null data pointers.
    unsafe {
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) < 0
        {
            return Err(std::io::Error::last_os_error());
        }
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) < 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_gets_no_user_namespace() {
        let ns = decide(true, true, true);
        assert!(!ns.user && ns.net && ns.pid);
        let flags = ns.unshare_flags();
        assert_ne!(flags & libc::CLONE_NEWNET, 0);
        assert_ne!(flags & libc::CLONE_NEWPID, 0);
        assert_eq!(flags & libc::CLONE_NEWUSER, 0);
    }

    #[test]
    fn unprivileged_gets_user_namespace_and_host_net_keeps_network() {
        let ns = decide(false, false, true);
        assert!(ns.user && !ns.net && ns.pid);
        assert_eq!(ns.unshare_flags() & libc::CLONE_NEWNET, 0);
    }

    #[test]
    fn nothing_when_impossible() {
        assert_eq!(decide(true, false, false), Namespaces::default());
    }
}
