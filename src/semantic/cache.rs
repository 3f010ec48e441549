//! Scores already paid for.
//!
//! Agents repeat themselves (the same `read_file` on every turn), and an LLM
//! round trip costs far more than a hash. The key is the SHA-256 of the
//! backend, the model and the exact prompt text, so a different model or a
//! changed prompt never reuses an old answer. The oldest entry by insertion
//! goes first when the cache is full; only well-formed scores are stored.

use super::reply::Judgement;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

pub(crate) type Key = [u8; 32];

/// The cache key. Each part is length-prefixed so that moving bytes from
/// one part to the next cannot produce the same key.
pub(crate) fn key(backend: &str, model: &str, system: &str, user: &str) -> Key {
    let mut h = Sha256::new();
    for part in [backend, model, system, user] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// A bounded map from prompt to judgement, safe to share between tasks.
/// The lock is held for a lookup or an insert only, never across an await.
pub(crate) struct Cache {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Judgement>,
    /// Keys in insertion order, oldest first; each key once.
    order: VecDeque<Key>,
}

impl Cache {
    /// `capacity` 0 disables caching.
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Judgement> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().map.get(key).cloned()
    }

    pub(crate) fn insert(&self, key: Key, value: Judgement) {
        if self.capacity == 0 {
            return;
        }
        let mut e = self.lock();
        // Two identical calls scored at once both insert; the second only
        // refreshes the value.
        if e.map.insert(key, value).is_some() {
            return;
        }
        e.order.push_back(key);
        while e.order.len() > self.capacity {
            if let Some(old) = e.order.pop_front() {
                e.map.remove(&old);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// A panic elsewhere while holding the lock leaves the maps consistent
    /// (every update is a single insert or remove), so poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(score: f64) -> Judgement {
        Judgement {
            score,
            reason: format!("r{score}"),
        }
    }

    #[test]
    fn keys_separate_parts() {
        assert_ne!(key("custom", "ab", "s", "u"), key("custom", "a", "bs", "u"));
        assert_ne!(key("custom", "m", "s", "u"), key("ollama", "m", "s", "u"));
        assert_eq!(key("custom", "m", "s", "u"), key("custom", "m", "s", "u"));
    }

    #[test]
    fn oldest_goes_first() {
        let c = Cache::new(2);
        let (a, b, d) = ([1; 32], [2; 32], [3; 32]);
        c.insert(a, j(0.1));
        c.insert(b, j(0.2));
        // Re-inserting does not make a second queue entry.
        c.insert(a, j(0.15));
        assert_eq!(c.get(&a), Some(j(0.15)));
        c.insert(d, j(0.3));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&a), None, "a was inserted first");
        assert_eq!(c.get(&b), Some(j(0.2)));
        assert_eq!(c.get(&d), Some(j(0.3)));
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let c = Cache::new(0);
        c.insert([1; 32], j(0.1));
        assert_eq!(c.get(&[1; 32]), None);
        assert_eq!(c.len(), 0);
    }
}
