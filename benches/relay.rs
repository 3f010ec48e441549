//! Whole-process relay benchmark: the same MCP traffic against a server
//! directly and through `vanguard start`, measured in one run, printed as
//! ratios. Not a test: nothing here asserts a timing.
//!
//! Servers: the real `@modelcontextprotocol/server-everything` (from
//! `.test-env`, see scripts/setup-test-env.sh) and vanguard's built-in demo
//! server (a trivial Rust echo server). Baseline for the relay alone: the
//! same Rust server behind a plain byte relay (`cat | server | cat`).
//!
//! Run: `cargo bench --bench relay` (set VANGUARD_BENCH_QUICK=1 for fewer iterations).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Proc {
    fn start(argv: &[String]) -> Proc {
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut p = Proc {
            child,
            stdin,
            stdout,
        };
        p.send(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}));
        p.recv();
        p.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        p
    }
    fn send(&mut self, v: &Value) {
        let mut b = serde_json::to_vec(v).expect("json");
        b.push(b'\n');
        self.stdin.write_all(&b).expect("write");
        self.stdin.flush().expect("flush");
    }
    fn send_raw(&mut self, b: &[u8]) {
        self.stdin.write_all(b).expect("write");
    }
    /// Reads a response and fails the benchmark if it is an error: a
    /// blocked call is answered by vanguard itself and would flatter it.
    fn recv_ok(&mut self) -> Value {
        let v = self.recv();
        assert!(
            v.get("result").is_some(),
            "the benchmark measured an error, not a relayed call: {v}"
        );
        v
    }
    /// Reads lines until a response (a message with an id and no method).
    fn recv(&mut self) -> Value {
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line).expect("read") == 0 {
                panic!("server closed");
            }
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v.get("id").is_some() && v.get("method").is_none() {
                    return v;
                }
            }
        }
    }
    /// CPU time (user + system) the process has used so far.
    fn cpu(pid: u32) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // Fields 14 and 15 (utime, stime) are at 11 and 12 after the comm field.
        let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_micros(ticks * 1_000_000 / hz)
    }
    fn rss_kib(pid: u32) -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).map(|n| n.parse().unwrap_or(0)))
            })
            .unwrap_or(0)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An echo call; the id is part of the message so no two calls are the
/// same (an agent repeating one call thousands of times is what L3's
/// repeat limit is for).
fn call(id: u64, msg: &str) -> Value {
    let msg = format!("{id:06}{}", &msg[msg.len().min(6)..]);
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"echo","arguments":{"message":msg}}})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sequential request/response latencies.
fn latencies(argv: &[String], n: usize, msg: &str) -> Vec<Duration> {
    let mut p = Proc::start(argv);
    for i in 0..50 {
        p.send(&call(i, msg));
        p.recv_ok();
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        p.send(&call(1000 + i as u64, msg));
        p.recv_ok();
        out.push(t.elapsed());
    }
    out.sort();
    out
}

/// Requests per second with `window` requests in flight, peak RSS (KiB) and
/// CPU µs per message of the process started (vanguard itself when guarded).
fn throughput(argv: &[String], n: usize, window: usize, msg: &str) -> (f64, u64) {
    let (rate, rss, _) = throughput_cpu(argv, n, window, msg);
    (rate, rss)
}

