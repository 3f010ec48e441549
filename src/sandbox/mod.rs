//! The kernel sandbox an MCP server runs in: the same safe zones the inspector
//! checks arguments against become Landlock rules, plus seccomp, namespaces
//! and process hardening.
//!
//! Flow: the policy fills a [`PlanInput`]; [`Plan::build`] probes the kernel
//! ([`probe`]), resolves the program, computes the runtime [`baseline`],
//! compiles the [`seccomp`] filters, creates the private temp dir (and the
//! [`cgroup`], if limits ask for one) and decides what can be enforced
//! ([`Enforcement`]). [`spawn`] prepares the Landlock ruleset fd
//! ([`landlock`]) and hands everything to the ordered child set-up
//! ([`spawn`](mod@spawn)), which runs between fork and exec using only
//! prepared data ([`namespaces`], [`limits`]). In network allow-list mode
//! the child also creates the [`egress`] proxy's listener inside its network
//! namespace and hands it back; [`spawn_with_egress`] returns it.
//!
//! # Warning
//! A `Plan` owns resources of the servers spawned from it: dropping it removes
//! the private temp dir and kills every process in its cgroup. Keep it alive
//! as long as the server runs.

pub mod baseline;
pub mod cgroup;
pub mod egress;
pub mod from_policy;
pub mod gitconfig;
pub mod idmap;
pub mod landlock;
pub mod limits;
pub mod namespaces;
pub mod probe;
pub mod root;
pub mod seccomp;
mod shed;
pub(crate) use shed::release_code_pages;
pub mod spawn;
mod vm_child;

pub use baseline::{Access, BaselineEntry};
pub use limits::ResourceLimits;
pub use probe::KernelSupport;

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// How hard the sandbox insists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Refuse to start unless every layer of the plan is applied.
    Enforce,
    /// Start with what the kernel supports and say what is missing.
    BestEffort,
    /// No sandbox: new session and parent-death signal only.
    Off,
}

/// The server's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    /// A private network namespace with only loopback; TCP denied by Landlock too.
    None,
    /// A private network namespace whose only way out is vanguard's egress
    /// proxy, listening on the namespace's loopback; Landlock allows TCP
    /// connect to the proxy's port only.
    Allowlist,
    /// The host's network.
    Host,
}

/// What the policy asks for.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// argv of the server; `argv[0]` is resolved via `PATH`.
    pub command: Vec<String>,
    /// Read zones (absolute, canonical).
    pub read: Vec<PathBuf>,
    /// Write zones (absolute, canonical). Not executable unless also a read zone.
    pub write: Vec<PathBuf>,
    pub net: NetMode,
    pub level: Level,
    /// Environment variables passed through, on top of [`limits::ENV_BASELINE`] and `LC_*`.
    pub env_allow: Vec<String>,
    pub env_set: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    /// Add the default-deny allow-list seccomp profile.
    pub strict_seccomp: bool,
    pub limits: ResourceLimits,
    /// Read grants a launcher resolved outside the sandbox (the installed
    /// package tree), added to the runtime baseline with their reasons.
    pub grants: Vec<BaselineEntry>,
    /// Paths inside the write zones that stay read-only (`.git/config`,
    /// `.vscode`, shell rc files…): read-only binds in the minimal root.
    pub protected: Vec<PathBuf>,
    /// Write zones keep exec permission (default: mounted `noexec`).
    pub exec_in_write: bool,
    /// Network allow-list mode: ports of the host's loopback the list names,
    /// forwarded into the namespace (`127.0.0.1:PORT` there reaches the
    /// host's) for clients that ignore proxies (database drivers).
    pub forwards: Vec<u16>,
}

/// Errors from building a plan or spawning under it.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox: empty command")]
    EmptyCommand,
    #[error("sandbox: program `{name}` not found in PATH")]
    ProgramNotFound { name: String },
    #[error("sandbox: {path} is not an executable file ({why})")]
    NotExecutable { path: PathBuf, why: &'static str },
    #[error("sandbox: zone {path} is not an absolute path")]
    ZoneNotAbsolute { path: PathBuf },
    #[error(transparent)]
    Landlock(#[from] landlock::LandlockError),
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    #[error(transparent)]
    Cgroup(#[from] cgroup::CgroupError),
    #[error("sandbox: private temp dir {path}: {source}")]
    TempDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sandbox cannot be fully enforced (level enforce): {}", missing.join("; "))]
    NotEnforceable { missing: Vec<String> },
    #[error("sandbox set-up failed at step `{step}`: {source}")]
    Setup {
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("sandbox: spawn {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether one layer of the sandbox is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Status {
    Full,
    Partial(String),
    NotApplied(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Full => f.write_str("full"),
            Status::Partial(why) => write!(f, "partial ({why})"),
            Status::NotApplied(why) => write!(f, "off ({why})"),
        }
    }
}

/// What a spawn applies, layer by layer. `missing` lists, in words, every
/// requested part that is not (fully) applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enforcement {
    pub landlock: Status,
    pub seccomp: Status,
    pub netns: Status,
    pub userns: Status,
    /// PID + mount namespaces with a private `/proc` (orphan safety).
    pub pidns: Status,
    /// The minimal root: an empty tmpfs with only the plan's paths bound in.
    pub root: Status,
    /// Who the server runs as: `nobody` over idmapped trees when vanguard
    /// is root.
    pub user: Status,
    pub no_new_privs: Status,
    pub caps_dropped: Status,
    pub cgroup: Status,
    pub missing: Vec<String>,
    /// With a minimal root: the host paths bound into it (everything else
    /// does not exist for the server). Empty without one.
    #[serde(skip)]
    pub visible: Vec<PathBuf>,
}

impl Enforcement {
    pub fn fully_enforced(&self) -> bool {
        self.missing.is_empty()
    }

    /// One log line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "landlock={} seccomp={} netns={} userns={} pidns={} root={} user={} no_new_privs={} caps_dropped={} cgroup={}",
            self.landlock,
            self.seccomp,
            self.netns,
            self.userns,
            self.pidns,
            self.root,
            self.user,
            self.no_new_privs,
            self.caps_dropped,
            self.cgroup
        );
        if !self.missing.is_empty() {
            s.push_str("; missing: ");
            s.push_str(&self.missing.join("; "));
        }
        s
    }
}

