//! PyPI packages (uvx, `uv tool run`, `pipx run`), and what plain Python
//! programs import.
//!
//! The requirement set is resolved with hashes (`uv pip compile
//! --generate-hashes`, or pip's `--dry-run --report` for pipx), written into
//! the tree as `vanguard-requirements.txt`, and installed with
//! `--require-hashes` into a virtual environment created at its final place
//! in vanguard's cache (venvs are not relocatable). The server runs the
//! venv's console script; the sandbox grants the venv and the base
//! interpreter's own installation, read-only.

use super::parse::{normalize_py_name, PyInstaller, PyLaunch, VersionReq};
use super::{
    io_err, pinned_tree, tool_output, tool_output_env, tree_grant, Ecosystem, LaunchError, Options,
    PackageRef, Resolved,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const LOCK_FILE: &str = "vanguard-requirements.txt";

/// The resolution is the first network step: without retries an offline
/// machine fails in a moment instead of after uv's backoff (the user's own
/// `UV_HTTP_RETRIES` wins).
const NO_RETRIES: &[(&str, &str)] = &[("UV_HTTP_RETRIES", "0")];

struct Py<'a> {
    l: &'a PyLaunch,
    opts: &'a Options,
    command: String,
    /// The base interpreter (real path, shims resolved), found on first
    /// need: a warm start of a pinned tree runs no `uv` at all.
    python: std::cell::OnceCell<PathBuf>,
    /// `uv` for uvx/`uv tool run`.
    uv: Option<PathBuf>,
}

impl Py<'_> {
    fn python(&self) -> Result<&Path, LaunchError> {
        if let Some(p) = self.python.get() {
            return Ok(p);
        }
        let p = interpreter(self.l, self.uv.as_deref(), self.opts)?;
        Ok(self.python.get_or_init(|| p))
    }

    fn requirements(&self, version: Option<&str>) -> String {
        let extras = if self.l.extras.is_empty() {
            String::new()
        } else {
            format!("[{}]", self.l.extras.join(","))
        };
        let spec = match (version, &self.l.version) {
            (Some(v), _) => format!("=={v}"),
            (None, VersionReq::Exact(v)) => format!("=={v}"),
            (None, VersionReq::Range(r)) => r.clone(),
            (None, VersionReq::Latest) => String::new(),
        };
        let mut lines = vec![format!("{}{extras}{spec}", self.l.name)];
        lines.extend(self.l.with.iter().cloned());
        lines.join("\n") + "\n"
    }

    /// The index the launcher installs from: its `--index-url` /
    /// `--default-index` / `-i`, else `UV_DEFAULT_INDEX`, `UV_INDEX_URL`
    /// or `PIP_INDEX_URL`, else PyPI.
    fn index_url(&self) -> String {
        let mut it = self.l.index_args.iter();
        while let Some(a) = it.next() {
            for flag in ["--index-url", "--default-index", "-i"] {
                if a == flag {
                    if let Some(v) = it.clone().next() {
                        return v.clone();
                    }
                }
                if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
                    return v.to_string();
                }
            }
        }
        ["UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "https://pypi.org/simple".into())
    }

    fn resolve_error(&self, detail: String) -> LaunchError {
        LaunchError::Resolve {
            package: format!("{} ({})", self.l.name, self.l.version),
            detail,
            cache: self.opts.cache.display().to_string(),
            command: self.command.clone(),
        }
    }

    /// The locked requirement set (`NAME==VERSION --hash=sha256:…` lines).
    fn lock(&self, version: Option<&str>) -> Result<String, LaunchError> {
        let reqs = self.requirements(version);
        match &self.uv {
            Some(uv) => {
                let py = self.python()?.to_string_lossy().into_owned();
                let mut args = vec![
                    "pip",
                    "compile",
                    "-",
                    "--python",
                    py.as_str(),
                    "--generate-hashes",
                    "--no-header",
                    "--no-annotate",
                    "--quiet",
                ];
                args.extend(self.l.index_args.iter().map(String::as_str));
                tool_output_env(uv, &args, &self.opts.cwd, Some(&reqs), NO_RETRIES)
                    .map_err(|d| self.resolve_error(d))
            }
            None => {
                let report = self.pip_report(&reqs)?;
                pip_lock(&report).map_err(|d| self.resolve_error(d))
            }
        }
    }

    /// pip's resolution report for `reqs`, made in a resolver venv of the cache.
    fn pip_report(&self, reqs: &str) -> Result<Value, LaunchError> {
        let resolver = self.opts.cache.join("pypi/.resolver");
        let rpy = resolver.join("bin/python");
        if !rpy.is_file() {
            let r = resolver.to_string_lossy().into_owned();
            tool_output(self.python()?, &["-m", "venv", &r], &self.opts.cwd, None)
                .map_err(|d| self.resolve_error(d))?;
        }
        let mut args = vec![
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            "-",
            "--retries",
            "0",
            "--timeout",
            "10",
            "-r",
            "/dev/stdin",
        ];
        args.extend(self.l.index_args.iter().map(String::as_str));
        let out = tool_output(&rpy, &args, &self.opts.cwd, Some(reqs))
            .map_err(|d| self.resolve_error(d))?;
        serde_json::from_str(&out).map_err(|e| self.resolve_error(format!("pip's report: {e}")))
    }

    /// Tells apart trees of one version built for another interpreter,
    /// other extras, `--with` packages or indexes.
    fn variant_hash(&self) -> Result<String, LaunchError> {
        let mut h = Sha256::new();
        h.update(self.python()?.to_string_lossy().as_bytes());
        for part in self
            .l
            .extras
            .iter()
            .chain(&self.l.with)
            .chain(&self.l.index_args)
        {
            h.update([0]);
            h.update(part.as_bytes());
        }
        Ok(super::tree::hex(h.finalize().get(..4).unwrap_or_default()))
    }
}

