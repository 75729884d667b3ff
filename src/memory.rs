//! Giving freed memory back to the system between the stages of a long run.
//!
//! The library allocates through the global allocator and, forbidding unsafe code, cannot ask it
//! to return what was freed; the binary can (`allocator` in src/main.rs) and registers how with
//! [`set_release`]. Stages that have just freed much call [`release`]: the analysis after
//! collecting (each export's last-accessed data, the collector's scratch) and after the verdict
//! join; `report` after the analysis, after planning, before and after the decisions and before
//! the writers; the collection also calls [`purge`] as it goes. Unregistered (tests, library
//! callers), [`release`] and [`purge`] do nothing. Releasing changes no result, only the
//! process's resident memory. The release also says what the heap held just before it; `report`
//! prints those figures with `IAM_TIGHTEN_TIMINGS` (`heap <stage> <MiB>`), which is how the
//! memory of each stage is measured (docs/performance.md). [`sort_stable_by`] is a stable sort
//! whose scratch is 6 bytes an element rather than half the list.

use std::sync::{Mutex, OnceLock};

/// Gives freed memory back; returns the bytes the heap held just before (when it can tell).
type Release = fn() -> Option<u64>;

static RELEASE: OnceLock<Release> = OnceLock::new();

/// What the heap held at each release, in order: `IAM_TIGHTEN_TIMINGS` prints it.
static HEAP: Mutex<Vec<(&'static str, u64)>> = Mutex::new(Vec::new());

/// Registers how to give freed memory back (once per process; later calls are ignored).
pub fn set_release(release: Release) {
    let _ = RELEASE.set(release);
}

/// Gives freed memory back, when a way was registered, and notes what the heap held before,
/// under `stage`.
pub fn release(stage: &'static str) {
    let Some(release) = RELEASE.get() else {
        return;
    };
    if let Some(bytes) = release() {
        HEAP.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((stage, bytes));
    }
}

/// Gives freed memory back, when a way was registered, without noting the heap: for a stage that
/// frees much as it goes, between two [`release`]s (the collection frees each export's
/// last-accessed reports once collected). Other threads may be allocating meanwhile: what they
/// free later is given back by the next call.
pub fn purge() {
    if let Some(release) = RELEASE.get() {
        let _ = release();
    }
}

/// Every stage's heap figure so far ([`release`]), in order.
pub fn heap_in_use() -> Vec<(&'static str, u64)> {
    HEAP.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Sorts `list` stably by `cmp`, as `slice::sort_by` does, with 6 bytes of scratch an element:
/// the order is found on `u32` indices and then applied in place. `sort_by` takes a buffer of
/// half the list (at 1,000,000 roles ~0.3 GB for the decisions and ~0.1 GB for the
/// recommendations' summary, at the end of the decisions stage, the run's peak). Ties keep the
/// list's order. Past `u32::MAX - 1` elements it is `sort_by`.
pub fn sort_stable_by<T>(list: &mut [T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let Some(len) = u32::try_from(list.len()).ok().filter(|&n| n < u32::MAX) else {
        list.sort_by(cmp);
        return;
    };
    let mut from: Vec<u32> = (0..len).collect();
    from.sort_by(|&a, &b| cmp(&list[a as usize], &list[b as usize]));
    permute(&mut from, |a, b| list.swap(a, b));
}

/// Sorts `list` by `key`, unstably, and `beside` (as long as `list`) along with it: `beside[i]`
/// stays with `list[i]`. `key` reads both. The order is found on `u32` indices and applied to
/// both in place (4 bytes of scratch an element, where zipping them took a copy of both). Past
/// `u32::MAX - 1` elements it sorts a zipped copy.
pub fn sort_unstable_beside<T, U, K: Ord>(
    list: &mut Vec<T>,
    beside: &mut Vec<U>,
    key: impl Fn(&T, &U) -> K,
) {
    assert_eq!(list.len(), beside.len(), "one beside each");
    let Some(len) = u32::try_from(list.len()).ok().filter(|&n| n < u32::MAX) else {
        let mut both: Vec<(T, U)> = list.drain(..).zip(beside.drain(..)).collect();
        both.sort_unstable_by_key(|(a, x)| key(a, x));
        (*list, *beside) = both.into_iter().unzip();
        return;
    };
    let mut from: Vec<u32> = (0..len).collect();
    from.sort_unstable_by_key(|&i| key(&list[i as usize], &beside[i as usize]));
    permute(&mut from, |a, b| {
        list.swap(a, b);
        beside.swap(a, b);
    });
}

/// Puts the element at `from[i]` at `i` for every `i`, in place, by `swap`s that follow each
/// cycle of the permutation `from` (consumed: every entry is marked done as its place is
/// filled).
fn permute(from: &mut [u32], mut swap: impl FnMut(usize, usize)) {
    const DONE: u32 = u32::MAX;
    for start in 0..from.len() {
        let mut at = start;
        while from[at] != DONE {
            let next = from[at] as usize;
            from[at] = DONE;
            if next == start {
                break;
            }
            swap(at, next);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn count() -> Option<u64> {
        CALLS.fetch_add(1, Ordering::Relaxed);
        Some(7)
    }

    /// The registered release runs on every call, and a second registration is ignored. (The
    /// hook is process-wide: other tests of this binary may call it too, so counts only grow.)
    #[test]
    fn release_runs_what_was_registered() {
        super::set_release(count);
        super::set_release(|| panic!("a second registration replaced the first"));
        let before = CALLS.load(Ordering::Relaxed);
        super::release("first");
        super::purge();
        super::release("second");
        assert!(CALLS.load(Ordering::Relaxed) >= before + 3);
        // What the release said is noted under each stage, in order.
        let heap = super::heap_in_use();
        let first = heap.iter().position(|h| *h == ("first", 7));
        let second = heap.iter().position(|h| *h == ("second", 7));
        assert!(first.is_some() && second > first, "{heap:?}");
    }

    /// `permute` puts `list[from[i]]` at `i` for permutations made of fixed points, swaps and
    /// longer cycles.
    #[test]
    fn permute_follows_every_cycle() {
        for from in [
            vec![],
            vec![0],
            vec![1, 0],
            vec![0, 1, 2],
            vec![2, 0, 1],
            vec![1, 2, 0],
            vec![3, 0, 4, 1, 2, 5],
            vec![5, 4, 3, 2, 1, 0],
        ] {
            let list: Vec<u32> = (0..from.len() as u32).map(|i| i * 10).collect();
            let want: Vec<u32> = from.iter().map(|&i| list[i as usize]).collect();
            let mut got = list.clone();
            let mut by = from.clone();
            super::permute(&mut by, |a, b| got.swap(a, b));
            assert_eq!(got, want, "{from:?}");
        }
    }

    /// The sort is `sort_by`'s, ties included, on lists with many equal keys.
    #[test]
    fn sorting_through_indices_is_sort_by() {
        let mut seed = 7u64;
        for len in [0usize, 1, 2, 3, 10, 100, 1000] {
            let list: Vec<(u8, u32)> = (0..len as u32)
                .map(|i| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((seed >> 60) as u8, i)
                })
                .collect();
            let mut want = list.clone();
            want.sort_by_key(|a| a.0);
            let mut got = list;
            super::sort_stable_by(&mut got, |a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "{len}");
        }
    }

    /// Sorting beside: the list in the order of a key that reads both, each element still
    /// beside its own.
    #[test]
    fn sorting_beside_keeps_each_beside_its_own() {
        let mut seed = 11u64;
        for len in [0usize, 1, 2, 3, 10, 100, 1000] {
            let list: Vec<u32> = (0..len as u32)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as u32
                })
                .collect();
            // The key reads the element beside too: odd positions sort after even ones.
            let beside: Vec<u64> = (0..len as u64).map(|i| i * 7).collect();
            let key = |a: &u32, b: &u64| (b % 2, *a, *b);
            let mut want: Vec<(u32, u64)> = list.iter().copied().zip(beside.clone()).collect();
            want.sort_by_key(|(a, b)| key(a, b));
            let (mut got, mut by) = (list, beside);
            super::sort_unstable_beside(&mut got, &mut by, key);
            let got: Vec<(u32, u64)> = got.into_iter().zip(by).collect();
            assert_eq!(got, want, "{len}");
        }
    }
}
