//! Confirmation, progress reporting and printing: what every command that changes something shares.
//! Progress and logs go to stderr; the plan and the report go to stdout.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{OutputFormat, RunArgs};
use futures::StreamExt;

use crate::commands::provision::Resources;
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

/// A plan step with the operation that applies it; `target` is the index of the cluster it
/// belongs to, `None` for fleet-wide steps.
#[derive(Debug, Clone)]
pub struct Planned<O> {
    pub step: Step,
    pub op: O,
    pub target: Option<usize>,
}

pub fn to_plan<O>(planned: &[Planned<O>]) -> Plan {
    Plan {
        steps: planned.iter().map(|p| p.step.clone()).collect(),
    }
}

/// What applies one command's operations: provisioning and cleanup each have their own.
pub trait Executor {
    type Op;

    async fn execute(&self, item: &Planned<Self::Op>) -> Result<(), Error>;

    /// The step as it reads once applied (ids known only then).
    fn resolved(&self, step: &Step) -> Step {
        step.clone()
    }

    fn resources(&self) -> Option<Resources>;
}

/// What was applied, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    #[serde(flatten)]
    pub step: Step,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "error")]
pub enum Outcome {
    Done,
    Unchanged,
    Failed(String),
    NotRun,
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
                eprintln!("interrupted: finishing the current step (Ctrl-C again to stop now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(exit::INTERRUPTED));
                }
            }
        });
        interrupt
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs steps in order and stops at the first failure: later steps depend on earlier ones.
pub async fn run_steps<E: Executor>(
    executor: &E,
    planned: &[Planned<E::Op>],
    interrupt: &Interrupt,
) -> (Vec<Applied>, Result<(), Error>) {
    let mut applied = Vec::new();
    let mut progress = Progress::new();
    for (index, item) in planned.iter().enumerate() {
        if !item.step.action.changes_something() {
            applied.push(Applied {
                step: item.step.clone(),
                outcome: Outcome::Unchanged,
            });
            continue;
        }
        let outcome = if interrupt.is_set() {
            Err(Error::Interrupted)
        } else {
            progress.start(&item.step);
            let outcome = executor.execute(item).await;
            progress.finish(&item.step, &outcome);
            outcome
        };
        if let Err(err) = outcome {
            applied.push(Applied {
                step: item.step.clone(),
                outcome: Outcome::Failed(err.to_string()),
            });
            applied.extend(planned[index + 1..].iter().map(|rest| Applied {
                step: rest.step.clone(),
                outcome: Outcome::NotRun,
            }));
            return (applied, Err(err));
        }
        applied.push(Applied {
            step: executor.resolved(&item.step),
            outcome: Outcome::Done,
        });
    }
    (applied, Ok(()))
}

/// Whether the fleet's shared steps come before the clusters (provisioning) or after them
/// (cleanup: shared policies and the bucket go once no cluster uses them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    FleetFirst,
    FleetLast,
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
pub struct ClusterPlan<O> {
    pub name: String,
    pub planned: Result<Vec<Planned<O>>, Error>,
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

/// How one command runs: its name for the report, the order of fleet and cluster steps, and
/// how many clusters are applied at the same time.
pub struct Run<'a> {
    pub command: &'static str,
    pub args: &'a RunArgs,
    pub order: Order,
    pub concurrency: usize,
}

