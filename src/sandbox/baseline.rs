//! The runtime baseline: the paths a server needs just to start (loader,
//! libraries, CA certificates, its own installation), added by the sandbox and
//! never by widening a safe zone.
//!
//! `Plan::build` calls [`compute`] with the resolved program and the argv; the
//! result is a list of [`BaselineEntry`] (path, access, why) that becomes
//! Landlock rules and is printed by `Plan::explain`. Everything here is a pure
//! function of the command line and what exists on disk, so it is unit-tested
//! without a kernel.
//!
//! # Warning
//! Never add a whole home directory, `/root`, `~/.ssh` or `/etc/shadow` here:
//! [`is_forbidden`] rejects such paths, and a rejected path is silently left
//! out (the server then fails loudly with EACCES instead of seeing secrets).

use std::path::{Component, Path, PathBuf};

/// What a baseline or zone path grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read files, list directories, execute programs.
    Read,
    /// Everything except execute: create, write, truncate, remove, rename.
    Write,
    /// Read and write an existing file (device nodes such as `/dev/null`).
    ReadWriteFile,
}

/// One path of the runtime baseline and why it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineEntry {
    pub path: PathBuf,
    pub access: Access,
    pub reason: String,
}

/// The kind of program, which decides what extra paths it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Node,
    Python,
    Shell,
    Git,
    Native,
}

impl Runtime {
    /// Classifies a program by its file name (`python3.11` → Python).
    pub fn of(program: &Path) -> Runtime {
        let name = program
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match name {
            "node" | "nodejs" | "npx" | "npm" | "corepack" => Runtime::Node,
            "sh" | "bash" | "dash" | "zsh" | "ash" | "ksh" => Runtime::Shell,
            "git" => Runtime::Git,
            n if n.starts_with("python") || n.starts_with("pip") => Runtime::Python,
            _ => Runtime::Native,
        }
    }
}

/// Paths every program needs, with the reason shown by `explain`.
const SYSTEM: &[(&str, Access, &str)] = &[
    ("/usr", Access::Read, "system programs and shared libraries"),
    (
        "/lib",
        Access::Read,
        "shared libraries (often a link into /usr)",
    ),
    ("/lib64", Access::Read, "the dynamic loader on x86_64"),
    (
        "/bin",
        Access::Read,
        "system programs (often a link into /usr)",
    ),
    (
        "/sbin",
        Access::Read,
        "system programs (often a link into /usr)",
    ),
    ("/etc/ld.so.cache", Access::Read, "dynamic loader cache"),
    ("/etc/localtime", Access::Read, "local time zone"),
    (
        "/etc/nsswitch.conf",
        Access::Read,
        "name service switch (getaddrinfo)",
    ),
    ("/etc/host.conf", Access::Read, "resolver configuration"),
    ("/etc/hosts", Access::Read, "static host names"),
    (
        "/etc/resolv.conf",
        Access::Read,
        "DNS resolver configuration",
    ),
    (
        "/etc/gai.conf",
        Access::Read,
        "getaddrinfo address ordering",
    ),
    ("/etc/ssl/certs", Access::Read, "CA certificates for TLS"),
    (
        "/etc/ssl/openssl.cnf",
        Access::Read,
        "OpenSSL configuration",
    ),
    ("/etc/pki", Access::Read, "CA certificates (Red Hat layout)"),
    ("/dev/null", Access::ReadWriteFile, "discarding output"),
    ("/dev/zero", Access::Read, "zero-filled reads"),
    ("/dev/urandom", Access::Read, "randomness"),
    ("/dev/random", Access::Read, "randomness"),
];

/// `/etc` entries matched by prefix (`ld.so.conf`, `ld.so.conf.d`, `ca-certificates.conf`, ...).
const SYSTEM_PREFIXES: &[(&str, &str)] = &[
    ("ld.so.conf", "dynamic loader search path"),
    ("ca-certificates", "CA certificate configuration"),
];

