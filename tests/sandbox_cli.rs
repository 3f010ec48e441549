//! `vanguard run` and `vanguard doctor` through the real binary.
//!
//! Every scenario is a fresh vanguard process (a sandbox cannot be undone
//! in-process) started in its own scratch directory with an explicit
//! `--workspace`, so the repository is never a zone. Each asserts the effect
//! (the file was not written, the listener was never connected to), and the
//! denials are paired with a control run showing that the same command does
//! succeed when the protection under test is lifted, so a broken command
//! cannot pass for a denial.

mod common;

use common::{vanguard_bin, wait_until};
use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use vanguard::sandbox::probe;

/// A vanguard that has not finished by then is hung: the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished vanguard process left behind.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    label: String,
}

impl Ran {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// For assertion messages.
    fn show(&self) -> String {
        format!(
            "{}\nstatus: {:?}\nstdout:\n{}\nstderr:\n{}",
            self.label, self.status, self.stdout, self.stderr
        )
    }
}

/// A scratch layout: `ws` (the workspace, also the cwd), `w` (an extra
/// write zone) and the scratch root itself, which is in no zone.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ws: PathBuf,
    w: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("vanguard-test-run-")
            .tempdir()
            .expect("temp dir");
        // Canonical, so the paths the kernel sees are the ones we name.
        let root = std::fs::canonicalize(dir.path()).expect("canonical temp dir");
        let ws = root.join("ws");
        let w = root.join("w");
        for d in [&ws, &w] {
            std::fs::create_dir(d).expect("mkdir");
        }
        Scratch {
            _dir: dir,
            root,
            ws,
            w,
        }
    }

    /// `vanguard run --workspace ws ARGS`, in `ws`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(vanguard_bin());
        cmd.arg("run")
            .arg("--workspace")
            .arg(&self.ws)
            .args(args)
            .current_dir(&self.ws)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        finish(
            self.command(args).spawn().expect("spawn vanguard"),
            format!("vanguard run {}", args.join(" ")),
        )
    }

    fn doctor(&self, args: &[&str]) -> Ran {
        let mut cmd = Command::new(vanguard_bin());
        cmd.arg("doctor")
            .arg("--workspace")
            .arg(&self.ws)
            .args(args)
            .current_dir(&self.ws)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish(
            cmd.spawn().expect("spawn vanguard"),
            format!("vanguard doctor {}", args.join(" ")),
        )
    }

    /// A profile file in the scratch root.
    fn profile(&self, name: &str, text: &str) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, text).expect("write profile");
        path
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Waits for `child` (killing it after [`RUN_TIMEOUT`]) and collects its output.
fn finish(child: Child, label: String) -> Ran {
    finish_within(child, label, RUN_TIMEOUT)
}

