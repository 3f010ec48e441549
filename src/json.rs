//! The one JSON walker: every string (and every object key) of a value,
//! with its place as a JSON pointer (RFC 6901: `~` → `~0`, `/` → `~1`),
//! down to one depth limit. Tool arguments, server metadata and results are
//! all walked here, so they agree on what "inside" means and on how a
//! location is written. A leaf module.

use serde_json::{Map, Value};

/// Deepest nesting walked. serde_json refuses to parse deeper than 128
/// levels, so a parsed value is walked whole; a value built otherwise is
/// cut here and the walk says so ([`Walk::too_deep`]).
pub const MAX_DEPTH: usize = 128;

/// One step of a path into a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The path to the node being visited: inline up to 8 levels, so a walk of
/// an ordinary document allocates nothing (three walks ran per call).
type Segs<'a> = smallvec::SmallVec<[Seg<'a>; 8]>;

/// `base` followed by `segs` as a JSON pointer.
pub fn pointer(base: &str, segs: &[Seg<'_>]) -> String {
    let mut s = String::with_capacity(base.len() + segs.len() * 8);
    s.push_str(base);
    for seg in segs {
        s.push('/');
        match seg {
            Seg::Key(k) => {
                for c in k.chars() {
                    match c {
                        '~' => s.push_str("~0"),
                        '/' => s.push_str("~1"),
                        c => s.push(c),
                    }
                }
            }
            Seg::Index(i) => s.push_str(&i.to_string()),
        }
    }
    s
}

/// What the walker found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node<'a> {
    /// A string value, with the nearest object key above it (for
    /// `paths: ["a"]`, `paths`).
    Str {
        key: Option<&'a str>,
        value: &'a str,
    },
    /// An object key (attacker-chosen text too).
    Key(&'a str),
}

/// Whether a visitor wants more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walk {
    /// Something was nested deeper than [`MAX_DEPTH`] and was not visited.
    pub too_deep: bool,
    /// The visitor stopped the walk.
    pub stopped: bool,
}

/// Visits every string and object key of `v` in document order.
pub fn visit<'a>(v: &'a Value, f: &mut impl FnMut(&[Seg<'a>], Node<'a>) -> Flow) -> Walk {
    let mut segs = Segs::new();
    let mut walk = Walk::default();
    visit_inner(v, None, &mut segs, f, 0, &mut walk);
    walk
}

