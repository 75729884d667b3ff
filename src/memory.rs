//! Giving freed memory back to the system between the stages of a long run.
//!
//! The library allocates through the global allocator and, forbidding unsafe code, cannot ask it
//! to return what was freed; the binary can (`allocator` in src/main.rs) and registers how with
//! [`set_release`]. Stages that have just freed much call [`release`]: the analysis after
//! collecting (each export's last-accessed data, the collector's scratch) and after the verdict
//! join; `report` after the analysis, after planning and before the writers. Unregistered (tests, library callers), [`release`] does nothing. Releasing changes no
//! result, only the process's resident memory.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Registers how to give freed memory back (once per process; later calls are ignored).
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Gives freed memory back, when a way was registered.
pub fn release() {
    if let Some(release) = RELEASE.get() {
        release();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn count() {
        CALLS.fetch_add(1, Ordering::Relaxed);
    }

    /// The registered release runs on every call, and a second registration is ignored. (The
    /// hook is process-wide: other tests of this binary may call it too, so counts only grow.)
    #[test]
    fn release_runs_what_was_registered() {
        super::set_release(count);
        super::set_release(|| panic!("a second registration replaced the first"));
        let before = CALLS.load(Ordering::Relaxed);
        super::release();
        super::release();
        assert!(CALLS.load(Ordering::Relaxed) >= before + 2);
    }
}