/// Like [`finish`], failing the test when `child` runs longer than `timeout`.
fn finish_within(mut child: Child, label: String, timeout: Duration) -> Ran {
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{label}: still running after {timeout:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Ran {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        label,
    }
}

/// Fails the test, naming what is missing, when this kernel cannot run the
/// sandbox the test is about: a skipped denial would prove nothing.
fn require_kernel(landlock_abi: i32) {
    let k = probe::probe();
    let mut lacking = Vec::new();
    if k.landlock_abi < landlock_abi {
        lacking.push(format!(
            "Landlock ABI {landlock_abi} (this kernel has {})",
            k.landlock_abi
        ));
    }
    if !k.seccomp {
        lacking.push("seccomp filters".into());
    }
    if !k.namespaces() {
        lacking.push("namespaces (root or user namespaces)".into());
    }
    assert!(
        lacking.is_empty(),
        "this kernel lacks {}; see `vanguard doctor`",
        lacking.join(", ")
    );
}

// ------------------------------------------------------------------ run

#[test]
fn run_exits_with_the_commands_status() {
    let t = Scratch::new();
    let r = t.run(&["--", "sh", "-c", "exit 7"]);
    assert_eq!(r.code(), Some(7), "{}", r.show());
    let r = t.run(&["--", "true"]);
    assert_eq!(r.code(), Some(0), "{}", r.show());
}

/// `run` never inspects a message, so it does not parse rule patterns; the
/// gateway still refuses a broken one at load, and `run` still refuses a
/// profile that is broken anywhere else.
#[test]
fn run_skips_rule_patterns_but_start_refuses_them_and_run_refuses_bad_toml() {
    let t = Scratch::new();
    let rule = "[[rules]]\nid = \"T-1\"\nfamily = \"t\"\ndescription = \"d\"\n\
                severity = \"high\"\naction = \"block\"\ntarget = \"text\"\n\
                patterns = [\"(unclosed\"]\n";
    let broken_rule = t.profile("broken-rule.toml", &format!("name = \"b\"\n{rule}"));
    let r = t.run(&["--profile", s(&broken_rule), "--", "true"]);
    assert_eq!(r.code(), Some(0), "{}", r.show());

    let mut start = Command::new(vanguard_bin());
    start
        .args(["start", "--audit-log", "off", "--profile", s(&broken_rule)])
        .args(["--server", "true"])
        .current_dir(&t.ws)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let r = finish(
        start.spawn().expect("spawn vanguard"),
        "vanguard start".into(),
    );
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(
        r.stderr.contains("broken-rule.toml:9") && r.stderr.contains("invalid regular expression"),
        "{}",
        r.show()
    );
    // The hosted gateway alike, before it listens or starts a server (the
    // gateways compile the patterns without a separate check first and
    // load again with it only when one fails: the error is the same).
    let mut sse = Command::new(vanguard_bin());
    sse.args(["sse", "--audit-log", "off", "--profile", s(&broken_rule)])
        .args(["--port", "0", "--server", "true"])
        .current_dir(&t.ws)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let r = finish(sse.spawn().expect("spawn vanguard"), "vanguard sse".into());
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(
        r.stderr.contains("broken-rule.toml:9") && r.stderr.contains("invalid regular expression"),
        "{}",
        r.show()
    );
    assert!(!r.stderr.contains("listening"), "{}", r.show());

    let bad_toml = t.profile("bad.toml", &format!("name = \"b\"\n[zones\n{rule}"));
    let r = t.run(&["--profile", s(&bad_toml), "--", "true"]);
    assert_eq!(r.code(), Some(2), "{}", r.show());
    assert!(r.stderr.contains("bad.toml:2"), "{}", r.show());
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    let t = Scratch::new();
    let r = t.run(&["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(r.code(), Some(128 + libc::SIGTERM), "{}", r.show());
}

/// Live `sleep` processes with this argument. vanguard and the sandbox's
/// supervisor carry the same argument in their command lines, so the
/// process name tells the command apart.
fn sleeping(nap: &str) -> Vec<i32> {
    common::pids_with_arg(nap)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })
        .collect()
}

#[test]
fn run_forwards_sigterm_to_the_command() {
    require_kernel(1);
    let t = Scratch::new();
    // `sleep` itself, not behind a shell: shells reset their signal mask,
    // sleep does not, so a mask leaked by vanguard would keep SIGTERM out.
    // The odd duration finds the process again.
    let nap = format!("300.{}", std::process::id());
    let child = t
        .command(&["--", "sleep", &nap])
        .spawn()
        .expect("spawn vanguard");
    let pid = child.id() as libc::pid_t;
    let up = wait_until(common::TIMEOUT, || !sleeping(&nap).is_empty());
    // SAFETY: kill(2) on the vanguard we spawned and have not reaped.
    unsafe { libc::kill(pid, if up { libc::SIGTERM } else { libc::SIGKILL }) };
    assert!(up, "sleep {nap} never started");
    let r = finish_within(
        child,
        format!("vanguard run -- sleep {nap}"),
        Duration::from_secs(10),
    );
    assert_eq!(
        r.code(),
        Some(128 + libc::SIGTERM),
        "vanguard did not pass SIGTERM on and report the command's death by it\n{}",
        r.show()
    );
    assert!(
        wait_until(Duration::from_secs(5), || sleeping(&nap).is_empty()),
        "the command outlived vanguard"
    );
}

/// Anonymous memory outside any file mapping (heap, stacks, `mmap`ed
/// allocations), in KiB, from `/proc/PID/smaps`. File-backed mappings are
/// left out: a binary's relocated constants (RELRO) are part of any
/// process running it.
fn heap_like_kib(pid: i32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
        .unwrap_or_else(|e| panic!("smaps of {pid}: {e}"));
    let mut in_file = false;
    let mut total = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            // `start-end perms offset dev inode [path]`
            let path = fields.get(5).copied().unwrap_or("");
            in_file = !(path.is_empty() || path == "[heap]" || path == "[stack]");
        } else if let Some(v) = line.strip_prefix("Anonymous:") {
            if !in_file {
                total += v
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .expect("kB");
            }
        }
    }
    total
}

