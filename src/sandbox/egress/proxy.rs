//! The proxy server: accept on the handed-over listener, read one request,
//! judge it, connect, relay under budgets, record one audit event.

use super::meter::Usage;
use super::request::{self, BadRequest, Request, Target, MAX_HEAD};
use super::socks::{self, Reply};
use super::{internal_kind, EgressAudit, EgressConfig};
use crate::canon::HostView;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The running proxy. Dropping it stops accepting and closes every relayed
/// connection (each still gets its audit event).
pub struct EgressProxy {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for EgressProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EgressProxy")
    }
}

struct Shared {
    config: EgressConfig,
    audit: EgressAudit,
    session_bytes: Arc<AtomicU64>,
}

impl EgressProxy {
    /// Serves the listeners on a thread of its own (one current-thread
    /// runtime), independent of the caller's runtime, if any: the proxy's,
    /// and each forwarded port's (relayed to the host's loopback address the
    /// allow-list names for that port).
    pub fn start(
        listeners: super::Listeners,
        config: EgressConfig,
        audit: EgressAudit,
    ) -> std::io::Result<EgressProxy> {
        let super::Listeners {
            proxy: listener,
            forwards,
        } = listeners;
        listener.set_nonblocking(true)?;
        for (_, l) in &forwards {
            l.set_nonblocking(true)?;
        }
        let destinations = config.allow.loopback_destinations();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::new(Shared {
            config,
            audit,
            session_bytes: Arc::new(AtomicU64::new(0)),
        });
        let thread = std::thread::Builder::new()
            .name("vanguard-egress".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("egress proxy: cannot serve the listener: {e}");
                            return;
                        }
                    };
                    let (stop_forwards, _) = tokio::sync::broadcast::channel::<()>(1);
                    for (port, l) in forwards {
                        let Some((ip, _)) = destinations.iter().find(|(_, p)| *p == port) else {
                            continue;
                        };
                        let dest = SocketAddr::new(*ip, port);
                        match tokio::net::TcpListener::from_std(l) {
                            Ok(l) => {
                                let mut stop = stop_forwards.subscribe();
                                let shared = Arc::clone(&shared);
                                tokio::spawn(async move {
                                    tokio::select! {
                                        _ = stop.recv() => {}
                                        _ = forward_loop(l, dest, shared) => {}
                                    }
                                });
                            }
                            Err(e) => tracing::error!(
                                "egress: cannot serve the forward of port {port}: {e}"
                            ),
                        }
                    }
                    accept_loop(listener, shared, stopped).await;
                    let _ = stop_forwards.send(());
                });
                // Dropping the runtime cancels the relays; their records are written on drop.
                drop(rt);
            })?;
        Ok(EgressProxy {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for EgressProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, Arc::clone(&shared)));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("egress proxy: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Accepts on a forwarded port's listener (`127.0.0.1:PORT` in the
/// server's namespace) and relays each connection to `dest` on the host.
async fn forward_loop(listener: tokio::net::TcpListener, dest: SocketAddr, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(forward(stream, dest, Arc::clone(&shared)));
            }
            Err(e) => {
                tracing::warn!("egress forward {dest}: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One forwarded connection: the same cut switch, budgets and audit record
/// as a proxied one (`protocol` `forward`).
async fn forward(client: TcpStream, dest: SocketAddr, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let mut attempt = Attempt::begin(&shared);
    attempt.protocol = "forward";
    attempt.target = Some(Target {
        host: dest.ip().to_string(),
        view: HostView::Ip(dest.ip()),
        port: dest.port(),
    });
    attempt.address = Some(dest);
    if let Some(why) = shared.audit.in_flight.cut_reason() {
        attempt.deny("EGRESS-CUT", format!("the session's egress was cut: {why}"));
        return;
    }
    attempt.allowed = true;
    let upstream = match connect(&[dest], shared.config.connect_timeout).await {
        Ok((s, _)) => s,
        Err(e) => {
            attempt.reason = format!("allowed (listed loopback port); connect failed: {e}");
            return;
        }
    };
    attempt.reason = "allowed (listed loopback port, forwarded)".into();
    let usage = attempt.charge();
    attempt.relay(&client, &upstream, &usage).await;
}

/// How the client spoke.
enum Protocol {
    Http(Request, Vec<u8>),
    Socks(Target),
}

/// Why a destination is refused: the rule id and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Denial {
    rule: &'static str,
    reason: String,
}

/// One egress attempt; recorded in the audit log when dropped, so a relay
/// cut short (budget, shutdown) is recorded too.
struct Attempt {
    shared: Arc<Shared>,
    started: Instant,
    request_ids: Vec<Value>,
    protocol: &'static str,
    method: Option<String>,
    target: Option<Target>,
    address: Option<SocketAddr>,
    allowed: bool,
    rule: Option<&'static str>,
    reason: String,
    usage: Option<Arc<Usage>>,
    /// A connection closed before sending anything is not an attempt.
    empty: bool,
}

impl Attempt {
    fn begin(shared: &Arc<Shared>) -> Attempt {
        Attempt {
            shared: Arc::clone(shared),
            started: Instant::now(),
            request_ids: shared.audit.in_flight.snapshot(),
            protocol: "http",
            method: None,
            target: None,
            address: None,
            allowed: false,
            rule: None,
            reason: String::new(),
            usage: None,
            empty: false,
        }
    }

    /// The byte budgets of this connection (charged to the session's too),
    /// recorded in the attempt for its audit event.
    fn charge(&mut self) -> Arc<Usage> {
        let budgets = self.shared.config.budgets;
        let usage = Arc::new(Usage::new(
            budgets.max_bytes_per_connection,
            Arc::clone(&self.shared.session_bytes),
            budgets.max_bytes_per_session,
        ));
        self.usage = Some(Arc::clone(&usage));
        usage
    }

    /// Relays both ways until either side closes, a byte budget is spent or
    /// `max_connection_secs` passes; records how it ended.
    async fn relay(&mut self, client: &TcpStream, upstream: &TcpStream, usage: &Usage) {
        let limit = self.shared.config.budgets.max_connection_time;
        match tokio::time::timeout(limit, super::splice::relay(client, upstream, usage)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if usage.exceeded.get().is_some() => {
                tracing::debug!(protocol = self.protocol, "egress relay stopped: {e}");
            }
            Ok(Err(e)) => self.reason = format!("allowed; relay ended: {e}"),
            Err(_) => {
                self.reason = format!(
                    "closed: max_connection_secs ({} s) exceeded",
                    limit.as_secs()
                );
                self.rule = Some("EGRESS-BUDGET:max_connection_secs");
            }
        }
    }

    fn deny(&mut self, rule: &'static str, reason: String) {
        self.allowed = false;
        self.rule = Some(rule);
        self.reason = reason;
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.empty {
            return;
        }
        let (up, down, budget) = match &self.usage {
            Some(u) => (
                u.up.load(Ordering::Relaxed),
                u.down.load(Ordering::Relaxed),
                u.exceeded.get().copied(),
            ),
            None => (0, 0, None),
        };
        let duration = self.started.elapsed();
        let (host, port) = self
            .target
            .as_ref()
            .map(|t| (t.host.clone(), t.port))
            .unwrap_or_default();
        let mut reason = self.reason.clone();
        if let Some(which) = budget {
            reason = format!("closed: {which} exceeded");
        }
        if self.allowed {
            tracing::info!(host, port, address = ?self.address, up, down, ms = duration.as_millis() as u64, "egress: {reason}");
        } else {
            tracing::warn!(host, port, address = ?self.address, "egress denied: {reason}");
        }
        if let Some(sink) = &self.shared.audit.on_record {
            sink(super::EgressRecord {
                protocol: self.protocol,
                method: self.method.clone(),
                host,
                port,
                address: self.address.map(|s| s.ip()),
                allowed: self.allowed,
                rule: self.rule,
                budget,
                reason,
                bytes_up: up,
                bytes_down: down,
                duration,
                request_ids: std::mem::take(&mut self.request_ids),
                risk: self.shared.audit.in_flight.risk(),
            });
        }
    }
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let mut attempt = Attempt::begin(&shared);
    let asked = match tokio::time::timeout(HEAD_TIMEOUT, read_request(&mut client)).await {
        Ok(Ok(Some(p))) => p,
        Ok(Ok(None)) => {
            attempt.empty = true;
            return;
        }
        Ok(Err(ReadError::Bad(e))) => {
            attempt.deny("EGRESS-BAD-REQUEST", e.to_string());
            let _ = respond(&mut client, 400, "Bad Request", &e.to_string()).await;
            return;
        }
        Ok(Err(ReadError::Io(e))) => {
            attempt.deny("EGRESS-BAD-REQUEST", format!("reading the request: {e}"));
            return;
        }
        Err(_) => {
            attempt.deny("EGRESS-BAD-REQUEST", "no request within 30 s".into());
            return;
        }
    };
    let (target, socks) = match &asked {
        Protocol::Http(r, _) => {
            attempt.method = Some(r.method().to_string());
            (r.target().clone(), false)
        }
        Protocol::Socks(t) => {
            attempt.protocol = "socks5";
            attempt.method = Some("CONNECT".into());
            (t.clone(), true)
        }
    };
    attempt.target = Some(target.clone());
    let decided = match shared.audit.in_flight.cut_reason() {
        Some(why) => Err(Denial {
            rule: "EGRESS-CUT",
            reason: format!("the session's egress was cut: {why}"),
        }),
        None => decide(&shared.config, &target).await,
    };
    let addrs = match decided {
        Ok(a) => a,
        Err(d) => {
            attempt.deny(d.rule, d.reason.clone());
            let _ = if socks {
                socks::reply(&mut client, Reply::NotAllowed).await
            } else {
                respond(&mut client, 403, "Forbidden", &d.reason).await
            };
            return;
        }
    };
    attempt.allowed = true;
    let (upstream, addr) = match connect(&addrs, shared.config.connect_timeout).await {
        Ok(c) => c,
        Err(e) => {
            attempt.address = addrs.first().copied();
            attempt.reason = format!("allowed; connect failed: {e}");
            let _ = if socks {
                let code = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    Reply::ConnectionRefused
                } else {
                    Reply::HostUnreachable
                };
                socks::reply(&mut client, code).await
            } else {
                respond(
                    &mut client,
                    502,
                    "Bad Gateway",
                    &format!("connect to {}: {e}", target.host),
                )
                .await
            };
            return;
        }
    };
    attempt.address = Some(addr);
    attempt.reason = "allowed".into();
    let usage = attempt.charge();
    let mut upstream = upstream;
    let opened = match asked {
        Protocol::Http(Request::Connect { .. }, early) => {
            // Bytes the client sent after the head (a TLS hello) go first.
            let ok = client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await;
            send_early(&mut upstream, &usage, ok, &early).await
        }
        Protocol::Http(Request::Forward { mut head, .. }, early) => {
            head.extend_from_slice(&early);
            send_early(&mut upstream, &usage, Ok(()), &head).await
        }
        Protocol::Socks(_) => socks::reply(&mut client, Reply::Succeeded).await,
    };
    if let Err(e) = opened {
        attempt.reason = format!("allowed; {e}");
        return;
    }
    attempt.relay(&client, &upstream, &usage).await;
}

/// Writes the bytes that arrived with the head, charged to the budget.
async fn send_early(
    upstream: &mut TcpStream,
    usage: &Usage,
    ok: std::io::Result<()>,
    early: &[u8],
) -> std::io::Result<()> {
    ok?;
    if early.is_empty() {
        return Ok(());
    }
    usage
        .charge(true, early.len() as u64)
        .map_err(|which| std::io::Error::other(format!("egress budget {which} exceeded")))?;
    upstream.write_all(early).await
}

enum ReadError {
    Bad(BadRequest),
    Io(std::io::Error),
}

/// Reads one request: SOCKS5 when the first byte is 5, else an HTTP head.
/// `None`: the client closed without sending anything.
async fn read_request(client: &mut TcpStream) -> Result<Option<Protocol>, ReadError> {
    let mut buf = vec![0u8; 4096];
    let mut len = client.read(&mut buf).await.map_err(ReadError::Io)?;
    if len == 0 {
        return Ok(None);
    }
    if buf.first() == Some(&socks::VERSION) {
        // SOCKS5 is a dialogue; the greeting has to be re-read from the start.
        if len < 2 {
            len += read_into(client, &mut buf, len).await?;
        }
        let mut replay = std::io::Cursor::new(buf.get(1..len).unwrap_or_default().to_vec());
        let mut joined = JoinedStream {
            first: &mut replay,
            stream: client,
        };
        return match socks::negotiate(&mut joined).await {
            Ok(Some(t)) => Ok(Some(Protocol::Socks(t))),
            Ok(None) => Err(ReadError::Bad(BadRequest::RequestLine)),
            Err(e) => Err(ReadError::Io(e)),
        };
    }
    loop {
        let filled = buf.get(..len).unwrap_or_default();
        if let Some((head, after)) =
            request::head_end(filled).and_then(|end| filled.split_at_checked(end))
        {
            let req = request::parse(head).map_err(ReadError::Bad)?;
            return Ok(Some(Protocol::Http(req, after.to_vec())));
        }
        if len >= MAX_HEAD {
            return Err(ReadError::Bad(BadRequest::Header));
        }
        if len == buf.len() {
            buf.resize((buf.len() * 2).min(MAX_HEAD), 0);
        }
        let n = read_into(client, &mut buf, len).await?;
        if n == 0 {
            return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        len += n;
    }
}

/// Reads from `client` into `buf` after its first `len` bytes (the callers
/// always leave room); 0 when there is none.
async fn read_into(client: &mut TcpStream, buf: &mut [u8], len: usize) -> Result<usize, ReadError> {
    let Some(free) = buf.get_mut(len..) else {
        return Ok(0);
    };
    client.read(free).await.map_err(ReadError::Io)
}

/// Reads from `first` until it is empty, then from `stream`; writes go to `stream`.
struct JoinedStream<'a> {
    first: &'a mut std::io::Cursor<Vec<u8>>,
    stream: &'a mut TcpStream,
}

impl tokio::io::AsyncRead for JoinedStream<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = &mut *self;
        let pos = this.first.position() as usize;
        let rest = this.first.get_ref().get(pos..).unwrap_or_default();
        if !rest.is_empty() {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(rest.get(..n).unwrap_or_default());
            this.first.set_position((pos + n) as u64);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut *this.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for JoinedStream<'_> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut *self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut *self.stream).poll_shutdown(cx)
    }
}

