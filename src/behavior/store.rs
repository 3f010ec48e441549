//! Where L3 keeps its state: in this process, or in Redis.
//!
//! Both stores implement the same three operations with the same meaning
//! (the Redis one in a Lua script, so each is one atomic round trip):
//!
//! - `observe_call`: count the call in its windows (per tool, per
//!   capability, per identical call, enumeration), report the session's
//!   taint as it stands before the call (matched against the call's
//!   fingerprints), taint the session if the call reads a sensitive path,
//!   add the earlier layers' risk points and return the decayed score;
//! - `add_risk`: add the points of L3's (or L2's) own findings;
//! - `observe_result`: count response bytes, taint with fingerprints, add
//!   risk.
//!
//! Windows are counted in one-second buckets; a count is the sum of the
//! buckets of the last `window` seconds, the current one included.

use super::{
    decay, BehaviorConfig, CallObs, CallState, Capability, ResultObs, ResultState, Sensitivity,
    TaintView,
};
use foldhash::{HashMap, HashMapExt};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("behaviour state store ({store}): {message}")]
pub struct StoreError {
    pub store: &'static str,
    pub message: String,
}

/// The timing parameters a store needs (the same in every instance that
/// shares a Redis).
#[derive(Debug, Clone, Copy)]
pub struct StoreParams {
    pub window_s: u64,
    pub taint_ttl: Duration,
    pub half_life: Duration,
    /// `repeat = { warn = 0, block = 0 }`: identical calls are not counted.
    pub repeat_off: bool,
}

impl StoreParams {
    pub fn from(cfg: &BehaviorConfig) -> StoreParams {
        StoreParams {
            window_s: cfg.window.as_secs().max(1),
            taint_ttl: cfg.taint_ttl,
            half_life: cfg.risk.half_life,
            repeat_off: cfg.repeat.warn == 0 && cfg.repeat.block == 0,
        }
    }

    /// How long a key's state matters after its last use.
    pub fn idle_expiry(&self) -> Duration {
        let w = Duration::from_secs(self.window_s);
        w.max(self.taint_ttl).max(self.half_life * 10)
    }
}

pub enum Store {
    Memory(MemoryStore),
    Redis(super::redis::RedisStore),
}

