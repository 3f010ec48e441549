//! Servers started the way users configure them: `npx -y PKG`, `uvx PKG`,
//! npm and pnpm bins, a global prefix, a venv, version-manager layouts.
//!
//! The package registries are reachable from the test machines; every test
//! installs into a cache of its own (or the shared one below), never the
//! user's. "Offline" runs put vanguard in a network namespace of its own
//! with no route anywhere, and package-manager decoys first in `PATH` that
//! record any call: a warm start must need neither.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a first start that installs its package may take on a loaded
/// two-core machine (pip installs in ~12 s alone, far slower under load).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(180);

/// `.test-env/venv/bin` (uv, uvx) first in `PATH`, as a user who installed uv has it.
fn path_with_uv() -> String {
    let uvx = PathBuf::from(require_env("VANGUARD_TEST_UVX"));
    let bin = uvx
        .parent()
        .expect("venv bin")
        .to_string_lossy()
        .into_owned();
    format!("{bin}:{}", std::env::var("PATH").unwrap_or_default())
}

/// One package cache for the tests of this binary that do not test the
/// first install itself (the installer's lock makes sharing it safe).
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            tempfile::Builder::new()
                .prefix("vanguard-cache-")
                .tempdir()
                .expect("tempdir")
        })
        .path()
}

/// A directory of package-manager decoys that record being run and fail.
fn decoys(dir: &Path) -> PathBuf {
    let bin = dir.join("decoys");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let log = dir.join("decoys.log");
    for name in ["npm", "npx", "pnpm", "uv", "uvx", "pip", "pipx"] {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> {}\nexit 97\n",
                log.display()
            ),
        )
        .expect("write decoy");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

struct Run<'a> {
    server: &'a str,
    profile: &'a str,
    workspace: &'a Path,
    cache: &'a Path,
    pins: &'a Path,
    /// Without network, with package-manager decoys first in PATH.
    offline: Option<&'a Path>,
    extra: &'a [&'a str],
}