/// A private, 0700 temp dir (the server's `TMPDIR`), removed on drop, and
/// an empty sibling the minimal root is mounted on (in the server's mount
/// namespace only: on the host it stays empty).
#[derive(Debug)]
struct PrivateTmp {
    path: PathBuf,
    staging: PathBuf,
}

static TMP_COUNTER: AtomicU32 = AtomicU32::new(0);

impl PrivateTmp {
    fn create() -> Result<PrivateTmp, SandboxError> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        PrivateTmp::sweep_stale(&base);
        let mut last = None;
        for _ in 0..16 {
            let mut nonce = [0u8; 6];
            let _ = getrandom::getrandom(&mut nonce);
            let suffix: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
            let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("vanguard-{}-{n}-{suffix}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    // Canonical, so the Landlock rule and TMPDIR name the same inode path.
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    let mut staging = path.clone().into_os_string();
                    staging.push(".root");
                    let staging = PathBuf::from(staging);
                    if let Err(source) = std::fs::DirBuilder::new().mode(0o700).create(&staging) {
                        let _ = std::fs::remove_dir(&path);
                        return Err(SandboxError::TempDir {
                            path: staging,
                            source,
                        });
                    }
                    return Ok(PrivateTmp { path, staging });
                }
                Err(e) => last = Some((path, e)),
            }
        }
        let (path, source) = last.unwrap_or_else(|| (base, std::io::Error::other("no attempt")));
        Err(SandboxError::TempDir { path, source })
    }
}

impl PrivateTmp {
    /// Removes temp dirs left by a vanguard that was killed (`kill -9` skips
    /// `Drop`): `vanguard-<pid>-*` whose pid no longer exists.
    fn sweep_stale(base: &Path) {
        let Ok(entries) = std::fs::read_dir(base) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("vanguard-"))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            let owner_gone = !Path::new("/proc").join(pid.to_string()).exists();
            let ours = entry.metadata().is_ok_and(|m| {
                std::os::unix::fs::MetadataExt::uid(&m) == nix::unistd::geteuid().as_raw()
            });
            if owner_gone && ours && entry.path().is_dir() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Drop for PrivateTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        let _ = std::fs::remove_dir(&self.staging);
    }
}

/// Everything computed in the parent for one server.
#[derive(Debug)]
pub struct Plan {
    level: Level,
    program: PathBuf,
    argv: Vec<String>,
    read: Vec<PathBuf>,
    write: Vec<PathBuf>,
    net: NetMode,
    forwards: Vec<u16>,
    baseline: Vec<BaselineEntry>,
    rules: Vec<landlock::PathRule>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    profile: seccomp::Profile,
    seccomp: Vec<seccomp::Program>,
    limits: ResourceLimits,
    namespaces: namespaces::Namespaces,
    support: KernelSupport,
    enforcement: Enforcement,
    tmp: Option<PrivateTmp>,
    cgroup: Option<cgroup::CgroupDir>,
    /// The minimal root, when mount namespaces work.
    root: Option<root::RootPlan>,
}

/// The parts of a [`Plan`] a running server needs kept: dropping this
/// removes the private temp dir and the cgroup.
pub struct PlanResources {
    _tmp: Option<PrivateTmp>,
    _cgroup: Option<cgroup::CgroupDir>,
    _root: Option<root::RootPlan>,
}

/// Finds `name` in `PATH` (or takes it as a path when it contains `/`).
/// The result is the path as found, not canonicalised, so argv[0]-sensitive
/// programs (pyenv shims, busybox) behave as usual.
pub fn resolve_program(name: &str) -> Result<PathBuf, SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let not_executable = |p: &Path| -> Option<SandboxError> {
        let m = std::fs::metadata(p).ok()?;
        let why = if m.is_dir() {
            "it is a directory"
        } else if m.permissions().mode() & 0o111 == 0 {
            "no execute permission; chmod +x it or run it with its interpreter"
        } else {
            return None;
        };
        Some(SandboxError::NotExecutable {
            path: p.to_path_buf(),
            why,
        })
    };
    if name.contains('/') {
        let path = std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name));
        if executable(&path) {
            return Ok(path);
        }
        return Err(not_executable(&path)
            .unwrap_or_else(|| SandboxError::ProgramNotFound { name: name.into() }));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let candidates: Vec<PathBuf> = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .filter(|p| p.is_absolute())
        .collect();
    if let Some(p) = candidates.iter().find(|p| executable(p)) {
        return Ok(p.clone());
    }
    Err(candidates
        .iter()
        .find_map(|p| not_executable(p).filter(|_| p.is_file()))
        .unwrap_or_else(|| SandboxError::ProgramNotFound { name: name.into() }))
}

