//! Soak and fault injection through the real `vanguard` binary.
//!
//! (The soaks and the killed server are in `soak_faults.rs`.)
//!
//! - the upstream stalling, dying mid-line, or writing garbage;
//! - garbage from the agent;
//! - HTTP clients that never read, stall mid-body, or leave mid-response;
//! - Redis killed and restarted under an L3 state that fails closed (and,
//!   for contrast, open).
//!
//! The server is `tests/fixtures/chaos_server.py` (fast echo, plus tools
//! that misbehave on request, and a `stats` tool that says what it
//! received). Nothing here asserts a duration except as a liveness bound
//! (an answer that never comes must fail the test, not hang it); figures
//! are printed: `cargo test --test soak_and_faults -- --nocapture`.

mod common;
#[path = "fixtures/http/support.rs"]
mod http_support;
#[path = "fixtures/redis/support.rs"]
mod redis_support;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const KIB_PER_MIB: u64 = 1024;
/// vanguard's error for a server reply it could not read.
const UPSTREAM_UNREADABLE: i64 = -31004;
/// The rule of an L3 store failure.
const STATE_RULE: &str = "BEH-STATE-UNAVAILABLE";

// ------------------------------------------------------------------ helpers

/// A unique word for a test's processes: the chaos server gets it as an
/// argument, so `/proc/*/cmdline` finds every process the test started
/// (the gateway's own command line carries it too, inside `--server`).
struct Marker(tempfile::TempDir);

impl Marker {
    fn new() -> Marker {
        Marker(
            tempfile::Builder::new()
                .prefix("vanguard-chaos-")
                .tempdir()
                .expect("tempdir"),
        )
    }
    fn word(&self) -> String {
        self.0.path().to_string_lossy().into_owned()
    }
    fn dir(&self) -> &Path {
        self.0.path()
    }
    /// Live processes carrying the marker, except `gateway`.
    fn others(&self, gateway: i32) -> Vec<i32> {
        pids_with_arg(&self.word())
            .into_iter()
            .filter(|&p| p != gateway && p != std::process::id() as i32)
            .collect()
    }
    /// The one upstream server process of a single-session gateway (the
    /// python, not the gateway's own forks that set up its namespaces).
    fn server_pid(&self, gateway: i32) -> i32 {
        let mut found = Vec::new();
        wait_until(TIMEOUT, || {
            found = self
                .others(gateway)
                .into_iter()
                .filter(|&p| !argv0(p).ends_with("vanguard"))
                .collect();
            found.len() == 1
        });
        assert_eq!(
            found.len(),
            1,
            "expected one server process, found {found:?}"
        );
        found[0]
    }
    /// Fails the test if a process carrying the marker outlives `within`.
    fn assert_none_left(&self, gateway: i32, within: Duration) {
        let gone = wait_until(within, || self.others(gateway).is_empty());
        let left: Vec<String> = self
            .others(gateway)
            .iter()
            .map(|p| format!("{p}: {}", cmdline(*p)))
            .collect();
        assert!(gone, "processes left behind: {left:#?}");
    }
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default()
}

/// The chaos server with `opts`, marked.
fn chaos_cmd(marker: &Marker, opts: &[&str]) -> String {
    let word = marker.word();
    let mut args = vec![word.as_str()];
    args.extend_from_slice(opts);
    python_fixture_cmd("chaos_server.py", &args)
}

/// `balanced` with L3's per-minute rate limits off (a soak is not a rate
/// attack; the `repeat` check stays) and `extra` appended to its
/// `[behavior]` table.
fn profile(dir: &Path, name: &str, extra: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "extends = \"balanced\"\n[behavior]\n\
             per_tool = {{ warn = 0, block = 0 }}\n\
             read = {{ warn = 0, block = 0 }}\nwrite = {{ warn = 0, block = 0 }}\n\
             exec = {{ warn = 0, block = 0 }}\nnetwork = {{ warn = 0, block = 0 }}\n\
             enumeration = {{ warn = 0, block = 0 }}\n{extra}"
        ),
    )
    .expect("write profile");
    path.to_string_lossy().into_owned()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn text_of(resp: &Value) -> Option<&str> {
    resp.pointer("/result/content/0/text")
        .and_then(Value::as_str)
}

fn message_of(resp: &Value) -> &str {
    resp.pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": args}})
}

/// What the chaos server says it received (its `stats` tool).
fn stats(peer: &mut Peer) -> Value {
    let r = peer.call_tool("stats", json!({}));
    serde_json::from_str(text_of(&r).unwrap_or_else(|| panic!("stats: {r}")))
        .unwrap_or_else(|e| panic!("stats: {e}: {r}"))
}