/// Judges a destination: on the list by name or address, then resolved,
/// then every internal address dropped unless the list names it.
async fn decide(config: &EgressConfig, target: &Target) -> Result<Vec<SocketAddr>, Denial> {
    let shown = format!("{}:{}", target.host, target.port);
    if !config.allow.permits(&target.view, target.port) {
        return Err(Denial {
            rule: "EGRESS-NOT-LISTED",
            reason: format!("{shown} is not on the network allow-list"),
        });
    }
    let ips = resolve(config, &target.view, target.port)
        .await
        .map_err(|e| Denial {
            rule: "EGRESS-RESOLVE",
            reason: format!("cannot resolve {}: {e}", target.host),
        })?;
    filter_internal(config, &shown, ips, target.port)
}

fn filter_internal(
    config: &EgressConfig,
    shown: &str,
    ips: Vec<IpAddr>,
    port: u16,
) -> Result<Vec<SocketAddr>, Denial> {
    let mut refused = None;
    let mut ok = Vec::new();
    for ip in ips {
        match internal_kind(ip) {
            Some(kind) if !config.allow.names_address(ip, port) => {
                refused.get_or_insert((ip, kind));
            }
            _ => ok.push(SocketAddr::new(ip, port)),
        }
    }
    match (ok.is_empty(), refused) {
        (false, _) => Ok(ok),
        (true, Some((ip, kind))) => Err(Denial {
            rule: "EGRESS-INTERNAL-ADDRESS",
            reason: format!(
                "{shown} resolves to {ip} ({kind}); only an allow-list entry naming that address reaches it"
            ),
        }),
        (true, None) => Err(Denial {
            rule: "EGRESS-RESOLVE",
            reason: format!("{shown} has no address"),
        }),
    }
}