/// The sandbox's supervisor and init are forks of the gateway that never
/// exec: they must not keep (and, as the gateway's heap changes, copy) the
/// gateway's heap. Each holds under 512 KiB of heap-like memory while the
/// gateway holds several MiB.
#[test]
fn the_sandbox_helpers_drop_the_memory_they_inherit() {
    require_kernel(1);
    let nap = format!("300.{}", std::process::id() + 7);
    let gateway = common::Peer::gateway(&format!("sleep {nap}"), &[]);
    assert!(
        wait_until(common::TIMEOUT, || !sleeping(&nap).is_empty()),
        "sleep {nap} never started"
    );
    let server = sleeping(&nap)[0];
    let init = common::parent_pid(server).expect("the server's parent");
    let supervisor = common::parent_pid(init).expect("init's parent");
    assert_eq!(
        common::parent_pid(supervisor),
        Some(gateway.pid()),
        "not the sandbox's layout"
    );
    for helper in [init, supervisor] {
        let comm = std::fs::read_to_string(format!("/proc/{helper}/comm")).expect("comm");
        assert_eq!(comm.trim(), "vg-sandbox");
    }
    let own = heap_like_kib(gateway.pid());
    assert!(own > 2048, "the gateway holds only {own} KiB: no contrast");
    // Each helper sheds right after its fork, while the server may already
    // run: under load the test can look in the middle of it. What counts is
    // where each settles (its wait loop touches nothing new).
    // The file pages left are the code the wait loop runs after the drop,
    // 64 KiB around each page it touches. In a debug build those small
    // functions lie wherever the build put them: 384 to 1,280 KiB across
    // clean builds of the same source. Without the drop a helper keeps
    // 4.7 to 7 MiB; the bound is a twelfth of the gateway's mapped files
    // (about 2.4 MiB in the debug build). The release build's helpers are
    // measured by the bench table (0.7 MiB RSS each).
    let gateway_code = common::status_kib(gateway.pid(), "RssFile");
    assert!(
        gateway_code > 8 << 10,
        "the gateway maps only {gateway_code} KiB of files: no contrast"
    );
    let code_bound = gateway_code / 12;
    for helper in [init, supervisor] {
        wait_until(common::TIMEOUT, || {
            heap_like_kib(helper) < 512 && common::status_kib(helper, "RssFile") < code_bound
        });
    }
    for helper in [init, supervisor] {
        let kib = heap_like_kib(helper);
        assert!(
            kib < 512,
            "sandbox helper {helper} holds {kib} KiB of heap-like memory (the gateway: {own} KiB)"
        );
    }
    // They also drop the code pages set-up faulted in (64 KiB around each
    // fault): what stays mapped is the wait loop's few pages.
    for helper in [init, supervisor] {
        let (file, rss) = (
            common::status_kib(helper, "RssFile"),
            common::status_kib(helper, "VmRSS"),
        );
        eprintln!("helper {helper}: RSS {rss} KiB, of it file-backed {file} KiB");
        assert!(
            file < code_bound,
            "sandbox helper {helper} keeps {file} KiB of file pages mapped (RSS {rss} KiB; \
             the gateway: {gateway_code} KiB)"
        );
    }
}

#[test]
fn run_confines_writes_to_the_write_zones() {
    require_kernel(1);
    let t = Scratch::new();
    let outside = t.root.join("outside.txt");
    let inside = t.w.join("inside.txt");
    let write_outside = format!("echo x > {}", s(&outside));
    let write_inside = format!("echo x > {}", s(&inside));

    let r = t.run(&["--write", s(&t.w), "--", "sh", "-c", &write_outside]);
    assert_ne!(r.code(), Some(0), "{}", r.show());
    assert!(
        !outside.exists(),
        "a write outside every zone happened\n{}",
        r.show()
    );
    assert!(
        r.stderr.contains("Permission denied"),
        "expected EACCES from the kernel\n{}",
        r.show()
    );

    let r = t.run(&["--write", s(&t.w), "--", "sh", "-c", &write_inside]);
    assert_eq!(r.code(), Some(0), "{}", r.show());
    assert_eq!(
        std::fs::read_to_string(&inside).ok().as_deref(),
        Some("x\n")
    );

    // Control: the very same command writes the file without the sandbox.
    let r = t.run(&["--sandbox", "off", "--", "sh", "-c", &write_outside]);
    assert_eq!(r.code(), Some(0), "control run failed\n{}", r.show());
    assert!(
        outside.exists(),
        "the control run did not write {outside:?}"
    );
}