/// The next line on the agent's side, as JSON; a timeout fails the test.
fn next_message(peer: &mut Peer, what: &str) -> Value {
    let line = peer.recv_raw(TIMEOUT).unwrap_or_else(|| {
        panic!(
            "no answer to {what} within {TIMEOUT:?}; stderr:\n{}",
            peer.stderr_text()
        )
    });
    serde_json::from_slice(&line).unwrap_or_else(|e| {
        panic!(
            "answer to {what} is not JSON ({e}): {}",
            String::from_utf8_lossy(&line[..line.len().min(300)])
        )
    })
}

/// A started stdio gateway in front of the chaos server.
fn stdio_gateway(marker: &Marker, opts: &[&str], extra: &[&str]) -> Peer {
    let mut peer = Peer::gateway(&chaos_cmd(marker, opts), extra);
    peer.initialize("2025-06-18");
    peer.use_ids_from(100);
    peer
}

/// The gateway's live session count, from `/ready`.
fn ready_sessions(http: &http_support::Http, gw: &http_support::Gateway) -> i64 {
    http.send("GET", &gw.url("/ready"), &[], None).json()["sessions"]
        .as_i64()
        .unwrap_or(-1)
}

// ---------------------------------------------- 4. garbage from the agent

/// (what, the line, the expected code, the expected id, words the error
/// message must hold).
type GarbageCase = (&'static str, Vec<u8>, i64, Value, &'static [&'static str]);

#[test]
fn agent_garbage_gets_clear_jsonrpc_errors_and_the_session_goes_on() {
    let marker = Marker::new();
    let mut peer = stdio_gateway(&marker, &[], &[]);
    let ok = peer.call_tool("echo", json!({"text": "before"}));
    assert_eq!(text_of(&ok), Some("before"), "{ok}");

    let depth = 100_000;
    let nested_args = format!(
        r#"{{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":{}"x"{}}}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let mut huge = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 16 * 1024 * 1024));
    huge.extend_from_slice(b"\"}}}");
    let mut non_utf8 = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"#.to_vec();
    non_utf8.extend_from_slice(b"\"\xff\xfe\xc3\x28\"}}}");
    let cases: Vec<GarbageCase> = vec![
        (
            "invalid JSON",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"#.to_vec(),
            PARSE_ERROR,
            Value::Null,
            &["parse error"],
        ),
        (
            "invalid UTF-8",
            non_utf8,
            PARSE_ERROR,
            Value::Null,
            &["parse error", "utf-8"],
        ),
        (
            "a 16 MiB line",
            huge,
            INVALID_REQUEST,
            json!(3),
            &["maximum line length"],
        ),
        (
            "100,000 nested arrays in the arguments",
            nested_args.into_bytes(),
            PARSE_ERROR,
            json!(4),
            &["recursion limit"],
        ),
        (
            "100,000 nested arrays as the message",
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
            INVALID_REQUEST,
            Value::Null,
            &["invalid request"],
        ),
        (
            "100,000 nested objects as the message",
            format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)).into_bytes(),
            INVALID_REQUEST,
            Value::Null,
            &["invalid request"],
        ),
        (
            "a JSON number",
            b"42".to_vec(),
            INVALID_REQUEST,
            Value::Null,
            &["json object"],
        ),
        (
            "an empty method",
            br#"{"jsonrpc":"2.0","id":8,"method":""}"#.to_vec(),
            INVALID_REQUEST,
            json!(8),
            &["method"],
        ),
    ];
    for (what, mut line, code, id, words) in cases {
        line.push(b'\n');
        peer.send_bytes(&line);
        let resp = next_message(&mut peer, what);
        eprintln!("[agent garbage] {what}: {}", resp["error"]);
        assert_eq!(resp["jsonrpc"], "2.0", "{what}: {resp}");
        assert_eq!(error_code(&resp), Some(code), "{what}: {resp}");
        assert_eq!(resp["id"], id, "{what}: {resp}");
        let message = message_of(&resp).to_lowercase();
        for w in words {
            assert!(
                message.contains(w),
                "{what}: the message does not say {w:?}: {resp}"
            );
        }
        // The session goes on after each one.
        let ok = peer.call_tool("echo", json!({"text": format!("after {what}")}));
        assert_eq!(
            text_of(&ok),
            Some(format!("after {what}").as_str()),
            "{what}: {ok}"
        );
    }
    let data = peer
        .raw_response(&json!(3))
        .map(|l| serde_json::from_slice::<Value>(&l).unwrap()["error"]["data"].clone())
        .expect("the answer to the 16 MiB line");
    assert_eq!(data["reason"], "line_too_long", "{data}");
    // None of it reached the server.
    let s = stats(&mut peer);
    assert_eq!(
        s["unparseable"], 0,
        "the server received lines it could not parse: {s}"
    );
    assert!(
        s["longest"].as_u64().unwrap_or(u64::MAX) < 4096,
        "the server received a long line: {s}"
    );
    assert!(pid_alive(peer.pid()), "vanguard died");
    peer.close_stdin();
    assert_eq!(exit_code(&mut peer, TIMEOUT), Some(0));
    marker.assert_none_left(peer.pid(), Duration::from_secs(5));
}

// --------------------------------------------- 5. garbage from the server

#[test]
fn server_garbage_is_never_relayed_unreadable_replies_become_errors_session_goes_on() {
    let marker = Marker::new();
    let mut peer = stdio_gateway(&marker, &[], &[]);

    // Lines that answer nothing: dropped (and audited); the call behind
    // them is answered as usual.
    let r = peer.call_tool("noise", json!({}));
    assert_eq!(text_of(&r), Some("noise done"), "{r}");
    let r = peer.call_tool("echo", json!({"text": "after the noise"}));
    assert_eq!(text_of(&r), Some("after the noise"), "{r}");

    // A reply that cannot be read: its call gets an error, not silence.
    for kind in ["truncated", "non_utf8", "huge", "deep", "not_jsonrpc"] {
        let id = peer.send_request(
            "tools/call",
            json!({"name": "bad_reply", "arguments": {"kind": kind}}),
        );
        let resp = peer.recv_until_id(&id, TIMEOUT).unwrap_or_else(|| {
            panic!(
                "the call answered by an unreadable reply ({kind}) got nothing; stderr:\n{}",
                peer.stderr_text()
            )
        });
        eprintln!("[server garbage] {kind}: {}", resp["error"]);
        assert_eq!(
            error_code(&resp),
            Some(UPSTREAM_UNREADABLE),
            "{kind}: {resp}"
        );
        assert!(!message_of(&resp).is_empty(), "{kind}: {resp}");
        let r = peer.call_tool("echo", json!({"text": format!("after {kind}")}));
        assert_eq!(
            text_of(&r),
            Some(format!("after {kind}").as_str()),
            "{kind}: {r}"
        );
    }
    assert!(pid_alive(peer.pid()), "vanguard died");
    peer.close_stdin();
    assert_eq!(exit_code(&mut peer, TIMEOUT), Some(0));

    for line in peer.transcript() {
        let text = String::from_utf8_lossy(line);
        assert!(
            serde_json::from_slice::<Value>(line).is_ok(),
            "the agent got a line that is not JSON: {}",
            &text[..text.len().min(200)]
        );
        assert!(
            !text.contains("CHAOS-GARBAGE"),
            "server garbage reached the agent: {}",
            &text[..text.len().min(200)]
        );
    }
    let noise = peer
        .audit_events()
        .iter()
        .filter(|e| e["kind"] == "upstream_noise")
        .count();
    eprintln!("[server garbage] {noise} upstream_noise audit events");
    // Text, non-UTF-8, two non-JSON-RPC values, the deep array, the 16 MiB
    // line, the line finished late.
    assert!(noise >= 7, "not every garbage line was audited: {noise}");
    marker.assert_none_left(peer.pid(), Duration::from_secs(5));
}

#[test]
fn server_dying_mid_line_answers_the_call_with_an_error_and_vanguard_exits() {
    let marker = Marker::new();
    let mut peer = stdio_gateway(&marker, &[], &[]);
    let id = peer.send_request(
        "tools/call",
        json!({"name": "die_mid_line", "arguments": {}}),
    );
    let resp = peer.recv_until_id(&id, TIMEOUT).unwrap_or_else(|| {
        panic!(
            "the call whose answer was cut got nothing; stderr:\n{}",
            peer.stderr_text()
        )
    });
    eprintln!("[server died mid-line] {}", resp["error"]);
    let code = error_code(&resp);
    assert!(
        code == Some(UPSTREAM_UNREADABLE) || code == Some(UPSTREAM_EXITED),
        "{resp}"
    );
    assert!(
        !String::from_utf8_lossy(&serde_json::to_vec(&resp).unwrap()).contains("CHAOS-GARBAGE")
    );
    // README: 4 = the server exited on its own.
    assert_eq!(exit_code(&mut peer, TIMEOUT), Some(4));
    marker.assert_none_left(peer.pid(), Duration::from_secs(5));
}

// ----------------------------------------------------- 6. a stalling server

/// A call the server never answers does not hold up the others; at agent
/// EOF (or SIGTERM) vanguard answers it, and a server that ignores both EOF
/// and SIGTERM is killed.
fn stalling_server_then(stop: &str) {
    let marker = Marker::new();
    let mut peer = stdio_gateway(&marker, &["--ignore-eof", "--ignore-term"], &[]);
    let hung = peer.send_request("tools/call", json!({"name": "hang", "arguments": {}}));
    // 192 calls behind it, 16 at a time, all answered.
    let mut ids = Vec::new();
    for chunk in 0..12 {
        let batch: Vec<Value> = (0..16)
            .map(|k| {
                let n = chunk * 16 + k;
                peer.send_request(
                    "tools/call",
                    json!({"name": "echo", "arguments": {"text": format!("flow {n}")}}),
                )
            })
            .collect();
        for (k, id) in batch.iter().enumerate() {
            let r = peer.expect_response(id);
            assert_eq!(
                text_of(&r),
                Some(format!("flow {}", chunk * 16 + k).as_str()),
                "{r}"
            );
        }
        ids.extend(batch);
    }
    assert!(
        peer.take_aside().is_empty(),
        "the hanging call was answered"
    );
    let server = marker.server_pid(peer.pid());

    let t = Instant::now();
    let want_exit = match stop {
        "eof" => {
            peer.close_stdin();
            0
        }
        _ => {
            peer.signal(libc::SIGTERM);
            128 + libc::SIGTERM
        }
    };
    let resp = peer
        .recv_until_id(&hung, TIMEOUT)
        .expect("the hanging call is answered at shutdown");
    assert_eq!(error_code(&resp), Some(UPSTREAM_EXITED), "{resp}");
    let code = exit_code(&mut peer, TIMEOUT);
    let took = t.elapsed();
    eprintln!(
        "[stalling server, {stop}] {} calls answered around the hung one; vanguard exited {code:?} \
         {:.1} s after the {stop} (server ignores EOF and SIGTERM; grace 2 s + 2 s)",
        ids.len(),
        took.as_secs_f64()
    );
    assert_eq!(code, Some(want_exit), "exit status");
    assert!(!pid_alive(server), "the server (pid {server}) survived");
    marker.assert_none_left(peer.pid(), Duration::from_secs(5));
    let forced = peer.stderr_text().contains("SIGKILL");
    assert!(
        forced,
        "vanguard did not say it had to SIGKILL the server:\n{}",
        peer.stderr_text()
    );
}

#[test]
fn stalling_server_other_calls_flow_and_agent_eof_ends_everything() {
    stalling_server_then("eof");
}

#[test]
fn stalling_server_other_calls_flow_and_sigterm_ends_everything() {
    stalling_server_then("sigterm");
}

// -------------------------------------- 7. slow and abandoned HTTP clients

fn raw_http(addr: &str, head: &str, body: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    s
}

fn post_head(addr: &str, sid: &str, accept: &str, len: usize) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: {accept}\r\nMcp-Session-Id: {sid}\r\nMcp-Protocol-Version: 2025-06-18\r\n\
         Content-Length: {len}\r\n\r\n"
    )
}

