//! The Redis store: L3 state shared by every gateway instance that points at
//! the same Redis.
//!
//! Each operation is one Lua script, run with `EVALSHA` in one round trip, so
//! the read-modify-write of a session's state is atomic however many
//! gateways share it. The scripts mirror [`MemoryStore`](super::store::MemoryStore)
//! step for step; `tests/behavior_redis.rs` runs the same sequences against
//! both and compares every returned state.
//!
//! Key layout for a session key `K` (the braces are a hash tag: a Redis
//! Cluster hashes only what is inside them, so a session's keys share a slot
//! and one script may touch them all):
//!
//! | key                      | type | holds                                               |
//! |--------------------------|------|-----------------------------------------------------|
//! | `vg:l3:{K}:state`        | hash | `risk`, `risk_at`, `bytes`, `taint_level`, `taint_reason`, `taint_until` |
//! | `vg:l3:{K}:fp`           | set  | the taint's fingerprints, as decimal `u64` strings  |
//! | `vg:l3:{K}:src`          | set  | paths that tainted the session                      |
//! | `vg:l3:{K}:w:t:<tool>`   | hash | calls per tool: field = second, value = count       |
//! | `vg:l3:{K}:w:r:<hash>`   | hash | identical calls (hash = 16 hex digits)              |
//! | `vg:l3:{K}:w:c:<cap>`    | hash | calls per capability                                |
//!
//! Every key a script touches gets `PEXPIRE` [`StoreParams::idle_expiry`],
//! so an idle session's state disappears by itself.
//!
//! Times are the caller's wall-clock milliseconds (never Redis `TIME`), so
//! all instances agree as far as their clocks do, and tests are
//! deterministic. Two deliberate differences from the memory store, both out
//! of reach in practice: a window drops stale buckets wherever they are (the
//! memory store trims from the oldest end, which is the same while a key's
//! times never go backwards; with several gateways' clocks they may), and
//! response bytes saturate at `i64::MAX` (Redis integers) instead of
//! `u64::MAX`.

use super::store::{StoreError, StoreParams};
use super::{
    BehaviorConfig, CallObs, CallState, Capability, ResultObs, ResultState, Sensitivity, TaintView,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ScriptInvocation};
use std::time::Duration;

/// How long `connect` waits for the connection and the script upload.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one operation may take. A stalled Redis must not hang a
/// session: past this the gateway applies the profile's `on_store_error`.
pub const OP_TIMEOUT: Duration = Duration::from_millis(500);

/// Paths kept per taint; the memory store keeps the same number.
const MAX_SOURCES: usize = 16;

/// Fingerprints kept per taint; the memory store keeps the same number.
const MAX_FINGERPRINTS: usize = super::fingerprint::MAX_PER_TAINT * 8;

/// Helpers the three scripts share. `KEYS[1..3]` are always the state hash
/// and the two taint sets. Numbers that must come back exactly (the risk
/// score) are written with `%.17g`; fingerprints stay strings, since a Lua
/// number (a double) cannot hold every `u64`.
const LUA_PRELUDE: &str = r#"
local state, fps, srcs = KEYS[1], KEYS[2], KEYS[3]

local function decay(score, at, now, half_life)
  if score <= 0 then return 0 end
  local dt = now - at
  if dt < 0 then dt = 0 end
  local v = score * 0.5 ^ (dt / half_life)
  if v < 0.01 then return 0 end
  return v
end

local function add_risk(now_arg, half_life, delta)
  local r = redis.call('HMGET', state, 'risk', 'risk_at')
  local base = decay(tonumber(r[1]) or 0, tonumber(r[2]) or 0, tonumber(now_arg), half_life)
  local s = string.format('%.17g', base + delta)
  redis.call('HSET', state, 'risk', s, 'risk_at', now_arg)
  return s
end

-- The taint as {level, reason, until}, or nil; an expired one is removed.
local function live_taint(now)
  local t = redis.call('HMGET', state, 'taint_level', 'taint_reason', 'taint_until')
  if not t[1] then return nil end
  if tonumber(t[3]) <= now then
    redis.call('HDEL', state, 'taint_level', 'taint_reason', 'taint_until')
    redis.call('DEL', fps, srcs)
    return nil
  end
  return t
end

