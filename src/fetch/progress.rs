//! Progress and notes on stderr: a bar with an ETA on a terminal, otherwise one line every N
//! principals. Never on stdout, never into the export.
//!
//! Every line goes through [`Console`] (or [`say`]), which ignores write errors: a closed stderr
//! (`fetch … 2>&1 | head -3`) must not stop or crash a fetch.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// How long each finished principal took, from its start (not from the queue).
    took: Vec<Duration>,
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
            took: Vec::new(),
            total,
            done: 0,
            missing: 0,
            every: every.max(1),
            concurrency: concurrency.max(1),
        }
    }

    /// One principal finished after `took` (`ok` false: recorded as missing).
    pub fn tick(&mut self, what: &str, ok: bool, took: Duration) {
        self.done += 1;
        self.took.push(took);
        if !ok {
            self.missing += 1;
            self.console.line(&format!("fetch: missing: {what}"));
        }
        let left = eta(
            &self.took,
            self.total - self.done.min(self.total),
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

/// Time left: the principals left, `concurrency` at a time, each taking the median time of
/// those done so far. `None` until `concurrency` principals are done. The median, not the mean
/// or the throughput since the start: the first principals are often the slow ones (throttled,
/// a FAILED job generated three times), and an average over them (what indicatif's ETA did)
/// said minutes for a run of seconds.
pub fn eta(took: &[Duration], left: usize, concurrency: usize) -> Option<Duration> {
    let concurrency = concurrency.max(1);
    if took.is_empty() || took.len() < concurrency.min(took.len() + left) {
        return None;
    }
    let mut sorted = took.to_vec();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let rounds = u32::try_from(left.div_ceil(concurrency)).ok()?;
    median.checked_mul(rounds)
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
    fn the_eta_is_not_fooled_by_slow_first_principals() {
        let secs = Duration::from_secs;
        // Measured on the 236-principal emulator seed (4 at once, a 138 s run): the first
        // principals are the fixture's slow ones (throttled, a job FAILED three times).
        let mut took = vec![secs(15), secs(12), secs(9), secs(2)];
        // Once 8 are done, sorted: 2 2 2 2 2 9 12 15; the median is 2 s.
        assert_eq!(eta(&took[..3], 233, 4), None, "not before 4 are done");
        took.extend([secs(2); 4]);
        // 228 left, 4 at a time, 2 s each (the median): about 2 min, not 7.
        assert_eq!(eta(&took, 228, 4), Some(secs(114)));
        assert_eq!(eta(&took, 0, 4), Some(Duration::ZERO));
        // Fewer principals than `concurrency`: an estimate once they are all done.
        assert_eq!(eta(&[secs(2)], 1, 4), None);
        assert_eq!(eta(&[secs(2), secs(3)], 0, 4), Some(Duration::ZERO));
        assert_eq!(eta(&[], 0, 4), None);
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human(Duration::from_secs(45)), "45 s");
        assert_eq!(human(Duration::from_secs(125)), "3 min");
        assert_eq!(human(Duration::from_secs(4800)), "1 h 20 min");
    }
}
