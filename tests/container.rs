//! vanguard as a container's entrypoint, run with a real container runtime
//! (Debian's podman, set up by scripts/setup-test-env.sh): the image is the
//! Containerfile's `runtime` target, built by scripts/container-image.sh
//! from this build's binary (nothing is pulled). Inside it: what `doctor`
//! says holds under the runtime's default profile and with /proc unmasked,
//! an MCP call through `sse` to a server inside the container, the drain
//! on SIGTERM, and PID 1 reaping what a server leaves behind; and two
//! replicas sharing one Redis answering stateless requests round-robin
//! with one L3 state (the routing deploy/kubernetes relies on).

mod common;
#[path = "fixtures/redis/support.rs"]
mod redis_support;
#[path = "fixtures/http/support.rs"]
mod support;

use common::{repo_root, require_env, vanguard_bin};
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use support::*;

const IMAGE: &str = "localhost/vanguard-test:latest";
const IN_IMAGE: &str = "/usr/local/bin/vanguard";

fn podman() -> Command {
    let mut c = Command::new(require_env("VANGUARD_TEST_PODMAN"));
    c.env(
        "CONTAINERS_CONF",
        require_env("VANGUARD_TEST_CONTAINERS_CONF"),
    );
    c
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Builds the image once per test binary.
fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let podman = require_env("VANGUARD_TEST_PODMAN");
        let dir = std::path::Path::new(&podman)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = format!("{dir}:{}", std::env::var("PATH").unwrap_or_default());
        let o = Command::new("bash")
            .arg(repo_root().join("scripts/container-image.sh"))
            .arg(vanguard_bin())
            .arg(IMAGE)
            .env("PATH", path)
            .env(
                "CONTAINERS_CONF",
                require_env("VANGUARD_TEST_CONTAINERS_CONF"),
            )
            .output()
            .expect("run scripts/container-image.sh");
        assert!(o.status.success(), "building the image: {}", show(&o));
    });
    IMAGE
}

/// `podman run --rm IMAGE args…` to completion.
fn run_once(opts: &[&str], args: &[&str]) -> Output {
    let o = podman()
        .args(["run", "--rm", "--network", "host"])
        .args(opts)
        .arg(image())
        .args(args)
        .output()
        .expect("podman run");
    // 125-127: podman itself failed, not vanguard.
    assert!(
        !matches!(o.status.code(), Some(125..=127)),
        "podman could not run the container: {}",
        show(&o)
    );
    o
}

/// A detached container, removed when dropped.
struct Container {
    name: String,
}

impl Container {
    fn start(opts: &[&str], args: &[&str]) -> Container {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "vanguard-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let o = podman()
            .args(["run", "--detach", "--name", &name, "--network", "host"])
            .args(opts)
            .arg(image())
            .args(args)
            .output()
            .expect("podman run --detach");
        assert!(o.status.success(), "podman run: {}", show(&o));
        Container { name }
    }

    fn logs(&self) -> String {
        let o = podman()
            .args(["logs", &self.name])
            .output()
            .expect("podman logs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    fn signal(&self, sig: &str) {
        let o = podman()
            .args(["kill", "--signal", sig, &self.name])
            .output()
            .expect("podman kill");
        assert!(o.status.success(), "podman kill: {}", show(&o));
    }

    /// Waits for the container to exit; its exit code.
    fn wait(&self) -> i32 {
        let o = podman()
            .args(["wait", &self.name])
            .output()
            .expect("podman wait");
        assert!(o.status.success(), "podman wait: {}", show(&o));
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("podman wait: {}", show(&o)))
    }

    /// The host pid of the container's PID 1.
    fn host_pid(&self) -> i32 {
        let o = podman()
            .args(["inspect", "--format", "{{.State.Pid}}", &self.name])
            .output()
            .expect("podman inspect");
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("podman inspect: {}", show(&o)))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman()
            .args(["rm", "--force", "--time", "0", &self.name])
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// GET a path; None when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, Value)> {
    let r = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .ok()?;
    let status = r.status().as_u16();
    let body = r.text().unwrap_or_default();
    Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

fn wait_ready(port: u16, c: &Container) {
    assert!(
        wait_until(Duration::from_secs(60), || get(port, "/ready")
            .is_some_and(|(s, _)| s == 200)),
        "/ready never answered 200:\n{}",
        c.logs()
    );
}

/// A directory the image's user (65532) can write, mounted at /audit.
fn audit_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(d.path(), Some(65532), Some(65532)).unwrap();
    d
}

