//! A small line-based unified diff (longest common subsequence), enough for policy documents.

/// One line of an edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

/// Above this many DP cells the middle part is shown as removed then added (still a valid diff).
const MAX_CELLS: usize = 16_000_000;

/// Lengths of the longest common subsequences of the suffixes of `a` and `b`, held as one
/// bit-parallel row per suffix of `a` (Hyyrö, "Bit-parallel LCS-length computation revisited",
/// 2004): `(n + 1) * ceil(m / 64)` words instead of `(n + 1) * (m + 1)` counters, and 64 cells
/// computed per word operation. [`SuffixLcs::len`] answers what the full table would hold.
struct SuffixLcs {
    n: usize,
    m: usize,
    words: usize,
    /// Row `r` (after `r` lines of `a` reversed, i.e. the suffix `a[n - r..]`): bit `k` is clear
    /// when the LCS with `b` reversed grows by one from its first `k` lines to its first `k + 1`.
    rows: Vec<u64>,
}

impl SuffixLcs {
    fn new(a: &[&str], b: &[&str]) -> Self {
        let (n, m) = (a.len(), b.len());
        let words = m.div_ceil(64);
        // One match mask per distinct line of `a`, over `b` reversed: at most n masks of
        // `words` words, as many as the rows (~n * m / 64 words in all).
        let mut ids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let a_ids: Vec<usize> = a
            .iter()
            .map(|l| {
                let next = ids.len();
                *ids.entry(l).or_insert(next)
            })
            .collect();
        let mut masks = vec![0u64; ids.len() * words];
        for (k, l) in b.iter().rev().enumerate() {
            if let Some(&id) = ids.get(l) {
                masks[id * words + k / 64] |= 1 << (k % 64);
            }
        }
        let mut rows = vec![0u64; (n + 1) * words];
        rows[..words].fill(u64::MAX);
        for r in 0..n {
            let id = a_ids[n - 1 - r];
            let (done, rest) = rows.split_at_mut((r + 1) * words);
            let v = &done[r * words..];
            let out = &mut rest[..words];
            let pm = &masks[id * words..(id + 1) * words];
            let mut carry = 0u64;
            for w in 0..words {
                let u = v[w] & pm[w];
                let (s1, c1) = v[w].overflowing_add(u);
                let (s2, c2) = s1.overflowing_add(carry);
                carry = u64::from(c1 || c2);
                out[w] = s2 | (v[w] & !u);
            }
        }
        SuffixLcs { n, m, words, rows }
    }

    /// The LCS length of `a[i..]` and `b[j..]`.
    fn len(&self, i: usize, j: usize) -> usize {
        let row = &self.rows[(self.n - i) * self.words..(self.n - i + 1) * self.words];
        let bits = self.m - j;
        let full = bits / 64;
        let mut ones: usize = row[..full].iter().map(|w| w.count_ones() as usize).sum();
        if !bits.is_multiple_of(64) {
            ones += (row[full] & ((1u64 << (bits % 64)) - 1)).count_ones() as usize;
        }
        bits - ones
    }
}

fn edit_script<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Op<'a>> {
    edit_script_by(a, b, |am, bm, ops| {
        let lcs = SuffixLcs::new(am, bm);
        walk(am, bm, |i, j| lcs.len(i, j), ops);
    })
}

/// The script of `a` to `b`: their common first and last lines kept, the lines between them
/// compared by `middle` (unless that would take more than [`MAX_CELLS`], when they are shown as
/// removed then added).
fn edit_script_by<'a>(
    a: &[&'a str],
    b: &[&'a str],
    middle: impl FnOnce(&[&'a str], &[&'a str], &mut Vec<Op<'a>>),
) -> Vec<Op<'a>> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<Op<'a>> = a[..prefix].iter().map(|l| Op::Same(l)).collect();
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        ops.extend(am.iter().map(|l| Op::Del(l)));
        ops.extend(bm.iter().map(|l| Op::Add(l)));
    } else {
        middle(am, bm, &mut ops);
    }
    ops.extend(a[a.len() - suffix..].iter().map(|l| Op::Same(l)));
    ops
}

