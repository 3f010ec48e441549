//! Inspector throughput, measured against baselines in the same run.
//!
//! 1. `corpus`: one `inspect_request` per message over the peer corpus's
//!    `rules_engine` cases plus a set of ordinary agent calls (decisions/s).
//! 2. `corpus_10x_rules`: the same messages against a policy holding ten
//!    variants of every rule. A `RegexSet` runs all patterns of a target in
//!    one pass, so the cost should grow far slower than the rule count; the
//!    ratio time(10×)/time(1×) is printed (target ≤ 2×).
//! 3. `message_4k`: one 4 KiB `tools/call` (bytes/s).
//! 4. `result_*`: the result scan (secrets, injection aimed at the agent,
//!    escapes) over an echo result, a 4 KiB and a 64 KiB text result.
//!
//! The printed figures come from a short timing loop run before criterion's
//! own measurement, so the ratio is taken in one process on one machine.
//! Timings never gate anything.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vanguard::inspect::Inspector;
use vanguard::policy::{self, Overrides, Policy};

/// Copies of each rule in the scaled policy.
const RULE_COPIES: usize = 10;

type Message = (String, Value);

fn corpus_dir() -> PathBuf {
    std::env::var_os("VANGUARD_PEER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/peer/mcpvanguard")
        })
}

/// The `rules_engine` inputs of every corpus file, as (method, params),
/// read with the same loader `vanguard bench` uses.
fn corpus_messages(dir: &Path) -> Vec<Message> {
    let files =
        vanguard::bench::load_dir(dir).unwrap_or_else(|e| panic!("{e} (set VANGUARD_PEER_CORPUS)"));
    files
        .into_iter()
        .flat_map(|(_, cases)| cases)
        .filter(|c| c.harness == "rules_engine")
        .map(|c| {
            let method = c
                .input
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let params = c.input.get("params").cloned().unwrap_or(Value::Null);
            (method, params)
        })
        .collect()
}

fn call(tool: &str, args: Value) -> Message {
    (
        "tools/call".to_string(),
        json!({ "name": tool, "arguments": args }),
    )
}

/// What an ordinary coding session sends.
fn benign_messages() -> Vec<Message> {
    vec![
        call("read_file", json!({"path": "src/main.rs"})),
        call("read_file", json!({"path": "./README.md"})),
        call(
            "read_multiple_files",
            json!({"paths": ["Cargo.toml", "src/lib.rs", "docs/design.md"]}),
        ),
        call("list_directory", json!({"path": "."})),
        call("directory_tree", json!({"path": "src"})),
        call(
            "search_files",
            json!({"path": "src", "pattern": "*.rs", "excludePatterns": ["target"]}),
        ),
        call(
            "write_file",
            json!({"path": "notes/todo.md", "content": "- fix the login form\n- add tests for the parser\n"}),
        ),
        call(
            "edit_file",
            json!({"path": "src/config.rs", "edits": [{"oldText": "let port = 8080;", "newText": "let port = env_port().unwrap_or(8080);"}]}),
        ),
        call("run_command", json!({"command": "git status"})),
        call(
            "run_command",
            json!({"command": "cargo test -- --nocapture"}),
        ),
        call(
            "run_command",
            json!({"command": "grep -rn TODO src/ | head -20"}),
        ),
        call(
            "run_command",
            json!({"command": "npm run build && npm test"}),
        ),
        call(
            "bash",
            json!({"command": "python -m pytest tests/ -q", "timeout": 120}),
        ),
        call(
            "fetch",
            json!({"url": "https://api.github.com/repos/rust-lang/rust", "max_length": 5000}),
        ),
        call(
            "fetch",
            json!({"url": "https://docs.rs/regex/latest/regex/struct.RegexSet.html"}),
        ),
        call("git_log", json!({"repo_path": ".", "max_count": 10})),
        call("git_diff", json!({"repo_path": ".", "target": "main"})),
        call(
            "create_entities",
            json!({"entities": [{"name": "Login form", "entityType": "feature", "observations": ["uses OAuth", "ships in v2"]}]}),
        ),
        call(
            "search",
            json!({"query": "how to configure RegexSet size limits"}),
        ),
        call("get_current_time", json!({"timezone": "Europe/Berlin"})),
        (
            "resources/read".to_string(),
            json!({"uri": "file:///workspace/README.md"}),
        ),
    ]
}

/// A `tools/call` whose JSON is 4 KiB: a Markdown document with prose, code,
/// public URLs and path mentions, written into the workspace.
fn message_4k() -> Message {
    let paragraph =
        "## Deploying the API\n\nBuild with `cargo build --release` and copy `target/release/api` \
        to the host. The service reads `config/app.toml` and logs to stdout; see \
        https://docs.example.com/deploy and https://github.com/example/api/issues/42 for the \
        history. Health checks hit `/healthz` every 10 s. Do not edit /etc/hosts by hand; use \
        the provisioning script instead.\n\n```sh\n./scripts/deploy.sh staging --dry-run\n```\n\n";
    let mut content = String::new();
    while content.len() < 4096 - 128 {
        content.push_str(paragraph);
    }
    let mut msg = call(
        "write_file",
        json!({"path": "docs/deploy.md", "content": content}),
    );
    // Trim to 4 KiB of JSON text, cutting the content on a char boundary.
    while serde_json::to_string(&msg.1).map_or(0, |s| s.len()) > 4096 {
        let c = &mut msg.1["arguments"]["content"];
        let mut s = c.as_str().unwrap_or("").to_string();
        s.pop();
        *c = Value::String(s);
    }
    msg
}

