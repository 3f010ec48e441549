//! Encoded views of text, so tainted content is recognised however it was
//! dressed: hex (plain, `\x41`, `0x41,0x42`, `od -An -tx1`, `xxd`,
//! `xxd -p`, `hexdump -C`), percent-encoding, base32 and base64.
//!
//! Each view is the decoded text of one run; callers fingerprint it (a
//! call's arguments) or scan it for secrets (a result). Work is bounded:
//! at most [`MAX_VIEWS`] views and [`MAX_DECODED`] decoded bytes per text.

use base64::Engine;

/// Views returned for one text.
pub const MAX_VIEWS: usize = 64;
/// Decoded bytes returned for one text, in all.
pub const MAX_DECODED: usize = 1 << 20;
/// Shorter runs are not worth decoding (nothing secret fits in fewer bytes).
const MIN_BYTES: usize = 8;
/// Shorter base64 or base32 tokens are not decoded (12 characters of
/// base64 are 9 bytes).
const MIN_TOKEN: usize = 12;

/// The decoded views of `text` (not including `text` itself).
pub fn views(text: &str) -> Vec<String> {
    // Every view keeps at least MIN_BYTES decoded bytes, and no encoding
    // here decodes to more bytes than its text has.
    if text.len() < MIN_BYTES {
        return Vec::new();
    }
    let mut out = Views::default();
    hex_views(text, &mut out);
    if crate::canon::percent::has_percent_escape(text.as_bytes()) {
        let decoded = crate::canon::percent::percent_decode_once(text.as_bytes());
        out.push(&decoded);
    }
    for tok in encoded_tokens(text, MIN_TOKEN) {
        if out.full() {
            break;
        }
        let tok = tok.trim_end_matches('=');
        if tok.len() < MIN_TOKEN {
            continue;
        }
        if let Some(b) = base32(tok) {
            out.push(&b);
            continue;
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for e in engines {
            if !text_prefix(e, tok) {
                // This engine yields nothing the views keep: its decode
                // fails, or its bytes are not UTF-8. Where the first engine
                // would have decoded the token, the second fails on it or
                // decodes the same bytes, so trying it changes nothing.
                continue;
            }
            if let Ok(bytes) = e.decode(tok) {
                out.push(&bytes);
                break;
            }
        }
    }
    out.list
}

/// Runs of base64/base32 alphabet bytes (and `=`) at least `min_len`
/// bytes long. Every other byte ends a run, so a multi-byte character does
/// too: the runs are the tokens a split on characters gives (prose is
/// hundreds of short words, none worth handing out).
fn encoded_tokens(text: &str, min_len: usize) -> impl Iterator<Item = &str> {
    // Both ends of a run are ASCII bytes: character boundaries.
    crate::inspect::normalize::alphabet_runs(text.as_bytes(), min_len, true)
        .filter_map(|(start, end)| text.get(start..end))
}

/// Whether the first 64 characters of `tok` decode, with `e`, to bytes
/// that can begin UTF-8 text. `false` means the whole token decodes to
/// nothing [`Views::push`] keeps (a decode error there is one in the
/// whole token; an invalid sequence there is one in the whole decode),
/// so a long run of letters is rejected after 48 bytes, not all of it.
fn text_prefix(e: &base64::engine::GeneralPurpose, tok: &str) -> bool {
    const PREFIX: usize = 64;
    let Some(head) = tok.get(..PREFIX).filter(|_| tok.len() > PREFIX) else {
        return true;
    };
    match e.decode(head) {
        Ok(bytes) => match std::str::from_utf8(&bytes) {
            Ok(_) => true,
            // Cut inside a character: the rest of the token may complete it.
            Err(err) => err.error_len().is_none(),
        },
        Err(_) => false,
    }
}

#[derive(Default)]
struct Views {
    list: Vec<String>,
    bytes: usize,
}

impl Views {
    fn full(&self) -> bool {
        self.list.len() >= MAX_VIEWS || self.bytes >= MAX_DECODED
    }
    /// Keeps decoded bytes that read as text (secrets are text).
    fn push(&mut self, bytes: &[u8]) {
        if self.full() || bytes.len() < MIN_BYTES {
            return;
        }
        let Ok(s) = std::str::from_utf8(bytes) else {
            return;
        };
        let printable = s
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .count();
        if printable * 10 < s.chars().count() * 9 {
            return;
        }
        self.bytes += s.len();
        self.list.push(s.to_string());
    }
}

/// One token of a hex dump (`41`, `4157`, `\x41\x57`, `0x41`), checked
/// but not yet decoded: most tokens are only tested, and a decoded one
/// goes straight into its run.
fn hex_token(tok: &str) -> Option<HexToken<'_>> {
    // The quotes and brackets around a token are ASCII, and no byte of a
    // multi-byte character is: trimming bytes trims the same characters.
    let trim = |b: &u8| {
        matches!(
            b,
            b'\'' | b'"' | b'`' | b',' | b';' | b'(' | b')' | b'[' | b']' | b'{' | b'}'
        )
    };
    let b = tok.as_bytes();
    let start = b.iter().position(|c| !trim(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !trim(c)).map_or(start, |i| i + 1);
    let tok = tok.get(start..end)?;
    let b = tok.as_bytes();
    // The first digit is the first byte unless the token opens with a
    // `\x` marker or `0x` (whose `0` is a hex digit): a token that opens
    // with anything else but a backslash is no hex, and that is most words
    // of prose, rejected here without a search for markers.
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_hexdigit() || *c == b'\\')
    {
        return None;
    }
    // (`memchr` to each backslash: a substring searcher per token cost
    // more than the rest of the check, a two-byte window over a long
    // token as much as the whole decode.)
    let escaped = memchr::memchr_iter(b'\\', b).any(|i| b.get(i + 1) == Some(&b'x'));
    let body = if escaped {
        tok
    } else {
        tok.strip_prefix("0x").unwrap_or(tok)
    };
    let token = HexToken { body, escaped };
    let mut count = 0usize;
    for d in token.digits() {
        crate::canon::percent::hex_value(d)?;
        count += 1;
    }
    (count > 0 && count.is_multiple_of(2)).then_some(token)
}

