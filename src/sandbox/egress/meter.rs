//! Byte budgets: what one connection moved, each way, charged before it is
//! written on, against the connection's and the session's budgets. Both
//! directions share one budget, so what counts is everything the connection
//! moved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
