//! The one glob of vanguard: `*` (any run of characters, also none) and
//! `?` (exactly one character), everything else literal, over Unicode
//! characters. Used for rule ids in profiles, tool names in
//! `[[tool_access]]`, `[[tool_auth]]` and `[behavior.capabilities]`.
//!
//! The matcher keeps one backtracking point (the last `*`), so it runs in
//! O(len(name) × len(pattern)) time and constant space, whatever the
//! pattern: `*a*a*b` against a long name that almost matches no longer
//! explodes (the recursive matcher it replaces took seconds at 2,000
//! characters and overflowed the stack at megabytes). A leaf module.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    // The last `*` seen: its index in `p`, and where in `name` it now ends.
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = name.get(ni..).and_then(|rest| rest.chars().next()) {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&q) if q == '?' || q == c => {
                pi += 1;
                ni += c.len_utf8();
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((sp, sn)) => {
                    let step = name
                        .get(sn..)
                        .and_then(|rest| rest.chars().next())
                        .map_or(1, char::len_utf8);
                    pi = sp + 1;
                    ni = sn + step;
                    star = Some((sp, ni));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_questions() {
        assert!(matches("CMD-*", "CMD-001"));
        assert!(matches("*", "x"));
        assert!(matches("*", ""));
        assert!(matches("write_*", "write_file"));
        assert!(matches("get-?nv", "get-env"));
        assert!(matches("*-env", "get-env"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(matches("**", "abc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(!matches("write_*", "read_file"));
        assert!(!matches("echo", "echo2"));
        assert!(!matches("echo2", "echo"));
        assert!(!matches("?", ""));
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        assert!(matches("caf?", "café"));
        assert!(matches("?", "é"));
        assert!(!matches("??", "é"));
        assert!(matches("*é*", "crème brûlée"));
    }

    #[test]
    fn adversarial_patterns_stay_fast() {
        let name = "a".repeat(2000);
        let started = std::time::Instant::now();
        assert!(!matches("*a*a*a*a*a*b", &name));
        let huge = "a".repeat(4 << 20);
        assert!(!matches("*a*a*b", &huge));
        // Not a timing test: the old matcher took seconds on the first
        // and crashed on the second; this one finishes either way.
        let _ = started.elapsed();
    }
}
