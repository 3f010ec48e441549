//! The Redis L3 store against a real `redis-server`: the same states as the
//! memory store, state shared between gateway instances, and failures that
//! come back as errors within the store's timeouts.
//!
//! Each test starts its own `redis-server` on a free loopback port (found
//! through `VANGUARD_TEST_REDIS_SERVER` or `PATH`; a missing one fails the
//! test with a pointer to `scripts/setup-test-env.sh`).

use std::net::TcpListener;
use std::time::{Duration, Instant};
use vanguard::behavior::redis::{session_key, RedisStore, CONNECT_TIMEOUT, OP_TIMEOUT};
use vanguard::behavior::store::{MemoryStore, StoreParams};
use vanguard::behavior::{
    BehaviorConfig, CallObs, CallState, Capability, Caps, ResultObs, ResultState, Sensitivity,
    TaintAdd,
};

#[path = "fixtures/redis/support.rs"]
mod redis_support;
use redis_support::{free_port, RedisServer};

async fn connect(server: &RedisServer, cfg: &BehaviorConfig) -> RedisStore {
    RedisStore::connect(&server.url(), cfg)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", server.url()))
}

// ------------------------------------------------------------------ scripts

fn cfg() -> BehaviorConfig {
    BehaviorConfig {
        window: Duration::from_secs(10),
        taint_ttl: Duration::from_secs(30),
        risk: vanguard::behavior::RiskConfig {
            half_life: Duration::from_secs(20),
            ..BehaviorConfig::default().risk
        },
        ..Default::default()
    }
}

/// A realistic epoch time in ms, not on a second boundary.
const T0: u64 = 1_760_000_000_437;

fn call(now_ms: u64, tool: &str, caps: &[Capability]) -> CallObs {
    CallObs {
        now_ms,
        tool: tool.into(),
        caps: Caps::of(caps),
        call_hash: vanguard::behavior::fingerprint::hash(tool),
        ..Default::default()
    }
}

fn sensitive_read(now_ms: u64, path: &str, level: Sensitivity) -> CallObs {
    let mut c = call(now_ms, "read_file", &[Capability::Read]);
    c.call_hash = vanguard::behavior::fingerprint::hash(path);
    c.paths = vec![path.into()];
    c.sensitive = Some((level, path.into()));
    c
}

fn result(now_ms: u64, bytes: u64, risk_add: f64, taint: Option<TaintAdd>) -> ResultObs {
    ResultObs {
        now_ms,
        bytes,
        taint,
        risk_add,
    }
}

fn taint(level: Sensitivity, reason: &str, fps: Vec<u64>, sources: &[&str]) -> TaintAdd {
    TaintAdd {
        level,
        reason: reason.into(),
        fingerprints: fps,
        sources: sources.iter().map(|s| s.to_string()).collect(),
    }
}

enum Op {
    Call(CallObs),
    Risk(u64, f64),
    Result(ResultObs),
}

#[derive(Debug, PartialEq)]
enum Out {
    Call(CallState),
    Risk(f64),
    Result(ResultState),
}

fn risk_mut(o: &mut Out) -> &mut f64 {
    match o {
        Out::Call(c) => &mut c.risk,
        Out::Risk(r) => r,
        Out::Result(r) => &mut r.risk,
    }
}