/// Computes the baseline for `argv` whose `argv[0]` resolved to `program`.
/// `cwd` resolves relative script paths. Entries that do not exist are skipped.
pub fn compute(program: &Path, argv: &[String], cwd: &Path) -> Vec<BaselineEntry> {
    let mut out = Vec::new();
    for (path, access, reason) in SYSTEM {
        push(&mut out, PathBuf::from(path), *access, reason);
    }
    if let Ok(dir) = std::fs::read_dir("/etc") {
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            if let Some((_, reason)) = SYSTEM_PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
                push(
                    &mut out,
                    Path::new("/etc").join(&name),
                    Access::Read,
                    reason,
                );
            }
        }
    }
    program_entries(&mut out, program, argv, cwd);
    out
}

/// Adds the program's installation, its interpreter (via the shebang) and the
/// script package it runs.
///
/// A `#!` script (an npm bin such as `node_modules/.bin/mcp-server-filesystem`,
/// a console script in a venv) is the script itself: its package tree is
/// granted from its real path, and its interpreter's installation too.
fn program_entries(out: &mut Vec<BaselineEntry>, program: &Path, argv: &[String], cwd: &Path) {
    let real = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    if let Some(interp) = shebang_interpreter(&real) {
        interpreter_entries(out, &interp);
        script_entries(out, program, &real, Runtime::of(&interp));
        // `#!/usr/bin/env node` with arguments of its own is rare; the
        // script's own arguments are the server's, never a script to grant.
        return;
    }
    interpreter_entries(out, program);
    let runtime = Runtime::of(&real).max_with(Runtime::of(program));
    if runtime == Runtime::Git {
        push(
            out,
            "/etc/gitconfig".into(),
            Access::Read,
            "system git configuration",
        );
    }
    if matches!(runtime, Runtime::Node | Runtime::Python | Runtime::Shell) {
        if let Some(script) = script_argument(runtime, argv.get(1..).unwrap_or_default(), cwd) {
            script_entries(out, &script, &script, runtime);
        }
    }
}

/// An interpreter or native program: its installation prefix (or, under a
/// home directory, only its version manager's version directory, else the
/// file alone), and the venv it belongs to.
fn interpreter_entries(out: &mut Vec<BaselineEntry>, program: &Path) {
    let real = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    match install_prefix(&real) {
        Some(Prefix::Dir(prefix, reason)) => push(out, prefix, Access::Read, reason),
        Some(Prefix::File) => push(
            out,
            real.clone(),
            Access::Read,
            "the program itself (its directory is under a home directory)",
        ),
        None => {}
    }
    // A venv's bin/python is a link to the base interpreter; the venv itself
    // (pyvenv.cfg, site-packages) sits next to the unresolved path.
    for p in [program, real.as_path()] {
        if let Some(venv) = venv_root(p) {
            push(
                out,
                venv,
                Access::Read,
                "the program's Python virtual environment",
            );
        }
    }
}

/// The package a script belongs to (npm tree, site-packages, venv), or the
/// script alone.
fn script_entries(out: &mut Vec<BaselineEntry>, program: &Path, real: &Path, runtime: Runtime) {
    for p in [program, real] {
        if let Some(venv) = venv_root(p) {
            push(
                out,
                venv,
                Access::Read,
                "the script's Python virtual environment",
            );
            return;
        }
    }
    match package_root(runtime, real) {
        Some(root) => push(
            out,
            root,
            Access::Read,
            "the package of the script the interpreter runs",
        ),
        None => push(
            out,
            real.to_path_buf(),
            Access::Read,
            "the script the interpreter runs",
        ),
    }
}

impl Runtime {
    /// Prefers a specific runtime over `Native` (a `python3` link to a
    /// versioned binary keeps its family).
    fn max_with(self, other: Runtime) -> Runtime {
        if self == Runtime::Native {
            other
        } else {
            self
        }
    }
}

/// What to grant for a program outside the system directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefix {
    /// This directory, for this reason.
    Dir(PathBuf, &'static str),
    /// Only the program file: it lives under a home directory, outside any
    /// version directory vanguard recognises.
    File,
}

