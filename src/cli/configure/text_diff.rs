//! A unified diff of two texts, for `--dry-run`: lines common to both ends
//! are trimmed, the middle is compared by longest common subsequence, and
//! the result is one hunk with three lines of context.

const CONTEXT: usize = 3;
/// Above this many lines × lines in the changed middle, the middle is shown
/// as removed and added instead of compared (the table would be too big).
const MAX_CELLS: usize = 4_000_000;

pub fn unified(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if prefix == a.len() && prefix == b.len() {
        return String::new();
    }
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    let slice = |v: &Vec<&str>, r: std::ops::Range<usize>| -> Vec<String> {
        v.get(r)
            .unwrap_or(&[])
            .iter()
            .map(|l| l.to_string())
            .collect()
    };
    let start = prefix.saturating_sub(CONTEXT);
    let mut body: Vec<(char, String)> = Vec::new();
    body.extend(slice(&a, start..prefix).into_iter().map(|l| (' ', l)));
    body.extend(middle(&slice(&a, prefix..a_end), &slice(&b, prefix..b_end)));
    let end = (a_end + CONTEXT).min(a.len());
    body.extend(slice(&a, a_end..end).into_iter().map(|l| (' ', l)));
    let old_len = body.iter().filter(|(c, _)| *c != '+').count();
    let new_len = body.iter().filter(|(c, _)| *c != '-').count();
    let mut out = format!(
        "--- {name}\n+++ {name} (vanguard)\n@@ -{},{old_len} +{},{new_len} @@\n",
        start + 1,
        start + 1
    );
    for (c, line) in body {
        out.push(c);
        out.push_str(&line);
        if !line.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
    out
}

/// The lines of `a` and `b` as kept (' '), removed ('-') and added ('+'),
/// removals first where both orders are possible.
fn middle(a: &[String], b: &[String]) -> Vec<(char, String)> {
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        let mut out: Vec<(char, String)> = a.iter().map(|l| ('-', l.clone())).collect();
        out.extend(b.iter().map(|l| ('+', l.clone())));
        return out;
    }
    // lcs[i * w + j]: the longest common subsequence of a[i..] and b[j..].
    let w = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    let at = |lcs: &[u32], i: usize, j: usize| lcs.get(i * w + j).copied().unwrap_or(0);
    for (i, x) in a.iter().enumerate().rev() {
        for (j, y) in b.iter().enumerate().rev() {
            let v = if x == y {
                at(&lcs, i + 1, j + 1) + 1
            } else {
                at(&lcs, i + 1, j).max(at(&lcs, i, j + 1))
            };
            if let Some(cell) = lcs.get_mut(i * w + j) {
                *cell = v;
            }
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                out.push((' ', x.clone()));
                i += 1;
                j += 1;
            }
            (Some(x), y) if y.is_none() || at(&lcs, i + 1, j) >= at(&lcs, i, j + 1) => {
                out.push(('-', x.clone()));
                i += 1;
            }
            (_, Some(y)) => {
                out.push(('+', y.clone()));
                j += 1;
            }
            (_, None) => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_changed_line_with_context() {
        let d = super::unified("f", "a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh\n");
        assert_eq!(
            d,
            "--- f\n+++ f (vanguard)\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(super::unified("f", "x\n", "x\n"), "");
    }
}