/// A session's life, step by step: (label, session key, operation).
fn scripted() -> Vec<(String, &'static str, Op)> {
    use Capability::*;
    let mut ops: Vec<(String, &'static str, Op)> = Vec::new();
    let mut push = |label: &str, key: &'static str, op: Op| ops.push((label.into(), key, op));
    // Rates across window edges: a call every 450 ms for 14 s, mixed tools.
    for i in 0..32u64 {
        let t = T0 + i * 450;
        let (tool, caps): (&str, &[Capability]) = match i % 4 {
            0 => ("read_file", &[Read]),
            1 => ("list_directory", &[List]),
            2 => ("search_files", &[List]),
            _ => ("fetch_and_save", &[Write, Network]),
        };
        push(&format!("rate {i}"), "s1", Op::Call(call(t, tool, caps)));
        push(
            &format!("other session {i}"),
            "s2",
            Op::Call(call(t + 1, "read_file", &[Read])),
        );
    }
    // A window's edge: three calls in second s, one in s + 9 (all four
    // counted), one in s + 10 (the first three have left the window).
    let s = T0 / 1000 + 15;
    for i in 0..3 {
        push(
            "edge start",
            "s1",
            Op::Call(call(s * 1000 + 250 + i * 100, "stat_file", &[])),
        );
    }
    push(
        "just before edge",
        "s1",
        Op::Call(call((s + 10) * 1000 - 1, "stat_file", &[])),
    );
    push(
        "on the edge",
        "s1",
        Op::Call(call((s + 10) * 1000, "stat_file", &[])),
    );
    // A sensitive read, its result with fingerprints, then calls that do or
    // do not carry them out.
    let t = T0 + 30_000;
    push(
        "read .env",
        "s1",
        Op::Call(sensitive_read(t, "/w/.env", Sensitivity::Project)),
    );
    push(
        "result of .env",
        "s1",
        Op::Result(result(
            t + 5,
            1200,
            0.0,
            Some(taint(
                Sensitivity::Project,
                "/w/.env",
                vec![u64::MAX, 42, 1 << 60],
                &["/w/.env"],
            )),
        )),
    );
    let mut w = call(t + 10, "write_file", &[Write]);
    w.fingerprints = vec![7, u64::MAX];
    w.paths = vec!["/w/out.txt".into()];
    push("write carrying the secret", "s1", Op::Call(w.clone()));
    w.paths = vec!["/w/.env".into()];
    w.now_ms += 1;
    push("write back to .env", "s1", Op::Call(w.clone()));
    w.paths = vec!["/w/.env".into(), "/w/other".into()];
    w.now_ms += 1;
    push("write to .env and another", "s1", Op::Call(w.clone()));
    // A secret found in what a git tool showed of a repository: its
    // `repo_path` is the source; staging a file of that repository (by a
    // relative path or one inside it) carries nothing out, naming a place
    // outside it does.
    push(
        "secret shown from a repository",
        "repo",
        Op::Result(result(
            t + 5,
            900,
            0.0,
            Some(taint(
                Sensitivity::Project,
                "SECRET-CREDENTIAL in a result of git_show",
                vec![99],
                &["/w/repo"],
            )),
        )),
    );
    let mut g = call(t + 10, "git_add", &[Write]);
    g.paths = vec!["/w/repo".into(), "src/settings.py".into()];
    push(
        "stage a relative file of the repository",
        "repo",
        Op::Call(g.clone()),
    );
    g.paths = vec!["/w/repo".into(), "/w/repo/src/settings.py".into()];
    g.now_ms += 1;
    push(
        "stage a file inside the repository",
        "repo",
        Op::Call(g.clone()),
    );
    g.paths = vec!["/w/repo".into(), "/w/repo2/x".into()];
    g.now_ms += 1;
    push(
        "name the repository and a place beside it",
        "repo",
        Op::Call(g.clone()),
    );
    let mut x = call(t + 15, "run_command", &[Exec]);
    x.fingerprints = vec![(1 << 60) + 1];
    x.risk_add = 20.0;
    push("exec without the secret", "s1", Op::Call(x));
    // A system credential raises the level and the reason; a later project
    // read does not lower it.
    push(
        "read shadow",
        "s1",
        Op::Call(sensitive_read(t + 20, "/etc/shadow", Sensitivity::System)),
    );
    push(
        "read token",
        "s1",
        Op::Call(sensitive_read(t + 25, "/w/token.txt", Sensitivity::Project)),
    );
    push(
        "call after both",
        "s1",
        Op::Call(call(t + 30, "fetch", &[Network])),
    );
    // More sources than a taint keeps: the 17th path is not remembered.
    for i in 0..18 {
        let p = format!("/w/secrets/{i}.env");
        push(
            &format!("source {i}"),
            "s1",
            Op::Call(sensitive_read(t + 40 + i, &p, Sensitivity::Project)),
        );
    }
    for i in [0u64, 12, 13, 17] {
        let mut c = call(t + 60 + i, "edit_file", &[Write]);
        c.paths = vec![format!("/w/secrets/{i}.env")];
        push(&format!("same target {i}"), "s1", Op::Call(c));
    }
    // More fingerprints than a taint keeps: the last ones are not matched.
    let many: Vec<u64> = (0..4200u64)
        .map(|i| 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i + 1))
        .collect();
    push(
        "result with 4200 fingerprints",
        "s1",
        Op::Result(result(
            t + 100,
            9_000_000,
            10.0,
            Some(taint(
                Sensitivity::Project,
                "secret in result",
                many.clone(),
                &[],
            )),
        )),
    );
    for i in [0usize, 4000, 4092, 4093, 4199] {
        let mut c = call(t + 110, "http_post", &[Network]);
        c.fingerprints = vec![many[i]];
        push(&format!("fingerprint {i}"), "s1", Op::Call(c));
    }
    // Risk: added, decayed, and decayed away.
    push("risk +50", "s1", Op::Risk(t + 200, 50.0));
    push("risk one half-life later", "s1", Op::Risk(t + 20_200, 0.0));
    push("risk +0.3", "s1", Op::Risk(t + 20_201, 0.1 + 0.2));
    push(
        "risk with the clock behind",
        "s1",
        Op::Risk(t + 20_000, 1.0),
    );
    push(
        "result risk",
        "s1",
        Op::Result(result(t + 21_000, 10, 25.0, None)),
    );
    // Below 0.01 a score reads as 0: 0.5 halved five times stays (1/64),
    // a sixth time goes (1/128).
    push("small risk", "s3", Op::Risk(T0, 0.5));
    push(
        "small risk, 5 half-lives",
        "s3",
        Op::Risk(T0 + 100_000, 0.0),
    );
    push(
        "small risk, 6 half-lives",
        "s3",
        Op::Risk(T0 + 120_000, 0.0),
    );
    // The taint expires exactly at its end (30 s after the last taint).
    let last_taint = t + 100;
    let mut late = call(last_taint + 29_999, "write_file", &[Write]);
    push("one ms before expiry", "s1", Op::Call(late.clone()));
    late.now_ms = last_taint + 30_000;
    push("at expiry", "s1", Op::Call(late.clone()));
    // A new taint after expiry starts afresh: no old sources or fingerprints.
    let t2 = last_taint + 31_000;
    push(
        "new taint",
        "s1",
        Op::Result(result(
            t2,
            5,
            0.0,
            Some(taint(
                Sensitivity::Project,
                "/w/b.env",
                vec![5],
                &["/w/b.env"],
            )),
        )),
    );
    let mut c = call(t2 + 1, "write_file", &[Write]);
    c.paths = vec!["/w/.env".into()];
    c.fingerprints = vec![42, u64::MAX];
    push("old source and fingerprints gone", "s1", Op::Call(c));
    // A multi-file read: each file it named is a source.
    push(
        "multi-file read",
        "s5",
        Op::Result(result(
            t2 + 2,
            5,
            0.0,
            Some(taint(
                Sensitivity::Project,
                "SECRET-CREDENTIAL in a result of read_multiple_files",
                vec![77],
                &["/w/a.ts", "/w/b.ts"],
            )),
        )),
    );
    for (label, path) in [
        ("write back to the first file", "/w/a.ts"),
        ("write back to the second file", "/w/b.ts"),
        ("write to a third file", "/w/c.ts"),
    ] {
        let mut c = call(t2 + 3, "edit_file", &[Write]);
        c.paths = vec![path.into()];
        c.fingerprints = vec![77];
        push(label, "s5", Op::Call(c));
    }
    // Long idle: the risk decays below 0.01 and reads as 0.
    push(
        "risk after 100 half-lives",
        "s1",
        Op::Risk(t2 + 2_000_000, 0.0),
    );
    push(
        "bytes keep adding up",
        "s1",
        Op::Result(result(t2 + 2_000_001, u64::from(u32::MAX), 0.0, None)),
    );
    ops
}

