//! L1 half of the network allow-list: in allow-list mode, a tool call whose
//! URL names a destination outside the list is blocked (`NET-ALLOWLIST`)
//! before the server tries. The egress proxy (in the sandbox)
//! enforces the same list on the connection, so a URL this layer cannot see
//! (built by the server, fetched by a redirect) still meets it.
//!
//! No I/O here: names are judged as written, addresses in canonical form
//! (`http://0x7f.1/` is `127.0.0.1`). Resolving and the internal-address
//! check belong to the proxy, which connects to what it resolved.

use super::normalize::{canonical_host, HostView, UrlParts};
use super::verdict::{Decision, Finding, Layer};
use crate::canon::AllowList;
use crate::policy::{Action, NetMode, Policy, Severity};

/// The rule id of this check (escalate or silence it with `rule_actions`).
pub const RULE: &str = "NET-ALLOWLIST";

/// The allow-list as the inspector uses it.
#[derive(Debug, Clone)]
pub struct UrlAllowList {
    list: AllowList,
}

impl UrlAllowList {
    /// `Some` in network allow-list mode. An entry that does not parse
    /// leaves the list empty, which blocks every URL (the proxy refuses to
    /// start on the same list, with the error).
    pub fn for_policy(policy: &Policy) -> Option<UrlAllowList> {
        (policy.network.mode == NetMode::Allowlist).then(|| UrlAllowList {
            list: policy.network.allow_list.clone(),
        })
    }

    /// Why `url` may not be fetched, or `None` when it may. Schemes without
    /// a network destination (`file`) pass.
    pub fn refusal(&self, url: &UrlParts) -> Option<String> {
        if url.scheme == "file" {
            return None;
        }
        let host = canonical_host(&url.host);
        if matches!(&host, HostView::Name(n) if n.is_empty()) {
            return Some(format!("{}:// URL without a host", url.scheme));
        }
        let shown = match &host {
            HostView::Ip(std::net::IpAddr::V6(a)) => format!("[{a}]"),
            HostView::Ip(a) => a.to_string(),
            HostView::Name(n) => n.clone(),
        };
        let allowed = match url.port.or_else(|| default_port(&url.scheme)) {
            Some(port) if self.list.permits(&host, port) => true,
            Some(port) => {
                return Some(format!(
                    "URL names {shown}:{port}, which is not on the network allow-list"
                ))
            }
            None => self.list.permits_any_port(&host),
        };
        (!allowed).then(|| format!("URL names {shown}, which is not on the network allow-list"))
    }

    /// Whether the operator listed `url`'s destination with its port (the
    /// scheme's default when it has none): what they listed must work, so
    /// the address rules (`NET-002`: loopback, private) give way to it.
    pub fn lists(&self, url: &UrlParts) -> bool {
        let host = canonical_host(&url.host);
        url.port
            .or_else(|| default_port(&url.scheme))
            .is_some_and(|port| self.list.permits(&host, port))
    }

    /// Whether `host:port` written as one word (`127.0.0.1:5432`) is listed.
    pub fn lists_host_port(&self, text: &str) -> bool {
        crate::canon::split_host_port(text)
            .is_some_and(|(h, port)| self.list.permits(&canonical_host(h), port))
    }

    /// Adds a `NET-ALLOWLIST` finding for `url` when it is refused.
    pub fn check(&self, url: &UrlParts, location: String, action: Action, d: &mut Decision) {
        let Some(message) = self.refusal(url) else {
            return;
        };
        let evidence = super::truncate(&format!(
            "{}://{}{}",
            url.scheme, url.host, url.path_and_query
        ));
        if d.findings
            .iter()
            .any(|f| f.rule == RULE && f.evidence == evidence && f.action >= action)
        {
            return;
        }
        let listed = self.list.describe();
        d.push(Finding {
            rule: RULE.to_string(),
            layer: Layer::L1,
            severity: Severity::High,
            action,
            message,
            location,
            evidence,
            hint: Some(if listed.is_empty() {
                "the network allow-list is empty: this server may not fetch anything".into()
            } else {
                format!("allowed destinations: {}", listed.join(", "))
            }),
        });
    }
}

/// The port a URL without one connects to, for schemes we know.
fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "ftp" => 21,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::normalize::extract_urls;

    fn list(entries: &[&str]) -> UrlAllowList {
        UrlAllowList {
            list: AllowList::parse(entries).expect("list"),
        }
    }

    fn refused(l: &UrlAllowList, text: &str) -> bool {
        extract_urls(text).iter().any(|u| l.refusal(u).is_some())
    }

    #[test]
    fn listed_urls_pass_with_default_and_explicit_ports() {
        let l = list(&["example.org:443", "127.0.0.1:8080", "*.docs.rs:443"]);
        assert!(!refused(&l, "https://example.org/a"));
        assert!(!refused(&l, "https://EXAMPLE.org.:443/a"));
        assert!(!refused(&l, "http://127.0.0.1:8080/x"));
        assert!(!refused(&l, "https://serde.docs.rs/"));
        assert!(!refused(&l, "file:///etc/hosts"));
    }

    #[test]
    fn unlisted_hosts_ports_and_spellings_are_refused() {
        let l = list(&["example.org:443", "127.0.0.1:8080"]);
        assert!(refused(&l, "http://example.org/"), "port 80 is not listed");
        assert!(refused(&l, "https://evil.example/"));
        assert!(refused(&l, "http://169.254.169.254/latest/meta-data/"));
        assert!(refused(&l, "http://0xa9fea9fe/"), "metadata in hex");
        assert!(refused(&l, "http://127.0.0.1:9090/"));
        assert!(refused(&l, "https://example.org@evil.example/"));
        assert!(refused(&l, "http://example.org:443\\@evil.example/"));
    }

    #[test]
    fn unknown_schemes_need_the_host_on_some_port() {
        let l = list(&["git.example.org:22"]);
        assert!(!refused(&l, "ssh://git.example.org/repo"));
        assert!(refused(&l, "ssh://other.example.org/repo"));
    }
}
