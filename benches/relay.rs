//! Whole-process relay benchmark: the same MCP traffic against a server
//! directly, behind a plain byte relay, through `vanguard start` and, when
//! `VANGUARD_BENCH_PEER` names it, through a peer gateway, measured in one
//! run and printed as a table of differences and ratios. Not a test:
//! nothing here asserts a timing.
//!
//! Servers: the real `@modelcontextprotocol/server-everything` (from
//! `.test-env`, see scripts/setup-test-env.sh) and vanguard's built-in demo
//! server (a trivial Rust echo server). The plain relay hop is
//! `cat | server | cat`, built here from three processes so the two cats'
//! CPU can be read. `VANGUARD_BENCH_PEER` is a command the server command
//! is appended to as one argument (e.g. `/venv/bin/vanguard start --server`);
//! scripts/bench-table.sh installs McpVanguard 2.2.2 and sets it.
//!
//! Run: `bash scripts/bench-table.sh` (everything, with the peer), or
//! `cargo bench --bench relay` (set VANGUARD_BENCH_QUICK=1 for fewer iterations).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// How a server is reached: the processes started and which of them are
/// "the hop" whose CPU and memory are reported.
#[derive(Clone)]
enum Route {
    /// One command; it is the server itself (direct) or the gateway.
    Single(Vec<String>),
    /// `cat | server | cat`.
    CatRelay(Vec<String>),
}

struct Proc {
    children: Vec<Child>,
    /// Pids whose CPU and memory are the hop's (the gateway, the two cats).
    measured: Vec<u32>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn spawn(argv: &[String], stdin: Stdio, stdout: Stdio) -> Child {
    Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"))
}

impl Proc {
    fn start(route: &Route) -> Proc {
        let (children, measured, stdin, stdout) = match route {
            Route::Single(argv) => {
                let mut c = spawn(argv, Stdio::piped(), Stdio::piped());
                let stdin = c.stdin.take().expect("stdin");
                let stdout = c.stdout.take().expect("stdout");
                let pid = c.id();
                (vec![c], vec![pid], stdin, stdout)
            }
            Route::CatRelay(server) => {
                let cat = vec!["cat".to_string()];
                let mut first = spawn(&cat, Stdio::piped(), Stdio::piped());
                let stdin = first.stdin.take().expect("stdin");
                let mut mid = spawn(
                    server,
                    Stdio::from(first.stdout.take().expect("stdout")),
                    Stdio::piped(),
                );
                let mut last = spawn(
                    &cat,
                    Stdio::from(mid.stdout.take().expect("stdout")),
                    Stdio::piped(),
                );
                let stdout = last.stdout.take().expect("stdout");
                let measured = vec![first.id(), last.id()];
                (vec![first, mid, last], measured, stdin, stdout)
            }
        };
        let mut p = Proc {
            children,
            measured,
            stdin,
            stdout: BufReader::new(stdout),
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
    /// blocked call is answered by the gateway itself and would flatter it.
    fn recv_ok(&mut self) -> Value {
        match self.recv_result() {
            Ok(v) => v,
            Err(e) => panic!("the benchmark measured an error, not a relayed call: {e}"),
        }
    }
    /// A response, or the error answer (as text) in its place.
    fn recv_result(&mut self) -> Result<Value, String> {
        let v = self.recv();
        if v.get("result").is_some() {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    }
    /// Reads lines until a response (a message with an id and no method).
    fn recv(&mut self) -> Value {
        self.try_recv().expect("server closed")
    }
    /// Like `recv`; None when the hop closed its output.
    fn try_recv(&mut self) -> Option<Value> {
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line).expect("read") == 0 {
                return None;
            }
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v.get("id").is_some() && v.get("method").is_none() {
                    return Some(v);
                }
            }
        }
    }
    /// CPU time (user + system) the measured processes have used so far.
    fn cpu(&self) -> Duration {
        self.measured.iter().map(|&p| cpu_of(p)).sum()
    }
    /// Resident memory of the measured processes (KiB).
    fn rss_kib(&self) -> u64 {
        self.measured.iter().map(|&p| rss_kib(p)).sum()
    }
}

fn cpu_of(pid: u32) -> Duration {
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

fn status_field(pid: u32, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_string())
}

fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The process tree under `pid` (children of every thread), depth first.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for k in kids
                .split_whitespace()
                .filter_map(|k| k.parse::<u32>().ok())
            {
                out.push(k);
                stack.push(k);
            }
        }
    }
    out
}

