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

/// Calls `f(&mut state, i)` for every `i` in `0..n` on up to as many threads as there are cores
/// (items started in increasing `i`), and hands each result to `consume(i, result)` on the
/// caller's thread as soon as it is done: in completion order, so the caller must make what it
/// writes independent of that order. At most one result per thread waits for the consumer, so
/// memory holds a few results, not all. When `consume` returns false, no item after that `i` is
/// started; items already started still finish and are consumed (so the failure with the lowest
/// index among them is the one a one-by-one run would meet first). A panic in a worker is
/// resumed on the caller's thread.
pub fn stream_indexed<S, T, I, F, C>(n: usize, init: I, f: F, mut consume: C)
where
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
    C: FnMut(usize, T) -> bool,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8)
        .min(n)
        .max(1);
    let next = AtomicUsize::new(0);
    let limit = AtomicUsize::new(n);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, T)>(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (tx, init, f, next, limit) = (tx.clone(), &init, &f, &next, &limit);
                s.spawn(move || {
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= limit.load(Ordering::SeqCst) {
                            break;
                        }
                        if tx.send((i, f(&mut state, i))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        for (i, r) in rx.iter() {
            if !consume(i, r) {
                limit.fetch_min(i + 1, Ordering::SeqCst);
            }
        }
        for h in handles {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
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

    #[test]
    fn streamed_results_all_arrive_and_stop_after_a_refusal() {
        let mut seen = Vec::new();
        stream_indexed(
            500,
            || (),
            |(), i| i * 3,
            |i, r| {
                seen.push((i, r));
                true
            },
        );
        seen.sort_unstable();
        assert_eq!(seen, (0..500).map(|i| (i, i * 3)).collect::<Vec<_>>());
        // Refusing item 10: nothing after it starts but those already started; everything up
        // to 10 arrives.
        let mut got = Vec::new();
        stream_indexed(
            1000,
            || (),
            |(), i| i,
            |i, _| {
                got.push(i);
                i != 10
            },
        );
        got.sort_unstable();
        assert!(got.starts_with(&(0..=10).collect::<Vec<_>>()), "{got:?}");
        assert!(got.len() < 1000);
        stream_indexed(0, || (), |(), i| i, |_, _| true);
    }
}