/// Opens a listener on 127.0.0.1 that a test checks was never connected to.
fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.set_nonblocking(true).expect("nonblocking listener");
    let port = l.local_addr().expect("local addr").port();
    (l, port)
}

fn accepted(l: &TcpListener) -> bool {
    match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn run_with_net_none_cannot_reach_a_host_listener() {
    require_kernel(4);
    let t = Scratch::new();
    let (l, port) = listener();
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");

    let r = t.run(&["--net", "none", "--", "bash", "-c", &connect]);
    assert_ne!(r.code(), Some(0), "{}", r.show());
    assert!(!r.stdout.contains("connected"), "{}", r.show());
    assert!(
        !accepted(&l),
        "the listener accepted a connection from the sandbox\n{}",
        r.show()
    );

    // Control: with the host's network the same command connects.
    let r = t.run(&["--net", "host", "--", "bash", "-c", &connect]);
    assert_eq!(r.code(), Some(0), "control run failed\n{}", r.show());
    assert!(
        wait_until(Duration::from_secs(5), || accepted(&l)),
        "the control connection never arrived"
    );
}

#[test]
fn run_drops_privileges_and_leaves_no_signal_blocked() {
    require_kernel(1);
    let t = Scratch::new();
    let r = t.run(&["--", "cat", "/proc/self/status"]);
    assert_eq!(r.code(), Some(0), "{}", r.show());
    for line in [
        "NoNewPrivs:\t1",
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
        "CapBnd:\t0000000000000000",
        "CapAmb:\t0000000000000000",
        // vanguard blocks the signals it forwards; the command must not
        // inherit that mask, or SIGTERM would never reach it.
        "SigBlk:\t0000000000000000",
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "missing `{line}` in\n{}",
            r.show()
        );
    }
}

// ------------------------------------------------------------- doctor

fn json_of(r: &Ran) -> Value {
    serde_json::from_str(r.stdout.trim())
        .unwrap_or_else(|e| panic!("doctor --json is not one JSON object ({e})\n{}", r.show()))
}

#[test]
fn doctor_json_reports_this_kernel() {
    let t = Scratch::new();
    let r = t.doctor(&["--json"]);
    let report = json_of(&r);
    let k = probe::probe();
    assert!(
        k.landlock_abi > 0,
        "this kernel has no Landlock; the test machine must have it"
    );
    assert_eq!(
        report["kernel"]["landlock_abi"].as_i64(),
        Some(i64::from(k.landlock_abi)),
        "{}",
        r.show()
    );
    assert_eq!(report["kernel"]["seccomp"], k.seccomp, "{}", r.show());
    assert_eq!(report["kernel"]["root"], k.root, "{}", r.show());
    assert_eq!(
        report["kernel"]["seccomp_user_notif"],
        k.seccomp_action("user_notif"),
        "{}",
        r.show()
    );
    assert_eq!(report["profile"]["name"], "balanced", "{}", r.show());
    assert_eq!(
        report["plan"]["layers"]["landlock"]["status"],
        "full",
        "{}",
        r.show()
    );
    assert_eq!(report["trial"]["ok"], true, "{}", r.show());
    // balanced is best-effort: it can always be met.
    assert_eq!(r.code(), Some(0), "{}", r.show());
    assert_eq!(report["exit_code"], 0, "{}", r.show());
}

#[test]
fn doctor_text_names_every_layer() {
    let t = Scratch::new();
    let r = t.doctor(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.show());
    for word in [
        "landlock",
        "seccomp",
        "user namespaces",
        "pid namespaces",
        "cgroup v2",
        "netns",
        "no_new_privs",
        "caps_dropped",
        "trial",
    ] {
        assert!(r.stdout.contains(word), "no `{word}` in\n{}", r.show());
    }
}

const MEMORY_LIMITED_ENFORCE: &str = "extends = \"balanced\"\n\
                                      [sandbox]\n\
                                      level = \"enforce\"\n\
                                      memory_max_mb = 64\n";

