//! The one way this crate runs work in parallel: independent items on scoped threads, results
//! in item order, so parallelism never changes an output.

/// Threads for `n` items: one per core, at most 8, at most `n`, at least 1.
fn threads_for(n: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8)
        .min(n)
        .max(1)
}

/// Calls `f(&mut state, i)` for every `i` in `0..n` on up to as many threads as there are cores
/// (items interleaved across threads), each thread with its own `state` from `init`; returns the
/// results in index order. A panic in a worker is resumed on the caller's thread.
pub fn map_indexed<S, T, I, F>(n: usize, init: I, f: F) -> Vec<T>
where
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
{
    let threads = threads_for(n);
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
pub fn stream_indexed<S, T, I, F, C>(n: usize, init: I, f: F, consume: C)
where
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
    C: FnMut(usize, T) -> bool,
{
    stream_weighted(n, |_| 0, 0, init, f, consume);
}

/// [`stream_indexed`] with a budget: item `i` weighs `weight(i)` (e.g. the bytes of input it
/// reads, for what its work holds in memory) and starts only when the weights of the items
/// running with it stay within `budget`; an item always starts when nothing else runs, however
/// heavy. So many light items run on every core, heavy ones one or a few at a time, and peak
/// memory follows the budget, not the number of cores. Results and their order of consumption
/// rules are those of [`stream_indexed`].
pub fn stream_weighted<S, T, W, I, F, C>(
    n: usize,
    weight: W,
    budget: u64,
    init: I,
    f: F,
    mut consume: C,
) where
    T: Send,
    W: Fn(usize) -> u64 + Sync,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
    C: FnMut(usize, T) -> bool,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    let threads = threads_for(n);
    let next = AtomicUsize::new(0);
    let limit = AtomicUsize::new(n);
    // Weight of the items running.
    let running = (Mutex::new(0u64), Condvar::new());
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, T)>(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (tx, init, f, next, limit) = (tx.clone(), &init, &f, &next, &limit);
                let (weight, running) = (&weight, &running);
                s.spawn(move || {
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= limit.load(Ordering::SeqCst) {
                            break;
                        }
                        let w = weight(i);
                        {
                            let mut held = running.0.lock().unwrap_or_else(|e| e.into_inner());
                            while *held > 0 && held.saturating_add(w) > budget {
                                held = running.1.wait(held).unwrap_or_else(|e| e.into_inner());
                            }
                            *held = held.saturating_add(w);
                        }
                        let r = f(&mut state, i);
                        {
                            let mut held = running.0.lock().unwrap_or_else(|e| e.into_inner());
                            *held = held.saturating_sub(w);
                            running.1.notify_all();
                        }
                        if tx.send((i, r)).is_err() {
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

/// [`stream_indexed`] with the results handed to `consume` in index order (on the caller's
/// thread). An item starts only when it is fewer than `ahead` (at least 1) items past the next
/// one to be consumed, so at most `ahead` finished results wait, however unevenly items take
/// their time. When `consume` returns false, nothing more is consumed and no item after that
/// `i` is started. A panic in a worker stops the others and is resumed on the caller's thread.
pub fn stream_ordered<S, T, I, F, C>(n: usize, ahead: usize, init: I, f: F, mut consume: C)
where
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
    C: FnMut(usize, T) -> bool,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    let ahead = ahead.max(1);
    let threads = threads_for(n);
    let next = AtomicUsize::new(0);
    // The next index to be consumed, and the end of what may start.
    let gate = (Mutex::new((0usize, n)), Condvar::new());
    /// Closes the gate when its thread unwinds: a worker's panic (no other worker then waits
    /// for the item the panicking one will never deliver) or the consumer's.
    struct Closer<'g>(&'g (Mutex<(usize, usize)>, Condvar));
    impl Drop for Closer<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let mut g = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
                g.1 = 0;
                self.0.1.notify_all();
            }
        }
    }
    // Room for every result that may wait (at most `ahead` are finished and not consumed): a
    // worker never blocks on a consumer that is slow to be scheduled.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, T)>(ahead.max(threads));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (tx, init, f, next, gate) = (tx.clone(), &init, &f, &next, &gate);
                s.spawn(move || {
                    let _closer = Closer(gate);
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        {
                            let mut g = gate.0.lock().unwrap_or_else(|e| e.into_inner());
                            while i < g.1 && i >= g.0.saturating_add(ahead) {
                                g = gate.1.wait(g).unwrap_or_else(|e| e.into_inner());
                            }
                            if i >= g.1 {
                                break;
                            }
                        }
                        let r = f(&mut state, i);
                        if tx.send((i, r)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        // A panic in `consume` closes the gate too: the scope waits for every worker before the
        // panic goes on, and a worker waiting for its turn would wait for ever.
        let _closer = Closer(&gate);
        let mut waiting = std::collections::BTreeMap::new();
        let mut expected = 0;
        let mut stopped = false;
        for (i, r) in rx.iter() {
            if stopped {
                continue;
            }
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&expected) {
                let go = consume(expected, r);
                expected += 1;
                let mut g = gate.0.lock().unwrap_or_else(|e| e.into_inner());
                g.0 = expected;
                if !go {
                    g.1 = g.1.min(expected);
                    stopped = true;
                }
                gate.1.notify_all();
                if stopped {
                    waiting.clear();
                    break;
                }
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

    /// The items a streaming `run` hands its consumer when the consumer refuses item 10, in the
    /// order it got them.
    fn refusing_item_10(run: impl FnOnce(&mut dyn FnMut(usize, usize) -> bool)) -> Vec<usize> {
        let mut got = Vec::new();
        run(&mut |i, _| {
            got.push(i);
            i != 10
        });
        got
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
        let mut got = refusing_item_10(|c| stream_indexed(1000, || (), |(), i| i, c));
        got.sort_unstable();
        assert!(got.starts_with(&(0..=10).collect::<Vec<_>>()), "{got:?}");
        assert!(got.len() < 1000);
        stream_indexed(0, || (), |(), i| i, |_, _| true);
    }

    #[test]
    fn weighted_items_stay_within_the_budget() {
        use std::sync::atomic::{AtomicU64, Ordering};
        // Weights 1..=10 repeated; budget 12: two heavy items never overlap, light ones do.
        let weight = |i: usize| (i % 10) as u64 + 1;
        let held = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        let mut seen = Vec::new();
        stream_weighted(
            200,
            weight,
            12,
            || (),
            |(), i| {
                let now = held.fetch_add(weight(i), Ordering::SeqCst) + weight(i);
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_micros(200));
                held.fetch_sub(weight(i), Ordering::SeqCst);
                i + 1
            },
            |i, r| {
                seen.push((i, r));
                true
            },
        );
        seen.sort_unstable();
        assert_eq!(seen, (0..200).map(|i| (i, i + 1)).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 12, "{peak:?}");
        // An item heavier than the budget still runs (alone).
        let mut got = Vec::new();
        stream_weighted(
            3,
            |_| 100,
            10,
            || (),
            |(), i| i,
            |i, _| {
                got.push(i);
                true
            },
        );
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2]);
    }

    #[test]
    fn ordered_results_arrive_in_index_order_with_few_waiting() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Uneven items (every seventh sleeps) must still be consumed 0, 1, 2, …; an item starts
        // only when it is fewer than `ahead` past the next one consumed.
        let consumed = AtomicUsize::new(0);
        let mut seen = Vec::new();
        stream_ordered(
            200,
            3,
            || (),
            |(), i| {
                let now = consumed.load(Ordering::SeqCst);
                assert!(i < now + 3, "item {i} started with {now} consumed");
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                i * 3
            },
            |i, r| {
                seen.push((i, r));
                consumed.store(i + 1, Ordering::SeqCst);
                true
            },
        );
        assert_eq!(seen, (0..200).map(|i| (i, i * 3)).collect::<Vec<_>>());
        // Refusing item 10: nothing after it is consumed.
        let got = refusing_item_10(|c| stream_ordered(1000, 4, || (), |(), i| i, c));
        assert_eq!(got, (0..=10).collect::<Vec<_>>());
        stream_ordered(0, 1, || (), |(), i| i, |_, _| true);
    }

    #[test]
    #[should_panic(expected = "item 5")]
    fn an_ordered_worker_panic_reaches_the_caller_without_a_hang() {
        stream_ordered(
            100,
            2,
            || (),
            |(), i| {
                assert!(i != 5, "item 5");
                i
            },
            |_, _| true,
        );
    }

    #[test]
    #[should_panic(expected = "consumer at 3")]
    fn an_ordered_consumer_panic_reaches_the_caller_without_a_hang() {
        stream_ordered(
            1000,
            2,
            || (),
            |(), i| i,
            |i, _| {
                assert!(i != 3, "consumer at 3");
                true
            },
        );
    }
}