/// Version directories of language version managers and tool installers,
/// relative to a home directory: a sequence of fixed components, then the
/// number of components that name the version.
const VERSION_DIRS: &[(&[&str], usize, &str)] = &[
    (
        &[".nvm", "versions", "node"],
        1,
        "the nvm version directory of the interpreter",
    ),
    (
        &[".local", "share", "fnm", "node-versions"],
        2,
        "the fnm version directory of the interpreter",
    ),
    (
        &[".fnm", "node-versions"],
        2,
        "the fnm version directory of the interpreter",
    ),
    (
        &[".volta", "tools", "image", "node"],
        1,
        "the volta version directory of the interpreter",
    ),
    (
        &[".asdf", "installs"],
        2,
        "the asdf version directory of the interpreter",
    ),
    (
        &[".local", "share", "mise", "installs"],
        2,
        "the mise version directory of the interpreter",
    ),
    (
        &[".pyenv", "versions"],
        1,
        "the pyenv version directory of the interpreter",
    ),
    (
        &[".nodenv", "versions"],
        1,
        "the nodenv version directory of the interpreter",
    ),
    (
        &[".local", "share", "uv", "python"],
        1,
        "the uv-managed Python installation",
    ),
    (&[".rustup", "toolchains"], 1, "the rustup toolchain"),
    (&[".bun"], 0, "bun's installation"),
    (&[".deno"], 0, "deno's installation"),
];

/// The prefix that holds a program and its libraries, when it is not already
/// in the system baseline: `/opt/x/bin/tool` → `/opt/x`. Under a home
/// directory only a version manager's version directory counts
/// (`~/.nvm/versions/node/v22.1.0`); anything else there is granted as the
/// file alone, never a prefix like `~/.local` or `~/.cargo` that holds
/// credentials next to programs.
pub fn install_prefix(real: &Path) -> Option<Prefix> {
    if under_system(real) {
        return None;
    }
    if let Some(home) = home_of(real) {
        let rel: Vec<_> = real.strip_prefix(&home).ok()?.components().collect();
        for (fixed, version_parts, reason) in VERSION_DIRS {
            let n = fixed.len() + version_parts;
            let matches = rel.len() > n
                && rel
                    .iter()
                    .zip(fixed.iter())
                    .all(|(c, f)| c.as_os_str() == *f);
            if matches {
                let dir: PathBuf = rel.iter().take(n).collect();
                return Some(Prefix::Dir(home.join(dir), reason));
            }
        }
        return Some(Prefix::File);
    }
    let dir = real.parent()?;
    let prefix = if dir.file_name().is_some_and(|n| n == "bin") {
        dir.parent()?.to_path_buf()
    } else {
        dir.to_path_buf()
    };
    Some(Prefix::Dir(prefix, "the program's installation prefix"))
}

/// The home directory `path` is under: `$HOME`, `/root` or `/home/NAME`.
pub fn home_of(path: &Path) -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        if home != Path::new("/") && path.starts_with(&home) {
            return Some(home);
        }
    }
    if path.starts_with("/root") {
        return Some(PathBuf::from("/root"));
    }
    let mut comps = path.components();
    match (comps.next(), comps.next(), comps.next()) {
        (Some(Component::RootDir), Some(h), Some(user)) if h.as_os_str() == "home" => {
            Some(Path::new("/home").join(user.as_os_str()))
        }
        _ => None,
    }
}

fn under_system(path: &Path) -> bool {
    ["/usr", "/bin", "/sbin", "/lib", "/lib64"]
        .iter()
        .any(|p| path.starts_with(p))
}

fn venv_root(program: &Path) -> Option<PathBuf> {
    let bin = program.parent()?;
    let root = bin.parent()?;
    root.join("pyvenv.cfg")
        .is_file()
        .then(|| root.to_path_buf())
}

/// The interpreter named by a `#!` line, resolving `/usr/bin/env NAME` via PATH.
pub fn shebang_interpreter(program: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(program).ok()?.read(&mut head).ok()?;
    let text = std::str::from_utf8(head.get(..n)?).ok()?;
    let line = text.strip_prefix("#!")?.lines().next()?;
    let mut words = line.split_whitespace();
    let interp = PathBuf::from(words.next()?);
    if interp.file_name().is_some_and(|n| n == "env") {
        let name = words.find(|w| !w.starts_with('-'))?;
        return super::resolve_program(name).ok();
    }
    Some(interp)
}

