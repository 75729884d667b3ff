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
        _ => allocator::untuned(),
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
            eprintln!("error: {}", cmd::inert(&format!("{err:#}")));
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

/// jemalloc, the global allocator on Linux, with the parameters of [`allocator::CONF`], and the
/// free pages returned between the stages of `report` (`allocator::release_free_memory`,
/// registered as the library's `memory::release`). The crate's only unsafe code: the symbol
/// jemalloc reads its options from and its `mallctl` calls (the library forbids unsafe code,
/// `tests/layering.rs` checks it).
#[allow(unsafe_code)]
mod allocator {
    /// Every allocation of the process's Rust code goes to jemalloc (its symbols prefixed, so C
    /// code keeps the system's malloc). Measured against glibc's malloc with the parameters
    /// `report` set before (docs/performance.md, "Issue 18, twentieth pass"): ~0.85× the CPU at
    /// 10,000 roles for the same peak; glibc spent ~12% of all CPU in malloc and free.
    #[cfg(target_os = "linux")]
    #[global_allocator]
    static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// jemalloc's options, read once at its first allocation (before `main`): one arena per CPU,
    /// threads using the arena of the CPU they run on (jemalloc's default is 4 arenas per CPU,
    /// which held 24–37% more memory at the peak at 10,000 roles); freed pages given back after
    /// about a second instead of ten (`dirty_decay_ms`: the writers allocate and free their
    /// buffers all the time, and at 1,000,000 roles ten seconds of them, ~40 MiB, were the run's
    /// peak; no slower at 1,000 and 10,000 roles). The environment variable [`ENV`] is read after
    /// them, so options set there win (to compare or to tune by hand).
    #[cfg(target_os = "linux")]
    pub const CONF: &str = "percpu_arena:percpu,dirty_decay_ms:1000";

    /// [`CONF`] nul-terminated, as jemalloc reads it.
    #[cfg(target_os = "linux")]
    const fn nul_terminated<const N: usize>(text: &str) -> [u8; N] {
        let bytes = text.as_bytes();
        assert!(bytes.len() + 1 == N);
        let mut out = [0u8; N];
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i] != 0);
            out[i] = bytes[i];
            i += 1;
        }
        out
    }

    /// The options jemalloc reads before any other: a pointer to [`CONF`], nul-terminated, under
    /// the name of jemalloc's weak `malloc_conf` (prefixed, as the crate builds it).
    #[cfg(target_os = "linux")]
    #[unsafe(export_name = "_rjem_malloc_conf")]
    static MALLOC_CONF: &[u8; CONF.len() + 1] = &nul_terminated(CONF);

    /// The environment variable jemalloc reads its options from, after [`CONF`].
    #[cfg(target_os = "linux")]
    pub const ENV: &str = "_RJEM_MALLOC_CONF";

    /// For `report`, a batch job that builds large structures stage by stage and frees them:
    /// registers [`release_free_memory`] as `iam_tighten::memory::release`, unless [`ENV`] is
    /// set (then jemalloc runs as that says, with nothing purged between stages: to compare).
    /// Returns what runs, for `IAM_TIGHTEN_TIMINGS`.
    #[cfg(target_os = "linux")]
    pub fn tune() -> String {
        if std::env::var_os(ENV).is_some() {
            return format!("jemalloc, as {ENV} sets it");
        }
        iam_tighten::memory::set_release(release_free_memory);
        format!("{}, purged between stages", parameters())
    }

    /// What every command but `report` says it runs with.
    #[cfg(target_os = "linux")]
    pub fn untuned() -> String {
        format!(
            "{}, nothing purged (only `report` purges between stages)",
            parameters()
        )
    }

    /// jemalloc's own word on the arenas it runs with (`opt.percpu_arena`, `opt.narenas`,
    /// `opt.dirty_decay_ms`): what it read, not what we asked.
    #[cfg(target_os = "linux")]
    fn parameters() -> String {
        let percpu = read::<*const std::ffi::c_char>(c"opt.percpu_arena").map(|p| {
            // SAFETY: jemalloc answers `opt.percpu_arena` with a pointer to one of its own
            // static, nul-terminated option names.
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        });
        let narenas = read::<u32>(c"opt.narenas");
        // `ssize_t` in jemalloc.
        let decay = read::<isize>(c"opt.dirty_decay_ms");
        format!(
            "jemalloc, percpu_arena {}, narenas {}, dirty_decay_ms {}",
            percpu.as_deref().unwrap_or("?"),
            narenas.map_or_else(|| "?".to_string(), |n| n.to_string()),
            decay.map_or_else(|| "?".to_string(), |n| n.to_string())
        )
    }

    /// Reads one of jemalloc's values: `mallctl(name, &value, &size, NULL, 0)`.
    #[cfg(target_os = "linux")]
    fn read<T: Copy>(name: &std::ffi::CStr) -> Option<T> {
        let mut value = std::mem::MaybeUninit::<T>::uninit();
        let mut len = std::mem::size_of::<T>();
        // SAFETY: `name` is nul-terminated; `value` has room for `len` bytes, the size of the
        // type each caller names for its value (jemalloc's documented type of that name), and
        // jemalloc writes exactly that many or fails.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                value.as_mut_ptr().cast(),
                &raw mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        // SAFETY: on success jemalloc wrote a whole `T` (it checks `len` against its size).
        (rc == 0 && len == std::mem::size_of::<T>()).then(|| unsafe { value.assume_init() })
    }

    /// Calls one of jemalloc's controls, with a value (`epoch`) or none (`arena.<i>.purge`).
    #[cfg(target_os = "linux")]
    fn call(name: &std::ffi::CStr, mut value: Option<u64>) -> bool {
        let (newp, newlen) = match value.as_mut() {
            Some(v) => (std::ptr::from_mut(v).cast(), std::mem::size_of::<u64>()),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: `name` is nul-terminated; nothing is read back; `newp` is null or points to
        // a `u64` of `newlen` bytes (`epoch` takes a `uint64_t`).
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                newp,
                newlen,
            )
        };
        rc == 0
    }

    /// Returns the free pages of every arena to the system (`arena.<all>.purge`) and says what
    /// the live heap held just before (`stats.allocated`, after refreshing the statistics with
    /// `epoch`). jemalloc returns freed pages on its own after ~10 s; the stages of `report` free
    /// large structures (the last-accessed data after collecting, the parsed exports after
    /// planning) just before the next stage allocates as much again. Called between stages,
    /// and during the collection (`iam_tighten::memory::purge`), whose threads free each
    /// export's last-accessed reports as they go: at 1,000,000 roles ~2 GB of them waited for
    /// jemalloc's decay at the stage's end.
    #[cfg(target_os = "linux")]
    fn release_free_memory() -> Option<u64> {
        let heap = if call(c"epoch", Some(1)) {
            read::<usize>(c"stats.allocated").map(|b| b as u64)
        } else {
            None
        };
        // 4096 is `MALLCTL_ARENAS_ALL`: every arena.
        call(c"arena.4096.purge", None);
        heap
    }

    /// Other systems' allocators keep their defaults.
    #[cfg(not(target_os = "linux"))]
    pub fn tune() -> String {
        "the system's, its own parameters".to_string()
    }

    /// Other systems' allocators keep their defaults.
    #[cfg(not(target_os = "linux"))]
    pub fn untuned() -> String {
        "the system's, its own parameters".to_string()
    }
}
