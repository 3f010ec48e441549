//! Deep and wide JSON through the one walker (src/json.rs `visit`,
//! `visit_strings_mut`, `pointer`) and its users that take any value
//! (src/inspect/arguments.rs `walk`, src/inspect/secrets.rs `scan`).
//!
//! serde_json refuses more than 128 levels, so the input is read by a
//! lenient, iterative reader of this harness instead (brackets, strings,
//! numbers, literals; anything else skipped; open containers closed at the
//! end). That builds values of any depth, e.g. the 100,000 nested arrays of
//! seeds/json_walk/deep_100k_arrays.json, and tears them down iteratively
//! (serde_json's own drop would recurse). The walker must report
//! `too_deep` exactly when something lies deeper than `MAX_DEPTH`, visit
//! everything else in order, stop when asked, and never overflow the stack.
//!
//! The input also goes through serde_json itself: what it accepts is never
//! `too_deep` (the walker's documented assumption).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};
use vanguard::inspect::{arguments, secrets};
use vanguard::json::{self, Flow, Node, Seg, MAX_DEPTH};

enum Frame {
    Arr(Vec<Value>),
    Obj(Map<String, Value>, Option<String>),
}

/// Drops a value of any depth without recursion.
fn drop_deep(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn read_string(data: &[u8], mut i: usize) -> (String, usize) {
    let mut out = Vec::new();
    while let Some(&b) = data.get(i) {
        i += 1;
        match b {
            b'"' => break,
            b'\\' => {
                if let Some(&e) = data.get(i) {
                    i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'/' => b'/',
                        other => other,
                    });
                }
            }
            other => out.push(other),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), i)
}

/// Adds a finished value to the innermost container; `Some` when it was the root.
fn add(stack: &mut [Frame], v: Value) -> Option<Value> {
    match stack.last_mut() {
        None => Some(v),
        Some(Frame::Arr(items)) => {
            items.push(v);
            None
        }
        Some(Frame::Obj(map, key)) => {
            if key.is_none() {
                if let Value::String(s) = v {
                    *key = Some(s);
                    return None;
                }
            }
            let k = key.take().unwrap_or_default();
            if let Some(old) = map.insert(k, v) {
                drop_deep(old);
            }
            None
        }
    }
}

fn close(f: Frame) -> Value {
    match f {
        Frame::Arr(items) => Value::Array(items),
        Frame::Obj(map, _) => Value::Object(map),
    }
}

/// Lenient, iterative: reads the first value of `data`.
fn read_value(data: &[u8]) -> Option<Value> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        let v = match b {
            b'[' => {
                stack.push(Frame::Arr(Vec::new()));
                i += 1;
                continue;
            }
            b'{' => {
                stack.push(Frame::Obj(Map::new(), None));
                i += 1;
                continue;
            }
            b']' | b'}' => {
                i += 1;
                match stack.pop() {
                    Some(f) => close(f),
                    None => continue,
                }
            }
            b'"' => {
                let (s, next) = read_string(data, i + 1);
                i = next;
                Value::String(s)
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while data
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                {
                    i += 1;
                }
                let text = std::str::from_utf8(&data[start..i]).unwrap_or("0");
                match text.parse::<i64>() {
                    Ok(n) => Value::Number(n.into()),
                    Err(_) => text
                        .parse::<f64>()
                        .ok()
                        .and_then(Number::from_f64)
                        .map_or(Value::Null, Value::Number),
                }
            }
            b't' | b'f' | b'n' => {
                let start = i;
                while data.get(i).is_some_and(u8::is_ascii_alphabetic) {
                    i += 1;
                }
                match &data[start..i] {
                    b"true" => Value::Bool(true),
                    b"false" => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            _ => {
                i += 1;
                continue;
            }
        };
        if let Some(root) = add(&mut stack, v) {
            // Whatever is left open belongs to nothing.
            while let Some(f) = stack.pop() {
                drop_deep(close(f));
            }
            return Some(root);
        }
    }
    // End of input: close what is open, innermost first.
    let mut root = None;
    while let Some(f) = stack.pop() {
        let v = close(f);
        if let Some(r) = add(&mut stack, v) {
            root = Some(r);
        }
    }
    root
}

#[derive(Debug, Default, PartialEq)]
struct Expect {
    /// Strings and keys `visit` reports.
    nodes: usize,
    /// Strings `visit_strings_mut` reports.
    strings: usize,
    /// Keys longer than two bytes, which `arguments::walk` reports too.
    long_keys: usize,
    too_deep: bool,
}

/// What the walker should report, computed without recursion.
fn expect(v: &Value) -> Expect {
    let mut e = Expect::default();
    let mut stack = vec![(v, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            e.too_deep = true;
            continue;
        }
        match v {
            Value::String(_) => {
                e.nodes += 1;
                e.strings += 1;
            }
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(map) => {
                for (k, c) in map {
                    e.nodes += 1;
                    if k.len() > 2 {
                        e.long_keys += 1;
                    }
                    stack.push((c, depth + 1));
                }
            }
            _ => {}
        }
    }
    e
}

fn check_pointer(segs: &[Seg<'_>]) {
    let p = json::pointer("", segs);
    assert_eq!(
        p.matches('/').count(),
        segs.len(),
        "pointer {p:?} has a bad number of steps"
    );
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            assert!(
                matches!(chars.next(), Some('0' | '1')),
                "pointer {p:?} has a raw ~"
            );
        }
    }
}

fn walk(v: &mut Value, stop_after: usize) {
    let want = expect(v);

    let mut nodes = 0usize;
    let w = json::visit(v, &mut |segs, node| {
        nodes += 1;
        assert!(segs.len() <= MAX_DEPTH + 1, "visited below the depth limit");
        if let Node::Key(_) = node {
            assert!(matches!(segs.last(), Some(Seg::Key(_))));
        }
        if nodes <= 256 {
            check_pointer(segs);
        }
        Flow::Continue
    });
    assert!(!w.stopped);
    assert_eq!(w.too_deep, want.too_deep, "too_deep misreported");
    assert_eq!(nodes, want.nodes, "visit missed or repeated nodes");

    let mut calls = 0usize;
    let w = json::visit(v, &mut |_, _| {
        calls += 1;
        if calls == stop_after {
            Flow::Stop
        } else {
            Flow::Continue
        }
    });
    assert_eq!(
        calls,
        want.nodes.min(stop_after),
        "visit did not stop when asked"
    );
    assert_eq!(w.stopped, want.nodes >= stop_after);

    let mut args = 0usize;
    arguments::walk(v, |_| args += 1);
    assert_eq!(args, want.strings + want.long_keys);

    let mut strings = 0usize;
    let w = json::visit_strings_mut(v, &|_, _| false, &mut |_, s| {
        strings += 1;
        s.push('!');
    });
    assert_eq!(strings, want.strings);
    assert_eq!(w.too_deep, want.too_deep);

    let _ = secrets::scan(v, secrets::ScanMode::Redact);
}

fuzz_target!(|data: &[u8]| {
    let stop_after = 1 + data.len() % 7;
    // serde_json: accepts at most 128 levels, and what it accepts is walked whole.
    if let Ok(mut v) = serde_json::from_slice::<Value>(data) {
        let w = json::visit(&v, &mut |_, _| Flow::Continue);
        assert!(
            !w.too_deep,
            "a value serde_json parsed is too deep for the walker"
        );
        walk(&mut v, stop_after);
        drop_deep(v);
    }
    if let Some(mut v) = read_value(data) {
        walk(&mut v, stop_after);
        drop_deep(v);
    }
});
