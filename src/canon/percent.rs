//! Percent-decoding (RFC 3986 `%xx`), bounded.

/// Repeatedly percent-decode, up to `max_rounds` rounds, stopping when stable.
///
/// `+` is not treated as a space (that is form encoding, not URL encoding).
/// Rounds work on bytes, so a sequence split across rounds (`%25C3%25A9`)
/// still decodes to `é`; invalid UTF-8 in the final bytes becomes U+FFFD.
/// Returns `None` when no `%xx` sequence was decoded.
pub fn percent_decode_repeated(s: &str, max_rounds: usize) -> Option<String> {
    if max_rounds == 0 || !has_percent_escape(s.as_bytes()) {
        return None;
    }
    let mut bytes = percent_decode_once(s.as_bytes());
    // Each round shrinks the text by two bytes per escape, so it stabilises
    // on its own; max_rounds bounds the work on long inputs.
    for _ in 1..max_rounds {
        if !has_percent_escape(&bytes) {
            break;
        }
        bytes = percent_decode_once(&bytes);
    }
    Some(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

pub fn has_percent_escape(bytes: &[u8]) -> bool {
    // `memchr` skips to each `%` with SIMD; most text has none.
    memchr::memchr_iter(b'%', bytes).any(|i| {
        matches!(bytes.get(i + 1..i + 3), Some([hi, lo]) if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit())
    })
}

pub fn percent_decode_once(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if let (b'%', &[hi, lo, ref after @ ..]) = (b, tail) {
            if let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) {
                out.push(hi << 4 | lo);
                rest = after;
                continue;
            }
        }
        out.push(b);
        rest = tail;
    }
    out
}

pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