-- Taints the session or extends its taint; a higher level replaces the reason.
local function taint(now, until_arg, level, reason)
  local t = live_taint(now)
  if not t then
    redis.call('HSET', state, 'taint_level', level, 'taint_reason', reason, 'taint_until', until_arg)
    return
  end
  if tonumber(level) > tonumber(t[1]) then
    redis.call('HSET', state, 'taint_level', level, 'taint_reason', reason)
  end
  redis.call('HSET', state, 'taint_until', until_arg)
end

local function add_source(path)
  if redis.call('SISMEMBER', srcs, path) == 0 and redis.call('SCARD', srcs) < MAX_SOURCES then
    redis.call('SADD', srcs, path)
  end
end

local function touch(idle_ms)
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], idle_ms) end
end
"#;

/// KEYS: state, fp, src, then one window hash per counter.
/// ARGV: 1 now_ms, 2 now_s, 3 window_s, 4 idle_ms, 5 half_life_ms,
/// 6 risk_add, 7 taint until_ms, 8 sensitive level (0: none), 9 sensitive
/// path, 10 number of paths, the paths, then the call's fingerprints.
/// Returns {counts in KEYS order, taint view or false, risk}.
const LUA_OBSERVE_CALL: &str = r#"
-- Sum of the buckets still in the window, this call included.
local function count(key, now_field, now_s, window)
  local flat = redis.call('HGETALL', key)
  local sum, stale = 1, {}
  for i = 1, #flat, 2 do
    if tonumber(flat[i]) + window <= now_s then
      stale[#stale + 1] = flat[i]
    else
      sum = sum + tonumber(flat[i + 1])
    end
  end
  -- In slices: unpack is bounded by the Lua stack.
  for i = 1, #stale, 500 do
    redis.call('HDEL', key, unpack(stale, i, math.min(i + 499, #stale)))
  end
  redis.call('HINCRBY', key, now_field, 1)
  return sum
end

local now = tonumber(ARGV[1])
local now_s, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local counts = {}
for i = 4, #KEYS do
  counts[#counts + 1] = count(KEYS[i], ARGV[2], now_s, window)
end

local view = false
local t = live_taint(now)
if t then
  local npaths = tonumber(ARGV[10])
  local same = npaths > 0
  local names_source = false
  local elsewhere = false
  local sources = nil
  for i = 11, 10 + npaths do
    local p = ARGV[i]
    if redis.call('SISMEMBER', srcs, p) == 0 then
      same = false
      -- behavior::stays_with: relative paths and paths inside a source
      -- stay; an absolute path, `~` or a URI elsewhere does not.
      local c = string.sub(p, 1, 1)
      if c == '/' or c == '~' or string.find(p, '://', 1, true) then
        sources = sources or redis.call('SMEMBERS', srcs)
        local inside = false
        for _, s in ipairs(sources) do
          local dir = string.gsub(s, '/+$', '')
          if dir ~= '' and string.sub(p, 1, #dir + 1) == dir .. '/' then
            inside = true
            break
          end
        end
        if not inside then
          elsewhere = true
        end
      end
    else
      names_source = true
    end
  end
  local matched = 0
  -- A call naming the tainted file and a place outside its tree (copy,
  -- move) carries it there.
  if names_source and elsewhere then
    matched = 1
  end
  for i = 11 + npaths, #ARGV do
    if redis.call('SISMEMBER', fps, ARGV[i]) == 1 then
      matched = 1
      break
    end
  end
  view = {tonumber(t[1]), t[2], matched, same and 1 or 0}
end

if ARGV[8] ~= '0' then
  taint(now, ARGV[7], ARGV[8], ARGV[9])
  add_source(ARGV[9])
end
local risk = add_risk(ARGV[1], tonumber(ARGV[5]), tonumber(ARGV[6]))
touch(ARGV[4])
return {counts, view, risk, redis.call('HGET', state, 'egress_cut')}
"#;

/// KEYS: state. ARGV: 1 now_ms, 2 idle_ms, 3 half_life_ms, 4 delta, 5 an
/// egress-cut reason to record when not empty (the first one stays).
/// Returns the risk.
const LUA_ADD_RISK: &str = r#"
if ARGV[5] ~= '' then
  redis.call('HSETNX', state, 'egress_cut', ARGV[5])
end
local risk = add_risk(ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]))
touch(ARGV[2])
return risk
"#;

/// KEYS: state, fp, src. ARGV: 1 now_ms, 2 idle_ms, 3 half_life_ms,
/// 4 risk_add, 5 bytes, 6 taint level (0: none), 7 taint reason, 8 taint
/// until_ms, 9 the number of sources, then the sources, then the
/// fingerprints.
/// Returns {response bytes, risk}.
const LUA_OBSERVE_RESULT: &str = r#"
local now = tonumber(ARGV[1])
local added = redis.pcall('HINCRBY', state, 'bytes', ARGV[5])
if type(added) == 'table' and added.err then
  if not string.find(added.err, 'overflow', 1, true) then
    return redis.error_reply(added.err)
  end
  redis.call('HSET', state, 'bytes', '9223372036854775807')
end

if ARGV[6] ~= '0' then
  taint(now, ARGV[8], ARGV[6], ARGV[7])
  local sources = tonumber(ARGV[9])
  local n = redis.call('SCARD', fps)
  for i = 10 + sources, #ARGV do
    if n >= MAX_FINGERPRINTS then break end
    n = n + redis.call('SADD', fps, ARGV[i])
  end
  for i = 10, 9 + sources do add_source(ARGV[i]) end
end
local risk = add_risk(ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]))
touch(ARGV[2])
return {redis.call('HGET', state, 'bytes'), risk, redis.call('HGET', state, 'egress_cut')}
"#;

/// One script's source: the limits, the prelude, then its body.
fn script_source(body: &str) -> String {
    format!(
        "local MAX_SOURCES = {MAX_SOURCES}\nlocal MAX_FINGERPRINTS = {MAX_FINGERPRINTS}\n{LUA_PRELUDE}\n{body}"
    )
}

struct Scripts {
    observe_call: Script,
    add_risk: Script,
    observe_result: Script,
}

impl Scripts {
    /// The scripts and their sources (to upload them in one round trip).
    fn new() -> (Scripts, [String; 3]) {
        let sources = [
            script_source(LUA_OBSERVE_CALL),
            script_source(LUA_ADD_RISK),
            script_source(LUA_OBSERVE_RESULT),
        ];
        let scripts = Scripts {
            observe_call: Script::new(&sources[0]),
            add_risk: Script::new(&sources[1]),
            observe_result: Script::new(&sources[2]),
        };
        (scripts, sources)
    }
}

/// The name of one of a session's keys (see the module header).
pub fn session_key(key: &str, part: &str) -> String {
    format!("vg:l3:{{{key}}}:{part}")
}

fn level_arg(level: Sensitivity) -> &'static str {
    match level {
        Sensitivity::Project => "1",
        Sensitivity::System => "2",
    }
}

fn level_of(n: u8) -> Option<Sensitivity> {
    match n {
        1 => Some(Sensitivity::Project),
        2 => Some(Sensitivity::System),
        _ => None,
    }
}

/// `url` without its user and password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn store_error(message: String) -> StoreError {
    StoreError {
        store: "redis",
        message,
    }
}