/// A pseudo-random session mix (fixed seed): several keys, tools, paths and
/// fingerprints, times moving forward by 0–1.5 s.
fn shuffled(n: usize) -> Vec<(String, &'static str, Op)> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let keys = ["r1", "r2", "r3"];
    let tools = [
        "read_file",
        "list_directory",
        "write_file",
        "run_command",
        "fetch",
    ];
    let paths = ["/w/a.env", "/w/b.txt", "/home/u/.ssh/id_rsa", "/w/c.rs"];
    let mut t = T0;
    let mut ops = Vec::new();
    for i in 0..n {
        t += next(1500);
        let key = keys[next(3) as usize];
        let op = match next(10) {
            0..=5 => {
                let tool = tools[next(5) as usize];
                let caps = Caps::of(&[
                    Capability::ALL[next(5) as usize],
                    Capability::ALL[next(5) as usize],
                ]);
                let mut c = call(t, tool, &[]);
                c.caps = caps;
                c.call_hash = next(4);
                c.paths = (0..next(3))
                    .map(|_| paths[next(4) as usize].to_string())
                    .collect();
                c.fingerprints = (0..next(4)).map(|_| next(40)).collect();
                c.risk_add = [0.0, 10.0, 20.0][next(3) as usize];
                if next(8) == 0 {
                    let p = paths[next(4) as usize];
                    let level = if next(2) == 0 {
                        Sensitivity::Project
                    } else {
                        Sensitivity::System
                    };
                    c.sensitive = Some((level, p.into()));
                }
                Op::Call(c)
            }
            6 | 7 => {
                let add = (next(4) == 0).then(|| {
                    let fps = (0..next(6)).map(|_| next(40)).collect();
                    let src = paths[next(4) as usize];
                    taint(
                        Sensitivity::Project,
                        src,
                        fps,
                        (next(2) == 0).then_some(src).as_slice(),
                    )
                });
                Op::Result(result(t, next(100_000), [0.0, 10.0][next(2) as usize], add))
            }
            _ => Op::Risk(t, next(50) as f64 / 3.0),
        };
        ops.push((format!("shuffled {i}"), key, op));
    }
    ops
}