fn throughput_cpu(argv: &[String], n: usize, window: usize, msg: &str) -> (f64, u64, f64) {
    let mut p = Proc::start(argv);
    let lines: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut b = serde_json::to_vec(&call(10_000 + i as u64, msg)).expect("json");
            b.push(b'\n');
            b
        })
        .collect();
    let cpu0 = Proc::cpu(p.child.id());
    let t = Instant::now();
    let mut sent = 0;
    let mut got = 0;
    let mut peak_rss = 0;
    while got < n {
        while sent < n && sent - got < window {
            p.send_raw(&lines[sent]);
            sent += 1;
        }
        p.stdin.flush().expect("flush");
        p.recv_ok();
        got += 1;
        if got % 2000 == 0 {
            peak_rss = peak_rss.max(Proc::rss_kib(p.child.id()));
        }
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let cpu = Proc::cpu(p.child.id()).saturating_sub(cpu0);
    (rate, peak_rss, cpu.as_secs_f64() * 1e6 / n as f64)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo test --all-targets` runs bench targets without `--bench`: then
    // this is a smoke run, small enough not to cost CI time.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let quick = smoke || std::env::var_os("VANGUARD_BENCH_QUICK").is_some();
    let scale = if quick { 1 } else { 4 };
    let vanguard = env!("CARGO_BIN_EXE_vanguard").to_string();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let everything = std::env::var("VANGUARD_TEST_SERVER_EVERYTHING").unwrap_or_else(|_| {
        root.join(
            ".test-env/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
        )
        .display()
        .to_string()
    });
    let node = std::env::var("VANGUARD_TEST_NODE").unwrap_or_else(|_| "node".into());
    let ws = std::env::temp_dir().join(format!("vanguard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&ws).expect("ws");
    // balanced with L3's rate limits off: L3 still observes and judges
    // every call (its cost is measured), but thousands of echo calls a
    // second, which no agent makes, are not refused.
    let profile = ws.join("bench.toml");
    std::fs::write(
        &profile,
        "extends = \"balanced\"\n[behavior]\n\
         per_tool = { warn = 0, block = 0 }\nread = { warn = 0, block = 0 }\n\
         write = { warn = 0, block = 0 }\nexec = { warn = 0, block = 0 }\n\
         network = { warn = 0, block = 0 }\nrepeat = { warn = 0, block = 0 }\n\
         enumeration = { warn = 0, block = 0 }\n",
    )
    .expect("bench profile");
    let guard_with = |server: &str, sandbox: &str| -> Vec<String> {
        vec![
            vanguard.clone(),
            "start".into(),
            "--profile".into(),
            profile.display().to_string(),
            "--server".into(),
            server.into(),
            "--workspace".into(),
            ws.display().to_string(),
            "--audit-log".into(),
            ws.join("audit.jsonl").display().to_string(),
            "--pins".into(),
            ws.join("pins.json").display().to_string(),
            "--sandbox".into(),
            sandbox.into(),
        ]
    };
    let guard = |server: &str| {
        let mut v = guard_with(server, "off");
        // Extra flags for experiments, e.g. VANGUARD_BENCH_ARGS="--audit-log off".
        if let Ok(extra) = std::env::var("VANGUARD_BENCH_ARGS") {
            v.extend(extra.split_whitespace().map(String::from));
        }
        v
    };
    let demo = vec![vanguard.clone(), "demo-server".into()];
    let demo_cmd = format!("{vanguard} demo-server");
    let small = "hello";
    let big = "x".repeat(4096);

    println!(
        "vanguard relay benchmark ({} mode)\n",
        if quick { "quick" } else { "full" }
    );
    if std::path::Path::new(&everything).exists() {
        let direct = vec![node.clone(), everything.clone()];
        let server = format!("{node} {everything}");
        let through = guard(&server);
        let sandboxed = guard_with(&server, "best-effort");
        let cat_relay: Vec<String> =
            vec!["sh".into(), "-c".into(), format!("cat | {server} | cat")];
        let per_run = if smoke { 20 } else { 500 };
        let n = per_run * scale;
        for (label, msg) in [("small", small), ("4 KiB", big.as_str())] {
            // Interleave the runs so drift on a shared machine hits all alike.
            let mut d = Vec::new();
            let mut g = Vec::new();
            let mut k = Vec::new();
            let mut c = Vec::new();
            for _ in 0..scale {
                d.extend(latencies(&direct, per_run, msg));
                c.extend(latencies(&cat_relay, per_run, msg));
                g.extend(latencies(&through, per_run, msg));
                k.extend(latencies(&sandboxed, per_run, msg));
            }
            d.sort();
            g.sort();
            k.sort();
            c.sort();
            let row = |name: &str, v: &[Duration]| {
                println!("  {name:<28} p50 {:8.1} µs  p99 {:8.1} µs   added p50 {:+7.1} µs  p99 {:+8.1} µs",
                    us(percentile(v, 0.5)), us(percentile(v, 0.99)),
                    us(percentile(v, 0.5)) - us(percentile(&d, 0.5)),
                    us(percentile(v, 0.99)) - us(percentile(&d, 0.99)));
            };
            println!("server-everything echo, sequential, {label} messages ({n} calls each):");
            row("direct", &d);
            row("plain relay (cat|server|cat)", &c);
            row("vanguard (gateway only)", &g);
            row("vanguard + kernel sandbox", &k);
        }
        let n = if smoke { 200 } else { 5000 * scale };
        let (d, _) = throughput(&direct, n, 16, small);
        let (g, _) = throughput(&through, n, 16, small);
        let (k, _) = throughput(&sandboxed, n, 16, small);
        println!("server-everything echo, 16 in flight ({n} calls):\n  direct {d:9.0} req/s   vanguard {g:9.0} req/s ({:.1}%)   vanguard + sandbox {k:9.0} req/s ({:.1}%)", 100.0 * g / d, 100.0 * k / d);
    } else {
        println!("server-everything not installed ({everything}); run scripts/setup-test-env.sh — skipping its rows");
    }

    {
        // The same sequential measurement against the Rust echo server:
        // without node's own jitter, the gateway's share is easier to see.
        let per_run = if smoke { 20 } else { 1000 };
        let cat_demo: Vec<String> =
            vec!["sh".into(), "-c".into(), format!("cat | {demo_cmd} | cat")];
        let through_demo = guard(&demo_cmd);
        let (mut d, mut c, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..scale {
            d.extend(latencies(&demo, per_run, small));
            c.extend(latencies(&cat_demo, per_run, small));
            g.extend(latencies(&through_demo, per_run, small));
        }
        d.sort();
        c.sort();
        g.sort();
        println!(
            "Rust echo server, sequential, small messages ({} calls each):",
            per_run * scale
        );
        for (name, v) in [
            ("direct", &d),
            ("plain relay (cat|server|cat)", &c),
            ("vanguard (gateway only)", &g),
        ] {
            println!(
                "  {name:<28} p50 {:8.1} µs  p99 {:8.1} µs   added p50 {:+7.1} µs  p99 {:+8.1} µs",
                us(percentile(v, 0.5)),
                us(percentile(v, 0.99)),
                us(percentile(v, 0.5)) - us(percentile(&d, 0.5)),
                us(percentile(v, 0.99)) - us(percentile(&d, 0.99))
            );
        }
    }
    let n = if smoke { 2000 } else { 50_000 * scale };
    let relay = vec!["sh".into(), "-c".into(), format!("cat | {demo_cmd} | cat")];
    let (base, _) = throughput(&demo, n, 256, small);
    let (plain, _) = throughput(&relay, n, 256, small);
    let (ours, rss, cpu) = throughput_cpu(&guard(&demo_cmd), n, 256, small);
    println!(
        "relay only, Rust echo server, 256 in flight ({n} msgs):\n  direct {base:9.0} msg/s   cat relay {plain:9.0} msg/s   vanguard {ours:9.0} msg/s\n  vanguard time / cat-relay time = {:.2}x",
        plain / ours
    );
    println!(
        "  vanguard CPU per message (both directions, incl. inspection and audit): {cpu:.1} µs"
    );
    let idle = {
        let p = Proc::start(&guard(&demo_cmd));
        std::thread::sleep(Duration::from_millis(300));
        Proc::rss_kib(p.child.id())
    };
    println!(
        "vanguard resident memory: idle {:.1} MiB, under the load above (peak sampled) {:.1} MiB",
        idle as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&ws);
}