#[test]
fn http_clients_that_never_read_stall_or_leave_do_not_stop_others_rss_bounded() {
    let marker = Marker::new();
    let prof = profile(marker.dir(), "abuse", "");
    let gw = http_support::Gateway::start(
        &chaos_cmd(&marker, &[]),
        &[
            "--profile",
            &prof,
            "--rate-limit",
            "0",
            "--global-rate-limit",
            "0",
        ],
        &[],
    );
    let url = gw.url("/mcp");
    let addr = gw.addr.clone();
    let http = http_support::Http::default();
    let good = http.open_session(&url, &[]);
    let victim = http.open_session(&url, &[]);
    for sid in [&good, &victim] {
        let r = http.rpc(
            &url,
            Some(sid),
            &[],
            &http_support::call(2, "echo", json!({"text": "warm"})),
        );
        assert_eq!(text_of(&r.json()), Some("warm"), "{}", r.text);
    }
    let pid = gw.pid();
    let rss_before = rss_kib(pid);

    // The good client calls on, in the background, through all of it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let good_calls = {
        let (url, good, stop) = (url.clone(), good.clone(), stop.clone());
        thread::spawn(move || {
            let http = http_support::Http::default();
            let mut n = 0u64;
            let mut bad = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let text = format!("good {n}");
                let r = http.rpc(
                    &url,
                    Some(&good),
                    &[],
                    &http_support::call(1000 + n as i64, "echo", json!({"text": text})),
                );
                if r.status != 200 || text_of(&r.json()) != Some(text.as_str()) {
                    bad.push(format!("HTTP {}: {}", r.status, r.text));
                }
                n += 1;
                thread::sleep(Duration::from_millis(20));
            }
            (n, bad)
        })
    };

    // 1. A GET stream that is opened and never read, on a session whose
    // server then floods it: 20,000 notifications of 2 KiB (40 MiB).
    let mut never_read = raw_http(
        &addr,
        &format!(
            "GET /mcp HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             Mcp-Session-Id: {victim}\r\nMcp-Protocol-Version: 2025-06-18\r\n\r\n"
        ),
        b"",
    );
    let head = read_head(&mut never_read, Duration::from_secs(10));
    assert!(head.starts_with("HTTP/1.1 200"), "GET stream: {head}");
    let flood = http.rpc(
        &url,
        Some(&victim),
        &[],
        &http_support::call(3, "flood", json!({"count": 20_000, "size": 2048})),
    );
    assert_eq!(text_of(&flood.json()), Some("flood done"), "{}", flood.text);
    let rss_after_flood = rss_kib(pid);

    // 2. Half a request body, then silence (the connection stays open).
    let stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let body = call(7, "echo", json!({"text": "never finished"})).to_string();
            let half = &body.as_bytes()[..body.len() / 2];
            raw_http(
                &addr,
                &post_head(&addr, &good, "application/json", body.len()),
                half,
            )
        })
        .collect();

    // 3. 300 clients leave mid-response: 150 ask for 256 KiB answers as
    // JSON and close without reading; 150 ask for SSE answers to slow calls
    // and close after the head.
    let big = "b".repeat(256 * 1024);
    for k in 0..150u64 {
        let body = call(10_000 + k, "echo", json!({"text": big})).to_string();
        let s = raw_http(
            &addr,
            &post_head(&addr, &victim, "application/json", body.len()),
            body.as_bytes(),
        );
        drop(s);
    }
    for k in 0..150u64 {
        let body = call(20_000 + k, "slow", json!({"ms": 5, "text": "slow"})).to_string();
        let mut s = raw_http(
            &addr,
            &post_head(
                &addr,
                &victim,
                "application/json, text/event-stream",
                body.len(),
            ),
            body.as_bytes(),
        );
        let _ = read_head(&mut s, Duration::from_secs(10));
        drop(s);
    }
    // The victim session itself still answers.
    let r = http.rpc(
        &url,
        Some(&victim),
        &[],
        &http_support::call(4, "echo", json!({"text": "still here"})),
    );
    assert_eq!(text_of(&r.json()), Some("still here"), "{}", r.text);
    let rss_after = rss_kib(pid);
    stop.store(true, Ordering::Relaxed);
    let (good_n, good_bad) = good_calls.join().expect("good client");
    eprintln!(
        "[abusive http clients] good client: {good_n} calls, {} failed; gateway RSS {:.1} MiB \
         before, {:.1} MiB after a 40 MiB flood into an unread stream, {:.1} MiB after 300 \
         abandoned responses and 4 stalled bodies",
        good_bad.len(),
        mib(rss_before),
        mib(rss_after_flood),
        mib(rss_after)
    );
    assert!(
        good_bad.is_empty(),
        "the good client was refused: {:#?}",
        &good_bad[..good_bad.len().min(5)]
    );
    assert!(good_n > 0);
    assert!(
        rss_after <= rss_before + 32 * KIB_PER_MIB,
        "the gateway's RSS grew from {rss_before} KiB to {rss_after} KiB"
    );

    drop(stalled);
    drop(never_read);
    for sid in [&good, &victim] {
        let r = http.send("DELETE", &url, &[("mcp-session-id", sid)], None);
        assert_eq!(r.status, 200, "DELETE: {}", r.text);
    }
    assert!(
        http_support::wait_until(TIMEOUT, || ready_sessions(&http, &gw) == 0),
        "sessions left: {}",
        ready_sessions(&http, &gw)
    );
    marker.assert_none_left(pid, TIMEOUT);
}