impl Plan {
    /// Builds a plan for the running kernel.
    pub fn build(input: PlanInput) -> Result<Plan, SandboxError> {
        // Off applies no namespace and no cgroup: their trials would only
        // cost the command's start (see `probe::Scope`).
        let sandboxed = input.level != Level::Off;
        let scope = probe::Scope {
            namespaces: sandboxed,
            cgroup: sandboxed && input.limits.wants_cgroup(),
        };
        Plan::build_with(input, probe::probe_scope(scope))
    }

    /// Builds a plan against a given kernel description (tests, `doctor`).
    pub fn build_with(input: PlanInput, support: KernelSupport) -> Result<Plan, SandboxError> {
        let name = input.command.first().ok_or(SandboxError::EmptyCommand)?;
        let program = resolve_program(name)?;
        for path in input.read.iter().chain(&input.write) {
            if !path.is_absolute() {
                return Err(SandboxError::ZoneNotAbsolute { path: path.clone() });
            }
        }
        let cwd_for_scripts = input
            .cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let sandboxed = input.level != Level::Off;
        let tmp = if sandboxed {
            Some(PrivateTmp::create()?)
        } else {
            None
        };
        let mut baseline = baseline::compute(&program, &input.command, &cwd_for_scripts);
        // A launcher's grant replaces the same path found by the baseline
        // heuristics: its reason is the precise one.
        for g in input.grants {
            if baseline::is_forbidden(&g.path) || !g.path.exists() {
                continue;
            }
            baseline.retain(|e| e.path != g.path);
            baseline.push(g);
        }
        if let Some(t) = &tmp {
            baseline.push(BaselineEntry {
                path: t.path.clone(),
                access: Access::Write,
                reason: "private temp dir (TMPDIR), removed when the plan is dropped".into(),
            });
        }
        let mut rules: Vec<landlock::PathRule> = Vec::new();
        rules.extend(input.read.iter().map(|p| landlock::PathRule {
            path: p.clone(),
            access: Access::Read,
        }));
        rules.extend(input.write.iter().map(|p| landlock::PathRule {
            path: p.clone(),
            access: Access::Write,
        }));
        rules.extend(baseline.iter().map(|e| landlock::PathRule {
            path: e.path.clone(),
            access: e.access,
        }));
        let namespaces = if sandboxed {
            let mut ns = namespaces::decide(
                input.net != NetMode::Host,
                support.root,
                support.namespaces(),
            );
            // A PID namespace without its own /proc would show the server
            // the outer one's processes under the wrong numbers.
            ns.pid &= support.fresh_proc;
            ns
        } else {
            namespaces::Namespaces::default()
        };
        let mut env = if sandboxed {
            limits::scrub_env(
                std::env::vars_os(),
                &input.env_allow,
                &input.env_set,
                tmp.as_ref().map(|t| t.path.as_path()),
            )
        } else {
            std::env::vars_os()
                .chain(input.env_set.iter().map(|(k, v)| (k.into(), v.into())))
                .collect()
        };
        // git refuses to run when ~/.gitconfig is unreadable: give it the
        // safe part of the user's configuration (see `gitconfig`).
        if let Some(t) = &tmp {
            let set_by_policy = input.env_set.iter().any(|(k, _)| k == "GIT_CONFIG_GLOBAL");
            if !set_by_policy {
                if let Some(path) = gitconfig::write_sanitized(&t.path) {
                    env.retain(|(k, _)| k != "GIT_CONFIG_GLOBAL");
                    env.push(("GIT_CONFIG_GLOBAL".into(), path.into_os_string()));
                }
            }
        }
        if input.net == NetMode::Allowlist && namespaces.net {
            // The policy's own `env_set` wins over the proxy variables.
            for (k, v) in egress::proxy_env() {
                if input.env_set.iter().all(|(set, _)| set != k) {
                    env.retain(|(ek, _)| ek != k);
                    env.push((k.into(), v.into()));
                }
            }
        }
        let profile = seccomp::Profile::for_plan(input.strict_seccomp);
        let seccomp = if sandboxed && support.seccomp {
            seccomp::compile(profile)?
        } else {
            Vec::new()
        };
        let cgroup = match (
            &support.cgroup2_mount,
            sandboxed && input.limits.wants_cgroup(),
        ) {
            (Some(root), true) if support.cgroup_limits() => Some(cgroup::CgroupDir::create(
                root,
                input.limits.memory_max,
                input.limits.pids_max,
            )?),
            _ => None,
        };
        let mut root = match &tmp {
            Some(t) if namespaces.pid && support.mounts => {
                let base: Vec<(PathBuf, Access)> = baseline
                    .iter()
                    .map(|e| (e.path.clone(), e.access))
                    .collect();
                let cwd = input.cwd.clone().unwrap_or_else(|| cwd_for_scripts.clone());
                Some(root::RootPlan::new(&root::RootInput {
                    staging: &t.staging,
                    read: &input.read,
                    write: &input.write,
                    baseline: &base,
                    protected: &input.protected,
                    tmp: Some(&t.path),
                    cwd: &cwd,
                    exec_in_write: input.exec_in_write,
                    links: std::slice::from_ref(&program),
                }))
            }
            _ => None,
        };
        // Never uid 0 with host ownership: as root, the server runs as
        // nobody over idmapped trees (all of them, or it stays root and
        // says so).
        let nobody = match root.as_mut() {
            _ if input.level == Level::Off || !support.root => Ok(()),
            Some(r) => r.idmap_for_nobody(),
            None => Err("no minimal root".to_string()),
        };
        let mut enforcement = assess(&Assessment {
            level: input.level,
            net: input.net,
            wants_cgroup: input.limits.wants_cgroup(),
            has_cgroup: cgroup.is_some(),
            namespaces,
            support: &support,
            nobody,
        });
        if let (Some(r), Status::Full) = (&root, &enforcement.root) {
            enforcement.visible = r
                .mounts
                .iter()
                .filter(|m| m.host)
                .map(|m| m.path.clone())
                .collect();
        }
        Ok(Plan {
            level: input.level,
            program,
            argv: input.command,
            read: input.read,
            write: input.write,
            net: input.net,
            forwards: if input.net == NetMode::Allowlist {
                input.forwards
            } else {
                Vec::new()
            },
            baseline,
            rules,
            env,
            cwd: input.cwd,
            profile,
            seccomp,
            limits: input.limits,
            namespaces,
            support,
            enforcement,
            tmp,
            cgroup,
            root,
        })
    }

