//! The shared API key (`VANGUARD_API_KEY`).
//!
//! The key is compared in constant time over SHA-256 digests: hashing first
//! makes the comparison length-independent too, so neither the timing of a
//! mismatch nor the length of the key leaks.

use sha2::{Digest, Sha256};

/// A configured API key. `Debug` never prints it.
pub struct ApiKey {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// Keys shorter than this are refused at start: they can be guessed.
pub const MIN_KEY_LEN: usize = 16;

impl ApiKey {
    pub fn new(key: &str) -> Result<ApiKey, String> {
        if key.len() < MIN_KEY_LEN {
            return Err(format!(
                "VANGUARD_API_KEY is {} bytes; at least {MIN_KEY_LEN} are required",
                key.len()
            ));
        }
        Ok(ApiKey {
            digest: Sha256::digest(key.as_bytes()).into(),
        })
    }

    /// Whether `candidate` is the key, in time independent of where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        constant_time_eq(&self.digest, &other)
    }
}

/// Compares two equal-length byte strings without an early exit.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // black_box keeps the optimiser from turning the fold into a branchy loop.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_key() {
        let k = ApiKey::new("0123456789abcdef-secret").unwrap();
        assert!(k.matches("0123456789abcdef-secret"));
        assert!(!k.matches("0123456789abcdef-secreT"));
        assert!(!k.matches(""));
        assert!(!k.matches("0123456789abcdef-secret "));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(ApiKey::new("short").is_err());
    }
}
