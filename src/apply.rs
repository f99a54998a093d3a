//! Confirmation, progress reporting and printing: what every command that changes something shares.
//! Progress and logs go to stderr; the plan and the report go to stdout.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{OutputFormat, RunArgs};
use futures::StreamExt;

use crate::commands::provision::{Applied, Applier, Planned, Resources, to_plan};
use crate::error::{Error, exit};
use crate::plan::{Plan, Step};

/// Whether kcfed may draw spinners and ask questions: only on a terminal, never in CI.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
        && std::io::stdin().is_terminal()
        && std::env::var_os("CI").is_none()
}

/// `--yes` applies; a terminal asks; anything else refuses, so CI never hangs on a prompt.
pub fn confirm(plan: &Plan, run: &RunArgs) -> Result<(), Error> {
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

/// One progress line per step: a spinner on a terminal, plain timestamped lines otherwise.
pub struct Progress {
    spinner: Option<ProgressBar>,
}

impl Progress {
    pub fn new() -> Self {
        Self { spinner: None }
    }

    pub fn start(&mut self, step: &Step) {
        let message =
            format!("{:?} {} {}", step.action, step.kind_label(), step.name).to_lowercase();
        if interactive() && std::env::var_os("NO_COLOR").is_none() {
            let spinner = ProgressBar::new_spinner().with_message(message);
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("the template is valid"),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            self.spinner = Some(spinner);
        } else {
            eprintln!("{} {message} ...", timestamp());
        }
    }

    pub fn finish(&mut self, step: &Step, outcome: &Result<(), Error>) {
        let status = match outcome {
            Ok(()) => "done".to_owned(),
            Err(err) => format!("failed: {err}"),
        };
        let line = format!("{} {}: {status}", step.kind_label(), step.name);
        match self.spinner.take() {
            Some(spinner) => spinner.finish_with_message(line),
            None => eprintln!("{} {line}", timestamp()),
        }
    }
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    format!(
        "[{:02}:{:02}:{:02}]",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Prints a serializable result as JSON, or its text form.
pub fn print<T: Serialize>(value: &T, text: impl FnOnce() -> String, format: OutputFormat) {
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).expect("reports always serialize")
        ),
        OutputFormat::Text => println!("{}", text()),
    }
}