async fn apply_redis(r: &RedisStore, key: &str, op: &Op) -> Out {
    match op {
        Op::Call(c) => Out::Call(r.observe_call(key, c).await.expect("redis observe_call")),
        Op::Risk(t, d) => Out::Risk(r.add_risk(key, *t, *d).await.expect("redis add_risk")),
        Op::Result(o) => Out::Result(
            r.observe_result(key, o)
                .await
                .expect("redis observe_result"),
        ),
    }
}

fn apply_memory(m: &MemoryStore, key: &str, op: &Op) -> Out {
    match op {
        Op::Call(c) => Out::Call(m.observe_call(key, c)),
        Op::Risk(t, d) => Out::Risk(m.add_risk(key, *t, *d)),
        Op::Result(o) => Out::Result(m.observe_result(key, o)),
    }
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn same_states_as_memory_store() {
    let server = RedisServer::start();
    let cfg = cfg();
    let redis = connect(&server, &cfg).await;
    let memory = MemoryStore::new(&cfg);
    let mut ops = scripted();
    ops.extend(shuffled(2000));
    let mut tainted = 0;
    let mut matched = 0;
    for (label, key, op) in &ops {
        let mut want = apply_memory(&memory, key, op);
        let mut got = apply_redis(&redis, key, op).await;
        // The same arithmetic in Lua and in Rust: the risk may differ in
        // its last bits (an optimised build evaluates the decay's power
        // differently), nothing else may differ at all.
        let (g, w) = (risk_mut(&mut got), risk_mut(&mut want));
        assert!(
            (*g - *w).abs() <= 1e-9 * w.abs().max(1.0),
            "{label} ({key}): risk {g} against {w}"
        );
        *g = *w;
        assert_eq!(got, want, "{label} ({key})");
        if let Out::Call(CallState { taint: Some(t), .. }) = &want {
            tainted += 1;
            matched += usize::from(t.matched);
        }
    }
    // The sequence must exercise what it claims to.
    assert!(
        tainted > 50 && matched > 10,
        "tainted {tainted}, matched {matched}"
    );
}

#[tokio::test]
async fn scripted_states_are_the_ones_expected() {
    // Spot checks of the scripted sequence, so the comparison above cannot
    // pass with both stores wrong in the same way unnoticed.
    let server = RedisServer::start();
    let redis = connect(&server, &cfg()).await;
    let mut seen = std::collections::HashMap::new();
    for (label, key, op) in scripted() {
        seen.insert(label, apply_redis(&redis, key, &op).await);
    }
    let call = |l: &str| match &seen[l] {
        Out::Call(c) => c.clone(),
        other => panic!("{l}: {other:?}"),
    };
    let risk = |l: &str| match &seen[l] {
        Out::Risk(r) => *r,
        Out::Result(r) => r.risk,
        other => panic!("{l}: {other:?}"),
    };
    assert!(
        call("read .env").taint.is_none(),
        "taint is as it stood before"
    );
    let t = call("write carrying the secret").taint.expect("tainted");
    assert!(t.matched && !t.same_target && t.level == Sensitivity::Project);
    assert!(
        call("write back to .env")
            .taint
            .expect("tainted")
            .same_target
    );
    assert!(
        !call("write to .env and another")
            .taint
            .expect("tainted")
            .same_target
    );
    assert!(
        !call("exec without the secret")
            .taint
            .expect("tainted")
            .matched
    );
    for l in [
        "stage a relative file of the repository",
        "stage a file inside the repository",
    ] {
        let t = call(l).taint.expect("tainted");
        assert!(!t.matched && !t.same_target, "{l}: {t:?}");
    }
    let t = call("name the repository and a place beside it")
        .taint
        .expect("tainted");
    assert!(t.matched && !t.same_target);
    for l in [
        "write back to the first file",
        "write back to the second file",
    ] {
        let t = call(l).taint.expect("tainted");
        assert!(t.matched && t.same_target, "{l}: {t:?}");
    }
    let t = call("write to a third file").taint.expect("tainted");
    assert!(t.matched && !t.same_target, "{t:?}");
    let t = call("call after both").taint.expect("tainted");
    assert_eq!(
        (t.level, t.reason.as_str()),
        (Sensitivity::System, "/etc/shadow")
    );
    // Three sources before the loop, so the cap of 16 keeps 0..=12.
    assert!(call("same target 12").taint.expect("tainted").same_target);
    assert!(
        !call("same target 13").taint.expect("tainted").same_target,
        "17th source"
    );
    // Three fingerprints before, so the cap of 4096 keeps 0..=4092.
    assert!(call("fingerprint 4092").taint.expect("tainted").matched);
    assert!(
        !call("fingerprint 4093").taint.expect("tainted").matched,
        "over the cap"
    );
    assert!(call("one ms before expiry").taint.is_some());
    assert!(call("at expiry").taint.is_none());
    let c = call("old source and fingerprints gone");
    let t = c.taint.expect("tainted");
    assert!(!t.matched && !t.same_target);
    assert!((risk("risk one half-life later") - risk("risk +50") / 2.0).abs() < 1e-9);
    assert_eq!(risk("risk after 100 half-lives"), 0.0);
    assert_eq!(risk("small risk, 5 half-lives"), 0.5 / 32.0);
    assert_eq!(risk("small risk, 6 half-lives"), 0.0);
    assert_eq!(call("just before edge").tool_rate, 4);
    assert_eq!(call("on the edge").tool_rate, 2);
    // Listing calls at 450, 900 and 2250 ms.
    assert_eq!(call("rate 5").enumeration, 3);
}

#[tokio::test]
async fn two_gateways_share_one_session() {
    let server = RedisServer::start();
    let cfg = cfg();
    let a = connect(&server, &cfg).await;
    let b = connect(&server, &cfg).await;
    for i in 0..10u64 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let st = gw
            .observe_call("shared", &call(T0 + i, "read_file", &[Capability::Read]))
            .await
            .expect("observe_call");
        assert_eq!(
            (st.tool_rate, st.cap_rates[0], st.repeat),
            (i + 1, i + 1, i + 1)
        );
    }
    a.observe_call(
        "shared",
        &sensitive_read(T0 + 100, "/w/.env", Sensitivity::Project),
    )
    .await
    .expect("sensitive read via A");
    let r = a
        .observe_result(
            "shared",
            &result(
                T0 + 110,
                300,
                10.0,
                Some(taint(
                    Sensitivity::Project,
                    "/w/.env",
                    vec![99],
                    &["/w/.env"],
                )),
            ),
        )
        .await
        .expect("result via A");
    let mut w = call(T0 + 120, "http_post", &[Capability::Network]);
    w.fingerprints = vec![99];
    let st = b.observe_call("shared", &w).await.expect("call via B");
    let t = st.taint.expect("B sees the taint A recorded");
    assert!(t.matched && t.reason == "/w/.env");
    assert!(
        st.risk >= r.risk * 0.99,
        "B sees A's risk: {} vs {}",
        st.risk,
        r.risk
    );
    let r = b
        .observe_result("shared", &result(T0 + 130, 700, 0.0, None))
        .await
        .expect("result via B");
    assert_eq!(r.response_bytes, 1000);
    let other = b
        .observe_call("elsewhere", &w)
        .await
        .expect("other session via B");
    assert!(other.taint.is_none() && other.tool_rate == 1);
}

