//! The bulk relay: `splice(2)` socket → pipe → socket in each direction, so
//! relayed bytes never enter vanguard's memory (a plain copy loop moves each
//! byte across the user boundary twice and halved loopback throughput).
//!
//! Each direction owns a pipe and drains it completely before reading
//! again, so an `EAGAIN` always comes from the socket, never from the pipe,
//! and tokio's readiness for that socket can be cleared safely.

use super::meter::Usage;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes asked for per splice; also the pipe size we request.
const CHUNK: usize = 1 << 20;

/// Relays both directions until both have reached EOF, or fails on the
/// first error (a budget exceeded included). `client` → `upstream` is "up".
pub async fn relay(client: &TcpStream, upstream: &TcpStream, usage: &Usage) -> io::Result<()> {
    tokio::try_join!(
        pump(client, upstream, usage, true),
        pump(upstream, client, usage, false)
    )
    .map(|_| ())
}

struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two fds into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both fds are fresh and owned here.
        let pipe = unsafe {
            Pipe {
                read: OwnedFd::from_raw_fd(fds[0]),
                write: OwnedFd::from_raw_fd(fds[1]),
            }
        };
        // A larger pipe means fewer splices; the default (64 KiB) still works.
        // SAFETY: fcntl on an fd we own.
        unsafe {
            libc::fcntl(
                pipe.write.as_raw_fd(),
                libc::F_SETPIPE_SZ,
                CHUNK as libc::c_int,
            )
        };
        Ok(pipe)
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: splice between two fds we hold, without offsets.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

async fn pump(from: &TcpStream, to: &TcpStream, usage: &Usage, up: bool) -> io::Result<()> {
    let pipe = Pipe::new()?;
    loop {
        let n = loop {
            from.readable().await?;
            match from.try_io(Interest::READABLE, || {
                splice(from.as_raw_fd(), pipe.write.as_raw_fd(), CHUNK)
            }) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            // EOF: pass the half-close on, keep the other direction going.
            // SAFETY: shutdown on a socket we hold.
            unsafe { libc::shutdown(to.as_raw_fd(), libc::SHUT_WR) };
            return Ok(());
        }
        // Charged before it is written on: bytes over a budget stay in the pipe.
        usage
            .charge(up, n as u64)
            .map_err(|which| io::Error::other(format!("egress budget {which} exceeded")))?;
        let mut left = n;
        while left > 0 {
            to.writable().await?;
            match to.try_io(Interest::WRITABLE, || {
                splice(pipe.read.as_raw_fd(), to.as_raw_fd(), left)
            }) {
                Ok(m) => left -= m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (TcpStream, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let (a, b) = tokio::join!(TcpStream::connect(addr), l.accept());
        (a.expect("connect"), b.expect("accept").0)
    }

    #[test]
    fn relays_both_ways_and_stops_at_the_budget() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            // client_app ⇄ (client ⇄ relay ⇄ upstream) ⇄ origin
            let (mut client_app, client) = pair().await;
            let (upstream, mut origin) = pair().await;
            let usage = Usage::new(300_000, Arc::new(AtomicU64::new(0)), u64::MAX);
            let relayed = async {
                let result = relay(&client, &upstream, &usage).await;
                // As in the proxy: the relay's end closes both sockets.
                drop((client, upstream));
                result
            };
            let traffic = async {
                client_app.write_all(b"ping").await.expect("write");
                let mut got = [0u8; 4];
                origin.read_exact(&mut got).await.expect("read");
                assert_eq!(&got, b"ping");
                // Write and read concurrently: once the budget stops the
                // relay, the writer may block forever on a full socket, and
                // the reader must still finish (the relay closed its side).
                let writer = async {
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        origin.write_all(&vec![7u8; 1 << 20]),
                    )
                    .await;
                };
                let reader = async {
                    let mut sink = Vec::new();
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        client_app.read_to_end(&mut sink),
                    )
                    .await;
                    sink.len()
                };
                let ((), n) = tokio::join!(writer, reader);
                n
            };
            let (result, received) = tokio::join!(relayed, traffic);
            assert!(result.is_err(), "the budget must end the relay");
            assert!(
                received <= 300_000,
                "{received} bytes passed a 300000-byte budget"
            );
            assert_eq!(usage.exceeded.get(), Some(&"max_bytes_per_connection"));
        });
    }
}
