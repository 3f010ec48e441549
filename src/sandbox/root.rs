//! The minimal root: the server's filesystem is an empty tmpfs holding only
//! what the plan grants, bound from the host — never the host's own root.
//!
//! ```text
//! /            tmpfs, read-only once built (nothing of the host's)
//! ├─ usr, lib…  read-only binds of the runtime baseline   nosuid,nodev
//! ├─ <read>     read zones: read-only binds               nosuid,nodev
//! ├─ <write>    write zones: read-write binds             nosuid,nodev,noexec
//! │   └─ .git/config, .vscode, …  protected: read-only binds on top
//! ├─ tmp        private empty tmpfs; the private temp dir at its own path
//! ├─ dev        tmpfs with null, zero, full, random, urandom bound in
//! ├─ dev/shm, run   private tmpfs
//! └─ proc       procfs of the sandbox's own PID namespace
//! ```
//!
//! Everything else — other users' files, `/home`, vanguard's state, host
//! unix sockets (`docker.sock`, the D-Bus bus, ssh and gpg agents, X11) — does
//! not exist for the server, so no syscall Landlock leaves unmediated
//! (`chmod`, `utime`, `setxattr`, `stat`, `inotify`, `connect` on a pathname
//! socket) can reach it. Landlock stays on as the second layer, seccomp as
//! the third.
//!
//! [`RootPlan::new`] computes every path in the parent (pure, unit-tested);
//! [`RootPlan::build`] runs in the sandbox's init (PID 1 of the new PID
//! namespace, inside its own mount namespace) with raw syscalls only, then
//! `pivot_root`s into it. Binds use `open_tree` + `mount_setattr` +
//! `move_mount`, so read-only and the other attributes apply to every
//! submount of a bound tree.

use super::baseline::Access;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// One step of building the root, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `mkdir` (mode 0755) of a directory inside the new root.
    Mkdir(CString),
    /// An empty file to bind a file onto.
    File(CString),
    /// A symbolic link: (target, at).
    Symlink(CString, CString),
    /// A bind of a host tree (source, target inside the new root, attributes).
    Bind(CString, CString, u64),
    /// A tmpfs (target, mount flags, options).
    Tmpfs(CString, libc::c_ulong, CString),
}

/// `MOUNT_ATTR_*` (linux/mount.h).
pub const ATTR_RDONLY: u64 = 0x0000_0001;
pub const ATTR_NOSUID: u64 = 0x0000_0002;
pub const ATTR_NODEV: u64 = 0x0000_0004;
pub const ATTR_NOEXEC: u64 = 0x0000_0008;

/// Device nodes bound into the private `/dev`.
const DEVICES: &[&str] = &["null", "zero", "random", "urandom"];

/// What the new root holds, with the reason for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub path: PathBuf,
    pub what: &'static str,
    /// A tree of the host's bound in (not one of the private tmpfs or proc).
    pub host: bool,
}

/// The plan of the minimal root, made in the parent.
#[derive(Debug, Clone)]
pub struct RootPlan {
    /// The empty directory the tmpfs root is mounted on (host path).
    staging: CString,
    /// `<staging>/.old`: where the host's root goes during `pivot_root`.
    old: CString,
    /// `<staging>/proc`.
    proc: CString,
    ops: Vec<Op>,
    /// The working directory inside.
    cwd: CString,
    /// What is mounted where, for `explain`.
    pub mounts: Vec<Mount>,
    /// Per bind, in order: the user namespace its copy is idmapped with
    /// (raw fd, -1 for none); the fds are kept open by `idmaps`.
    userns: Vec<libc::c_int>,
    idmaps: Vec<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// The server runs as `nobody` (vanguard is root and every tree could
    /// be idmapped).
    pub nobody: bool,
}

