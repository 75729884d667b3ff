//! Progress on stderr: a bar with ETA on a terminal, otherwise one line every N principals.
//! Never on stdout, never into the export.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    missing: usize,
    every: usize,
}

impl Progress {
    /// `every`: print a line every that many principals when stderr is not a terminal.
    pub fn new(total: usize, every: usize) -> Progress {
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{bar:30} {pos}/{len} principals, ETA {eta} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            missing: 0,
            every: every.max(1),
        }
    }

    /// One principal finished (`ok` false: recorded as missing).
    pub fn tick(&mut self, what: &str, ok: bool) {
        self.done += 1;
        if !ok {
            self.missing += 1;
        }
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if !ok {
                    bar.println(format!("missing: {what}"));
                }
            }
            None => {
                if self.done.is_multiple_of(self.every) || self.done == self.total {
                    eprintln!(
                        "fetch: {}/{} principals done ({} missing)",
                        self.done, self.total, self.missing
                    );
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