    pub fn level(&self) -> Level {
        self.level
    }

    /// The resolved program (`argv[0]` found in PATH).
    pub fn program(&self) -> &Path {
        &self.program
    }

    pub fn baseline(&self) -> &[BaselineEntry] {
        &self.baseline
    }

    /// What must outlive the spawned server (its private temp dir, cgroup
    /// and minimal root), without what only the spawn needed (rules,
    /// seccomp programs, baseline, environment): a hosted gateway keeps one
    /// per session.
    pub fn into_resources(self) -> PlanResources {
        PlanResources {
            _tmp: self.tmp,
            _cgroup: self.cgroup,
            _root: self.root,
        }
    }

    /// What a spawn under this plan will apply.
    pub fn enforcement(&self) -> &Enforcement {
        &self.enforcement
    }

    /// The kernel description the plan was built against.
    pub fn support(&self) -> &KernelSupport {
        &self.support
    }

    /// The private temp dir (the server's TMPDIR), if any.
    pub fn temp_dir(&self) -> Option<&Path> {
        self.tmp.as_ref().map(|t| t.path.as_path())
    }

    /// Human listing for `vanguard policy explain`.
    /// What the plan grants and denies, as data: the part of a server
    /// manifest (`vanguard manifest`) that says how the server is confined.
    /// Only the request, never what this kernel enforces of it (that is
    /// [`Plan::enforcement`]), nor per-run paths (the private `/tmp`), nor
    /// environment values (names only: values such as `PATH` vary by user).
    pub fn summary(&self) -> serde_json::Value {
        let access = |a: Access| match a {
            Access::Read => "read",
            Access::Write => "write",
            Access::ReadWriteFile => "read+write file",
        };
        let tmp = self.temp_dir();
        let mut baseline: Vec<(String, &str)> = self
            .baseline
            .iter()
            .filter(|e| Some(e.path.as_path()) != tmp)
            .map(|e| (e.path.display().to_string(), access(e.access)))
            .collect();
        baseline.sort();
        let mut env: Vec<String> = self
            .env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        env.sort();
        env.dedup();
        let paths =
            |v: &[PathBuf]| -> Vec<String> { v.iter().map(|p| p.display().to_string()).collect() };
        serde_json::json!({
            "level": self.level,
            "program": self.program.display().to_string(),
            "argv": self.argv,
            "read": paths(&self.read),
            "write": paths(&self.write),
            "net": self.net,
            "forwards": self.forwards,
            "baseline": baseline
                .iter()
                .map(|(p, a)| serde_json::json!({"path": p, "access": a}))
                .collect::<Vec<_>>(),
            "env": env,
            "cwd": self.cwd.as_ref().map(|c| c.display().to_string()),
            "seccomp": {
                "profile": match self.profile {
                    seccomp::Profile::DenyList => "deny-list",
                    seccomp::Profile::Strict => "strict",
                },
                "filters": self.seccomp.iter().map(|p| p.name).collect::<Vec<_>>(),
            },
            "limits": {
                "nofile": self.limits.nofile,
                "nproc": self.limits.nproc,
                "address_space": self.limits.address_space,
                "file_size": self.limits.file_size,
                "memory_max": self.limits.memory_max,
                "pids_max": self.limits.pids_max,
            },
            "namespaces": {
                "user": self.namespaces.user,
                "net": self.namespaces.net,
                "pid": self.namespaces.pid,
            },
        })
    }

