//! What a run shows and asks on the terminal: whether it may prompt or draw, the confirmation,
//! one progress line per step, Ctrl-C, and the timestamps of plain progress lines. All of it goes
//! to stderr; stdout carries only results.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::options::{OutputFormat, RunOptions};
use crate::error::{Error, exit};
use crate::plan::{Plan, Step};

/// Whether kcfed may draw spinners and ask questions: only on a terminal, never in CI.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
        && std::io::stdin().is_terminal()
        && std::env::var_os("CI").is_none()
}

/// Whether spinners and colour may reach stderr: when interactive, NO_COLOR is unset and the
/// terminal draws them (indicatif hides spinners when TERM is unset or dumb, which would leave
/// no progress at all).
pub fn decorated() -> bool {
    interactive()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var("TERM").is_ok_and(|term| term != "dumb")
}

/// `--yes` applies; a terminal asks; anything else refuses, so CI never hangs on a prompt.
pub fn confirm(plan: &Plan, run: &RunOptions) -> Result<(), Error> {
    if run.yes {
        return Ok(());
    }
    if !interactive() {
        return Err(Error::ConfirmationRequired);
    }
    eprint!("\n{plan}\n\nApply these changes? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    match answer.trim() {
        "y" | "Y" | "yes" => Ok(()),
        _ => Err(Error::Declined),
    }
}

/// A bar over the clusters a command reads before it can plan (or report), on a terminal and
/// with text output only: a large fleet, or a slow endpoint, takes seconds to read.
pub struct ReadProgress(Option<ProgressBar>);

impl ReadProgress {
    pub fn new(what: &str, clusters: usize, output: OutputFormat) -> Self {
        let shown = decorated() && output == OutputFormat::Text && clusters > 0;
        Self(shown.then(|| {
            let bar = ProgressBar::new(clusters as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {pos}/{len} clusters ({elapsed})")
                    .expect("the template is valid"),
            );
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }))
    }

    /// One more cluster read: the bar names it.
    pub fn read(&self, cluster: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!("read {cluster}"));
            bar.inc(1);
        }
    }
}

impl Drop for ReadProgress {
    /// The bar leaves no line behind: the plan or the table follows.
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// One line per step under way, for every cluster at once: spinners on a terminal, plain
/// timestamped lines otherwise.
#[derive(Clone)]
pub struct Progress {
    bars: Option<MultiProgress>,
}

/// The line of one step, finished with its outcome.
pub struct StepProgress {
    spinner: Option<ProgressBar>,
    label: String,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        let spinners = decorated();
        Self {
            bars: spinners.then(MultiProgress::new),
        }
    }

    pub fn start(&self, step: &Step) -> StepProgress {
        let label = format!("{} {} {}", step.scope, step.kind_label(), step.name);
        // Names and ids keep their case: an issuer's id is case sensitive.
        let message = format!("{} {label}", step.action.label());
        let spinner = match &self.bars {
            Some(bars) => {
                let spinner = bars.add(ProgressBar::new_spinner().with_message(message));
                spinner.set_style(
                    ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                        .expect("the template is valid"),
                );
                spinner.enable_steady_tick(Duration::from_millis(120));
                Some(spinner)
            }
            None => {
                eprintln!("{} {message} ...", timestamp());
                None
            }
        };
        StepProgress { spinner, label }
    }
}

impl StepProgress {
    pub fn finish(self, outcome: &Result<(), Error>) {
        // The error itself is in the report and the final message, once each.
        let status = match outcome {
            Ok(()) => "done",
            Err(_) => "failed",
        };
        let line = format!("{}: {status}", self.label);
        match self.spinner {
            Some(spinner) => spinner.finish_with_message(line),
            None => eprintln!("{} {line}", timestamp()),
        }
    }
}

/// Now as RFC 3339 UTC (`2026-11-25T22:19:01Z`): CI logs from many machines sort and compare.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs())
}

fn rfc3339(unix_secs: u64) -> String {
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    let secs = unix_secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days on or after the epoch), so kcfed needs no date crate for one timestamp.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 so that the leap day ends each 400-year era.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// Set by Ctrl-C: the step under way finishes, no further step starts. A second Ctrl-C exits
/// at once.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn listen() -> Self {
        let interrupt = Self::default();
        let flag = interrupt.0.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
                eprintln!(
                    "{} interrupted: finishing the current step (Ctrl-C again to stop now)",
                    timestamp()
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(exit::INTERRUPTED));
                }
            }
        });
        interrupt
    }

    pub(super) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(1_795_645_141), "2026-11-25T22:19:01Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn civil_from_days_agrees_with_counting_days_for_four_centuries() {
        let leap = |year: u64| {
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
        };
        let month_days = |year: u64, month: u64| match month {
            2 if leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut year, mut month, mut day) = (1970, 1, 1);
        for days in 0..146_097 {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            day += 1;
            if day > month_days(year, month) {
                (month, day) = (month + 1, 1);
            }
            if month > 12 {
                (year, month) = (year + 1, 1);
            }
        }
    }
}