impl Ecosystem for Py<'_> {
    fn key(&self) -> String {
        let mut k = format!("pypi:{}", normalize_py_name(&self.l.name));
        if !self.l.extras.is_empty() {
            k.push_str(&format!("[{}]", self.l.extras.join(",")));
        }
        if !self.l.with.is_empty() {
            k.push_str(&format!("+with:{}", self.l.with.join(",")));
        }
        if let Some(p) = &self.l.python {
            k.push_str(&format!("+python:{p}"));
        }
        k
    }

    fn display(&self) -> String {
        self.l.name.clone()
    }

    fn requested(&self) -> &VersionReq {
        &self.l.version
    }

    fn tree_dir(&self, version: &str) -> Result<PathBuf, LaunchError> {
        Ok(self.opts.cache.join("pypi").join(format!(
            "{}-{}-{}",
            normalize_py_name(&self.l.name),
            super::dir_safe(version),
            self.variant_hash()?
        )))
    }

    fn resolve_version(&self) -> Result<String, LaunchError> {
        let lock = self.lock(None)?;
        locked_version(&lock, &self.l.name).ok_or_else(|| {
            self.resolve_error(format!(
                "the resolution did not contain {} (it said: {})",
                self.l.name,
                lock.lines().take(3).collect::<Vec<_>>().join(" ")
            ))
        })
    }

    fn install(&self, version: &str) -> Result<Vec<String>, LaunchError> {
        let tree = self.tree_dir(version)?;
        let lock = self.lock(Some(version))?;
        let fail = |detail: String| LaunchError::Install {
            package: format!("{}=={version}", self.l.name),
            detail,
        };
        let t = tree.to_string_lossy().into_owned();
        let py = self.python()?.to_string_lossy().into_owned();
        match &self.uv {
            Some(uv) => tool_output(
                uv,
                &["venv", "--quiet", "--no-project", "--python", &py, &t],
                &self.opts.cwd,
                None,
            ),
            None => tool_output(self.python()?, &["-m", "venv", &t], &self.opts.cwd, None),
        }
        .map_err(fail)?;
        let lock_path = tree.join(LOCK_FILE);
        std::fs::write(&lock_path, &lock).map_err(io_err(&lock_path))?;
        let lp = lock_path.to_string_lossy().into_owned();
        let venv_py = tree.join("bin/python").to_string_lossy().into_owned();
        let result = match &self.uv {
            Some(uv) => {
                let mut args = vec![
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    venv_py.as_str(),
                    "--require-hashes",
                    "--no-deps",
                    "--link-mode",
                    "copy",
                    "-r",
                    lp.as_str(),
                ];
                args.extend(self.l.index_args.iter().map(String::as_str));
                tool_output(uv, &args, &self.opts.cwd, None)
            }
            None => {
                let mut args = vec![
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--require-hashes",
                    "--no-deps",
                    "-r",
                    lp.as_str(),
                ];
                args.extend(self.l.index_args.iter().map(String::as_str));
                tool_output(Path::new(&venv_py), &args, &self.opts.cwd, None)
            }
        };
        result.map_err(fail)?;
        prepare_node_parts(&tree, self.opts).map_err(fail)?;
        Ok(self.integrity_of(&tree))
    }

    fn provenance(
        &self,
        version: &str,
        installed: &[String],
        req: Option<&crate::trust::store::ProvenanceReq>,
    ) -> Result<Option<crate::pins::ProvenanceRecord>, LaunchError> {
        let refuse = |detail: String| LaunchError::Provenance {
            package: format!("{}=={version}", self.l.name),
            detail,
        };
        let page = format!(
            "{}/{}/",
            self.index_url().trim_end_matches('/'),
            normalize_py_name(&self.l.name)
        );
        let project =
            super::provenance::http_get_as(&page, Some("application/vnd.pypi.simple.v1+json"))
                .and_then(|b| {
                    serde_json::from_slice::<Value>(&b)
                        .map_err(|e| format!("{page} is not the simple JSON API: {e}"))
                });
        let project = match project {
            Ok(p) => p,
            Err(e) if req.is_some() => return Err(refuse(e)),
            Err(e) => {
                return Ok(Some(super::provenance::record(
                    "unavailable",
                    None,
                    Some(format!("{page}: {e}")),
                )))
            }
        };
        super::provenance::check_pypi(
            version,
            &project,
            installed,
            req,
            self.opts.sigstore_root.as_deref(),
            &super::provenance::http_get,
        )
        .map(Some)
        .map_err(refuse)
    }

    fn integrity_of(&self, tree: &Path) -> Vec<String> {
        std::fs::read_to_string(tree.join(LOCK_FILE))
            .map(|lock| locked_hashes(&lock, &self.l.name))
            .unwrap_or_default()
    }
}

