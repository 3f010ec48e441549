//! Hosts as the network stack will see them: names lowercased, addresses
//! in every spelling `inet_aton` and the IPv6 parser accept folded to one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::percent::percent_decode_repeated;

/// Rounds of percent-decoding [`canonical_host`] applies.
const HOST_PERCENT_ROUNDS: usize = 4;

/// A host as the network stack would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostView {
    /// An address literal in any accepted spelling. IPv4-mapped and
    /// IPv4-compatible IPv6 addresses are reported as their IPv4 address.
    Ip(IpAddr),
    /// A DNS name: lowercased, trailing dots removed (no IDNA processing).
    Name(String),
}

/// Canonicalise a host string.
///
/// Surrounding whitespace and IPv6 brackets are removed, and so is an IPv6
/// zone id (`%eth0` or `%25eth0`). The text is percent-decoded (repeatedly,
/// bounded). IPv6 literals are parsed, with `::ffff:a.b.c.d`, `::ffff:7f00:1`
/// and the deprecated IPv4-compatible `::a.b.c.d` reported as IPv4 (`::` and
/// `::1` stay IPv6). IPv4 is parsed in every form `inet_aton` accepts (see
/// [`parse_ipv4_loose`]), also with trailing dots, which some resolvers strip.
/// Anything else is a [`HostView::Name`].
pub fn canonical_host(host: &str) -> HostView {
    if let Some(ip) = ipv6_literal(host) {
        return HostView::Ip(ip);
    }
    let decoded = percent_decode_repeated(host, HOST_PERCENT_ROUNDS);
    let text = decoded.as_deref().unwrap_or(host);
    if let Some(ip) = ipv6_literal(text) {
        return HostView::Ip(ip);
    }
    // Whitespace and trailing dots in any order: "x\r." and "x.\r" are "x".
    let text = strip_brackets(text.trim())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_start();
    if let Some(v4) = parse_ipv4_loose(text) {
        return HostView::Ip(IpAddr::V4(v4));
    }
    HostView::Name(text.to_lowercase())
}

pub fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(s)
}

/// An IPv6 literal (brackets and zone id allowed), mapped to IPv4 where it embeds one.
pub fn ipv6_literal(s: &str) -> Option<IpAddr> {
    let inner = strip_brackets(s.trim());
    if !inner.contains(':') {
        return None;
    }
    let without_zone = inner.split('%').next().unwrap_or(inner);
    let v6: Ipv6Addr = without_zone.parse().ok()?;
    Some(ipv6_view(v6))
}

pub fn ipv6_view(v6: Ipv6Addr) -> IpAddr {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let seg = v6.segments();
    let compatible = seg[..6].iter().all(|s| *s == 0) && !(seg[6] == 0 && seg[7] <= 1);
    if compatible {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    }
    IpAddr::V6(v6)
}

/// Parse IPv4 the way glibc's `inet_aton` does.
///
/// One to four parts separated by dots; each part is decimal, octal with a
/// leading `0`, or hex with `0x`/`0X`. Every part but the last is one byte; the
/// last fills the remaining bytes (`127.1` is `127.0.0.1`, `0x7f000001` is
/// `127.0.0.1`, `169.254.43518` is `169.254.169.254`). A part that overflows its
/// room, an `8` or `9` in octal, or an empty part is rejected. As in glibc, the
/// address may be followed by ASCII whitespace and then anything, or by NUL:
/// `getaddrinfo("127.1 x")` connects to 127.0.0.1.
pub fn parse_ipv4_loose(s: &str) -> Option<Ipv4Addr> {
    const LAST_PART_MAX: [u64; 4] = [0xffff_ffff, 0xff_ffff, 0xffff, 0xff];
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut leading = [0u8; 3];
    let mut count = 0;
    loop {
        let (value, next) = parse_c_number(bytes, pos)?;
        pos = next;
        match bytes.get(pos) {
            Some(b'.') => {
                // A fourth dot: not an address.
                let part = leading.get_mut(count)?;
                *part = u8::try_from(value).ok()?;
                count += 1;
                pos += 1;
            }
            other => {
                let trailing_ok = match other {
                    None | Some(0) => true,
                    Some(b) => matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
                };
                // count <= leading.len(), so the lookup always succeeds.
                if !trailing_ok || value > *LAST_PART_MAX.get(count)? {
                    return None;
                }
                let mut addr = u32::try_from(value).ok()?;
                for (i, byte) in leading.iter().take(count).enumerate() {
                    addr |= u32::from(*byte) << (24 - 8 * i);
                }
                return Some(Ipv4Addr::from(addr));
            }
        }
    }
}

/// A number as `strtoul(…, 0)` reads it, which must start with a digit.
/// Returns the value and the index after it; values above `u32::MAX` are rejected.
pub fn parse_c_number(bytes: &[u8], start: usize) -> Option<(u64, usize)> {
    let first = *bytes.get(start)?;
    if !first.is_ascii_digit() {
        return None;
    }
    let (radix, mut pos) = if first != b'0' {
        (10, start)
    } else if matches!(bytes.get(start + 1), Some(b'x' | b'X'))
        && bytes.get(start + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, start + 2)
    } else {
        (8, start)
    };
    let mut value: u64 = 0;
    while let Some(digit) = bytes.get(pos).and_then(|b| char::from(*b).to_digit(radix)) {
        value = value * u64::from(radix) + u64::from(digit);
        if value > u64::from(u32::MAX) {
            return None;
        }
        pos += 1;
    }
    Some((value, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_trailing_dots_in_any_order() {
        for v in ["x", "x.", "x\r.", "x.\r", " x .", "X.."] {
            assert_eq!(canonical_host(v), HostView::Name("x".into()), "{v:?}");
        }
    }
}