    pub fn explain(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "sandbox level: {:?}", self.level);
        let _ = writeln!(
            s,
            "program: {} (argv: {:?})",
            self.program.display(),
            self.argv
        );
        let _ = writeln!(s, "read zones (read, list, execute):");
        for p in &self.read {
            let _ = writeln!(s, "  {}", p.display());
        }
        let _ = writeln!(
            s,
            "write zones (create, write, truncate, remove; no execute):"
        );
        for p in &self.write {
            let _ = writeln!(s, "  {}", p.display());
        }
        let _ = writeln!(s, "runtime baseline:");
        for e in &self.baseline {
            let access = match e.access {
                Access::Read => "read",
                Access::Write => "write",
                Access::ReadWriteFile => "read+write file",
            };
            let _ = writeln!(s, "  {:<40} {:<15} {}", e.path.display(), access, e.reason);
        }
        if self.namespaces.pid {
            let _ = writeln!(
                s,
                "  {:<40} {:<15} private procfs of the sandbox's own PID namespace",
                "/proc", "read"
            );
        }
        let profile = match self.profile {
            seccomp::Profile::DenyList => "deny-list (default allow)",
            seccomp::Profile::Strict => "strict (deny-list + default-deny allow-list)",
        };
        let filters: Vec<&str> = self.seccomp.iter().map(|p| p.name).collect();
        let _ = writeln!(s, "seccomp: {profile}; filters: {}", filters.join(", "));
        let denied: Vec<&str> = seccomp::always_denied().iter().map(|(n, _)| *n).collect();
        let _ = writeln!(
            s,
            "  EPERM: {}; chmod-family modes with S_ISUID/S_ISGID; clone with CLONE_NEW*; personality other than query/PER_LINUX; \
             ioctl TIOCSTI/TIOCLINUX; socket AF_PACKET/AF_VSOCK/SOCK_RAW/netlink other than \
             NETLINK_ROUTE; clone3 answers ENOSYS",
            denied.join(", ")
        );
        let net = match self.net {
            NetMode::None => "none (private network namespace with loopback; TCP bind/connect denied by Landlock)".to_string(),
            NetMode::Allowlist if self.forwards.is_empty() => format!(
                "allowlist (private network namespace with loopback; the only way out is vanguard's egress proxy at {}, \
                 which connects to allow-listed destinations only; Landlock allows TCP connect to port {} only, no bind)",
                egress::PROXY_URL,
                egress::PROXY_PORT
            ),
            NetMode::Allowlist => {
                let ports: Vec<String> = self.forwards.iter().map(u16::to_string).collect();
                format!(
                    "allowlist (private network namespace with loopback; the only way out is vanguard's egress proxy at {}, \
                     which connects to allow-listed destinations only; the listed host loopback ports {} are forwarded: \
                     127.0.0.1:PORT inside reaches the host's; Landlock allows TCP connect to ports {} and {} only, no bind)",
                    egress::PROXY_URL,
                    ports.join(", "),
                    egress::PROXY_PORT,
                    ports.join(", ")
                )
            }
            NetMode::Host => "host".to_string(),
        };
        let _ = writeln!(s, "network: {net}");
        let rl: Vec<String> = self
            .limits
            .rlimits()
            .iter()
            .map(|r| format!("{}={}", r.name, r.value))
            .collect();
        let _ = writeln!(s, "rlimits: {}", rl.join(" "));
        if let Some(cg) = &self.cgroup {
            let _ = writeln!(
                s,
                "cgroup: {} memory.max={:?} pids.max={:?}",
                cg.path().display(),
                self.limits.memory_max,
                self.limits.pids_max
            );
        }
        let names: Vec<String> = self
            .env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        let _ = writeln!(s, "environment: {}", names.join(" "));
        let _ = writeln!(s, "enforcement: {}", self.enforcement.summary());
        s
    }

    /// Whether a spawn under this plan hands back an egress proxy listener.
    pub fn has_egress(&self) -> bool {
        self.net == NetMode::Allowlist && self.namespaces.net
    }

    /// The per-spawn child set-up; opens the Landlock ruleset (in the parent).
    /// With an egress proxy, also the receiving end of its listener.
    fn child_setup(
        &self,
    ) -> Result<(spawn::ChildSetup, Option<egress::HandoffReceiver>), SandboxError> {
        let mut setup = spawn::ChildSetup::default();
        if self.level == Level::Off {
            return Ok((setup, None));
        }
        setup.sandboxed = true;
        if let Some(cg) = &self.cgroup {
            let fd = nix::unistd::dup(cg.procs_fd()).map_err(|e| SandboxError::Setup {
                step: "join cgroup",
                source: e.into(),
            })?;
            // SAFETY: dup returned a fresh fd we now own.
            let owned =
                unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
            // dup does not copy FD_CLOEXEC; the fd must not reach the server.
            let _ = nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
            setup.cgroup_procs = Some(owned);
        }
        if self.namespaces.user {
            setup.user_maps = Some(namespaces::UserMaps::for_current());
        }
        setup.unshare_flags = self.namespaces.unshare_flags();
        if self.namespaces.net {
            setup.loopback = Some(namespaces::Loopback::default());
        }
        let mut receiver = None;
        if self.has_egress() {
            let (rx, tx) = egress::handoff(&self.forwards).map_err(|e| SandboxError::Setup {
                step: "egress listener",
                source: std::io::Error::other(e),
            })?;
            setup.egress = Some(tx);
            receiver = Some(rx);
        }
        setup.pid_namespace = self.namespaces.pid;
        setup.root = self.root.clone();
        setup.own_strings = own_strings();
        setup.rlimits = self.limits.rlimits();
        setup.cap_last_cap = self.support.cap_last_cap;
        setup.has_setpcap = self.support.root || self.namespaces.user;
        if self.support.landlock_abi > 0 {
            let tcp = match self.net {
                NetMode::None => landlock::TcpRule::DenyAll,
                NetMode::Allowlist => landlock::TcpRule::ConnectOnly(
                    std::iter::once(egress::PROXY_PORT)
                        .chain(self.forwards.iter().copied())
                        .collect(),
                ),
                NetMode::Host => landlock::TcpRule::Unrestricted,
            };
            setup.landlock = landlock::prepare(&self.rules, tcp)?;
        }
        setup.seccomp = self.seccomp.clone();
        Ok((setup, receiver))
    }
}

