//! Arbitrary JSON through the inspectors, with the built-in `balanced`
//! profile (as tests/inspect_rules.rs builds it):
//!
//! - L1 on `tools/call` params (src/inspect/mod.rs `Inspector::inspect_request`),
//!   zones on and off, with and without tool hints; also `resources/read`
//!   and a text-only method;
//! - the metadata inspector (src/inspect/metadata.rs) on the value as a
//!   `tools/list` result, one tool, an `initialize` result and a listed item;
//! - the result inspector / secrets detector (src/inspect/secrets.rs) on the
//!   value as a tool result (detect and redact), and `scan_text`, the denial
//!   finder and the shell helpers on each string in it.
//!
//! (This target replaces the narrower `arguments` and `metadata_results`.)
//!
//! Input: JSON text when the bytes parse; otherwise the bytes (lossy UTF-8)
//! are used as one string, both as a command argument and as result text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use vanguard::inspect::{
    arguments, denial, metadata, pinning, secrets, shell, Decision, Inspector, ToolHints, Verdict,
};
use vanguard::json::{self, Flow, Node};
use vanguard::policy::{self, Action, Overrides};

struct Fixture {
    full: Inspector,
    rules_only: Inspector,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // A workspace of our own, as a real session runs (the server's cwd).
        let ws = std::env::temp_dir().join(format!("vanguard-fuzz-ws-{}", std::process::id()));
        std::fs::create_dir_all(ws.join("src")).expect("create workspace");
        let _ = std::fs::write(ws.join("notes.md"), "notes\n");
        let ws: PathBuf = ws.canonicalize().expect("canonical workspace");
        let overrides = Overrides {
            workspace: Some(ws.clone()),
            ..Default::default()
        };
        let mut pol = policy::load("balanced", &overrides).expect("load balanced profile");
        pol.server.cwd = ws;
        let full = Inspector::new(&pol).expect("compile balanced profile");
        let mut off = pol.clone();
        off.zones.enabled = false;
        let rules_only = Inspector::new(&off).expect("compile without zones");
        Fixture { full, rules_only }
    })
}

/// Tool names that change how arguments are classified.
const TOOLS: &[&str] = &[
    "run_command",
    "bash",
    "read_file",
    "write_file",
    "fetch",
    "git_commit",
    "search",
    "",
];

fn check_decision(d: &Decision) {
    // finish() ran: the verdict follows the strongest finding.
    let strongest = d.findings.iter().map(|f| f.action).max();
    let want = match strongest {
        Some(Action::Block) => Verdict::Block,
        Some(Action::Warn) => Verdict::Warn,
        _ => Verdict::Allow,
    };
    assert_eq!(d.verdict, want);
    for f in &d.findings {
        assert!(!f.rule.is_empty());
        assert!(
            f.location.is_empty() || f.location.starts_with('/'),
            "location {:?} is not a JSON pointer",
            f.location
        );
        assert!(f.evidence.chars().count() <= vanguard::verdict::EVIDENCE_CHARS + 1);
    }
}

fn inspect_params(params: &Value, selector: usize) {
    let fx = fixture();
    let hints = [
        None,
        Some(ToolHints {
            read_only: Some(true),
            destructive: None,
        }),
        Some(ToolHints {
            read_only: Some(false),
            destructive: Some(true),
        }),
    ];
    let h = hints[selector % hints.len()].as_ref();
    let d = fx.full.inspect_request("tools/call", Some(params), h);
    check_decision(&d);
    let d = fx
        .rules_only
        .inspect_request("tools/call", Some(params), None);
    check_decision(&d);
}

fn per_string(v: &Value) {
    let mut n = 0usize;
    json::visit(v, &mut |_, node| {
        let s = match node {
            Node::Str { value, .. } => value,
            Node::Key(k) => k,
        };
        n += 1;
        if n > 64 {
            return Flow::Stop;
        }
        check_secrets(s);
        let _ = denial::may_contain_denial(s);
        let _ = denial::find(s);
        let _ = shell::modifying_args(s);
        let _ = arguments::glob_tokens(s).count();
        let _ = arguments::bare_words(s).count();
        let _ = arguments::path_tokens(s).count();
        Flow::Continue
    });
}