/// The document `--output json` prints, and the text report's source.
#[derive(Debug, Serialize)]
pub struct Report {
    pub command: &'static str,
    pub dry_run: bool,
    /// Whether anything was (or, in a dry run, would be) changed.
    pub changed: bool,
    pub plan: Plan,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<Applied>,
    pub clusters: Vec<ClusterResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How one cluster fared.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    pub name: String,
    pub status: ClusterStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterStatus {
    /// Dry run: the plan was made.
    Planned,
    Unchanged,
    Changed,
    Failed,
    /// Not attempted because the shared fleet steps failed.
    NotRun,
}

/// One cluster's planned steps, or why it could not be planned.
pub struct ClusterPlan {
    pub name: String,
    pub planned: Result<Vec<Planned>, Error>,
}

impl Report {
    fn text(&self) -> String {
        let mut text = self.plan.to_string();
        if self.dry_run {
            text.push_str("\n\nDry run: nothing was changed.");
        } else if !self.changed {
            text.push_str("\n\nNothing to do: everything is already in place.");
        }
        for cluster in self.clusters.iter().filter(|c| c.error.is_some()) {
            text.push_str(&format!(
                "\ncluster {} failed: {}",
                cluster.name,
                cluster.error.as_deref().unwrap_or_default()
            ));
        }
        if let Some(resources) = &self.resources {
            text.push_str(&format!("\n\n{resources}"));
        }
        text
    }
}

/// Plans, confirms, applies and reports: the sequence every provisioning command follows. The
/// fleet's shared steps run first, in order; then the clusters, up to `concurrency` at a time,
/// each on its own so one cluster's failure does not stop the others.
pub async fn plan_and_apply(
    command: &'static str,
    fleet_steps: Vec<Planned>,
    clusters: Vec<ClusterPlan>,
    applier: &Applier<'_>,
    run: &RunArgs,
    concurrency: usize,
) -> Result<u8, Error> {
    let mut results: Vec<ClusterResult> = Vec::new();
    let mut errors = Vec::new();
    let mut cluster_steps: Vec<(String, Vec<Planned>)> = Vec::new();
    for cluster in clusters {
        match cluster.planned {
            Ok(planned) => cluster_steps.push((cluster.name, planned)),
            Err(err) => {
                results.push(ClusterResult {
                    name: cluster.name,
                    status: ClusterStatus::Failed,
                    error: Some(describe(&err)),
                });
                errors.push(err);
            }
        }
    }
    let all_planned: Vec<Planned> = fleet_steps
        .iter()
        .chain(cluster_steps.iter().flat_map(|(_, steps)| steps))
        .cloned()
        .collect();
    let plan = to_plan(&all_planned);
    let mut report = Report {
        command,
        dry_run: run.dry_run,
        changed: plan.has_changes(),
        plan,
        applied: Vec::new(),
        clusters: Vec::new(),
        resources: None,
        error: None,
    };
    let total = errors.len() + cluster_steps.len();
    if let Some(conflict) = report.plan.conflicts().next() {
        let error = Error::Conflict {
            resource: format!("{} {}", conflict.kind_label(), conflict.name),
            reason: conflict.details.join("; "),
            fix: "resolve the conflict named in the plan (or choose other names), then run again"
                .to_owned(),
        };
        report.error = Some(error.to_string());
        report.clusters = results;
        print(&report, || report.text(), run.output);
        return Err(error);
    }
    if run.dry_run || !report.changed {
        let status = if run.dry_run {
            ClusterStatus::Planned
        } else {
            ClusterStatus::Unchanged
        };
        results.extend(cluster_steps.iter().map(|(name, _)| ClusterResult {
            name: name.clone(),
            status,
            error: None,
        }));
        report.clusters = results;
        report.resources = Some(applier.resources());
        print(&report, || report.text(), run.output);
        return finish(errors, total);
    }
    if run.output == OutputFormat::Text && run.yes {
        eprintln!("{}\n", report.plan);
    }
    confirm(&report.plan, run)?;

    let (mut applied, fleet_result) = applier.run_steps(&fleet_steps, &mut Progress::new()).await;
    if let Err(err) = fleet_result {
        results.extend(cluster_steps.iter().map(|(name, _)| ClusterResult {
            name: name.clone(),
            status: ClusterStatus::NotRun,
            error: None,
        }));
        report.applied = applied;
        report.clusters = results;
        report.error = Some(err.to_string());
        print(&report, || report.text(), run.output);
        return Err(err);
    }
    let outcomes: Vec<_> =
        futures::stream::iter(cluster_steps.iter().map(|(name, steps)| async move {
            let (applied, result) = applier.run_steps(steps, &mut Progress::new()).await;
            let changed = steps.iter().any(|p| p.step.action.changes_something());
            (name.clone(), changed, applied, result)
        }))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    for (name, changed, cluster_applied, result) in outcomes {
        applied.extend(cluster_applied);
        results.push(match result {
            Ok(()) => ClusterResult {
                name,
                status: if changed {
                    ClusterStatus::Changed
                } else {
                    ClusterStatus::Unchanged
                },
                error: None,
            },
            Err(err) => {
                let result = ClusterResult {
                    name,
                    status: ClusterStatus::Failed,
                    error: Some(describe(&err)),
                };
                errors.push(err);
                result
            }
        });
    }
    report.applied = applied;
    report.clusters = results;
    report.resources = Some(applier.resources());
    print(&report, || report.text(), run.output);
    finish(errors, total)
}

fn describe(err: &Error) -> String {
    match err.fix() {
        Some(fix) => format!("{err} (fix: {fix})"),
        None => err.to_string(),
    }
}

/// Success; the error itself when the only cluster failed; else a partial failure naming how
/// many clusters failed (each one's error is in the report).
fn finish(mut errors: Vec<Error>, total: usize) -> Result<u8, Error> {
    match errors.len() {
        0 => Ok(exit::SUCCESS),
        1 if total == 1 => Err(errors.pop().expect("one error")),
        failed => Err(Error::PartialFailure { failed, total }),
    }
}
