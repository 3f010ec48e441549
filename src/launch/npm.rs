//! npm-registry packages (npx, `npm exec`, `pnpm dlx`, `yarn dlx`, bunx).
//!
//! The exact version comes from `npm view` (with the user's `.npmrc`:
//! registry, proxy, auth); the tree is installed with `npm install` into a
//! fresh directory of vanguard's cache (one per name@version), without
//! install scripts unless the profile allows them, then moved into place.
//! The server runs as `node BIN_SCRIPT ARGS…` with the tree read-only.

use super::parse::{NpmLaunch, VersionReq};
use super::{
    io_err, pinned_tree, tool_output, tree_grant, Ecosystem, LaunchError, Options, PackageRef,
    Reach, Resolved,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Npm<'a> {
    l: &'a NpmLaunch,
    opts: &'a Options,
    command: String,
    /// The registry answered `npm ping` (asked once, before the first
    /// network step, so no network fails in a second, not after npm's
    /// minute of retries).
    reachable: std::cell::OnceCell<()>,
}

impl Npm<'_> {
    fn npm(&self) -> Result<PathBuf, LaunchError> {
        crate::sandbox::resolve_program("npm").map_err(|_| LaunchError::ManagerMissing {
            tool: "npm".into(),
            package: self.l.name.clone(),
            launcher: self.l.launcher.clone(),
        })
    }

    fn preflight(&self, npm: &Path) -> Result<(), LaunchError> {
        if self.reachable.get().is_some() {
            return Ok(());
        }
        let reg = self.registry_args();
        let mut args = vec!["ping", "--fetch-retries=0", "--fetch-timeout=10000"];
        args.extend(reg.iter().map(String::as_str));
        tool_output(npm, &args, &self.opts.cwd, None).map_err(|detail| LaunchError::Resolve {
            package: format!("{}@{}", self.l.name, self.l.version),
            detail: format!("the npm registry is unreachable: {detail}"),
            cache: self.opts.cache.display().to_string(),
            command: self.command.clone(),
        })?;
        let _ = self.reachable.set(());
        Ok(())
    }

    fn registry_args(&self) -> Vec<String> {
        self.l
            .registry
            .iter()
            .map(|r| format!("--registry={r}"))
            .collect()
    }
}

