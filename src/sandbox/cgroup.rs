//! cgroup v2: a per-plan cgroup with `memory.max` / `pids.max`, created in the
//! parent; the child joins it by writing `0` to a `cgroup.procs` fd opened in
//! the parent ([`join`]: one `write(2)`, async-signal-safe), and dropping the
//! [`CgroupDir`] kills everything left in it (`cgroup.kill`) and removes it.
//!
//! Only a delegated, writable cgroup v2 hierarchy with the `memory` and `pids`
//! controllers enabled for children is used; hybrid v1 hosts get no cgroup
//! and the plan reports it as missing when limits asked for one.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Errors while creating the cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A cgroup owned by a plan; removed (after killing its members) on drop.
#[derive(Debug)]
pub struct CgroupDir {
    path: PathBuf,
    procs: File,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl CgroupDir {
    /// Creates `<root>/vanguard-<pid>-<n>` and writes the limits.
    pub fn create(
        root: &Path,
        memory_max: Option<u64>,
        pids_max: Option<u64>,
    ) -> Result<CgroupDir, CgroupError> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = root.join(format!("vanguard-{}-{n}", std::process::id()));
        std::fs::create_dir(&path).map_err(io(&path))?;
        let dir = CgroupDir {
            procs: OpenOptions::new()
                .write(true)
                .open(path.join("cgroup.procs"))
                .map_err(io(&path))?,
            path,
        };
        if let Some(max) = memory_max {
            let file = dir.path.join("memory.max");
            std::fs::write(&file, max.to_string()).map_err(io(&file))?;
            // No swap either, or memory.max only moves pages to swap.
            let _ = std::fs::write(dir.path.join("memory.swap.max"), "0");
        }
        if let Some(max) = pids_max {
            let file = dir.path.join("pids.max");
            std::fs::write(&file, max.to_string()).map_err(io(&file))?;
        }
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `cgroup.procs` fd a child writes `0` to.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// Kills every process in the cgroup.
    pub fn kill(&self) {
        let _ = std::fs::write(self.path.join("cgroup.kill"), "1");
    }
}

impl Drop for CgroupDir {
    fn drop(&mut self) {
        self.kill();
        // rmdir fails with EBUSY until the killed members are gone.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.path).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        tracing::warn!(path = %self.path.display(), "cgroup not removed");
    }
}

/// Moves the calling process into the cgroup whose `cgroup.procs` is `fd`.
/// Async-signal-safe.
pub fn join(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: write of a static buffer to an fd owned by the plan.
    let n = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
