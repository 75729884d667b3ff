//! A one-line progress indicator on stderr for long `report` and `diff` runs: the stage, the
//! export folders loaded and the time spent. Only when stderr is a terminal (and
//! `IAM_TIGHTEN_NO_PROGRESS` is unset); otherwise nothing is drawn, so pipes, CI logs and every
//! output file stay free of it. Cleared before the final summary is printed.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use iam_tighten::input::LoadProgress;
use iam_tighten::model::grouped;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Stages {
    bar: Option<ProgressBar>,
    command: &'static str,
}

impl Stages {
    pub fn new(command: &'static str) -> Stages {
        let on = std::io::stderr().is_terminal()
            && std::env::var_os("IAM_TIGHTEN_NO_PROGRESS").is_none();
        let bar = on.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Stages { bar, command }
    }

    /// Names the stage now running.
    pub fn stage(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("iam-tighten {}: {what}", self.command));
        }
    }

    /// Runs `load` while the line counts the export folders it has loaded.
    pub fn loading<T>(&self, progress: &Arc<LoadProgress>, load: impl FnOnce() -> T) -> T {
        self.stage("reading the exports");
        let Some(bar) = &self.bar else {
            return load();
        };
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Relaxed) {
                    let total = progress.total.load(Relaxed);
                    if total > 0 {
                        bar.set_message(format!(
                            "iam-tighten {}: reading the exports, {} of {} folders",
                            self.command,
                            grouped(progress.done.load(Relaxed) as u64),
                            grouped(total as u64)
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
            let out = load();
            done.store(true, Relaxed);
            out
        })
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Stages {
    fn drop(&mut self) {
        self.finish();
    }
}
