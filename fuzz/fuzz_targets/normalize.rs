//! L0 normalisation (src/inspect/normalize.rs) and the canonical forms of
//! src/canon on arbitrary strings: `text_views`, `clean_unicode`,
//! `has_invisible`, `is_mixed_script`, `extract_urls`, `base64_peek`,
//! `canonical_host`, `parse_ipv4_loose`, `split_host_port`, `lexical_path`,
//! `percent_decode_repeated`.
//!
//! Besides "never panics", the documented bounds and shapes are checked:
//! the original is view 0, at most MAX_VIEWS views without duplicates, at
//! most MAX_URLS URLs, at most max_base64_tokens texts, and a lexical path
//! is absolute, has no `.`/`..` and is a fixed point.
//!
//! Input: byte 0 picks the limits; the rest (lossy UTF-8) is the string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path};
use vanguard::canon::{self, canonical_host, lexical_path, HostView};
use vanguard::inspect::normalize::{
    base64_peek, clean_unicode, extract_urls, has_invisible, is_mixed_script,
    percent_decode_repeated, text_views, Limits, MAX_URLS, MAX_VIEWS,
};

fn limits(sel: u8) -> Limits {
    if sel & 1 == 0 {
        return Limits::default();
    }
    // Small limits, so the caps themselves are exercised.
    Limits {
        max_percent_rounds: (sel >> 1 & 7) as usize,
        max_base64_tokens: (sel >> 4 & 3) as usize + 1,
        min_base64_len: if sel & 0x40 == 0 { 4 } else { 16 },
        max_base64_decoded: if sel & 0x80 == 0 { 7 } else { 64 },
        max_input: if sel & 0x80 == 0 { 5 } else { 200 },
    }
}

fn check_lexical(s: &str, cwd: &Path, home: &Path) {
    let Some(p) = lexical_path(s, cwd, home) else {
        return;
    };
    assert!(p.is_absolute(), "lexical_path({s:?}) = {p:?} is not absolute");
    for c in p.components() {
        assert!(
            matches!(c, Component::RootDir | Component::Normal(_)),
            "lexical_path({s:?}) = {p:?} keeps {c:?}"
        );
    }
    // Canonical: normalising the result again changes nothing.
    if let Some(text) = p.to_str() {
        let again = lexical_path(text, cwd, home);
        assert_eq!(again.as_deref(), Some(p.as_path()), "lexical_path is not idempotent on {s:?}");
    }
}

fuzz_target!(|input: &[u8]| {
    let (sel, rest) = input.split_first().map_or((0, input), |(s, r)| (*s, r));
    let text = String::from_utf8_lossy(rest);
    let s: &str = &text;
    let lim = limits(sel);

    let views = text_views(s, &lim);
    assert!(!views.is_empty() && views[0] == s, "view 0 is not the original");
    assert!(views.len() <= MAX_VIEWS, "{} views", views.len());
    for (i, v) in views.iter().enumerate() {
        assert!(
            !views[..i].contains(v),
            "duplicate view {v:?} at {i}"
        );
    }

    let _ = clean_unicode(s);
    let _ = has_invisible(s);
    let _ = is_mixed_script(s);

    let urls = extract_urls(s);
    assert!(urls.len() <= MAX_URLS, "{} URLs", urls.len());
    for u in &urls {
        let _ = canonical_host(&u.host);
        assert!(
            s.contains(u.host.as_str()),
            "URL host {:?} is not text of the input",
            u.host
        );
    }

    let peeked = base64_peek(s, &lim);
    assert!(
        peeked.len() <= lim.max_base64_tokens,
        "{} base64 texts, limit {}",
        peeked.len(),
        lim.max_base64_tokens
    );
    for t in &peeked {
        assert!(
            t.len() <= lim.max_base64_decoded,
            "decoded text of {} bytes, limit {}",
            t.len(),
            lim.max_base64_decoded
        );
    }

    if let HostView::Name(n) = canonical_host(s) {
        // Names are lowercased (no IDNA): lowercasing again changes nothing.
        assert_eq!(n, n.to_lowercase(), "canonical name is not lowercase");
    }
    let _ = canon::host::parse_ipv4_loose(s);
    let _ = canon::host::ipv6_literal(s);
    if let Some((host, _port)) = canon::split_host_port(s) {
        assert!(!host.is_empty());
        let _ = canonical_host(host);
    }

    check_lexical(s, Path::new("/srv/ws"), Path::new("/home/u"));
    // Relative and empty cwd/home are documented as rooted at `/`.
    check_lexical(s, Path::new("rel/ws"), Path::new(""));

    for rounds in [0, 1, (sel & 7) as usize] {
        if let Some(d) = percent_decode_repeated(s, rounds) {
            assert!(rounds > 0, "decoded with zero rounds");
            let _ = d.len();
        }
    }
});