/// What [`RootPlan::new`] builds from.
#[derive(Debug, Clone, Copy)]
pub struct RootInput<'a> {
    /// The empty host directory the root is assembled on.
    pub staging: &'a Path,
    pub read: &'a [PathBuf],
    pub write: &'a [PathBuf],
    /// The runtime baseline: path and access.
    pub baseline: &'a [(PathBuf, Access)],
    /// Paths inside write zones made read-only.
    pub protected: &'a [PathBuf],
    /// The private temp dir.
    pub tmp: Option<&'a Path>,
    /// The working directory.
    pub cwd: &'a Path,
    /// Write zones keep exec (the profile asked for it).
    pub exec_in_write: bool,
    /// Paths that must resolve inside as on the host (the program as the
    /// user named it): every symbolic link on the way is recreated.
    pub links: &'a [PathBuf],
}

/// One tree to bind, before ordering.
struct Tree {
    path: PathBuf,
    writable: bool,
    what: &'static str,
}

fn cstr(p: &Path) -> CString {
    // Paths cannot hold NUL bytes.
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

/// `path` (absolute) under `root`.
fn under(root: &Path, path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    root.join(rel)
}

impl RootPlan {
    /// The root for a server: `read`/`write` zones, the runtime baseline
    /// (`baseline`: path and access), `protected` paths inside write zones
    /// (made read-only), the private temp dir, the working directory.
    /// `exec_in_write`: write zones keep exec (the profile asked for it).
    /// `links`: paths that must resolve inside as they do on the host (the
    /// program, as the user named it): every symbolic link on the way is
    /// recreated.
    pub fn new(input: &RootInput<'_>) -> RootPlan {
        let RootInput {
            staging,
            read,
            write,
            baseline,
            protected,
            tmp,
            cwd,
            exec_in_write,
            links,
        } = *input;
        let mut trees: Vec<Tree> = Vec::new();
        let mut add = |path: &Path, writable: bool, what: &'static str| {
            if path.starts_with("/dev") || path.starts_with("/proc") || path == Path::new("/") {
                return;
            }
            match trees.iter_mut().find(|t| t.path == path) {
                Some(t) => {
                    if writable && !t.writable {
                        t.writable = true;
                        t.what = what;
                    }
                }
                None => trees.push(Tree {
                    path: path.to_path_buf(),
                    writable,
                    what,
                }),
            }
        };
        for (p, a) in baseline {
            add(p, *a == Access::Write, "runtime baseline (read-only)");
        }
        for p in read {
            add(p, false, "read zone (read-only)");
        }
        for p in write {
            add(p, true, "write zone (read-write)");
        }
        if let Some(t) = tmp {
            add(t, true, "private temp dir (TMPDIR)");
        }
        // Host top-level symlinks (/bin → usr/bin on merged-/usr systems) are
        // recreated as links, not bound.
        let top_links = top_level_links();
        trees.retain(|t| {
            !top_links
                .iter()
                .any(|(at, _)| Path::new("/").join(at) == t.path)
        });
        // A tree that is a symbolic link (/etc/localtime, /etc/resolv.conf)
        // is bound at its target and the link recreated, so programs that
        // read the link (the local time zone's name) see what they do
        // outside.
        let mut want_links: Vec<PathBuf> = links.to_vec();
        want_links.push(cwd.to_path_buf());
        for t in trees.iter_mut() {
            if let Some((at, _)) = symlinks_along(&t.path).first() {
                want_links.push(at.clone());
                if let Ok(real) = t.path.canonicalize() {
                    t.path = real;
                }
            }
        }
        // Parents before children; a path that does not exist is left out
        // (Landlock skips it the same way).
        trees.sort_by(|a, b| {
            a.path
                .components()
                .count()
                .cmp(&b.path.components().count())
                .then(a.path.cmp(&b.path))
        });
        trees.retain(|t| t.path.exists());
        trees.dedup_by(|a, b| {
            if a.path == b.path {
                b.writable |= a.writable;
                true
            } else {
                false
            }
        });

        let mut ops = Vec::new();
        let mut mounts = Vec::new();
        let mut made: Vec<PathBuf> = Vec::new();
        for (at, target) in &top_links {
            ops.push(Op::Symlink(
                cstr(target),
                cstr(&under(staging, Path::new("/").join(at).as_path())),
            ));
        }
        // /tmp: a fresh tmpfs first, so zones under /tmp get their
        // directories made in it (the private temp dir is bound at its own
        // path, which TMPDIR names).
        private_tmpfs(
            &mut ops,
            &staging.join("tmp"),
            libc::MS_NODEV,
            c"mode=1777,size=64m",
        );
        made.push(PathBuf::from("/tmp"));
        mounts.push(Mount {
            path: "/tmp".into(),
            what: "private, empty (TMPDIR names the private temp dir)",
            host: false,
        });
        // /run likewise (a resolver's stub file may live there).
        private_tmpfs(
            &mut ops,
            &staging.join("run"),
            libc::MS_NODEV,
            c"mode=755,size=16m",
        );
        made.push(PathBuf::from("/run"));
        mounts.push(Mount {
            path: "/run".into(),
            what: "private; empty but for what the plan binds",
            host: false,
        });
        let mut bound: Vec<PathBuf> = Vec::new();
        for t in &trees {
            need_dirs(staging, &t.path, &bound, &mut made, &mut ops);
            let inside = under(staging, &t.path);
            if !bound.iter().any(|b| t.path.starts_with(b)) {
                if t.path.is_dir() {
                    if !made.contains(&t.path) {
                        ops.push(Op::Mkdir(cstr(&inside)));
                        made.push(t.path.clone());
                    }
                } else {
                    ops.push(Op::File(cstr(&inside)));
                }
            }
            let mut attrs = ATTR_NOSUID | ATTR_NODEV;
            if !t.writable {
                attrs |= ATTR_RDONLY;
            } else if !exec_in_write {
                attrs |= ATTR_NOEXEC;
            }
            ops.push(Op::Bind(cstr(&t.path), cstr(&inside), attrs));
            mounts.push(Mount {
                path: t.path.clone(),
                what: t.what,
                host: true,
            });
            bound.push(t.path.clone());
        }
        // Protected paths inside write zones: read-only on top.
        for p in protected {
            if p.symlink_metadata().is_err() || !write.iter().any(|w| p.starts_with(w)) {
                continue;
            }
            ops.push(Op::Bind(
                cstr(p),
                cstr(&under(staging, p)),
                ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV | ATTR_NOEXEC,
            ));
            mounts.push(Mount {
                path: p.clone(),
                what: "protected (read-only inside a write zone)",
                host: true,
            });
        }
        // /dev: a small tmpfs with the harmless devices bound in.
        let dev = staging.join("dev");
        // Device nodes are bound in, so no nodev here.
        private_tmpfs(&mut ops, &dev, 0, c"mode=755,size=64k");
        for d in DEVICES {
            let host = Path::new("/dev").join(d);
            if host.exists() {
                ops.push(Op::File(cstr(&dev.join(d))));
                ops.push(Op::Bind(
                    cstr(&host),
                    cstr(&dev.join(d)),
                    ATTR_NOSUID | ATTR_NOEXEC,
                ));
            }
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            ops.push(Op::Symlink(
                CString::new(target).unwrap_or_default(),
                cstr(&dev.join(name)),
            ));
        }
        private_tmpfs(
            &mut ops,
            &dev.join("shm"),
            libc::MS_NODEV,
            c"mode=1777,size=64m",
        );
        mounts.push(Mount {
            path: "/dev".into(),
            what: "private: null, zero, random, urandom; shm",
            host: false,
        });
        ops.push(Op::Mkdir(cstr(&staging.join("proc"))));
        mounts.push(Mount {
            path: "/proc".into(),
            what: "procfs of the sandbox's own PID namespace",
            host: false,
        });
        // Symbolic links on the way to the program (an npm bin, a venv's
        // python) and the working directory, outside the bound trees.
        let mut linked: Vec<PathBuf> = top_links
            .iter()
            .map(|(at, _)| Path::new("/").join(at))
            .collect();
        for l in &want_links {
            for (at, target) in symlinks_along(l) {
                if bound.iter().any(|b| at.starts_with(b))
                    || linked.contains(&at)
                    || made.contains(&at)
                {
                    continue;
                }
                need_dirs(staging, &at, &bound, &mut made, &mut ops);
                ops.push(Op::Symlink(cstr(&target), cstr(&under(staging, &at))));
                linked.push(at);
            }
        }
        // A working directory outside every bind still has to exist.
        if !bound.iter().any(|b| cwd.starts_with(b)) && !linked.iter().any(|l| l == cwd) {
            need_dirs(staging, cwd, &bound, &mut made, &mut ops);
            ops.push(Op::Mkdir(cstr(&under(staging, cwd))));
        }
        RootPlan {
            staging: cstr(staging),
            old: cstr(&staging.join(".old")),
            proc: cstr(&staging.join("proc")),
            ops,
            cwd: cstr(cwd),
            mounts,
            userns: Vec::new(),
            idmaps: Vec::new(),
            nobody: false,
        }
    }

    /// When vanguard is root: binds every tree (devices aside) through an
    /// idmapped mount swapping its owner with `nobody`, so the server can
    /// run as `nobody`. All or nothing: `Err` names the first tree whose
    /// filesystem cannot be idmapped, and the plan is left unchanged.
    pub fn idmap_for_nobody(&mut self) -> Result<(), String> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        let mut userns = Vec::new();
        let mut idmaps: Vec<std::sync::Arc<std::os::fd::OwnedFd>> = Vec::new();
        for op in &self.ops {
            let Op::Bind(src, _, _) = op else { continue };
            let path = Path::new(std::ffi::OsStr::from_bytes(src.as_bytes()));
            if path.starts_with("/dev") {
                userns.push(-1);
                continue;
            }
            let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let ns = super::idmap::userns_for(meta.uid(), meta.gid())
                .map_err(|e| format!("user namespace for idmapped mounts: {e}"))?;
            if !super::idmap::supports_idmap(src, meta.dev(), &ns) {
                return Err(format!(
                    "{}: its filesystem cannot be idmapped",
                    path.display()
                ));
            }
            userns.push(std::os::fd::AsRawFd::as_raw_fd(&*ns));
            if !idmaps.iter().any(|k| std::sync::Arc::ptr_eq(k, &ns)) {
                idmaps.push(ns);
            }
        }
        self.userns = userns;
        self.idmaps = idmaps;
        self.nobody = true;
        Ok(())
    }

    /// The steps, for tests.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Builds the root and enters it. Runs in the sandbox's init, in its own
    /// mount namespace, before the server is forked. Async-signal-safe: raw
    /// syscalls on data prepared in the parent.
    pub fn build(&self) -> std::io::Result<()> {
        // SAFETY: raw syscalls on NUL-terminated strings owned by self and
        // on stack data; no allocation.
        unsafe {
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            // Every tree is copied before the staging tmpfs exists, so no
            // copy of a tree above the staging directory holds the new root.
            let mut trees = [-1 as libc::c_int; MAX_BINDS];
            let mut n = 0;
            for op in &self.ops {
                if let Op::Bind(src, _, attrs) = op {
                    let ns = self.userns.get(n).copied().unwrap_or(-1);
                    let copied = match clone_tree(src, *attrs, ns) {
                        Ok(fd) => match trees.get_mut(n) {
                            Some(slot) => {
                                *slot = fd;
                                n += 1;
                                Ok(())
                            }
                            None => {
                                libc::close(fd);
                                Err(std::io::Error::from_raw_os_error(libc::E2BIG))
                            }
                        },
                        Err(e) => Err(e),
                    };
                    if let Err(e) = copied {
                        close_all(trees.get(..n).unwrap_or_default());
                        return Err(e);
                    }
                }
            }
            let open = trees.get(..n).unwrap_or_default();
            let result = self.assemble(open);
            close_all(open);
            result
        }
    }

    /// Mounts the staging tmpfs, runs the steps (binds from the copies in
    /// `trees`, in order) and enters the root.
    ///
    /// # Safety
    /// Async-signal-safe raw syscalls; `trees` holds one open tree per bind.
    unsafe fn assemble(&self, trees: &[libc::c_int]) -> std::io::Result<()> {
        let mut next = 0;
        {
            check(libc::mount(
                c"tmpfs".as_ptr(),
                self.staging.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=755,size=16m".as_ptr().cast(),
            ))?;
            for op in &self.ops {
                match op {
                    Op::Mkdir(p) => {
                        if libc::mkdir(p.as_ptr(), 0o755) < 0
                            && *libc::__errno_location() != libc::EEXIST
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Op::File(p) => {
                        let fd = libc::open(
                            p.as_ptr(),
                            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                            0o644,
                        );
                        if fd >= 0 {
                            libc::close(fd);
                        } else if *libc::__errno_location() != libc::EEXIST {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Op::Symlink(target, at) => {
                        if libc::symlink(target.as_ptr(), at.as_ptr()) < 0
                            && *libc::__errno_location() != libc::EEXIST
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Op::Bind(_, dst, _) => {
                        let Some(fd) = trees.get(next) else {
                            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
                        };
                        next += 1;
                        check(libc::syscall(
                            libc::SYS_move_mount,
                            *fd,
                            c"".as_ptr(),
                            libc::AT_FDCWD,
                            dst.as_ptr(),
                            MOVE_MOUNT_F_EMPTY_PATH,
                        ) as libc::c_int)?;
                    }
                    Op::Tmpfs(dst, flags, opts) => check(libc::mount(
                        c"tmpfs".as_ptr(),
                        dst.as_ptr(),
                        c"tmpfs".as_ptr(),
                        *flags,
                        opts.as_ptr().cast(),
                    ))?,
                }
            }
            // procfs of this PID namespace, mounted while the host's /proc is
            // still visible (the kernel requires that inside a user namespace).
            check(libc::mount(
                c"proc".as_ptr(),
                self.proc.as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            ))?;
            // Enter it: the host's root goes to .old and is detached.
            check(libc::mkdir(self.old.as_ptr(), 0o700))?;
            check(libc::syscall(
                libc::SYS_pivot_root,
                self.staging.as_ptr(),
                self.old.as_ptr(),
            ) as libc::c_int)?;
            check(libc::chdir(c"/".as_ptr()))?;
            check(libc::umount2(c"/.old".as_ptr(), libc::MNT_DETACH))?;
            check(libc::rmdir(c"/.old".as_ptr()))?;
            // The root itself is read-only from now on.
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT
                    | libc::MS_BIND
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV,
                std::ptr::null(),
            ))?;
            // No executable memory files in this PID namespace (Linux 6.3+):
            // memfd_create without MFD_NOEXEC_SEAL makes a sealed,
            // non-executable file and MFD_EXEC is refused, so code written
            // to memory cannot be run the way a write zone's files cannot.
            // Older kernels lack the knob; the write then fails harmlessly.
            let fd = libc::open(
                c"/proc/sys/vm/memfd_noexec".as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            );
            if fd >= 0 {
                libc::write(fd, c"2".as_ptr().cast(), 1);
                libc::close(fd);
            }
            check(libc::chdir(self.cwd.as_ptr()))?;
        }
        Ok(())
    }
}

/// A private tmpfs at `at` (made first): always nosuid and noexec, plus
/// `flags`.
fn private_tmpfs(ops: &mut Vec<Op>, at: &Path, flags: libc::c_ulong, options: &std::ffi::CStr) {
    ops.push(Op::Mkdir(cstr(at)));
    ops.push(Op::Tmpfs(
        cstr(at),
        libc::MS_NOSUID | libc::MS_NOEXEC | flags,
        options.to_owned(),
    ));
}

/// The directories `path` needs in the tmpfs: each missing parent that no
/// earlier bind provides (`made`: already created).
fn need_dirs(
    staging: &Path,
    path: &Path,
    bound: &[PathBuf],
    made: &mut Vec<PathBuf>,
    ops: &mut Vec<Op>,
) {
    let mut acc = PathBuf::from("/");
    for c in path.components().skip(1) {
        acc.push(c);
        if acc == path || bound.iter().any(|b| acc.starts_with(b)) {
            return;
        }
        if !made.contains(&acc) {
            ops.push(Op::Mkdir(cstr(&under(staging, &acc))));
            made.push(acc.clone());
        }
    }
}

fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `struct mount_attr` (linux/mount.h).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x0000_0004;

/// At most this many binds (zones, baseline, protected paths, devices).
pub const MAX_BINDS: usize = 512;

fn close_all(fds: &[libc::c_int]) {
    for fd in fds {
        // SAFETY: closing descriptors this process opened.
        unsafe { libc::close(*fd) };
    }
}

/// A detached copy of `src` (and its submounts) with `attrs` on every mount
/// of the copy, idmapped through the user namespace `userns` when it is not
/// -1. Async-signal-safe (the minimal root's init, the probe's child).
///
/// # Safety
/// Raw syscalls; the string must be valid.
pub(super) unsafe fn clone_tree(
    src: &std::ffi::CStr,
    attrs: u64,
    userns: libc::c_int,
) -> std::io::Result<libc::c_int> {
    let fd = libc::syscall(
        libc::SYS_open_tree,
        libc::AT_FDCWD,
        src.as_ptr(),
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | AT_RECURSIVE,
    ) as libc::c_int;
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let (idmap, userns_fd) = match u64::try_from(userns) {
        Ok(fd) => (super::idmap::ATTR_IDMAP, fd),
        Err(_) => (0, 0),
    };
    let attr = MountAttr {
        attr_set: attrs | idmap,
        attr_clr: 0,
        propagation: 0,
        userns_fd,
    };
    let rc = libc::syscall(
        libc::SYS_mount_setattr,
        fd,
        c"".as_ptr(),
        libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
        &attr as *const MountAttr,
        std::mem::size_of::<MountAttr>(),
    );
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        libc::close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// The symbolic links met resolving `path` on the host, in order: (where
/// the link is, its target as written). Bounded (40 links, as the kernel).
fn symlinks_along(path: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = vec![path.to_path_buf()];
    let mut budget = 40;
    while let Some(p) = todo.pop() {
        let mut acc = PathBuf::from("/");
        let mut comps = p.components().skip(1).peekable();
        while let Some(c) = comps.next() {
            match c {
                Component::Normal(n) => acc.push(n),
                Component::ParentDir => {
                    acc.pop();
                    continue;
                }
                _ => continue,
            }
            let Ok(target) = std::fs::read_link(&acc) else {
                continue;
            };
            budget -= 1;
            if budget == 0 {
                return out;
            }
            out.push((acc.clone(), target.clone()));
            // Resolve the target, then go on with the rest of the path.
            let Some(parent) = acc.parent() else {
                return out;
            };
            let mut next = parent.join(&target);
            for rest in comps.by_ref() {
                next.push(rest);
            }
            todo.push(next);
            break;
        }
    }
    out
}

/// The host root's symbolic links (`bin` → `usr/bin`): (name, target).
fn top_level_links() -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue;
        };
        out.push((e.file_name().to_string_lossy().into_owned(), target));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .map(|o| match o {
                Op::Mkdir(p) => format!("mkdir {}", p.to_string_lossy()),
                Op::File(p) => format!("file {}", p.to_string_lossy()),
                Op::Symlink(t, a) => format!("ln {} {}", t.to_string_lossy(), a.to_string_lossy()),
                Op::Bind(s, d, a) => {
                    format!("bind {} {} {a:x}", s.to_string_lossy(), d.to_string_lossy())
                }
                Op::Tmpfs(d, _, o) => {
                    format!("tmpfs {} {}", d.to_string_lossy(), o.to_string_lossy())
                }
            })
            .collect()
    }

    #[test]
    fn zones_baseline_and_protected_paths_become_binds_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canon");
        let ws = base.join("ws");
        let docs = base.join("docs");
        std::fs::create_dir_all(ws.join(".git")).expect("mkdir");
        std::fs::write(ws.join(".git/config"), "").expect("write");
        std::fs::create_dir_all(&docs).expect("mkdir");
        let staging = base.join("root");
        let plan = RootPlan::new(&RootInput {
            staging: &staging,
            read: std::slice::from_ref(&docs),
            write: std::slice::from_ref(&ws),
            baseline: &[
                (PathBuf::from("/usr"), Access::Read),
                (PathBuf::from("/dev/null"), Access::ReadWriteFile),
            ],
            protected: &[ws.join(".git/config"), ws.join(".vscode")],
            tmp: None,
            cwd: &ws,
            exec_in_write: false,
            links: &[],
        });
        let ops = paths(plan.ops());
        let s = staging.display().to_string();
        let find = |want: &str| ops.iter().position(|o| o == want);
        let usr = find(&format!("bind /usr {s}/usr 7")).expect("usr read-only");
        let ws_bind = find(&format!("bind {0} {s}{0} e", ws.display())).expect("ws rw, noexec");
        let git = find(&format!(
            "bind {0}/.git/config {s}{0}/.git/config f",
            ws.display()
        ))
        .expect("protected read-only");
        assert!(usr < ws_bind && ws_bind < git, "{ops:#?}");
        assert!(
            find(&format!("bind {0} {s}{0} 7", docs.display())).is_some(),
            "{ops:#?}"
        );
        assert!(
            !ops.iter().any(|o| o.contains(".vscode")),
            "absent paths are not bound"
        );
        assert!(
            !ops.iter().any(|o| o.starts_with("bind /dev/null /dev")),
            "devices go to the private /dev"
        );
        assert!(
            find(&format!("bind /dev/null {s}/dev/null a")).is_some(),
            "{ops:#?}"
        );
        assert!(ops
            .iter()
            .any(|o| o.starts_with(&format!("tmpfs {s}/dev/shm"))));
        // Parents of the zones exist in the tmpfs.
        let parent = ws.parent().expect("parent");
        assert!(
            find(&format!("mkdir {s}{}", parent.display())).is_some(),
            "{ops:#?}"
        );
    }

    #[test]
    fn exec_in_write_zones_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path().canonicalize().expect("canon");
        let plan = RootPlan::new(&RootInput {
            staging: &ws.join("r"),
            read: &[],
            write: std::slice::from_ref(&ws),
            baseline: &[],
            protected: &[],
            tmp: None,
            cwd: &ws,
            exec_in_write: true,
            links: &[],
        });
        let ops = paths(plan.ops());
        assert!(
            ops.iter()
                .any(|o| o.starts_with(&format!("bind {} ", ws.display())) && o.ends_with(" 6")),
            "{ops:#?}"
        );
    }

    #[test]
    fn links_on_the_way_to_the_program_are_recreated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path().canonicalize().expect("canon");
        std::fs::create_dir_all(ws.join("lib/pkg")).expect("mkdir");
        std::fs::create_dir_all(ws.join("bin")).expect("mkdir");
        std::fs::write(ws.join("lib/pkg/index.js"), "").expect("write");
        std::os::unix::fs::symlink("../lib/pkg/index.js", ws.join("bin/tool")).expect("ln");
        let found = symlinks_along(&ws.join("bin/tool"));
        assert_eq!(
            found,
            vec![(ws.join("bin/tool"), PathBuf::from("../lib/pkg/index.js"))]
        );
        // The package is granted, the bin directory is not: the link is
        // made in the tmpfs, pointing where it does outside.
        let plan = RootPlan::new(&RootInput {
            staging: Path::new("/staging"),
            read: &[ws.join("lib/pkg")],
            write: &[],
            baseline: &[],
            protected: &[],
            tmp: None,
            cwd: &ws.join("lib/pkg"),
            exec_in_write: false,
            links: &[ws.join("bin/tool")],
        });
        let ops = paths(plan.ops());
        let inside = format!("/staging{}", ws.join("bin/tool").display());
        assert!(
            ops.contains(&format!("ln ../lib/pkg/index.js {inside}")),
            "{ops:#?}"
        );
        let bin = format!("mkdir /staging{}", ws.join("bin").display());
        let at = |needle: &str| ops.iter().position(|o| o == needle);
        assert!(
            at(&bin) < at(&format!("ln ../lib/pkg/index.js {inside}")),
            "{ops:#?}"
        );
    }
}