#[tokio::test]
async fn unreachable_redis_is_a_quick_clear_error() {
    let port = free_port();
    let start = Instant::now();
    let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), &cfg())
        .await
        .expect_err("nothing listens there");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let msg = err.to_string();
    assert_eq!(err.store, "redis");
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) && msg.to_lowercase().contains("refused"),
        "{msg}"
    );
}

#[tokio::test]
async fn silent_server_is_a_connect_timeout() {
    // A socket that completes the TCP handshake (the kernel's backlog) but
    // never answers, like a wedged Redis.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let start = Instant::now();
    let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), &cfg())
        .await
        .expect_err("no Redis answers");
    let took = start.elapsed();
    assert!(
        took >= CONNECT_TIMEOUT - Duration::from_millis(100) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(err.to_string().contains("no answer"), "{err}");
    drop(listener);
}

#[tokio::test]
async fn killed_redis_fails_the_next_operation_quickly() {
    let mut server = RedisServer::start();
    let store = connect(&server, &cfg()).await;
    store
        .add_risk("s", T0, 1.0)
        .await
        .expect("while Redis runs");
    server.kill();
    for i in 0..2 {
        let start = Instant::now();
        let err = store
            .observe_call("s", &call(T0 + 1 + i, "read_file", &[Capability::Read]))
            .await
            .expect_err("Redis is gone");
        let took = start.elapsed();
        assert!(
            took <= OP_TIMEOUT + Duration::from_millis(500),
            "attempt {i}: {took:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("redis") && msg.contains("observe_call"),
            "{msg}"
        );
    }
    // A Redis back on the same address is used again without reconnecting
    // by hand (its state is new: Redis ran without persistence).
    let _again = RedisServer::start_on(server.port);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store
            .observe_call("s", &call(T0 + 10, "read_file", &[Capability::Read]))
            .await
        {
            Ok(st) => {
                assert_eq!(st.tool_rate, 1);
                break;
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("no reconnect within 5 s: {e}"),
        }
    }
}