/// The script an interpreter will run: the first non-option argument that is
/// an existing file. `-c`/`-e`/`-m` mean inline code or a module: no script.
pub fn script_argument(runtime: Runtime, args: &[String], cwd: &Path) -> Option<PathBuf> {
    for arg in args {
        match (runtime, arg.as_str()) {
            (_, "-c") | (Runtime::Node, "-e" | "-p" | "--eval" | "--print") => return None,
            (Runtime::Python, "-m") => return None,
            (_, a) if a.starts_with('-') => continue,
            (_, a) => {
                let path = cwd.join(a);
                return std::fs::canonicalize(&path).ok().filter(|p| p.is_file());
            }
        }
    }
    None
}

/// The directory a script's code and dependencies live in: the outermost
/// `node_modules`'s parent, the nearest `package.json` (node), the nearest
/// `site-packages` or venv (python). `None` when nothing marks a package.
pub fn package_root(runtime: Runtime, script: &Path) -> Option<PathBuf> {
    let mut dirs = script.ancestors().skip(1);
    match runtime {
        Runtime::Node => {
            let comps: Vec<Component> = script.components().collect();
            if let Some(i) = comps.iter().position(|c| c.as_os_str() == "node_modules") {
                let modules: PathBuf = comps.iter().take(i + 1).collect();
                // A global prefix (`PREFIX/lib/node_modules/PKG`) holds every
                // globally installed package, each with its own dependencies
                // inside it: grant only this one.
                let global = modules.parent().is_some_and(|lib| {
                    lib.file_name().is_some_and(|n| n == "lib")
                        && lib.parent().is_some_and(|p| p.join("bin").is_dir())
                });
                if global {
                    let scoped = comps
                        .get(i + 1)
                        .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with('@'));
                    let take = if scoped { i + 3 } else { i + 2 };
                    if comps.len() > take {
                        return Some(comps.iter().take(take).collect());
                    }
                }
                return Some(modules);
            }
            dirs.find(|d| d.join("package.json").is_file())
                .map(Path::to_path_buf)
        }
        Runtime::Python => dirs
            .find(|d| {
                d.file_name().is_some_and(|n| n == "site-packages")
                    || d.join("pyvenv.cfg").is_file()
                    || d.join("pyproject.toml").is_file()
            })
            .map(Path::to_path_buf),
        _ => None,
    }
}

/// Paths the baseline must never grant, whatever the command looks like.
pub fn is_forbidden(path: &Path) -> bool {
    // Credential stores and configuration directories, as path components.
    const SECRET_PARTS: &[&str] = &[
        ".ssh",
        ".gnupg",
        ".aws",
        ".azure",
        ".kube",
        ".docker",
        ".config",
        ".netrc",
        ".npmrc",
        ".pypirc",
        ".git-credentials",
        ".password-store",
        "keyrings",
        "credentials.toml",
        "credentials",
        ".vault-token",
    ];
    if path == Path::new("/") || path == Path::new("/root") || path == Path::new("/home") {
        return true;
    }
    if path.parent() == Some(Path::new("/home")) {
        return true;
    }
    if let Some(home) = std::env::var_os("HOME") {
        if path == Path::new(&home) {
            return true;
        }
    }
    if [
        "/etc",
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/passwd",
        "/proc",
        "/sys",
    ]
    .iter()
    .any(|p| path == Path::new(p))
    {
        return true;
    }
    path.components()
        .any(|c| SECRET_PARTS.iter().any(|s| c.as_os_str() == *s))
}

