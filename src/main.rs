//! The `iam-tighten` binary: parse flags, run the library, map errors to exit codes.
//! Exit codes: 0 ok; 1 findings crossed `--fail-on` or `diff --exit-code` found changes;
//! 2 usage or input error; 3 `diff --exit-code` found the sides swapped.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Parsing the flags starts no thread: the allocator is still untouched here.
    let allocator = match cli.command {
        cli::Command::Report(_) => allocator::tune(),
        _ => "its own parameters (only `report` sets them)".to_string(),
    };
    if std::env::var_os("IAM_TIGHTEN_TIMINGS").is_some() {
        eprintln!("allocator {allocator}");
    }
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// glibc's malloc for `report`: its parameters ([`allocator::tune`]) and the free pages
/// returned between stages (`allocator::release_free_memory`, registered as the library's
/// `memory::release`). The crate's only unsafe code: three libc calls (the library forbids unsafe
/// code, `tests/layering.rs` checks it).
#[allow(unsafe_code)]
mod allocator {
    /// The environment variable whose `glibc.malloc.*` settings, when present, are left in charge.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    const TUNABLES: &str = "GLIBC_TUNABLES";

    /// glibc's malloc, set for `report`, a batch job that builds large structures stage by stage
    /// and frees them: at most one arena per core, at least 2 (glibc's default is 8 per core;
    /// `parallel::map_indexed` and polars run one thread per core); blocks of 4 MiB or more mapped
    /// on their own, so they go back to the system when freed (glibc's threshold grows to 32 MiB
    /// as large blocks are freed); the top of a heap returned past 32 MiB free. Measured (docs/
    /// performance.md, "Issue 18, fourth pass"): peak RSS 1.16–1.24 → 0.87–0.89 GiB at 10,000
    /// roles and 6.14 → 4.53 GiB at 100,000; the wall time 0–5% longer at 1,000 and 10,000 roles,
    /// 12% longer at 100,000 (planning and the writers, which allocate the most). `diff` keeps
    /// glibc's parameters: with 2 arenas it ran 15% longer for 10% less memory. A `GLIBC_TUNABLES`
    /// naming any `glibc.malloc.` setting leaves glibc's parameters alone (to compare, or to tune
    /// by hand). Then registers [`release_free_memory`] as `iam_tighten::memory::release`.
    /// Returns what was set, for `IAM_TIGHTEN_TIMINGS`.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn tune() -> String {
        const MMAP_FROM: i32 = 4 << 20;
        const TRIM_PAST: i32 = 32 << 20;
        if std::env::var(TUNABLES).is_ok_and(|t| t.contains("glibc.malloc.")) {
            return format!("glibc, as {TUNABLES} sets it");
        }
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let arenas = i32::try_from(cores.clamp(2, 64)).unwrap_or(64);
        let refused: Vec<&str> = [
            ("M_ARENA_MAX", libc::M_ARENA_MAX, arenas),
            ("M_MMAP_THRESHOLD", libc::M_MMAP_THRESHOLD, MMAP_FROM),
            ("M_TRIM_THRESHOLD", libc::M_TRIM_THRESHOLD, TRIM_PAST),
        ]
        .into_iter()
        .filter(|&(_, param, value)| {
            // SAFETY: `mallopt` only sets one of malloc's parameters (each value is in the range
            // its manual allows); `main` calls this right after parsing the flags, before any other
            // thread exists.
            let ok = unsafe { libc::mallopt(param, value) };
            ok != 1
        })
        .map(|(name, _, _)| name)
        .collect();
        iam_tighten::memory::set_release(release_free_memory);
        if refused.is_empty() {
            format!(
                "glibc, {arenas} arenas, mmap from {} MiB, trim past {} MiB",
                MMAP_FROM >> 20,
                TRIM_PAST >> 20
            )
        } else {
            format!("glibc, mallopt refused {}", refused.join(", "))
        }
    }

    /// Returns the free pages inside malloc's heaps to the system (`malloc_trim(0)`). glibc
    /// gives back only the top of a heap on its own; the stages of `report` free large
    /// structures (the last-accessed data after collecting, the parsed exports after planning)
    /// whose pages then stay behind smaller live blocks. Registered by [`tune`] only, so a
    /// `GLIBC_TUNABLES` run keeps glibc as it is. Called between stages, when no other thread of
    /// ours is allocating. Measured (docs/performance.md, "Issue 18, fifth pass"): peak RSS at
    /// 100,000 roles 3.50 → 3.17 GiB for ~0.5 s of 67 s.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn release_free_memory() -> Option<u64> {
        // SAFETY: `mallinfo2` only reads malloc's counters (under its locks); `malloc_trim`
        // only returns free memory of malloc's own heaps to the system; it takes malloc's locks
        // like any allocation and touches no live block.
        let info = unsafe {
            let info = libc::mallinfo2();
            libc::malloc_trim(0);
            info
        };
        // Live blocks in the heaps, and blocks mapped on their own.
        Some(info.uordblks as u64 + info.hblkhd as u64)
    }

    /// Other systems' allocators keep their defaults.
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn tune() -> String {
        "the system's, its own parameters".to_string()
    }
}
