//! How the scorer behaves: thresholds, budget, retries, concurrency, cache.
//!
//! Values come from the profile's `[semantic]` section; the environment
//! can override the timeout ([`TIMEOUT_ENV`]), which is the one setting that
//! depends on where the backend runs rather than on the policy.

use std::time::Duration;

/// Overrides [`Settings::timeout`]; seconds, decimals allowed (`0.5`).
pub const TIMEOUT_ENV: &str = "VANGUARD_SEMANTIC_TIMEOUT_SECS";

/// Longest accepted timeout. A call waits this long at most for its score;
/// past an hour the setting is a mistake, not a budget.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Most requests in flight accepted for [`Settings::concurrency`].
const MAX_CONCURRENCY: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A score at or above this warns.
    pub warn: f64,
    /// A score at or above this blocks.
    pub block: f64,
    /// What the gateway does when scoring fails: block the call (`true`) or
    /// let it through on the other layers' verdict. The scorer only reports
    /// the failure.
    pub fail_closed: bool,
    /// Total budget of scoring one call: waiting for a
    /// request slot, every attempt and every backoff.
    pub timeout: Duration,
    /// Attempts after the first on a retryable failure.
    pub retries: u32,
    /// Requests in flight to the backend at most, over all callers.
    pub concurrency: usize,
    /// Scores kept; 0 disables the cache.
    pub cache_entries: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            warn: 0.5,
            block: 0.8,
            fail_closed: false,
            timeout: Duration::from_secs(5),
            retries: 2,
            concurrency: 4,
            cache_entries: 1024,
        }
    }
}

impl Settings {
    /// Applies [`TIMEOUT_ENV`] from the process environment.
    pub fn apply_env(&mut self) -> Result<(), String> {
        self.apply_lookup(|name| std::env::var(name).ok())
    }

    /// [`Settings::apply_env`] over any source of variables. An empty value
    /// counts as unset; anything else must be a positive number of seconds.
    pub fn apply_lookup(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(raw) = get(TIMEOUT_ENV).filter(|v| !v.trim().is_empty()) {
            self.timeout = parse_secs(TIMEOUT_ENV, &raw)?;
        }
        Ok(())
    }

    /// Checks that the values make sense together; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("warn", self.warn), ("block", self.block)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "semantic {name} threshold must be in 0..1, got {v}"
                ));
            }
        }
        if self.warn > self.block {
            return Err(format!(
                "semantic warn threshold ({}) is above the block threshold ({})",
                self.warn, self.block
            ));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(format!(
                "semantic timeout must be more than 0 and at most {} s, got {:?}",
                MAX_TIMEOUT.as_secs(),
                self.timeout
            ));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(format!(
                "semantic concurrency must be 1..={MAX_CONCURRENCY}, got {}",
                self.concurrency
            ));
        }
        Ok(())
    }
}

fn parse_secs(var: &str, raw: &str) -> Result<Duration, String> {
    let secs: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("{var} must be a number of seconds such as 5 or 0.5, got {raw:?}"))?;
    // `parse` accepts "inf" and "NaN"; neither is a budget.
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT.as_secs_f64() {
        return Err(format!(
            "{var} must be more than 0 and at most {} seconds, got {raw:?}",
            MAX_TIMEOUT.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_timeout(raw: &str) -> Result<Duration, String> {
        let mut s = Settings::default();
        s.apply_lookup(|name| (name == TIMEOUT_ENV).then(|| raw.to_string()))?;
        Ok(s.timeout)
    }

    #[test]
    fn defaults() {
        let s = Settings::default();
        assert_eq!((s.warn, s.block), (0.5, 0.8));
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!((s.retries, s.concurrency, s.cache_entries), (2, 4, 1024));
        assert!(!s.fail_closed);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn timeout_from_the_environment() {
        assert_eq!(with_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(with_timeout(" 12 "), Ok(Duration::from_secs(12)));
        assert_eq!(
            with_timeout(""),
            Ok(Duration::from_secs(5)),
            "empty is unset"
        );
        for bad in ["abc", "0", "-1", "NaN", "inf", "5s", "1e9"] {
            let e = with_timeout(bad).unwrap_err();
            assert!(e.starts_with(TIMEOUT_ENV), "{bad}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
        let mut s = Settings::default();
        s.apply_lookup(|_| None).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(5));
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |f: fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s.validate().unwrap_err()
        };
        assert!(bad(|s| s.warn = 1.5).contains("warn"));
        assert!(bad(|s| s.block = f64::NAN).contains("block"));
        assert!(bad(|s| s.warn = 0.9).contains("above the block"));
        assert!(bad(|s| s.timeout = Duration::ZERO).contains("timeout"));
        assert!(bad(|s| s.concurrency = 0).contains("concurrency"));
    }
}