/// Plans, confirms, applies and reports: the sequence every command that changes something
/// follows. Fleet steps run in order; clusters run up to `concurrency` at a time, each on its
/// own, so one cluster's failure does not stop the others.
pub async fn plan_and_apply<E: Executor>(
    run: Run<'_>,
    fleet_steps: Vec<Planned<E::Op>>,
    clusters: Vec<ClusterPlan<E::Op>>,
    executor: &E,
) -> Result<u8, Error>
where
    E::Op: Clone,
{
    let mut results: Vec<ClusterResult> = Vec::new();
    let mut errors = Vec::new();
    let mut cluster_steps = Vec::new();
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
    let cluster_plan = cluster_steps.iter().flat_map(|(_, steps)| steps);
    let all_planned: Vec<Planned<E::Op>> = match run.order {
        Order::FleetFirst => fleet_steps.iter().chain(cluster_plan).cloned().collect(),
        Order::FleetLast => cluster_plan.chain(fleet_steps.iter()).cloned().collect(),
    };
    let plan = to_plan(&all_planned);
    let mut report = Report {
        command: run.command,
        dry_run: run.args.dry_run,
        changed: plan.has_changes(),
        plan,
        applied: Vec::new(),
        clusters: Vec::new(),
        resources: None,
        error: None,
    };
    let total = errors.len() + cluster_steps.len();
    let output = run.args.output;
    if let Some(conflict) = report.plan.conflicts().next() {
        let error = Error::Conflict {
            resource: format!("{} {}", conflict.kind_label(), conflict.name),
            reason: conflict.details.join("; "),
            fix: "resolve the conflict named in the plan (or choose other names), then run again"
                .to_owned(),
        };
        report.error = Some(error.to_string());
        report.clusters = results;
        print(&report, || report.text(), output);
        return Err(error);
    }
    if run.args.dry_run || !report.changed {
        let status = if run.args.dry_run {
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
        report.resources = executor.resources();
        print(&report, || report.text(), output);
        let no_changes = !report.changed && !run.args.dry_run && run.args.detailed_exitcode;
        return finish(errors, total).map(|code| match code {
            exit::SUCCESS if no_changes => exit::NO_CHANGES,
            code => code,
        });
    }
    if output == OutputFormat::Text && run.args.yes {
        eprintln!("{}\n", report.plan);
    }
    confirm(&report.plan, run.args)?;
    let interrupt = &Interrupt::listen();

    let mut applied = Vec::new();
    if run.order == Order::FleetFirst {
        let (fleet_applied, fleet_result) = run_steps(executor, &fleet_steps, interrupt).await;
        applied.extend(fleet_applied);
        if let Err(err) = fleet_result {
            return stop_after_fleet_failure(report, applied, results, &cluster_steps, err, output);
        }
    }
    let outcomes: Vec<_> =
        futures::stream::iter(cluster_steps.iter().map(|(name, steps)| async move {
            let (applied, result) = run_steps(executor, steps, interrupt).await;
            let changed = steps.iter().any(|p| p.step.action.changes_something());
            (name.clone(), changed, applied, result)
        }))
        .buffered(run.concurrency.max(1))
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
    if run.order == Order::FleetLast {
        // Shared resources go only once every cluster has let go of them.
        if errors.is_empty() {
            let (fleet_applied, fleet_result) = run_steps(executor, &fleet_steps, interrupt).await;
            applied.extend(fleet_applied);
            if let Err(err) = fleet_result {
                errors.push(err);
            }
        } else {
            applied.extend(fleet_steps.iter().map(|item| Applied {
                step: item.step.clone(),
                outcome: Outcome::NotRun,
            }));
        }
    }
    report.applied = applied;
    report.clusters = results;
    report.resources = executor.resources();
    if let Some(err) = errors.last() {
        report.error = Some(err.to_string());
    }
    print(&report, || report.text(), output);
    finish(errors, total.max(1))
}

fn stop_after_fleet_failure<O>(
    mut report: Report,
    applied: Vec<Applied>,
    mut results: Vec<ClusterResult>,
    cluster_steps: &[(String, Vec<Planned<O>>)],
    err: Error,
    output: OutputFormat,
) -> Result<u8, Error> {
    results.extend(cluster_steps.iter().map(|(name, _)| ClusterResult {
        name: name.clone(),
        status: ClusterStatus::NotRun,
        error: None,
    }));
    report.applied = applied;
    report.clusters = results;
    report.error = Some(err.to_string());
    print(&report, || report.text(), output);
    Err(err)
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

fn describe(err: &Error) -> String {
    match err.fix() {
        Some(fix) => format!("{err} (fix: {fix})"),
        None => err.to_string(),
    }
}
