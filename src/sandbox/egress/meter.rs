//! Byte budgets: a stream wrapper that counts what is read from it and
//! fails the read that would go over the connection's or the session's
//! budget. Both directions of a connection share one budget, so what counts
//! is everything the connection moved.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Counters of one connection, plus the session total it draws from.
#[derive(Debug)]
pub struct Usage {
    pub up: AtomicU64,
    pub down: AtomicU64,
    pub connection_limit: u64,
    pub session: Arc<AtomicU64>,
    pub session_limit: u64,
    /// Set when a read was refused for going over a budget.
    pub exceeded: std::sync::OnceLock<&'static str>,
}

impl Usage {
    pub fn new(connection_limit: u64, session: Arc<AtomicU64>, session_limit: u64) -> Usage {
        Usage {
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            connection_limit,
            session,
            session_limit,
            exceeded: std::sync::OnceLock::new(),
        }
    }

    /// Counts `n` bytes; `Err` names the budget they would exceed.
    pub fn charge(&self, up: bool, n: u64) -> Result<(), &'static str> {
        let counter = if up { &self.up } else { &self.down };
        let this = counter.fetch_add(n, Ordering::Relaxed) + n;
        let other = if up { &self.down } else { &self.up }.load(Ordering::Relaxed);
        let session = self.session.fetch_add(n, Ordering::Relaxed) + n;
        let over = if this + other > self.connection_limit {
            Some("max_bytes_per_connection")
        } else if session > self.session_limit {
            Some("max_bytes_per_session")
        } else {
            None
        };
        match over {
            Some(which) => {
                let _ = self.exceeded.set(which);
                Err(which)
            }
            None => Ok(()),
        }
    }
}

/// A stream whose reads are charged to a [`Usage`] (`up`: client → destination).
pub struct Metered<S> {
    pub inner: S,
    usage: Arc<Usage>,
    up: bool,
}

impl<S> Metered<S> {
    pub fn new(inner: S, usage: Arc<Usage>, up: bool) -> Metered<S> {
        Metered { inner, usage, up }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                if let Err(which) = this.usage.charge(this.up, n) {
                    // The bytes of this read are never written on.
                    buf.set_filled(before);
                    return Poll::Ready(Err(std::io::Error::other(format!(
                        "egress budget {which} exceeded"
                    ))));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_budget_counts_both_directions() {
        let u = Usage::new(10, Arc::new(AtomicU64::new(0)), 1000);
        assert!(u.charge(true, 6).is_ok());
        assert_eq!(u.charge(false, 5), Err("max_bytes_per_connection"));
        assert_eq!(u.exceeded.get(), Some(&"max_bytes_per_connection"));
    }

    #[test]
    fn session_budget_spans_connections() {
        let session = Arc::new(AtomicU64::new(0));
        let a = Usage::new(100, session.clone(), 15);
        let b = Usage::new(100, session, 15);
        assert!(a.charge(true, 10).is_ok());
        assert_eq!(b.charge(false, 10), Err("max_bytes_per_session"));
    }
}
