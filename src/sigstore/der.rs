//! A minimal DER reader for the few structures x509-parser does not give us
//! (RFC 3161 timestamp tokens, the SCT extension's surroundings): walk
//! tag-length-value triples, nothing more.

/// One TLV: its tag byte, its contents, and all of its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub whole: &'a [u8],
}

/// Reads the TLV at the start of `input`; returns it and what follows.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags never occur in what we read
    }
    let (&first, rest) = rest.split_first()?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
            2 + n,
        )
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    let content = input.get(header..end)?;
    Some((
        Tlv {
            tag,
            content,
            whole,
        },
        input.get(end..)?,
    ))
}

/// Reads a TLV that must have tag `tag`.
pub fn expect(input: &[u8], tag: u8) -> Option<(Tlv<'_>, &[u8])> {
    read(input).filter(|(t, _)| t.tag == tag)
}

/// The TLVs inside a constructed value.
pub fn children(content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (t, r) = read(rest)?;
        out.push(t);
        rest = r;
    }
    Some(out)
}

/// Encodes a TLV (definite length).
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// Seconds since the epoch from a GeneralizedTime `YYYYMMDDHHMMSS[.f]Z`.
pub fn generalized_time(content: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(content).ok()?;
    let (date, _) = s.split_at_checked(14)?;
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        date.get(0..4)?,
        date.get(4..6)?,
        date.get(6..8)?,
        date.get(8..10)?,
        date.get(10..12)?,
        date.get(12..14)?
    );
    if !s.ends_with('Z') {
        return None;
    }
    super::time::parse_rfc3339(&iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_encodes_short_and_long_lengths() {
        let long = encode(0x04, &[7u8; 300]);
        let (t, rest) = read(&long).unwrap();
        assert_eq!((t.tag, t.content.len(), rest.len()), (0x04, 300, 0));
        assert!(read(&long[..long.len() - 1]).is_none());
        assert_eq!(
            generalized_time(b"20260409072329Z"),
            super::super::time::parse_rfc3339("2026-04-09T07:23:29Z")
        );
    }
}