async fn resolve(
    config: &EgressConfig,
    host: &HostView,
    port: u16,
) -> std::io::Result<Vec<IpAddr>> {
    let name = match host {
        HostView::Ip(ip) => return Ok(vec![*ip]),
        HostView::Name(n) => n,
    };
    if let Some(ip) = config.resolve.get(name) {
        return Ok(vec![*ip]);
    }
    let lookup = tokio::net::lookup_host((name.as_str(), port));
    let addrs = tokio::time::timeout(config.connect_timeout, lookup)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DNS timed out"))??;
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    Ok(ips)
}

async fn connect(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> std::io::Result<(TcpStream, SocketAddr)> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok((s, *addr));
            }
            Ok(Err(e)) => last = e,
            Err(_) => last = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
        }
    }
    Err(last)
}

async fn respond(
    client: &mut TcpStream,
    code: u16,
    status: &str,
    why: &str,
) -> std::io::Result<()> {
    let body = format!("vanguard egress proxy: {why}\n");
    let msg = format!(
        "HTTP/1.1 {code} {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         X-Vanguard-Egress: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
        if code == 403 { "denied" } else { "error" }
    );
    client.write_all(msg.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::egress::AllowList;

    fn config(entries: &[&str]) -> EgressConfig {
        let mut c = EgressConfig::new(AllowList::parse(entries).expect("list"));
        c.resolve
            .insert("test.internal".into(), "127.0.0.1".parse().expect("ip"));
        c.resolve
            .insert("public.test".into(), "93.184.215.14".parse().expect("ip"));
        c
    }

    fn judge(c: &EgressConfig, host: &str, port: u16) -> Result<Vec<SocketAddr>, Denial> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(decide(c, &Target::new(host, port)))
    }

    #[test]
    fn unlisted_destinations_are_refused_before_resolving() {
        let c = config(&["public.test:443"]);
        let d = judge(&c, "elsewhere.example", 443).unwrap_err();
        assert_eq!(d.rule, "EGRESS-NOT-LISTED");
        assert_eq!(
            judge(&c, "public.test", 80).unwrap_err().rule,
            "EGRESS-NOT-LISTED"
        );
        assert_eq!(judge(&c, "public.test", 443).expect("allowed").len(), 1);
    }

    #[test]
    fn a_listed_name_resolving_to_loopback_needs_the_address_listed() {
        let c = config(&["test.internal:8080"]);
        let d = judge(&c, "test.internal", 8080).unwrap_err();
        assert_eq!(d.rule, "EGRESS-INTERNAL-ADDRESS");
        assert!(d.reason.contains("127.0.0.1 (loopback)"), "{}", d.reason);
        let c = config(&["test.internal:8080", "127.0.0.1:8080"]);
        assert_eq!(
            judge(&c, "test.internal", 8080).expect("allowed"),
            vec!["127.0.0.1:8080".parse::<SocketAddr>().expect("addr")]
        );
    }

    #[test]
    fn metadata_is_refused_unless_listed_as_an_address() {
        let c = config(&["169.254.169.254:80"]);
        assert!(judge(&c, "169.254.169.254", 80).is_ok());
        assert!(
            judge(&c, "0xa9fea9fe", 80).is_ok(),
            "another spelling, same address"
        );
        let c = config(&["metadata.test:80"]);
        assert_eq!(
            judge(&c, "169.254.169.254", 80).unwrap_err().rule,
            "EGRESS-NOT-LISTED"
        );
    }

    #[test]
    fn mixed_answers_keep_only_public_addresses() {
        let c = config(&["x.test:443"]);
        let ips = vec![
            "10.0.0.1".parse().expect("ip"),
            "93.184.215.14".parse().expect("ip"),
        ];
        let ok = filter_internal(&c, "x.test:443", ips, 443).expect("one public");
        assert_eq!(
            ok,
            vec!["93.184.215.14:443".parse::<SocketAddr>().expect("addr")]
        );
    }

    #[test]
    fn a_cut_session_gets_no_new_connections() {
        use std::io::{Read, Write};
        let origin = std::net::TcpListener::bind("127.0.0.1:0").expect("origin");
        let oport = origin.local_addr().expect("addr").port();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy");
        let pport = listener.local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("audit.jsonl");
        let sink = crate::audit::AuditSink::open(&log, 1 << 20, 1).expect("audit");
        let mut audit = EgressAudit::disabled();
        audit.on_record = Some(crate::audit::egress_recorder(
            sink.clone(),
            crate::audit::EgressLabels {
                session_id: "s".into(),
                server_id: "t".into(),
                profile: "balanced".into(),
                mode: crate::policy::Mode::Enforce,
            },
            std::sync::Arc::new(crate::audit::EventIds::new("s")),
        ));
        let in_flight = audit.in_flight.clone();
        let entry = format!("127.0.0.1:{oport}");
        let listeners = super::super::Listeners {
            proxy: listener,
            forwards: Vec::new(),
        };
        let proxy = EgressProxy::start(listeners, config(&[entry.as_str()]), audit).expect("start");
        let connect = || {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", pport)).expect("proxy");
            c.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            write!(
                c,
                "CONNECT 127.0.0.1:{oport} HTTP/1.1\r\nHost: 127.0.0.1:{oport}\r\n\r\n"
            )
            .expect("write");
            let mut buf = [0u8; 256];
            let n = c.read(&mut buf).expect("read");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        let first = connect();
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        origin.set_nonblocking(true).expect("nonblocking");
        assert!(
            origin.accept().is_ok(),
            "the origin got the first connection"
        );
        in_flight.cut("exfiltration sequence after a sensitive read (/w/.env)");
        let second = connect();
        assert!(second.starts_with("HTTP/1.1 403"), "{second}");
        assert!(second.contains("egress was cut"), "{second}");
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            origin.accept().is_err(),
            "the origin got a connection after the cut"
        );
        drop(proxy);
        sink.flush();
        let text = std::fs::read_to_string(&log).expect("audit log");
        assert!(
            text.lines()
                .any(|l| l.contains("EGRESS-CUT") && l.contains("sensitive read")),
            "{text}"
        );
    }
}
