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
//! memory of each stage is measured (docs/performance.md).

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
}