/// A TCP connection to `addr` from the loopback address `src`
/// (127.0.0.0/8 is all ours: each source is another client IP).
fn connect_from(src: [u8; 4], addr: &str) -> TcpStream {
    use std::os::fd::FromRawFd;
    let target: std::net::SocketAddrV4 = addr.parse().expect("an IPv4 gateway address");
    // SAFETY: plain socket calls on a descriptor this function owns until
    // it is handed to TcpStream; the sockaddr_in values are fully set.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from_ne_bytes(src);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len);
        assert_eq!(rc, 0, "bind {src:?}: {}", std::io::Error::last_os_error());
        sa.sin_port = target.port().to_be();
        sa.sin_addr.s_addr = u32::from_ne_bytes(target.ip().octets());
        let rc = libc::connect(fd, &sa as *const _ as *const libc::sockaddr, len);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// Slowloris on bodies: clients from many addresses send a request head
/// and half its body, and stop. Each one holds an admission slot while the
/// gateway waits for the rest; with no deadline on the body, enough of them
/// (the global `--max-concurrent`, 512 by default) refuse every other
/// client. The gateway must drop stalled bodies (a body-read timeout) so
/// that a well-behaved client is served again.
#[test]
fn stalled_request_bodies_from_many_clients_do_not_lock_everyone_out() {
    const STALLED: usize = 520;
    const PER_ADDRESS: usize = 60;
    let marker = Marker::new();
    let gw = http_support::Gateway::start(&chaos_cmd(&marker, &[]), &[], &[]);
    let url = gw.url("/mcp");
    let http = http_support::Http::default();
    let good = http.open_session(&url, &[]);
    let r = http.rpc(
        &url,
        Some(&good),
        &[],
        &http_support::call(2, "echo", json!({"text": "warm"})),
    );
    assert_eq!(text_of(&r.json()), Some("warm"), "{}", r.text);

    let body = call(7, "echo", json!({"text": "this body never ends"})).to_string();
    let stalled: Vec<TcpStream> = (0..STALLED)
        .map(|k| {
            let src = [127, 0, 1, 1 + (k / PER_ADDRESS) as u8];
            let mut s = connect_from(src, &gw.addr);
            s.write_all(post_head(&gw.addr, &good, "application/json", body.len()).as_bytes())
                .expect("head");
            s.write_all(&body.as_bytes()[..body.len() / 2])
                .expect("half a body");
            s
        })
        .collect();
    // Let the gateway read every head.
    thread::sleep(Duration::from_secs(1));

    let started = Instant::now();
    let bound = Duration::from_secs(45);
    let mut refusals = Vec::new();
    let mut served = None;
    while started.elapsed() < bound {
        let text = format!("good {}", refusals.len());
        let r = http.rpc(
            &url,
            Some(&good),
            &[],
            &http_support::call(100 + refusals.len() as i64, "echo", json!({"text": text})),
        );
        if r.status == 200 && text_of(&r.json()) == Some(text.as_str()) {
            served = Some(started.elapsed());
            break;
        }
        refusals.push(format!("HTTP {}: {}", r.status, r.text));
        thread::sleep(Duration::from_secs(1));
    }
    eprintln!(
        "[stalled bodies] {STALLED} half-sent bodies from {} addresses held open; a good client \
         was served after {served:?} ({} refusals first, e.g. {:?})",
        STALLED.div_ceil(PER_ADDRESS),
        refusals.len(),
        refusals.first()
    );
    drop(stalled);
    assert!(
        served.is_some(),
        "for {bound:?} with {STALLED} stalled request bodies open, every request of a \
         well-behaved client was refused ({} refusals, e.g. {:?}): stalled bodies hold their \
         admission slots forever",
        refusals.len(),
        refusals.first()
    );
}

// ------------------------------------- 8. Redis killed and restarted (L3)

/// Calls `echo` and returns the answer; a call never answered fails.
fn echo(peer: &mut Peer, text: &str) -> Value {
    peer.call_tool("echo", json!({"text": text}))
}

fn redis_gateway(marker: &Marker, mode: &str, redis_url: &str) -> Peer {
    let prof = profile(
        marker.dir(),
        &format!("redis-{mode}"),
        &format!("on_state_error = \"{mode}\"\n"),
    );
    stdio_gateway(marker, &[], &["--profile", &prof, "--state", redis_url])
}

/// Calls flow; Redis is killed while some are in flight; every call is
/// answered per the fail mode; Redis comes back on the same port and the
/// same vanguard uses it again.
fn redis_outage(mode: &str) {
    let marker = Marker::new();
    let mut redis = redis_support::RedisServer::start();
    let port = redis.port;
    let mut peer = redis_gateway(&marker, mode, &redis.url());
    let pid = peer.pid();
    for i in 0..20 {
        let r = echo(&mut peer, &format!("before {i}"));
        assert_eq!(text_of(&r), Some(format!("before {i}").as_str()), "{r}");
    }
    {
        let mut c = redis.client();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("vg:l3:*")
            .query(&mut c)
            .expect("KEYS");
        assert!(!keys.is_empty(), "the session's L3 state is not in Redis");
    }
    let echo_before = stats(&mut peer)["echo"].as_u64().unwrap();

    // Killed with calls in flight: each is answered, one way or the other.
    let in_flight: Vec<Value> = (0..16)
        .map(|i| {
            peer.send_request(
                "tools/call",
                json!({"name": "echo", "arguments": {"text": format!("in flight {i}")}}),
            )
        })
        .collect();
    redis.kill();
    for id in &in_flight {
        let r = peer.expect_response(id);
        let ok = text_of(&r).is_some_and(|t| t.starts_with("in flight"));
        let closed = error_code(&r) == Some(POLICY_BLOCKED) && block_rule(&r) == STATE_RULE;
        assert!(ok || closed, "a call in flight at the kill: {r}");
    }

    // Down: fail closed blocks every call with a clear error; fail open
    // lets it through (audited).
    let mut outcomes = Vec::new();
    for i in 0..10 {
        let r = echo(&mut peer, &format!("outage {i}"));
        outcomes.push(r);
    }
    eprintln!("[redis {mode}] a call with Redis down: {}", outcomes[0]);
    if mode == "closed" {
        for r in &outcomes {
            let data = assert_blocked(r, &r["id"]);
            assert_eq!(data["rule"], STATE_RULE, "{r}");
            assert_eq!(data["layer"], "L3", "{r}");
            assert!(
                message_of(r).contains("state store"),
                "the error does not name the store: {r}"
            );
        }
    } else {
        for (i, r) in outcomes.iter().enumerate() {
            assert_eq!(text_of(r), Some(format!("outage {i}").as_str()), "{r}");
        }
        let warned = wait_for_audit_event(peer.audit_log(), |e| {
            e["rules"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == STATE_RULE))
        })
        .expect("a BEH-STATE-UNAVAILABLE audit event");
        assert_ne!(warned["verdict"], "block", "{warned}");
    }

    // Back on the same port, empty: the same vanguard uses it again.
    let restarted = Instant::now();
    let redis2 = redis_support::RedisServer::start_on(port);
    let mut attempts = 0;
    let recovered = loop {
        attempts += 1;
        let before = peer
            .audit_events()
            .iter()
            .filter(|e| {
                e["rules"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == STATE_RULE))
            })
            .count();
        let r = echo(&mut peer, &format!("after restart {attempts}"));
        thread::sleep(Duration::from_millis(100));
        let after = peer
            .audit_events()
            .iter()
            .filter(|e| {
                e["rules"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == STATE_RULE))
            })
            .count();
        if text_of(&r).is_some() && before == after {
            break Some(restarted.elapsed());
        }
        if restarted.elapsed() > Duration::from_secs(30) {
            break None;
        }
        thread::sleep(Duration::from_millis(200));
    };
    eprintln!("[redis {mode}] state store in use again {recovered:?} after the restart ({attempts} calls)");
    assert!(
        recovered.is_some(),
        "vanguard never used the restarted Redis (30 s, {attempts} calls)"
    );
    for i in 0..10 {
        let r = echo(&mut peer, &format!("recovered {i}"));
        assert_eq!(text_of(&r), Some(format!("recovered {i}").as_str()), "{r}");
    }
    {
        let mut c = redis2.client();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("vg:l3:*")
            .query(&mut c)
            .expect("KEYS");
        assert!(
            !keys.is_empty(),
            "the restarted Redis holds no L3 state: not in use"
        );
    }
    assert_eq!(peer.pid(), pid);
    assert!(pid_alive(pid), "vanguard died");
    // Fail closed: nothing blocked reached the server.
    let echo_after = stats(&mut peer)["echo"].as_u64().unwrap();
    let passed = echo_after - echo_before;
    eprintln!("[redis {mode}] the server saw {passed} echo calls from the kill on");
    if mode == "closed" {
        // The server may see a call and vanguard still withhold its answer:
        // a call in flight at the kill passed the call-side check, and its
        // result could not be recorded (blocked on the way back, an event
        // in direction server_to_agent). Every other block is a call that
        // must never have reached the server.
        let events = peer.audit_events();
        let blocked_on_the_way_back = |m: &Value| {
            let id = m.pointer("/error/data/event_id").and_then(Value::as_str);
            id.is_some_and(|id| {
                events
                    .iter()
                    .any(|e| e["event_id"] == id && e["direction"] == "server_to_agent")
            })
        };
        let reached_the_server = peer
            .transcript()
            .iter()
            .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
            .filter(|m| {
                text_of(m).is_some_and(|t| {
                    t.starts_with("in flight")
                        || t.starts_with("after restart")
                        || t.starts_with("recovered")
                }) || blocked_on_the_way_back(m)
            })
            .count() as u64;
        assert_eq!(
            passed, reached_the_server,
            "blocked calls reached the server"
        );
    }
    peer.close_stdin();
    assert_eq!(exit_code(&mut peer, TIMEOUT), Some(0));
    marker.assert_none_left(pid, Duration::from_secs(5));
}