/// On a host without a delegated cgroup v2 (this CI host is hybrid), a
/// memory limit cannot be enforced: `enforce` must refuse, naming it, and
/// the command must not run. Where the limit can be applied, it must be.
#[test]
fn enforce_refuses_a_plan_it_cannot_fully_enforce() {
    require_kernel(1);
    let t = Scratch::new();
    let profile = t.profile("memory-enforce.toml", MEMORY_LIMITED_ENFORCE);
    let marker = t.w.join("ran");
    let touch = format!("touch {}", s(&marker));
    let args = [
        "--profile",
        s(&profile),
        "--write",
        s(&t.w),
        "--",
        "sh",
        "-c",
        &touch,
    ];
    if probe::probe().cgroup_limits() {
        return memory_limit_is_applied(&t, &profile);
    }
    let r = t.run(&args);
    assert_eq!(r.code(), Some(3), "{}", r.show());
    assert!(
        r.stderr.contains("enforce") && r.stderr.contains("cgroup"),
        "the refusal does not name the missing cgroup\n{}",
        r.show()
    );
    assert!(!marker.exists(), "the refused command ran anyway");

    let d = t.doctor(&["--json", "--profile", s(&profile)]);
    assert_eq!(d.code(), Some(3), "{}", d.show());
    let report = json_of(&d);
    assert_eq!(
        report["plan"]["layers"]["cgroup"]["status"],
        "not_applied",
        "{}",
        d.show()
    );
    assert!(
        report["plan"]["missing"].as_array().is_some_and(|m| m
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.starts_with("cgroup")))),
        "{}",
        d.show()
    );

    // Control: best-effort runs the same command without the limit.
    let mut lenient = args.to_vec();
    lenient.splice(0..0, ["--sandbox", "best-effort"]);
    let r = t.run(&lenient);
    assert_eq!(r.code(), Some(0), "{}", r.show());
    assert!(marker.exists(), "the best-effort control did not run");
}

/// Where cgroup v2 limits work, the command runs in a cgroup whose
/// `memory.max` is the profile's 64 MiB.
fn memory_limit_is_applied(t: &Scratch, profile: &Path) {
    let mount = probe::probe()
        .cgroup2_mount
        .expect("cgroup limits without a cgroup2 mount");
    let child = t
        .command(&["--profile", s(profile), "--", "sleep", "30"])
        .spawn()
        .expect("spawn vanguard");
    let prefix = format!("vanguard-{}-", child.id());
    let mut limit = None;
    wait_until(common::TIMEOUT, || {
        limit = std::fs::read_dir(&mount).ok().and_then(|dir| {
            dir.flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .and_then(|e| std::fs::read_to_string(e.path().join("memory.max")).ok())
        });
        limit.is_some()
    });
    // SAFETY: kill(2) on the vanguard we spawned and have not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let r = finish(child, "vanguard run -- sleep 30".into());
    assert_eq!(
        limit.as_deref().map(str::trim),
        Some("67108864"),
        "no cgroup with memory.max = 64 MiB for the command\n{}",
        r.show()
    );
}

/// Inside the sandbox, PID 1 (the sandbox's init, a fork of vanguard that
/// never execs) shows nothing of vanguard's command line or environment:
/// a Redis URL with a password or a token given to vanguard stays outside.
#[test]
fn nothing_of_vanguards_command_line_or_environment_is_visible_inside() {
    require_kernel(6);
    let t = Scratch::new();
    let marker = t.root.join("hunter2-arg-marker-pins.json");
    let mut cmd = t.command(&[
        "--pins",
        s(&marker),
        "--",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/1/environ | tr '\\0' ' '; echo; \
         cat /proc/1/comm; for p in /proc/[0-9]*; do cat $p/cmdline $p/environ 2>/dev/null; done | tr '\\0' ' '",
    ]);
    cmd.env("VANGUARD_TEST_ENV_MARKER", "env-marker-s3cr3t");
    let r = finish(cmd.spawn().expect("spawn"), "vanguard run /proc/1".into());
    assert_eq!(r.code(), Some(0), "{}", r.show());
    assert!(r.stdout.contains("vanguard-sandbox"), "{}", r.show());
    assert!(!r.stdout.contains("hunter2-arg-marker"), "{}", r.show());
    assert!(!r.stdout.contains("--workspace"), "{}", r.show());
    assert!(!r.stdout.contains("env-marker-s3cr3t"), "{}", r.show());
}