/// Ten variants of every rule: ids suffixed, each pattern extended by an
/// alternative that never matches, so no two patterns are the same.
fn scaled(policy: &Policy, copies: usize) -> Policy {
    let mut p = policy.clone();
    p.rules = (0..copies)
        .flat_map(|i| {
            policy.rules.iter().enumerate().map(move |(j, r)| {
                let mut r = r.clone();
                r.id = format!("{}-x{i}", r.id);
                r.patterns = r
                    .patterns
                    .iter()
                    .map(|pat| format!("(?:{pat})|zz_never_{i}_{j}"))
                    .collect();
                r
            })
        })
        .collect();
    p
}

fn inspect_all(insp: &Inspector, msgs: &[Message]) -> usize {
    msgs.iter()
        .map(|(m, p)| {
            black_box(insp.inspect_request(m, Some(p), None))
                .findings
                .len()
        })
        .sum()
}

/// Median time of one pass over `msgs`, over `rounds` rounds.
fn time_pass(insp: &Inspector, msgs: &[Message], rounds: usize) -> Duration {
    inspect_all(insp, msgs);
    let mut t: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            black_box(inspect_all(insp, msgs));
            start.elapsed()
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

fn compile(policy: &Policy) -> (Inspector, Duration) {
    let start = Instant::now();
    let insp = Inspector::new(policy).expect("compile policy");
    (insp, start.elapsed())
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::Builder::new()
        .prefix("vanguard-bench-")
        .tempdir()
        .expect("create workspace");
    let ws = dir.path().canonicalize().expect("canonical workspace");
    let overrides = Overrides {
        workspace: Some(ws.clone()),
        ..Default::default()
    };
    let mut base = policy::load("balanced", &overrides).expect("load balanced profile");
    base.server.cwd = ws;
    let tenfold = scaled(&base, RULE_COPIES);

    let mut msgs = corpus_messages(&corpus_dir());
    let corpus_len = msgs.len();
    msgs.extend(benign_messages());
    let big = vec![message_4k()];
    let big_bytes = serde_json::to_string(&big[0].1).map_or(0, |s| s.len());

    let (one, one_build) = compile(&base);
    let (ten, ten_build) = compile(&tenfold);
    let t1 = time_pass(&one, &msgs, 31);
    let t10 = time_pass(&ten, &msgs, 31);
    let t4k = time_pass(&one, &big, 301);
    let per_sec = |t: Duration, n: usize| n as f64 / t.as_secs_f64();
    println!(
        "inspect: {} messages ({corpus_len} peer corpus + {} benign)",
        msgs.len(),
        msgs.len() - corpus_len
    );
    println!(
        "inspect: 1x rules  ({:>4} rules, compiled in {:>7.1?}): {:>9.1?} per pass, {:>9.0} decisions/s",
        one.rule_count(),
        one_build,
        t1,
        per_sec(t1, msgs.len())
    );
    println!(
        "inspect: 10x rules ({:>4} rules, compiled in {:>7.1?}): {:>9.1?} per pass, {:>9.0} decisions/s",
        ten.rule_count(),
        ten_build,
        t10,
        per_sec(t10, msgs.len())
    );
    println!(
        "inspect: time(10x)/time(1x) = {:.2} (target <= 2)",
        t10.as_secs_f64() / t1.as_secs_f64()
    );
    println!(
        "inspect: 4 KiB message ({big_bytes} bytes): {t4k:.1?} per decision, {:.1} MiB/s",
        big_bytes as f64 / t4k.as_secs_f64() / (1024.0 * 1024.0)
    );

    let mut g = c.benchmark_group("inspect");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("corpus", |b| b.iter(|| inspect_all(&one, &msgs)));
    g.bench_function("corpus_10x_rules", |b| b.iter(|| inspect_all(&ten, &msgs)));
    g.throughput(Throughput::Bytes(big_bytes as u64));
    g.bench_function("message_4k", |b| b.iter(|| inspect_all(&one, &big)));
    g.finish();

    let mut g = c.benchmark_group("inspect");
    for (name, result) in results() {
        let bytes = serde_json::to_string(&result).map_or(0, |s| s.len());
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            b.iter(|| vanguard::inspect::secrets::scan_ref(black_box(&result), Default::default()))
        });
    }
    g.finish();
}

/// Tool results of three sizes, ordinary text with no secret in it.
fn results() -> Vec<(&'static str, Value)> {
    let prose = "The build finished in 42 seconds; 3 warnings were reported in src/lib.rs \
                 and the cache was reused for 118 of 120 crates. ";
    let text = |n: usize| prose.repeat(n / prose.len() + 1)[..n].to_string();
    let result = |t: String| json!({"content": [{"type": "text", "text": t}], "isError": false});
    // The same prose wrapped at 76 columns, as a Markdown file or a man
    // page is: phrase patterns read its soft breaks as spaces, which costs
    // a copy of the text (compare with `result_64k`).
    let wrapped = |t: String| {
        let mut out = String::with_capacity(t.len());
        let mut col = 0;
        for word in t.split(' ') {
            if col > 0 && col + word.len() >= 76 {
                out.push('\n');
                col = 0;
            } else if col > 0 {
                out.push(' ');
                col += 1;
            }
            out.push_str(word);
            col += word.len();
        }
        out
    };
    vec![
        ("result_echo", result("Echo: hello 123".into())),
        ("result_4k", result(text(4096))),
        ("result_64k", result(text(65536))),
        ("result_64k_wrapped", result(wrapped(text(65536)))),
    ]
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = inspect;
    config = config();
    targets = benches
}
criterion_main!(inspect);
