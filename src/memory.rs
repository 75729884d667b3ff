//! Giving freed memory back to the system between the stages of a long run.
//!
//! The library allocates through the global allocator and, forbidding unsafe code, cannot ask it
//! to return what was freed; the binary can (`allocator` in src/main.rs) and registers how with
//! [`set_release`]. Stages that have just freed much call [`release`]: the analysis after
//! collecting (each export's last-accessed data, the collector's scratch) and after the verdict
//! join. Unregistered (tests, library callers), [`release`] does nothing. Releasing changes no
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