fn doctor(opts: &[&str], extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(extra);
    let o = run_once(opts, &args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", show(&o)));
    (o.status.code(), v)
}

fn missing(d: &Value) -> String {
    d["plan"]["missing"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Under the runtime's defaults (parts of /proc masked) no fresh procfs can
/// be mounted: best-effort runs without the PID namespace and minimal root
/// and says so, enforce refuses naming them. With /proc unmasked (the
/// documented option) every layer holds and enforce runs.
#[test]
fn doctor_in_a_container_says_what_holds() {
    let (code, d) = doctor(&[], &[]);
    assert_eq!(code, Some(0), "{d:#}");
    assert_eq!(d["kernel"]["fresh_proc"], false, "{d:#}");
    assert_eq!(d["plan"]["layers"]["landlock"]["status"], "full", "{d:#}");
    assert_eq!(d["plan"]["layers"]["seccomp"]["status"], "full", "{d:#}");
    assert_eq!(d["plan"]["layers"]["pidns"]["status"], "not_applied");
    assert_eq!(d["plan"]["layers"]["root"]["status"], "not_applied");
    let m = missing(&d);
    assert!(
        m.contains("pidns:") && m.contains("root:") && m.contains("unmask=ALL"),
        "{m}"
    );
    assert_eq!(d["trial"]["ok"], true, "{d:#}");

    let (code, d) = doctor(&[], &["--sandbox", "enforce"]);
    assert_eq!(code, Some(3), "{d:#}");
    let o = run_once(
        &[],
        &["run", "--sandbox", "enforce", "--", IN_IMAGE, "--version"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert!(
        err.contains("enforce refuses") && err.contains("no minimal root"),
        "{err}"
    );

    let unmasked = ["--security-opt", "unmask=ALL"];
    let (code, d) = doctor(&unmasked, &["--sandbox", "enforce"]);
    assert_eq!(code, Some(0), "{d:#}");
    assert_eq!(d["kernel"]["fresh_proc"], true, "{d:#}");
    assert_eq!(d["plan"]["fully_enforced"], true, "{d:#}");
    assert_eq!(d["plan"]["layers"]["root"]["status"], "full");
    let o = run_once(
        &unmasked,
        &["run", "--sandbox", "enforce", "--", IN_IMAGE, "--version"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    // uid 0 without CAP_SYS_ADMIN (the runtime's default capabilities) is
    // not privileged root: namespaces come from a user namespace as for
    // any user, and the server running as uid 0 is named as missing.
    let as_root = ["--user", "0"];
    let (code, d) = doctor(&as_root, &[]);
    assert_eq!(code, Some(0), "{d:#}");
    assert_eq!(d["kernel"]["root"], false, "{d:#}");
    assert_eq!(d["plan"]["layers"]["userns"]["status"], "full", "{d:#}");
    assert_eq!(d["plan"]["layers"]["netns"]["status"], "full", "{d:#}");
    assert!(missing(&d).contains("uid 0 without CAP_SYS_ADMIN"), "{d:#}");
    assert_eq!(d["trial"]["ok"], true, "{d:#}");
    let o = run_once(
        &as_root,
        &[
            "run",
            "--sandbox",
            "best-effort",
            "--",
            IN_IMAGE,
            "--version",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

/// An MCP call through `sse` to a server inside the container; on SIGTERM
/// `/ready` fails first while the open sessions are still served, new
/// sessions are refused, every session gets its `session_end`, and the
/// container exits 0.
#[test]
fn sse_in_a_container_serves_and_drains_on_sigterm() {
    let audit = audit_dir();
    let port = free_port();
    let volume = format!("{}:/audit", audit.path().display());
    // Configured through the environment, as a Kubernetes manifest does.
    let port_env = format!("VANGUARD_PORT={port}");
    let c = Container::start(
        &[
            "--volume",
            &volume,
            "--env",
            &port_env,
            "--env",
            "VANGUARD_DRAIN_DELAY=10",
            "--env",
            "VANGUARD_AUDIT_LOG=/audit/audit.jsonl",
            "--env",
            "VANGUARD_LOG=info",
            "--env",
            "VANGUARD_LOG_FORMAT=json",
        ],
        &["sse", "--", IN_IMAGE, "demo-server"],
    );
    wait_ready(port, &c);
    let http = Http::default();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let sid = http.open_session(&url, &[]);
    assert_echo(&http, &url, &sid, 2, "hello from the host", || c.logs());
    let _idle = http.open_session(&url, &[]);

    c.signal("TERM");
    assert!(
        wait_until(Duration::from_secs(10), || get(port, "/ready")
            .is_some_and(|(s, v)| s == 503 && v["ready"] == false)),
        "/ready did not turn 503 after SIGTERM:\n{}",
        c.logs()
    );
    // Not ready, still serving the open session; no new ones.
    assert_echo(&http, &url, &sid, 3, "while draining", String::new);
    let refused = http.rpc(&url, None, &[], &initialize(9));
    assert_eq!(refused.status, 503, "{}", refused.text);

    let code = c.wait();
    assert_eq!(code, 0, "{}", c.logs());
    // JSON logs on stdout, one object a line.
    let o = podman().args(["logs", &c.name]).output().unwrap();
    let logs: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["fields"]["message"] == "HTTP session started"),
        "{logs:?}"
    );
    let events = common::audit_events(&audit.path().join("audit.jsonl"));
    let count = |k: &str| events.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(
        (count("session_start"), count("session_end")),
        (2, 2),
        "every session ends in the audit log\n{}",
        c.logs()
    );
    // The session_start event says what the sandbox held.
    let start = events
        .iter()
        .find(|e| e["kind"] == "session_start")
        .expect("a session_start");
    let sandbox = start["detail"]["sandbox"].as_str().unwrap_or_default();
    assert!(
        sandbox.contains("landlock=full")
            && sandbox.contains("seccomp=full")
            && sandbox.contains("pidns=off")
            && sandbox.contains("fresh /proc"),
        "{start:#}"
    );
}

/// One process of the container, seen from the host.
struct Proc {
    pid: i32,
    state: char,
    cmdline: String,
}

/// Every process in the PID namespace of host pid `init`.
fn container_procs(init: i32) -> Vec<Proc> {
    let ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let Some(want) = ns(init) else {
        return vec![];
    };
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if ns(pid).as_ref() != Some(&want) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .unwrap_or('?');
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.push(Proc {
            pid,
            state,
            cmdline,
        });
    }
    out
}

fn describe(ps: &[Proc]) -> String {
    ps.iter()
        .map(|p| format!("{} {} {}", p.pid, p.state, p.cmdline))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A server that leaves orphans behind (a child starts a grandchild and
/// exits): as PID 1, vanguard reaps them once they exit, so none stays a
/// zombie. The control, with the init turned off (VANGUARD_NO_INIT=1),
/// shows the zombies this test would otherwise see.
#[test]
fn pid1_reaps_the_orphans_a_server_leaves() {
    for with_init in [true, false] {
        let port = free_port();
        let env = format!("VANGUARD_NO_INIT={}", if with_init { "0" } else { "1" });
        let c = Container::start(
            &["--env", &env],
            &[
                "sse",
                "--port",
                &port.to_string(),
                "--",
                IN_IMAGE,
                "demo-server",
                "--leave-orphans",
            ],
        );
        wait_ready(port, &c);
        let http = Http::default();
        let url = format!("http://127.0.0.1:{port}/mcp");
        let sid = http.open_session(&url, &[]);
        for i in 0..3 {
            assert_echo(&http, &url, &sid, 10 + i, "orphan", String::new);
        }
        let init = c.host_pid();
        if with_init {
            // Settled: the orphans have run and exited, and nothing is a zombie.
            let settled = wait_until(Duration::from_secs(30), || {
                let ps = container_procs(init);
                !ps.is_empty()
                    && ps.iter().all(|p| {
                        p.state != 'Z'
                            && !p.cmdline.contains("--orphan ")
                            && !p.cmdline.contains("--orphan-parent ")
                    })
            });
            assert!(
                settled,
                "zombies or orphans left in the container:\n{}",
                describe(&container_procs(init))
            );
        } else {
            let zombies = wait_until(Duration::from_secs(30), || {
                container_procs(init)
                    .iter()
                    .filter(|p| p.state == 'Z')
                    .count()
                    >= 3
            });
            assert!(
                zombies,
                "the control saw no zombies without the init:\n{}",
                describe(&container_procs(init))
            );
        }
        c.signal("TERM");
        assert_eq!(c.wait(), 0, "{}", c.logs());
    }
}

/// A stateless (2026-07-28) `tools/call` of the demo server's echo.
fn stateless_echo(http: &Http, port: u16, id: i64, msg: &str) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": msg}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}}}});
    let a = http.rpc(
        &format!("http://127.0.0.1:{port}/mcp"),
        None,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ],
        &body,
    );
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// Two replicas (containers) sharing one Redis, requests alternating
/// between them as a round-robin Service would send them: every stateless
/// request is answered by whichever replica gets it, and L3 counts across
/// both — the 51st identical call is blocked (BEH-REPEAT, limit 50) though
/// each replica saw only 25 or 26. A 2025-revision session, by contrast, is
/// known only to its replica.
#[test]
fn two_replicas_sharing_redis_answer_stateless_requests_round_robin() {
    let redis = redis_support::RedisServer::start();
    let state = format!("VANGUARD_STATE_URL=redis://127.0.0.1:{}/", redis.port);
    let ports = [free_port(), free_port()];
    let replicas: Vec<Container> = ports
        .iter()
        .map(|p| {
            Container::start(
                &[
                    "--env",
                    &state,
                    "--env",
                    "VANGUARD_BEHAVIOR_KEY=agent-7",
                    "--env",
                    &format!("VANGUARD_PORT={p}"),
                ],
                &["sse", "--", IN_IMAGE, "demo-server"],
            )
        })
        .collect();
    for (p, c) in ports.iter().zip(&replicas) {
        wait_ready(*p, c);
    }
    let http = Http::default();
    for i in 0..50 {
        let port = ports[i % 2];
        let r = stateless_echo(&http, port, i as i64 + 1, "same call");
        assert!(
            r["result"]["content"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("same call")),
            "call {} on replica {}: {r}",
            i + 1,
            i % 2
        );
    }
    let r = stateless_echo(&http, ports[0], 51, "same call");
    assert_eq!(
        r["error"]["code"],
        common::POLICY_BLOCKED,
        "the 51st call over both replicas: {r}"
    );
    assert_eq!(r["error"]["data"]["rule"], "BEH-REPEAT", "{r}");

    // A 2025-revision session lives in the replica that started it: the
    // other one does not know its id (hence ClientIP affinity, or a hash
    // on Mcp-Session-Id, for those clients).
    let urls = ports.map(|p| format!("http://127.0.0.1:{p}/mcp"));
    let sid = http.open_session(&urls[0], &[]);
    let ping = json!({"jsonrpc": "2.0", "id": 60, "method": "ping"});
    let here = http.rpc(&urls[0], Some(&sid), &[], &ping);
    assert_eq!(here.status, 200, "{}", here.text);
    let there = http.rpc(&urls[1], Some(&sid), &[], &ping);
    assert_eq!(there.status, 404, "{}", there.text);
    for c in &replicas {
        c.signal("TERM");
        assert_eq!(c.wait(), 0, "{}", c.logs());
    }
}

/// `podman run -i IMAGE start -- server`: the stdio face, as an MCP client
/// configuration runs it; the agent closing stdin ends it with 0.
#[test]
fn start_in_a_container_over_stdio() {
    use std::io::Write;
    let mut child = podman()
        .args(["run", "--rm", "--interactive", "--network", "none"])
        .arg(image())
        .args(["start", "--audit-log", "off", "--", IN_IMAGE, "demo-server"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("podman run -i");
    let lines = [
        initialize(1),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        call(2, "echo", json!({"message": "stdio in a container"})),
    ];
    let mut stdin = child.stdin.take().unwrap();
    for l in &lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Echo: stdio in a container"), "{}", show(&o));
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

/// podman's own seccomp profile made to refuse what Docker's default
/// profile refuses a container without CAP_SYS_ADMIN: unshare, the mount
/// calls, setns, clone with namespace flags, clone3 (ENOSYS, as Docker).
fn docker_like_seccomp(dir: &std::path::Path) -> String {
    const REFUSED: &[&str] = &[
        "unshare",
        "mount",
        "umount",
        "umount2",
        "pivot_root",
        "open_tree",
        "move_mount",
        "mount_setattr",
        "fsopen",
        "fsmount",
        "fsconfig",
        "fspick",
        "setns",
        "clone",
        "clone3",
    ];
    let text = std::fs::read_to_string("/usr/share/containers/seccomp.json")
        .expect("podman's seccomp profile (containers-common)");
    let mut p: Value = serde_json::from_str(&text).unwrap();
    let rules = p["syscalls"].as_array_mut().unwrap();
    for r in rules.iter_mut() {
        if let Some(names) = r["names"].as_array_mut() {
            names.retain(|n| !REFUSED.contains(&n.as_str().unwrap_or("")));
        }
    }
    rules.retain(|r| r["names"].as_array().is_some_and(|n| !n.is_empty()));
    // clone without any CLONE_NEW* flag (0x7E020000) only.
    rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 0x7E02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}));
    rules.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    let path = dir.join("docker-like-seccomp.json");
    std::fs::write(&path, serde_json::to_vec(&p).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

/// Under a Docker-like default seccomp profile no namespace can be made:
/// best-effort keeps Landlock, seccomp, no_new_privs and the dropped
/// capabilities and runs; enforce refuses naming the user namespace; an
/// MCP call through `sse` still works.
#[test]
fn under_a_docker_like_seccomp_profile_landlock_and_seccomp_hold() {
    let dir = tempfile::tempdir().unwrap();
    let profile = docker_like_seccomp(dir.path());
    let opt = format!("seccomp={profile}");
    let opts = ["--security-opt", opt.as_str()];
    let (code, d) = doctor(&opts, &[]);
    assert_eq!(code, Some(0), "{d:#}");
    let layers = &d["plan"]["layers"];
    for held in ["landlock", "seccomp", "no_new_privs", "caps_dropped"] {
        assert_eq!(layers[held]["status"], "full", "{held}: {d:#}");
    }
    for gone in ["userns", "netns", "pidns", "root"] {
        assert_eq!(layers[gone]["status"], "not_applied", "{gone}: {d:#}");
    }
    assert!(
        missing(&d).contains("unshare(CLONE_NEWUSER) is refused"),
        "{d:#}"
    );
    let o = run_once(
        &opts,
        &["run", "--sandbox", "enforce", "--", IN_IMAGE, "--version"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("userns:"),
        "{}",
        show(&o)
    );

    let port = free_port();
    let c = Container::start(
        &opts,
        &[
            "sse",
            "--port",
            &port.to_string(),
            "--",
            IN_IMAGE,
            "demo-server",
        ],
    );
    wait_ready(port, &c);
    let http = Http::default();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let sid = http.open_session(&url, &[]);
    assert_echo(&http, &url, &sid, 2, "docker-like", String::new);
    c.signal("TERM");
    assert_eq!(c.wait(), 0, "{}", c.logs());
}

/// Calls the demo server's echo tool in session `sid` and fails the test,
/// with the answer and `context()`, unless the message comes back.
fn assert_echo(
    http: &Http,
    url: &str,
    sid: &str,
    id: i64,
    message: &str,
    context: impl Fn() -> String,
) {
    let a = http.rpc(
        url,
        Some(sid),
        &[],
        &call(id, "echo", json!({ "message": message })),
    );
    assert!(
        a.text.contains(&format!("Echo: {message}")),
        "{} {}\n{}",
        a.status,
        a.text,
        context()
    );
}
