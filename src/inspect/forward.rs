//! Which patterns of a set occur in a text, searched forward only.
//!
//! The rule sets and the metadata phrase set only ever ask two questions:
//! does any pattern match, and which ones do. Neither needs where a match
//! starts, yet `regex`'s `RegexSet` (a `meta::Regex` inside) compiles a
//! reverse NFA and keeps reverse lazy-DFA caches, prefilters and a
//! backtracker for the search strategies that find match starts. With
//! `balanced`, that was 1.8 of the 4.8 MiB of idle heap, none of it used
//! by a search here.
//!
//! `ForwardSet` keeps the two engines those questions use: the forward
//! lazy DFA (the configuration `meta` gives it: all matches, a bounded
//! cache that gives up when it thrashes, the heuristic for Unicode word
//! boundaries) and a PikeVM over the same NFA, which answers whenever the
//! lazy DFA quits, gives up or cannot be built, as `meta` falls back. No
//! literal prefilter: a set's literals are common words, and the lazy DFA
//! alone measured as fast or faster (see `rules.rs`).

use regex_automata::{
    hybrid::dfa::{self, DFA},
    nfa::thompson::{self, pikevm, pikevm::PikeVM, WhichCaptures, NFA},
    util::{pool::Pool, syntax},
    Input, MatchKind, PatternSet,
};
use std::panic::{RefUnwindSafe, UnwindSafe};

/// Search state for one thread; the PikeVM's only when first needed.
struct Caches {
    dfa: Option<dfa::Cache>,
    vm: Option<pikevm::Cache>,
}

type MakeCaches = Box<dyn Fn() -> Caches + Send + Sync + UnwindSafe + RefUnwindSafe>;

pub(crate) struct ForwardSet {
    /// The fewest bytes any pattern matches (`usize::MAX`: none can).
    min_len: usize,
    dfa: Option<DFA>,
    vm: PikeVM,
    caches: Pool<Caches, MakeCaches>,
}

/// Why a set did not compile: a pattern's syntax, or its NFA (too big,
/// or a pattern the engines cannot run).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error(transparent)]
    Syntax(#[from] regex_syntax::Error),
    #[error(transparent)]
    Nfa(#[from] thompson::BuildError),
}

impl std::fmt::Debug for ForwardSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardSet")
            .field("patterns", &self.pattern_len())
            .finish()
    }
}

