//! Which resolved addresses are internal: never reached through the proxy
//! unless the allow-list names the address itself. This is what stops a
//! listed name that resolves (or is re-bound) to `127.0.0.1`, a private
//! range or a cloud metadata service from reaching it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is internal, in words for the audit log; `None` when public.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        _ if ip == Ipv4Addr::new(100, 100, 100, 200) => "cloud metadata",
        (0, _) => "unspecified (this network)",
        (127, _) => "loopback",
        (10, _) | (192, 168) => "private",
        (172, 16..=31) => "private",
        (169, 254) => "link-local",
        (100, 64..=127) => "shared address space (carrier-grade NAT)",
        (192, 0) if c == 0 => "IETF protocol assignments",
        (198, 18 | 19) => "benchmarking",
        (224..=239, _) => "multicast",
        (240..=255, _) => {
            if (a, b, c, d) == (255, 255, 255, 255) {
                "broadcast"
            } else {
                "reserved"
            }
        }
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let seg = ip.segments();
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if seg[..6] == [0; 6] {
        // Deprecated IPv4-compatible ::a.b.c.d.
        return v4_kind(embedded_v4(seg[6], seg[7])).or(Some("IPv4-compatible"));
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: the gateway would connect to the embedded IPv4 address.
        return v4_kind(embedded_v4(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        // 6to4 embeds an IPv4 address in bits 16..48.
        return v4_kind(embedded_v4(seg[1], seg[2]));
    }
    Some(match seg[0] {
        0xfd00 if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "cloud metadata",
        s if s & 0xfe00 == 0xfc00 => "unique local (private)",
        s if s & 0xffc0 == 0xfe80 => "link-local",
        s if s & 0xffc0 == 0xfec0 => "site-local (deprecated)",
        s if s & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        internal_kind(s.parse().expect("ip"))
    }

    #[test]
    fn internal_ranges_are_named() {
        assert_eq!(kind("127.0.0.1"), Some("loopback"));
        assert_eq!(kind("127.9.9.9"), Some("loopback"));
        assert_eq!(kind("10.1.2.3"), Some("private"));
        assert_eq!(kind("172.31.255.1"), Some("private"));
        assert_eq!(kind("192.168.1.1"), Some("private"));
        assert_eq!(kind("169.254.169.254"), Some("cloud metadata"));
        assert_eq!(kind("169.254.1.1"), Some("link-local"));
        assert_eq!(
            kind("100.64.0.1"),
            Some("shared address space (carrier-grade NAT)")
        );
        assert_eq!(kind("0.0.0.0"), Some("unspecified (this network)"));
        assert_eq!(kind("::1"), Some("loopback"));
        assert_eq!(kind("fd12::1"), Some("unique local (private)"));
        assert_eq!(kind("fe80::1"), Some("link-local"));
        assert_eq!(kind("fd00:ec2::254"), Some("cloud metadata"));
    }

    #[test]
    fn embedded_ipv4_is_judged_as_ipv4() {
        assert_eq!(kind("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(kind("::ffff:169.254.169.254"), Some("cloud metadata"));
        assert_eq!(kind("64:ff9b::a00:1"), Some("private"));
        assert_eq!(kind("2002:7f00:1::"), Some("loopback"));
        assert_eq!(kind("64:ff9b::808:808"), None);
    }

    #[test]
    fn public_addresses_are_not_internal() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "100.128.0.1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }
}
