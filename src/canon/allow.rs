//! The egress allow-list: `host:port` entries, a leading `*.` wildcard, and
//! address literals. Pure matching, shared by the proxy (on the host it is
//! asked for) and the inspector (on the host a tool call's URL names).
//!
//! Hosts are compared in the form [`canonical_host`] gives: lowercased names
//! without trailing dots, and addresses in any spelling folded to one
//! (`127.1`, `0x7f000001` and `::ffff:127.0.0.1` are all `127.0.0.1`), so a
//! host cannot dodge the list by writing itself differently.

use super::host::{canonical_host, HostView};
use std::net::IpAddr;

/// One entry's host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// A DNS name, exactly.
    Name(String),
    /// `*.example.org`: any name ending in `.example.org` (not the bare domain).
    Subdomains(String),
    /// An address literal. Only such an entry lets the proxy connect to a
    /// loopback, private, link-local or metadata address.
    Address(IpAddr),
}

/// One `host:port` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: HostPattern,
    port: u16,
}

/// The destinations the server may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

/// Why an allow-list entry was refused; the message names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowListError {
    #[error("{0:?}: expected HOST:PORT (IPv6 as [ADDR]:PORT)")]
    NotHostPort(String),
    #[error("{0:?}: bad wildcard (only a leading \"*.\" is allowed)")]
    BadWildcard(String),
    #[error("{0:?}: bad host")]
    BadHost(String),
}

/// A host name an allow-list may hold: letters, digits, `-`, `_` and dots
/// (no brackets, colons, spaces or controls that would not read back).
fn is_host_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl AllowList {
    /// Parses `host:port` entries (`[v6]:port` for IPv6, `*.name:port`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, AllowListError> {
        let mut out = Vec::with_capacity(entries.len());
        for raw in entries {
            let raw = raw.as_ref();
            let (host, port) =
                split_host_port(raw).ok_or_else(|| AllowListError::NotHostPort(raw.to_string()))?;
            let host = match host.strip_prefix("*.") {
                Some(domain) if is_host_name(domain.trim_end_matches('.')) => {
                    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                    HostPattern::Subdomains(format!(".{domain}"))
                }
                Some(_) => return Err(AllowListError::BadWildcard(raw.to_string())),
                None => match canonical_host(host) {
                    HostView::Ip(ip) => HostPattern::Address(ip),
                    HostView::Name(n) if is_host_name(&n) => HostPattern::Name(n),
                    HostView::Name(_) => return Err(AllowListError::BadHost(raw.to_string())),
                },
            };
            out.push(Entry { host, port });
        }
        Ok(AllowList { entries: out })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `host:port` is on the list (by name, wildcard or address).
    pub fn permits(&self, host: &HostView, port: u16) -> bool {
        self.entries.iter().any(|e| {
            e.port == port
                && match (&e.host, host) {
                    (HostPattern::Name(n), HostView::Name(h)) => n == h,
                    (HostPattern::Subdomains(suffix), HostView::Name(h)) => {
                        h.len() > suffix.len() && h.ends_with(suffix.as_str())
                    }
                    (HostPattern::Address(a), HostView::Ip(ip)) => a == ip,
                    _ => false,
                }
        })
    }

    /// Whether `host` is on the list for some port (URLs without a port and
    /// with a scheme whose default port is unknown).
    pub fn permits_any_port(&self, host: &HostView) -> bool {
        self.entries.iter().any(|e| self.permits(host, e.port))
    }

    /// Whether the list names this exact address and port, which is what it
    /// takes to reach an internal address (the DNS-rebinding defence).
    /// `localhost:PORT` names the loopback addresses on that port.
    pub fn names_address(&self, ip: IpAddr, port: u16) -> bool {
        self.permits(&HostView::Ip(ip), port)
            || (ip.is_loopback() && self.permits(&HostView::Name("localhost".into()), port))
    }

    /// The host's loopback destinations on the list as clients spell them
    /// (`127.0.0.1:5432`, `localhost:8080`, `[::1]:6379`): the address to
    /// connect to on the host and the port, one per port, in order. Other
    /// loopback addresses (`127.0.0.2`) are reached through the proxy only.
    pub fn loopback_destinations(&self) -> Vec<(IpAddr, u16)> {
        let mut out: Vec<(IpAddr, u16)> = Vec::new();
        let v4 = IpAddr::from([127, 0, 0, 1]);
        let v6 = IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
        for e in &self.entries {
            let ip = match &e.host {
                HostPattern::Address(ip) if *ip == v4 || *ip == v6 => *ip,
                HostPattern::Name(n) if n == "localhost" => IpAddr::from([127, 0, 0, 1]),
                _ => continue,
            };
            if !out.iter().any(|(_, p)| *p == e.port) {
                out.push((ip, e.port));
            }
        }
        out
    }

    /// The entries as written back (`*.example.org:443`, `[::1]:80`).
    pub fn describe(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| match &e.host {
                HostPattern::Name(n) => format!("{n}:{}", e.port),
                HostPattern::Subdomains(s) => format!("*{s}:{}", e.port),
                HostPattern::Address(IpAddr::V6(a)) => format!("[{a}]:{}", e.port),
                HostPattern::Address(a) => format!("{a}:{}", e.port),
            })
            .collect()
    }
}

