//! The glob (src/glob.rs) and the launcher recogniser (src/launch/parse.rs).
//!
//! - `glob::matches(pattern, name)` is compared with a reference matcher
//!   (dynamic programming over `*` and `?`, written from the module's
//!   documentation); `shell_matches` must agree with `matches` on patterns
//!   without `[`, and must not panic on any bracket class.
//! - `launch::parse` on an argv split from the input, plus `npm_spec`,
//!   `py_spec`, `is_exact_semver` and `normalize_py_name` on every word:
//!   a recognised launch keeps the server's own words as a suffix of argv,
//!   a parsed package name parses again to itself with no version, and
//!   PEP 503 normalisation is idempotent.
//!
//! Input (lossy UTF-8): pattern and name are split at the first `\n`; the
//! argv is the whole input split at NUL bytes when it has any, else at
//! ASCII whitespace.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vanguard::glob;
use vanguard::launch::parse::{
    is_exact_semver, normalize_py_name, npm_spec, parse, py_spec, Launch, VersionReq,
};

/// `*` any run (also none), `?` one character, else literal; over chars.
fn reference(pattern: &[char], name: &[char]) -> bool {
    // row[j]: pattern[..i] matches name[..j].
    let mut row = vec![false; name.len() + 1];
    row[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
        match p {
            '*' => {
                let mut any = false;
                for j in 0..=name.len() {
                    any |= row[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 1..=name.len() {
                    next[j] = row[j - 1] && (p == '?' || p == name[j - 1]);
                }
            }
        }
        row = next;
    }
    row[name.len()]
}

/// `VANGUARD_FUZZ_MASK_KNOWN=1` skips the checks of findings already
/// reported (README.md, "Findings"), so a long run can look further.
fn mask_known() -> bool {
    static MASK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| std::env::var_os("VANGUARD_FUZZ_MASK_KNOWN").is_some_and(|v| v == "1"))
}

/// Finding F5: `pnpm - dlx …`: a bare `-` before `dlx` passes as an option
/// but is then read as the package, and `dlx` is dropped.
fn pnpm_dash(argv: &[String]) -> bool {
    argv.first().is_some_and(|w| w == "pnpm")
        && argv.iter().take_while(|w| *w != "dlx").any(|w| w == "-")
}

fn is_suffix(args: &[String], argv: &[String]) -> bool {
    args.len() <= argv.len() && argv[argv.len() - args.len()..] == *args
}

fn check_spec(word: &str) {
    if let Ok((name, version)) = npm_spec(word) {
        assert!(!name.is_empty());
        assert_eq!(
            npm_spec(&name),
            Ok((name.clone(), VersionReq::Latest)),
            "npm name {name:?} (from {word:?}) does not parse to itself"
        );
        if let VersionReq::Exact(v) = &version {
            assert!(
                is_exact_semver(v),
                "exact version {v:?} is not exact semver"
            );
        }
    }
    if let Ok((name, _extras, _version)) = py_spec(word) {
        assert!(!name.is_empty());
        let again = py_spec(&name);
        assert!(
            matches!(&again, Ok((n, e, VersionReq::Latest)) if *n == name && e.is_empty()),
            "PyPI name {name:?} (from {word:?}) parses to {again:?}"
        );
        let n1 = normalize_py_name(&name);
        assert_eq!(
            normalize_py_name(&n1),
            n1,
            "normalize_py_name is not idempotent"
        );
    }
    let n = normalize_py_name(word);
    assert_eq!(
        normalize_py_name(&n),
        n,
        "normalize_py_name is not idempotent on {word:?}"
    );
    let _ = is_exact_semver(word);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, name) = text.split_once('\n').unwrap_or((&text, ""));

    let got = glob::matches(pattern, name);
    let pc: Vec<char> = pattern.chars().collect();
    let nc: Vec<char> = name.chars().collect();
    if pc.len() * nc.len() <= 1 << 16 {
        assert_eq!(
            got,
            reference(&pc, &nc),
            "matches({pattern:?}, {name:?}) disagrees with the reference"
        );
    }
    let shell = glob::shell_matches(pattern, name);
    if !pattern.contains('[') {
        assert_eq!(shell, got, "shell_matches and matches disagree on {pattern:?}");
    }
    let _ = glob::is_shell_pattern(pattern);
    // Name and pattern swapped; a literal pattern matches itself.
    let _ = glob::shell_matches(name, pattern);
    // Every pattern matches itself (`*` and `?` match themselves too), and
    // `*` matches everything.
    assert!(glob::matches(pattern, pattern), "{pattern:?} does not match itself");
    assert!(glob::matches("*", name), "`*` does not match {name:?}");
    if !glob::is_shell_pattern(pattern) {
        assert_eq!(shell, pattern == name, "shell_matches on a plain {pattern:?}");
    }

    let argv: Vec<String> = if text.contains('\0') {
        text.split('\0').map(str::to_string).collect()
    } else {
        text.split_ascii_whitespace().map(str::to_string).collect()
    };
    match parse(&argv) {
        Ok(Launch::Npm(l)) => {
            assert!(!l.name.is_empty());
            assert!(
                is_suffix(&l.args, &argv) || (mask_known() && pnpm_dash(&argv)),
                "npm args are not a suffix of argv: {argv:?} gave {l:?}"
            );
            assert_eq!(npm_spec(&l.name).map(|(n, _)| n), Ok(l.name.clone()));
        }
        Ok(Launch::Python(l)) => {
            assert!(!l.name.is_empty());
            assert!(
                is_suffix(&l.args, &argv),
                "python args are not a suffix of argv"
            );
            for w in &l.with {
                assert!(
                    py_spec(w).is_ok(),
                    "--with {w:?} accepted but does not parse"
                );
            }
        }
        Ok(Launch::Container { runtime }) => {
            assert!(["docker", "podman", "nerdctl"].contains(&runtime.as_str()));
        }
        Ok(Launch::Program) => {}
        Err(e) => {
            assert!(!e.launcher.is_empty());
            let _ = e.to_string();
        }
    }
    for w in argv.iter().take(32) {
        check_spec(w);
    }
});