impl Run<'_> {
    fn command(&self, subcommand: &[&str]) -> Command {
        let mut cmd = if self.offline.is_some() {
            let mut c = Command::new("unshare");
            // As root a bare network namespace; otherwise a user namespace too.
            if unsafe { libc::geteuid() } == 0 {
                c.arg("-n");
            } else {
                c.arg("-rn");
            }
            c.arg(vanguard_bin());
            c
        } else {
            Command::new(vanguard_bin())
        };
        cmd.args(subcommand)
            .arg("--profile")
            .arg(self.profile)
            .arg("--workspace")
            .arg(self.workspace)
            .arg("--cache-dir")
            .arg(self.cache)
            .arg("--pins")
            .arg(self.pins)
            .arg("--server")
            .arg(self.server)
            .args(self.extra)
            .current_dir(self.workspace);
        let mut path = path_with_uv();
        if let Some(dir) = self.offline {
            path = format!("{}:{path}", decoys(dir).display());
        }
        cmd.env("PATH", path);
        cmd
    }

    fn start(&self, audit: &Path) -> Peer {
        let mut cmd = self.command(&["start"]);
        cmd.arg("--audit-log").arg(audit);
        Peer::custom(
            cmd,
            Some(audit.to_path_buf()),
            &format!("vanguard start --server {}", self.server),
        )
    }

    /// `vanguard start` with stdin closed at once: (exit code, stderr, elapsed).
    fn start_and_fail(&self) -> (Option<i32>, String, Duration) {
        let started = Instant::now();
        let out = self
            .command(&["start"])
            .arg("--audit-log")
            .arg("off")
            .stdin(Stdio::null())
            .output()
            .expect("run vanguard");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    }

    fn explain(&self) -> String {
        let mut cmd = self.command(&["policy", "explain"]);
        let out = cmd.output().expect("run vanguard policy explain");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn tools_of(list: &Value) -> Vec<Value> {
    let mut tools = list
        .pointer("/result/tools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("no tools in {list}"));
    tools.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    tools
}

fn assert_tool_ok(resp: &Value, what: &str) {
    assert!(
        resp.get("result").is_some() && resp.pointer("/result/isError") != Some(&json!(true)),
        "{what}: {resp}"
    );
}

/// A loopback origin on 127.0.0.2 serving one page (for mcp-server-fetch).
fn origin() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut h = String::new();
                match reader.read_line(&mut h) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if h == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let (status, body) = if first.contains("/robots.txt") {
                ("404 Not Found", String::new())
            } else {
                (
                    "200 OK",
                    "<html><body><h1>Release notes</h1><p>launcher-marker-41c2</p></body></html>"
                        .to_string(),
                )
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    addr
}

/// One official server, exactly as its README starts it: cold cache,
/// the same tool list as the server run directly, one real call; then a
/// warm start with no network and no package manager.
fn official_server(
    profile: &str,
    server: &str,
    extra: &[&str],
    direct_extra: &[&str],
    call: (&str, Value),
    expect_in_result: &str,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let workspace = std::fs::canonicalize(dir.path()).expect("canon").join("ws");
    std::fs::create_dir_all(&workspace).expect("mkdir");
    std::fs::write(workspace.join("notes.md"), "# notes\n").expect("write");
    let git = Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(&workspace)
        .status()
        .expect("git init");
    assert!(git.success());
    let ws = workspace.to_string_lossy().into_owned();
    let server = server.replace("@WS@", &ws);
    let call_args: Value =
        serde_json::from_str(&call.1.to_string().replace("@WS@", &ws)).expect("json");
    let cache = dir.path().join("cache");
    let pins = dir.path().join("pins.json");
    let run = Run {
        server: &server,
        profile,
        workspace: &workspace,
        cache: &cache,
        pins: &pins,
        offline: None,
        extra,
    };

    // The server run directly, as the client config would without vanguard.
    let mut words: Vec<String> = shlex::split(&server).expect("split");
    words.extend(direct_extra.iter().map(|s| s.to_string()));
    let mut direct_cmd = Command::new(&words[0]);
    direct_cmd
        .args(&words[1..])
        .current_dir(&workspace)
        .env("PATH", path_with_uv());
    let mut direct = Peer::custom(direct_cmd, None, &format!("direct {server}"));
    direct.initialize_within("2025-06-18", INSTALL_TIMEOUT);
    let direct_tools = tools_of(&direct.request("tools/list", json!({})));
    drop(direct);

    // Cold: vanguard installs the package first.
    let mut cold = run.start(&dir.path().join("cold.jsonl"));
    let init = cold.initialize_within("2025-06-18", INSTALL_TIMEOUT);
    assert!(
        init.get("result").is_some(),
        "{init}\n{}",
        cold.stderr_text()
    );
    let tools = tools_of(&cold.request("tools/list", json!({})));
    assert_eq!(
        tools, direct_tools,
        "tools/list through vanguard differs from the server run directly"
    );
    let resp = cold.call_tool(call.0, call_args);
    assert_tool_ok(&resp, &format!("{} through vanguard", call.0));
    assert!(
        resp.to_string().contains(expect_in_result),
        "{} did not return {expect_in_result:?}: {resp}",
        call.0
    );
    let stderr = cold.stderr_text();
    assert!(
        stderr.contains("vanguard: installing") && stderr.contains("vanguard: installed"),
        "a first install shows progress:\n{stderr}"
    );
    cold.close_stdin();
    assert_eq!(
        cold.wait(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    let pinned: Value =
        serde_json::from_str(&std::fs::read_to_string(&pins).expect("pins")).expect("json");
    let packages = pinned["packages"].as_object().expect("a package pin");
    assert_eq!(packages.len(), 1, "{pinned}");
    let (_, pin) = packages.iter().next().expect("one");
    assert!(
        pin["pinned"]["tree_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "{pin}"
    );
    assert!(
        !pin["pinned"]["integrity"]
            .as_array()
            .expect("integrity")
            .is_empty(),
        "{pin}"
    );

    // Warm, with no network and package managers that would fail loudly.
    let offline = Run {
        offline: Some(dir.path()),
        ..run
    };
    let mut warm = offline.start(&dir.path().join("warm.jsonl"));
    let init = warm.initialize_within("2025-06-18", INSTALL_TIMEOUT);
    assert!(
        init.get("result").is_some(),
        "{init}\n{}",
        warm.stderr_text()
    );
    assert_eq!(
        tools_of(&warm.request("tools/list", json!({}))),
        direct_tools
    );
    assert!(
        !warm.stderr_text().contains("installing"),
        "a warm start installs nothing:\n{}",
        warm.stderr_text()
    );
    warm.close_stdin();
    assert_eq!(
        warm.wait(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(
        !dir.path().join("decoys.log").exists(),
        "a warm start ran a package manager: {}",
        std::fs::read_to_string(dir.path().join("decoys.log")).unwrap_or_default()
    );
}

#[test]
fn npx_server_filesystem_as_its_readme_says() {
    official_server(
        "filesystem",
        "npx -y @modelcontextprotocol/server-filesystem @WS@",
        &[],
        &[],
        ("read_text_file", json!({"path": "notes.md"})),
        "# notes",
    );
}

#[test]
fn npx_server_everything_as_its_readme_says() {
    official_server(
        "everything",
        "npx -y @modelcontextprotocol/server-everything",
        &[],
        &[],
        ("echo", json!({"message": "launcher-echo"})),
        "launcher-echo",
    );
}

#[test]
fn npx_server_memory_as_its_readme_says() {
    official_server(
        "memory",
        "npx -y @modelcontextprotocol/server-memory",
        &[],
        &[],
        (
            "create_entities",
            json!({"entities": [{"name": "vanguard", "entityType": "project", "observations": ["wraps MCP servers"]}]}),
        ),
        "wraps MCP servers",
    );
}

#[test]
fn uvx_mcp_server_time_as_its_readme_says() {
    official_server(
        "time",
        "uvx mcp-server-time",
        &[],
        &[],
        ("get_current_time", json!({"timezone": "Europe/Paris"})),
        "Europe/Paris",
    );
}

#[test]
fn uvx_mcp_server_git_as_its_readme_says() {
    official_server(
        "git",
        "uvx mcp-server-git --repository @WS@",
        &[],
        &[],
        ("git_status", json!({"repo_path": "@WS@"})),
        "On branch main",
    );
}

#[test]
fn uvx_mcp_server_fetch_as_its_readme_says() {
    let addr = origin();
    let hp = addr.to_string();
    // The origin is internal (127.0.0.2), which balanced's NET-002 blocks
    // and the fetch server refuses unless told otherwise; the allow-list
    // names it exactly.
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = dir.path().join("fetch-test.toml");
    std::fs::write(
        &prof,
        "extends = \"fetch\"\n[rule_actions]\n\"NET-002\" = \"log\"\n",
    )
    .expect("write profile");
    official_server(
        &prof.to_string_lossy(),
        "uvx mcp-server-fetch --allow-private-ips",
        &["--net", "allowlist", "--allow-host", &hp],
        &[],
        ("fetch", json!({"url": format!("http://{hp}/notes")})),
        "launcher-marker-41c2",
    );
}

/// A workspace and a pin file in a temp dir; the shared package cache.
fn scene() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = std::fs::canonicalize(dir.path()).expect("canon").join("ws");
    std::fs::create_dir_all(&ws).expect("mkdir");
    let pins = dir.path().join("pins.json");
    (dir, ws, pins)
}

fn vanguard(args: &[&str], path: &str) -> (Option<i32>, String, String) {
    let out = Command::new(vanguard_bin())
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("run vanguard");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_cache_and_no_network_fails_at_once_naming_the_package_and_the_fix() {
    let (dir, ws, pins) = scene();
    let cache = dir.path().join("empty-cache");
    for server in [
        "npx -y @modelcontextprotocol/server-memory",
        "uvx mcp-server-time",
    ] {
        let run = Run {
            server,
            profile: "balanced",
            workspace: &ws,
            cache: &cache,
            pins: &pins,
            offline: None,
            extra: &[],
        };
        // No network, but the real package managers: they must fail fast.
        let mut cmd = run.command(&["start"]);
        let mut offline = Command::new("unshare");
        offline
            .arg(if unsafe { libc::geteuid() } == 0 {
                "-n"
            } else {
                "-rn"
            })
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .current_dir(&ws)
            .stdin(Stdio::null());
        let started = Instant::now();
        let out = offline.output().expect("run");
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        let package = server.rsplit(' ').next().expect("package");
        assert!(stderr.contains(package), "names the package: {stderr}");
        assert!(
            stderr.contains(&format!("vanguard fetch --server \"{server}\"")),
            "names the command that fills the cache: {stderr}"
        );
        assert!(
            elapsed < Duration::from_secs(15),
            "took {elapsed:?}: {stderr}"
        );
        assert!(
            !cache.join("npm").read_dir().is_ok_and(|mut d| d
                .any(|e| e.is_ok_and(|e| !e.file_name().to_string_lossy().starts_with('.')))),
            "nothing half-installed is left in the cache"
        );
        let _ = &mut cmd;
    }
}

#[test]
fn fetch_fills_the_cache_for_an_offline_start() {
    let (dir, ws, pins) = scene();
    let cache = dir.path().join("cache");
    let server = "uvx mcp-server-time@2026.10.19";
    let path = path_with_uv();
    let (code, out, err) = vanguard(
        &[
            "fetch",
            "--cache-dir",
            &cache.to_string_lossy(),
            "--pins",
            &pins.to_string_lossy(),
            "--server",
            server,
        ],
        &path,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("ready: pypi:mcp-server-time 2026.10.19"),
        "{out}"
    );
    let run = Run {
        server,
        profile: "time",
        workspace: &ws,
        cache: &cache,
        pins: &pins,
        offline: Some(dir.path()),
        extra: &[],
    };
    let mut peer = run.start(&dir.path().join("audit.jsonl"));
    peer.initialize_within("2025-06-18", INSTALL_TIMEOUT);
    let resp = peer.call_tool("get_current_time", json!({"timezone": "UTC"}));
    assert_tool_ok(&resp, "get_current_time offline");
    assert!(!dir.path().join("decoys.log").exists());
}

#[test]
fn another_version_is_not_used_without_approval_and_latest_stays_pinned() {
    let (dir, ws, pins) = scene();
    let cache = shared_cache();
    let path = path_with_uv();
    let run = |server: &str| Run {
        server: Box::leak(server.to_string().into_boxed_str()),
        profile: "memory",
        workspace: &ws,
        cache,
        pins: &pins,
        offline: None,
        extra: &[],
    };
    // First use pins the version asked for.
    let r = run("npx -y @modelcontextprotocol/server-memory@2026.8.31");
    let mut p = r.start(&dir.path().join("a.jsonl"));
    assert!(p
        .initialize_within("2025-06-18", INSTALL_TIMEOUT)
        .get("result")
        .is_some());
    drop(p);
    // Another exact version: installed for review, refused until approved.
    let (code, err, _) =
        run("npx -y @modelcontextprotocol/server-memory@2026.7.4").start_and_fail();
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("pinned at 2026.8.31")
            && err.contains("2026.7.4")
            && err.contains("vanguard pin approve npm:@modelcontextprotocol/server-memory"),
        "{err}"
    );
    let pins_arg = pins.to_string_lossy().into_owned();
    let (code, diff, _) = vanguard(&["pin", "diff", "--pins", &pins_arg], &path);
    assert_eq!(code, Some(0));
    assert!(
        diff.contains("npm:@modelcontextprotocol/server-memory")
            && diff.contains("pinned  2026.8.31")
            && diff.contains("pending 2026.7.4"),
        "{diff}"
    );
    // `latest` (no version) keeps the pin, never the registry's newest.
    let explain = run("npx -y @modelcontextprotocol/server-memory").explain();
    assert!(
        explain.contains("package: @modelcontextprotocol/server-memory 2026.8.31 (pinned"),
        "{explain}"
    );
    let (code, out, err) = vanguard(
        &[
            "pin",
            "approve",
            "npm:@modelcontextprotocol/server-memory",
            "--pins",
            &pins_arg,
        ],
        &path,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let explain = run("npx -y @modelcontextprotocol/server-memory").explain();
    assert!(
        explain.contains("package: @modelcontextprotocol/server-memory 2026.7.4 (pinned"),
        "{explain}"
    );
    let mut p = run("npx -y @modelcontextprotocol/server-memory@2026.7.4")
        .start(&dir.path().join("b.jsonl"));
    assert!(
        p.initialize_within("2025-06-18", INSTALL_TIMEOUT)
            .get("result")
            .is_some(),
        "{}",
        p.stderr_text()
    );
    let (_, show, _) = vanguard(&["pin", "show", "--pins", &pins_arg], &path);
    assert!(show.contains("package 2026.7.4"), "{show}");
}

#[test]
fn a_changed_file_in_a_pinned_tree_is_refused_in_every_profile() {
    let (dir, ws, pins) = scene();
    let cache = dir.path().join("cache");
    let server = "npx -y @modelcontextprotocol/server-memory@2026.8.31";
    let run = |profile: &'static str| Run {
        server,
        profile,
        workspace: &ws,
        cache: &cache,
        pins: &pins,
        offline: None,
        extra: &[],
    };
    let mut p = run("memory").start(&dir.path().join("a.jsonl"));
    assert!(p
        .initialize_within("2025-06-18", INSTALL_TIMEOUT)
        .get("result")
        .is_some());
    drop(p);
    let index = cache.join(
        "npm/@modelcontextprotocol+server-memory@2026.8.31/node_modules/@modelcontextprotocol/server-memory/dist/index.js",
    );
    let mut text = std::fs::read_to_string(&index).expect("read the installed server");
    text.push_str("\n// tampered\n");
    std::fs::write(&index, text).expect("tamper");
    for profile in ["monitor", "balanced", "strict", "memory"] {
        let (code, err, _) = run(profile).start_and_fail();
        assert_eq!(code, Some(3), "{profile}: {err}");
        assert!(
            err.contains("changed since it was pinned")
                && err.contains(
                    "changed node_modules/@modelcontextprotocol/server-memory/dist/index.js (content)"
                ),
            "{profile}: {err}"
        );
    }
}

/// Every grant of a plan under a home directory (`$HOME`, `/root`, `/home/*`).
fn grants_under_homes(explain: &str, home: &Path) -> Vec<String> {
    explain
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|p| {
            p.starts_with('/')
                && (Path::new(p).starts_with(home)
                    || p.starts_with("/root")
                    || p.starts_with("/home/"))
        })
        .map(String::from)
        .collect()
}

/// A server command started through vanguard: initialize, list, one call.
fn starts_and_answers(
    server: &str,
    home: Option<&Path>,
    path: &str,
    call: (&str, Value),
) -> String {
    let (dir, ws, pins) = scene();
    let mut cmd = Command::new(vanguard_bin());
    let audit = dir.path().join("audit.jsonl");
    cmd.args(["start", "--profile", "balanced", "--audit-log"])
        .arg(&audit)
        .arg("--pins")
        .arg(&pins)
        .arg("--cache-dir")
        .arg(shared_cache())
        .arg("--workspace")
        .arg(&ws)
        .args(["--server", server])
        .current_dir(&ws)
        .env("PATH", path);
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    let mut peer = Peer::custom(cmd, Some(audit), server);
    let init = peer.initialize_within("2025-06-18", INSTALL_TIMEOUT);
    assert!(
        init.get("result").is_some(),
        "{server}: {init}\n{}",
        peer.stderr_text()
    );
    let tools = tools_of(&peer.request("tools/list", json!({})));
    assert!(!tools.is_empty());
    let resp = peer.call_tool(call.0, call.1);
    assert_tool_ok(&resp, server);
    let mut explain = Command::new(vanguard_bin());
    explain
        .args(["policy", "explain", "--profile", "balanced", "--pins"])
        .arg(&pins)
        .arg("--cache-dir")
        .arg(shared_cache())
        .arg("--workspace")
        .arg(&ws)
        .args(["--server", server])
        .current_dir(&ws)
        .env("PATH", path);
    if let Some(h) = home {
        explain.env("HOME", h);
    }
    let out = explain.output().expect("explain");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bins_of_ordinary_installs_start_and_grant_only_their_package() {
    let npm = PathBuf::from(require_env("VANGUARD_TEST_SERVER_EVERYTHING"));
    let hoisted = npm
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "node_modules"))
        .expect("node_modules")
        .join(".bin");
    let global = PathBuf::from(require_env("VANGUARD_TEST_NPM_GLOBAL")).join("bin");
    let pnpm = PathBuf::from(require_env("VANGUARD_TEST_PNPM_LAYOUT")).join("node_modules/.bin");
    let venv = PathBuf::from(require_env("VANGUARD_TEST_VENV")).join("bin");
    let path = std::env::var("PATH").unwrap_or_default();
    let cases: Vec<(String, (&str, Value), Vec<PathBuf>)> = vec![
        (
            format!("{}/mcp-server-everything", hoisted.display()),
            ("echo", json!({"message": "hoisted"})),
            vec![hoisted.parent().expect("node_modules").to_path_buf()],
        ),
        (
            format!("{}/mcp-server-memory", global.display()),
            ("read_graph", json!({})),
            vec![global
                .parent()
                .expect("prefix")
                .join("lib/node_modules/@modelcontextprotocol/server-memory")],
        ),
        (
            format!("{}/mcp-server-everything", pnpm.display()),
            ("echo", json!({"message": "pnpm"})),
            vec![pnpm.parent().expect("node_modules").to_path_buf()],
        ),
        (
            format!("{}/mcp-server-time", venv.display()),
            ("get_current_time", json!({"timezone": "UTC"})),
            vec![venv.parent().expect("venv").to_path_buf()],
        ),
    ];
    for (server, call, expected) in cases {
        let explain = starts_and_answers(&server, None, &path, call);
        for e in &expected {
            let e = std::fs::canonicalize(e).unwrap_or(e.clone());
            assert!(
                explain.contains(&format!("\n  {} ", e.display())),
                "{server}: expected a grant of {}:\n{explain}",
                e.display()
            );
        }
        // The global prefix holds other packages: only this one is granted.
        assert!(
            !explain.contains(&format!(
                "{}/lib/node_modules ",
                global.parent().expect("p").display()
            )),
            "{explain}"
        );
    }
}

#[test]
fn version_manager_layouts_in_a_fake_home() {
    let home_dir = tempfile::tempdir().expect("tempdir");
    let home = std::fs::canonicalize(home_dir.path()).expect("canon");
    // nvm: a node in ~/.nvm/versions/node/vX/bin, first in PATH.
    let node22 = PathBuf::from(require_env("VANGUARD_TEST_NODE22"));
    let nvm_bin = home.join(".nvm/versions/node/v22.23.3/bin");
    std::fs::create_dir_all(&nvm_bin).expect("mkdir");
    if std::fs::hard_link(&node22, nvm_bin.join("node")).is_err() {
        std::fs::copy(&node22, nvm_bin.join("node")).expect("copy node");
    }
    // A credential and shell history beside it: never granted.
    std::fs::write(
        home.join(".npmrc"),
        "//registry.example/:_authToken=secret\n",
    )
    .expect("w");
    std::fs::write(home.join(".bash_history"), "export TOKEN=x\n").expect("w");
    let path = format!("{}:{}", nvm_bin.display(), path_with_uv());
    let explain = starts_and_answers(
        "npx -y @modelcontextprotocol/server-everything@2026.8.31",
        Some(&home),
        &path,
        ("echo", json!({"message": "nvm"})),
    );
    assert!(
        explain.contains(&format!("runs: {}/node ", nvm_bin.display())),
        "node comes from nvm's PATH entry:\n{explain}"
    );
    let cache = std::fs::canonicalize(shared_cache()).expect("canon");
    for g in grants_under_homes(&explain, &home) {
        let p = Path::new(&g);
        assert!(
            p.starts_with(home.join(".nvm/versions/node/v22.23.3"))
                || p.starts_with(&cache)
                || p.starts_with("/root/.pyenv/versions/")
                || p.starts_with("/root/.cache/vanguard"),
            "{g} granted under a home directory:\n{explain}"
        );
    }

    // pyenv: `python3` on PATH is a shim whose manager names the interpreter.
    let venv_py = PathBuf::from(require_env("VANGUARD_TEST_PYTHON"));
    let real_py = std::fs::canonicalize(&venv_py).expect("the venv's base interpreter");
    let shims = home.join(".pyenv/shims");
    std::fs::create_dir_all(&shims).expect("mkdir");
    std::fs::create_dir_all(home.join(".pyenv/bin")).expect("mkdir");
    std::fs::create_dir_all(home.join(".pyenv/versions")).expect("mkdir");
    let write_exec = |p: &Path, body: &str| {
        std::fs::write(p, body).expect("write");
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    write_exec(
        &shims.join("python3"),
        "#!/usr/bin/env bash\nexec \"$HOME/.pyenv/bin/pyenv\" exec python3 \"$@\"\n",
    );
    write_exec(
        &home.join(".pyenv/bin/pyenv"),
        &format!(
            "#!/bin/sh\ncase \"$1\" in which) echo {};; exec) shift 2; exec {} \"$@\";; esac\n",
            real_py.display(),
            real_py.display()
        ),
    );
    let script = fixture("lifecycle_server.py");
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let explain = starts_and_answers(
        &format!("python3 {}", script.display()),
        Some(&home),
        &path,
        ("echo", json!({"text": "pyenv"})),
    );
    assert!(
        explain.contains("is a pyenv shim"),
        "the shim was resolved outside the sandbox:\n{explain}"
    );
    for g in grants_under_homes(&explain, &home) {
        assert!(
            !Path::new(&g).starts_with(home.join(".pyenv/shims"))
                && Path::new(&g) != home.join(".pyenv"),
            "{g}: the manager's home is never granted:\n{explain}"
        );
    }
}

#[test]
fn container_launchers_are_inspected_but_never_sandboxed() {
    let (_dir, ws, pins) = scene();
    let path = std::env::var("PATH").unwrap_or_default();
    let ws_s = ws.to_string_lossy().into_owned();
    let pins_s = pins.to_string_lossy().into_owned();
    let server = "docker run -i --rm mcp/time";
    let (code, out, _) = vanguard(
        &[
            "policy",
            "explain",
            "--workspace",
            &ws_s,
            "--pins",
            &pins_s,
            "--server",
            server,
        ],
        &path,
    );
    assert_eq!(code, Some(0));
    assert!(
        out.contains("launcher: docker (container)") && out.contains("cannot sandbox it"),
        "{out}"
    );
    let (code, _, err) = vanguard(
        &[
            "start",
            "--sandbox",
            "enforce",
            "--audit-log",
            "off",
            "--workspace",
            &ws_s,
            "--pins",
            &pins_s,
            "--server",
            server,
        ],
        &path,
    );
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("enforce refuses this server") && err.contains("daemon"),
        "{err}"
    );
}

/// The README's quickstart, run as written (the binary's path and `~`
/// aside): each command and the client configuration answer
/// `initialize` and list the server's tools.
#[test]
fn the_readme_quickstart_commands_work_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let start = readme.find("## Quickstart").expect("a quickstart section");
    let section = &readme[start..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map(|i| i + 3)
        .unwrap_or(section.len())];
    let sh_block = section
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let mut commands = Vec::new();
    let mut cur = String::new();
    for line in sh_block.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        cur.push_str(line.trim_end_matches('\\'));
        cur.push(' ');
        if !line.ends_with('\\') {
            commands.push(std::mem::take(&mut cur));
        }
    }
    let starts: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("target/release/vanguard start"))
        .collect();
    assert!(starts.len() >= 3, "{commands:?}");
    let home = tempfile::tempdir().expect("tempdir");
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).expect("mkdir");
    std::fs::write(project.join("README.md"), "# project\n").expect("write");
    assert!(Command::new("git")
        .args(["init", "-q"])
        .current_dir(&project)
        .status()
        .expect("git")
        .success());
    let env = |cmd: &mut Command| {
        cmd.env("HOME", home.path())
            .env("VANGUARD_CACHE_DIR", shared_cache())
            .env("PATH", path_with_uv())
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CACHE_HOME")
            .current_dir(home.path());
    };
    for line in starts {
        let line = line.replacen(
            "target/release/vanguard",
            &vanguard_bin().to_string_lossy(),
            1,
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&line);
        env(&mut cmd);
        let mut peer = Peer::custom(cmd, None, &line);
        let init = peer.initialize_within("2025-06-18", INSTALL_TIMEOUT);
        assert!(
            init.get("result").is_some(),
            "{line}: {init}\n{}",
            peer.stderr_text()
        );
        assert!(
            !tools_of(&peer.request("tools/list", json!({}))).is_empty(),
            "{line}"
        );
    }
    // The client configuration, with its example path made real.
    let json_block = section
        .split("```json")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a json block");
    let config: Value =
        serde_json::from_str(&json_block.replace("/home/me/project", &project.to_string_lossy()))
            .expect("the client configuration is JSON");
    assert_eq!(config["command"], "vanguard");
    let args: Vec<String> = config["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string").to_string())
        .collect();
    let mut cmd = Command::new(vanguard_bin());
    cmd.args(&args);
    env(&mut cmd);
    let mut peer = Peer::custom(cmd, None, "client configuration");
    assert!(
        peer.initialize_within("2025-06-18", INSTALL_TIMEOUT)
            .get("result")
            .is_some(),
        "{}",
        peer.stderr_text()
    );
    let resp = peer.call_tool("list_directory", json!({"path": project.to_string_lossy()}));
    assert_tool_ok(&resp, "list_directory");
    assert!(resp.to_string().contains("README.md"), "{resp}");
}

