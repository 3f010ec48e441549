//! The canonicalisers (src/canon: hosts, paths, percent-decoding,
//! allow-lists) and the glob matcher (src/glob.rs).
//!
//! Input: NUL-separated fields, lossy UTF-8:
//! `host \0 path \0 glob-pattern \0 glob-name \0 allow-entry \0 allow-entry …`
//! (missing fields are empty). Every field also goes through the percent
//! decoder and the host canonicaliser.
//!
//! Invariants checked (each is a property the callers rely on):
//! - percent-decoding never grows the text, and decoding to a fixed point
//!   leaves no `%xx` escape;
//! - an address canonicalises to itself when written back (`Display`, IPv6
//!   in brackets), and a clean name (no `%`, brackets, colon, edge blanks or
//!   trailing dot) canonicalises to itself;
//! - a lexical path is absolute, has no `.`/`..`/empty components and is a
//!   fixed point of `lexical_path`;
//! - `glob::matches` agrees with a plain dynamic-programming matcher, every
//!   pattern matches itself, and `*` matches everything;
//! - an allow-list permits the hosts it names, and what `describe` writes
//!   back parses to the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use vanguard::canon::host::{canonical_host, parse_ipv4_loose, HostView};
use vanguard::canon::path::{file_url_path, lexical_path};
use vanguard::canon::percent::{has_percent_escape, percent_decode_once, percent_decode_repeated};
use vanguard::canon::{split_host_port, AllowList};
use vanguard::glob;

/// `VANGUARD_FUZZ_MASK_KNOWN=1` skips the checks of findings already
/// reported (see README.md, "Findings"), so a long run can look further.
fn mask_known() -> bool {
    static MASK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| std::env::var_os("VANGUARD_FUZZ_MASK_KNOWN").is_some_and(|v| v == "1"))
}

/// Reference matcher for `glob::matches`: `*` any run, `?` one character.
fn dp_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // row[j]: pattern[..i] matches name[..j]
    let mut row = vec![false; n.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        if pc == '*' {
            next[0] = row[0];
            for j in 1..=n.len() {
                next[j] = row[j] || next[j - 1];
            }
        } else {
            for j in 1..=n.len() {
                next[j] = row[j - 1] && (pc == '?' || pc == n[j - 1]);
            }
        }
        row = next;
    }
    row[n.len()]
}

fn check_percent(s: &str) {
    let once = percent_decode_once(s.as_bytes());
    assert!(once.len() <= s.len(), "one round of decoding grew {s:?}");
    if let Some(d) = percent_decode_repeated(s, 4) {
        assert!(d.len() <= s.len(), "decoding grew {s:?} to {d:?}");
    } else {
        assert!(!has_percent_escape(s.as_bytes()));
    }
    // With as many rounds as the text is long, decoding reaches its fixed point.
    if s.len() <= 512 {
        if let Some(d) = percent_decode_repeated(s, s.len() + 1) {
            assert!(d.len() <= s.len());
            assert!(
                !has_percent_escape(d.as_bytes()),
                "{s:?} decoded to {d:?}, which still has an escape"
            );
        }
    }
}

