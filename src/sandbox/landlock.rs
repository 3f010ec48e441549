//! Landlock: the filesystem, TCP and IPC-scope half of the sandbox.
//!
//! The parent builds a complete ruleset with the `landlock` crate
//! ([`prepare`]): every handled right of [`TARGET_ABI`], one rule per zone and
//! baseline path, TCP bind/connect handled with no allowed port when the
//! network is off (connect to the egress proxy's port only in allow-list
//! mode), and the abstract-unix-socket and signal scopes. The child
//! then only calls [`restrict_self`] on the ruleset fd (one raw syscall), and
//! optionally [`add_path_rule`] for the fresh `/proc` it mounted itself.

use super::baseline::Access;
use ::landlock::{
    Access as _, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope, ABI,
};
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// The Landlock ABI whose rights we handle. V6 adds the IPC scopes; V7 adds
/// only audit flags, so "fully enforced" means a kernel ABI of at least 6.
pub const TARGET_ABI: ABI = ABI::V6;
/// [`TARGET_ABI`] as the number the kernel reports.
pub const TARGET_ABI_VERSION: i32 = 6;

/// `LANDLOCK_RULE_PATH_BENEATH` from `<linux/landlock.h>`.
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

/// Errors while building the ruleset in the parent.
#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    #[error("landlock ruleset: {0}")]
    Ruleset(#[from] ::landlock::RulesetError),
    #[error("landlock rule for {path}: {source}")]
    Path {
        path: PathBuf,
        #[source]
        source: ::landlock::RulesetError,
    },
    #[error("landlock: cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: ::landlock::PathFdError,
    },
}

/// One path rule: a zone or a baseline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path: PathBuf,
    pub access: Access,
}

/// The Landlock filesystem rights for an access kind.
///
/// Write zones get every right but `Execute`: a file the server (or a tool
/// call) writes cannot be run directly unless the same path is also a read
/// zone. Interpreters can still read and run scripts there; `dlopen` of a
/// written library is not covered by Landlock `Execute` either.
pub fn fs_rights(access: Access) -> BitFlags<AccessFs> {
    match access {
        Access::Read => AccessFs::from_read(TARGET_ABI),
        Access::Write => AccessFs::from_all(TARGET_ABI) & !AccessFs::Execute,
        Access::ReadWriteFile => AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate,
    }
}

/// Rights that apply to a non-directory (Landlock rejects directory rights on files).
fn rights_for(path: &Path, access: Access) -> BitFlags<AccessFs> {
    let rights = fs_rights(access);
    if path.is_dir() {
        rights
    } else {
        rights & AccessFs::from_file(TARGET_ABI)
    }
}

/// What TCP the server may do (Landlock ABI 4; older kernels ignore it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpRule {
    /// TCP not handled: the host network.
    Unrestricted,
    /// No bind, no connect.
    DenyAll,
    /// No bind; connect only to these ports (the egress proxy's and the
    /// forwarded ones).
    ConnectOnly(Vec<u16>),
}

/// Builds the ruleset in the parent and returns its fd, or `None` when the
/// kernel has no Landlock. Paths that vanished since `Plan::build` are skipped.
pub fn prepare(rules: &[PathRule], tcp: TcpRule) -> Result<Option<OwnedFd>, LandlockError> {
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(TARGET_ABI))?
        .scope(Scope::from_all(TARGET_ABI))?;
    if tcp != TcpRule::Unrestricted {
        ruleset = ruleset.handle_access(AccessNet::from_all(ABI::V4))?;
    }
    let mut created = ruleset.create()?;
    if let TcpRule::ConnectOnly(ports) = &tcp {
        for port in ports {
            created = created.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
        }
    }
    for rule in rules {
        let fd = match PathFd::new(&rule.path) {
            Ok(fd) => fd,
            Err(_) if !rule.path.exists() => continue,
            Err(source) => {
                return Err(LandlockError::Open {
                    path: rule.path.clone(),
                    source,
                })
            }
        };
        created = created
            .add_rule(PathBeneath::new(fd, rights_for(&rule.path, rule.access)))
            .map_err(|source| LandlockError::Path {
                path: rule.path.clone(),
                source,
            })?;
    }
    Ok(created.into())
}

/// `struct landlock_path_beneath_attr` (packed in the uapi header).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// Adds a read rule for `path` (a NUL-terminated C string prepared in the
/// parent) to the ruleset. Async-signal-safe: `open` + one syscall.
pub fn add_path_rule(ruleset: RawFd, path: &std::ffi::CStr, access: Access) -> std::io::Result<()> {
    // SAFETY: path is NUL-terminated; O_PATH opens no file contents.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let attr = PathBeneathAttr {
        allowed_access: fs_rights(access).bits(),
        parent_fd: fd,
    };
    // SAFETY: attr outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: fd was opened above and is not used after this.
    unsafe { libc::close(fd) };
    if rc < 0 {
        return Err(err);
    }
    Ok(())
}

/// Enforces the ruleset on the calling thread (and what it execs).
/// Requires `no_new_privs` (or `CAP_SYS_ADMIN`). Async-signal-safe.
pub fn restrict_self(ruleset: RawFd) -> std::io::Result<()> {
    // SAFETY: one syscall on an fd owned by the caller.
    let rc = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_zones_cannot_execute() {
        assert!(!fs_rights(Access::Write).contains(AccessFs::Execute));
        assert!(fs_rights(Access::Write).contains(AccessFs::WriteFile | AccessFs::Truncate));
        assert!(fs_rights(Access::Write).contains(AccessFs::ReadFile));
    }

    #[test]
    fn read_zones_cannot_write() {
        let read = fs_rights(Access::Read);
        assert!(read.contains(AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute));
        assert!(!read.intersects(AccessFs::WriteFile | AccessFs::Truncate | AccessFs::RemoveFile));
        assert!(!read.intersects(AccessFs::Refer | AccessFs::MakeReg));
    }

    #[test]
    fn device_files_get_file_rights_only() {
        let dev = fs_rights(Access::ReadWriteFile);
        assert!(dev.contains(AccessFs::WriteFile));
        assert!(!dev.intersects(AccessFs::MakeReg | AccessFs::Execute));
    }
}