/// The script of `am` to `bm` that a table of LCS lengths gives, `lcs(i, j)` being that of
/// `am[i..]` and `bm[j..]`: equal lines kept, otherwise the line of `am` removed when that loses
/// nothing, deletions before additions (as diff(1) prints them).
fn walk<'a>(
    am: &[&'a str],
    bm: &[&'a str],
    lcs: impl Fn(usize, usize) -> usize,
    ops: &mut Vec<Op<'a>>,
) {
    let (n, m) = (am.len(), bm.len());
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && am[i] == bm[j] {
            ops.push(Op::Same(am[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs(i + 1, j) >= lcs(i, j + 1)) {
            ops.push(Op::Del(am[i]));
            i += 1;
        } else {
            ops.push(Op::Add(bm[j]));
            j += 1;
        }
    }
}

/// A unified diff of `old` and `new` with `context` lines around each change, headed by the two
/// labels. Empty when the texts are equal.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str, context: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = edit_script(&a, &b);
    if ops.iter().all(|o| matches!(o, Op::Same(_))) {
        return String::new();
    }
    // Positions in `ops` of changes, grouped into hunks.
    let changes: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Op::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &c in &changes {
        let start = c.saturating_sub(context);
        let end = (c + context + 1).min(ops.len());
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    // Line numbers before each op.
    let (mut la, mut lb) = (Vec::with_capacity(ops.len()), Vec::with_capacity(ops.len()));
    let (mut x, mut y) = (1usize, 1usize);
    for o in &ops {
        la.push(x);
        lb.push(y);
        match o {
            Op::Same(_) => {
                x += 1;
                y += 1;
            }
            Op::Del(_) => x += 1,
            Op::Add(_) => y += 1,
        }
    }
    for (s, e) in hunks {
        let slice = &ops[s..e];
        let na = slice.iter().filter(|o| !matches!(o, Op::Add(_))).count();
        let nb = slice.iter().filter(|o| !matches!(o, Op::Del(_))).count();
        // Unified format: a zero-length range starts one line earlier.
        let sa = if na == 0 { la[s] - 1 } else { la[s] };
        let sb = if nb == 0 { lb[s] - 1 } else { lb[s] };
        out.push_str(&format!("@@ -{sa},{na} +{sb},{nb} @@\n"));
        for o in slice {
            let (c, l) = match o {
                Op::Same(l) => (' ', l),
                Op::Del(l) => ('-', l),
                Op::Add(l) => ('+', l),
            };
            out.push(c);
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The full LCS table of every suffix pair, as before the bit-parallel rows.
    fn table(a: &[&str], b: &[&str]) -> Vec<usize> {
        let (n, m) = (a.len(), b.len());
        let w = m + 1;
        let mut t = vec![0usize; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * w + j] = if a[i] == b[j] {
                    t[(i + 1) * w + j + 1] + 1
                } else {
                    t[(i + 1) * w + j].max(t[i * w + j + 1])
                };
            }
        }
        t
    }

    /// The script as it was computed before the bit-parallel rows (the full table): the
    /// reference the property test holds [`edit_script`] to.
    fn edit_script_table<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Op<'a>> {
        edit_script_by(a, b, |am, bm, ops| {
            let t = table(am, bm);
            let w = bm.len() + 1;
            walk(am, bm, |i, j| t[i * w + j], ops);
        })
    }

    /// Lines from a small alphabet, so that lines repeat and the LCS has many ties to break.
    fn lines(max: usize) -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("c"),
                Just("  \"s3:GetObject\","),
                Just("  \"s3:GetObject\""),
                Just("]"),
            ]
            .prop_map(str::to_string),
            0..max,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The bit-parallel rows give the same script as the full table, across word
        /// boundaries (up to 200 lines: four 64-bit words) and with every tie.
        #[test]
        fn bit_parallel_script_is_the_table_script(a in lines(200), b in lines(200)) {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let b: Vec<&str> = b.iter().map(String::as_str).collect();
            prop_assert_eq!(edit_script(&a, &b), edit_script_table(&a, &b));
        }

        /// Every LCS length the rows answer is the table's.
        #[test]
        fn suffix_lengths_are_the_tables(a in lines(140), b in lines(140)) {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let b: Vec<&str> = b.iter().map(String::as_str).collect();
            let (n, m) = (a.len(), b.len());
            let w = m + 1;
            let table = table(&a, &b);
            let rows = SuffixLcs::new(&a, &b);
            for i in 0..=n {
                for j in 0..=m {
                    prop_assert_eq!(rows.len(i, j), table[i * w + j], "i={} j={}", i, j);
                }
            }
        }
    }

    #[test]
    fn equal_is_empty() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y", 3), "");
    }

    #[test]
    fn simple_hunk() {
        let d = unified("a\nb\nc\nd\n", "a\nc\nd\ne\n", "old", "new", 1);
        assert_eq!(d, "--- old\n+++ new\n@@ -1,4 +1,4 @@\n a\n-b\n c\n d\n+e\n");
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let old: String = (0..20).map(|i| format!("{i}\n")).collect();
        let new = old
            .replacen("2\n", "two\n", 1)
            .replace("17\n", "seventeen\n");
        let d = unified(&old, &new, "a", "b", 2);
        assert_eq!(d.matches("@@ -").count(), 2);
        assert!(d.contains("-2\n+two\n"));
        // Applying the diff's + and context lines gives the new text.
    }

    #[test]
    fn all_removed() {
        let d = unified("a\nb\n", "", "a", "b", 3);
        assert_eq!(d, "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-a\n-b\n");
    }
}