fn written(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

fn check_host(h: &str) {
    match canonical_host(h) {
        HostView::Ip(ip) => {
            assert_eq!(
                canonical_host(&written(&ip)),
                HostView::Ip(ip),
                "{h:?}: address {ip} does not canonicalise to itself"
            );
            if let IpAddr::V6(v6) = ip {
                assert!(
                    v6.to_ipv4_mapped().is_none(),
                    "{h:?}: mapped address left as IPv6"
                );
            }
        }
        HostView::Name(n) => {
            assert!(!n.ends_with('.'), "{h:?}: name {n:?} keeps a trailing dot");
            let clean = !n.is_empty()
                && !n.contains(['%', '[', ']', ':'])
                && n.trim() == n
                && !n.ends_with('.');
            if clean {
                assert_eq!(
                    canonical_host(&n),
                    HostView::Name(n.clone()),
                    "{h:?}: name {n:?} does not canonicalise to itself"
                );
                assert!(
                    parse_ipv4_loose(&n).is_none(),
                    "{h:?}: name {n:?} is an IPv4 address"
                );
            }
        }
    }
}

fn check_path(raw: &str) {
    let cwd = Path::new("/work/space");
    let home = Path::new("/home/user");
    if let Some(url_path) = file_url_path(raw) {
        assert!(
            url_path.starts_with('/'),
            "file URL path {url_path:?} is not absolute"
        );
    }
    let Some(p) = lexical_path(raw, cwd, home) else {
        return;
    };
    let bytes = p.as_os_str().as_bytes();
    assert!(
        bytes.first() == Some(&b'/'),
        "{raw:?} gave a relative path {p:?}"
    );
    assert!(!bytes.contains(&0), "{raw:?} gave a path with NUL");
    if bytes != b"/" {
        for part in bytes[1..].split(|b| *b == b'/') {
            assert!(
                !(part.is_empty() || part == b"." || part == b".."),
                "{raw:?} gave {p:?}, which is not lexically normal"
            );
        }
    }
    if let Some(s) = p.to_str() {
        assert_eq!(
            lexical_path(s, cwd, home).as_deref(),
            Some(p.as_path()),
            "{raw:?}: lexical_path is not idempotent"
        );
    }
}

fn check_glob(pattern: &str, name: &str) {
    // The reference is quadratic: keep it cheap.
    if pattern.len() <= 256 && name.len() <= 256 {
        assert_eq!(
            glob::matches(pattern, name),
            dp_matches(pattern, name),
            "glob::matches({pattern:?}, {name:?}) disagrees with the reference"
        );
    }
    assert!(
        glob::matches(pattern, pattern),
        "{pattern:?} does not match itself"
    );
    assert!(glob::matches("*", name));
    let _ = glob::shell_matches(pattern, name);
    if !glob::is_shell_pattern(pattern) {
        assert_eq!(glob::shell_matches(pattern, name), pattern == name);
    }
}

fn check_allow(entries: &[String], host: &str, port_hint: u16) {
    for e in entries {
        let _ = split_host_port(e);
    }
    let Ok(list) = AllowList::parse(entries) else {
        return;
    };
    let described = list.describe();
    assert_eq!(described.len(), entries.len());
    // Known findings, masked on request only. F2: a bracketed host that is
    // not an IPv6 address (`[:]:2`) is accepted as a DNS name, which
    // `describe` writes back without its brackets. F3: a host that
    // canonicalises to a name holding `[`, `]` or `:` (`%5B:6`), which
    // `describe` cannot write back either. F4: blanks before a trailing dot
    // survive canonicalisation (`x\r.` gives `x\r`, but `x\r` gives `x`).
    let known = mask_known()
        && entries.iter().any(|e| {
            split_host_port(e).is_some_and(|(h, _)| match canonical_host(h) {
                HostView::Ip(_) => false,
                HostView::Name(n) => {
                    h.starts_with('[') || n.contains(['[', ']', ':']) || n.trim() != n
                }
            })
        });
    match AllowList::parse(&described) {
        _ if known => {}
        Ok(again) => assert_eq!(
            again, list,
            "{entries:?} described as {described:?} parses differently"
        ),
        Err(e) => panic!("{entries:?} described as {described:?} does not parse: {e}"),
    }
    for e in entries {
        let Some((h, port)) = split_host_port(e) else {
            panic!("{e:?} was accepted but does not split")
        };
        if h.starts_with("*.") {
            continue;
        }
        assert!(
            list.permits(&canonical_host(h), port),
            "{entries:?} does not permit its own entry {e:?}"
        );
    }
    let view = canonical_host(host);
    let _ = list.permits(&view, port_hint);
    let _ = list.permits_any_port(&view);
}

fuzz_target!(|data: &[u8]| {
    let fields: Vec<String> = data
        .split(|b| *b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let field = |i: usize| fields.get(i).map(String::as_str).unwrap_or("");
    for f in fields.iter().take(8) {
        check_percent(f);
        check_host(f);
    }
    check_path(field(1));
    check_glob(field(2), field(3));
    let entries: Vec<String> = fields.iter().skip(4).take(8).cloned().collect();
    let port = u16::from_le_bytes([data.len() as u8, 1]);
    check_allow(&entries, field(0), port);
});