/// This process's argument and environment areas, read once.
fn own_strings() -> Option<spawn::OwnStrings> {
    static OWN: std::sync::OnceLock<Option<spawn::OwnStrings>> = std::sync::OnceLock::new();
    *OWN.get_or_init(spawn::OwnStrings::of_this_process)
}

/// Inputs of [`assess`], the pure enforcement decision.
struct Assessment<'a> {
    level: Level,
    net: NetMode,
    wants_cgroup: bool,
    has_cgroup: bool,
    namespaces: namespaces::Namespaces,
    support: &'a KernelSupport,
    /// As root: whether the server can run as nobody (every tree of the
    /// minimal root idmapped), or why not.
    nobody: Result<(), String>,
}

/// Decides, layer by layer, what a spawn will apply and what is missing.
fn assess(a: &Assessment<'_>) -> Enforcement {
    let off = || Status::NotApplied("sandbox level off".into());
    if a.level == Level::Off {
        return Enforcement {
            landlock: off(),
            seccomp: off(),
            netns: off(),
            userns: off(),
            pidns: off(),
            root: off(),
            user: off(),
            no_new_privs: off(),
            caps_dropped: off(),
            cgroup: off(),
            missing: vec!["sandbox level is off".into()],
            visible: Vec::new(),
        };
    }
    let mut missing = Vec::new();
    let s = a.support;
    let landlock = match s.landlock_abi {
        0 => {
            missing.push(
                "landlock: not supported by this kernel (filesystem zones not enforced)".into(),
            );
            Status::NotApplied("kernel has no Landlock".into())
        }
        abi if abi < landlock::TARGET_ABI_VERSION => {
            let mut lacks = vec!["signal and abstract-socket scopes (ABI 6)"];
            if abi < 5 {
                lacks.push("device ioctl (ABI 5)");
            }
            if abi < 4 && a.net != NetMode::Host {
                lacks.push("TCP bind/connect (ABI 4)");
            }
            if abi < 3 {
                lacks.push("truncate (ABI 3)");
            }
            if abi < 2 {
                lacks.push("cross-directory rename/link (ABI 2)");
            }
            let why = format!("kernel ABI {abi} lacks {}", lacks.join(", "));
            missing.push(format!("landlock: {why}"));
            Status::Partial(why)
        }
        _ => Status::Full,
    };
    let seccomp = if s.seccomp {
        Status::Full
    } else {
        missing.push("seccomp: not available in this kernel".into());
        Status::NotApplied("kernel has no seccomp filter mode".into())
    };
    let netns = match (a.net, a.namespaces.net) {
        (NetMode::Host, _) => Status::NotApplied("network mode host".into()),
        (NetMode::None | NetMode::Allowlist, true) => Status::Full,
        (NetMode::None | NetMode::Allowlist, false) => {
            missing.push(
                "netns: cannot create a network namespace (not root, no user namespaces)".into(),
            );
            Status::NotApplied("no namespaces available".into())
        }
    };
    let userns = if s.root {
        Status::NotApplied("not needed as root".into())
    } else if a.namespaces.user {
        Status::Full
    } else {
        let why = s
            .user_namespaces_reason
            .clone()
            .unwrap_or_else(|| "user namespaces unavailable".into());
        missing.push(format!("userns: {why}"));
        Status::NotApplied(why)
    };
    let pidns = if a.namespaces.pid {
        Status::Full
    } else if !s.fresh_proc {
        let why = s
            .mounts_reason
            .clone()
            .unwrap_or_else(|| "cannot mount a fresh /proc".into());
        missing.push(format!(
            "pidns: no PID namespace ({why}); descendants may outlive their session"
        ));
        Status::NotApplied(why)
    } else {
        missing.push(
            "pidns: no PID namespace (descendants may outlive vanguard; /proc not readable)".into(),
        );
        Status::NotApplied("no namespaces available".into())
    };
    let root = match (a.namespaces.pid, s.mounts) {
        (true, true) => Status::Full,
        (_, false) => {
            let why = s
                .mounts_reason
                .clone()
                .unwrap_or_else(|| "mount namespaces unavailable".into());
            missing.push(format!(
                "root: no minimal root ({why}); the server sees the host's filesystem, limited by Landlock alone"
            ));
            Status::NotApplied(why)
        }
        (false, true) => {
            missing.push("root: no minimal root (no mount namespace)".into());
            Status::NotApplied("no namespaces available".into())
        }
    };
    let user = match (&a.nobody, s.root) {
        (_, false) if nix::unistd::geteuid().is_root() => {
            let why = "uid 0 without CAP_SYS_ADMIN: the server runs as uid 0, with no capabilities";
            missing.push(format!(
                "user: {why} (run vanguard as a non-root user, or as root with CAP_SYS_ADMIN)"
            ));
            Status::NotApplied(why.into())
        }
        (_, false) => {
            Status::NotApplied("vanguard is not root: the server runs as the invoking user".into())
        }
        (Ok(()), true) => Status::Full,
        (Err(why), true) => {
            missing.push(format!("user: the server runs as root ({why})"));
            Status::NotApplied(why.clone())
        }
    };
    let cgroup = match (a.wants_cgroup, a.has_cgroup) {
        (false, _) => Status::NotApplied("no cgroup limits requested".into()),
        (true, true) => Status::Full,
        (true, false) => {
            missing.push(
                "cgroup: memory.max/pids.max requested but no writable cgroup v2 with memory and pids controllers"
                    .into(),
            );
            Status::NotApplied("no delegated cgroup v2".into())
        }
    };
    Enforcement {
        landlock,
        seccomp,
        netns,
        userns,
        pidns,
        root,
        user,
        no_new_privs: Status::Full,
        caps_dropped: Status::Full,
        cgroup,
        missing,
        visible: Vec::new(),
    }
}

