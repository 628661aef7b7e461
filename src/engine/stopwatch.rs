//! Stage timings for the manifest (and a spinner for people at a terminal). Taken around stages by
//! the engines and the run, never passed into a computation.

use std::collections::BTreeMap;
use std::time::Instant;

/// Seconds per stage, as the manifest reports them.
pub struct Stopwatch {
    t: Instant,
    pub timings: BTreeMap<String, f64>,
    /// A spinner on the terminal naming the stage just finished; `None` when not a terminal.
    progress: Option<indicatif::ProgressBar>,
}

impl Stopwatch {
    /// Start timing now.
    pub fn start() -> Self {
        Stopwatch { t: Instant::now(), timings: BTreeMap::new(), progress: None }
    }

    /// Start timing now, with a spinner on stderr (for people at a terminal).
    pub fn start_with_progress() -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} evergreen {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message("reading…");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Stopwatch { t: Instant::now(), timings: BTreeMap::new(), progress: Some(bar) }
    }

    /// Record the time since the last lap under `stage` (and log it at debug level, with the
    /// process's resident memory now and its peak so far, to show which stage sets the peak).
    pub fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let secs = (now - self.t).as_secs_f64();
        if tracing::enabled!(tracing::Level::DEBUG) {
            let (rss_mb, peak_mb) = memory_mb();
            tracing::debug!(stage, seconds = secs, rss_mb, peak_mb, "stage done");
        }
        if let Some(bar) = &self.progress {
            bar.set_message(format!("{stage} done ({secs:.2}s)…"));
        }
        self.timings.insert(stage.to_string(), secs);
        self.t = now;
    }

    /// Like [`Stopwatch::lap`], but added to what `stage` already has (a stage run in pieces).
    pub fn lap_sum(&mut self, stage: &str) {
        let before = self.timings.remove(stage).unwrap_or(0.0);
        self.lap(stage);
        if let Some(t) = self.timings.get_mut(stage) {
            *t += before;
        }
    }
}

/// Seconds summed into `N` buckets: each [`Split::tick`] adds the time since the last tick to one
/// bucket (a loop's parts, logged at debug level).
pub struct Split<const N: usize> {
    clock: Instant,
    pub secs: [f64; N],
}

impl<const N: usize> Split<N> {
    pub fn start() -> Self {
        Split { clock: Instant::now(), secs: [0.0; N] }
    }

    /// The time since the last tick, added to bucket `k`.
    pub fn tick(&mut self, k: usize) {
        let now = Instant::now();
        self.secs[k] += (now - self.clock).as_secs_f64();
        self.clock = now;
    }
}

/// Resident and peak resident memory of this process in MB (`VmRSS`, `VmHWM`; 0 where unknown).
fn memory_mb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()).unwrap_or(0)
    };
    (kb("VmRSS:") / 1024, kb("VmHWM:") / 1024)
}

impl Drop for Stopwatch {
    fn drop(&mut self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }
}

