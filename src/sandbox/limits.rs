//! Process hardening that is not a namespace, Landlock or seccomp: resource
//! limits, capabilities, `no_new_privs` and the environment allow-list.
//!
//! The parent computes the rlimit table ([`ResourceLimits::rlimits`]) and the
//! scrubbed environment ([`scrub_env`]); the child applies them with
//! [`apply_rlimits`], [`drop_capabilities`] and [`set_no_new_privs`], all raw
//! syscalls on prepared data.
//!
//! # Warning
//! `RLIMIT_NPROC` counts processes per real uid and the kernel never enforces
//! it for uid 0 in the initial user namespace, even after capabilities are
//! dropped. As root, use `pids_max` (a cgroup) to bound process count.

use serde::{Deserialize, Serialize};
use std::ffi::OsString;

/// Resource limits for the server and everything it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceLimits {
    /// RLIMIT_NOFILE (soft and hard).
    pub nofile: Option<u64>,
    /// RLIMIT_NPROC (not enforced for root; see the module warning).
    pub nproc: Option<u64>,
    /// RLIMIT_AS in bytes (address space; breaks runtimes that reserve large
    /// virtual ranges such as node's V8 cage, so leave unset for node).
    pub address_space: Option<u64>,
    /// RLIMIT_FSIZE in bytes (largest file the server may write).
    pub file_size: Option<u64>,
    /// cgroup v2 `memory.max` in bytes.
    pub memory_max: Option<u64>,
    /// cgroup v2 `pids.max`.
    pub pids_max: Option<u64>,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            nofile: Some(4096),
            nproc: None,
            address_space: None,
            file_size: None,
            memory_max: None,
            pids_max: None,
        }
    }
}

/// One rlimit to set in the child: resource, soft = hard value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: libc::__rlimit_resource_t,
    pub name: &'static str,
    pub value: u64,
}

impl ResourceLimits {
    /// Whether a cgroup is needed to honour these limits.
    pub fn wants_cgroup(&self) -> bool {
        self.memory_max.is_some() || self.pids_max.is_some()
    }

    /// The rlimits to set, always including `RLIMIT_CORE = 0` (a core dump
    /// would write the server's memory, secrets included, to disk).
    pub fn rlimits(&self) -> Vec<Rlimit> {
        let mut v = vec![Rlimit {
            resource: libc::RLIMIT_CORE,
            name: "core",
            value: 0,
        }];
        let optional = [
            (libc::RLIMIT_NOFILE, "nofile", self.nofile),
            (libc::RLIMIT_NPROC, "nproc", self.nproc),
            (libc::RLIMIT_AS, "as", self.address_space),
            (libc::RLIMIT_FSIZE, "fsize", self.file_size),
        ];
        for (resource, name, value) in optional {
            if let Some(value) = value {
                v.push(Rlimit {
                    resource,
                    name,
                    value,
                });
            }
        }
        v
    }
}

/// Lowers each limit to `value`, never above the current hard limit (raising
/// a hard limit needs CAP_SYS_RESOURCE, and lowering is what we want anyway).
/// Async-signal-safe.
pub fn apply_rlimits(limits: &[Rlimit]) -> std::io::Result<()> {
    for l in limits {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: cur is a valid out-pointer.
        if unsafe { libc::getrlimit(l.resource, &mut cur) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let value = l.value.min(cur.rlim_max);
        let new = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: new is a valid pointer.
        if unsafe { libc::setrlimit(l.resource, &new) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// securebits: no root privilege on exec, no setuid fixups, no ambient
/// raising, each locked (SECBIT_NOROOT | _LOCKED, SECBIT_NO_SETUID_FIXUP |
/// _LOCKED, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE | _LOCKED).
const SECUREBITS: libc::c_ulong = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80;
/// `_LINUX_CAPABILITY_VERSION_3`.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drops every capability: securebits (so exec as root grants nothing), the
/// bounding set, the ambient set, then effective/permitted/inheritable.
/// `has_setpcap` says whether the bounding set can be changed (root or a
/// fresh user namespace); without it there is nothing in the sets to drop
/// beyond what `capset` clears. Async-signal-safe.
pub fn drop_capabilities(
    last_cap: u32,
    has_setpcap: bool,
    become_nobody: bool,
) -> std::io::Result<()> {
    if has_setpcap {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        for cap in 0..=last_cap {
            // SAFETY: prctl with integer arguments.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if rc < 0 {
                let err = std::io::Error::last_os_error();
                // A cap number past what this kernel knows: nothing to drop.
                if err.raw_os_error() != Some(libc::EINVAL) {
                    return Err(err);
                }
            }
        }
    }
    // SAFETY: prctl with integer arguments.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // The uid switch needs CAP_SETUID/CAP_SETGID, which the capset below
    // takes away; SECBIT_NO_SETUID_FIXUP (set above) keeps the switch from
    // clearing them first.
    if become_nobody {
        super::idmap::become_nobody()?;
    }
    let header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and data are valid for the v3 layout (two data words).
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sets `no_new_privs`: setuid bits and file capabilities stop working, and
/// Landlock and seccomp may be applied without CAP_SYS_ADMIN. Async-signal-safe.
pub fn set_no_new_privs() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Variables always passed through when present.
pub const ENV_BASELINE: &[&str] = &["PATH", "HOME", "LANG", "TERM", "TZ", "USER"];

/// Whether `name` passes the allow-list (the baseline, `LC_*`, or `allow`).
pub fn env_allowed(name: &str, allow: &[String]) -> bool {
    ENV_BASELINE.contains(&name) || name.starts_with("LC_") || allow.iter().any(|a| a == name)
}

/// The child's whole environment: allowed variables from `parent`, then
/// `set` (which wins), then `TMPDIR` pointing at the private temp dir.
pub fn scrub_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    allow: &[String],
    set: &[(String, String)],
    tmpdir: Option<&std::path::Path>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = parent
        .into_iter()
        .filter(|(k, _)| k.to_str().is_some_and(|k| env_allowed(k, allow)))
        .collect();
    for (k, v) in set {
        env.retain(|(ek, _)| ek != k.as_str());
        env.push((k.into(), v.into()));
    }
    if let Some(dir) = tmpdir {
        env.retain(|(k, _)| k != "TMPDIR");
        env.push(("TMPDIR".into(), dir.as_os_str().to_owned()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn env_keeps_baseline_and_allowed_only() {
        let parent = pairs(&[
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("GITHUB_TOKEN", "t"),
            ("TMPDIR", "/tmp"),
        ]);
        let env = scrub_env(
            parent,
            &["GITHUB_TOKEN".into()],
            &[("MODE".into(), "1".into())],
            Some(std::path::Path::new("/tmp/v")),
        );
        let names: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap_or("?")).collect();
        assert_eq!(names, ["PATH", "LC_ALL", "GITHUB_TOKEN", "MODE", "TMPDIR"]);
        assert_eq!(
            env.last().map(|(_, v)| v.as_os_str()),
            Some("/tmp/v".as_ref())
        );
    }

    #[test]
    fn core_dumps_always_off() {
        let l = ResourceLimits {
            nofile: None,
            ..ResourceLimits::default()
        };
        let r = l.rlimits();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].resource, libc::RLIMIT_CORE);
        assert_eq!(r[0].value, 0);
        let full = ResourceLimits {
            nproc: Some(64),
            file_size: Some(1 << 20),
            ..ResourceLimits::default()
        };
        let names: Vec<_> = full.rlimits().iter().map(|r| r.name).collect();
        assert_eq!(names, ["core", "nofile", "nproc", "fsize"]);
    }
}