fn check_secrets(s: &str) {
    let found = secrets::scan_text(s);
    let mut last_end = 0;
    for m in &found {
        assert!(m.range.start < m.range.end, "empty secret {m:?}");
        assert!(m.range.end <= s.len(), "secret {m:?} past the end");
        assert!(
            s.is_char_boundary(m.range.start) && s.is_char_boundary(m.range.end),
            "secret {m:?} splits a character"
        );
        assert!(
            m.range.start >= last_end,
            "secrets overlap or are unordered: {found:?}"
        );
        last_end = m.range.end;
    }
}

fn results(v: &Value) {
    let mut a = v.clone();
    let _ = secrets::scan(&mut a, secrets::ScanMode::Detect);
    assert_eq!(&a, v, "detect mode must not change the value");
    let mut b = v.clone();
    let _ = secrets::scan(&mut b, secrets::ScanMode::Redact);
    let mut c = v.clone();
    let _ = secrets::scan_with(
        &mut c,
        secrets::Rewrite {
            secrets: false,
            escapes: true,
        },
    );
    let wrapped = json!({ "content": [{ "type": "text", "text": v }], "structuredContent": v });
    let mut w = wrapped.clone();
    let _ = secrets::scan(&mut w, secrets::ScanMode::Redact);
}

fn metadata(v: &Value) {
    let limits = metadata::MetadataLimits::default();
    let f = metadata::inspect_tools(v, &limits);
    assert!(f.len() <= 64);
    let _ = metadata::inspect_tool(v, &limits);
    // Small limits, so the schema size/depth and description caps trip.
    let small = metadata::MetadataLimits {
        max_schema_bytes: 256,
        max_schema_depth: 3,
        max_description_chars: 64,
    };
    let _ = metadata::inspect_tools(v, &small);
    let _ = metadata::inspect_tools(&json!({ "tools": [v] }), &small);
    let _ = metadata::inspect_tool(v, &small);
    let _ = metadata::inspect_initialize(v);
    for kind in ["prompt", "resource", "resource_template"] {
        let _ = metadata::inspect_listed_item(v, kind);
    }
    let _ = pinning::tool_hash(v);
    let _ = pinning::item_hash(v);
    if let Some(tools) = v.get("tools").and_then(Value::as_array) {
        for t in tools.iter().take(8) {
            let _ = metadata::inspect_tool(t, &limits);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let selector = data.len();
    match serde_json::from_slice::<Value>(data) {
        Ok(v) => {
            // As the params themselves when they look like tools/call params,
            // else as the arguments of some tool.
            let params = if v.get("name").is_some() || v.get("arguments").is_some() {
                v.clone()
            } else {
                json!({ "name": TOOLS[selector % TOOLS.len()], "arguments": v })
            };
            inspect_params(&params, selector);
            check_decision(&fx.full.inspect_request("resources/read", Some(&v), None));
            check_decision(&fx.full.inspect_request("prompts/get", Some(&v), None));
            metadata(&v);
            results(&v);
            per_string(&v);
        }
        Err(_) => {
            let text = String::from_utf8_lossy(data);
            let text = text.as_ref();
            let tool = TOOLS[selector % TOOLS.len()];
            let params = json!({
                "name": tool,
                "arguments": { "command": text, "path": text, "url": text, "content": text }
            });
            inspect_params(&params, selector);
            let _ = fx.full.absolute_path(text);
            let as_result = json!({ "content": [{ "type": "text", "text": text }] });
            results(&as_result);
            metadata(&json!({ "tools": [{ "name": tool, "description": text,
                "inputSchema": { "type": "object", "properties": { "x": { "description": text } } } }] }));
            check_secrets(text);
            let _ = denial::find(text);
            let _ = shell::modifying_args(text);
        }
    }
});
