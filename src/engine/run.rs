//! Runs planned steps: stage by stage, the fleet's steps beside (or after) the clusters', up to
//! a number of clusters at once, each cluster on its own so one failure does not stop the
//! others; then the report. It knows no command and no resource kind: an [`Executor`] applies
//! the steps and says how they are ordered.

use futures::StreamExt;
use serde::Serialize;

use super::options::{OutputFormat, RunOptions};
use super::report::{
    Applied, ClusterResult, ClusterStatus, Finished, Outcome, REPORT_SCHEMA, Report, finish,
    rendered,
};
use super::terminal::{Interrupt, Progress, confirm};
use crate::error::{Error, exit};
use crate::plan::{Plan, ResourceKind, Step};

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
        identities: Vec::new(),
        steps: planned.iter().map(|p| p.step.clone()).collect(),
    }
}

/// What applies one command's operations: provisioning and cleanup each have their own.
// Executors run on kcfed's own runtime, never spawned elsewhere: no `Send` bound is needed.
#[allow(async_fn_in_trait)]
pub trait Executor {
    type Op;

    /// Applies one step, the one at `position` in its run's steps (its cluster's, or the
    /// fleet's, in the order they run). `fleet` lets a cluster's step wait, midway, for the
    /// fleet's stages.
    async fn execute(
        &self,
        item: &Planned<Self::Op>,
        position: usize,
        fleet: FleetView<'_>,
    ) -> Result<(), Error>;

    /// Steps of the same stage that follow each other in a plan run at the same time.
    fn stage(&self, step: &Step) -> u8;