impl Drop for Proc {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
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
fn latencies(route: &Route, n: usize, msg: &str) -> Vec<Duration> {
    match try_latencies(route, n, msg) {
        Ok(v) => v,
        Err(e) => panic!("the benchmark measured an error, not a relayed call: {e}"),
    }
}

/// Sequential latencies, or the first error answer: the peer refuses some
/// of the benchmark's calls, which its row then reports instead of a time.
fn try_latencies(route: &Route, n: usize, msg: &str) -> Result<Vec<Duration>, String> {
    let mut p = Proc::start(route);
    for i in 0..50 {
        p.send(&call(i, msg));
        p.recv_result()?;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        p.send(&call(1000 + i as u64, msg));
        p.recv_result()?;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// The first `tools/call` of a fresh session, the way an agent makes it:
/// after `initialize` and a listing, and after a pause (an agent's model
/// reads the listing first; past vanguard's quiet second, which returns
/// start-up memory and code pages). What it pays on top of the next calls
/// is whatever the hop builds lazily.
fn first_call(route: &Route, pause: Duration, msg: &str) -> Duration {
    let mut p = Proc::start(route);
    p.send(&json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}));
    p.recv();
    std::thread::sleep(pause);
    let t = Instant::now();
    p.send(&call(2, msg));
    p.recv_ok();
    t.elapsed()
}

struct Load {
    rate: f64,
    peak_rss_kib: u64,
    cpu_us_per_msg: f64,
}

/// Requests per second with `window` requests in flight, the hop's peak
/// RSS and its CPU per message.
fn throughput(route: &Route, n: usize, window: usize, msg: &str) -> Load {
    let mut p = Proc::start(route);
    let lines: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut b = serde_json::to_vec(&call(10_000 + i as u64, msg)).expect("json");
            b.push(b'\n');
            b
        })
        .collect();
    let cpu0 = p.cpu();
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
            peak_rss = peak_rss.max(p.rss_kib());
        }
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let cpu = p.cpu().saturating_sub(cpu0);
    Load {
        rate,
        peak_rss_kib: peak_rss,
        cpu_us_per_msg: cpu.as_secs_f64() * 1e6 / n as f64,
    }
}

/// Memory of a hop, KiB.
struct Footprint {
    /// 0.4 s after one initialize.
    start: u64,
    /// After 2.5 s without traffic following the initialize.
    idle: u64,
    /// The processes it started besides the server (name, KiB), e.g. the
    /// sandbox's helpers, at `start`.
    helpers: Vec<(String, u64)>,
    /// Right after `calls` calls (small and 4 KiB, 16 in flight; the
    /// answers may be refusals), then after 2.5 s without traffic.
    used: Result<(u64, u64), String>,
}