fn visit_inner<'a>(
    v: &'a Value,
    key: Option<&'a str>,
    segs: &mut Segs<'a>,
    f: &mut impl FnMut(&[Seg<'a>], Node<'a>) -> Flow,
    depth: usize,
    walk: &mut Walk,
) {
    if walk.stopped {
        return;
    }
    if depth > MAX_DEPTH {
        walk.too_deep = true;
        return;
    }
    match v {
        Value::String(s) => walk.stopped = f(segs, Node::Str { key, value: s }) == Flow::Stop,
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                segs.push(Seg::Index(i));
                visit_inner(item, key, segs, f, depth + 1, walk);
                segs.pop();
                if walk.stopped {
                    return;
                }
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                segs.push(Seg::Key(k));
                if f(segs, Node::Key(k)) == Flow::Stop {
                    walk.stopped = true;
                    return;
                }
                visit_inner(item, Some(k), segs, f, depth + 1, walk);
                segs.pop();
                if walk.stopped {
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Visits every string value of `v` (object keys are not visited),
/// skipping the members `skip` names: [`visit_strings_mut`] without the
/// write access.
pub fn visit_strings<'a>(
    v: &'a Value,
    skip: &impl Fn(&Map<String, Value>, &str) -> bool,
    f: &mut impl FnMut(&[Seg<'a>], &str),
) -> Walk {
    let mut segs = Segs::new();
    let mut walk = Walk::default();
    visit_ref_inner(
        v,
        skip,
        &mut segs,
        &mut |p, s: &String| f(p, s),
        0,
        &mut walk,
    );
    walk
}

/// Visits every string value of `v` mutably (object keys are not visited),
/// skipping the members `skip` names (binary payloads, for instance).
pub fn visit_strings_mut<'a>(
    v: &'a mut Value,
    skip: &impl Fn(&Map<String, Value>, &str) -> bool,
    f: &mut impl FnMut(&[Seg<'a>], &mut String),
) -> Walk {
    let mut segs = Segs::new();
    let mut walk = Walk::default();
    visit_mut_inner(v, skip, &mut segs, f, 0, &mut walk);
    walk
}

/// The one body of both string walkers, for a shared (`&`) or a mutable
/// (`&mut`) borrow of the document: Rust cannot be generic over that.
macro_rules! strings_walker {
    ($name:ident $(, $m:tt)?) => {
        fn $name<'a>(
            v: &'a $($m)? Value,
            skip: &impl Fn(&Map<String, Value>, &str) -> bool,
            segs: &mut Segs<'a>,
            f: &mut impl FnMut(&[Seg<'a>], &$($m)? String),
            depth: usize,
            walk: &mut Walk,
        ) {
            if depth > MAX_DEPTH {
                walk.too_deep = true;
                return;
            }
            match v {
                Value::String(s) => f(segs, s),
                Value::Array(items) => {
                    for (i, item) in items.into_iter().enumerate() {
                        segs.push(Seg::Index(i));
                        $name(item, skip, segs, f, depth + 1, walk);
                        segs.pop();
                    }
                }
                Value::Object(map) => {
                    // Decided before the members are borrowed (mutably, for
                    // one of the walkers), by position, in order: no copy of
                    // a skipped name (two allocations per tool result), and
                    // one pass however many are skipped.
                    let skipped: smallvec::SmallVec<[usize; 4]> = map
                        .keys()
                        .enumerate()
                        .filter(|(_, k)| skip(map, k))
                        .map(|(i, _)| i)
                        .collect();
                    let mut skipped = skipped.into_iter().peekable();
                    for (i, (k, item)) in map.into_iter().enumerate() {
                        if skipped.next_if_eq(&i).is_some() {
                            continue;
                        }
                        segs.push(Seg::Key(k));
                        $name(item, skip, segs, f, depth + 1, walk);
                        segs.pop();
                    }
                }
                _ => {}
            }
        }
    };
}

strings_walker!(visit_ref_inner);
strings_walker!(visit_mut_inner, mut);

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_slash_and_tilde() {
        assert_eq!(
            pointer(
                "/params",
                &[Seg::Key("a/b"), Seg::Key("c~d"), Seg::Index(0)]
            ),
            "/params/a~1b/c~0d/0"
        );
        assert_eq!(pointer("", &[]), "");
    }

    #[test]
    fn strings_and_keys_in_order_with_their_places() {
        let v = json!({"paths": ["a", "b"], "opts": {"deep": "x"}});
        let mut seen = Vec::new();
        let w = visit(&v, &mut |segs, n| {
            seen.push((pointer("", segs), n));
            Flow::Continue
        });
        assert!(!w.too_deep && !w.stopped);
        assert_eq!(
            seen,
            vec![
                ("/opts".into(), Node::Key("opts")),
                ("/opts/deep".into(), Node::Key("deep")),
                (
                    "/opts/deep".into(),
                    Node::Str {
                        key: Some("deep"),
                        value: "x"
                    }
                ),
                ("/paths".into(), Node::Key("paths")),
                (
                    "/paths/0".into(),
                    Node::Str {
                        key: Some("paths"),
                        value: "a"
                    }
                ),
                (
                    "/paths/1".into(),
                    Node::Str {
                        key: Some("paths"),
                        value: "b"
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_visitor_can_stop_and_depth_is_reported() {
        let v = json!(["a", "b", "c"]);
        let mut n = 0;
        let w = visit(&v, &mut |_, _| {
            n += 1;
            if n == 2 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        assert!(w.stopped);
        assert_eq!(n, 2);
        let mut deep = json!("bottom");
        for _ in 0..(MAX_DEPTH + 5) {
            deep = Value::Array(vec![deep]);
        }
        let mut found = false;
        let w = visit(&deep, &mut |_, _| {
            found = true;
            Flow::Continue
        });
        assert!(w.too_deep && !found);
    }

    #[test]
    fn mutable_walk_rewrites_and_skips() {
        let mut v = json!({"content": [{"type": "image", "data": "AAAA"}, {"type": "text", "text": "hi"}], "blob": "BBBB"});
        visit_strings_mut(
            &mut v,
            &|map, k| k == "blob" || (k == "data" && map.get("type") == Some(&json!("image"))),
            &mut |_, s| s.make_ascii_uppercase(),
        );
        assert_eq!(v["content"][0]["data"], "AAAA");
        assert_eq!(v["content"][1]["text"], "HI");
        assert_eq!(v["content"][1]["type"], "TEXT");
        assert_eq!(v["blob"], "BBBB");
    }

    /// Skipped members, remembered by position, are skipped anywhere in
    /// a large object, by both walkers, and every other member is visited
    /// once.
    #[test]
    fn members_are_skipped_by_position_in_a_large_object() {
        let mut map = Map::new();
        for i in 0..150 {
            map.insert(format!("k{i:03}"), Value::String(format!("v{i:03}")));
        }
        let mut v = Value::Object(map);
        let skip = |_: &Map<String, Value>, k: &str| {
            k.strip_prefix('k')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n % 7 == 3)
        };
        let expected: Vec<String> = (0..150)
            .filter(|n| n % 7 != 3)
            .map(|n| format!("v{n:03}"))
            .collect();
        let mut seen = Vec::new();
        visit_strings(&v, &skip, &mut |_, s| seen.push(s.to_string()));
        assert_eq!(seen, expected);
        let mut seen = Vec::new();
        visit_strings_mut(&mut v, &skip, &mut |_, s| seen.push(s.clone()));
        assert_eq!(seen, expected);
    }
}
