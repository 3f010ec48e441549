//! Reading and replacing a client's file: an advisory lock, a timestamped
//! backup, and a write that is never seen half done.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The lock is on a file in vanguard's state directory, not on the client's
/// file: the write replaces that file (rename), which would drop a lock
/// held on it, and a lock file beside it would clutter the user's folder.
pub fn lock(path: &Path) -> Result<nix::fcntl::Flock<File>, String> {
    let lock_path = super::undo_state::state_path(path)?.with_extension("lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("{}: cannot open the lock file: {e}", lock_path.display()))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("{}: cannot lock: {e}", lock_path.display()))
}

pub fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Copies the file to `FILE.vanguard-backup-YYYYmmddTHHMMSS` (UTC), with a
/// counter when a backup of the same second exists.
pub fn backup(path: &Path) -> Result<PathBuf, String> {
    let stamp: String = crate::audit::rfc3339_now()
        .chars()
        .take(19)
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let base = format!("{}.vanguard-backup-{stamp}", path.display());
    let mut target = PathBuf::from(&base);
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    fs::copy(path, &target).map_err(|e| {
        format!(
            "{}: cannot write the backup {}: {e}",
            path.display(),
            target.display()
        )
    })?;
    Ok(target)
}

/// Writes a temp file in the same directory with the original's mode and
/// renames it over the original: a reader sees the old or the new file,
/// never a part. A symlink (dotfiles kept in a repository) is followed, so
/// the link stays a link and its target gets the new text.
pub fn write_atomic(link: &Path, text: &str) -> Result<(), String> {
    let path =
        &fs::canonicalize(link).map_err(|e| format!("{}: cannot resolve: {e}", link.display()))?;
    let err = |what: &str, e: std::io::Error| format!("{}: {what}: {e}", path.display());
    let mode = fs::metadata(path)
        .map_err(|e| err("cannot stat", e))?
        .permissions()
        .mode();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.vanguard-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err("cannot write", e));
    }
    Ok(())
}
