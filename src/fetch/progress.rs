//! Progress and notes on stderr: a bar with an ETA on a terminal, otherwise one line every N
//! principals. Never on stdout, never into the export.
//!
//! Every line goes through [`Console`] (or [`say`]), which ignores write errors: a closed stderr
//! (`fetch … 2>&1 | head -3`) must not stop or crash a fetch.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes one line to stderr; a closed or broken stderr is ignored.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Where notes go while a fetch runs: above the progress bar when there is one, else stderr.
#[derive(Clone, Default)]
pub struct Console {
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl Console {
    pub fn line(&self, text: &str) {
        let bar = self.bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.println(text),
            None => say(text),
        }
    }

    fn set_bar(&self, bar: Option<ProgressBar>) {
        if let Ok(mut slot) = self.bar.lock() {
            *slot = bar;
        }
    }
}

pub struct Progress {
    console: Console,
    bar: Option<ProgressBar>,
    started: Instant,
    total: usize,
    done: usize,
    missing: usize,
    every: usize,
    concurrency: usize,
}

impl Progress {
    /// `every`: print a line every that many principals when stderr is not a terminal.
    pub fn new(console: &Console, total: usize, every: usize, concurrency: usize) -> Progress {
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} principals, {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message("estimating the time left");
            bar
        });
        console.set_bar(bar.clone());
        Progress {
            console: console.clone(),
            bar,
            started: Instant::now(),
            total,
            done: 0,
            missing: 0,
            every: every.max(1),
            concurrency: concurrency.max(1),
        }
    }

    /// One principal finished (`ok` false: recorded as missing).
    pub fn tick(&mut self, what: &str, ok: bool) {
        self.done += 1;
        if !ok {
            self.missing += 1;
            self.console.line(&format!("fetch: missing: {what}"));
        }
        let left = eta(
            self.started.elapsed(),
            self.done,
            self.total,
            self.concurrency,
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(match left {
                    Some(left) => format!("about {} left", human(left)),
                    None => "estimating the time left".into(),
                });
            }
            None => {
                if self.done.is_multiple_of(self.every) || self.done == self.total {
                    let left = match left {
                        Some(left) if self.done < self.total => {
                            format!(", about {} left", human(left))
                        }
                        _ => String::new(),
                    };
                    say(&format!(
                        "fetch: {}/{} principals done ({} missing){left}",
                        self.done, self.total, self.missing
                    ));
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.console.set_bar(None);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Time left, from the throughput so far: `elapsed × left / done`. `None` until
/// `2 × concurrency` principals are done: before that the first jobs, which all started
/// together, make any estimate wrong (the first one would count one job's time for every
/// principal, minutes for a run of seconds).
pub fn eta(elapsed: Duration, done: usize, total: usize, concurrency: usize) -> Option<Duration> {
    let needed = (2 * concurrency.max(1)).min(total).max(1);
    if done < needed || done > total {
        return None;
    }
    let left = u32::try_from(total - done).ok()?;
    let done = u32::try_from(done).ok()?;
    Some(elapsed.checked_mul(left)? / done)
}

/// `45 s`, `3 min`, `1 h 20 min`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s.div_ceil(60))
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_eta_until_the_first_jobs_have_all_finished() {
        // 236 principals, 4 at once: the first job ended after 8 s. indicatif's estimate from
        // that single step was minutes; we wait for 8 principals.
        let secs = Duration::from_secs;
        assert_eq!(eta(secs(8), 1, 236, 4), None);
        assert_eq!(eta(secs(8), 7, 236, 4), None);
        // 8 done in 1 s: 228 left at 8 per second.
        assert_eq!(eta(secs(1), 8, 236, 4), Some(Duration::from_millis(28_500)));
        assert_eq!(eta(secs(30), 236, 236, 4), Some(Duration::ZERO));
        // Fewer principals than 2 × concurrency all run at once: no estimate until the end.
        assert_eq!(eta(secs(2), 1, 3, 4), None);
        assert_eq!(eta(secs(2), 3, 3, 4), Some(Duration::ZERO));
        assert_eq!(eta(secs(2), 0, 0, 4), None);
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human(Duration::from_secs(45)), "45 s");
        assert_eq!(human(Duration::from_secs(125)), "3 min");
        assert_eq!(human(Duration::from_secs(4800)), "1 h 20 min");
    }
}
