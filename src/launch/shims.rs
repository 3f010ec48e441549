//! Version-manager shims, resolved to the real program outside the sandbox.
//!
//! pyenv, asdf, nodenv, rbenv, goenv and mise put shims on `PATH` that run
//! the manager to pick a version (from `.python-version`, `.tool-versions`,
//! … in the working directory); volta's are links to `volta-shim`. Inside
//! the sandbox the manager would need its whole home directory, so vanguard
//! asks the manager itself, here, which program the shim would run, and
//! runs that program instead. nvm and fnm need nothing: their `PATH` entries
//! are the version directories (fnm's through a link that canonicalises to
//! one).

use super::{tool_output, LaunchError};
use std::path::{Path, PathBuf};

/// The manager behind a shim, if `found` is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shim {
    /// The manager's program (found next to its shims or in `PATH`).
    pub manager: PathBuf,
    /// Its name (`pyenv`, `asdf`, `mise`, `volta`, …).
    pub name: &'static str,
}

const SHIM_DIR_MANAGERS: &[(&str, &str)] = &[
    (".pyenv", "pyenv"),
    (".asdf", "asdf"),
    (".nodenv", "nodenv"),
    (".rbenv", "rbenv"),
    (".goenv", "goenv"),
    ("mise", "mise"),
    ("rtx", "mise"),
];

/// Recognises a shim: a file in a `shims` directory of a known manager,
/// or a link to `volta-shim` or to the `mise` binary.
pub fn detect(found: &Path) -> Option<Shim> {
    let real = std::fs::canonicalize(found).ok()?;
    let real_name = real.file_name()?.to_str()?;
    if real_name == "volta-shim" {
        let manager = real.with_file_name("volta");
        return Some(Shim {
            manager: existing_or_path(manager, "volta")?,
            name: "volta",
        });
    }
    let dir = found.parent()?;
    if real_name == "mise" && found.file_name()? != "mise" {
        return Some(Shim {
            manager: real,
            name: "mise",
        });
    }
    if dir.file_name()? != "shims" {
        return None;
    }
    let root = dir.parent()?;
    let root_name = root.file_name()?.to_str()?;
    let (_, name) = SHIM_DIR_MANAGERS
        .iter()
        .find(|(dir_name, _)| root_name == *dir_name || root_name.ends_with(dir_name))?;
    let candidates = [root.join("bin").join(name), root.join("libexec").join(name)];
    let manager = candidates
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| crate::sandbox::resolve_program(name).ok())?;
    Some(Shim { manager, name })
}

fn existing_or_path(p: PathBuf, name: &str) -> Option<PathBuf> {
    if p.is_file() {
        Some(p)
    } else {
        crate::sandbox::resolve_program(name).ok()
    }
}

/// The program the shim `found` (for command `name`) runs in `cwd`.
pub fn real_program(shim: &Shim, name: &str, cwd: &Path) -> Result<PathBuf, LaunchError> {
    let out = tool_output(&shim.manager, &["which", name], cwd, None).map_err(|detail| {
        LaunchError::Shim {
            manager: shim.name.to_string(),
            program: name.to_string(),
            detail,
        }
    })?;
    let line = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let path = PathBuf::from(line.trim());
    if !path.is_absolute() || !path.is_file() {
        return Err(LaunchError::Shim {
            manager: shim.name.to_string(),
            program: name.to_string(),
            detail: format!(
                "`{} which {name}` answered {line:?}, not a program",
                shim.name
            ),
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(path: &Path, body: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, body).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn pyenv_shim_is_asked_which_program() {
        let home = tempfile::tempdir().expect("tempdir");
        let real = home.path().join(".pyenv/versions/3.12.1/bin/python3");
        script(&real, "#!/bin/sh\n");
        let manager = home.path().join(".pyenv/bin/pyenv");
        script(
            &manager,
            &format!("#!/bin/sh\n[ \"$1\" = which ] && echo {}\n", real.display()),
        );
        let shim = home.path().join(".pyenv/shims/python3");
        script(&shim, "#!/bin/sh\nexec pyenv exec python3 \"$@\"\n");
        let s = detect(&shim).expect("a shim");
        assert_eq!(s.name, "pyenv");
        assert_eq!(s.manager, manager);
        assert_eq!(
            real_program(&s, "python3", home.path()).expect("which"),
            real
        );
    }

    #[test]
    fn plain_programs_are_not_shims() {
        assert_eq!(detect(Path::new("/bin/sh")), None);
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("shims/tool");
        script(&p, "#!/bin/sh\n");
        assert_eq!(detect(&p), None, "a shims dir of no known manager");
    }

    #[test]
    fn a_manager_that_fails_is_named() {
        let home = tempfile::tempdir().expect("tempdir");
        script(
            &home.path().join(".asdf/bin/asdf"),
            "#!/bin/sh\necho 'No version set' >&2\nexit 126\n",
        );
        let shim = home.path().join(".asdf/shims/node");
        script(&shim, "#!/bin/sh\n");
        let s = detect(&shim).expect("a shim");
        let e = real_program(&s, "node", home.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("asdf") && e.contains("No version set"), "{e}");
    }
}