/// A token [`hex_token`] accepted: an even number of hex digits, without
/// its `\x` markers when `escaped`.
struct HexToken<'a> {
    body: &'a str,
    escaped: bool,
}

impl HexToken<'_> {
    fn digits(&self) -> HexDigits<'_> {
        HexDigits {
            rest: self.body.as_bytes(),
            escaped: self.escaped,
        }
    }

    /// Appends the token's bytes to `out`.
    fn decode_into(&self, out: &mut Run) {
        let mut high: Option<u8> = None;
        for v in self.digits().filter_map(crate::canon::percent::hex_value) {
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }
}

/// The bytes of a token with every `\x` marker left out (when `escaped`).
struct HexDigits<'a> {
    rest: &'a [u8],
    escaped: bool,
}

impl Iterator for HexDigits<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        loop {
            match self.rest {
                [b'\\', b'x', tail @ ..] if self.escaped => self.rest = tail,
                [b, tail @ ..] => {
                    self.rest = tail;
                    return Some(*b);
                }
                [] => return None,
            }
        }
    }
}

/// Runs of hex across lines. A line that starts with hex (after an
/// optional offset, `0000010:` or `00000010` before two-digit groups) is
/// part of a dump: its hex tokens up to the first other one (an `xxd` or
/// `hexdump -C` text column) continue the run of the lines before. In any
/// other line each run of hex tokens stands alone (`printf '\x41…'`).
/// The bytes of a run of hex tokens being decoded: inline up to 64 bytes
/// (most runs are a token or two and are dropped as too short).
type Run = smallvec::SmallVec<[u8; 64]>;

fn hex_views(text: &str, out: &mut Views) {
    let mut run = Run::new();
    for line in crate::inspect::normalize::text_lines(text) {
        let mut toks = dump_tokens(line).peekable();
        if let Some(first) = toks.peek() {
            let offset = first.ends_with(':')
                || (first.len() >= 6
                    && first.len() <= 8
                    && first.bytes().all(|b| b.is_ascii_hexdigit())
                    && line.split_whitespace().nth(1).is_some_and(|t| t.len() == 2));
            if offset {
                toks.next();
            }
        }
        let dump = toks.peek().is_some_and(|t| hex_token(t).is_some());
        if !dump {
            out.push(&run);
            run.clear();
            if line.len() <= PREFILTERED_LINE {
                if !may_hold_hex_run(line.as_bytes()) {
                    // Every run this line could make is too short to keep.
                    continue;
                }
            } else {
                // A long line (a paragraph without breaks, minified code,
                // a blob): only its stretches that can hold a run are cut
                // into tokens. An offset taken off a line that is no dump
                // makes no view either way: `…:` is no hex token, and six
                // to eight digits followed by a token that is not hex are
                // a run of at most four bytes.
                stretch_runs(line, out);
                if out.full() {
                    return;
                }
                continue;
            }
        }
        for tok in toks {
            match hex_token(tok) {
                Some(t) => t.decode_into(&mut run),
                None if dump => break,
                None => {
                    out.push(&run);
                    run.clear();
                }
            }
        }
        if !dump {
            out.push(&run);
            run.clear();
        }
        if out.full() {
            return;
        }
    }
    out.push(&run);
}

