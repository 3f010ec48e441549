//! The egress proxy's parsers: what a sandboxed server sends to
//! 127.0.0.1:3128.
//!
//! `sandbox::egress::request` (HTTP request heads) and `socks` (SOCKS5) are
//! private modules, so their source files are compiled into this target as
//! they are (`#[path]`, below) and called directly; `crate::canon` is
//! supplied by re-exporting the library's. Nothing is copied: a change to
//! those files is fuzzed on the next build.
//!
//! The same bytes are then sent over TCP to the public entry point, a real
//! `EgressProxy` on a loopback listener (its private `read_request` glue:
//! protocol sniffing, head accumulation, the SOCKS replay stream), with the
//! client's write side closed afterwards. The allow-list names only a local
//! sink, so nothing leaves the machine and no DNS query is made. A proxy
//! that neither answers nor closes within 5 s is a finding.
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use vanguard::sandbox::egress::{AllowList, EgressAudit, EgressConfig, EgressProxy, Listeners};

/// What the included files import as `crate::canon`.
mod canon {
    pub use vanguard::canon::*;
}

#[path = "../../src/sandbox/egress/request.rs"]
mod request;
#[path = "../../src/sandbox/egress/socks.rs"]
mod socks;

use request::{head_end, parse, Request, MAX_HEAD};

/// The sink's port, fixed so inputs that reach it reproduce across runs.
const SINK_PORT: u16 = 39151;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("current-thread runtime")
    })
}

/// A SOCKS client in memory: reads come from the input, writes are kept.
struct Duplex<'a> {
    input: &'a [u8],
    written: Vec<u8>,
}

impl AsyncRead for Duplex<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = buf.remaining().min(self.input.len());
        let (now, later) = self.input.split_at(n);
        buf.put_slice(now);
        self.input = later;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Duplex<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn check_http(head: &[u8]) {
    let Ok(req) = parse(head) else {
        return;
    };
    let _ = req.method();
    let t = req.target();
    assert!(!t.host.is_empty(), "empty target host from {head:?}");
    if let Request::Forward { head: out, .. } = &req {
        assert!(out.ends_with(b"\r\n\r\n"), "rewritten head is not terminated");
        let first = out.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = std::str::from_utf8(first).expect("request line not UTF-8");
        assert!(
            line.split(' ').nth(1).is_some_and(|p| p.starts_with('/')),
            "rewritten request line {line:?} is not origin form"
        );
        assert!(
            out.ends_with(b"\r\nConnection: close\r\n\r\n"),
            "rewritten head does not end with Connection: close"
        );
    }
}

fn check_socks(data: &[u8]) {
    // The proxy consumes the version byte before negotiating.
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first != socks::VERSION {
        return;
    }
    let mut stream = Duplex {
        input: rest,
        written: Vec::new(),
    };
    let got = runtime().block_on(socks::negotiate(&mut stream));
    if let Ok(Some(t)) = got {
        assert!(
            stream.written.starts_with(&[socks::VERSION, 0]),
            "accepted without choosing no-auth"
        );
        let _ = (t.host.len(), t.port);
    }
}

struct Proxy {
    _proxy: EgressProxy,
    addr: std::net::SocketAddr,
}

fn proxy() -> &'static Proxy {
    static P: OnceLock<Proxy> = OnceLock::new();
    P.get_or_init(|| {
        // A relayed write to a closed peer raises SIGPIPE (splice(2) has no
        // MSG_NOSIGNAL); the vanguard binary ignores it as every Rust main
        // does, but a libFuzzer binary does not run Rust's start-up code.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        let sink = TcpListener::bind((Ipv4Addr::LOCALHOST, SINK_PORT))
            .or_else(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind sink");
        let sink_port = sink.local_addr().expect("sink addr").port();
        std::thread::spawn(move || {
            // Read what is relayed, then close.
            for conn in sink.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut conn = conn;
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        let allow = AllowList::parse(&[
            format!("127.0.0.1:{sink_port}"),
            format!("allowed.test:{sink_port}"),
            "allowed.test:80".to_string(),
            "[::1]:443".to_string(),
        ])
        .expect("allow-list");
        let mut config = EgressConfig::new(allow);
        config
            .resolve
            .insert("allowed.test".into(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        config.connect_timeout = Duration::from_secs(2);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let listeners = Listeners {
            proxy: listener,
            forwards: Vec::new(),
        };
        let proxy = EgressProxy::start(listeners, config, EgressAudit::disabled()).expect("start");
        Proxy {
            _proxy: proxy,
            addr,
        }
    })
}

fn over_tcp(data: &[u8]) {
    let p = proxy();
    let mut c = TcpStream::connect(p.addr).expect("connect to the proxy");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let _ = c.write_all(data);
    let _ = c.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    match c.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            panic!(
                "the proxy neither answered nor closed within 5 s ({} bytes so far: {:?})",
                answer.len(),
                String::from_utf8_lossy(&answer)
            );
        }
        Err(_) => {} // reset by the proxy: fine
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = head_end(data);
    match head_end(data) {
        Some(end) if end <= MAX_HEAD => check_http(&data[..end]),
        _ => {}
    }
    // `parse` is only called on complete heads; be stricter than needed.
    let _ = parse(data);
    check_socks(data);
    over_tcp(data);
});