/// A `Command` for the plan's program, argv, environment and cwd. Set its
/// stdio, then pass it to [`spawn`].
pub fn command_for(plan: &Plan) -> std::process::Command {
    let mut cmd = std::process::Command::new(&plan.program);
    if let Some(arg0) = plan.argv.first() {
        cmd.arg0(arg0);
    }
    cmd.args(plan.argv.iter().skip(1));
    apply_env(&mut cmd, plan);
    cmd
}

fn apply_env(cmd: &mut std::process::Command, plan: &Plan) {
    cmd.env_clear();
    cmd.envs(plan.env.iter().map(|(k, v)| (k, v)));
    if let Some(cwd) = &plan.cwd {
        cmd.current_dir(cwd);
    }
}

/// Spawns `cmd` under `plan`. The plan's environment and cwd replace the
/// command's; its program and arguments are kept (use [`command_for`]).
///
/// Enforce: refuses (error naming the missing parts) when the plan cannot be
/// fully enforced. BestEffort: starts and logs what is missing. Off: plain
/// spawn in a new session with a parent-death signal.
///
/// With a PID namespace the returned `Child` is the sandbox's supervisor, not
/// the server itself (see [`spawn`](mod@spawn)): its exit status is the
/// server's (128+N for death by signal N), SIGTERM/SIGINT/SIGHUP/SIGQUIT/
/// SIGUSR1/SIGUSR2 sent to it reach the server, `Child::kill` (SIGKILL) kills
/// the whole sandbox, and so does `kill(-pid)` of its process group.
///
/// # Warning
/// The parent-death signal fires when the *thread* that spawned exits. Spawn
/// from a thread that lives as long as the server (not a short-lived
/// `spawn_blocking` worker), or the server is killed when the thread ends.
/// Spawn each `Command` once: its `pre_exec` hook is not removed afterwards.
///
/// # Warning
/// In network allow-list mode the egress proxy's listener is dropped here, so
/// the server has no way out at all: use [`spawn_with_egress`] and serve it.
pub fn spawn(
    cmd: &mut std::process::Command,
    plan: &Plan,
) -> Result<(std::process::Child, Enforcement), SandboxError> {
    let spawned = spawn_with_egress(cmd, plan)?;
    Ok((spawned.child, spawned.enforcement))
}

/// A server started by [`spawn_with_egress`].
#[derive(Debug)]
pub struct Spawned {
    pub child: std::process::Child,
    pub enforcement: Enforcement,
    /// Network allow-list mode: the listeners inside the server's network
    /// namespace (the proxy's `127.0.0.1:3128` there, and one per forwarded
    /// port). Serve them with [`egress::EgressProxy`]; until then
    /// connections queue, and dropping them leaves the server without network.
    pub egress_listener: Option<egress::Listeners>,
}

