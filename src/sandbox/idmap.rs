//! Never uid 0 with host ownership: when vanguard runs as root, the server
//! runs as `nobody` (65534), and each tree of the minimal root is bound
//! through an idmapped mount that swaps the tree's owner with 65534. The
//! server then owns exactly the files its zones' owner owns there (it can
//! write its write zones), while every other file — root's anywhere else,
//! and whatever really belongs to `nobody`, which appears as the owner —
//! is protected by ordinary permissions, whatever Landlock covers.
//!
//! An idmapped mount takes a user namespace whose mapping is applied to the
//! ids stored on disk. [`userns_for`] makes one per owner (a child born in
//! a new user namespace, sharing vanguard's memory; the parent writes its
//! maps and keeps `/proc/PID/ns/user` open), cached for the process's life. Everything else is mapped to
//! itself, so no file appears as an unmapped (overflow) id.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

/// The id the server runs as when vanguard is root.
pub const NOBODY: u32 = 65534;

/// `MOUNT_ATTR_IDMAP` (linux/mount.h).
pub const ATTR_IDMAP: u64 = 0x0010_0000;

/// The `uid_map`/`gid_map` text that swaps `owner` and [`NOBODY`] and maps
/// every other id to itself.
pub fn swap_map(owner: u32) -> String {
    if owner == NOBODY {
        return "0 0 4294967295\n".into();
    }
    let (lo, hi) = (owner.min(NOBODY), owner.max(NOBODY));
    let mut s = String::new();
    if lo > 0 {
        s.push_str(&format!("0 0 {lo}\n"));
    }
    // lo ↔ hi
    s.push_str(&format!("{lo} {hi} 1\n"));
    if hi - lo > 1 {
        s.push_str(&format!("{} {} {}\n", lo + 1, lo + 1, hi - lo - 1));
    }
    s.push_str(&format!("{hi} {lo} 1\n"));
    if hi < u32::MAX - 1 {
        s.push_str(&format!("{} {} {}\n", hi + 1, hi + 1, u32::MAX - 1 - hi));
    }
    s
}

type Cache = Mutex<HashMap<(u32, u32), Arc<OwnedFd>>>;

/// A user namespace (open fd) whose maps swap (`uid`, `gid`) with
/// [`NOBODY`]; made once per pair.
pub fn userns_for(uid: u32, gid: u32) -> std::io::Result<Arc<OwnedFd>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(fd) = map.get(&(uid, gid)) {
        return Ok(fd.clone());
    }
    let fd = Arc::new(make_userns(&swap_map(uid), &swap_map(gid))?);
    map.insert((uid, gid), fd.clone());
    Ok(fd)
}

fn make_userns(uid_map: &str, gid_map: &str) -> std::io::Result<OwnedFd> {
    let (hold_r, hold_w) = std::io::pipe()?;
    let fds = [hold_r.as_raw_fd(), hold_w.as_raw_fd()];
    // SAFETY: the entry keeps vm_child's rules (two calls that cannot fail,
    // on `fds`, which outlives the child: it is reaped below).
    let child = unsafe {
        super::vm_child::spawn(
            libc::CLONE_NEWUSER,
            hold_userns,
            fds.as_ptr() as *mut std::ffi::c_void,
        )
    }
    .map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create a user namespace for an idmapped mount: {e}"),
        )
    })?;
    let pid = child.pid();
    let result = (|| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/{pid}/uid_map"))?
            .write_all(uid_map.as_bytes())?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/{pid}/gid_map"))?
            .write_all(gid_map.as_bytes())?;
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/user"))?;
        Ok(OwnedFd::from(ns))
    })();
    // End of file for the child, which then exits.
    drop(hold_w);
    let _ = child.wait();
    drop(hold_r);
    result
}

/// Born in the new user namespace (CLONE_NEWUSER), the child only keeps it
/// alive until the parent has written its maps and opened it: it waits for
/// end of file on the pipe (vm_child's rules; `arg`: [read end, write end]).
extern "C" fn hold_userns(arg: *mut std::ffi::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's fd pair, alive until this child is
    // reaped. The child has its own copy of the fd table: closing its copy
    // of the write end leaves the parent's as the only one. Neither call
    // can fail on these fds (signals are blocked, so no EINTR).
    unsafe {
        let fds = &*(arg as *const [libc::c_int; 2]);
        libc::close(fds[1]);
        let mut b = 0u8;
        libc::read(fds[0], (&mut b as *mut u8).cast(), 1);
    }
    0
}

/// True when `path`'s tree can be bound idmapped through `userns` (its
/// filesystem supports it): tried on a detached copy, which is then
/// discarded. Results are cached per filesystem (device), the property
/// idmapping depends on; a submount that differs fails the build loudly.
/// `dev`: the device `path` is on (`st_dev`).
pub fn supports_idmap(path: &std::ffi::CStr, dev: u64, userns: &OwnedFd) -> bool {
    static SEEN: OnceLock<Mutex<HashMap<u64, bool>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    let key = dev;
    if let Some(ok) = seen.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return *ok;
    }
    // SAFETY: clone_tree takes a valid C string and an fd we own; the copy
    // is detached and closed here, never attached anywhere.
    let ok = match unsafe { super::root::clone_tree(path, 0, userns.as_raw_fd()) } {
        Ok(fd) => {
            // SAFETY: fd was just returned to us open.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
            true
        }
        Err(_) => false,
    };
    seen.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, ok);
    ok
}

/// Becomes [`NOBODY`] (no supplementary groups). Async-signal-safe; needs
/// CAP_SETUID and CAP_SETGID, so it runs before the last capabilities go.
pub fn become_nobody() -> std::io::Result<()> {
    // SAFETY: integer arguments.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) < 0
            || libc::setresgid(NOBODY, NOBODY, NOBODY) < 0
            || libc::setresuid(NOBODY, NOBODY, NOBODY) < 0
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
    fn maps_swap_the_owner_with_nobody_and_keep_the_rest() {
        assert_eq!(
            swap_map(0),
            "0 65534 1\n1 1 65533\n65534 0 1\n65535 65535 4294901760\n"
        );
        assert_eq!(
            swap_map(1000),
            "0 0 1000\n1000 65534 1\n1001 1001 64533\n65534 1000 1\n65535 65535 4294901760\n"
        );
        assert_eq!(swap_map(NOBODY), "0 0 4294967295\n");
        // Every id below 2^32-1 is covered exactly once on both sides.
        for owner in [0u32, 1, 1000, 65533, 65535, 100000] {
            let mut inside = 0u64;
            for line in swap_map(owner).lines() {
                let n: Vec<u64> = line
                    .split(' ')
                    .map(|x| x.parse().expect("number"))
                    .collect();
                assert_eq!(n.len(), 3);
                inside += n.get(2).copied().unwrap_or(0);
            }
            assert_eq!(inside, u64::from(u32::MAX), "{owner}");
        }
    }

    #[test]
    fn an_idmapped_userns_is_made_once_when_root() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let a = userns_for(0, 0).expect("userns");
        let b = userns_for(0, 0).expect("userns");
        assert!(Arc::ptr_eq(&a, &b));
        use std::os::unix::fs::MetadataExt;
        if let Ok(usr) = std::fs::metadata("/usr") {
            assert!(supports_idmap(c"/usr", usr.dev(), &a));
        }
    }
}