#[test]
fn redis_killed_and_restarted_fail_closed_blocks_with_a_clear_error_then_recovers() {
    redis_outage("closed");
}

#[test]
fn redis_killed_and_restarted_fail_open_warns_then_recovers() {
    redis_outage("open");
}

/// A gateway in front of the demo server, L3's rate limits off (bursts are
/// the point), no sandbox, initialized.
fn demo_gateway_without_rate_limits(dir: &Path) -> Peer {
    let quiet = profile(dir, "quiet", "");
    let server = format!(
        "{} demo-server",
        sh_quote(&vanguard_bin().to_string_lossy())
    );
    let mut peer = Peer::gateway(&server, &["--profile", &quiet, "--sandbox", "off"]);
    peer.initialize("2025-06-18");
    peer
}

/// A burst of calls of mixed sizes grows the gateway's heap by megabytes of
/// memory freed again; once the session has been quiet for a second the
/// gateway has handed it back to the kernel (the session goes on
/// afterwards). A burst longer than a second is trimmed while it runs too
/// (`BUSY_TRIM`), so what the burst added is measured at its peak, not
/// after its last call.
#[test]
fn a_quiet_gateway_hands_freed_heap_back_to_the_kernel() {
    let scratch = scratch_dir();
    let mut peer = demo_gateway_without_rate_limits(scratch.path());
    let pid = peer.pid();
    std::thread::sleep(Duration::from_millis(1500));
    let at_start = status_kib(pid, "RssAnon");
    let mut peak = at_start;
    // Windows of 24 calls in flight, 1 KiB to 96 KiB each: freed blocks of
    // many sizes, interleaved with the session's longer-lived ones.
    for round in 0..40u64 {
        for k in 0..24u64 {
            let i = round * 24 + k;
            let size = 1024 * (1 + (i * 37) % 96) as usize;
            peer.send(&call(
                1000 + i,
                "echo",
                json!({ "message": format!("{i} {}", "ab".repeat(size / 2)) }),
            ));
        }
        for k in 0..24u64 {
            let r = next_message(&mut peer, "an echo");
            let i = round * 24 + k;
            assert!(
                text_of(&r)
                    .is_some_and(|t| t
                        .starts_with(&format!("Echo: {} ", r["id"].as_u64().unwrap_or(0) - 1000))),
                "call {i}: {}",
                r.to_string().chars().take(200).collect::<String>()
            );
        }
        peak = peak.max(status_kib(pid, "RssAnon"));
    }
    let after_burst = status_kib(pid, "RssAnon");
    peak = peak.max(after_burst);
    // Handed back within a few quiet seconds: at least half of what the
    // burst added above the start-up heap.
    let handed_back = wait_until(Duration::from_secs(8), || {
        status_kib(pid, "RssAnon") <= at_start + (peak.saturating_sub(at_start)) / 2
    });
    let idle = status_kib(pid, "RssAnon");
    eprintln!(
        "heap: start {:.1} MiB, burst peak {:.1} MiB, after the burst {:.1} MiB, quiet {:.1} MiB",
        mib(at_start),
        mib(peak),
        mib(after_burst),
        mib(idle)
    );
    assert!(
        peak >= at_start + 1024,
        "the burst should grow the heap ({at_start} -> {peak} KiB at its peak)"
    );
    assert!(
        handed_back,
        "freed heap not returned: {at_start} KiB at start, {after_burst} after the burst, {idle} when quiet"
    );
    // The session goes on.
    let r = peer.call_tool("echo", json!({ "message": "still here" }));
    assert_eq!(text_of(&r), Some("Echo: still here"), "{r}");
    peer.close_stdin();
}

