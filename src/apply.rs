//! Confirmation, progress reporting and printing: what every command that changes something shares.
//! Progress and logs go to stderr; the plan and the report go to stdout.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{OutputFormat, RunArgs};
use futures::StreamExt;

use crate::commands::provision::Resources;
use crate::error::{Error, exit};
use crate::plan::{Plan, ResourceKind, Step};

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

impl Progress {
    pub fn new() -> Self {
        let spinners = decorated();
        Self {
            bars: spinners.then(MultiProgress::new),
        }
    }

    pub fn start(&self, step: &Step) -> StepProgress {
        let label = format!("{} {} {}", step.scope, step.kind_label(), step.name);
        let message = format!("{:?} {label}", step.action).to_lowercase();
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
        let status = match outcome {
            Ok(()) => "done".to_owned(),
            Err(err) => format!("failed: {err}"),
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

    /// Applies one step. `fleet` lets a cluster's step wait, midway, for the fleet's stages.
    async fn execute(&self, item: &Planned<Self::Op>, fleet: FleetView<'_>) -> Result<(), Error>;

    /// Steps of the same stage that follow each other in a plan run at the same time.
    fn stage(&self, step: &Step) -> u8;

    /// The kinds of fleet step a cluster's step waits for, when fleet and clusters run together.
    fn needs_from_fleet(&self, _step: &Step) -> &'static [ResourceKind] {
        &[]
    }

    /// The step as it reads once applied (ids known only then).
    fn resolved(&self, step: &Step) -> Step {
        step.clone()
    }

    fn resources(&self) -> Option<Resources>;

    /// A cluster's steps are all run: what was kept for it (its API client) can go.
    fn cluster_finished(&self, _target: usize) {}
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

    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How far the fleet's shared steps have got, for the clusters applied beside them: a cluster's
/// step waits only for the kinds of fleet step it needs (`Executor::needs_from_fleet`), so a
/// cluster's OIDC provider and namespace are made while the workspace is still being created.
pub struct FleetGate(tokio::sync::watch::Sender<GateState>);

#[derive(Debug, Clone, Default)]
struct GateState {
    /// Fleet steps of each kind that still have to change something.
    pending: Vec<ResourceKind>,
    /// The fleet's first failure.
    failed: Option<String>,
}

impl FleetGate {
    fn new<O>(fleet_steps: &[Planned<O>]) -> Self {
        let pending = fleet_steps
            .iter()
            .filter(|item| item.step.action.changes_something())
            .map(|item| item.step.kind)
            .collect();
        Self(
            tokio::sync::watch::channel(GateState {
                pending,
                failed: None,
            })
            .0,
        )
    }

    fn done(&self, kind: ResourceKind) {
        self.0.send_modify(|state| {
            if let Some(at) = state.pending.iter().position(|pending| *pending == kind) {
                state.pending.swap_remove(at);
            }
        });
    }

    fn fail(&self, cause: &Error) {
        self.0.send_modify(|state| {
            state.failed.get_or_insert_with(|| cause.to_string());
        });
    }

    /// Waits until no fleet step of these kinds is pending; the fleet's failure when it failed
    /// before they were all done. A failure elsewhere in the fleet does not stop a step whose
    /// own needs are met.
    async fn wait_for(&self, kinds: &[ResourceKind]) -> Result<(), Error> {
        let mut state = self.0.subscribe();
        let needed = |state: &GateState| state.pending.iter().any(|kind| kinds.contains(kind));
        let state = state
            .wait_for(|state| state.failed.is_some() || !needed(state))
            .await
            .expect("the gate outlives the runs that wait on it");
        match &state.failed {
            Some(cause) if needed(&state) => Err(Error::FleetFailed {
                cause: cause.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// What a cluster's step may wait for while it runs: the fleet's steps.
#[derive(Clone, Copy)]
pub struct FleetView<'a>(Option<&'a FleetGate>);

impl FleetView<'_> {
    /// Waits until the fleet's steps of these kinds are done.
    pub async fn reached(&self, kinds: &[ResourceKind]) -> Result<(), Error> {
        match self.0 {
            Some(gate) => gate.wait_for(kinds).await,
            None => Ok(()),
        }
    }
}

/// How a run of steps relates to the fleet's shared steps.
#[derive(Clone, Copy)]
pub enum Pace<'a> {
    /// Runs on its own.
    Alone,
    /// The fleet's own steps, telling the clusters how far they got.
    Leads(&'a FleetGate),
    /// A cluster's steps, each stage after the fleet's earlier stages.
    Follows(&'a FleetGate),
}

/// What became of one step.
enum StepRun {
    /// Nothing to do.
    Unchanged,
    /// Not started: the fleet's steps it needs failed.
    Stopped(Error),
    Ran(Result<(), Error>),
}

/// How a run of steps ended.
#[derive(Debug)]
pub enum Ended {
    Done,
    Failed(Error),
    /// A cluster stopped because the fleet's shared steps failed (`Error::FleetFailed`).
    FleetFailed(Error),
}

/// Runs steps stage by stage: the steps of one stage at the same time, the stages in order.
/// After a stage with a failure no further stage starts: later steps depend on earlier ones.
pub async fn run_steps<E: Executor>(
    executor: &E,
    planned: &[Planned<E::Op>],
    progress: &Progress,
    interrupt: &Interrupt,
    pace: Pace<'_>,
) -> (Vec<Applied>, Ended) {
    let mut applied = Vec::new();
    let mut ended = Ended::Done;
    let view = FleetView(match pace {
        Pace::Follows(gate) => Some(gate),
        Pace::Alone | Pace::Leads(_) => None,
    });
    for stage in planned.chunk_by(|a, b| executor.stage(&a.step) == executor.stage(&b.step)) {
        if matches!(ended, Ended::Done) && interrupt.is_set() {
            ended = Ended::Failed(Error::Interrupted);
        }
        if !matches!(ended, Ended::Done) {
            applied.extend(stage.iter().map(|item| Applied {
                step: item.step.clone(),
                outcome: if item.step.action.changes_something() {
                    Outcome::NotRun
                } else {
                    Outcome::Unchanged
                },
            }));
            continue;
        }
        let outcomes = futures::future::join_all(stage.iter().map(|item| async move {
            if !item.step.action.changes_something() {
                return StepRun::Unchanged;
            }
            if let Err(stopped) = view.reached(executor.needs_from_fleet(&item.step)).await {
                return StepRun::Stopped(stopped);
            }
            let line = progress.start(&item.step);
            let outcome = executor.execute(item, view).await;
            line.finish(&outcome);
            if let (Pace::Leads(gate), Ok(())) = (pace, &outcome) {
                gate.done(item.step.kind);
            }
            StepRun::Ran(outcome)
        }))
        .await;
        for (item, run) in stage.iter().zip(outcomes) {
            applied.push(Applied {
                step: match &run {
                    StepRun::Ran(Ok(())) => executor.resolved(&item.step),
                    _ => item.step.clone(),
                },
                outcome: match &run {
                    StepRun::Unchanged => Outcome::Unchanged,
                    StepRun::Stopped(_) => Outcome::NotRun,
                    StepRun::Ran(Ok(())) => Outcome::Done,
                    StepRun::Ran(Err(err)) => Outcome::Failed(err.to_string()),
                },
            });
            match (run, &ended) {
                // A step the fleet's failure stopped midway failed; one it kept from starting
                // did not run.
                (
                    StepRun::Stopped(stopped)
                    | StepRun::Ran(Err(stopped @ Error::FleetFailed { .. })),
                    Ended::Done,
                ) => ended = Ended::FleetFailed(stopped),
                (StepRun::Ran(Err(err)), Ended::Done) => ended = Ended::Failed(err),
                _ => {}
            }
        }
        if let (Pace::Leads(gate), Ended::Failed(err) | Ended::FleetFailed(err)) = (pace, &ended) {
            // Clusters waiting for a fleet step stop now, not when the fleet's run ends.
            gate.fail(err);
        }
    }
    (applied, ended)
}

/// Whether the fleet's shared steps come before the clusters (provisioning) or after them
/// (cleanup: shared policies and the bucket go once no cluster uses them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    FleetFirst,
    FleetLast,
}

/// The version of the JSON documents `--output json` prints, their first field; docs/pipelines.md
/// says when it changes, docs/schema/ describes it.
pub const REPORT_SCHEMA: &str = "kcfed.report/v1";

/// The document `--output json` prints, and the text report's source.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
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
    // Steps run stage by stage; the plan lists them in that order.
    let mut fleet_steps = fleet_steps;
    fleet_steps.sort_by_key(|item| executor.stage(&item.step));
    for (_, steps) in &mut cluster_steps {
        steps.sort_by_key(|item| executor.stage(&item.step));
    }
    let cluster_plan = cluster_steps.iter().flat_map(|(_, steps)| steps);
    let all_planned: Vec<Planned<E::Op>> = match run.order {
        Order::FleetFirst => fleet_steps.iter().chain(cluster_plan).cloned().collect(),
        Order::FleetLast => cluster_plan.chain(fleet_steps.iter()).cloned().collect(),
    };
    let plan = to_plan(&all_planned);
    let mut report = Report {
        schema: REPORT_SCHEMA,
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
        // A cluster that could not be planned fails the run, here as after an apply.
        report.error = errors.last().map(ToString::to_string);
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
    let progress = &Progress::new();

    let gate = &FleetGate::new(&fleet_steps);
    let (fleet_pace, cluster_pace) = match run.order {
        Order::FleetFirst => (Pace::Leads(gate), Pace::Follows(gate)),
        Order::FleetLast => (Pace::Alone, Pace::Alone),
    };
    let fleet_first = async {
        match run.order {
            Order::FleetFirst => {
                Some(run_steps(executor, &fleet_steps, progress, interrupt, fleet_pace).await)
            }
            Order::FleetLast => None,
        }
    };
    // Each cluster is one pipeline; whichever finishes first frees its place for the next.
    let clusters = futures::stream::iter(cluster_steps.iter().enumerate().map(
        |(position, (name, steps))| async move {
            let (applied, ended) =
                run_steps(executor, steps, progress, interrupt, cluster_pace).await;
            if let Some(target) = steps.iter().find_map(|item| item.target) {
                executor.cluster_finished(target);
            }
            let changed = steps.iter().any(|p| p.step.action.changes_something());
            (position, name.clone(), changed, applied, ended)
        },
    ))
    .buffer_unordered(run.concurrency.max(1))
    .collect::<Vec<_>>();
    let (fleet_first, mut outcomes) = tokio::join!(fleet_first, clusters);
    outcomes.sort_by_key(|outcome| outcome.0);

    let mut applied = Vec::new();
    let mut fleet_error = None;
    if let Some((fleet_applied, ended)) = fleet_first {
        applied.extend(fleet_applied);
        if let Ended::Failed(err) = ended {
            fleet_error = Some(err);
        }
    }
    for (_, name, changed, cluster_applied, ended) in outcomes {
        let cluster_started = cluster_applied
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Done | Outcome::Failed(_)));
        applied.extend(cluster_applied);
        results.push(match ended {
            Ended::Done => ClusterResult {
                name,
                status: if changed {
                    ClusterStatus::Changed
                } else {
                    ClusterStatus::Unchanged
                },
                error: None,
            },
            // Stopped by the fleet's failure: not run if none of its steps had started.
            Ended::FleetFailed(_) if !cluster_started => ClusterResult {
                name,
                status: ClusterStatus::NotRun,
                error: None,
            },
            Ended::FleetFailed(stopped) => ClusterResult {
                name,
                status: ClusterStatus::Failed,
                error: Some(describe(&stopped)),
            },
            Ended::Failed(err) => {
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
    if let Some(err) = fleet_error {
        // Without the fleet's shared steps no cluster could finish: that failure is the run's.
        report.applied = applied;
        report.clusters = results;
        report.error = Some(err.to_string());
        print(&report, || report.text(), output);
        return Err(err);
    }
    if run.order == Order::FleetLast {
        // Shared resources go only once every cluster has let go of them.
        if errors.is_empty() {
            let (fleet_applied, ended) =
                run_steps(executor, &fleet_steps, progress, interrupt, Pace::Alone).await;
            applied.extend(fleet_applied);
            if let Ended::Failed(err) = ended {
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

/// Success; the error itself when the only cluster failed; else a partial failure naming how
/// many clusters failed (each one's error is in the report). A Ctrl-C outranks the rest: the
/// run was cut short, and running it again finishes it.
fn finish(mut errors: Vec<Error>, total: usize) -> Result<u8, Error> {
    if errors.iter().any(|err| matches!(err, Error::Interrupted)) {
        return Err(Error::Interrupted);
    }
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

    /// Records when each step starts and ends; a step named `fail` fails.
    struct Recorder {
        events: std::sync::Mutex<Vec<String>>,
    }

    impl Executor for Recorder {
        type Op = Duration;

        async fn execute(
            &self,
            item: &Planned<Duration>,
            fleet: FleetView<'_>,
        ) -> Result<(), Error> {
            let name = &item.step.name;
            self.events.lock().unwrap().push(format!("start {name}"));
            if name == "midway" {
                fleet.reached(&[ResourceKind::AmpWorkspace]).await?;
            }
            tokio::time::sleep(item.op).await;
            self.events.lock().unwrap().push(format!("end {name}"));
            if name == "fail" {
                return Err(Error::Declined);
            }
            Ok(())
        }

        fn stage(&self, _step: &Step) -> u8 {
            0
        }

        fn needs_from_fleet(&self, step: &Step) -> &'static [ResourceKind] {
            match step.kind {
                ResourceKind::IamRole => &[ResourceKind::AmpWorkspace],
                _ => &[],
            }
        }

        fn resources(&self) -> Option<Resources> {
            None
        }
    }

    fn planned(kind: ResourceKind, name: &str, millis: u64) -> Planned<Duration> {
        Planned {
            step: Step::new("scope", kind, name, crate::plan::Action::Create),
            op: Duration::from_millis(millis),
            target: None,
        }
    }

    /// The fleet's steps and one cluster's, run together as `plan_and_apply` runs them.
    fn run_beside_fleet(
        fleet: &[Planned<Duration>],
        cluster: &[Planned<Duration>],
    ) -> (Vec<String>, Ended, Vec<Applied>) {
        let recorder = Recorder {
            events: Default::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (progress, interrupt) = (Progress { bars: None }, Interrupt::default());
        let gate = FleetGate::new(fleet);
        let (_, (applied, ended)) = runtime.block_on(async {
            tokio::join!(
                run_steps(&recorder, fleet, &progress, &interrupt, Pace::Leads(&gate)),
                run_steps(
                    &recorder,
                    cluster,
                    &progress,
                    &interrupt,
                    Pace::Follows(&gate)
                ),
            )
        });
        (recorder.events.into_inner().unwrap(), ended, applied)
    }

    #[test]
    fn cluster_steps_wait_only_for_the_fleet_steps_they_need() {
        let fleet = [planned(ResourceKind::AmpWorkspace, "workspace", 50)];
        let cluster = [
            planned(ResourceKind::OidcProvider, "provider", 1),
            planned(ResourceKind::IamRole, "role", 1),
        ];
        let (events, ended, _) = run_beside_fleet(&fleet, &cluster);
        assert!(matches!(ended, Ended::Done), "{ended:?}");
        let at = |event: &str| events.iter().position(|e| e == event).unwrap();
        assert!(at("end provider") < at("end workspace"), "{events:?}");
        assert!(at("end workspace") < at("start role"), "{events:?}");
    }

    #[test]
    fn a_failed_fleet_step_stops_the_cluster_steps_that_need_it() {
        let fleet = [planned(ResourceKind::AmpWorkspace, "fail", 10)];
        let cluster = [
            planned(ResourceKind::OidcProvider, "provider", 1),
            planned(ResourceKind::IamRole, "role", 1),
        ];
        let (events, ended, applied) = run_beside_fleet(&fleet, &cluster);
        assert!(matches!(ended, Ended::FleetFailed(_)), "{ended:?}");
        assert!(!events.contains(&"start role".to_owned()), "{events:?}");
        let outcome = |name: &str| {
            let applied = applied.iter().find(|a| a.step.name == name).unwrap();
            format!("{:?}", applied.outcome)
        };
        assert_eq!(outcome("provider"), "Done");
        assert_eq!(outcome("role"), "NotRun");
    }

    #[test]
    fn a_fleet_failure_elsewhere_does_not_stop_a_step_whose_needs_are_met() {
        let fleet = [
            planned(ResourceKind::AmpWorkspace, "workspace", 1),
            planned(ResourceKind::S3Bucket, "fail", 1),
        ];
        let cluster = [planned(ResourceKind::IamRole, "role", 30)];
        let (_, ended, applied) = run_beside_fleet(&fleet, &cluster);
        assert!(matches!(ended, Ended::Done), "{ended:?}");
        assert!(matches!(applied[0].outcome, Outcome::Done));
    }

    #[test]
    fn a_step_the_fleet_stops_midway_failed() {
        let fleet = [planned(ResourceKind::AmpWorkspace, "fail", 10)];
        let cluster = [planned(ResourceKind::OidcProvider, "midway", 1)];
        let (_, ended, applied) = run_beside_fleet(&fleet, &cluster);
        assert!(matches!(ended, Ended::FleetFailed(_)), "{ended:?}");
        assert!(
            matches!(&applied[0].outcome, Outcome::Failed(error) if error.contains("shared step failed: nothing was changed")),
            "{:?}",
            applied[0].outcome
        );
    }

    #[test]
    fn an_interrupt_outranks_other_cluster_failures() {
        let failed = || Error::Timeout {
            what: "helm".to_owned(),
            seconds: 1,
        };
        let code = |errors, total| finish(errors, total).unwrap_or_else(|err| err.exit_code());
        assert_eq!(code(vec![failed()], 2), exit::PARTIAL_FAILURE);
        assert_eq!(
            code(vec![failed(), Error::Interrupted], 3),
            exit::INTERRUPTED
        );
        assert_eq!(code(vec![], 2), exit::SUCCESS);
    }
}
