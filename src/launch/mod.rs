//! Launchers: how the server command lines users already have
//! (`npx -y PKG`, `uvx PKG`, an npm or venv bin, a version-manager shim)
//! become a program that runs **offline** inside the sandbox.
//!
//! ```text
//! argv ──parse──▶ Launch ──resolve──▶ Resolved { argv to run, read grants, explanation }
//!                   │ Npm / Python: pin (pins.json) → install the exact version into
//!                   │   the cache with the package manager itself → verify the tree
//!                   │ Program: shims → real interpreter; python modules → site-packages
//!                   └ Container: run as given, never sandboxed
//! ```
//!
//! Everything that needs the network or the user's package-manager
//! configuration (`.npmrc`, `pip.conf`, `uv.toml`) happens here, in
//! vanguard's own process, before the sandbox exists; the server then sees
//! the installed tree read-only and nothing else of the cache or of HOME.
//!
//! # Warning
//! A package's install scripts are not run (`--ignore-scripts`): they would
//! run outside any sandbox. `[server] install_scripts = true` allows them
//! for packages that need a build step; vanguard names such packages.

mod npm;
pub mod parse;
mod provenance;
mod python;
pub mod shims;
pub mod tree;

pub use parse::{parse, Launch, VersionReq};

use crate::pins::{PackagePin, PackageVersion, PinStore};
use crate::sandbox::{Access, BaselineEntry};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a server command resolved to.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The command line as configured (tool pins and audit use it).
    pub original: Vec<String>,
    /// What runs inside the sandbox.
    pub argv: Vec<String>,
    /// Read grants the launcher adds to the runtime baseline (the package
    /// tree, a user site-packages), each with its reason.
    pub grants: Vec<BaselineEntry>,
    /// How the command was understood, for `policy explain` and logs.
    pub explain: Vec<String>,
    /// The package behind the command, when a launcher installed one.
    pub package: Option<PackageRef>,
    /// A container launcher: the reason the sandbox cannot hold it.
    pub unsandboxable: Option<String>,
    /// Environment the server needs under a sandbox, set unless the
    /// profile sets the variable itself ([`SERVER_DEFAULTS`]).
    pub env_defaults: Vec<(String, String)>,
}

/// Where known servers write by default, and where they should under
/// vanguard: their package tree is read-only in the sandbox, so a server
/// that keeps its data next to its code (server-memory's `memory.jsonl`)
/// would fail with EACCES. Paths are relative to the server's working
/// directory (the workspace), as the shipped server profiles do it.
pub const SERVER_DEFAULTS: &[(&str, &str, &str)] = &[(
    "npm:@modelcontextprotocol/server-memory",
    "MEMORY_FILE_PATH",
    "memory.json",
)];

impl Resolved {
    /// The command run as given (no launcher recognised, or nothing resolved).
    pub fn as_given(argv: &[String]) -> Resolved {
        Resolved {
            original: argv.to_vec(),
            argv: argv.to_vec(),
            grants: Vec::new(),
            explain: Vec::new(),
            package: None,
            unsandboxable: None,
            env_defaults: Vec::new(),
        }
    }
}

/// The package a launcher resolved and pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    /// `npm:NAME` or `pypi:NAME` (the pin key).
    pub key: String,
    pub version: String,
    pub tree: PathBuf,
    pub tree_sha256: String,
}

/// How far [`resolve`] may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Install what is missing (start, run, sse, fetch).
    Install,
    /// Never run a package manager or write anything: report what is in the
    /// cache (`policy explain`, `doctor`).
    Describe,
}

/// Where and how to resolve.
#[derive(Debug, Clone)]
pub struct Options {
    /// vanguard's package cache (`$XDG_CACHE_HOME/vanguard`).
    pub cache: PathBuf,
    /// The pin file that holds package pins.
    pub pins: PathBuf,
    /// The server's working directory (version files, `.npmrc` lookups).
    pub cwd: PathBuf,
    pub reach: Reach,
    /// A package seen for the first time needs `vanguard pin approve`
    /// (`[pinning] mode = "require"`).
    pub require_approval: bool,
    /// Run the packages' install scripts (outside the sandbox).
    pub install_scripts: bool,
    /// Re-resolve the requested version against the registry even when a
    /// pin exists; a newer version becomes pending (`vanguard fetch --update`).
    pub update: bool,
    /// Print install progress on stderr.
    pub progress: bool,
    /// `[trust.provenance]`: npm package name → where it must have been built.
    pub provenance: std::collections::BTreeMap<String, crate::trust::store::ProvenanceReq>,
    /// A Sigstore trusted root for provenance instead of the shipped one.
    pub sigstore_root: Option<PathBuf>,
}