/// A session store in Redis, shared by every gateway connected to it.
///
/// One multiplexed connection carries every session's operations; it is
/// re-established on the first operation after it breaks (a Redis restart
/// loses the state, not the store).
pub struct RedisStore {
    conn: ConnectionManager,
    params: StoreParams,
    /// Where Redis is, without credentials, for messages.
    target: String,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects and uploads the scripts, within [`CONNECT_TIMEOUT`]. Fails
    /// at once when Redis cannot be reached, so the gateway can apply the
    /// profile's fail mode before any session depends on the store.
    pub async fn connect(url: &str, cfg: &BehaviorConfig) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| store_error(format!("invalid URL {}: {e}", redacted(url))))?;
        let target = client.get_connection_info().addr().to_string();
        // No retries inside the manager: an operation waiting on a backoff
        // would only run into OP_TIMEOUT. A broken connection is re-opened
        // by the next operation instead.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(0);
        let silent = || {
            store_error(format!(
                "no answer from {target} within {} ms (connect and script load)",
                CONNECT_TIMEOUT.as_millis()
            ))
        };
        let (scripts, sources) = Scripts::new();
        let setup = async {
            let mut conn = ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        silent()
                    } else {
                        store_error(format!("cannot connect to {target}: {e}"))
                    }
                })?;
            let mut load = redis::pipe();
            for src in &sources {
                load.cmd("SCRIPT").arg("LOAD").arg(src);
            }
            load.query_async::<Vec<String>>(&mut conn)
                .await
                .map_err(|e| {
                    store_error(format!("cannot load the L3 scripts into {target}: {e}"))
                })?;
            Ok(conn)
        };
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, setup)
            .await
            .map_err(|_| silent())??;
        Ok(RedisStore {
            conn,
            params: StoreParams::from(cfg),
            target,
            scripts,
        })
    }

    /// Runs one script invocation within [`OP_TIMEOUT`].
    async fn run<T: FromRedisValue>(
        &self,
        op: &str,
        inv: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(OP_TIMEOUT, inv.invoke_async(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(store_error(if e.is_timeout() {
                format!(
                    "{op}: no reply from {} within {} ms",
                    self.target,
                    OP_TIMEOUT.as_millis()
                )
            } else if e.is_io_error() {
                format!("{op}: connection to {} failed: {e}", self.target)
            } else if e.code().is_some() {
                // An error reply: the script (or a command in it) failed.
                format!("{op}: script error on {}: {e}", self.target)
            } else {
                format!("{op}: unexpected reply from {}: {e}", self.target)
            })),
            Err(_) => Err(store_error(format!(
                "{op}: no reply from {} within {} ms",
                self.target,
                OP_TIMEOUT.as_millis()
            ))),
        }
    }

    fn idle_ms(&self) -> String {
        self.params.idle_expiry().as_millis().to_string()
    }

    fn half_life_ms(&self) -> String {
        self.params.half_life.as_millis().max(1).to_string()
    }

    fn taint_until(&self, now_ms: u64) -> String {
        now_ms
            .saturating_add(self.params.taint_ttl.as_millis() as u64)
            .to_string()
    }

    fn risk_of(&self, op: &str, s: &str) -> Result<f64, StoreError> {
        s.parse().map_err(|_| {
            store_error(format!(
                "{op}: unexpected risk score {s:?} from {}",
                self.target
            ))
        })
    }

    pub async fn observe_call(&self, key: &str, obs: &CallObs) -> Result<CallState, StoreError> {
        const OP: &str = "observe_call";
        let mut inv = self.scripts.observe_call.prepare_invoke();
        inv.key(session_key(key, "state"))
            .key(session_key(key, "fp"))
            .key(session_key(key, "src"))
            .key(session_key(key, &format!("w:t:{}", obs.tool)))
            .key(session_key(key, &format!("w:r:{:016x}", obs.call_hash)));
        let has = |c: &Capability| obs.caps.has(*c);
        let n_caps = Capability::ALL.iter().filter(|c| has(c)).count();
        for c in Capability::ALL.iter().filter(|c| has(c)) {
            inv.key(session_key(key, &format!("w:c:{}", c.as_str())));
        }
        let (level, path) = match &obs.sensitive {
            Some((level, path)) => (level_arg(*level), path.as_str()),
            None => ("0", ""),
        };
        inv.arg(obs.now_ms.to_string())
            .arg((obs.now_ms / 1000).to_string())
            .arg(self.params.window_s.to_string())
            .arg(self.idle_ms())
            .arg(self.half_life_ms())
            .arg(obs.risk_add.to_string())
            .arg(self.taint_until(obs.now_ms))
            .arg(level)
            .arg(path)
            .arg(obs.paths.len().to_string());
        for p in &obs.paths {
            inv.arg(p.as_str());
        }
        for h in &obs.fingerprints {
            inv.arg(h.to_string());
        }
        type Reply = (
            Vec<u64>,
            Option<(u8, String, u8, u8)>,
            String,
            Option<String>,
        );
        let (counts, view, risk, egress_cut): Reply = self.run(OP, &inv).await?;
        let (tool_rate, repeat, cap_counts) = match counts.as_slice() {
            &[tool_rate, repeat, ref rest @ ..] if rest.len() == n_caps => {
                (tool_rate, repeat, rest)
            }
            _ => {
                return Err(store_error(format!(
                    "{OP}: {} counts from {}, expected {}",
                    counts.len(),
                    self.target,
                    2 + n_caps
                )));
            }
        };
        let mut out = CallState {
            tool_rate,
            repeat,
            risk: self.risk_of(OP, &risk)?,
            egress_cut,
            ..Default::default()
        };
        // The script returns one count per capability the call has, in
        // Capability::ALL order.
        let rates = out.cap_rates.iter_mut().zip(Capability::ALL);
        let rates = rates.filter(|(_, c)| has(c)).map(|(rate, _)| rate);
        for (rate, &n) in rates.zip(cap_counts) {
            *rate = n;
        }
        if obs.caps.has(Capability::List) {
            out.enumeration = out.cap_rates[1];
        }
        if let Some((level, reason, matched, same_target)) = view {
            let level = level_of(level).ok_or_else(|| {
                store_error(format!(
                    "{OP}: unknown taint level {level} from {}",
                    self.target
                ))
            })?;
            out.taint = Some(TaintView {
                level,
                reason,
                matched: matched == 1,
                same_target: same_target == 1,
            });
        }
        Ok(out)
    }

    pub async fn add_risk(&self, key: &str, now_ms: u64, delta: f64) -> Result<f64, StoreError> {
        self.add_risk_op("add_risk", key, now_ms, delta, "").await
    }

    /// Records the session's egress cut (the add_risk script with no risk).
    pub async fn cut_egress(&self, key: &str, now_ms: u64, reason: &str) -> Result<(), StoreError> {
        self.add_risk_op("cut_egress", key, now_ms, 0.0, reason)
            .await
            .map(|_| ())
    }

    async fn add_risk_op(
        &self,
        op: &str,
        key: &str,
        now_ms: u64,
        delta: f64,
        cut: &str,
    ) -> Result<f64, StoreError> {
        let mut inv = self.scripts.add_risk.prepare_invoke();
        inv.key(session_key(key, "state"))
            .arg(now_ms.to_string())
            .arg(self.idle_ms())
            .arg(self.half_life_ms())
            .arg(delta.to_string())
            .arg(cut);
        let risk: String = self.run(op, &inv).await?;
        self.risk_of(op, &risk)
    }

    pub async fn observe_result(
        &self,
        key: &str,
        obs: &ResultObs,
    ) -> Result<ResultState, StoreError> {
        const OP: &str = "observe_result";
        let mut inv = self.scripts.observe_result.prepare_invoke();
        inv.key(session_key(key, "state"))
            .key(session_key(key, "fp"))
            .key(session_key(key, "src"))
            .arg(obs.now_ms.to_string())
            .arg(self.idle_ms())
            .arg(self.half_life_ms())
            .arg(obs.risk_add.to_string())
            .arg(obs.bytes.min(i64::MAX as u64).to_string());
        match &obs.taint {
            Some(t) => {
                inv.arg(level_arg(t.level))
                    .arg(t.reason.as_str())
                    .arg(self.taint_until(obs.now_ms))
                    .arg(t.sources.len().to_string());
                for src in &t.sources {
                    inv.arg(src.as_str());
                }
                for h in &t.fingerprints {
                    inv.arg(h.to_string());
                }
            }
            None => {
                inv.arg("0").arg("").arg("0").arg("0");
            }
        }
        let (bytes, risk, egress_cut): (String, String, Option<String>) =
            self.run(OP, &inv).await?;
        let response_bytes = bytes.parse().map_err(|_| {
            store_error(format!(
                "{OP}: unexpected byte count {bytes:?} from {}",
                self.target
            ))
        })?;
        Ok(ResultState {
            response_bytes,
            risk: self.risk_of(OP, &risk)?,
            egress_cut,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_keys_share_one_hash_tag() {
        assert_eq!(session_key("s1", "state"), "vg:l3:{s1}:state");
        assert_eq!(
            session_key("s1", "w:t:read_file"),
            "vg:l3:{s1}:w:t:read_file"
        );
    }

    #[test]
    fn credentials_stay_out_of_messages() {
        assert_eq!(redacted("redis://u:pw@db:6379/0"), "redis://…@db:6379/0");
        assert_eq!(redacted("redis://db:6379"), "redis://db:6379");
    }

    #[test]
    fn taint_levels_round_trip() {
        for level in [Sensitivity::Project, Sensitivity::System] {
            let n: u8 = level_arg(level).parse().unwrap_or(0);
            assert_eq!(level_of(n), Some(level));
        }
        assert_eq!(level_of(0), None);
    }
}