/// Start-up runs much code a session never runs again (argument parsing,
/// profile loading, regex compilation). The gateway drops its mapped code
/// once the first metadata answers are out (a session that never pauses
/// for a second would otherwise keep it), and again whenever it goes quiet
/// after work; the session goes on: what it runs faults back in, refusals
/// included.
#[test]
fn the_gateway_unmaps_start_up_code_after_the_handshake_and_when_quiet() {
    let scratch = scratch_dir();
    let mut peer = demo_gateway_without_rate_limits(scratch.path());
    let pid = peer.pid();
    // Well within the idle trimmer's quiet second: this is the drop after
    // the handshake.
    std::thread::sleep(Duration::from_millis(300));
    let after_handshake = status_kib(pid, "RssFile");
    let peak = status_kib(pid, "VmHWM");
    eprintln!(
        "mapped file pages 0.3 s after the handshake: {:.1} MiB (peak RSS {:.1} MiB)",
        mib(after_handshake),
        mib(peak)
    );
    assert!(
        after_handshake * 3 < peak,
        "start-up code still mapped after the handshake: {after_handshake} KiB of file pages, peak RSS {peak} KiB"
    );
    let mut n = 0u64;
    let mut echo = |peer: &mut Peer| {
        n += 1;
        let m = format!("call {n}");
        let r = peer.call_tool("echo", json!({ "message": m }));
        assert_eq!(text_of(&r), Some(format!("Echo: {m}").as_str()), "{r}");
    };
    for _ in 0..50 {
        echo(&mut peer);
    }
    let r = peer.call_tool("read_file", json!({ "path": "/etc/shadow" }));
    assert_eq!(r["error"]["code"], POLICY_BLOCKED, "{r}");
    let busy_file = status_kib(pid, "RssFile");
    let dropped = wait_until(Duration::from_secs(8), || {
        status_kib(pid, "RssFile") + 256 < busy_file
    });
    let quiet_file = status_kib(pid, "RssFile");
    eprintln!(
        "mapped file pages: {:.1} MiB after the calls, {:.1} MiB when quiet",
        mib(busy_file),
        mib(quiet_file)
    );
    assert!(
        dropped,
        "code the calls mapped is still mapped when quiet: {busy_file} KiB, then {quiet_file} KiB"
    );
    echo(&mut peer);
    peer.close_stdin();
}
