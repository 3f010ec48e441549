//! Paths as the kernel will see them: lexical canonicalisation (`file:`
//! URLs, `~`, relative paths, `.` and `..`) and the resolution of symlinks
//! that exist.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::percent::percent_decode_once;

/// Most path components [`resolve_existing`] works on before giving up on I/O
/// (`PATH_MAX` is 4096 bytes, so a real path has fewer).
pub const MAX_PATH_COMPONENTS: usize = 4096;

/// Most symlinks [`resolve_existing`] follows by hand, as the kernel's `MAXSYMLINKS`.
const MAX_SYMLINK_HOPS: usize = 40;

/// Lexical path canonicalisation, without I/O.
///
/// 1. `file:` URLs (`file:///p`, `file://host/p`, `file:/p`, any case) become
///    their path: the authority is dropped (a server that opens the URL reads
///    the local path whatever the host says), query and fragment are cut, and
///    the path is percent-decoded once, as a URL consumer does. Plain paths are
///    not percent-decoded: `%70` is a legal file name.
/// 2. A leading `~` or `~/` expands to `home`. `~user/…` returns `None`: that
///    user's home is unknown here, and guessing would misjudge the zone.
/// 3. A relative path is joined onto `cwd`.
/// 4. Empty and `.` components are dropped; `..` removes the previous component
///    and never climbs above `/`.
///
/// Backslashes are ordinary file-name bytes on Linux and are kept. A `cwd` or
/// `home` that is itself relative is taken as rooted at `/`, so the result is
/// always absolute. Returns `None` for empty input or input containing NUL
/// (also after decoding), which no system call accepts.
pub fn lexical_path(raw: &str, cwd: &Path, home: &Path) -> Option<PathBuf> {
    if raw.is_empty() || raw.contains('\0') {
        return None;
    }
    let decoded;
    let path: &[u8] = match file_url_path(raw) {
        Some(url_path) => {
            decoded = percent_decode_once(url_path.as_bytes());
            if decoded.contains(&0) {
                return None;
            }
            &decoded
        }
        None => raw.as_bytes(),
    };

    let mut parts: Vec<&[u8]> = Vec::new();
    let rest = if let Some(after_tilde) = path.strip_prefix(b"~") {
        if after_tilde.first().is_some_and(|&b| b != b'/') {
            return None;
        }
        push_lexically(&mut parts, home.as_os_str().as_bytes());
        after_tilde
    } else {
        if path.first() != Some(&b'/') {
            push_lexically(&mut parts, cwd.as_os_str().as_bytes());
        }
        path
    };
    push_lexically(&mut parts, rest);
    Some(path_from_parts(&parts))
}

/// The path of a `file:` URL, or `None` when `raw` is not one.
pub fn file_url_path(raw: &str) -> Option<&str> {
    let scheme = raw.get(..5)?;
    if !scheme.eq_ignore_ascii_case("file:") {
        return None;
    }
    let after = &raw[5..];
    let path = if let Some(authority_and_path) = after.strip_prefix("//") {
        match authority_and_path.find('/') {
            Some(slash) => &authority_and_path[slash..],
            None => "/",
        }
    } else if after.starts_with('/') {
        after
    } else {
        return None;
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    Some(&path[..end])
}

/// Append the components of `bytes` to `parts`, resolving `.` and `..` lexically.
pub fn push_lexically<'p>(parts: &mut Vec<&'p [u8]>, bytes: &'p [u8]) {
    for part in bytes.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
}

pub fn path_from_parts(parts: &[&[u8]]) -> PathBuf {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
    for part in parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Resolve the symlinks that exist along an absolute path.
///
/// The longest prefix that resolves is canonicalised with
/// [`std::fs::canonicalize`] (found by binary search: if a prefix resolves, so
/// does every shorter one), and the rest is appended lexically, `..` included.
/// When the first missing component is a dangling symlink it is followed by
/// hand (at most 40 hops, like the kernel), because creating a file through it
/// writes at the link's target, not beside the link.
///
/// This is the only function in L0 that does I/O. It has to: a zone check on
/// `/workspace/link/secret` is meaningless if `link` points at `/etc`, so paths
/// are judged after symlinks. The answer can go stale between this check and
/// the upstream's `open` (a link swapped in between); that race is not ours to
/// win in user space and is covered by the kernel sandbox, which enforces the
/// same zones at `open` time.
///
/// A relative `path` is taken as rooted at `/` (call [`lexical_path`] first).
/// With more than [`MAX_PATH_COMPONENTS`] components, no I/O is done and the
/// lexically cleaned path is returned. Components that cannot be examined
/// (permission denied, loops) are kept as written.
pub fn resolve_existing(path: &Path) -> PathBuf {
    let mut parts: Vec<OsString> = path
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .map(|p| OsStr::from_bytes(p).to_os_string())
        .collect();

    for _ in 0..=MAX_SYMLINK_HOPS {
        if parts.len() > MAX_PATH_COMPONENTS {
            break;
        }
        let (resolved, base) = longest_resolving_prefix(&parts);
        // `resolved` never exceeds `parts.len()`.
        let rest = parts.get(resolved..).unwrap_or_default();
        if let Some((first, tail)) = rest.split_first().filter(|(p, _)| p.as_bytes() != b"..") {
            if let Ok(target) = std::fs::read_link(base.join(first)) {
                let mut next = Vec::new();
                if !target.is_absolute() {
                    next.extend(base.iter().skip(1).map(OsStr::to_os_string));
                }
                next.extend(
                    target
                        .as_os_str()
                        .as_bytes()
                        .split(|b| *b == b'/')
                        .filter(|p| !p.is_empty() && *p != b".")
                        .map(|p| OsStr::from_bytes(p).to_os_string()),
                );
                next.extend(tail.iter().cloned());
                parts = next;
                continue;
            }
        }
        return join_lexically(base, rest);
    }
    join_lexically(PathBuf::from("/"), &parts)
}

/// The number of leading `parts` that resolve, and their canonical path.
pub fn longest_resolving_prefix(parts: &[OsString]) -> (usize, PathBuf) {
    let prefix = |n: usize| -> PathBuf {
        let mut p = PathBuf::from("/");
        p.extend(parts.iter().take(n));
        p
    };
    let root = PathBuf::from("/");
    if let Ok(full) = std::fs::canonicalize(prefix(parts.len())) {
        return (parts.len(), full);
    }
    // Invariant: `lo` resolves to `lo_path`, `hi` does not.
    let (mut lo, mut hi) = (0, parts.len());
    let mut lo_path = std::fs::canonicalize(&root).unwrap_or(root);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match std::fs::canonicalize(prefix(mid)) {
            Ok(p) => {
                lo = mid;
                lo_path = p;
            }
            Err(_) => hi = mid,
        }
    }
    (lo, lo_path)
}

pub fn join_lexically(mut base: PathBuf, rest: &[OsString]) -> PathBuf {
    for part in rest {
        if part.as_bytes() == b".." {
            base.pop();
        } else {
            base.push(part);
        }
    }
    base
}
