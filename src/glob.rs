//! The one glob of vanguard: `*` (any run of characters, also none) and
//! `?` (exactly one character), everything else literal, over Unicode
//! characters. Used for rule ids in profiles, tool names in
//! `[[tool_access]]`, `[[tool_auth]]` and `[behavior.capabilities]`; with
//! bracket classes ([`shell_matches`]) for filename patterns in commands.
//!
//! The matcher keeps one backtracking point (the last `*`), so it runs in
//! O(len(name) × len(pattern)) time and constant space, whatever the
//! pattern: `*a*a*b` against a long name that almost matches no longer
//! explodes (the recursive matcher it replaces took seconds at 2,000
//! characters and overflowed the stack at megabytes). A leaf module.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let toks: Vec<Tok> = pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::Any,
            c => Tok::Lit(c),
        })
        .collect();
    run(&toks, name)
}

/// Whether `name` matches a shell (`sh`) filename pattern: as [`matches`]
/// plus bracket classes (`[abc]`, `[a-z]`, `[!x]`, `[^x]`). An unclosed
/// `[` is literal, as in the shell.
pub fn shell_matches(pattern: &str, name: &str) -> bool {
    run(&shell_tokens(pattern), name)
}

/// Whether `s` has shell glob characters (`*`, `?`, `[`).
pub fn is_shell_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

enum Tok {
    Star,
    Any,
    Lit(char),
    /// A bracket class: negated?, ranges (a single character is `(c, c)`).
    Class(bool, Vec<(char, char)>),
}

impl Tok {
    fn accepts(&self, c: char) -> bool {
        match self {
            Tok::Star => true,
            Tok::Any => true,
            Tok::Lit(l) => *l == c,
            Tok::Class(neg, ranges) => ranges.iter().any(|(a, b)| *a <= c && c <= *b) != *neg,
        }
    }
}

fn shell_tokens(pattern: &str) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Any),
            '[' => match class(&chars, i) {
                Some((tok, next)) => {
                    toks.push(tok);
                    i = next;
                }
                None => toks.push(Tok::Lit('[')),
            },
            c => toks.push(Tok::Lit(c)),
        }
    }
    toks
}

/// A bracket class starting after `[` at `i`: the token and the index after `]`.
fn class(chars: &[char], mut i: usize) -> Option<(Tok, usize)> {
    let neg = matches!(chars.get(i), Some('!' | '^'));
    if neg {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((Tok::Class(neg, ranges), i + 1));
        }
        first = false;
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                ranges.push((c, hi));
                i += 3;
            }
            _ => {
                ranges.push((c, c));
                i += 1;
            }
        }
    }
}

/// The matcher: one backtracking point (the last `*`), linear space.
fn run(p: &[Tok], name: &str) -> bool {
    let (mut pi, mut ni) = (0usize, 0usize);
    // The last `*` seen: its index in `p`, and where in `name` it now ends.
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = name.get(ni..).and_then(|rest| rest.chars().next()) {
        match p.get(pi) {
            Some(Tok::Star) => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(t) if t.accepts(c) => {
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
    p.get(pi..)
        .unwrap_or_default()
        .iter()
        .all(|t| matches!(t, Tok::Star))
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
    fn shell_classes() {
        assert!(shell_matches(".e[n]v", ".env"));
        assert!(shell_matches(".e[a-z]v", ".env"));
        assert!(!shell_matches(".e[!n]v", ".env"));
        assert!(shell_matches(".e[^x]v", ".env"));
        assert!(shell_matches("[]]x", "]x"));
        assert!(shell_matches("a[", "a["), "an unclosed class is literal");
        assert!(shell_matches("*.[ch]", "main.c"));
        assert!(!shell_matches("*.[ch]", "main.o"));
        assert!(!matches(".e[n]v", ".env"), "plain globs have no classes");
        assert!(is_shell_pattern("id_*") && !is_shell_pattern("/etc/passwd"));
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