impl Ecosystem for Npm<'_> {
    fn key(&self) -> String {
        format!("npm:{}", self.l.name)
    }

    fn display(&self) -> String {
        self.l.name.clone()
    }

    fn requested(&self) -> &VersionReq {
        &self.l.version
    }

    fn tree_dir(&self, version: &str) -> Result<PathBuf, LaunchError> {
        Ok(self.opts.cache.join("npm").join(format!(
            "{}@{}",
            super::dir_safe(&self.l.name),
            super::dir_safe(version)
        )))
    }

    fn resolve_version(&self) -> Result<String, LaunchError> {
        let npm = self.npm()?;
        self.preflight(&npm)?;
        let spec = format!("{}@{}", self.l.name, self.l.version);
        let mut args = vec!["view", spec.as_str(), "version", "--json"];
        let reg = self.registry_args();
        args.extend(reg.iter().map(String::as_str));
        // Fail fast without a network instead of retrying for a minute.
        args.extend([
            "--fetch-retries=1",
            "--fetch-retry-mintimeout=1000",
            "--fetch-retry-maxtimeout=5000",
        ]);
        let out = tool_output(&npm, &args, &self.opts.cwd, None).map_err(|detail| {
            LaunchError::Resolve {
                package: spec.clone(),
                detail,
                cache: self.opts.cache.display().to_string(),
                command: self.command.clone(),
            }
        })?;
        let versions: Vec<String> = match serde_json::from_str::<Value>(out.trim()) {
            Ok(Value::String(v)) => vec![v],
            Ok(Value::Array(vs)) => vs
                .into_iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        versions
            .into_iter()
            .max_by(|a, b| semver_cmp(a, b))
            .ok_or_else(|| LaunchError::Resolve {
                package: spec,
                detail: format!(
                    "npm view found no matching version (it said {:?})",
                    out.trim()
                ),
                cache: self.opts.cache.display().to_string(),
                command: self.command.clone(),
            })
    }

    fn install(&self, version: &str) -> Result<Vec<String>, LaunchError> {
        let npm = self.npm()?;
        self.preflight(&npm)?;
        let tree = self.tree_dir(version)?;
        let parent = tree.parent().unwrap_or(&self.opts.cache).to_path_buf();
        // Install next to the final place, then rename: a half-installed
        // tree never carries the final name.
        let staging = parent.join(format!(".staging-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
        }
        std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        let manifest = serde_json::json!({
            "name": "vanguard-package-tree",
            "private": true,
            "description": format!("{}@{version}, installed by vanguard for {}", self.l.name, self.l.launcher),
            "dependencies": { self.l.name.clone(): version },
        });
        let pkg_json = staging.join("package.json");
        std::fs::write(&pkg_json, manifest.to_string()).map_err(io_err(&pkg_json))?;
        let mut args: Vec<String> = vec![
            "install".into(),
            "--prefix".into(),
            staging.to_string_lossy().into_owned(),
            "--no-audit".into(),
            "--no-fund".into(),
            "--omit=dev".into(),
            "--save-exact".into(),
            "--loglevel=error".into(),
            "--fetch-retries=1".into(),
        ];
        if !self.opts.install_scripts {
            args.push("--ignore-scripts".into());
        }
        args.extend(self.registry_args());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = tool_output(&npm, &argv, &self.opts.cwd, None);
        if let Err(detail) = result {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(LaunchError::Install {
                package: format!("{}@{version}", self.l.name),
                detail,
            });
        }
        let lock = read_lock(&staging);
        let installed = lock
            .as_ref()
            .and_then(|l| l.pointer(&pointer(&self.l.name, "version")))
            .and_then(Value::as_str)
            .map(String::from);
        if installed.as_deref() != Some(version) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(LaunchError::Install {
                package: format!("{}@{version}", self.l.name),
                detail: format!("npm installed {installed:?}, not {version}"),
            });
        }
        if !self.opts.install_scripts {
            let scripted = packages_with_install_scripts(lock.as_ref());
            if !scripted.is_empty() && self.opts.progress {
                eprintln!(
                    "vanguard: warning: install scripts of {} were not run (they would run outside the sandbox); if the server fails, set [server] install_scripts = true",
                    scripted.join(", ")
                );
            }
        }
        std::fs::rename(&staging, &tree).map_err(io_err(&tree))?;
        Ok(self.integrity_of(&tree))
    }

    fn provenance(
        &self,
        version: &str,
        installed: &[String],
        req: Option<&crate::trust::store::ProvenanceReq>,
    ) -> Result<Option<crate::pins::ProvenanceRecord>, LaunchError> {
        let refuse = |detail: String| LaunchError::Provenance {
            package: format!("{}@{version}", self.l.name),
            detail,
        };
        let npm = self.npm()?;
        let spec = format!("{}@{version}", self.l.name);
        let mut args = vec!["view", spec.as_str(), "dist", "--json"];
        let reg = self.registry_args();
        args.extend(reg.iter().map(String::as_str));
        args.extend(["--fetch-retries=1", "--fetch-retry-maxtimeout=5000"]);
        let dist = match tool_output(&npm, &args, &self.opts.cwd, None) {
            Ok(out) => serde_json::from_str::<Value>(out.trim())
                .map_err(|e| format!("`npm view {spec} dist` is not JSON: {e}")),
            Err(e) => Err(e),
        };
        let dist = match dist {
            Ok(d) => d,
            Err(e) if req.is_some() => return Err(refuse(e)),
            Err(e) => {
                return Ok(Some(super::provenance::record(
                    "unavailable",
                    None,
                    Some(e),
                )))
            }
        };
        super::provenance::check(
            &self.l.name,
            version,
            &dist,
            installed,
            req,
            self.opts.sigstore_root.as_deref(),
            &super::provenance::http_get,
        )
        .map(Some)
        .map_err(refuse)
    }

    fn integrity_of(&self, tree: &Path) -> Vec<String> {
        read_lock(tree)
            .as_ref()
            .and_then(|l| l.pointer(&pointer(&self.l.name, "integrity")))
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default()
    }
}

