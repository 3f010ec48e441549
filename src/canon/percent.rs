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
    bytes
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

pub fn percent_decode_once(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
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
