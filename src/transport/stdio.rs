//! The agent side of `vanguard start`: our own stdin and stdout.
//!
//! tokio's `stdin()`/`stdout()` run every read and write on a blocking
//! thread, which costs a thread hand-off per message. When fd 0/1 are pipes
//! or sockets — what an MCP client gives us — we put them in non-blocking
//! mode and drive them from the reactor instead. Terminals and regular files
//! keep tokio's blocking wrappers (O_NONBLOCK on a shared terminal would leak
//! into the shell). The original flags are restored on drop.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A pipe or socket end we do not own (0 or 1), driven by the reactor.
pub struct RawFdIo {
    fd: AsyncFd<RawFdRef>,
    saved_flags: libc::c_int,
}

struct RawFdRef(RawFd);

impl AsRawFd for RawFdRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn is_pipe_or_socket(fd: RawFd) -> bool {
    // SAFETY: fstat writes into a zeroed stat buffer we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    let kind = st.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFSOCK
}

impl RawFdIo {
    /// `None` when `fd` is not a pipe or socket, or cannot be registered.
    pub fn new(fd: RawFd) -> Option<RawFdIo> {
        if !is_pipe_or_socket(fd) {
            return None;
        }
        // SAFETY: fcntl on an fd number; failure is reported, not UB.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return None;
        }
        // SAFETY: fds 0 and 1 stay open, naming the same file description,
        // for the whole life of the process: nothing in vanguard closes or
        // re-opens them.
        match unsafe { AsyncFd::register(RawFdRef(fd)) } {
            Ok(afd) => Some(RawFdIo {
                fd: afd,
                saved_flags: flags,
            }),
            Err(_) => {
                unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
                None
            }
        }
    }

    fn raw(&self) -> RawFd {
        self.fd.get_ref().0
    }
}

impl Drop for RawFdIo {
    fn drop(&mut self) {
        // SAFETY: restoring the flags we read in `new`.
        unsafe { libc::fcntl(self.raw(), libc::F_SETFL, self.saved_flags) };
    }
}

impl AsyncRead for RawFdIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let room = unfilled.len();
            let res = guard.try_io(|inner| {
                // SAFETY: reading into an initialised slice we hold exclusively.
                let n = unsafe {
                    libc::read(
                        inner.as_raw_fd(),
                        unfilled.as_mut_ptr().cast(),
                        unfilled.len(),
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) => {
                    // A read that did not fill the buffer emptied the pipe
                    // (or socket): with edge-triggered epoll, its readiness
                    // can be forgotten now, and the next read waits for the
                    // next edge instead of a system call that answers
                    // EAGAIN (one per message read, as tokio's own streams
                    // do it).
                    if n > 0 && n < room {
                        guard.clear_ready();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for RawFdIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            let res = guard.try_io(|inner| {
                // SAFETY: writing from a slice we borrow.
                let n = unsafe { libc::write(inner.as_raw_fd(), data.as_ptr().cast(), data.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) => {
                    // A short write filled the pipe: wait for its next edge.
                    if n > 0 && n < data.len() {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Our stdin as an async reader: reactor-driven when possible.
pub fn agent_stdin() -> Pin<Box<dyn AsyncRead + Send>> {
    match RawFdIo::new(0) {
        Some(io) => Box::pin(io),
        None => Box::pin(tokio::io::stdin()),
    }
}

/// Our stdout as an async writer: reactor-driven when possible.
pub fn agent_stdout() -> Pin<Box<dyn AsyncWrite + Send>> {
    match RawFdIo::new(1) {
        Some(io) => Box::pin(io),
        None => Box::pin(tokio::io::stdout()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A pipe's two ends as files.
    fn pipe() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two new descriptors into the array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both descriptors were just created and are owned here.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        (r.into(), w.into())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn data_written_after_a_short_read_is_still_read() {
        let (r, mut w) = pipe();
        runtime().block_on(async {
            let mut io = RawFdIo::new(r.as_raw_fd()).expect("a pipe is driven by the reactor");
            let mut buf = [0u8; 64];
            w.write_all(b"one\n").expect("write");
            let n = io.read(&mut buf).await.expect("read");
            assert_eq!(&buf[..n], b"one\n");
            // Reads that fill the buffer leave the rest to be read without
            // any new edge.
            w.write_all(&[b'x'; 100]).expect("write");
            let mut small = [0u8; 10];
            for _ in 0..10 {
                let n = tokio::time::timeout(Duration::from_secs(5), io.read(&mut small))
                    .await
                    .expect("the rest of what was written is read")
                    .expect("read");
                assert_eq!(n, 10);
            }
            // The pipe is empty now; the next line comes later, from
            // another thread, and must wake the reader.
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                w.write_all(b"two\n").expect("write");
                w
            });
            let n = tokio::time::timeout(Duration::from_secs(5), io.read(&mut buf))
                .await
                .expect("the second line arrived")
                .expect("read");
            assert_eq!(&buf[..n], b"two\n");
            // And the end of the stream is seen.
            drop(writer.join().expect("writer"));
            let n = tokio::time::timeout(Duration::from_secs(5), io.read(&mut buf))
                .await
                .expect("end of stream")
                .expect("read");
            assert_eq!(n, 0);
        });
    }

    #[test]
    fn a_write_larger_than_the_pipe_arrives_whole() {
        let (mut r, w) = pipe();
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        // The reader starts late, so the writer fills the pipe, writes
        // short and has to wait for room.
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut got = Vec::new();
            r.read_to_end(&mut got).expect("read");
            got
        });
        runtime().block_on(async {
            let mut io = RawFdIo::new(w.as_raw_fd()).expect("a pipe is driven by the reactor");
            tokio::time::timeout(Duration::from_secs(10), io.write_all(&data))
                .await
                .expect("the write finished")
                .expect("write");
        });
        drop(w);
        assert_eq!(reader.join().expect("reader"), expected);
    }
}
