//! What L3 costs per `tools/call`, measured against baselines in the same run.
//!
//! 1. `memory`: the whole in-process cost of one call: build its `CallObs`
//!    (argument fingerprints, call hash, capabilities from the arguments,
//!    sensitive paths), `MemoryStore::observe_call` and `assess_call`, over a
//!    mix of ordinary calls in a session tainted by a `.env` read. Printed
//!    as p50/p99 per call (target p50 <= 5 µs), split into building the
//!    observation and the store plus judgement.
//! 2. `redis`: `RedisStore::observe_call` round trips to a `redis-server` on
//!    loopback started for the run (target p99 <= 1 ms), next to a plain
//!    `PING` on an equal connection as the baseline for the network and
//!    Redis's own command handling. Skipped, with a line saying so, when
//!    `redis-server` is not installed (scripts/setup-test-env.sh installs it).
//!
//! The printed figures come from timing loops run before criterion's own
//! measurement; a summary line repeats them at the end. Under
//! `cargo test --benches` (no `--bench` argument) everything runs a few
//! hundred times as a smoke test. Timings never gate anything.

use criterion::{black_box, Criterion};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use vanguard::behavior::redis::RedisStore;
use vanguard::behavior::store::MemoryStore;
use vanguard::behavior::{
    assess_call, capability, fingerprint, path_sensitivity, BehaviorConfig, CallObs, Caps,
    ResultObs, Sensitivity, TaintAdd,
};

/// A tool the session knows, with the capabilities its name gave at
/// `tools/list` time (the gateway infers those once, not per call).
struct ToolCall {
    tool: String,
    tool_caps: Caps,
    args: Value,
}

fn tool_call(tool: &str, args: Value) -> ToolCall {
    ToolCall {
        tool: tool.into(),
        tool_caps: capability::infer_tool(tool, None, None),
        args,
    }
}

/// What an ordinary coding session sends.
fn session_calls() -> Vec<ToolCall> {
    vec![
        tool_call("read_file", json!({"path": "/work/app/src/main.rs"})),
        tool_call("list_directory", json!({"path": "/work/app/src"})),
        tool_call(
            "search_files",
            json!({"path": "/work/app", "pattern": "*.rs", "excludePatterns": ["target"]}),
        ),
        tool_call(
            "write_file",
            json!({"path": "/work/app/notes/todo.md", "content": "- fix the login form\n- add tests for the parser\n- bump the MSRV to 1.85 once CI images have it\n"}),
        ),
        tool_call(
            "edit_file",
            json!({"path": "/work/app/src/config.rs", "edits": [{"oldText": "let port = 8080;", "newText": "let port = env_port().unwrap_or(8080);"}]}),
        ),
        tool_call(
            "run_command",
            json!({"command": "cargo test -- --nocapture"}),
        ),
        tool_call(
            "run_command",
            json!({"command": "grep -rn TODO src/ | head -20"}),
        ),
        tool_call(
            "fetch",
            json!({"url": "https://docs.rs/regex/latest/regex/struct.RegexSet.html", "max_length": 5000}),
        ),
        tool_call("read_file", json!({"path": "/work/app/.env"})),
        tool_call(
            "git_diff",
            json!({"repo_path": "/work/app", "target": "main"}),
        ),
    ]
}

fn each_string<'a>(v: &'a Value, f: &mut impl FnMut(Option<&str>, &'a str)) {
    fn walk<'a>(key: Option<&str>, v: &'a Value, f: &mut impl FnMut(Option<&str>, &'a str)) {
        match v {
            Value::String(s) => f(key, s),
            Value::Array(a) => a.iter().for_each(|x| walk(key, x, f)),
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(Some(k), x, f)),
            _ => {}
        }
    }
    walk(None, v, f)
}

/// The observation the gateway makes of one call.
fn observe(now_ms: u64, c: &ToolCall) -> CallObs {
    let mut fingerprints = Vec::new();
    let mut paths = Vec::new();
    let mut sensitive = None;
    each_string(&c.args, &mut |key, s| {
        fingerprint::of_argument(s, &mut fingerprints);
        if key.is_some_and(|k| k.contains("path") || k == "file") {
            paths.push(s.to_string());
            if let Some(level) = path_sensitivity(s) {
                sensitive = Some((level, s.to_string()));
            }
        }
    });
    CallObs {
        now_ms,
        tool: c.tool.as_str().into(),
        caps: c.tool_caps.union(capability::infer_args(Some(&c.args))),
        call_hash: fingerprint::call_hash(&c.tool, Some(&c.args)),
        fingerprints,
        paths,
        risk_add: 0.0,
        sensitive,
    }
}

/// The result of reading `.env`: the session is tainted with its lines.
fn env_result(now_ms: u64) -> ResultObs {
    let text: String = (0..64)
        .map(|i| {
            format!(
                "SERVICE_{i}_TOKEN=tok_{:016x}\n",
                fingerprint::hash(&i.to_string())
            )
        })
        .collect();
    let mut fps = fingerprint::Fingerprints::default();
    fingerprint::of_text(&text, &mut fps, fingerprint::MAX_PER_TAINT);
    ResultObs {
        now_ms,
        bytes: text.len() as u64,
        taint: Some(TaintAdd {
            level: Sensitivity::Project,
            reason: "/work/app/.env".into(),
            fingerprints: fps.into_iter().collect(),
            sources: vec!["/work/app/.env".into()],
        }),
        risk_add: 0.0,
    }
}

/// Sorted per-call durations → (p50, p99) in µs.
fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

struct MemoryFigures {
    total: (f64, f64),
    build: (f64, f64),
    judge: (f64, f64),
}