#[tokio::test]
async fn stalled_redis_times_out() {
    let server = RedisServer::start();
    let store = connect(&server, &cfg()).await;
    store
        .add_risk("s", T0, 1.0)
        .await
        .expect("while Redis runs");
    server.signal(libc::SIGSTOP);
    let start = Instant::now();
    let err = store
        .add_risk("s", T0 + 1, 1.0)
        .await
        .expect_err("Redis is stopped");
    let took = start.elapsed();
    server.signal(libc::SIGCONT);
    assert!(took >= OP_TIMEOUT - Duration::from_millis(50), "{took:?}");
    assert!(took < OP_TIMEOUT + Duration::from_secs(1), "{took:?}");
    assert!(err.to_string().contains("no reply"), "{err}");
}

#[tokio::test]
async fn script_errors_are_reported() {
    let server = RedisServer::start();
    let store = connect(&server, &cfg()).await;
    let mut c = server.client();
    // A key of the wrong type: every command on it fails inside the script.
    redis::cmd("SET")
        .arg(session_key("s", "state"))
        .arg("not a hash")
        .exec(&mut c)
        .expect("SET");
    let err = store.add_risk("s", T0, 1.0).await.expect_err("WRONGTYPE");
    let msg = err.to_string();
    assert!(msg.contains("add_risk: script error"), "{msg}");
}

