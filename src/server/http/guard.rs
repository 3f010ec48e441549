//! The HTTP face's first checks, before authentication: `Host` and `Origin`
//! against DNS rebinding, and rate and concurrency limits per client IP and
//! overall.
//!
//! A browser on `evil.example` whose name was rebound to 127.0.0.1 still
//! sends `Host: evil.example` (and an `Origin` of its page), so refusing
//! names we do not serve under is enough to stop it reaching a local server.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The names (and origins) the server answers to.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    names: Vec<String>,
    origins: Vec<String>,
}

impl HostPolicy {
    /// Loopback names always; the bound address when it is a specific one;
    /// plus `extra_hosts` (names, any port) and `extra_origins` (exact).
    pub fn new(bind: SocketAddr, extra_hosts: &[String], extra_origins: &[String]) -> HostPolicy {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !bind.ip().is_unspecified() && !bind.ip().is_loopback() {
            names.push(bind.ip().to_string());
        }
        names.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        HostPolicy {
            names,
            origins: extra_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// `Host` is required (HTTP/1.1) and must name us.
    pub fn host_ok(&self, host: Option<&str>) -> bool {
        host.and_then(host_name)
            .is_some_and(|n| self.names.contains(&n))
    }

    /// No `Origin` (not a browser) is fine; otherwise its host must name us
    /// or the origin must be listed. `null` (sandboxed frames, file pages) is refused.
    pub fn origin_ok(&self, origin: Option<&str>) -> bool {
        let Some(o) = origin else { return true };
        let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&o) {
            return true;
        }
        let Some(rest) = o
            .strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
        else {
            return false;
        };
        if rest.contains(['/', '@', '?', '#']) {
            return false;
        }
        host_name(rest).is_some_and(|n| self.names.contains(&n))
    }
}

/// The lower-case name of a `host[:port]` (IPv6 in brackets, returned without them).
fn host_name(h: &str) -> Option<String> {
    let h = h.trim();
    let name = if let Some(rest) = h.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match h.rsplit_once(':') {
            Some((n, p)) if is_port(p) => n,
            Some(_) => return None,
            None => h,
        }
    };
    if name.is_empty() || name.contains(['/', '@', ' ']) {
        return None;
    }
    Some(name.trim_end_matches('.').to_ascii_lowercase())
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Request admission limits; 0 turns one off.
#[derive(Debug, Clone)]
pub struct LimitConfig {
    pub rate_per_ip: u32,
    pub rate_global: u32,
    pub concurrent_per_ip: usize,
    pub concurrent_global: usize,
}

/// Why a request was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Too many requests per second (429).
    Rate,
    /// Too many requests in flight (429 per IP, 503 overall).
    Busy { global: bool },
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Bucket {
        Bucket {
            tokens: rate as f64,
            last: Instant::now(),
        }
    }
    /// Token bucket: `rate` per second, burst of one second's worth.
    fn take(&mut self, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * rate as f64;
        self.tokens = (self.tokens + refill).min(rate as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct PerIp {
    bucket: Bucket,
    in_flight: usize,
}

pub struct Limits {
    cfg: LimitConfig,
    global: Mutex<Bucket>,
    in_flight: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, PerIp>>,
}

/// Held while a request is handled; releases its concurrency slots on drop.
pub struct Permit {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limits.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Ok(mut m) = self.limits.per_ip.lock() {
            if let Some(e) = m.get_mut(&self.ip) {
                e.in_flight = e.in_flight.saturating_sub(1);
            }
        }
    }
}

/// Forget idle client addresses once this many are tracked.
const MAX_TRACKED_IPS: usize = 10_000;

impl Limits {
    pub fn new(cfg: LimitConfig) -> Arc<Limits> {
        Arc::new(Limits {
            global: Mutex::new(Bucket::new(cfg.rate_global)),
            cfg,
            in_flight: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let c = &self.cfg;
        {
            let mut m = self
                .per_ip
                .lock()
                .map_err(|_| Refusal::Busy { global: true })?;
            if m.len() >= MAX_TRACKED_IPS {
                m.retain(|_, e| e.in_flight > 0 || e.bucket.last.elapsed().as_secs() < 60);
            }
            let e = m.entry(ip).or_insert_with(|| PerIp {
                bucket: Bucket::new(c.rate_per_ip),
                in_flight: 0,
            });
            if c.concurrent_per_ip > 0 && e.in_flight >= c.concurrent_per_ip {
                return Err(Refusal::Busy { global: false });
            }
            if !e.bucket.take(c.rate_per_ip) {
                return Err(Refusal::Rate);
            }
            if !self
                .global
                .lock()
                .map_err(|_| Refusal::Busy { global: true })?
                .take(c.rate_global)
            {
                return Err(Refusal::Rate);
            }
            if c.concurrent_global > 0
                && self.in_flight.load(Ordering::Acquire) >= c.concurrent_global
            {
                return Err(Refusal::Busy { global: true });
            }
            e.in_flight += 1;
            self.in_flight.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Permit {
            limits: self.clone(),
            ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> HostPolicy {
        HostPolicy::new("127.0.0.1:8080".parse().unwrap(), &[], &[])
    }

    #[test]
    fn loopback_hosts_pass_others_do_not() {
        let p = local();
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "LOCALHOST.",
        ] {
            assert!(p.host_ok(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "evil.example.com:8080",
            "127.0.0.1.evil.com",
            "localhost:80:80",
            "[::1]x",
            "",
        ] {
            assert!(!p.host_ok(Some(bad)), "{bad}");
        }
        assert!(!p.host_ok(None));
    }

    #[test]
    fn origins() {
        let p = HostPolicy::new(
            "127.0.0.1:8080".parse().unwrap(),
            &[],
            &["https://app.example.com".into()],
        );
        assert!(p.origin_ok(None));
        assert!(p.origin_ok(Some("http://localhost:3000")));
        assert!(p.origin_ok(Some("https://app.example.com/")));
        assert!(!p.origin_ok(Some("http://evil.example.com")));
        assert!(!p.origin_ok(Some("null")));
        assert!(!p.origin_ok(Some("http://localhost@evil.com")));
    }

    #[test]
    fn rate_and_concurrency() {
        let l = Limits::new(LimitConfig {
            rate_per_ip: 3,
            rate_global: 0,
            concurrent_per_ip: 2,
            concurrent_global: 0,
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let a = l.admit(ip).unwrap();
        let _b = l.admit(ip).unwrap();
        assert_eq!(l.admit(ip).err(), Some(Refusal::Busy { global: false }));
        drop(a);
        let _c = l.admit(ip).unwrap();
        drop(_c);
        assert_eq!(l.admit(ip).err(), Some(Refusal::Rate));
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(l.admit(other).is_ok());
    }
}