/// `n` calls of the session mix, 10 ms apart, each timed whole and in its
/// two halves.
fn time_memory(cfg: &BehaviorConfig, calls: &[ToolCall], n: usize) -> MemoryFigures {
    let store = MemoryStore::new(cfg);
    let t0 = vanguard::behavior::now_ms();
    store.observe_result("bench", &env_result(t0));
    let (mut total, mut build, mut judge) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let c = &calls[i % calls.len()];
        let start = Instant::now();
        let obs = observe(t0 + 10 * i as u64, c);
        let mid = Instant::now();
        let st = store.observe_call("bench", &obs);
        black_box(assess_call(cfg, &obs, &st));
        let end = Instant::now();
        total.push(end - start);
        build.push(mid - start);
        judge.push(end - mid);
    }
    MemoryFigures {
        total: percentiles(total),
        build: percentiles(build),
        judge: percentiles(judge),
    }
}

// ------------------------------------------------------------------ redis

#[path = "../tests/fixtures/redis/support.rs"]
mod redis_support;
use redis_support::{find_redis_server, RedisServer};

struct RedisFigures {
    call: (f64, f64),
    ping: (f64, f64),
}

/// `n` observe_call round trips and `n` PINGs, interleaved so drift on a
/// shared machine hits both alike.
async fn time_redis(
    store: &RedisStore,
    ping: &mut redis::aio::MultiplexedConnection,
    obs: &[CallObs],
    n: usize,
) -> RedisFigures {
    let t0 = vanguard::behavior::now_ms();
    store
        .observe_result("bench", &env_result(t0))
        .await
        .expect("taint the session");
    let (mut calls, mut pings) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let mut o = obs[i % obs.len()].clone();
        o.now_ms = t0 + 10 * i as u64;
        let start = Instant::now();
        black_box(store.observe_call("bench", &o).await.expect("observe_call"));
        calls.push(start.elapsed());
        let start = Instant::now();
        let pong: String = redis::cmd("PING").query_async(ping).await.expect("PING");
        pings.push(start.elapsed());
        black_box(pong);
    }
    RedisFigures {
        call: percentiles(calls),
        ping: percentiles(pings),
    }
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: a smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    let cfg = BehaviorConfig::default();
    let calls = session_calls();
    let mut summary = Vec::new();

    let n = if smoke { 500 } else { 50_000 };
    let m = time_memory(&cfg, &calls, n);
    println!(
        "behavior: memory, whole L3 per call ({n} calls): p50 {:.2} µs, p99 {:.2} µs (target p50 <= 5 µs)",
        m.total.0, m.total.1
    );
    println!(
        "behavior:   building the observation p50 {:.2} µs ({:.0}%), store + judgement p50 {:.2} µs",
        m.build.0,
        100.0 * m.build.0 / m.total.0.max(1e-9),
        m.judge.0
    );
    summary.push(format!(
        "memory L3 per call p50 {:.2} µs p99 {:.2} µs",
        m.total.0, m.total.1
    ));
    {
        let store = MemoryStore::new(&cfg);
        let t0 = vanguard::behavior::now_ms();
        store.observe_result("bench", &env_result(t0));
        let mut i = 0u64;
        c.bench_function("behavior/memory_call", |b| {
            b.iter(|| {
                i += 1;
                let obs = observe(t0 + i, &calls[i as usize % calls.len()]);
                let st = store.observe_call("bench", &obs);
                black_box(assess_call(&cfg, &obs, &st))
            })
        });
    }

    match find_redis_server() {
        None => {
            println!(
                "behavior: redis part skipped: redis-server not found \
                 (set VANGUARD_TEST_REDIS_SERVER or run scripts/setup-test-env.sh)"
            );
            summary.push("redis skipped (no redis-server)".into());
        }
        Some(_) => {
            let server = RedisServer::start();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let (store, mut ping) = rt.block_on(async {
                let store = RedisStore::connect(&server.url(), &cfg)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let ping = redis::Client::open(server.url())
                    .expect("redis URL")
                    .get_multiplexed_async_connection()
                    .await
                    .expect("PING connection");
                (store, ping)
            });
            let obs: Vec<CallObs> = calls.iter().map(|c| observe(0, c)).collect();
            let n = if smoke { 200 } else { 5_000 };
            let r = rt.block_on(time_redis(&store, &mut ping, &obs, n));
            println!(
                "behavior: redis on loopback, observe_call round trip ({n} calls): p50 {:.1} µs, p99 {:.1} µs (target p99 <= 1000 µs)",
                r.call.0, r.call.1
            );
            println!(
                "behavior:   baseline PING p50 {:.1} µs, p99 {:.1} µs; observe_call/PING at p50 = {:.2}",
                r.ping.0,
                r.ping.1,
                r.call.0 / r.ping.0.max(1e-9)
            );
            summary.push(format!(
                "redis observe_call p50 {:.1} µs p99 {:.1} µs (PING p50 {:.1} µs p99 {:.1} µs)",
                r.call.0, r.call.1, r.ping.0, r.ping.1
            ));
            let t0 = vanguard::behavior::now_ms();
            let mut i = 0u64;
            c.bench_function("behavior/redis_observe_call", |b| {
                b.iter(|| {
                    i += 1;
                    let mut o = obs[i as usize % obs.len()].clone();
                    o.now_ms = t0 + i;
                    rt.block_on(store.observe_call("criterion", &o))
                        .expect("observe_call")
                })
            });
        }
    }

    c.final_summary();
    println!("behavior: summary: {}", summary.join("; "));
}