impl Store {
    /// `memory` (the default) or a `redis://` URL.
    pub async fn open(url: Option<&str>, cfg: &BehaviorConfig) -> Result<Store, StoreError> {
        match url {
            None | Some("") | Some("memory") => Ok(Store::Memory(MemoryStore::new(cfg))),
            Some(u) if u.starts_with("rediss://") => Err(StoreError {
                store: "config",
                message: format!(
                    "{u:?}: TLS to Redis (rediss://) is not built into vanguard; run Redis on a private network or behind a local TLS tunnel and use redis://"
                ),
            }),
            Some(u) if u.starts_with("redis://") || u.starts_with("redis+unix://") => {
                Ok(Store::Redis(
                    super::redis::RedisStore::connect(u, cfg).await?,
                ))
            }
            Some(u) => Err(StoreError {
                store: "config",
                message: format!("unknown state store {u:?}: use \"memory\" or a redis:// URL"),
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }

    pub async fn observe_call(&self, key: &str, obs: &CallObs) -> Result<CallState, StoreError> {
        match self {
            Store::Memory(m) => Ok(m.observe_call(key, obs)),
            Store::Redis(r) => r.observe_call(key, obs).await,
        }
    }

    pub async fn add_risk(&self, key: &str, now_ms: u64, delta: f64) -> Result<f64, StoreError> {
        match self {
            Store::Memory(m) => Ok(m.add_risk(key, now_ms, delta)),
            Store::Redis(r) => r.add_risk(key, now_ms, delta).await,
        }
    }

    /// Sets the key's risk score to zero (an operator's `vanguard risk
    /// reset`). Stored as a negative score larger than any real one, which
    /// both stores' decay reads as zero, so no new script is needed.
    pub async fn reset_risk(&self, key: &str, now_ms: u64) -> Result<(), StoreError> {
        self.add_risk(key, now_ms, -1e15).await.map(|_| ())
    }

    /// Records that the session's egress was cut, so every instance
    /// sharing the state cuts its own proxy too.
    pub async fn cut_egress(&self, key: &str, now_ms: u64, reason: &str) -> Result<(), StoreError> {
        match self {
            Store::Memory(m) => {
                m.cut_egress(key, now_ms, reason);
                Ok(())
            }
            Store::Redis(r) => r.cut_egress(key, now_ms, reason).await,
        }
    }

    pub async fn observe_result(
        &self,
        key: &str,
        obs: &ResultObs,
    ) -> Result<ResultState, StoreError> {
        match self {
            Store::Memory(m) => Ok(m.observe_result(key, obs)),
            Store::Redis(r) => r.observe_result(key, obs).await,
        }
    }
}

#[derive(Default)]
struct Counter {
    /// (second, count), oldest first.
    buckets: VecDeque<(u64, u64)>,
}

impl Counter {
    fn trim(&mut self, now_s: u64, window_s: u64) {
        while let Some(&(s, _)) = self.buckets.front() {
            if s + window_s <= now_s {
                self.buckets.pop_front();
            } else {
                break;
            }
        }
    }

    fn add(&mut self, now_s: u64, window_s: u64) -> u64 {
        self.trim(now_s, window_s);
        match self.buckets.back_mut() {
            Some((s, n)) if *s == now_s => *n += 1,
            _ => self.buckets.push_back((now_s, 1)),
        }
        self.buckets.iter().map(|(_, n)| n).sum()
    }
}

struct Taint {
    level: Sensitivity,
    reason: String,
    until_ms: u64,
    fingerprints: super::fingerprint::Fingerprints,
    sources: Vec<String>,
}

#[derive(Default)]
struct KeyState {
    /// Per tool (looked up by `&str`, so a known tool costs no allocation).
    tools: HashMap<String, Counter>,
    /// Per identical call (tool + arguments hash), at most [`MAX_REPEATS`].
    repeats: HashMap<u64, Counter>,
    /// Per capability, in [`Capability::ALL`] order.
    caps: [Counter; 5],
    taint: Option<Taint>,
    risk: f64,
    risk_at_ms: u64,
    response_bytes: u64,
    last_ms: u64,
    egress_cut: Option<String>,
}

impl KeyState {
    fn count_tool(&mut self, tool: &str, now_s: u64, window_s: u64) -> u64 {
        if let Some(c) = self.tools.get_mut(tool) {
            return c.add(now_s, window_s);
        }
        let mut c = Counter::default();
        let n = c.add(now_s, window_s);
        self.tools.insert(tool.to_string(), c);
        n
    }

    fn count_repeat(&mut self, hash: u64, now_s: u64, window_s: u64) -> u64 {
        if self.repeats.len() >= MAX_REPEATS && !self.repeats.contains_key(&hash) {
            // Bounded whatever the rate: first the counters whose window
            // passed, then the calls seen once (a repeat has at least two;
            // evading the check this way takes thousands of distinct calls
            // a window, which the per-tool rate limits see), then all.
            self.repeats.retain(|_, c| {
                c.trim(now_s, window_s);
                !c.buckets.is_empty()
            });
            if self.repeats.len() >= MAX_REPEATS * 3 / 4 {
                self.repeats
                    .retain(|_, c| c.buckets.iter().map(|(_, n)| n).sum::<u64>() > 1);
            }
            if self.repeats.len() >= MAX_REPEATS * 3 / 4 {
                self.repeats.clear();
            }
            self.repeats.shrink_to(MAX_REPEATS);
        }
        self.repeats.entry(hash).or_default().add(now_s, window_s)
    }

    fn add_risk(&mut self, now_ms: u64, delta: f64, half_life: Duration) -> f64 {
        let base = decay(self.risk, self.risk_at_ms, now_ms, half_life);
        self.risk = base + delta;
        self.risk_at_ms = now_ms;
        self.risk
    }

    fn taint(
        &mut self,
        now_ms: u64,
        ttl: Duration,
        level: Sensitivity,
        reason: &str,
    ) -> &mut Taint {
        if self.taint.as_ref().is_some_and(|t| t.until_ms <= now_ms) {
            self.taint = None;
        }
        let until = now_ms + ttl.as_millis() as u64;
        let t = self.taint.get_or_insert_with(|| Taint {
            level,
            reason: reason.to_string(),
            until_ms: until,
            fingerprints: Default::default(),
            sources: Vec::new(),
        });
        if level > t.level {
            t.level = level;
            t.reason = reason.to_string();
        }
        t.until_ms = until;
        t
    }
}

/// Identical-call counters kept per key, at most.
const MAX_REPEATS: usize = 2048;

/// The in-process store: a map from session key to its state.
pub struct MemoryStore {
    params: StoreParams,
    map: Mutex<HashMap<String, KeyState>>,
    ops: std::sync::atomic::AtomicU64,
}

const MAX_SOURCES: usize = 16;

impl MemoryStore {
    pub fn new(cfg: &BehaviorConfig) -> MemoryStore {
        MemoryStore {
            params: StoreParams::from(cfg),
            map: Mutex::new(HashMap::new()),
            ops: Default::default(),
        }
    }

    fn with<T>(&self, key: &str, now_ms: u64, f: impl FnOnce(&mut KeyState) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let n = self.ops.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 4096 == 4095 {
            let idle = self.params.idle_expiry().as_millis() as u64;
            map.retain(|_, s| s.last_ms + idle > now_ms);
        }
        let st = match map.get_mut(key) {
            Some(s) => s,
            None => map.entry(key.to_string()).or_default(),
        };
        st.last_ms = now_ms;
        f(st)
    }

    pub fn observe_call(&self, key: &str, obs: &CallObs) -> CallState {
        let p = self.params;
        let now_s = obs.now_ms / 1000;
        self.with(key, obs.now_ms, |st| {
            let mut out = CallState {
                tool_rate: st.count_tool(&obs.tool, now_s, p.window_s),
                // Nothing to count when the repeat check is off.
                repeat: if p.repeat_off {
                    0
                } else {
                    st.count_repeat(obs.call_hash, now_s, p.window_s)
                },
                ..Default::default()
            };
            let rates = out.cap_rates.iter_mut().zip(st.caps.iter_mut());
            for (c, (rate, counter)) in Capability::ALL.iter().zip(rates) {
                if obs.caps.has(*c) {
                    *rate = counter.add(now_s, p.window_s);
                }
            }
            if obs.caps.has(Capability::List) {
                out.enumeration = out.cap_rates[1];
            }
            if st.taint.as_ref().is_some_and(|t| t.until_ms <= obs.now_ms) {
                st.taint = None;
            }
            if let Some(t) = &st.taint {
                let named = obs.paths.iter().filter(|p| t.sources.contains(p)).count();
                let same_target = !obs.paths.is_empty() && named == obs.paths.len();
                let elsewhere = obs
                    .paths
                    .iter()
                    .any(|p| !t.sources.iter().any(|s| super::stays_with(p, s)));
                out.taint = Some(TaintView {
                    level: t.level,
                    reason: t.reason.clone(),
                    // Carrying the data, or naming the tainted file next to
                    // a place outside its tree (a server-side copy or move
                    // carries it there).
                    matched: obs.fingerprints.iter().any(|h| t.fingerprints.contains(h))
                        || (named > 0 && elsewhere),
                    same_target,
                });
            }
            if let Some((level, path)) = &obs.sensitive {
                let t = st.taint(obs.now_ms, p.taint_ttl, *level, path);
                if t.sources.len() < MAX_SOURCES && !t.sources.contains(path) {
                    t.sources.push(path.clone());
                }
            }
            out.risk = st.add_risk(obs.now_ms, obs.risk_add, p.half_life);
            out.egress_cut = st.egress_cut.clone();
            out
        })
    }

    pub fn cut_egress(&self, key: &str, now_ms: u64, reason: &str) {
        self.with(key, now_ms, |st| {
            st.egress_cut.get_or_insert_with(|| reason.to_string());
        })
    }

    pub fn add_risk(&self, key: &str, now_ms: u64, delta: f64) -> f64 {
        let hl = self.params.half_life;
        self.with(key, now_ms, |st| st.add_risk(now_ms, delta, hl))
    }

    pub fn observe_result(&self, key: &str, obs: &ResultObs) -> ResultState {
        let p = self.params;
        self.with(key, obs.now_ms, |st| {
            st.response_bytes = st.response_bytes.saturating_add(obs.bytes);
            if let Some(add) = &obs.taint {
                let t = st.taint(obs.now_ms, p.taint_ttl, add.level, &add.reason);
                for h in &add.fingerprints {
                    if t.fingerprints.len() >= super::fingerprint::MAX_PER_TAINT * 8 {
                        break;
                    }
                    t.fingerprints.insert(*h);
                }
                for src in &add.sources {
                    if t.sources.len() < MAX_SOURCES && !t.sources.contains(src) {
                        t.sources.push(src.clone());
                    }
                }
            }
            ResultState {
                response_bytes: st.response_bytes,
                risk: st.add_risk(obs.now_ms, obs.risk_add, p.half_life),
                egress_cut: st.egress_cut.clone(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::{Caps, TaintAdd};

    fn call(now_ms: u64, tool: &str, caps: &[Capability]) -> CallObs {
        CallObs {
            now_ms,
            tool: tool.into(),
            caps: Caps::of(caps),
            call_hash: crate::behavior::fingerprint::hash(tool),
            ..Default::default()
        }
    }

    #[test]
    fn identical_call_counters_are_bounded_and_repeats_still_count() {
        let m = MemoryStore::new(&BehaviorConfig::default());
        let mut hot = call(1_000, "read_file", &[Capability::Read]);
        hot.call_hash = 7;
        for i in 0..20_000u64 {
            let mut c = call(1_000 + i, "read_file", &[Capability::Read]);
            c.call_hash = 1_000_000 + i;
            m.observe_call("k", &c);
            if i % 1000 == 0 {
                m.observe_call("k", &hot);
            }
        }
        let st = m.observe_call("k", &hot);
        assert!(
            st.repeat >= 20,
            "the repeated call kept its count: {}",
            st.repeat
        );
        let map = m.map.lock().expect("lock");
        let n = map.get("k").map(|s| s.repeats.len()).unwrap_or(0);
        assert!(n <= MAX_REPEATS, "{n} counters");
    }

    #[test]
    fn windows_slide() {
        let cfg = BehaviorConfig {
            window: Duration::from_secs(10),
            ..Default::default()
        };
        let m = MemoryStore::new(&cfg);
        for i in 0..5 {
            let st = m.observe_call(
                "k",
                &call(1_000 + i * 100, "read_file", &[Capability::Read]),
            );
            assert_eq!(st.tool_rate, i + 1);
            assert_eq!(st.cap_rates[0], i + 1);
        }
        // 10 s later the first bucket has left the window.
        let st = m.observe_call("k", &call(11_000, "read_file", &[Capability::Read]));
        assert_eq!(st.tool_rate, 1);
        assert_eq!(
            m.observe_call("other", &call(11_000, "read_file", &[]))
                .tool_rate,
            1
        );
    }

    #[test]
    fn taint_then_match_then_expire() {
        let cfg = BehaviorConfig::default();
        let m = MemoryStore::new(&cfg);
        let mut read = call(0, "read_file", &[Capability::Read]);
        read.sensitive = Some((Sensitivity::Project, "/w/.env".into()));
        read.paths = vec!["/w/.env".into()];
        assert!(
            m.observe_call("k", &read).taint.is_none(),
            "taint is as it stood before"
        );
        m.observe_result(
            "k",
            &ResultObs {
                now_ms: 10,
                bytes: 100,
                taint: Some(TaintAdd {
                    level: Sensitivity::Project,
                    reason: "/w/.env".into(),
                    fingerprints: vec![42],
                    sources: vec!["/w/.env".into()],
                }),
                risk_add: 0.0,
            },
        );
        let mut w = call(20, "write_file", &[Capability::Write]);
        w.fingerprints = vec![41, 42];
        w.paths = vec!["/w/out.txt".into()];
        let t = m.observe_call("k", &w).taint.unwrap();
        assert!(t.matched && !t.same_target);
        w.paths = vec!["/w/.env".into()];
        assert!(m.observe_call("k", &w).taint.unwrap().same_target);
        // Naming the source and another place: a copy out of its tree
        // carries it; a path inside it or a relative one does not.
        w.fingerprints = vec![41];
        w.paths = vec!["/w/.env".into(), "/tmp/copy".into()];
        assert!(m.observe_call("k", &w).taint.unwrap().matched);
        w.paths = vec!["/w/.env".into(), "notes/today.md".into()];
        let t = m.observe_call("k", &w).taint.unwrap();
        assert!(!t.matched && !t.same_target);
        w.now_ms = 20 + cfg.taint_ttl.as_millis() as u64;
        assert!(m.observe_call("k", &w).taint.is_none());
    }

    #[test]
    fn every_file_of_a_multi_file_read_is_a_source() {
        let m = MemoryStore::new(&BehaviorConfig::default());
        m.observe_result(
            "k",
            &ResultObs {
                now_ms: 10,
                bytes: 100,
                taint: Some(TaintAdd {
                    level: Sensitivity::Project,
                    reason: "SECRET-CREDENTIAL in a result of read_multiple_files".into(),
                    fingerprints: vec![42],
                    sources: vec!["/w/a.ts".into(), "/w/b.ts".into()],
                }),
                risk_add: 0.0,
            },
        );
        let mut w = call(20, "edit_file", &[Capability::Write]);
        w.fingerprints = vec![42];
        for back in ["/w/a.ts", "/w/b.ts"] {
            w.paths = vec![back.into()];
            let t = m.observe_call("k", &w).taint.unwrap();
            assert!(t.matched && t.same_target, "{back}");
        }
        w.paths = vec!["/w/c.ts".into()];
        let t = m.observe_call("k", &w).taint.unwrap();
        assert!(t.matched && !t.same_target);
    }

    #[test]
    fn a_reset_risk_reads_as_zero_and_grows_again() {
        let cfg = BehaviorConfig::default();
        let m = MemoryStore::new(&cfg);
        assert_eq!(m.add_risk("k", 0, 150.0), 150.0);
        let store = Store::Memory(m);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        rt.block_on(store.reset_risk("k", 10)).expect("reset");
        let Store::Memory(m) = &store else {
            unreachable!()
        };
        assert_eq!(m.add_risk("k", 20, 0.0).max(0.0), 0.0);
        assert_eq!(m.add_risk("k", 30, 10.0), 10.0);
    }

    #[test]
    fn risk_adds_and_decays() {
        let cfg = BehaviorConfig::default();
        let m = MemoryStore::new(&cfg);
        assert_eq!(m.add_risk("k", 0, 50.0), 50.0);
        let hl = cfg.risk.half_life.as_millis() as u64;
        let r = m.add_risk("k", hl, 0.0);
        assert!((r - 25.0).abs() < 1e-6, "{r}");
    }
}
