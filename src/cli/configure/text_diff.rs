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
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    if prefix == a.len() && prefix == b.len() {
        return String::new();
    }
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut body: Vec<(char, &str)> = Vec::new();
    let start = prefix.saturating_sub(CONTEXT);
    body.extend(a[start..prefix].iter().map(|l| (' ', *l)));
    body.extend(middle(am, bm));
    let end = (a.len() - suffix + CONTEXT).min(a.len());
    body.extend(a[a.len() - suffix..end].iter().map(|l| (' ', *l)));
    let old_len = body.iter().filter(|(c, _)| *c != '+').count();
    let new_len = body.iter().filter(|(c, _)| *c != '-').count();
    let mut out = format!(
        "--- {name}\n+++ {name} (vanguard)\n@@ -{},{old_len} +{},{new_len} @@\n",
        start + 1,
        start + 1
    );
    for (c, line) in body {
        out.push(c);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
    out
}

fn middle<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        let mut out: Vec<(char, &str)> = a.iter().map(|l| ('-', *l)).collect();
        out.extend(b.iter().map(|l| ('+', *l)));
        return out;
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let w = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out
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
