//! L3 on the HTTP face: behaviour is tracked per agent, not per connection.
//! Two MCP sessions of one authenticated principal share one state (the
//! repeat limit counts across both); unauthenticated sessions are each on
//! their own.

mod common;
#[path = "fixtures/http/support.rs"]
mod support;

use common::everything_cmd;
use serde_json::{json, Value};
use support::*;

const API_KEY: &str = "behaviour-test-key-0123456789";

fn echo_n(
    http: &Http,
    url: &str,
    sid: &str,
    h: &[(&str, &str)],
    n: usize,
    first_id: i64,
) -> Vec<Value> {
    (0..n)
        .map(|i| {
            http.rpc(
                url,
                Some(sid),
                h,
                &call(
                    first_id + i as i64,
                    "echo",
                    json!({"message": "same words"}),
                ),
            )
            .json()
        })
        .collect()
}

#[test]
fn one_principal_shares_its_behaviour_state_across_sessions() {
    let gateway = Gateway::start(&everything_cmd(), &[], &[("VANGUARD_API_KEY", API_KEY)]);
    let http = Http::default();
    let url = gateway.url("/mcp");
    let h = [("x-api-key", API_KEY)];
    let a = http.open_session(&url, &h);
    let b = http.open_session(&url, &h);
    assert_ne!(a, b);
    for r in echo_n(&http, &url, &a, &h, 30, 10) {
        assert!(r.get("result").is_some(), "{r}");
    }
    for r in echo_n(&http, &url, &b, &h, 20, 100) {
        assert!(r.get("result").is_some(), "{r}");
    }
    // The 51st identical call of this principal, in either session.
    let r = &echo_n(&http, &url, &b, &h, 1, 200)[0];
    assert_eq!(r["error"]["code"], -31001, "{r}");
    assert_eq!(r["error"]["data"]["rule"], "BEH-REPEAT", "{r}");
    let audit =
        std::fs::read_to_string(gateway.scratch.path().join("audit.jsonl")).unwrap_or_default();
    let ev = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| {
            e["rules"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "BEH-REPEAT"))
                && e["verdict"] == "block"
        });
    // The audit writer drains every 20 ms; the event may lag the answer.
    let ev = ev.or_else(|| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        std::fs::read_to_string(gateway.scratch.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["verdict"] == "block")
    });
    let ev = ev.expect("a block event");
    assert!(ev["principal"].is_string(), "{ev}");
    assert!(ev["risk"].is_number(), "{ev}");
}

#[test]
fn unauthenticated_sessions_are_tracked_apart() {
    let gateway = Gateway::start(&everything_cmd(), &[], &[]);
    let http = Http::default();
    let url = gateway.url("/mcp");
    let a = http.open_session(&url, &[]);
    let b = http.open_session(&url, &[]);
    for r in echo_n(&http, &url, &a, &[], 30, 10) {
        assert!(r.get("result").is_some(), "{r}");
    }
    for r in echo_n(&http, &url, &b, &[], 21, 100) {
        assert!(r.get("result").is_some(), "session b is not session a: {r}");
    }
}