fn read_lock(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("package-lock.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// JSON pointer to `packages["node_modules/NAME"].FIELD` of a lockfile.
fn pointer(name: &str, field: &str) -> String {
    let esc = format!("node_modules/{name}")
        .replace('~', "~0")
        .replace('/', "~1");
    format!("/packages/{esc}/{field}")
}

fn packages_with_install_scripts(lock: Option<&Value>) -> Vec<String> {
    lock.and_then(|l| l.get("packages"))
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, v)| v.get("hasInstallScript") == Some(&Value::Bool(true)))
                .map(|(k, _)| k.trim_start_matches("node_modules/").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Orders `MAJOR.MINOR.PATCH[-pre]`; a pre-release sorts before its release.
fn semver_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |v: &str| {
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p.to_string())),
            None => (v.split('+').next().unwrap_or(v), None),
        };
        let nums: Vec<u64> = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
        (nums, pre.is_none(), pre)
    };
    key(a).cmp(&key(b))
}

/// The bin script to run: `-p PKG CMD` names it; otherwise the package's
/// only bin, or the one named like the package (as npx chooses).
fn bin_script(pkg_dir: &Path, name: &str, wanted: Option<&str>) -> Result<PathBuf, String> {
    let manifest = pkg_dir.join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", manifest.display()))?;
    let unscoped = name.rsplit('/').next().unwrap_or(name);
    let bins: Vec<(String, String)> = match v.get("bin") {
        Some(Value::String(s)) => vec![(unscoped.to_string(), s.clone())],
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let pick = match wanted {
        Some(w) => bins.iter().find(|(k, _)| k == w),
        None if bins.len() == 1 => bins.first(),
        None => bins.iter().find(|(k, _)| k == unscoped),
    };
    let Some((_, rel)) = pick else {
        let names: Vec<&str> = bins.iter().map(|(k, _)| k.as_str()).collect();
        return Err(match wanted {
            Some(w) => format!("the package has no bin {w:?} (its bins: {names:?})"),
            None if names.is_empty() => "the package declares no bin to run".into(),
            None => format!(
                "the package has several bins {names:?} and none is named like it; choose one with `npx -p {name} BIN`"
            ),
        });
    };
    let path = pkg_dir.join(rel);
    let real = std::fs::canonicalize(&path).map_err(|e| format!("bin {} : {e}", path.display()))?;
    if !real.starts_with(pkg_dir) {
        return Err(format!("bin {rel:?} points outside the package"));
    }
    Ok(real)
}

/// Whether a bin script is run by node: a node shebang, or a JavaScript
/// file without one.
fn runs_on_node(script: &Path) -> bool {
    match crate::sandbox::baseline::shebang_interpreter(script) {
        Some(interp) => {
            let n = interp.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n == "node" || n == "nodejs"
        }
        None => matches!(
            script.extension().and_then(|e| e.to_str()),
            Some("js" | "mjs" | "cjs")
        ),
    }
}

pub(super) fn resolve(
    argv: &[String],
    l: &NpmLaunch,
    opts: &Options,
) -> Result<Resolved, LaunchError> {
    let eco = Npm {
        l,
        opts,
        command: argv.join(" "),
        reachable: std::cell::OnceCell::new(),
    };
    let mut r = Resolved::as_given(argv);
    r.explain.push(format!(
        "launcher: {} (npm registry package {}, {}); installed with npm outside the sandbox, run offline inside it",
        l.launcher, l.name, l.version
    ));
    let Some(pinned) = pinned_tree(&eco, opts, &mut r.explain)? else {
        return Ok(r);
    };
    let pkg_dir = pinned.tree.join("node_modules").join(&l.name);
    let pkg_dir = std::fs::canonicalize(&pkg_dir).unwrap_or(pkg_dir);
    let script =
        bin_script(&pkg_dir, &l.name, l.bin.as_deref()).map_err(|detail| LaunchError::Entry {
            package: format!("{}@{}", l.name, pinned.version),
            detail,
        })?;
    let mut run = Vec::with_capacity(l.args.len() + 2);
    if runs_on_node(&script) {
        let node = node_program(l, opts, &mut r.explain)?;
        run.push(node.to_string_lossy().into_owned());
    }
    run.push(script.to_string_lossy().into_owned());
    run.extend(l.args.iter().cloned());
    r.explain.push(format!("runs: {}", run.join(" ")));
    r.argv = run;
    r.grants.push(tree_grant(
        &pinned.tree.join("node_modules"),
        format!(
            "the resolved package tree of {}@{} (pinned, read-only)",
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

/// The node that runs the bin: `node` on PATH (through a version-manager
/// shim if it is one); for bunx without node, bun.
fn node_program(
    l: &NpmLaunch,
    opts: &Options,
    explain: &mut Vec<String>,
) -> Result<PathBuf, LaunchError> {
    let found = match crate::sandbox::resolve_program("node") {
        Ok(p) => p,
        Err(_) if l.launcher.starts_with("bun") => {
            crate::sandbox::resolve_program("bun").map_err(|_| LaunchError::ManagerMissing {
                tool: "node or bun".into(),
                package: l.name.clone(),
                launcher: l.launcher.clone(),
            })?
        }
        Err(_) => {
            return Err(LaunchError::ManagerMissing {
                tool: "node".into(),
                package: l.name.clone(),
                launcher: l.launcher.clone(),
            })
        }
    };
    match super::shims::detect(&found) {
        Some(shim) if opts.reach == Reach::Install => {
            let real = super::shims::real_program(&shim, "node", &opts.cwd)?;
            explain.push(format!(
                "node: {} is a {} shim; it runs {}",
                found.display(),
                shim.name,
                real.display()
            ));
            Ok(real)
        }
        _ => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_ordering() {
        let mut v = vec!["1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.9", "2026.8.31"];
        v.sort_by(|a, b| semver_cmp(a, b));
        assert_eq!(
            v,
            vec!["0.9.9", "1.2.0-rc.1", "1.2.0", "1.10.0", "2026.8.31"]
        );
    }

    #[test]
    fn lock_pointer_escapes_scopes() {
        assert_eq!(
            pointer("@s/p", "integrity"),
            "/packages/node_modules~1@s~1p/integrity"
        );
    }

    #[test]
    fn bin_choice_follows_npx() {
        let d = tempfile::tempdir().expect("tempdir");
        let pkg = d.path().join("node_modules/@s/tool");
        std::fs::create_dir_all(pkg.join("dist")).expect("mkdir");
        std::fs::write(pkg.join("dist/a.js"), "").expect("w");
        std::fs::write(pkg.join("dist/b.js"), "").expect("w");
        let pkg = std::fs::canonicalize(&pkg).expect("canon");
        std::fs::write(
            pkg.join("package.json"),
            r#"{"bin":{"tool":"dist/a.js","other":"dist/b.js"}}"#,
        )
        .expect("w");
        assert_eq!(
            bin_script(&pkg, "@s/tool", None).expect("bin"),
            pkg.join("dist/a.js")
        );
        assert_eq!(
            bin_script(&pkg, "@s/tool", Some("other")).expect("bin"),
            pkg.join("dist/b.js")
        );
        assert!(bin_script(&pkg, "@s/tool", Some("nope")).is_err());
        std::fs::write(
            pkg.join("package.json"),
            r#"{"bin":{"x":"dist/a.js","y":"dist/b.js"}}"#,
        )
        .expect("w");
        assert!(bin_script(&pkg, "@s/tool", None)
            .unwrap_err()
            .contains("several bins"));
        std::fs::write(
            pkg.join("package.json"),
            r#"{"bin":"../../../../etc/passwd"}"#,
        )
        .expect("w");
        assert!(bin_script(&pkg, "@s/tool", None).is_err());
    }
}
