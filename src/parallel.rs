//! The one way this crate runs work in parallel: independent items on scoped threads, results
//! in item order, so parallelism never changes an output.

/// Calls `f(&mut state, i)` for every `i` in `0..n` on up to as many threads as there are cores
/// (items interleaved across threads), each thread with its own `state` from `init`; returns the
/// results in index order. A panic in a worker is resumed on the caller's thread.
pub fn map_indexed<S, T, I, F>(n: usize, init: I, f: F) -> Vec<T>
where
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8)
        .min(n)
        .max(1);
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (init, f) = (&init, &f);
                s.spawn(move || {
                    let mut state = init();
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, f(&mut state, i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            let done = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            for (i, r) in done {
                slots[i] = Some(r);
            }
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_index_order_and_state_is_per_thread() {
        let out = map_indexed(
            1000,
            || 0usize,
            |seen, i| {
                *seen += 1;
                (i * 2, *seen)
            },
        );
        assert_eq!(out.len(), 1000);
        assert!(out.iter().enumerate().all(|(i, (v, _))| *v == i * 2));
        // Every item was counted by exactly one thread's state.
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(8);
        let total: usize = (0..threads.min(1000))
            .map(|t| {
                out.iter()
                    .skip(t)
                    .step_by(threads)
                    .map(|(_, s)| *s)
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(total, 1000);
        assert!(map_indexed(0, || (), |_, i| i).is_empty());
    }
}