/// Like [`spawn`], and also returns the egress proxy's listener when the
/// plan has one (see [`egress`]).
pub fn spawn_with_egress(
    cmd: &mut std::process::Command,
    plan: &Plan,
) -> Result<Spawned, SandboxError> {
    let enforcement = plan.enforcement.clone();
    match plan.level {
        Level::Enforce if !enforcement.fully_enforced() => {
            return Err(SandboxError::NotEnforceable {
                missing: enforcement.missing,
            })
        }
        // BestEffort with something missing: the caller reports it (the
        // library keeps human output to its callers, so it is said once).
        _ => {}
    }
    if plan.level == Level::Off {
        if let Some(cwd) = &plan.cwd {
            cmd.current_dir(cwd);
        }
    } else {
        apply_env(cmd, plan);
    }
    let (setup, receiver) = plan.child_setup()?;
    let progress = Arc::new(
        spawn::Progress::new().map_err(|source| SandboxError::Setup {
            step: "start",
            source,
        })?,
    );
    spawn::install(cmd, setup, Arc::clone(&progress));
    match cmd.spawn() {
        Ok(mut child) => {
            tracing::debug!(pid = child.id(), program = %plan.program.display(), "sandbox: {}", enforcement.summary());
            // The child queued the listener before exec, so it is there now.
            let egress_listener = match receiver.map(egress::HandoffReceiver::receive) {
                Some(Ok(listener)) => Some(listener),
                Some(Err(e)) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SandboxError::Setup {
                        step: "egress listener",
                        source: std::io::Error::other(e),
                    });
                }
                None => None,
            };
            Ok(Spawned {
                child,
                enforcement,
                egress_listener,
            })
        }
        Err(source) => match progress.step() {
            "exec" | "start" => Err(SandboxError::Spawn {
                program: plan.program.clone(),
                source,
            }),
            step => Err(SandboxError::Setup { step, source }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support() -> KernelSupport {
        KernelSupport {
            landlock_abi: 7,
            landlock_errata: None,
            seccomp: true,
            seccomp_actions: vec!["allow".into(), "errno".into()],
            user_namespaces: true,
            user_namespaces_reason: None,
            cgroup2_mount: None,
            cgroup2_controllers: vec![],
            cgroup2_writable: false,
            root: true,
            cap_last_cap: 40,
            mounts: true,
            mounts_reason: None,
            fresh_proc: true,
        }
    }

    fn assessment(support: &KernelSupport, level: Level, net: NetMode) -> Enforcement {
        assess(&Assessment {
            level,
            net,
            wants_cgroup: false,
            has_cgroup: false,
            namespaces: namespaces::decide(
                net != NetMode::Host,
                support.root,
                support.namespaces(),
            ),
            support,
            nobody: Ok(()),
        })
    }

    #[test]
    fn modern_kernel_as_root_is_fully_enforced() {
        let e = assessment(&support(), Level::Enforce, NetMode::None);
        assert!(e.fully_enforced(), "{}", e.summary());
        assert_eq!(e.netns, Status::Full);
        assert!(matches!(e.userns, Status::NotApplied(_)));
    }

    #[test]
    fn old_landlock_is_partial_and_named() {
        let s = KernelSupport {
            landlock_abi: 3,
            ..support()
        };
        let e = assessment(&s, Level::BestEffort, NetMode::None);
        assert!(!e.fully_enforced());
        assert!(matches!(e.landlock, Status::Partial(_)));
        assert!(e
            .missing
            .iter()
            .any(|m| m.starts_with("landlock:") && m.contains("TCP")));
    }

    #[test]
    fn no_namespaces_unprivileged_misses_netns_and_userns() {
        let s = KernelSupport {
            root: false,
            user_namespaces: false,
            user_namespaces_reason: Some("kernel.unprivileged_userns_clone is 0".into()),
            ..support()
        };
        let e = assessment(&s, Level::Enforce, NetMode::None);
        assert!(e.missing.iter().any(|m| m.starts_with("netns:")));
        assert!(e
            .missing
            .iter()
            .any(|m| m.contains("unprivileged_userns_clone")));
    }

    #[test]
    fn host_network_does_not_count_as_missing() {
        let e = assessment(&support(), Level::Enforce, NetMode::Host);
        assert!(e.fully_enforced());
        assert!(matches!(e.netns, Status::NotApplied(_)));
    }

    #[test]
    fn missing_cgroup_is_named_when_limits_ask_for_it() {
        let s = support();
        let e = assess(&Assessment {
            level: Level::Enforce,
            net: NetMode::Host,
            wants_cgroup: true,
            has_cgroup: false,
            namespaces: namespaces::decide(false, true, true),
            support: &s,
            nobody: Ok(()),
        });
        assert!(e.missing.iter().any(|m| m.starts_with("cgroup:")));
    }

    #[test]
    fn allowlist_plan_points_the_server_at_the_proxy() {
        let input = PlanInput {
            command: vec!["true".into()],
            read: vec![],
            write: vec![],
            net: NetMode::Allowlist,
            level: Level::Enforce,
            env_allow: vec!["HTTP_PROXY".into()],
            env_set: vec![("no_proxy".into(), "localhost".into())],
            cwd: None,
            strict_seccomp: false,
            limits: ResourceLimits::default(),
            grants: Vec::new(),
            forwards: vec![5432],
            protected: Vec::new(),
            exec_in_write: false,
        };
        let plan = Plan::build_with(input, support()).expect("plan");
        assert!(plan.has_egress());
        assert!(
            plan.explain().contains("loopback ports 5432 are forwarded"),
            "{}",
            plan.explain()
        );
        assert!(plan.namespaces.net, "allow-list mode needs its own netns");
        let get = |k: &str| {
            plan.env
                .iter()
                .find(|(ek, _)| ek == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("HTTP_PROXY").as_deref(), Some(egress::PROXY_URL));
        assert_eq!(get("https_proxy").as_deref(), Some(egress::PROXY_URL));
        assert_eq!(
            get("no_proxy").as_deref(),
            Some("localhost"),
            "env_set wins"
        );
        assert!(plan.explain().contains("network: allowlist"));
        let e = assessment(&support(), Level::Enforce, NetMode::Allowlist);
        assert!(e.fully_enforced(), "{}", e.summary());
        assert_eq!(e.netns, Status::Full);
    }

    #[test]
    fn plan_can_move_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Plan>();
    }

    #[test]
    fn level_serde_names() {
        let l: Level = serde_json::from_str("\"best-effort\"").expect("parse");
        assert_eq!(l, Level::BestEffort);
        let n: NetMode = serde_json::from_str("\"none\"").expect("parse");
        assert_eq!(n, NetMode::None);
    }
}
