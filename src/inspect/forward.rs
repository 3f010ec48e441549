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

use super::normalize::Edit;
use regex_automata::{
    hybrid::{
        dfa::{self, DFA},
        LazyStateID,
    },
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
            // The common answer, no match, from the paired walk with
            // nothing to pair (the lazy DFA's own search pays a set-up on
            // every short string); a match, or a walk that cannot tell, is
            // searched again the lazy DFA's way.
            if walk_pair(dfa, cache, haystack, haystack, &[]).is_some() {
                return false;
            }
            if let Ok(found) = dfa.try_search_fwd(cache, &input) {
                return found.is_some();
            }
        }
        let vm = caches.vm.get_or_insert_with(|| self.vm.create_cache());
        self.vm.is_match(vm, input)
    }

    /// Whether any pattern matches `a`, and whether any matches `b`, where
    /// `b` is `a` with the spans of `edits` rewritten (the cleaned view of
    /// an original; edits in order, not overlapping). One walk of the lazy
    /// DFA answers for both where they agree: through a stretch the texts
    /// share, `b`'s state is stepped beside `a`'s only until the two are
    /// the same state, from where on they are the same search. On prose
    /// with a few typographic characters, that is one pass instead of two.
    ///
    /// Exact whatever the edits say: a shared stretch whose bytes differ
    /// is walked for both texts byte by byte. When either text matches, or
    /// the lazy DFA would quit, give up or clear its cache (which makes
    /// the state it holds for the other text stale), the two plain
    /// searches answer instead.
    pub(crate) fn is_match_pair(&self, a: &[u8], b: &[u8], edits: &[Edit]) -> (bool, bool) {
        if a.len() >= self.min_len || b.len() >= self.min_len {
            let mut caches = self.caches.get();
            let caches = &mut *caches;
            if let (Some(dfa), Some(cache)) = (&self.dfa, caches.dfa.as_mut()) {
                if walk_pair(dfa, cache, a, b, edits).is_some() {
                    return (false, false);
                }
            }
        }
        (self.is_match(a), self.is_match(b))
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

/// `Some(())` when neither `a` nor `b` matches (see
/// [`ForwardSet::is_match_pair`]); `None` when that walk cannot tell.
fn walk_pair(dfa: &DFA, cache: &mut dfa::Cache, a: &[u8], b: &[u8], edits: &[Edit]) -> Option<()> {
    let start = dfa.start_state_forward(cache, &Input::new(a)).ok()?;
    // Both texts start at their first byte with nothing before it: the
    // same start state. (An unanchored search without a prefilter never
    // gets a tagged one; if it did, the plain searches would answer.)
    if start.is_tagged() {
        return None;
    }
    let clears = cache.clear_count();
    // `b`'s state is `sb` only while the two differ (`together` false);
    // while they are one state, only `sa` is stepped.
    let (mut sa, mut sb, mut together) = (start, start, true);
    let (mut ai, mut bi) = (0usize, 0usize);
    for e in edits.iter().map(Some).chain([None]) {
        // The stretch both texts share up to the edit (or the end).
        let (a_to, b_to) = match e {
            Some(e) => (e.a.start, e.b.start),
            None => (a.len(), b.len()),
        };
        let shared_a = a.get(ai..a_to)?;
        let shared_b = b.get(bi..b_to)?;
        if shared_a.len() != shared_b.len() {
            return None;
        }
        if shared_a == shared_b {
            // Apart until the states meet, then one walk to the edit.
            let mut rest = shared_a;
            while !together {
                let Some((&x, tail)) = rest.split_first() else {
                    break;
                };
                sa = step(dfa, cache, sa, x, clears)?;
                sb = step(dfa, cache, sb, x, clears)?;
                together = sa == sb;
                rest = tail;
            }
            if together {
                sa = walk(dfa, cache, sa, rest, clears)?;
                sb = sa;
            }
        } else {
            // Bytes the edits did not announce: each text its own byte.
            for (&x, &y) in shared_a.iter().zip(shared_b) {
                if together && x == y {
                    sa = step(dfa, cache, sa, x, clears)?;
                    continue;
                }
                if together {
                    sb = sa;
                }
                sa = step(dfa, cache, sa, x, clears)?;
                sb = step(dfa, cache, sb, y, clears)?;
                together = sa == sb;
            }
            if together {
                sb = sa;
            }
        }
        let Some(e) = e else { break };
        for &byte in a.get(e.a.clone())? {
            sa = step(dfa, cache, sa, byte, clears)?;
        }
        for &byte in b.get(e.b.clone())? {
            sb = step(dfa, cache, sb, byte, clears)?;
        }
        together = sa == sb;
        (ai, bi) = (e.a.end, e.b.end);
    }
    for s in [sa, sb] {
        // After the end a state is dead, or a match (a match ending at
        // the last byte).
        let end = dfa.next_eoi_state(cache, s).ok()?;
        if end.is_match() || end.is_quit() || cache.clear_count() != clears {
            return None;
        }
    }
    Some(())
}

/// Texts at least this long are walked as four parts at once (see
/// [`walk_parts`]); shorter ones in one chain.
const SPLIT_MIN: usize = 256;

/// How many bytes into a part the walk of the text before it may take to
/// meet the part's own walk before it walks the rest of the part alone.
const MEET_WITHIN: usize = 64;

/// The state after `bytes` from `sid` (see [`step`]).
#[inline]
fn walk(
    dfa: &DFA,
    cache: &mut dfa::Cache,
    sid: LazyStateID,
    bytes: &[u8],
    clears: usize,
) -> Option<LazyStateID> {
    walk_split_at(dfa, cache, sid, bytes, clears, SPLIT_MIN)
}

/// [`walk`] with the length from which a text is split as a parameter
/// (the tests split short texts too).
fn walk_split_at(
    dfa: &DFA,
    cache: &mut dfa::Cache,
    sid: LazyStateID,
    bytes: &[u8],
    clears: usize,
    split_min: usize,
) -> Option<LazyStateID> {
    if bytes.len() >= split_min.max(4) {
        if let Some(end) = walk_parts(dfa, cache, sid, bytes, clears)? {
            return Some(end);
        }
    }
    walk_one(dfa, cache, sid, bytes, clears)
}

/// One transition from `sid` on `byte`: the table's, or [`step`]'s answer
/// when that is not an ordinary state.
#[inline(always)]
fn next(
    dfa: &DFA,
    cache: &mut dfa::Cache,
    sid: LazyStateID,
    byte: u8,
    clears: usize,
) -> Option<LazyStateID> {
    // SAFETY: `sid` is untagged (every state `step` and the walks keep is)
    // and was made by `dfa` in `cache`, which has not been cleared since
    // (`clear_count` is checked wherever a transition or a start state is
    // computed): a valid state of this cache, as the function asks.
    let next = unsafe { dfa.next_state_untagged_unchecked(cache, sid, byte) };
    if next.is_tagged() {
        step(dfa, cache, sid, byte, clears)
    } else {
        Some(next)
    }
}

/// The state after `bytes` from `sid`, in one chain, in the lazy DFA's
/// own way: no bounds checks on the transition table while the state is
/// an ordinary one.
#[inline]
fn walk_one(
    dfa: &DFA,
    cache: &mut dfa::Cache,
    mut sid: LazyStateID,
    bytes: &[u8],
    clears: usize,
) -> Option<LazyStateID> {
    // Four bytes a round, as the lazy DFA's own search loop does.
    let mut quads = bytes.chunks_exact(4);
    for q in &mut quads {
        if let [b0, b1, b2, b3] = *q {
            sid = next(dfa, cache, sid, b0, clears)?;
            sid = next(dfa, cache, sid, b1, clears)?;
            sid = next(dfa, cache, sid, b2, clears)?;
            sid = next(dfa, cache, sid, b3, clears)?;
        }
    }
    for &byte in quads.remainder() {
        sid = next(dfa, cache, sid, byte, clears)?;
    }
    Some(sid)
}

/// [`walk_one`] over `bytes` as four chains at once: each transition
/// waits for the one before it (a load that depends on the last, about
/// five cycles a byte), so independent walks side by side take little
/// longer than one.
///
/// The text is cut in four parts. The first is walked from `sid`; each
/// other from the state a search starting there begins in (its
/// look-behind byte taken into account). A part's walk answers for the
/// whole text from where the true walk, continued into that part, is in
/// the same state at the same byte: the lazy DFA is deterministic, so
/// from there on the two are one walk. An unanchored search's states meet
/// as soon as no partial match begun in an earlier part is still open,
/// mostly within a few bytes; each part keeps its first [`MEET_WITHIN`]
/// states to find the meeting, and where there is none the true walk
/// carries on through that part alone (no worse than one chain). The
/// answer rests on the meetings alone: where a part's walk starts only
/// decides how soon they come. A match in any part gives the walk up, as
/// in [`step`] (the plain searches then answer).
///
/// `Some(Some(end))`: the state after `bytes`; `Some(None)`: no start state
/// for a cut (a quit byte before it), walk in one chain; `None`: give up,
/// as [`step`] does.
fn walk_parts(
    dfa: &DFA,
    cache: &mut dfa::Cache,
    sid: LazyStateID,
    bytes: &[u8],
    clears: usize,
) -> Option<Option<LazyStateID>> {
    const PARTS: usize = 4;
    let len = bytes.len() / PARTS;
    if len == 0 {
        return Some(None);
    }
    // Parts 0..3 of `len` bytes; the last also takes the remainder.
    let (p0, rest) = bytes.split_at(len);
    let (p1, rest) = rest.split_at(len);
    let (p2, p3) = rest.split_at(len);
    let parts = [p0, p1, p2, p3];
    let mut states = [sid; PARTS];
    for (j, state) in states.iter_mut().enumerate().skip(1) {
        let at = j * len;
        let Ok(start) = dfa.start_state_forward(cache, &Input::new(bytes).range(at..)) else {
            return Some(None);
        };
        if cache.clear_count() != clears {
            // Making a start state cleared the cache: `sid` is stale.
            return None;
        }
        if start.is_tagged() {
            return Some(None);
        }
        *state = start;
    }
    // `kept[j][k]`: part `j`'s state after its first `k` bytes.
    let mut kept = [[sid; MEET_WITHIN]; PARTS];
    for (row, &start) in kept.iter_mut().zip(&states) {
        row[0] = start;
    }
    let [mut s0, mut s1, mut s2, mut s3] = states;
    for (i, (((&b0, &b1), &b2), &b3)) in p0.iter().zip(p1).zip(p2).zip(p3).enumerate() {
        s0 = next(dfa, cache, s0, b0, clears)?;
        s1 = next(dfa, cache, s1, b1, clears)?;
        s2 = next(dfa, cache, s2, b2, clears)?;
        s3 = next(dfa, cache, s3, b3, clears)?;
        if i + 1 < MEET_WITHIN {
            for (row, s) in kept.iter_mut().zip([s0, s1, s2, s3]) {
                if let Some(slot) = row.get_mut(i + 1) {
                    *slot = s;
                }
            }
        }
    }
    for &b in p3.get(len..).unwrap_or_default() {
        s3 = next(dfa, cache, s3, b, clears)?;
    }
    let ends = [s0, s1, s2, s3];
    // The true state at the start of each part, from the end of part 0.
    let recorded = (len + 1).min(MEET_WITHIN);
    let mut truth = s0;
    for ((part, row), &end) in parts.iter().zip(&kept).zip(&ends).skip(1) {
        let mut met = false;
        let mut k = 0;
        for &then in row.iter().take(recorded) {
            if truth == then {
                met = true;
                break;
            }
            let Some(&x) = part.get(k) else { break };
            truth = next(dfa, cache, truth, x, clears)?;
            k += 1;
        }
        truth = if met {
            end
        } else {
            // Not met: the true walk carries on through the part.
            walk_one(dfa, cache, truth, part.get(k..).unwrap_or_default(), clears)?
        };
    }
    Some(Some(truth))
}

/// The state after `byte`, while it is an ordinary one: `None` on a
/// match, a dead or quit state, or a cache cleared since `clears` (the
/// other text's state would be stale).
#[inline]
fn step(
    dfa: &DFA,
    cache: &mut dfa::Cache,
    sid: LazyStateID,
    byte: u8,
    clears: usize,
) -> Option<LazyStateID> {
    let next = dfa.next_state_untagged(cache, sid, byte);
    if !next.is_tagged() {
        return Some(next);
    }
    if !next.is_unknown() {
        return None;
    }
    let next = dfa.next_state(cache, sid, byte).ok()?;
    (!next.is_tagged() && cache.clear_count() == clears).then_some(next)
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

    /// Two sets, bytes and Unicode, agree with `RegexSet` on `text`.
    fn both_sets_agree(text: &[u8]) {
        let (set, ours) = both(
            &[
                r"rm\s+-rf",
                r"/etc/(passwd|shadow)",
                r"\|\s*sh\b",
                r"[0-9]{3,}",
                r"é+",
                r"(?i)curl|wget",
                r"a.b.c",
            ],
            false,
        );
        agree(&set, &ours, text);
        let (set, ours) = both(
            &[r"\b[a-z]+\b", r"\b[a-z]+ [a-z]+\b;", r"\bé", r"(?i)x|É"],
            true,
        );
        agree(&set, &ours, text);
    }

    proptest! {
        #[test]
        fn agrees_with_the_regex_set(text in "[a-z /.é\\-|;:0-9]{0,200}") {
            both_sets_agree(text.as_bytes());
        }
    }

    /// The walk of a text cut in parts ends in the state the walk in one
    /// chain ends in (or both give up), wherever the parts meet or not.
    fn parts_agree(ours: &ForwardSet, text: &[u8]) {
        let mut caches = ours.caches.get();
        let (Some(dfa), Some(cache)) = (&ours.dfa, caches.dfa.as_mut()) else {
            panic!("the lazy DFA builds for these patterns");
        };
        let Ok(start) = dfa.start_state_forward(cache, &Input::new(text)) else {
            return;
        };
        let clears = cache.clear_count();
        let one = walk_one(dfa, cache, start, text, clears);
        let split = walk_split_at(dfa, cache, start, text, clears, 2);
        assert_eq!(split, one, "{:?}", String::from_utf8_lossy(text));
    }

    #[test]
    fn a_text_walked_in_parts_ends_where_one_walk_does() {
        let (set, ours) = both(
            &[
                r"ignore (all )?previous",
                r"a[^z]*z",
                r"[0-9]{30,}",
                r"\bkey\b",
                r"x{100}y",
            ],
            false,
        );
        let prose = "the key is under the mat, ignore what they said before. ".repeat(12);
        let digits = format!("{}{}", "1".repeat(300), " end");
        let open_run = format!("a{}", "b".repeat(700));
        let xs = format!("{}y", "x".repeat(600));
        let split_match = format!("{}ignore previous{}", "-".repeat(300), "-".repeat(300));
        for text in [&prose, &digits, &open_run, &xs, &split_match] {
            parts_agree(&ours, text.as_bytes());
            // And through the set's own questions (texts past SPLIT_MIN).
            agree(&set, &ours, text.as_bytes());
        }
    }

    proptest! {
        #[test]
        fn parts_agree_with_one_walk(text in "[a-z ./\\-0-9;|]{0,300}") {
            let (_, ours) = both(
                &[r"rm\s+-rf", r"/etc/(passwd|shadow)", r"\|\s*sh\b", r"[0-9]{3,}", r"a.b.c", r"q[^;]*;"],
                false,
            );
            parts_agree(&ours, text.as_bytes());
            let (_, ours) = both(&[r"\b[a-z]{12}\b", r"(?i)x.{0,40}y"], true);
            parts_agree(&ours, text.as_bytes());
        }

        #[test]
        fn long_texts_agree_with_the_regex_set(
            unit in "[a-z ./\\-0-9é|;:]{1,40}",
            times in 1usize..40,
            tail in "[a-z ./\\-0-9é|;:]{0,40}",
        ) {
            let text = format!("{}{tail}", unit.repeat(times));
            both_sets_agree(text.as_bytes());
        }
    }

    /// `b` made from `a` by replacing each `(start, len, with)` span
    /// (clamped, in order, not overlapping), and the edits that say so.
    fn edited(a: &[u8], spans: &[(usize, usize, Vec<u8>)]) -> (Vec<u8>, Vec<Edit>) {
        let (mut b, mut edits, mut at) = (Vec::new(), Vec::new(), 0usize);
        for (start, len, with) in spans {
            let start = (*start).max(at).min(a.len());
            let end = (start + len).min(a.len());
            b.extend_from_slice(&a[at..start]);
            let b_start = b.len();
            b.extend_from_slice(with);
            edits.push(Edit {
                a: start..end,
                b: b_start..b.len(),
            });
            at = end;
        }
        b.extend_from_slice(&a[at..]);
        (b, edits)
    }

    fn pair_agrees(ours: &ForwardSet, a: &[u8], b: &[u8], edits: &[Edit]) {
        assert_eq!(
            ours.is_match_pair(a, b, edits),
            (ours.is_match(a), ours.is_match(b)),
            "{:?} / {:?} / {edits:?}",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
        );
    }

    #[test]
    fn a_pair_is_answered_as_two_searches() {
        let patterns = [
            r"\.\./",
            r"rm\s+-rf",
            r"ignore (all )?previous",
            r"a.*z$",
            r"[0-9]{4,}",
        ];
        let (_, ours) = both(&patterns, false);
        // The cleaned view matches where the original does not, and back.
        for (a, spans) in [
            ("see \u{2026}/etc and more", vec![(4, 3, b"...".to_vec())]),
            ("rm\u{00A0}-rf /", vec![(2, 2, b" ".to_vec())]),
            ("../x", vec![(0, 2, "\u{2025}".as_bytes().to_vec())]),
            ("ignore\u{200B} previous orders", vec![(6, 3, Vec::new())]),
            ("a\u{FF5A}", vec![(1, 3, b"z".to_vec())]),
            (
                "plain prose, nothing to find \u{201C}here\u{201D}",
                vec![(30, 3, b"\"".to_vec()), (37, 3, b"\"".to_vec())],
            ),
            ("12\u{FF13}4", vec![(2, 3, b"3".to_vec())]),
            ("", vec![]),
        ] {
            let (b, edits) = edited(a.as_bytes(), &spans);
            pair_agrees(&ours, a.as_bytes(), &b, &edits);
            // Edits that leave out a difference are still answered exactly.
            pair_agrees(&ours, a.as_bytes(), &b, &[]);
        }
    }

    proptest! {
        #[test]
        fn pairs_agree_with_two_searches(
            a in "[a-z ./\\-0-9]{0,120}",
            spans in proptest::collection::vec((0usize..120, 0usize..4, "[a-z ./…\u{200B}0-9]{0,3}"), 0..5),
            drop_edits in proptest::bool::ANY,
        ) {
            let spans: Vec<(usize, usize, Vec<u8>)> = {
                let mut v: Vec<_> = spans.into_iter().map(|(s, l, w)| (s, l, w.into_bytes())).collect();
                v.sort_by_key(|x| x.0);
                v
            };
            let (b, edits) = edited(a.as_bytes(), &spans);
            let edits = if drop_edits { Vec::new() } else { edits };
            for (patterns, unicode) in [
                (&[r"\.\./", r"rm\s+-rf", r"a.*z", r"[0-9]{3,}", r"x\s*y$", r"^q"][..], false),
                (&[r"\bab\b", r"(?i)\.\.\.", r"…"][..], true),
            ] {
                let (_, ours) = both(patterns, unicode);
                pair_agrees(&ours, a.as_bytes(), &b, &edits);
                pair_agrees(&ours, &b, a.as_bytes(), &[]);
            }
        }
    }
}