/// Whether `line` has a stretch of bytes that a run of hex tokens can be
/// made of (hex digits, separators, the quotes and brackets a token is
/// trimmed of, the `x` and `\\` of its markers) holding the hex digits of
/// [`MIN_BYTES`] bytes. A run is consecutive tokens of such bytes, so in a
/// line without that stretch every run is shorter than a view; most lines
/// of prose are, since a word with a letter past `f` breaks the stretch.
///
/// Such a stretch is at least `2 * MIN_BYTES` bytes long, so the stretches
/// are found with the probing walk of the base64 tokens
/// ([`table_runs`](crate::inspect::normalize::table_runs)): in prose most
/// probes land on a letter past `f` and skip 16 bytes. A byte-by-byte count
/// was 12 instructions a byte, the largest part of L3's look at a result.
fn may_hold_hex_run(line: &[u8]) -> bool {
    crate::inspect::normalize::table_runs(line, 2 * MIN_BYTES, &HEX_RUN_BYTE).any(|(start, end)| {
        line.get(start..end)
            .unwrap_or_default()
            .iter()
            .filter(|b| b.is_ascii_hexdigit())
            .count()
            >= 2 * MIN_BYTES
    })
}

/// Lines up to this long are scanned by [`may_hold_hex_run`] first;
/// longer ones go to [`stretch_runs`].
const PREFILTERED_LINE: usize = 512;

/// The runs of hex tokens of a line that is no dump (each run stands
/// alone), cut into tokens only where [`may_hold_hex_run`]'s stretches
/// are: a run lies inside one stretch (its tokens, separators, quotes and
/// markers are all stretch bytes) and needs the hex digits of
/// [`MIN_BYTES`] bytes. A stretch's edge inside the line cuts a token
/// that also holds the byte beyond it, which no hex token can hold: that
/// token only ends a run, so the stretch is taken from after its first
/// separator and up to its last. Every token of 4 KiB of prose on one
/// line went through `memchr3` and [`hex_token`] before: about a third of
/// L3's look at such a result.
fn stretch_runs(line: &str, out: &mut Views) {
    let bytes = line.as_bytes();
    let is_sep = |b: &u8| matches!(b, b' ' | b'\t' | b',');
    for (start, end) in crate::inspect::normalize::table_runs(bytes, 2 * MIN_BYTES, &HEX_RUN_BYTE) {
        let stretch = bytes.get(start..end).unwrap_or_default();
        let from = if start == 0 {
            0
        } else {
            match stretch.iter().position(is_sep) {
                Some(i) => i + 1,
                None => continue,
            }
        };
        let to = if end == bytes.len() {
            stretch.len()
        } else {
            match stretch.iter().rposition(is_sep) {
                Some(i) => i,
                None => continue,
            }
        };
        let Some(piece) = line.get(start + from..start + to.max(from)) else {
            continue;
        };
        if piece.bytes().filter(u8::is_ascii_hexdigit).count() < 2 * MIN_BYTES {
            continue;
        }
        let mut run = Run::new();
        for tok in dump_tokens(piece) {
            match hex_token(tok) {
                Some(t) => t.decode_into(&mut run),
                None => {
                    out.push(&run);
                    run.clear();
                }
            }
        }
        out.push(&run);
        if out.full() {
            return;
        }
    }
}

/// [`may_hold_hex_run`]'s stretch bytes, as a table: hex digits and the
/// bytes a run may hold besides them.
#[allow(clippy::indexing_slicing, reason = "b < 256 indexes a 256-entry table")]
static HEX_RUN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_hexdigit()
            || matches!(
                c,
                b' ' | b'\t'
                    | b','
                    | b'x'
                    | b'\\'
                    | b'\''
                    | b'"'
                    | b'`'
                    | b';'
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
            );
        b += 1;
    }
    t
};