fn push(out: &mut Vec<BaselineEntry>, path: PathBuf, access: Access, reason: &str) {
    if is_forbidden(&path) || !path.exists() {
        return;
    }
    if out.iter().any(|e| e.path == path && e.access == access) {
        return;
    }
    out.push(BaselineEntry {
        path,
        access,
        reason: reason.to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn classifies_runtimes() {
        assert_eq!(
            Runtime::of(Path::new("/usr/bin/python3.11")),
            Runtime::Python
        );
        assert_eq!(Runtime::of(Path::new("/usr/bin/node")), Runtime::Node);
        assert_eq!(Runtime::of(Path::new("/bin/sh")), Runtime::Shell);
        assert_eq!(Runtime::of(Path::new("/usr/bin/git")), Runtime::Git);
        assert_eq!(Runtime::of(Path::new("/bin/true")), Runtime::Native);
    }

    #[test]
    fn never_grants_homes_or_secrets() {
        assert!(is_forbidden(Path::new("/root")));
        assert!(is_forbidden(Path::new("/home/alice")));
        assert!(is_forbidden(Path::new("/home/alice/.ssh/keys")));
        assert!(is_forbidden(Path::new("/etc/shadow")));
        assert!(is_forbidden(Path::new("/etc/passwd")));
        assert!(is_forbidden(Path::new("/")));
        assert!(!is_forbidden(Path::new("/root/.pyenv/versions/3.11.7")));
        assert!(!is_forbidden(Path::new("/usr")));
    }

    #[test]
    fn system_baseline_has_loader_and_no_passwd() {
        let b = compute(
            Path::new("/bin/true"),
            &strings(&["/bin/true"]),
            Path::new("/"),
        );
        assert!(b.iter().any(|e| e.path == Path::new("/usr")));
        assert!(b
            .iter()
            .any(|e| e.path == Path::new("/dev/null") && e.access == Access::ReadWriteFile));
        assert!(!b.iter().any(|e| e.path == Path::new("/etc/passwd")));
        assert!(!b.iter().any(|e| e.path == Path::new("/etc/shadow")));
    }

    fn dir(p: Option<Prefix>) -> Option<PathBuf> {
        match p {
            Some(Prefix::Dir(d, _)) => Some(d),
            _ => None,
        }
    }

    #[test]
    fn prefix_of_program_outside_usr() {
        assert_eq!(
            dir(install_prefix(Path::new(
                "/root/.pyenv/versions/3.11.7/bin/python3.11"
            ))),
            Some(PathBuf::from("/root/.pyenv/versions/3.11.7"))
        );
        assert_eq!(install_prefix(Path::new("/usr/bin/node")), None);
        assert_eq!(
            dir(install_prefix(Path::new("/opt/tool/tool"))),
            Some(PathBuf::from("/opt/tool"))
        );
        assert_eq!(
            dir(install_prefix(Path::new("/opt/x/bin/tool"))),
            Some(PathBuf::from("/opt/x"))
        );
    }

    #[test]
    fn under_home_only_version_directories_are_prefixes() {
        for (program, want) in [
            (
                "/home/u/.nvm/versions/node/v22.1.0/bin/node",
                "/home/u/.nvm/versions/node/v22.1.0",
            ),
            (
                "/home/u/.local/share/fnm/node-versions/v20.0.0/installation/bin/node",
                "/home/u/.local/share/fnm/node-versions/v20.0.0/installation",
            ),
            (
                "/home/u/.volta/tools/image/node/22.0.0/bin/node",
                "/home/u/.volta/tools/image/node/22.0.0",
            ),
            (
                "/home/u/.asdf/installs/nodejs/22.0.0/bin/node",
                "/home/u/.asdf/installs/nodejs/22.0.0",
            ),
            (
                "/home/u/.local/share/mise/installs/python/3.12.1/bin/python3",
                "/home/u/.local/share/mise/installs/python/3.12.1",
            ),
            (
                "/home/u/.local/share/uv/python/cpython-3.12.8-linux-x86_64-gnu/bin/python3.12",
                "/home/u/.local/share/uv/python/cpython-3.12.8-linux-x86_64-gnu",
            ),
        ] {
            assert_eq!(
                dir(install_prefix(Path::new(program))),
                Some(PathBuf::from(want)),
                "{program}"
            );
        }
        // Never the parent of a bin/ under HOME: ~/.cargo holds credentials.toml,
        // ~/.local holds keyrings and shell history lives in HOME.
        for program in [
            "/home/u/.cargo/bin/tool",
            "/home/u/.local/bin/uvx",
            "/root/bin/x",
            "/home/u/.nvm/nvm.sh",
        ] {
            assert_eq!(
                install_prefix(Path::new(program)),
                Some(Prefix::File),
                "{program}"
            );
        }
        assert!(is_forbidden(Path::new("/home/u/.cargo/credentials.toml")));
        assert!(is_forbidden(Path::new("/home/u/.npmrc")));
    }

    #[test]
    fn a_bin_script_grants_its_package_tree() {
        // `mcp-server-x` on PATH is node_modules/.bin/mcp-server-x, a link to
        // the package's dist/index.js with `#!/usr/bin/env node`.
        let d = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(d.path()).expect("canon");
        let dist = root.join("proj/node_modules/@x/server/dist");
        std::fs::create_dir_all(&dist).expect("mkdir");
        std::fs::write(dist.join("index.js"), "#!/usr/bin/env node\n").expect("w");
        std::fs::create_dir_all(root.join("proj/node_modules/.bin")).expect("mkdir");
        std::os::unix::fs::symlink(
            "../@x/server/dist/index.js",
            root.join("proj/node_modules/.bin/mcp-server-x"),
        )
        .expect("link");
        let b = compute(
            &root.join("proj/node_modules/.bin/mcp-server-x"),
            &strings(&["mcp-server-x", "/data"]),
            Path::new("/"),
        );
        assert!(
            b.iter().any(|e| e.path == root.join("proj/node_modules")),
            "{b:#?}"
        );
    }

    #[test]
    fn node_script_package_is_outermost_node_modules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pkg = dir.path().join("app/node_modules/@x/server/dist");
        std::fs::create_dir_all(&pkg).expect("mkdir");
        std::fs::write(pkg.join("index.js"), "").expect("write");
        let script = script_argument(
            Runtime::Node,
            &strings(&[
                "--no-warnings",
                "app/node_modules/@x/server/dist/index.js",
                "/data",
            ]),
            dir.path(),
        )
        .expect("script found");
        let root = package_root(Runtime::Node, &script).expect("root");
        let expected = std::fs::canonicalize(dir.path())
            .expect("canon")
            .join("app/node_modules");
        assert_eq!(root, expected);
    }

    #[test]
    fn a_global_prefix_grants_only_the_package() {
        let d = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(d.path()).expect("canon");
        let dist = root.join("prefix/lib/node_modules/@x/server/dist");
        std::fs::create_dir_all(&dist).expect("mkdir");
        std::fs::create_dir_all(root.join("prefix/bin")).expect("mkdir");
        std::fs::write(dist.join("index.js"), "").expect("w");
        assert_eq!(
            package_root(Runtime::Node, &dist.join("index.js")),
            Some(root.join("prefix/lib/node_modules/@x/server"))
        );
    }

    #[test]
    fn node_script_package_is_nearest_package_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("srv/src");
        std::fs::create_dir_all(&src).expect("mkdir");
        std::fs::write(dir.path().join("srv/package.json"), "{}").expect("write");
        std::fs::write(src.join("main.js"), "").expect("write");
        let root = package_root(Runtime::Node, &src.join("main.js")).expect("root");
        assert_eq!(root, dir.path().join("srv"));
    }

    #[test]
    fn inline_code_has_no_script() {
        assert_eq!(
            script_argument(
                Runtime::Python,
                &strings(&["-c", "/etc/hosts"]),
                Path::new("/")
            ),
            None
        );
        assert_eq!(
            script_argument(Runtime::Node, &strings(&["-e", "1"]), Path::new("/")),
            None
        );
        assert_eq!(
            script_argument(
                Runtime::Python,
                &strings(&["-m", "http.server"]),
                Path::new("/")
            ),
            None
        );
    }

    #[test]
    fn python_script_package_is_site_packages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pkg = dir.path().join("venv/lib/python3.11/site-packages/srv");
        std::fs::create_dir_all(&pkg).expect("mkdir");
        std::fs::write(dir.path().join("venv/pyvenv.cfg"), "").expect("write");
        std::fs::write(pkg.join("__main__.py"), "").expect("write");
        let root = package_root(Runtime::Python, &pkg.join("__main__.py")).expect("root");
        assert_eq!(root, dir.path().join("venv/lib/python3.11/site-packages"));
    }
}