impl Options {
    /// The cache directory: `$VANGUARD_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/vanguard`, else `~/.cache/vanguard`.
    pub fn default_cache() -> PathBuf {
        let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        if let Some(p) = std::env::var_os("VANGUARD_CACHE_DIR").and_then(abs) {
            return p;
        }
        if let Some(p) = std::env::var_os("XDG_CACHE_HOME").and_then(abs) {
            return p.join("vanguard");
        }
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"))
            .join(".cache/vanguard")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    #[error("{tool} is needed to install {package} ({launcher}) but was not found in PATH")]
    ManagerMissing {
        tool: String,
        package: String,
        launcher: String,
    },
    #[error("cannot resolve {package}: {detail}\n  vanguard installs packages into its cache ({cache}) before the sandbox starts; on a machine with network run `vanguard fetch --server \"{command}\"` to fill it")]
    Resolve {
        package: String,
        detail: String,
        cache: String,
        command: String,
    },
    #[error("cannot install {package}: {detail}")]
    Install { package: String, detail: String },
    #[error("{package} is pinned at {pinned}; the command asks for {requested}, which is now pending: review it with `vanguard pin diff`, accept it with `vanguard pin approve {key}`")]
    VersionNotApproved {
        package: String,
        key: String,
        pinned: String,
        requested: String,
    },
    #[error("{package} {version} is not pinned and the profile requires approval ([pinning] mode = \"require\"): it is installed and pending; accept it with `vanguard pin approve {key}`")]
    NotApproved {
        package: String,
        key: String,
        version: String,
    },
    #[error("the cached tree of {package} {version} ({tree}) changed since it was pinned; refusing to run it:\n{}\n  remove the tree and run `vanguard fetch` to reinstall the pinned version", files.join("\n"))]
    Tampered {
        package: String,
        version: String,
        tree: String,
        files: Vec<String>,
    },
    #[error("{package}: {detail}")]
    Entry { package: String, detail: String },
    #[error("refusing {package}: {detail}")]
    Provenance { package: String, detail: String },
    #[error("version manager {manager} could not say which {program} to run: {detail}")]
    Shim {
        manager: String,
        program: String,
        detail: String,
    },
    #[error(transparent)]
    Pins(#[from] crate::pins::PinError),
    #[error("package tree: {0}")]
    Tree(#[from] tree::TreeError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError + '_ {
    move |source| LaunchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Resolves a server command line (see the module header).
pub fn resolve(argv: &[String], opts: &Options) -> Result<Resolved, LaunchError> {
    match parse(argv)? {
        Launch::Npm(l) => npm::resolve(argv, &l, opts),
        Launch::Python(l) => python::resolve(argv, &l, opts),
        Launch::Container { runtime } => {
            let mut r = Resolved::as_given(argv);
            let why = format!(
                "{runtime} starts the server in a container through the {runtime} daemon's socket, which is a way out of any sandbox: vanguard inspects this server's messages but cannot sandbox it"
            );
            r.explain
                .push(format!("launcher: {runtime} (container): {why}"));
            r.unsandboxable = Some(why);
            Ok(r)
        }
        Launch::Program => {
            let mut r = program(argv, opts)?;
            if r.env_defaults.is_empty() {
                if let Some(key) = node_package_key(&r.argv) {
                    r.env_defaults = server_defaults(&key, &opts.cwd);
                    for (var, value) in &r.env_defaults {
                        r.explain.push(format!(
                            "env: {var}={value} ({key}'s default keeps it beside its code, read-only in the sandbox)"
                        ));
                    }
                }
            }
            Ok(r)
        }
    }
}

/// The [`SERVER_DEFAULTS`] of the package `key` (`npm:NAME`), as paths
/// under the server's working directory.
pub(crate) fn server_defaults(key: &str, cwd: &Path) -> Vec<(String, String)> {
    SERVER_DEFAULTS
        .iter()
        .filter(|(k, _, _)| *k == key)
        .map(|(_, var, rel)| {
            (
                var.to_string(),
                cwd.join(rel).to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// `npm:NAME` of the package a node program runs (`node …/dist/index.js`,
/// or an installed bin that links to it): the nearest `package.json` above
/// the script that sits in a `node_modules` tree. A server started from its
/// installed entry point gets the same defaults as through `npx`.
fn node_package_key(argv: &[String]) -> Option<String> {
    let prog = argv.first()?;
    let base = Path::new(prog).file_name()?.to_str()?;
    let script = if base == "node" || base == "nodejs" {
        argv.iter().skip(1).find(|a| !a.starts_with('-'))?
    } else {
        prog
    };
    let script = std::fs::canonicalize(script).ok()?;
    let mut dir = script.parent();
    for _ in 0..8 {
        let d = dir?;
        let manifest = d.join("package.json");
        if manifest.is_file() {
            if !d
                .ancestors()
                .any(|a| a.file_name().is_some_and(|n| n == "node_modules"))
            {
                return None;
            }
            let text = std::fs::read_to_string(&manifest).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            return Some(format!("npm:{}", v.get("name")?.as_str()?));
        }
        dir = d.parent();
    }
    None
}

/// A plain program: resolve a version-manager shim to the real program,
/// and find what a Python program imports when it lives outside a venv.
fn program(argv: &[String], opts: &Options) -> Result<Resolved, LaunchError> {
    let mut r = Resolved::as_given(argv);
    let Some(name) = argv.first() else {
        return Ok(r);
    };
    let Ok(found) = crate::sandbox::resolve_program(name) else {
        // The sandbox reports a missing program with its own error.
        return Ok(r);
    };
    let mut real_prog = found.clone();
    if let Some(shim) = shims::detect(&found) {
        let base = found
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(name.as_str());
        let real = match opts.reach {
            Reach::Install => shims::real_program(&shim, base, &opts.cwd)?,
            Reach::Describe => match shims::real_program(&shim, base, &opts.cwd) {
                Ok(p) => p,
                Err(e) => {
                    r.explain.push(format!("shim: {} ({e})", found.display()));
                    return Ok(r);
                }
            },
        };
        r.explain.push(format!(
            "shim: {} is a {} shim; `{} which {base}` runs {}",
            found.display(),
            shim.name,
            shim.name,
            real.display()
        ));
        if let Some(a0) = r.argv.first_mut() {
            *a0 = real.to_string_lossy().into_owned();
        }
        real_prog = real;
    } else if let Some((interp, shim)) = env_shebang_shim(&found) {
        // `#!/usr/bin/env python3` where python3 is a shim: inside the
        // sandbox `env` would find the shim and the shim its manager.
        let interp_name = interp
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let real = shims::real_program(&shim, &interp_name, &opts.cwd)?;
        let script = std::fs::canonicalize(&found).unwrap_or(found.clone());
        r.explain.push(format!(
            "script: {} runs `{interp_name}` through a {} shim; it runs on {}",
            script.display(),
            shim.name,
            real.display()
        ));
        let mut run = vec![
            real.to_string_lossy().into_owned(),
            script.to_string_lossy().into_owned(),
        ];
        run.extend(argv.iter().skip(1).cloned());
        r.argv = run;
        python::module_grants(&found, argv, opts, &mut r);
        return Ok(r);
    }
    if let Some(target) = cmd_shim_target(&real_prog) {
        // pnpm's bins are `sh` scripts that exec node on the package's
        // script: run node on it directly, so the sandbox sees (and grants)
        // the package tree instead of a shell script.
        let node = crate::sandbox::resolve_program("node").map_err(|_| LaunchError::Entry {
            package: real_prog.display().to_string(),
            detail: "a node bin script, but node is not in PATH".into(),
        })?;
        let node = match shims::detect(&node) {
            Some(shim) => shims::real_program(&shim, "node", &opts.cwd)?,
            None => node,
        };
        r.explain.push(format!(
            "bin: {} is a package manager's shell shim for {}",
            real_prog.display(),
            target.display()
        ));
        let mut run = vec![
            node.to_string_lossy().into_owned(),
            target.to_string_lossy().into_owned(),
        ];
        run.extend(argv.iter().skip(1).cloned());
        r.argv = run;
        return Ok(r);
    }
    python::module_grants(&real_prog, argv, opts, &mut r);
    Ok(r)
}

/// The script a pnpm-style `sh` bin shim runs with node
/// (`exec node  "$basedir/../pkg/dist/index.js" "$@"`).
fn cmd_shim_target(shim: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(shim).ok()?.read(&mut head).ok()?;
    let text = std::str::from_utf8(head.get(..n)?).ok()?;
    if !text.starts_with("#!/bin/sh") || !text.contains("basedir=") {
        return None;
    }
    let rel = text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("exec node")?.trim_start();
        let quoted = rest.strip_prefix("\"$basedir/")?;
        let (rel, tail) = quoted.split_once('"')?;
        (tail.trim() == "\"$@\"").then_some(rel)
    })?;
    let target = shim.parent()?.join(rel);
    let real = std::fs::canonicalize(target).ok()?;
    real.is_file().then_some(real)
}

/// A script whose `#!` names `env NAME`, where NAME resolves to a shim.
fn env_shebang_shim(script: &Path) -> Option<(PathBuf, shims::Shim)> {
    let real = std::fs::canonicalize(script).ok()?;
    let interp = crate::sandbox::baseline::shebang_interpreter(&real)?;
    let shim = shims::detect(&interp)?;
    Some((interp, shim))
}

/// Runs a package manager (or a shim's manager) outside the sandbox with
/// the user's environment; returns its stdout, or a one-paragraph error
/// with the end of its stderr.
pub(crate) fn tool_output(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    stdin: Option<&str>,
) -> Result<String, String> {
    tool_output_env(program, args, cwd, stdin, &[])
}

/// [`tool_output`] with variables set unless the user's environment has them.
pub(crate) fn tool_output_env(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    stdin: Option<&str>,
    defaults: &[(&str, &str)],
) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(program);
    for (k, v) in defaults {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    cmd.args(args)
        .current_dir(if cwd.is_dir() { cwd } else { Path::new("/") })
        .env("NO_UPDATE_NOTIFIER", "1")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = || {
        std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", shown()))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(format!(
        "`{}` failed ({}){}{}",
        shown(),
        out.status,
        if tail.is_empty() { "" } else { ":\n    " },
        tail.join("\n    ")
    ))
}

/// What a package launcher needs from its ecosystem module to pin and run
/// a package; [`pinned_tree`] drives it.
pub(crate) trait Ecosystem {
    /// `npm:NAME` / `pypi:NAME`.
    fn key(&self) -> String;
    /// A human name (`@scope/pkg`, `mcp-server-fetch`).
    fn display(&self) -> String;
    fn requested(&self) -> &VersionReq;
    /// Where the tree of `version` lives in the cache.
    fn tree_dir(&self, version: &str) -> Result<PathBuf, LaunchError>;
    /// Asks the registry which exact version `requested` means now.
    fn resolve_version(&self) -> Result<String, LaunchError>;
    /// Installs `version` at `tree_dir(version)` (absent on entry); returns
    /// the registry integrity values of the package itself.
    fn install(&self, version: &str) -> Result<Vec<String>, LaunchError>;
    /// Registry integrity values of an installed tree.
    fn integrity_of(&self, tree: &Path) -> Vec<String>;
    /// Checks the registry signature and provenance attestation of
    /// `version` (`installed`: its integrity values) against `req`; `None`
    /// where the ecosystem has no check here.
    fn provenance(
        &self,
        version: &str,
        installed: &[String],
        req: Option<&crate::trust::store::ProvenanceReq>,
    ) -> Result<Option<crate::pins::ProvenanceRecord>, LaunchError> {
        let _ = (version, installed);
        match req {
            Some(_) => Err(LaunchError::Provenance {
                package: self.display(),
                detail: "[trust.provenance] is checked for npm packages only; remove the entry or run the server from npm".into(),
            }),
            None => Ok(None),
        }
    }
}

/// The `[trust.provenance]` entry for a package, if any.
fn requirement<'a>(
    eco: &dyn Ecosystem,
    opts: &'a Options,
) -> Option<&'a crate::trust::store::ProvenanceReq> {
    opts.provenance.get(&eco.display())
}

/// Makes sure a pinned or about-to-be-pinned version meets its
/// `[trust.provenance]` entry: a record made against the same entry is
/// enough (no network); otherwise the check runs now. Returns whether the
/// record changed.
fn meet_requirement(
    eco: &dyn Ecosystem,
    pv: &mut PackageVersion,
    opts: &Options,
) -> Result<bool, LaunchError> {
    let Some(req) = requirement(eco, opts) else {
        return Ok(false);
    };
    if provenance::satisfies(pv.provenance.as_ref(), req) {
        return Ok(false);
    }
    pv.provenance = eco.provenance(&pv.version, &pv.integrity, Some(req))?;
    Ok(true)
}

/// Decides the version (the pin wins over a range or `latest`), makes sure
/// its tree is in the cache and unchanged, and returns it.
pub(crate) fn pinned_tree(
    eco: &dyn Ecosystem,
    opts: &Options,
    explain: &mut Vec<String>,
) -> Result<Option<PackageVersion>, LaunchError> {
    let store = PinStore::new(&opts.pins);
    let key = eco.key();
    let pin = store.package(&key)?;
    let requested = eco.requested().clone();
    match (&pin, opts.reach) {
        (Some(p), _) => {
            let wanted = match &requested {
                VersionReq::Exact(v) if *v != p.pinned.version => Some(v.clone()),
                _ if opts.update && opts.reach == Reach::Install => {
                    let v = eco.resolve_version()?;
                    (v != p.pinned.version).then_some(v)
                }
                _ => None,
            };
            if let Some(v) = wanted {
                if opts.reach == Reach::Describe {
                    explain.push(format!(
                        "package: {} pinned at {}; the command asks for {v}, which needs approval",
                        eco.display(),
                        p.pinned.version
                    ));
                    return Ok(None);
                }
                let seen = ensure_installed(eco, &v, opts)?;
                store.update(|f| {
                    if let Some(e) = f.packages.get_mut(&key) {
                        e.pending = Some(seen.clone());
                    }
                })?;
                return Err(LaunchError::VersionNotApproved {
                    package: eco.display(),
                    key,
                    pinned: p.pinned.version.clone(),
                    requested: v,
                });
            }
            explain.push(format!(
                "package: {} {} (pinned {}; asked for {requested})",
                eco.display(),
                p.pinned.version,
                short(&p.pinned.tree_sha256)
            ));
            if opts.reach == Reach::Describe {
                return Ok(p.pinned.tree.is_dir().then(|| p.pinned.clone()));
            }
            if !p.pinned.tree.is_dir() {
                // The cache was cleared: install the pinned version again;
                // the result must be the very tree that was pinned.
                let again = ensure_installed(eco, &p.pinned.version, opts)?;
                if again.tree_sha256 != p.pinned.tree_sha256 {
                    store.update(|f| {
                        if let Some(e) = f.packages.get_mut(&key) {
                            e.pending = Some(again.clone());
                        }
                    })?;
                    return Err(LaunchError::Install {
                        package: eco.display(),
                        detail: format!(
                            "the cached tree was gone; a fresh install of {} differs from the pinned tree (its dependencies moved): review with `vanguard pin diff`, accept with `vanguard pin approve {key}`",
                            p.pinned.version
                        ),
                    });
                }
            }
            verify(eco, &p.pinned, opts)?;
            let mut pinned = p.pinned.clone();
            if meet_requirement(eco, &mut pinned, opts)? {
                store.update(|f| {
                    if let Some(e) = f.packages.get_mut(&key) {
                        e.pinned.provenance = pinned.provenance.clone();
                    }
                })?;
            }
            explain_provenance(eco, &pinned, explain);
            Ok(Some(pinned))
        }
        (None, Reach::Describe) => {
            explain.push(format!(
                "package: {} ({requested}) is not pinned yet: the first start installs it into {}",
                eco.display(),
                opts.cache.display()
            ));
            Ok(None)
        }
        (None, Reach::Install) => {
            let version = match &requested {
                VersionReq::Exact(v) => v.clone(),
                _ => eco.resolve_version()?,
            };
            let mut seen = ensure_installed(eco, &version, opts)?;
            meet_requirement(eco, &mut seen, opts)?;
            explain_provenance(eco, &seen, explain);
            let new_pin = PackagePin {
                ecosystem: key.split(':').next().unwrap_or_default().to_string(),
                name: eco.display(),
                requested: requested.to_string(),
                pinned: seen.clone(),
                pending: None,
            };
            if opts.require_approval {
                store.update(|f| {
                    let mut pending = new_pin.clone();
                    pending.pinned = PackageVersion::default();
                    pending.pending = Some(seen.clone());
                    f.packages.entry(key.clone()).or_insert(pending);
                })?;
                return Err(LaunchError::NotApproved {
                    package: eco.display(),
                    key,
                    version,
                });
            }
            store.update(|f| {
                f.packages.insert(key.clone(), new_pin.clone());
            })?;
            if opts.progress {
                eprintln!(
                    "vanguard: pinned {} {} (tree sha256 {}); later starts use this version until `vanguard pin approve`",
                    eco.display(),
                    version,
                    short(&seen.tree_sha256)
                );
            }
            explain.push(format!(
                "package: {} {} (pinned now; asked for {requested})",
                eco.display(),
                version
            ));
            Ok(Some(seen))
        }
    }
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

fn explain_provenance(eco: &dyn Ecosystem, pv: &PackageVersion, explain: &mut Vec<String>) {
    let Some(p) = &pv.provenance else { return };
    let what = match p.status.as_str() {
        "verified" => format!(
            "built by {} from {}{}",
            p.workflow.as_deref().unwrap_or("?"),
            p.repository.as_deref().unwrap_or("?"),
            if p.required.is_some() {
                " (as [trust.provenance] requires)"
            } else {
                ""
            }
        ),
        "unavailable" => format!(
            "provenance not checked: {}",
            p.detail.as_deref().unwrap_or("unavailable")
        ),
        _ => "no provenance attestation published".into(),
    };
    let sig = match &p.registry_signature {
        Some(k) => format!("; registry signature {k}"),
        None => String::new(),
    };
    explain.push(format!(
        "provenance: {} {}: {what}{sig}",
        eco.display(),
        pv.version
    ));
}

/// The manifest file of a tree: beside it, outside it.
fn manifest_path(tree: &Path) -> PathBuf {
    let mut name = tree.file_name().unwrap_or_default().to_os_string();
    name.push(".manifest");
    tree.with_file_name(name)
}

/// The stat cache of a tree ([`tree::StatCache`]): beside the pin file,
/// not in the package cache, so rewriting it takes the same access as
/// rewriting the pins.
fn stat_cache_path(opts: &Options, tree: &Path) -> PathBuf {
    let dir = opts.pins.parent().unwrap_or(Path::new(".")).join("trees");
    let digest = <sha2::Sha256 as sha2::Digest>::digest(tree.as_os_str().as_encoded_bytes());
    dir.join(format!(
        "{}.stat",
        tree::hex(digest.get(..16).unwrap_or_default())
    ))
}

fn save_stat_cache(opts: &Options, tree: &Path, cache: &tree::StatCache) {
    let path = stat_cache_path(opts, tree);
    let written = path
        .parent()
        .map(std::fs::create_dir_all)
        .unwrap_or(Ok(()))
        .and_then(|()| crate::pins::write_durably(&path, cache.text().as_bytes()));
    if let Err(e) = written {
        // Only speed is lost: the next start hashes every file.
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}

/// Installs `version` unless its tree is already in the cache, records the
/// tree's manifest, and describes it.
fn ensure_installed(
    eco: &dyn Ecosystem,
    version: &str,
    opts: &Options,
) -> Result<PackageVersion, LaunchError> {
    let tree = eco.tree_dir(version)?;
    let parent = tree.parent().unwrap_or(&opts.cache).to_path_buf();
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    // One installer per cache at a time; a second vanguard waits, then
    // finds the tree there.
    let _lock =
        crate::pins::FileLock::exclusive(&parent.join(".install.lock")).map_err(io_err(&parent))?;
    let manifest_file = manifest_path(&tree);
    let mut integrity = None;
    let mut provenance = None;
    if !tree.is_dir() || !manifest_file.is_file() {
        if tree.exists() {
            std::fs::remove_dir_all(&tree).map_err(io_err(&tree))?;
        }
        let started = Instant::now();
        if opts.progress {
            eprintln!(
                "vanguard: installing {} {version} into {} (first use; the package manager runs outside the sandbox with your configuration)",
                eco.display(),
                tree.display()
            );
        }
        let installed = eco.install(version).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&tree);
        })?;
        // At resolution: the registry's signature and the provenance,
        // before the tree is ever used; a refusal leaves nothing behind.
        provenance = eco
            .provenance(version, &installed, requirement(eco, opts))
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&tree);
            })?;
        integrity = Some(installed);
        let (m, stats) = tree::Manifest::of_with(&tree, &tree::StatCache::default())?;
        crate::pins::write_durably(&manifest_file, m.text().as_bytes())
            .map_err(io_err(&manifest_file))?;
        save_stat_cache(opts, &tree, &stats);
        if opts.progress {
            eprintln!(
                "vanguard: installed {} {version}: {} files, {:.1} MiB in {:.1} s",
                eco.display(),
                m.files(),
                m.bytes() as f64 / (1024.0 * 1024.0),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let text = std::fs::read_to_string(&manifest_file).map_err(io_err(&manifest_file))?;
    let m = tree::Manifest::parse(&text, &manifest_file)?;
    Ok(PackageVersion {
        version: version.to_string(),
        integrity: integrity.unwrap_or_else(|| eco.integrity_of(&tree)),
        tree: tree.clone(),
        tree_sha256: m.hash(),
        files: m.files(),
        bytes: m.bytes(),
        at: crate::audit::rfc3339_now(),
        provenance,
    })
}

/// Walks the pinned tree and compares it with its pin; refuses, naming the
/// files, when anything changed.
fn verify(eco: &dyn Ecosystem, pinned: &PackageVersion, opts: &Options) -> Result<(), LaunchError> {
    let started = Instant::now();
    let cache_file = stat_cache_path(opts, &pinned.tree);
    let known = std::fs::read_to_string(&cache_file)
        .map(|t| tree::StatCache::parse(&t))
        .unwrap_or_default();
    let (actual, stats) = tree::Manifest::of_with(&pinned.tree, &known)?;
    if actual.hash() == pinned.tree_sha256 {
        if stats != known {
            save_stat_cache(opts, &pinned.tree, &stats);
        }
        tracing::info!(
            package = eco.display(),
            version = pinned.version,
            files = actual.files(),
            bytes = actual.bytes(),
            "verified the pinned tree in {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        return Ok(());
    }
    let manifest_file = manifest_path(&pinned.tree);
    let mut files = match std::fs::read_to_string(&manifest_file)
        .ok()
        .and_then(|t| tree::Manifest::parse(&t, &manifest_file).ok())
    {
        Some(recorded) if recorded.hash() == pinned.tree_sha256 => recorded.differences(&actual),
        _ => vec![format!(
            "(the tree's manifest {} does not match the pin either; files cannot be named)",
            manifest_file.display()
        )],
    };
    let more = files.len().saturating_sub(20);
    files.truncate(20);
    if more > 0 {
        files.push(format!("… and {more} more"));
    }
    Err(LaunchError::Tampered {
        package: eco.display(),
        version: pinned.version.clone(),
        tree: pinned.tree.display().to_string(),
        files: files.into_iter().map(|f| format!("    {f}")).collect(),
    })
}

/// A read grant for a resolved tree.
fn tree_grant(path: &Path, reason: String) -> BaselineEntry {
    BaselineEntry {
        path: path.to_path_buf(),
        access: Access::Read,
        reason,
    }
}

/// A directory name for a package in the cache: `@scope/name` → `@scope+name`.
fn dir_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._@+".contains(c) {
                c
            } else {
                '+'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_entry_point_gets_its_packages_server_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pkg = dir
            .path()
            .join("node_modules/@modelcontextprotocol/server-memory");
        std::fs::create_dir_all(pkg.join("dist")).expect("mkdir");
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name": "@modelcontextprotocol/server-memory"}"#,
        )
        .expect("manifest");
        let entry = pkg.join("dist/index.js");
        std::fs::write(&entry, "").expect("entry");
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = entry.to_string_lossy().into_owned();
        assert_eq!(
            node_package_key(&argv(&["/usr/bin/node", "--no-warnings", &e])).as_deref(),
            Some("npm:@modelcontextprotocol/server-memory")
        );
        let key = node_package_key(&argv(&["node", &e])).expect("key");
        let cwd = Path::new("/work/ws");
        assert_eq!(
            server_defaults(&key, cwd),
            [(
                "MEMORY_FILE_PATH".to_string(),
                "/work/ws/memory.json".to_string()
            )]
        );
        // A project's own package.json (no node_modules above) names no
        // installed package: no defaults.
        let own = dir.path().join("app");
        std::fs::create_dir_all(&own).expect("mkdir");
        std::fs::write(
            own.join("package.json"),
            r#"{"name": "@modelcontextprotocol/server-memory"}"#,
        )
        .expect("manifest");
        std::fs::write(own.join("index.js"), "").expect("entry");
        let own_entry = own.join("index.js").to_string_lossy().into_owned();
        assert_eq!(node_package_key(&argv(&["node", &own_entry])), None);
        assert_eq!(node_package_key(&argv(&["python3", &e])), None);
    }

