//! What a client asks the proxy for: HTTP `CONNECT host:port`, or a plain
//! HTTP request in absolute form (`GET http://host/path`), which is rewritten
//! to origin form for the destination. SOCKS5 lives in [`super::socks`].

use crate::canon::split_host_port;
use crate::canon::{canonical_host, HostView};

/// Longest request head the proxy reads (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;

/// A destination as the client named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host text as written (for the audit log).
    pub host: String,
    /// The same host, canonical (what the allow-list is matched on).
    pub view: HostView,
    pub port: u16,
}

impl Target {
    pub fn new(host: &str, port: u16) -> Target {
        Target {
            host: host.to_string(),
            view: canonical_host(host),
            port,
        }
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A tunnel: answer `200`, then relay bytes both ways.
    Connect { target: Target },
    /// A plain HTTP request: send `head` (origin form, `Connection: close`)
    /// to the destination, then relay.
    Forward {
        target: Target,
        method: String,
        head: Vec<u8>,
    },
}

impl Request {
    pub fn target(&self) -> &Target {
        match self {
            Request::Connect { target } | Request::Forward { target, .. } => target,
        }
    }

    pub fn method(&self) -> &str {
        match self {
            Request::Connect { .. } => "CONNECT",
            Request::Forward { method, .. } => method,
        }
    }
}

/// Why a head was refused (answered `400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("malformed request line")]
    RequestLine,
    #[error("malformed CONNECT target (expected host:port)")]
    ConnectTarget,
    #[error("only http:// URLs can be forwarded; use CONNECT for https")]
    Scheme,
    #[error("malformed URL authority")]
    Authority,
    #[error("malformed header line")]
    Header,
}

/// The end of the head (`\r\n\r\n`), as the index just past it.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4)
}

/// Hop-by-hop headers the proxy consumes or replaces.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

/// Parses a complete head (ending in `\r\n\r\n`).
pub fn parse(head: &[u8]) -> Result<Request, BadRequest> {
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().ok_or(BadRequest::RequestLine)?;
    let line = std::str::from_utf8(line).map_err(|_| BadRequest::RequestLine)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest::RequestLine);
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(method) || !version.starts_with("HTTP/1.") {
        return Err(BadRequest::RequestLine);
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_host_port(uri).ok_or(BadRequest::ConnectTarget)?;
        return Ok(Request::Connect {
            target: Target::new(host, port),
        });
    }
    let rest = strip_prefix_ignore_case(uri, "http://").ok_or(BadRequest::Scheme)?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // Credentials in the URL are not the destination; the host follows the last '@'.
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if host_port.ends_with(']') || !host_port.contains(':') {
        (host_port, 80)
    } else {
        split_host_port(host_port).ok_or(BadRequest::Authority)?
    };
    if host.is_empty() || host.contains(['/', '\\', ' ']) {
        return Err(BadRequest::Authority);
    }
    let mut path = rest[authority_end..]
        .split('#')
        .next()
        .unwrap_or("")
        .to_string();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let mut out = Vec::with_capacity(head.len() + 32);
    out.extend_from_slice(format!("{method} {path} {version}\r\n").as_bytes());
    let mut has_host = false;
    for l in lines {
        if l.is_empty() {
            continue;
        }
        let name = l
            .iter()
            .position(|b| *b == b':')
            .and_then(|colon| l.get(..colon))
            .ok_or(BadRequest::Header)?;
        let name = std::str::from_utf8(name).map_err(|_| BadRequest::Header)?;
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(BadRequest::Header);
        }
        if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            continue;
        }
        has_host |= name.eq_ignore_ascii_case("host");
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    if !has_host {
        out.extend_from_slice(format!("Host: {host_port}\r\n").as_bytes());
    }
    // One request per connection: a kept-alive connection could carry a
    // second request for another host to this destination.
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    Ok(Request::Forward {
        target: Target::new(host, port),
        method: method.to_string(),
        head: out,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_names_host_and_port() {
        let r = parse(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
            .expect("parse");
        assert_eq!(r.target(), &Target::new("example.org", 443));
        assert_eq!(r.method(), "CONNECT");
        let r = parse(b"CONNECT [::1]:80 HTTP/1.1\r\n\r\n").expect("parse v6");
        assert_eq!(r.target().view, HostView::Ip("::1".parse().expect("ip")));
    }

    #[test]
    fn forward_is_rewritten_to_origin_form_without_hop_headers() {
        let r = parse(
            b"GET http://user:pw@Example.org:8080/a?b=1#frag HTTP/1.1\r\nHost: example.org:8080\r\n\
              Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nAccept: */*\r\n\r\n",
        )
        .expect("parse");
        let Request::Forward { target, head, .. } = r else {
            panic!("not a forward");
        };
        assert_eq!(target.port, 8080);
        assert_eq!(target.view, HostView::Name("example.org".into()));
        let head = String::from_utf8(head).expect("utf8");
        assert_eq!(
            head,
            "GET /a?b=1 HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn forward_adds_host_and_default_port() {
        let Request::Forward { target, head, .. } =
            parse(b"GET http://10.0.0.1 HTTP/1.0\r\n\r\n").expect("parse")
        else {
            panic!("not a forward");
        };
        assert_eq!(target.port, 80);
        assert!(String::from_utf8_lossy(&head).starts_with("GET / HTTP/1.0\r\nHost: 10.0.0.1\r\n"));
    }

    #[test]
    fn bad_heads_are_refused() {
        assert_eq!(
            parse(b"GET /local HTTP/1.1\r\n\r\n"),
            Err(BadRequest::Scheme)
        );
        assert_eq!(
            parse(b"GET https://x/ HTTP/1.1\r\n\r\n"),
            Err(BadRequest::Scheme)
        );
        assert_eq!(
            parse(b"CONNECT example.org HTTP/1.1\r\n\r\n"),
            Err(BadRequest::ConnectTarget)
        );
        assert_eq!(parse(b"GARBAGE\r\n\r\n"), Err(BadRequest::RequestLine));
        assert_eq!(
            parse(b"GET http://x/ HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(BadRequest::Header)
        );
    }
}