/// Python packages that run a bundled Node.js program and install its
/// dependencies with `npm install` on first use, inside their own package
/// directory. Inside the sandbox that directory is read-only and offline,
/// so vanguard runs that step at install time (outside the sandbox, without
/// install scripts), before the tree is hashed and pinned.
const NODE_PARTS: &[(&str, &str)] = &[
    // mcp-server-fetch → readabilipy → Readability.js
    ("readabilipy", "javascript"),
];

fn prepare_node_parts(tree: &Path, opts: &Options) -> Result<(), String> {
    let Ok(libs) = std::fs::read_dir(tree.join("lib")) else {
        return Ok(());
    };
    for lib in libs.flatten() {
        let site = lib.path().join("site-packages");
        for (package, sub) in NODE_PARTS {
            let dir = site.join(package).join(sub);
            if !dir.join("package.json").is_file() || dir.join("node_modules").exists() {
                continue;
            }
            let npm = crate::sandbox::resolve_program("npm").map_err(|_| {
                format!(
                    "{package} needs `npm install` in {} and npm is not in PATH",
                    dir.display()
                )
            })?;
            if opts.progress {
                eprintln!(
                    "vanguard: npm install for {package}'s bundled JavaScript in {}",
                    dir.display()
                );
            }
            tool_output(
                &npm,
                &[
                    "install",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    "--omit=dev",
                    "--loglevel=error",
                ],
                &dir,
                None,
            )?;
        }
    }
    Ok(())
}

/// Splits a hashed requirements file into one logical line per requirement.
fn requirement_lines(lock: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in lock.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head.trim());
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn line_for<'a>(lines: &'a [String], name: &str) -> Option<&'a String> {
    let want = normalize_py_name(name);
    lines.iter().find(|l| {
        let n = l.split(['=', ' ', '[', ';']).next().unwrap_or("");
        normalize_py_name(n) == want
    })
}

fn locked_version(lock: &str, name: &str) -> Option<String> {
    let lines = requirement_lines(lock);
    let line = line_for(&lines, name)?;
    let (_, rest) = line.split_once("==")?;
    Some(rest.split([' ', ';']).next()?.trim().to_string())
}

fn locked_hashes(lock: &str, name: &str) -> Vec<String> {
    let lines = requirement_lines(lock);
    line_for(&lines, name)
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.strip_prefix("--hash="))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A hashed requirements file from pip's `--report`.
fn pip_lock(report: &Value) -> Result<String, String> {
    let items = report
        .get("install")
        .and_then(Value::as_array)
        .ok_or("pip's report lists nothing to install")?;
    let mut out = String::new();
    for item in items {
        let name = item.pointer("/metadata/name").and_then(Value::as_str);
        let version = item.pointer("/metadata/version").and_then(Value::as_str);
        let sha = item
            .pointer("/download_info/archive_info/hashes/sha256")
            .and_then(Value::as_str);
        match (name, version, sha) {
            (Some(n), Some(v), Some(h)) => {
                out.push_str(&format!("{n}=={v} --hash=sha256:{h}\n"));
            }
            _ => {
                return Err(format!(
                "pip resolved {} without an archive hash (a VCS or local source cannot be pinned)",
                name.unwrap_or("a requirement")
            ))
            }
        }
    }
    Ok(out)
}