    #[test]
    fn cache_dir_names_are_flat() {
        assert_eq!(
            dir_safe("@modelcontextprotocol/server-filesystem"),
            "@modelcontextprotocol+server-filesystem"
        );
        assert_eq!(dir_safe("a/../b"), "a+..+b");
    }

    #[test]
    fn pnpm_shims_point_at_their_script() {
        let d = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(d.path()).expect("canon");
        let real = root.join("node_modules/.pnpm/@x+s@1.0.0/node_modules/@x/s/dist/index.js");
        std::fs::create_dir_all(real.parent().expect("parent")).expect("mkdir");
        std::fs::write(&real, "").expect("w");
        std::os::unix::fs::symlink(
            ".pnpm/@x+s@1.0.0/node_modules/@x",
            root.join("node_modules/@x"),
        )
        .expect("link");
        std::fs::create_dir_all(root.join("node_modules/.bin")).expect("mkdir");
        let shim = root.join("node_modules/.bin/s");
        std::fs::write(
            &shim,
            "#!/bin/sh\nbasedir=$(dirname \"$0\")\nif [ -x \"$basedir/node\" ]; then\n  exec \"$basedir/node\"  \"$basedir/../@x/s/dist/index.js\" \"$@\"\nelse\n  exec node  \"$basedir/../@x/s/dist/index.js\" \"$@\"\nfi\n",
        )
        .expect("w");
        assert_eq!(cmd_shim_target(&shim), Some(real));
        std::fs::write(&shim, "#!/bin/sh\nexec rm -rf /\n").expect("w");
        assert_eq!(cmd_shim_target(&shim), None);
    }

    #[test]
    fn containers_are_never_sandboxed() {
        let argv: Vec<String> = ["docker", "run", "-i", "--rm", "mcp/time"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = Options {
            cache: PathBuf::from("/nonexistent"),
            pins: PathBuf::from("/nonexistent/pins.json"),
            cwd: PathBuf::from("/"),
            reach: Reach::Describe,
            require_approval: false,
            install_scripts: false,
            update: false,
            progress: false,
            provenance: Default::default(),
            sigstore_root: None,
        };
        let r = resolve(&argv, &opts).expect("resolves");
        assert_eq!(r.argv, argv);
        assert!(r
            .unsandboxable
            .as_deref()
            .is_some_and(|w| w.contains("daemon")));
    }
}