    /// The kinds of fleet step a cluster's step waits for, when fleet and clusters run together.
    fn needs_from_fleet(&self, _step: &Step) -> &'static [ResourceKind] {
        &[]
    }

    /// The step at `position` as the report shows it once applied: a plan made before the
    /// fleet's workspace existed names what depends on its id as pending.
    fn applied_step(&self, item: &Planned<Self::Op>, _position: usize) -> Step {
        item.step.clone()
    }

    /// What the run's resources are (ids, ARNs), for the report.
    type Resources: Serialize + std::fmt::Display;

    fn resources(&self, installed: &dyn Fn(&str) -> bool) -> Option<Self::Resources>;

    /// Takes back what an applied step made, when its run of steps fails on an account quota
    /// (a rerun would meet it again); whether the step had something to take back.
    async fn undo(&self, _item: &Planned<Self::Op>, _position: usize) -> Result<bool, Error> {
        Ok(false)
    }

    /// A cluster's steps are all run: what was kept for it (its API client) can go.
    fn cluster_finished(&self, _target: usize) {}
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
        let first = applied.len();
        let outcomes =
            futures::future::join_all(stage.iter().enumerate().map(|(offset, item)| async move {
                if !item.step.action.changes_something() {
                    return StepRun::Unchanged;
                }
                if let Err(stopped) = view.reached(executor.needs_from_fleet(&item.step)).await {
                    return StepRun::Stopped(stopped);
                }
                let line = progress.start(&item.step);
                let outcome = executor.execute(item, first + offset, view).await;
                line.finish(&outcome);
                if let (Pace::Leads(gate), Ok(())) = (pace, &outcome) {
                    gate.done(item.step.kind);
                }
                StepRun::Ran(outcome)
            }))
            .await;
        for (offset, (item, run)) in stage.iter().zip(outcomes).enumerate() {
            applied.push(Applied {
                step: match &run {
                    StepRun::Ran(Ok(())) => executor.applied_step(item, first + offset),
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
        if let Ended::Failed(err) = &ended
            && err.is_quota()
        {
            undo_applied(executor, planned, &mut applied).await;
        }
    }
    (applied, ended)
}

/// Takes back, newest first, what the run's applied steps made (the first stage after a
/// failure ends the loop, so this runs once). A step that cannot be taken back stays done, and
/// the report says so.
async fn undo_applied<E: Executor>(
    executor: &E,
    planned: &[Planned<E::Op>],
    applied: &mut [Applied],
) {
    let steps = planned.iter().zip(applied.iter_mut()).enumerate();
    for (position, (item, entry)) in steps.rev() {
        if !matches!(entry.outcome, Outcome::Done) {
            continue;
        }
        match executor.undo(item, position).await {
            Ok(true) => entry.outcome = Outcome::Undone,
            Ok(false) => {}
            Err(err) => {
                entry.outcome = Outcome::Failed(format!("made, and not taken back: {err}"));
            }
        }
    }
}

/// Whether the fleet's shared steps come before the clusters (provisioning) or after them
/// (cleanup: shared policies and the bucket go once no cluster uses them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    FleetFirst,
    FleetLast,
}

/// One cluster's planned steps, or why it could not be planned.
pub struct ClusterPlan<O> {
    pub name: String,
    /// The cluster's id in the fleet; its steps' scope.
    pub cluster_id: String,
    /// The account the cluster is in: the account of its steps inside the cluster.
    pub account: String,
    pub planned: Result<Vec<Planned<O>>, Error>,
}

/// A cluster as the report names it.
#[derive(Clone)]
struct Who {
    name: String,
    cluster_id: String,
}

/// How one command runs: its name for the report, the order of fleet and cluster steps, and
/// how many clusters are applied at the same time.
pub struct Run<'a> {
    pub command: &'static str,
    /// Who kcfed acts as, per account (the plan's header).
    pub identities: Vec<crate::aws::sts::Identity>,
    /// The account of the fleet's resources, and of every cluster's resources in AWS.
    pub fleet_account: &'a str,
    pub options: RunOptions,
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
) -> Finished
where
    E::Op: Clone,
{
    let mut results: Vec<ClusterResult> = Vec::new();
    let mut errors = Vec::new();
    let mut cluster_steps = Vec::new();
    for cluster in clusters {
        match cluster.planned {
            Ok(mut planned) => {
                for item in planned
                    .iter_mut()
                    .filter(|item| item.step.account.is_empty())
                {
                    item.step.account = if item.step.kind.in_cluster() {
                        cluster.account.clone()
                    } else {
                        run.fleet_account.to_owned()
                    };
                }
                cluster_steps.push((
                    Who {
                        name: cluster.name,
                        cluster_id: cluster.cluster_id,
                    },
                    planned,
                ));
            }
            Err(err) => {
                results.push(ClusterResult {
                    name: cluster.name,
                    cluster_id: cluster.cluster_id,
                    status: ClusterStatus::Failed,
                    error: Some(err.with_fix()),
                });
                errors.push(err);
            }
        }
    }
    // Steps run stage by stage; the plan lists them in that order.
    let mut fleet_steps = fleet_steps;
    for item in fleet_steps
        .iter_mut()
        .filter(|item| item.step.account.is_empty())
    {
        item.step.account = run.fleet_account.to_owned();
    }
    fleet_steps.sort_by_key(|item| executor.stage(&item.step));
    for (_, steps) in &mut cluster_steps {
        steps.sort_by_key(|item| executor.stage(&item.step));
    }
    let cluster_plan = cluster_steps.iter().flat_map(|(_, steps)| steps);
    let all_planned: Vec<Planned<E::Op>> = match run.order {
        Order::FleetFirst => fleet_steps.iter().chain(cluster_plan).cloned().collect(),
        Order::FleetLast => cluster_plan.chain(fleet_steps.iter()).cloned().collect(),
    };
    let mut plan = to_plan(&all_planned);
    plan.identities = run.identities;
    let mut report = Report {
        schema: REPORT_SCHEMA,
        command: run.command,
        dry_run: run.options.dry_run,
        changed: plan.has_changes(),
        plan,
        applied: Vec::new(),
        clusters: Vec::new(),
        resources: None,
        error: None,
    };
    let total = errors.len() + cluster_steps.len();
    let output = run.options.output;
    if let Some(conflict) = report.plan.conflicts().next() {
        let error = Error::Conflict {
            resource: format!("{} {}", conflict.kind_label(), conflict.name),
            reason: conflict.details.join("; "),
            fix: "resolve the conflict named in the plan (or choose other names), then run again"
                .to_owned(),
        };
        report.error = Some(error.to_string());
        report.clusters = results;
        return Finished::printing(rendered(&report, || report.text(), output), Err(error));
    }
    if run.options.dry_run || !report.changed {
        let status = if run.options.dry_run {
            ClusterStatus::Planned
        } else {
            ClusterStatus::Unchanged
        };
        results.extend(cluster_steps.iter().map(|(who, _)| ClusterResult {
            name: who.name.clone(),
            cluster_id: who.cluster_id.clone(),
            status,
            error: None,
        }));
        report.clusters = results;
        // A dry run installs nothing; a run with nothing to do finds every release in place.
        let in_place = !run.options.dry_run;
        report.resources = executor.resources(&|_| in_place);
        // A cluster that could not be planned fails the run, here as after an apply.
        report.error = errors.last().map(ToString::to_string);
        let no_changes = !report.changed && !run.options.dry_run && run.options.detailed_exitcode;
        let exit = finish(errors, total).map(|code| match code {
            exit::SUCCESS if no_changes => exit::NO_CHANGES,
            code => code,
        });
        return Finished::printing(rendered(&report, || report.text(), output), exit);
    }
    // No cluster could be planned: the fleet's steps alone would be half of an install.
    if cluster_steps.is_empty() && !errors.is_empty() {
        report.clusters = results;
        report.error = errors.last().map(ToString::to_string);
        let exit = finish(errors, total);
        return Finished::printing(rendered(&report, || report.text(), output), exit);
    }
    if output == OutputFormat::Text && run.options.yes {
        eprintln!("{}\n", report.plan);
    }
    if let Err(refused) = confirm(&report.plan, &run.options) {
        return refused.into();
    }
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
        |(position, (who, steps))| async move {
            let (applied, ended) =
                run_steps(executor, steps, progress, interrupt, cluster_pace).await;
            if let Some(target) = steps.iter().find_map(|item| item.target) {
                executor.cluster_finished(target);
            }
            let changed = steps.iter().any(|p| p.step.action.changes_something());
            (position, who.clone(), changed, applied, ended)
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
    for (_, Who { name, cluster_id }, changed, cluster_applied, ended) in outcomes {
        let cluster_started = cluster_applied
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Done | Outcome::Failed(_)));
        applied.extend(cluster_applied);
        results.push(match ended {
            Ended::Done => ClusterResult {
                name,
                cluster_id,
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
                cluster_id,
                status: ClusterStatus::NotRun,
                error: None,
            },
            Ended::FleetFailed(stopped) => ClusterResult {
                name,
                cluster_id,
                status: ClusterStatus::Failed,
                error: Some(stopped.with_fix()),
            },
            Ended::Failed(err) => {
                let result = ClusterResult {
                    name,
                    cluster_id,
                    status: ClusterStatus::Failed,
                    error: Some(err.with_fix()),
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
        return Finished::printing(rendered(&report, || report.text(), output), Err(err));
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
    let installed = |cluster_id: &str| {
        report.clusters.iter().any(|cluster| {
            cluster.cluster_id == cluster_id
                && matches!(
                    cluster.status,
                    ClusterStatus::Changed | ClusterStatus::Unchanged
                )
        })
    };
    report.resources = executor.resources(&installed);
    if let Some(err) = errors.last() {
        report.error = Some(err.to_string());
    }
    let exit = finish(errors, total.max(1));
    Finished::printing(rendered(&report, || report.text(), output), exit)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Records when each step starts and ends; a step named `fail` fails.
    struct Recorder {
        events: std::sync::Mutex<Vec<String>>,
    }

    impl Executor for Recorder {
        type Op = Duration;

        async fn execute(
            &self,
            item: &Planned<Duration>,
            _position: usize,
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

        type Resources = String;

        fn resources(&self, _installed: &dyn Fn(&str) -> bool) -> Option<String> {
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
        let (progress, interrupt) = (Progress::new(), Interrupt::default());
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