/// The base interpreter for the venv: `--python` or the launcher's default.
fn interpreter(l: &PyLaunch, uv: Option<&Path>, opts: &Options) -> Result<PathBuf, LaunchError> {
    let missing = |what: &str| LaunchError::ManagerMissing {
        tool: what.to_string(),
        package: l.name.clone(),
        launcher: l.launcher.clone(),
    };
    if let Some(uv) = uv {
        let mut args = vec!["python", "find", "--system"];
        if let Some(p) = &l.python {
            args.push(p);
        }
        let out =
            tool_output(uv, &args, &opts.cwd, None).map_err(|detail| LaunchError::Resolve {
                package: l.name.clone(),
                detail: format!("no Python interpreter for it: {detail}"),
                cache: opts.cache.display().to_string(),
                command: l.launcher.clone(),
            })?;
        let p = PathBuf::from(out.trim());
        return std::fs::canonicalize(&p).map_err(|_| missing("a Python interpreter"));
    }
    let name = l.python.clone().unwrap_or_else(|| "python3".into());
    let found = crate::sandbox::resolve_program(&name).map_err(|_| missing(&name))?;
    let real = match super::shims::detect(&found) {
        Some(shim) => super::shims::real_program(&shim, &name, &opts.cwd)?,
        None => found,
    };
    std::fs::canonicalize(&real).map_err(|_| missing(&name))
}

pub(super) fn resolve(
    argv: &[String],
    l: &PyLaunch,
    opts: &Options,
) -> Result<Resolved, LaunchError> {
    let mut r = Resolved::as_given(argv);
    r.explain.push(format!(
        "launcher: {} (PyPI package {}, {}); installed with {} outside the sandbox, run offline inside it",
        l.launcher,
        l.name,
        l.version,
        match l.installer {
            PyInstaller::Uv => "uv",
            PyInstaller::Pip => "pip",
        }
    ));
    let uv = match l.installer {
        PyInstaller::Uv => Some(uv_program(l)?),
        PyInstaller::Pip => None,
    };
    let eco = Py {
        l,
        opts,
        command: argv.join(" "),
        python: std::cell::OnceCell::new(),
        uv,
    };
    let Some(pinned) = pinned_tree(&eco, opts, &mut r.explain)? else {
        return Ok(r);
    };
    let bin = pinned.tree.join("bin");
    let command = l.command.clone().unwrap_or_else(|| l.name.clone());
    let script = [command.clone(), normalize_py_name(&command)]
        .into_iter()
        .map(|c| bin.join(c))
        .find(|p| p.is_file())
        .ok_or_else(|| LaunchError::Entry {
            package: format!("{}=={}", l.name, pinned.version),
            detail: format!(
                "no command {command:?} in the installed package (its commands: {}); name one with `--from {} COMMAND`",
                console_scripts(&bin).join(", "),
                l.name
            ),
        })?;
    let mut run = vec![script.to_string_lossy().into_owned()];
    run.extend(l.args.iter().cloned());
    r.explain.push(format!("runs: {}", run.join(" ")));
    r.argv = run;
    r.grants.push(tree_grant(
        &pinned.tree,
        format!(
            "the resolved virtual environment of {}=={} (pinned, read-only)",
            l.name, pinned.version
        ),
    ));
    let key = eco.key();
    r.env_defaults = super::server_defaults(&key, &opts.cwd);
    for (var, value) in &r.env_defaults {
        r.explain.push(format!(
            "env: {var}={value} (the package directory is read-only in the sandbox)"
        ));
    }
    r.package = Some(PackageRef {
        key,
        version: pinned.version.clone(),
        tree: pinned.tree.clone(),
        tree_sha256: pinned.tree_sha256.clone(),
    });
    Ok(r)
}

/// `uv`: next to `uvx` when the launcher named one by path, else on PATH.
fn uv_program(l: &PyLaunch) -> Result<PathBuf, LaunchError> {
    crate::sandbox::resolve_program("uv").map_err(|_| LaunchError::ManagerMissing {
        tool: "uv".into(),
        package: l.name.clone(),
        launcher: l.launcher.clone(),
    })
}