impl ForwardSet {
    /// Compiles `patterns` with `syntax`; `nfa_limit` bounds the NFA and
    /// `dfa_cache` the lazy DFA's cache, as `RegexSetBuilder::size_limit`
    /// and `dfa_size_limit` do.
    pub(crate) fn new<P: AsRef<str>>(
        patterns: &[P],
        syntax: syntax::Config,
        nfa_limit: usize,
        dfa_cache: usize,
    ) -> Result<ForwardSet, Box<BuildError>> {
        let hirs = syntax::parse_many_with(patterns, &syntax).map_err(|e| Box::new(e.into()))?;
        // No pattern matches fewer bytes than this, so a shorter haystack
        // needs no search (as `meta` checks before it takes a cache).
        let min_len = hirs
            .iter()
            .filter_map(|h| h.properties().minimum_len())
            .min()
            .unwrap_or(usize::MAX);
        let nfa: NFA = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(nfa_limit))
                    .which_captures(WhichCaptures::None),
            )
            .build_many_from_hir(&hirs)
            .map_err(|e| Box::new(e.into()))?;
        // A lazy DFA whose cache cannot hold its minimum of states does not
        // build; the set then runs on the PikeVM alone, as `meta` does.
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .unicode_word_boundary(true)
                    .cache_capacity(dfa_cache)
                    .skip_cache_capacity_check(false)
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10)),
            )
            .build_from_nfa(nfa.clone())
            .ok();
        let vm = PikeVM::builder()
            .configure(PikeVM::config().match_kind(MatchKind::All))
            .build_from_nfa(nfa)
            .map_err(|e| Box::new(e.into()))?;
        let d = dfa.clone();
        let make: MakeCaches = Box::new(move || Caches {
            dfa: d.as_ref().map(DFA::create_cache),
            vm: None,
        });
        Ok(ForwardSet {
            min_len,
            dfa,
            vm,
            caches: Pool::new(make),
        })
    }

    pub(crate) fn pattern_len(&self) -> usize {
        self.vm.get_nfa().pattern_len()
    }

    /// Whether any pattern matches `haystack`.
    pub(crate) fn is_match(&self, haystack: &[u8]) -> bool {
        if haystack.len() < self.min_len {
            return false;
        }
        let input = Input::new(haystack).earliest(true);
        let mut caches = self.caches.get();
        let caches = &mut *caches;
        if let (Some(dfa), Some(cache)) = (&self.dfa, caches.dfa.as_mut()) {
            if let Ok(found) = dfa.try_search_fwd(cache, &input) {
                return found.is_some();
            }
        }
        let vm = caches.vm.get_or_insert_with(|| self.vm.create_cache());
        self.vm.is_match(vm, input)
    }

    /// Adds every pattern that matches somewhere in `haystack` to `found`.
    pub(crate) fn which(&self, haystack: &[u8], found: &mut PatternSet) {
        if haystack.len() < self.min_len {
            return;
        }
        let input = Input::new(haystack);
        let mut caches = self.caches.get();
        let caches = &mut *caches;
        if let (Some(dfa), Some(cache)) = (&self.dfa, caches.dfa.as_mut()) {
            if dfa
                .try_which_overlapping_matches(cache, &input, found)
                .is_ok()
            {
                return;
            }
            // The lazy DFA gave up or quit part-way: start over with the
            // PikeVM, which always answers.
            found.clear();
        }
        let vm = caches.vm.get_or_insert_with(|| self.vm.create_cache());
        self.vm.which_overlapping_matches(vm, &input, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn both(patterns: &[&str], unicode: bool) -> (regex::bytes::RegexSet, ForwardSet) {
        let set = regex::bytes::RegexSetBuilder::new(patterns)
            .unicode(unicode)
            .build()
            .expect("set");
        let syntax = syntax::Config::new().unicode(unicode).utf8(false);
        let ours = ForwardSet::new(patterns, syntax, 32 << 20, 4 << 20).expect("ours");
        (set, ours)
    }

    fn agree(set: &regex::bytes::RegexSet, ours: &ForwardSet, text: &[u8]) {
        let want: Vec<usize> = set.matches(text).iter().collect();
        let mut found = PatternSet::new(ours.pattern_len());
        ours.which(text, &mut found);
        let got: Vec<usize> = found.iter().map(|p| p.as_usize()).collect();
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(text));
        assert_eq!(ours.is_match(text), set.is_match(text));
    }

    /// A Unicode word boundary makes the lazy DFA quit on non-ASCII text;
    /// the PikeVM must then give the same answer.
    #[test]
    fn the_pikevm_answers_where_the_lazy_dfa_quits() {
        let (set, ours) = both(&[r"\bkey\b", r"(?i)über", r"\w+@\w+"], true);
        for text in [
            "the key is here",
            "the keyé is not a word",
            "Über alles, ключ key",
            "π@σ and x@y",
            "",
        ] {
            agree(&set, &ours, text.as_bytes());
        }
        // And the quit really happens on this input (else the test above
        // proves nothing about the fallback).
        let mut caches = ours.caches.get();
        let (Some(dfa), Some(cache)) = (&ours.dfa, caches.dfa.as_mut()) else {
            panic!("the lazy DFA builds for these patterns");
        };
        let quit = dfa.try_search_fwd(cache, &Input::new("ключ key".as_bytes()));
        assert!(quit.is_err());
    }

    /// Haystacks shorter than every pattern's shortest match are answered
    /// without a search, and only those.
    #[test]
    fn short_haystacks_skip_the_search_and_only_them() {
        let (set, ours) = both(&[r"abcde", r"x{3}[0-9]", r"\bfour\b"], false);
        assert_eq!(ours.min_len, 4);
        for text in ["", "abc", "xxx", "xxx1", "four", " four", "abcde"] {
            agree(&set, &ours, text.as_bytes());
        }
        let (set, ours) = both(&[r"abcde", r"q*"], false);
        assert_eq!(ours.min_len, 0);
        for text in ["", "z", "abcde"] {
            agree(&set, &ours, text.as_bytes());
        }
    }

    /// A cache too small for the lazy DFA's minimum leaves the PikeVM
    /// alone, and the answers do not change.
    #[test]
    fn a_set_without_a_lazy_dfa_still_answers() {
        let patterns = [r"rm\s+-rf", r"/etc/(passwd|shadow)", r"(?i)curl|wget"];
        let ours = ForwardSet::new(&patterns, syntax::Config::new().unicode(false), 32 << 20, 1)
            .expect("builds without a lazy DFA");
        assert!(ours.dfa.is_none());
        let set = regex::bytes::RegexSetBuilder::new(patterns)
            .unicode(false)
            .build()
            .expect("set");
        for text in [
            "rm  -rf /",
            "cat /etc/shadow | CURL -d @- x",
            "nothing here",
            "",
        ] {
            agree(&set, &ours, text.as_bytes());
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_regex_set(text in "[a-z /.é\\-|;:0-9]{0,200}") {
            let (set, ours) = both(
                &[r"rm\s+-rf", r"/etc/(passwd|shadow)", r"\|\s*sh\b", r"[0-9]{3,}", r"é+", r"(?i)curl|wget", r"a.b.c"],
                false,
            );
            agree(&set, &ours, text.as_bytes());
            let (set, ours) = both(&[r"\b[a-z]+\b", r"\bé", r"(?i)x|É"], true);
            agree(&set, &ours, text.as_bytes());
        }
    }
}
