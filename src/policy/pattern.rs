//! Rule patterns: their syntax is checked when a profile loads, the same
//! way the inspector will compile them.

/// Checks a pattern's syntax as the inspector's regex builder reads it, without building
/// automata: loading a profile stays cheap (`vanguard run` never compiles
/// the rules at all), and `Inspector::new` reports any size-limit error.
/// The gateways skip it at load and compile at once (see
/// `policy::RuleCheck::SkipPatterns`).
pub fn check_syntax(src: &str) -> Result<(), String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(src)
        .map_err(|e| e.to_string())?;
    drop(hir);
    Ok(())
}

/// A pattern as it is compiled: case-insensitive unless the rule says otherwise.
pub fn pattern_source(p: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        p.to_string()
    } else {
        format!("(?i){p}")
    }
}
