//! Host names resolved for the address rules, in `--net host` mode only.
//!
//! With the host's network the server connects wherever a name points, and
//! no proxy checks the address: a name that resolves to loopback or a
//! private address through `/etc/hosts` or DNS must meet `NET-001`/`NET-002`
//! like the address itself. (In allow-list mode the egress proxy resolves
//! and checks what it connects to; with no network there is nothing to
//! reach.)
//!
//! Bounded: each lookup waits at most [`TIMEOUT`] (then the name is judged
//! as written, and the finding says so), answers are cached for [`TTL`],
//! and at most [`MAX_IN_FLIGHT`] lookups run at once.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The rule of a name that could not be resolved in time (logged).
pub const RULE: &str = "NET-RESOLVE";

pub const TIMEOUT: Duration = Duration::from_millis(500);
pub const TTL: Duration = Duration::from_secs(60);
pub const MAX_IN_FLIGHT: usize = 8;
const MAX_CACHED: usize = 1024;

/// The answer for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Addresses(Vec<IpAddr>),
    /// The name does not resolve.
    Unknown,
    /// No answer within [`TIMEOUT`], or too many lookups at once.
    Unanswered,
}

#[derive(Default)]
pub struct Resolver {
    cache: Mutex<HashMap<String, (Instant, Lookup)>>,
    in_flight: Arc<AtomicUsize>,
}

impl Resolver {
    pub fn lookup(&self, name: &str) -> Lookup {
        let now = Instant::now();
        if let Some((at, l)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            if now.duration_since(*at) < TTL {
                return l.clone();
            }
        }
        let answer = self.resolve(name);
        if answer != Lookup::Unanswered {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (at, _)| now.duration_since(*at) < TTL);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(name.to_string(), (now, answer.clone()));
        }
        answer
    }

    fn resolve(&self, name: &str) -> Lookup {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Lookup::Unanswered;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let host = name.to_string();
        let in_flight = Arc::clone(&self.in_flight);
        // getaddrinfo cannot be cancelled: the thread finishes on its own
        // (and is counted until it does).
        let spawned = std::thread::Builder::new()
            .name("vanguard-resolve".into())
            .spawn(move || {
                let r = (host.as_str(), 0u16).to_socket_addrs();
                in_flight.fetch_sub(1, Ordering::AcqRel);
                let _ = tx.send(r.map(|a| a.map(|s| s.ip()).collect::<Vec<_>>()));
            });
        if spawned.is_err() {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Lookup::Unanswered;
        }
        match rx.recv_timeout(TIMEOUT) {
            Ok(Ok(mut ips)) => {
                ips.sort();
                ips.dedup();
                if ips.is_empty() {
                    Lookup::Unknown
                } else {
                    Lookup::Addresses(ips)
                }
            }
            Ok(Err(_)) => Lookup::Unknown,
            Err(_) => Lookup::Unanswered,
        }
    }

    #[cfg(test)]
    pub fn with(entries: &[(&str, Lookup)]) -> Resolver {
        let r = Resolver::default();
        {
            let mut c = r.cache.lock().unwrap_or_else(|p| p.into_inner());
            for (n, l) in entries {
                c.insert(n.to_string(), (Instant::now(), l.clone()));
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_to_loopback() {
        let r = Resolver::default();
        match r.lookup("localhost") {
            Lookup::Addresses(a) => assert!(a.iter().all(|ip| ip.is_loopback()), "{a:?}"),
            other => panic!("{other:?}"),
        }
        // Cached: the same answer again.
        assert!(matches!(r.lookup("localhost"), Lookup::Addresses(_)));
    }

    #[test]
    fn a_name_that_does_not_exist_is_unknown() {
        let r = Resolver::default();
        assert!(matches!(
            r.lookup("no-such-host.invalid"),
            Lookup::Unknown | Lookup::Unanswered
        ));
    }
}