/// `pipx run` resolves and installs with pip (hash-locked), not uv.
#[test]
fn pipx_run_installs_with_pip() {
    let (dir, ws, pins) = scene();
    let cache = dir.path().join("cache");
    let run = Run {
        server: "pipx run --spec mcp-server-time==2026.10.19 mcp-server-time",
        profile: "time",
        workspace: &ws,
        cache: &cache,
        pins: &pins,
        offline: None,
        extra: &[],
    };
    let mut peer = run.start(&dir.path().join("audit.jsonl"));
    assert!(
        peer.initialize_within("2025-06-18", INSTALL_TIMEOUT)
            .get("result")
            .is_some(),
        "{}",
        peer.stderr_text()
    );
    let resp = peer.call_tool("get_current_time", json!({"timezone": "UTC"}));
    assert_tool_ok(&resp, "get_current_time");
    let tree = std::fs::read_dir(cache.join("pypi"))
        .expect("pypi cache")
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("mcp-server-time-2026.10.19-")
                && e.path().is_dir()
        })
        .expect("the installed tree")
        .path();
    let lock = std::fs::read_to_string(tree.join("vanguard-requirements.txt")).expect("lock");
    assert!(
        lock.lines().all(|l| l.contains("--hash=sha256:"))
            && lock.contains("mcp-server-time==2026.10.19"),
        "every requirement is hash-locked:\n{lock}"
    );
    assert!(tree.join("bin/pip").exists(), "a pip venv, not a uv one");
}