/// The non-empty pieces of `line` between spaces, tabs and commas
/// (`memchr3` to each separator instead of a character search).
fn dump_tokens(line: &str) -> impl Iterator<Item = &str> {
    let mut at = 0;
    let mut seps =
        memchr::memchr3_iter(b' ', b'\t', b',', line.as_bytes()).chain(std::iter::once(line.len()));
    std::iter::from_fn(move || loop {
        let end = seps.next()?;
        let start = std::mem::replace(&mut at, end + 1);
        // Separators are ASCII: both ends are character boundaries.
        match line.get(start..end) {
            Some(tok) if !tok.is_empty() => return Some(tok),
            _ => continue,
        }
    })
}

/// RFC 4648 base32 (upper case, padding optional); `None` if `tok` is not.
fn base32(tok: &str) -> Option<Vec<u8>> {
    let tok = tok.trim_end_matches('=');
    if tok.len() < 16 {
        return None;
    }
    let mut out = Vec::with_capacity(tok.len() * 5 / 8);
    let (mut acc, mut bits) = (0u64, 0u32);
    for c in tok.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `views` as it was before its fast paths (character split, every
    /// token decoded in full), to check they change no output.
    fn views_reference(text: &str) -> Vec<String> {
        if text.len() < MIN_BYTES {
            return Vec::new();
        }
        let mut out = Views::default();
        hex_views(text, &mut out);
        if crate::canon::percent::has_percent_escape(text.as_bytes()) {
            let decoded = crate::canon::percent::percent_decode_once(text.as_bytes());
            out.push(&decoded);
        }
        for tok in text.split(|c: char| {
            !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '='))
        }) {
            if out.full() {
                break;
            }
            let tok = tok.trim_end_matches('=');
            if tok.len() < 12 {
                continue;
            }
            if let Some(b) = base32(tok) {
                out.push(&b);
                continue;
            }
            for e in [
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                if let Ok(bytes) = e.decode(tok) {
                    out.push(&bytes);
                    break;
                }
            }
        }
        out.list
    }

    #[test]
    fn token_splitters_are_the_character_splits() {
        for text in [
            "",
            " ",
            ",,",
            "a",
            "a b",
            " a\tb,,c ",
            "x=1, y=2\t\tz",
            "é,ü ß\t€",
            "AAAA/+==é--__x",
            "  leading and trailing  ",
            "no-separators-at-all",
        ] {
            let old_dump: Vec<&str> = text
                .split([' ', '\t', ','])
                .filter(|t| !t.is_empty())
                .collect();
            assert_eq!(dump_tokens(text).collect::<Vec<_>>(), old_dump, "{text:?}");
            for min_len in [1, 3, MIN_TOKEN] {
                let old_enc: Vec<&str> = text
                    .split(|c: char| {
                        !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '='))
                    })
                    .filter(|t| t.len() >= min_len)
                    .collect();
                assert_eq!(
                    encoded_tokens(text, min_len).collect::<Vec<_>>(),
                    old_enc,
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn fast_paths_change_no_view() {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let prose =
            "DB_PASSWORD=hunter2-Xy9 and the token is Zq8vLw3nRt5yUi2oPa7sHj4kL9mN2bV6cX1z ok? ";
        let long = prose.repeat(3);
        let mut pieces: Vec<String> = vec![
            "x".repeat(4096),
            "A".repeat(200),
            "é".repeat(40),
            "\\x41\\x42\\x43\\x44\\x45\\x46\\x47\\x48".into(),
            "4142434445464748494a".into(),
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            STANDARD_NO_PAD.encode(&long),
            URL_SAFE_NO_PAD.encode(&long),
            STANDARD_NO_PAD.encode("ü€ text with ~~~ and ??? >>> marks ".repeat(4)),
            URL_SAFE_NO_PAD.encode("ü€ text with ~~~ and ??? >>> marks ".repeat(4)),
            STANDARD_NO_PAD.encode([0xC3u8, 0xA9, 0xE2, 0x82, 0xAC].repeat(30)),
            STANDARD_NO_PAD.encode([0xFFu8, 0xFE, 0x41].repeat(40)),
            format!("{}-{}", "x".repeat(100), "y".repeat(30)),
            format!("{}+/{}", "Q".repeat(90), "w".repeat(30)),
        ];
        // The encodings cut at every length around the 64-character prefix.
        for cut in [60, 63, 64, 65, 66, 67, 68, 70, 85, 86, 87] {
            for p in [
                STANDARD_NO_PAD.encode(&long),
                URL_SAFE_NO_PAD.encode(prose.repeat(2) + "é€"),
            ] {
                pieces.push(p[..cut.min(p.len())].to_string());
            }
        }
        for (i, a) in pieces.iter().enumerate() {
            for b in pieces.iter().skip(i).take(3) {
                for text in [a.clone(), format!("{a} {b}"), format!("key: {a}\n{b},{a}")] {
                    assert_eq!(views(&text), views_reference(&text), "{text}");
                }
            }
        }
    }

    /// `hex_views` as it was before it skipped lines without a long
    /// enough stretch of hex.
    fn hex_views_reference(text: &str, out: &mut Views) {
        let mut run = Run::new();
        for line in text.lines() {
            let mut toks = dump_tokens(line).peekable();
            if let Some(first) = toks.peek() {
                let offset = first.ends_with(':')
                    || (first.len() >= 6
                        && first.len() <= 8
                        && first.bytes().all(|b| b.is_ascii_hexdigit())
                        && line.split_whitespace().nth(1).is_some_and(|t| t.len() == 2));
                if offset {
                    toks.next();
                }
            }
            let dump = toks.peek().is_some_and(|t| hex_token(t).is_some());
            if !dump {
                out.push(&run);
                run.clear();
            }
            for tok in toks {
                match hex_token(tok) {
                    Some(t) => t.decode_into(&mut run),
                    None if dump => break,
                    None => {
                        out.push(&run);
                        run.clear();
                    }
                }
            }
            if !dump {
                out.push(&run);
                run.clear();
            }
            if out.full() {
                return;
            }
        }
        out.push(&run);
    }

    #[test]
    fn skipped_lines_change_no_hex_view() {
        let lines = [
            "Build with cargo and copy the binary to the host; see the docs.",
            "be a deaf bee fed",
            "cafe babe dead beef fade face bead 1234",
            "dead beef cafe babe 0xdeadbeef 0x41424344",
            "printf '\\x44\\x42\\x5f\\x50\\x41\\x53\\x53\\x3d\\x68\\x75'",
            "00000000: 4442 5f50 4153 5357 4f52 443d 6875 6e74  DB_PASSWORD=hunt",
            "00000010: 6572 32                                  er2",
            "0000000 44 42 5f 50 41 53 53 57",
            "0000010 4f 52 44 3d",
            "44425f50415353574f52443d68756e74657232",
            "(\"4442\", \"5f50\", \"4153\", \"5357\", \"4f52\", \"443d\")",
            "ab cd ef 01 23 45 67 89 ab cd ef",
            "a1b2c3d4e5f6a7b8 is the commit",
            "the commit a1b2c3d4e5f6a7b8c9d0 fixed it",
            "x41 x42 x43 x44 x45 x46 x47 x48 x49",
            "\\x41\\x42 \\x43\\x44 \\x45\\x46 \\x47\\x48",
            "4142434445464748:4142434445464748",
            "é4142434445464748494a",
            "",
            "   ",
        ];
        let mut texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        // Long lines, which go straight to the tokeniser, with and without
        // a run, and `\r\n` breaks.
        let long = "be a deaf bee fed, a cafe ".repeat(30);
        texts.push(long.clone());
        texts.push(format!("{long}4142434445464748494a {long}"));
        texts.push(format!(
            "{long}\r\n00000000: 4442 5f50 4153 5357 4f52 443d 6875 6e74\r\n"
        ));
        // Long lines cut into stretches: runs at the start, in the middle
        // and at the end; tokens cut by a stretch's edge (`zz4142…`,
        // `…4748q`); an offset first; runs split by a word; `\x` and `0x`.
        let words = "the quick brown fox jumps over the lazy dog ".repeat(14);
        for run in [
            "4142434445464748494a",
            "zz41424344454647484950 4142434445464748",
            "41424344454647484950q 4142434445464748494a4b",
            "0x41 0x42 0x43 0x44 0x45 0x46 0x47 0x48 0x49",
            "\\x41\\x42\\x43\\x44\\x45\\x46\\x47\\x48",
            "41 42 43 44 45 46 47 48, 49 4a",
            "4142 4344 fox 4546 4748 494a 4b4c 4d4e 4f50",
            "(\"4142\", \"4344\", \"4546\", \"4748\")",
        ] {
            texts.push(format!("{run} {words}"));
            texts.push(format!("{words}{run} {words}"));
            texts.push(format!("{words}{run}"));
            texts.push(format!("{words}{run},{words}"));
            texts.push(format!("00000010 {run} {words}"));
            texts.push(format!("Note: {run} {words}"));
            texts.push(format!(" ,Echo: {words}{run}"));
        }
        for (i, a) in lines.iter().enumerate() {
            for b in lines.iter().skip(i) {
                texts.push(format!("{a}\n{b}"));
                texts.push(format!("{b}\n{a}\n{b}"));
            }
        }
        for t in &texts {
            let (mut got, mut want) = (Views::default(), Views::default());
            hex_views(t, &mut got);
            hex_views_reference(t, &mut want);
            assert_eq!(got.list, want.list, "{t:?}");
        }
        // The test has texts with views on both sides of the skip.
        let mut some = Views::default();
        hex_views(&texts.join("\n"), &mut some);
        assert!(some.list.iter().any(|v| v.contains("DB_PASSWORD=hunt")));
    }

    proptest::proptest! {
        /// Long lines (cut into stretches) give the views the reference
        /// gives, whatever mix of hex, separators, markers and letters
        /// repeats in them.
        #[test]
        fn long_lines_give_the_same_hex_views(
            unit in "[0-9a-fA-Fx\\\\ ,;'\"(gz:é]{1,40}",
            times in 13usize..60,
            head in "[0-9a-fA-Fx\\\\ ,;'\"(gz:é]{0,40}",
        ) {
            let s = format!("{head}{}", unit.repeat(times));
            let (mut got, mut want) = (Views::default(), Views::default());
            hex_views(&s, &mut got);
            hex_views_reference(&s, &mut want);
            proptest::prop_assert_eq!(got.list, want.list);
        }
    }

    proptest::proptest! {
        /// On text dense in hex digits, separators, markers, breaks and
        /// letters that end a stretch, skipping lines changes no view.
        #[test]
        fn skipped_lines_change_no_hex_view_anywhere(
            s in "[0-9a-fA-Fx\\\\ ,;'\"(g\r\n:é]{0,300}"
        ) {
            let (mut got, mut want) = (Views::default(), Views::default());
            hex_views(&s, &mut got);
            hex_views_reference(&s, &mut want);
            proptest::prop_assert_eq!(got.list, want.list);
        }
    }

    /// `hex_token` as it was before its byte trim and early reject.
    fn hex_token_reference(tok: &str) -> Option<(&str, bool)> {
        let tok = tok.trim_matches(|c| {
            matches!(
                c,
                '\'' | '"' | '`' | ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}'
            )
        });
        let escaped = tok.contains("\\x");
        let body = if escaped {
            tok
        } else {
            tok.strip_prefix("0x").unwrap_or(tok)
        };
        let token = HexToken { body, escaped };
        let mut count = 0usize;
        for d in token.digits() {
            crate::canon::percent::hex_value(d)?;
            count += 1;
        }
        (count > 0 && count.is_multiple_of(2)).then_some((body, escaped))
    }

    #[test]
    fn hex_token_early_reject_changes_no_decision() {
        let mut toks: Vec<String> = [
            "",
            "'",
            "()",
            "41",
            "4",
            "0x",
            "0x41",
            "0x4",
            "x41",
            "g41",
            "\\",
            "\\x",
            "\\x41",
            "\\x4",
            "\\x41\\x42",
            "41\\x42",
            "\\n41\\x42",
            "\\\\x41",
            "ab\\xcd",
            "deadbeef",
            "DEADBEEF;",
            "\"\\x41\\x42\",",
            "(0x4142)",
            "[`41`]",
            "'é'",
            "é41",
            "41é",
            "é",
            "€4142",
            "4142€",
            "{'0a0b'}",
            "0X41",
            "the",
            "cafe",
            "Café",
            "fade-in",
            "`41`;",
            "((41))",
            "41)",
            "(41",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Every token again behind and before each trimmed character.
        let base = toks.clone();
        for t in &base {
            for c in ['\'', '"', '`', ',', ';', '(', ')', '[', ']', '{', '}'] {
                toks.push(format!("{c}{t}"));
                toks.push(format!("{t}{c}"));
            }
        }
        for t in &toks {
            assert_eq!(
                hex_token(t).map(|h| (h.body, h.escaped)),
                hex_token_reference(t),
                "{t:?}"
            );
        }
    }

    const SECRET: &str = "DB_PASSWORD=hunter2-Xy9";

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn has(views: &[String], want: &str) -> bool {
        views.iter().any(|v| v.contains(want))
    }

    #[test]
    fn plain_and_escaped_hex() {
        assert!(has(&views(&hex(SECRET)), SECRET));
        let escaped: String = SECRET.bytes().map(|b| format!("\\x{b:02x}")).collect();
        assert!(has(&views(&format!("printf '{escaped}'")), SECRET));
        let c_array: Vec<String> = SECRET.bytes().map(|b| format!("0x{b:02X}")).collect();
        assert!(has(&views(&c_array.join(", ")), SECRET));
    }

    #[test]
    fn dump_formats() {
        let bytes = format!("{SECRET}\nAPI_TOKEN=abcdef0123456789\n");
        // od -An -tx1: 16 two-digit groups per line.
        let od: Vec<String> = bytes
            .as_bytes()
            .chunks(16)
            .map(|c| c.iter().map(|b| format!(" {b:02x}")).collect())
            .collect();
        assert!(has(&views(&od.join("\n")), SECRET), "od");
        // xxd: offset, groups of four digits, the text column.
        let xxd: Vec<String> = bytes
            .as_bytes()
            .chunks(16)
            .enumerate()
            .map(|(i, c)| {
                let groups: Vec<String> = c
                    .chunks(2)
                    .map(|p| p.iter().map(|b| format!("{b:02x}")).collect())
                    .collect();
                let text: String = c
                    .iter()
                    .map(|b| {
                        if b.is_ascii_graphic() {
                            *b as char
                        } else {
                            '.'
                        }
                    })
                    .collect();
                format!("{:08x}: {}  {text}", i * 16, groups.join(" "))
            })
            .collect();
        assert!(has(&views(&xxd.join("\n")), SECRET), "xxd");
        // hexdump -C: offset, two halves, |text|.
        let hd: Vec<String> = bytes
            .as_bytes()
            .chunks(16)
            .enumerate()
            .map(|(i, c)| {
                let h: Vec<String> = c.iter().map(|b| format!("{b:02x}")).collect();
                format!("{:08x}  {}  |{}|", i * 16, h.join(" "), "x".repeat(c.len()))
            })
            .collect();
        assert!(has(&views(&hd.join("\n")), SECRET), "hexdump -C");
        // xxd -p: 60 digits a line.
        let p = hex(&bytes);
        let lines: Vec<&str> = p
            .as_bytes()
            .chunks(60)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        assert!(has(&views(&lines.join("\n")), SECRET), "xxd -p");
    }

    #[test]
    fn percent_base32_base64() {
        let pct: String = SECRET.bytes().map(|b| format!("%{b:02X}")).collect();
        assert!(has(&views(&format!("https://x.test/?q={pct}")), SECRET));
        // base32 of the secret (RFC 4648).
        assert!(has(
            &views("IRBF6UCBKNJVOT2SIQ6WQ5LOORSXEMRNLB4TS==="),
            SECRET
        ));
        assert!(has(&views("REJfUEFTU1dPUkQ9aHVudGVyMi1YeTk="), SECRET));
    }

    #[test]
    fn ordinary_text_has_no_views() {
        assert!(views("cargo build --release && ls -la src/").is_empty());
        assert!(views("the quick brown fox jumps over the lazy dog").is_empty());
        assert!(views("").is_empty());
        // Binary that decodes is not text: no view.
        assert!(views("ffd8ffe000104a46494600010100000100010000").is_empty());
    }

    #[test]
    fn bounded() {
        let many = format!("{} ", hex(SECRET)).repeat(10_000);
        let v = views(&many);
        assert!(v.len() <= MAX_VIEWS);
        assert!(v.iter().map(String::len).sum::<usize>() <= MAX_DECODED + 64 * 1024);
    }
}