fn idle_rss(route: &Route, server_comm: &str, calls: usize) -> Footprint {
    let mut p = Proc::start(route);
    std::thread::sleep(Duration::from_millis(400));
    let start = p.rss_kib();
    let mut helpers = Vec::new();
    if let Route::Single(_) = route {
        for &m in &p.measured {
            for d in descendants(m) {
                let comm = std::fs::read_to_string(format!("/proc/{d}/comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                if comm != server_comm && !comm.is_empty() {
                    helpers.push((comm, rss_kib(d)));
                }
            }
        }
    }
    std::thread::sleep(Duration::from_millis(2100));
    let idle = p.rss_kib();
    let big = "x".repeat(4096);
    let (mut sent, mut got) = (0, 0);
    while got < calls {
        while sent < calls && sent - got < 16 {
            let msg = if sent % 2 == 0 { "hello" } else { big.as_str() };
            p.send(&call(50_000 + sent as u64, msg));
            sent += 1;
        }
        if p.try_recv().is_none() {
            let used = Err(format!("closed after {got} calls"));
            return Footprint {
                start,
                idle,
                helpers,
                used,
            };
        }
        got += 1;
    }
    let busy = p.rss_kib();
    std::thread::sleep(Duration::from_millis(2500));
    Footprint {
        start,
        idle,
        helpers,
        used: Ok((busy, p.rss_kib())),
    }
}

/// The rule an error answer names (`data.rule`), else its message.
fn refusal_rule(answer: &str) -> String {
    let v: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
    let e = &v["error"];
    e["data"]["rule"]
        .as_str()
        .or_else(|| e["message"].as_str())
        .unwrap_or("error")
        .to_string()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

struct Hop {
    name: &'static str,
    everything: Route,
    demo: Option<Route>,
    /// Calls per latency run for this hop (the peer is ~1 ms a call).
    scale_down: usize,
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
    let peer = std::env::var("VANGUARD_BENCH_PEER")
        .ok()
        .filter(|p| !p.trim().is_empty());
    let ws = std::env::temp_dir().join(format!("vanguard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&ws).expect("ws");
    // Every hop starts in the scratch directory: the peer writes its
    // `audit.log` into its working directory, which was the repository.
    std::env::set_current_dir(&ws).expect("cd to the bench's scratch directory");
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
    let guard_with = |server: &str, sandbox: &str| -> Route {
        let mut v = vec![
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
        ];
        // Extra flags for experiments, e.g. VANGUARD_BENCH_ARGS="--audit-log off".
        if let Ok(extra) = std::env::var("VANGUARD_BENCH_ARGS") {
            v.extend(extra.split_whitespace().map(String::from));
        }
        Route::Single(v)
    };
    let peer_with = |server: &str| -> Option<Route> {
        let mut v: Vec<String> = peer
            .as_ref()?
            .split_whitespace()
            .map(String::from)
            .collect();
        v.push(server.to_string());
        Some(Route::Single(v))
    };
    let demo_cmd = format!("{vanguard} demo-server");
    let demo_argv = vec![vanguard.clone(), "demo-server".to_string()];
    let small = "hello";
    let big = "x".repeat(4096);
    let prose = prose_4k();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "vanguard relay benchmark ({} mode), {} CPUs, load average at start {}\n",
        if quick { "quick" } else { "full" },
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if !std::path::Path::new(&everything).exists() {
        println!("server-everything not installed ({everything}); run scripts/setup-test-env.sh");
        return;
    }
    let server = format!("{node} {everything}");
    let mut hops = vec![
        Hop {
            name: "direct",
            everything: Route::Single(vec![node.clone(), everything.clone()]),
            demo: Some(Route::Single(demo_argv.clone())),
            scale_down: 1,
        },
        Hop {
            name: "plain relay hop (cat, server, cat)",
            everything: Route::CatRelay(vec![node.clone(), everything.clone()]),
            demo: Some(Route::CatRelay(demo_argv.clone())),
            scale_down: 1,
        },
        Hop {
            name: "vanguard",
            everything: guard_with(&server, "off"),
            demo: Some(guard_with(&demo_cmd, "off")),
            scale_down: 1,
        },
        Hop {
            name: "vanguard + kernel sandbox",
            everything: guard_with(&server, "best-effort"),
            demo: None,
            scale_down: 1,
        },
    ];
    if let Some(route) = peer_with(&server) {
        hops.push(Hop {
            name: "peer",
            everything: route,
            demo: None,
            scale_down: 10,
        });
    }

    // Sequential latencies, interleaved so drift on a shared machine hits
    // every hop alike.
    let per_run = if smoke { 20 } else { 500 };
    let mut lat: Vec<[Vec<Duration>; 3]> = hops
        .iter()
        .map(|_| [Vec::new(), Vec::new(), Vec::new()])
        .collect();
    // What a hop refused instead of relaying (only the peer is allowed to).
    let mut refused: Vec<[Option<String>; 3]> = hops.iter().map(|_| [None, None, None]).collect();
    for _ in 0..scale {
        for (m, msg) in [small, big.as_str(), prose.as_str()]
            .into_iter()
            .enumerate()
        {
            for (h, hop) in hops.iter().enumerate() {
                if refused[h][m].is_some() {
                    continue;
                }
                let n = (per_run / hop.scale_down).max(20);
                match try_latencies(&hop.everything, n, msg) {
                    Ok(v) => lat[h][m].extend(v),
                    Err(e) if hop.name == "peer" => refused[h][m] = Some(refusal_rule(&e)),
                    Err(e) => panic!("the benchmark measured an error, not a relayed call: {e}"),
                }
            }
        }
    }
    for l in &mut lat {
        for sizes in l.iter_mut() {
            sizes.sort();
        }
    }
    // 16 in flight.
    let n16 = if smoke { 200 } else { 5000 * scale };
    let mut c16 = Vec::new();
    for hop in &hops {
        c16.push(throughput(&hop.everything, (n16 / hop.scale_down).max(100), 16, small).rate);
    }
    // Idle memory.
    let used_calls = if smoke { 200 } else { 5000 };
    let mut idle = Vec::new();
    for hop in &hops {
        idle.push(idle_rss(
            &hop.everything,
            "node",
            used_calls / hop.scale_down,
        ));
    }

    let d = &lat[0];
    println!(
        "server-everything (node) over stdio, unique echo calls; added = hop minus direct, \
         {} sequential calls per hop and size ({} for the peer), {n16} calls 16 in flight\n",
        per_run * scale,
        (per_run / 10).max(20) * scale
    );
    println!("| | p50 small | added p50 small | added p99 small | added p50 4 KiB | added p50 4 KiB prose | c16 req/s | c16 of direct | c16 of plain relay | RSS of the hop 0.4 s after initialize | idle RSS, 2.5 s quiet | RSS right after {used_calls} calls, then 2.5 s quiet |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (h, hop) in hops.iter().enumerate() {
        let add = |m: usize, p: f64| match &refused[h][m] {
            Some(rule) => format!("refused ({rule})"),
            None => format!(
                "{:+.1} µs",
                us(percentile(&lat[h][m], p)) - us(percentile(&d[m], p))
            ),
        };
        let f = &idle[h];
        let rss = if h == 0 {
            format!("(server {})", mib(f.start))
        } else if f.helpers.is_empty() {
            mib(f.start)
        } else {
            let hs: Vec<String> = f
                .helpers
                .iter()
                .map(|(c, k)| format!("{c} {}", mib(*k)))
                .collect();
            format!("{} + {}", mib(f.start), hs.join(" + "))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.3} | {:.3} | {} | {} | {} |",
            hop.name,
            match &refused[h][0] {
                Some(rule) => format!("refused ({rule})"),
                None => format!("{:.1} µs", us(percentile(&lat[h][0], 0.5))),
            },
            if h == 0 { "—".into() } else { add(0, 0.5) },
            if h == 0 { "—".into() } else { add(0, 0.99) },
            if h == 0 { "—".into() } else { add(1, 0.5) },
            if h == 0 { "—".into() } else { add(2, 0.5) },
            c16[h],
            c16[h] / c16[0],
            c16[h] / c16[1],
            rss,
            if h == 0 {
                format!("(server {})", mib(f.idle))
            } else {
                mib(f.idle)
            },
            match &f.used {
                Ok((busy, quiet)) if h == 0 => {
                    format!("(server {}, then {})", mib(*busy), mib(*quiet))
                }
                Ok((busy, quiet)) => format!("{}, then {}", mib(*busy), mib(*quiet)),
                Err(e) => e.clone(),
            }
        );
    }

    // The relay alone, against the Rust echo server: sequential latency
    // without node's jitter, and pipelined throughput and CPU.
    let per_run = if smoke { 20 } else { 1000 };
    let demo_hops: Vec<&Hop> = hops.iter().filter(|h| h.demo.is_some()).collect();
    let mut dl: Vec<Vec<Duration>> = demo_hops.iter().map(|_| Vec::new()).collect();
    for _ in 0..scale {
        for (i, hop) in demo_hops.iter().enumerate() {
            if let Some(r) = &hop.demo {
                dl[i].extend(latencies(r, per_run, small));
            }
        }
    }
    for l in &mut dl {
        l.sort();
    }
    // First calls of fresh sessions, interleaved like the rest.
    let (starts, pause) = if smoke {
        (2, Duration::from_millis(50))
    } else {
        (9, Duration::from_millis(1200))
    };
    let mut firsts: Vec<Vec<Duration>> = demo_hops.iter().map(|_| Vec::new()).collect();
    for _ in 0..starts {
        for (i, hop) in demo_hops.iter().enumerate() {
            if let Some(r) = &hop.demo {
                firsts[i].push(first_call(r, pause, small));
            }
        }
    }
    for f in &mut firsts {
        f.sort();
    }
    let n = if smoke { 2000 } else { 50_000 * scale };
    let mut piped = Vec::new();
    for hop in &demo_hops {
        if let Some(r) = &hop.demo {
            piped.push(throughput(r, n, 256, small));
        }
    }
    println!(
        "\nRust echo server (vanguard demo-server): {} sequential small calls per hop; {n} pipelined, 256 in flight; first call: median of {starts} fresh sessions, {} ms after the listing\n",
        per_run * scale,
        pause.as_millis()
    );
    println!("| | added p50 | added p99 | first call of a session | pipelined msg/s | time per message, × the plain relay's | hop CPU per message | × the plain relay's CPU | peak RSS under load |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, hop) in demo_hops.iter().enumerate() {
        let add = |p: f64| us(percentile(&dl[i], p)) - us(percentile(&dl[0], p));
        let dash = || "—".to_string();
        let (added50, added99, time, cpu, ratio, rss) = if i == 0 {
            (
                dash(),
                dash(),
                dash(),
                "(server)".to_string(),
                dash(),
                dash(),
            )
        } else {
            (
                format!("{:+.1} µs", add(0.5)),
                format!("{:+.1} µs", add(0.99)),
                format!("{:.2}×", piped[1].rate / piped[i].rate),
                format!("{:.2} µs", piped[i].cpu_us_per_msg),
                format!("{:.2}×", piped[i].cpu_us_per_msg / piped[1].cpu_us_per_msg),
                mib(piped[i].peak_rss_kib),
            )
        };
        let first = percentile(&firsts[i], 0.5);
        println!(
            "| {} | {added50} | {added99} | {:.1} µs | {:.0} | {time} | {cpu} | {ratio} | {rss} |",
            hop.name,
            us(first),
            piped[i].rate,
        );
    }
    let _ = std::fs::remove_dir_all(&ws);
}

/// About 4 KiB of the text tools return: Markdown prose with the
/// typography editors put in (curly quotes, dashes, an ellipsis, accented
/// names), so that the benchmark also pays for the Unicode views a run of
/// `x` never needs. The same text in every run.
fn prose_4k() -> String {
    const PARAGRAPH: &str = "## Release notes — “Zürich” (v2.4)\n\n\
        The gateway now normalises every result before matching… Café owners in \
        Montréal reported that the export wrapped lines at 80 columns; the fix \
        keeps the original text and adds a view without the breaks. See the \
        section “Known issues” below — it lists what changed for naïve clients, \
        with examples in `config.toml` and a table of defaults.\n\n";
    let mut text = String::with_capacity(4200);
    let mut n = 0;
    while text.len() < 4090 {
        n += 1;
        text.push_str(&format!("{n}. "));
        text.push_str(PARAGRAPH);
    }
    let mut end = 4090;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}