#[tokio::test]
async fn every_key_expires_when_idle() {
    let server = RedisServer::start();
    let cfg = cfg();
    let store = connect(&server, &cfg).await;
    let mut c = call(T0, "write_file", &[Capability::Write, Capability::List]);
    c.sensitive = Some((Sensitivity::Project, "/w/.env".into()));
    store.observe_call("s", &c).await.expect("observe_call");
    store
        .observe_result(
            "s",
            &result(
                T0,
                10,
                1.0,
                Some(taint(Sensitivity::Project, "x", vec![1], &[])),
            ),
        )
        .await
        .expect("observe_result");
    let mut conn = server.client();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("vg:l3:*")
        .query(&mut conn)
        .expect("KEYS");
    let idle = StoreParams::from(&cfg).idle_expiry().as_millis() as i64;
    // state, fp, src, tool, repeat, two capabilities.
    assert_eq!(keys.len(), 7, "{keys:?}");
    for k in keys {
        assert!(k.starts_with("vg:l3:{s}:"), "{k}");
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut conn).expect("PTTL");
        assert!(
            ttl > idle - 60_000 && ttl <= idle,
            "{k}: PTTL {ttl}, idle expiry {idle}"
        );
    }
}

#[tokio::test]
async fn an_egress_cut_is_seen_by_every_instance_and_matches_memory() {
    let server = RedisServer::start();
    let cfg = cfg();
    let a = connect(&server, &cfg).await;
    let b = connect(&server, &cfg).await;
    let m = MemoryStore::new(&cfg);
    let c = a
        .observe_call("cut", &call(T0, "read_file", &[Capability::Read]))
        .await
        .expect("observe_call");
    assert_eq!(c.egress_cut, None);
    a.cut_egress("cut", T0 + 1, "exfiltration sequence (/w/.env)")
        .await
        .expect("cut via A");
    m.cut_egress("cut", T0 + 1, "exfiltration sequence (/w/.env)");
    // A second cut keeps the first reason, in both stores.
    b.cut_egress("cut", T0 + 2, "another reason")
        .await
        .expect("cut via B");
    m.cut_egress("cut", T0 + 2, "another reason");
    let via_b = b
        .observe_call("cut", &call(T0 + 3, "fetch", &[Capability::Network]))
        .await
        .expect("observe_call via B");
    assert_eq!(
        via_b.egress_cut.as_deref(),
        Some("exfiltration sequence (/w/.env)")
    );
    m.observe_call("cut", &call(T0, "read_file", &[Capability::Read]));
    let in_memory = m.observe_call("cut", &call(T0 + 3, "fetch", &[Capability::Network]));
    assert_eq!(via_b.egress_cut, in_memory.egress_cut);
    let r = b
        .observe_result("cut", &result(T0 + 4, 10, 0.0, None))
        .await
        .expect("observe_result via B");
    assert_eq!(r.egress_cut, via_b.egress_cut);
    // Another key is not cut.
    let other = b
        .observe_call("other", &call(T0 + 5, "fetch", &[Capability::Network]))
        .await
        .expect("observe_call");
    assert_eq!(other.egress_cut, None);
}