fn console_scripts(bin: &Path) -> Vec<String> {
    let skip = |n: &str| {
        n.starts_with("python")
            || n.starts_with("activate")
            || n.starts_with("pip")
            || n.starts_with("deactivate")
            || n.ends_with(".bat")
            || n == "pydoc.bat"
    };
    let mut names: Vec<String> = std::fs::read_dir(bin)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !skip(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// For a Python program outside a virtual environment (`python -m MOD`, or
/// a console script installed with `pip install --user`), finds where its
/// module lives and grants that site-packages directory, read-only.
pub(super) fn module_grants(real_prog: &Path, argv: &[String], opts: &Options, r: &mut Resolved) {
    use crate::sandbox::baseline::{shebang_interpreter, Runtime};
    let real = std::fs::canonicalize(real_prog).unwrap_or_else(|_| real_prog.to_path_buf());
    let (interp, module) = if Runtime::of(&real) == Runtime::Python {
        let module = argv
            .iter()
            .skip(1)
            .skip_while(|a| *a != "-m")
            .nth(1)
            .map(|m| m.split('.').next().unwrap_or(m).to_string());
        (real_prog.to_path_buf(), module)
    } else {
        match shebang_interpreter(&real) {
            Some(i) if Runtime::of(&i) == Runtime::Python => (i, imported_module(&real)),
            _ => return,
        }
    };
    let Some(module) = module else { return };
    if in_venv(&interp) {
        return; // the baseline grants the whole venv
    }
    let probe = "import importlib.util,sys\ns=importlib.util.find_spec(sys.argv[1])\nprint(s.origin if s and s.origin else '')";
    let Ok(out) = tool_output(&interp, &["-c", probe, &module], &opts.cwd, None) else {
        return;
    };
    let origin = PathBuf::from(out.trim());
    let Some(site) = origin
        .ancestors()
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n == "site-packages" || n == "dist-packages")
        })
        .map(Path::to_path_buf)
    else {
        return;
    };
    if ["/usr", "/lib", "/lib64"]
        .iter()
        .any(|p| site.starts_with(p))
    {
        return;
    }
    r.explain.push(format!(
        "python module {module}: {} (in {})",
        origin.display(),
        site.display()
    ));
    r.grants.push(tree_grant(
        &site,
        format!("the site-packages of the Python module {module} the server runs"),
    ));
}

fn in_venv(interp: &Path) -> bool {
    interp
        .parent()
        .and_then(Path::parent)
        .is_some_and(|root| root.join("pyvenv.cfg").is_file())
}

/// The top-level module a console script imports (`from pkg.mod import main`).
fn imported_module(script: &Path) -> Option<String> {
    let text = std::fs::read(script).ok()?;
    let head = String::from_utf8_lossy(text.get(..text.len().min(4096))?).into_owned();
    head.lines().find_map(|l| {
        let l = l.trim();
        let rest = l
            .strip_prefix("from ")
            .map(|r| r.split_whitespace().next().unwrap_or(""))
            .or_else(|| l.strip_prefix("import "))?;
        let top = rest.split(['.', ' ', ',']).next()?.trim();
        (!top.is_empty()
            && top != "sys"
            && top != "re"
            && top.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| top.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "anyio==4.16.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\nmcp-server-time==2026.10.19 \\\n    --hash=sha256:cc \\\n    --hash=sha256:dd\n# comment\nTzData==2026.6 --hash=sha256:ee\n";

    #[test]
    fn reads_versions_and_hashes_from_a_lock() {
        assert_eq!(
            locked_version(LOCK, "mcp_server_time").as_deref(),
            Some("2026.10.19")
        );
        assert_eq!(locked_version(LOCK, "tzdata").as_deref(), Some("2026.6"));
        assert_eq!(
            locked_hashes(LOCK, "mcp-server-time"),
            vec!["sha256:cc", "sha256:dd"]
        );
        assert_eq!(locked_version(LOCK, "missing"), None);
    }

    #[test]
    fn pip_report_becomes_a_hashed_lock() {
        let report = serde_json::json!({"install": [
            {"metadata": {"name": "a", "version": "1.0"}, "download_info": {"archive_info": {"hashes": {"sha256": "ff"}}}}
        ]});
        assert_eq!(
            pip_lock(&report).expect("lock"),
            "a==1.0 --hash=sha256:ff\n"
        );
        let vcs = serde_json::json!({"install": [{"metadata": {"name": "b", "version": "1"}, "download_info": {"vcs_info": {}}}]});
        assert!(pip_lock(&vcs).is_err());
    }

    #[test]
    fn console_script_imports() {
        let d = tempfile::tempdir().expect("tempdir");
        let s = d.path().join("tool");
        std::fs::write(&s, "#!/usr/bin/python3\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom mcp_server_time import main\n").expect("w");
        assert_eq!(imported_module(&s).as_deref(), Some("mcp_server_time"));
    }
}