/// Splits `host:port` / `[v6]:port`. The host keeps its brackets.
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        (&s[..=close], s[close + 1..].strip_prefix(':')?)
    } else {
        let (host, port) = s.rsplit_once(':')?;
        if host.contains(':') {
            return None;
        }
        (host, port)
    };
    if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_not_read_back_are_refused() {
        // Found by fuzzing: each was accepted and described as text that
        // does not parse (or parses differently).
        for bad in ["[:]:2", "%5B:6", "\u{FFFD}\r.:8", "a b:80", "*.[x]:443"] {
            assert!(AllowList::parse(&[bad]).is_err(), "{bad:?} accepted");
        }
        for good in [
            "api.example.com:443",
            "*.example.com:443",
            "my_host-1:8080",
            "x.:80",
        ] {
            assert!(AllowList::parse(&[good]).is_ok(), "{good:?} refused");
        }
    }

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(entries).expect("valid list")
    }

    fn name(n: &str) -> HostView {
        canonical_host(n)
    }

    #[test]
    fn names_match_exactly_and_by_port() {
        let l = list(&["api.github.com:443"]);
        assert!(l.permits(&name("API.GitHub.com."), 443));
        assert!(!l.permits(&name("api.github.com"), 80));
        assert!(!l.permits(&name("evil-api.github.com"), 443));
        assert!(!l.permits(&name("github.com"), 443));
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let l = list(&["*.example.org:443"]);
        assert!(l.permits(&name("a.example.org"), 443));
        assert!(l.permits(&name("b.a.example.org"), 443));
        assert!(!l.permits(&name("example.org"), 443));
        assert!(!l.permits(&name("badexample.org"), 443));
    }

    #[test]
    fn addresses_match_in_any_spelling() {
        let l = list(&["127.0.0.1:8080", "[::1]:9"]);
        for spelling in ["127.0.0.1", "127.1", "0x7f000001", "[::ffff:127.0.0.1]"] {
            assert!(l.permits(&name(spelling), 8080), "{spelling}");
        }
        assert!(l.names_address("::1".parse().expect("ip"), 9));
        assert!(!l.names_address("127.0.0.2".parse().expect("ip"), 8080));
    }

    #[test]
    fn a_name_never_matches_an_address_entry_or_the_reverse() {
        let l = list(&["localhost:80", "10.0.0.1:80"]);
        assert!(!l.permits(&name("127.0.0.1"), 80));
        assert!(!l.permits(&name("10.0.0.1.nip.io"), 80));
    }

    #[test]
    fn localhost_names_the_loopback_addresses_on_its_port() {
        let l = list(&[
            "localhost:8080",
            "127.0.0.1:5432",
            "[::1]:5432",
            "10.0.0.1:80",
            "127.0.0.2:81",
        ]);
        assert!(l.names_address("127.0.0.1".parse().expect("ip"), 8080));
        assert!(l.names_address("::1".parse().expect("ip"), 8080));
        assert!(!l.names_address("127.0.0.1".parse().expect("ip"), 8081));
        assert_eq!(
            l.loopback_destinations(),
            vec![
                ("127.0.0.1".parse().expect("ip"), 8080),
                ("127.0.0.1".parse().expect("ip"), 5432)
            ],
            "one per port, private addresses are not the host's loopback"
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "example.org",
            "example.org:x",
            "*.:443",
            "a*.b:1",
            "::1:80",
            ":80",
        ] {
            assert!(AllowList::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn describe_round_trips() {
        let entries = ["*.example.org:443", "[::1]:80", "host.test:1"];
        assert_eq!(list(&entries).describe(), entries);
    }
}
