//! `kcfed status`'s verdict on each cluster, from what was read of it: whether its metrics reach
//! AMP, and what else is wrong with the fix for each. Pure: the command reads, this judges.

use std::fmt::Write as _;
use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use serde::Serialize;

use crate::cli::ClusterRole;
use crate::error::Error;
use crate::helm;
use crate::kube::api::list_in;

/// The version of the document `kcfed status --output json` prints, its first field;
/// docs/schema/status-v1.schema.json describes it.
pub const STATUS_SCHEMA: &str = "kcfed.status/v1";

/// The metric whose newest sample says a cluster reports: Kubecost's cost model exports it for
/// every node, and the chart's Prometheus remote-writes it with the cluster's `cluster_id`.
pub const REPORTING_METRIC: &str = "node_total_hourly_cost";

/// Where a cluster's Kubecost writes its federated ETL files in the fleet's bucket.
pub fn etl_prefix(cluster_id: &str) -> String {
    format!("federated/{cluster_id}/")
}

/// Where a Kubecost 3 cluster's FinOps agent writes its heartbeat (every five minutes) in the
/// fleet's bucket: the agent's own folder per cluster, and the layout older agents used.
pub fn heartbeat_prefixes(cluster_id: &str) -> [String; 2] {
    [
        format!("finops-agent/{cluster_id}/heartbeat/"),
        format!("{cluster_id}/heartbeat/"),
    ]
}

/// Which cluster, as the fleet knows it.
#[derive(Debug, Clone)]
pub struct ClusterIdentity {
    pub name: String,
    /// Its `cluster_id` in AMP and its ETL prefix: the name unless another cluster has it.
    pub cluster_id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub role: ClusterRole,
}

/// What a command line for a cluster needs to say.
#[derive(Debug, Clone)]
pub struct Hints {
    pub namespace: String,
    pub release: String,
    /// The kube context that reached the cluster, when one did.
    pub kube_context: Option<String>,
}

/// Everything read about one cluster.
#[derive(Debug, Clone)]
pub struct ClusterFacts {
    pub identity: ClusterIdentity,
    pub hints: Hints,
    /// The release and workloads, or why the cluster's API could not be read (with its fix).
    pub kube: Result<KubeFacts, Problem>,
    /// The newest sample of [`REPORTING_METRIC`] in AMP (seconds since the epoch), or why AMP
    /// could not be asked.
    pub metrics_last_seen: Result<Option<f64>, Problem>,
    /// Federated fleets: the newest ETL file's time, `Ok(None)` when there is none, or why the
    /// bucket could not be read. `None` for quick-start fleets.
    pub etl: Option<Result<Option<f64>, Problem>>,
    /// Kubecost 3 clusters, which have no metrics in AMP: the newest heartbeat their FinOps
    /// agent wrote to the bucket, in place of the metrics. `None` for the other lines.
    pub heartbeat: Option<Result<Option<f64>, Problem>>,
}

#[derive(Debug, Clone)]
pub struct KubeFacts {
    pub release: Option<helm::Listed>,
    pub workloads: ObservedWorkloads,
}

/// Something wrong with a cluster, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub problem: String,
    pub fix: String,
}

impl From<&crate::error::Error> for Problem {
    fn from(err: &crate::error::Error) -> Self {
        Problem {
            problem: err.to_string(),
            fix: err.fix().unwrap_or_default(),
        }
    }
}

/// Where a cluster's evidence of reporting comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricsSource {
    /// Its metrics in the fleet's AMP workspace (1.x and 2.x).
    Amp,
    /// Its FinOps agent's heartbeat in the fleet's bucket (3.x).
    Heartbeat,
}

/// One cluster in the status document.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    pub name: String,
    /// Its `cluster_id` in AMP and its federated ETL prefix.
    pub cluster_id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub role: ClusterRole,
    /// AMP holds metrics of this cluster newer than `--max-age` (Kubecost 3: the bucket holds
    /// a heartbeat of its FinOps agent newer than that).
    pub reporting: bool,
    /// What says the cluster reports: `amp` (its metrics) or `heartbeat` (Kubecost 3).
    pub metrics_source: MetricsSource,
    /// RFC 3339, or null when AMP has no sample of the last day (Kubecost 3: no heartbeat).
    pub metrics_last_seen: Option<String>,
    pub metrics_age_seconds: Option<u64>,
    /// AMP could not be asked: the table says "?", the problems say why.
    #[serde(skip)]
    pub metrics_unknown: bool,
    /// Null when the cluster's API could not be read or the release is not installed.
    pub release: Option<helm::Listed>,
    /// Null when the cluster's API could not be read.
    pub workloads: Option<Vec<Workload>>,
    pub volumes: Option<Vec<Volume>>,
    /// Federated fleets only: RFC 3339 of the newest ETL file, or null when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etl_last_written: Option<Option<String>>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    pub claim: String,
    pub phase: String,
}

/// The document `kcfed status` prints.
#[derive(Debug, Serialize)]
pub struct FleetStatus {
    pub schema: &'static str,
    /// The fleet: its id (its workspace's, or its bucket's), region and account. Added within v1.
    pub fleet: FleetRef,
    /// Absent for a fleet without an AMP workspace (Kubecost 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<FleetRef>,
    /// RFC 3339 time the status was read at.
    pub checked_at: String,
    pub max_age_seconds: u64,
    /// Whether every cluster reports (the exit code says the same).
    pub reporting: bool,
    pub clusters: Vec<ClusterStatus>,
    /// Why part of the fleet could not be read (AMP's query API); the rest is still shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetRef {
    pub id: String,
    pub region: String,
    pub account: String,
}

/// RFC 3339 of seconds since the epoch.
pub fn rfc3339(seconds: f64) -> String {
    DateTime::from_secs_f64(seconds.floor())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| seconds.to_string())
}

/// Judges one cluster at `now` (seconds since the epoch).
pub fn judge(facts: ClusterFacts, now: f64, max_age: Duration) -> ClusterStatus {
    let ClusterFacts {
        identity,
        hints,
        kube,
        metrics_last_seen,
        etl,
        heartbeat,
    } = facts;
    let source = match heartbeat {
        Some(_) => MetricsSource::Heartbeat,
        None => MetricsSource::Amp,
    };
    let metrics_last_seen = heartbeat.unwrap_or(metrics_last_seen);
    let join_again = match identity.role {
        ClusterRole::Primary => {
            format!("run `kcfed init primary --cluster {}` again", identity.arn)
        }
        ClusterRole::Agent => format!("run `kcfed join cluster --cluster {}` again", identity.arn),
    };
    let kubectl = match &hints.kube_context {
        Some(context) => format!(
            "kubectl --context {context} --namespace {}",
            hints.namespace
        ),
        None => format!("kubectl --namespace {}", hints.namespace),
    };
    let mut problems = Vec::new();

    let (metrics_last_seen, metrics_unknown) = match metrics_last_seen {
        Ok(seen) => (seen, None),
        Err(problem) => (None, Some(problem)),
    };
    let metrics_age = metrics_last_seen.map(|seen| (now - seen).max(0.0) as u64);
    let reporting = metrics_age.is_some_and(|age| age <= max_age.as_secs());
    let (writer, missing, newest) = match source {
        MetricsSource::Amp => (
            format!(
                "check the remote write of the cluster's Prometheus: `{kubectl} logs deployment/{}-prometheus-server --all-containers`; a new install reports within a few minutes",
                hints.release
            ),
            format!(
                "AMP has no {REPORTING_METRIC} sample with cluster_id {:?} in the last day",
                identity.cluster_id
            ),
            "the newest metrics in AMP are",
        ),
        MetricsSource::Heartbeat => (
            format!(
                "check the FinOps agent, which writes it every five minutes: `{kubectl} logs deployment/{}-finopsagent`; a new install reports within a few minutes",
                hints.release
            ),
            format!(
                "the bucket has no heartbeat of the FinOps agent under {}",
                heartbeat_prefixes(&identity.cluster_id)[0]
            ),
            "the newest heartbeat in the bucket is",
        ),
    };
    match metrics_age {
        None if metrics_unknown.is_some() => problems.extend(metrics_unknown.clone()),
        None => problems.push(Problem {
            problem: missing,
            fix: writer,
        }),
        Some(age) if !reporting => problems.push(Problem {
            problem: format!(
                "{newest} {} old, more than --max-age {}",
                human_duration(age),
                human_duration(max_age.as_secs())
            ),
            fix: writer,
        }),
        Some(_) => {}
    }

    let (release, workloads, volumes) = match kube {
        Err(problem) => {
            problems.insert(0, problem);
            (None, None, None)
        }
        Ok(KubeFacts { release, workloads }) => {
            match &release {
                None => problems.push(Problem {
                    problem: format!(
                        "helm release {} is not installed in namespace {}",
                        hints.release, hints.namespace
                    ),
                    fix: join_again.clone(),
                }),
                Some(listed) if listed.status != "deployed" => problems.push(Problem {
                    problem: format!("helm release {} is {}", hints.release, listed.status),
                    fix: format!(
                        "see why with `helm history {} --namespace {}`, then {join_again}",
                        hints.release, hints.namespace
                    ),
                }),
                Some(_) => {}
            }
            for workload in workloads.workloads.iter().filter(|w| w.ready < w.desired) {
                problems.push(Problem {
                    problem: format!(
                        "{} has {} of {} pods ready",
                        workload.name, workload.ready, workload.desired
                    ),
                    fix: format!("see why with `{kubectl} describe {}`", workload.name),
                });
            }
            for (claim, phase) in workloads.claims.iter().filter(|(_, p)| p != "Bound") {
                problems.push(Problem {
                    problem: format!("volume claim {claim} is {phase}"),
                    fix: format!(
                        "see why with `{kubectl} describe pvc {claim}`: usually no EBS CSI driver or StorageClass provisions it"
                    ),
                });
            }
            let volumes = workloads
                .claims
                .iter()
                .map(|(claim, phase)| Volume {
                    claim: claim.clone(),
                    phase: phase.clone(),
                })
                .collect();
            (release, Some(workloads.workloads), Some(volumes))
        }
    };

    let etl_last_written = etl.map(|etl| match etl {
        Ok(Some(written)) => Some(rfc3339(written)),
        Ok(None) => {
            problems.push(Problem {
                problem: format!("no federated ETL files under {} yet", etl_prefix(&identity.cluster_id)),
                fix: format!(
                    "Kubecost writes them after its first ETL build, within hours of the install; if it has run longer, check `{kubectl} logs deployment/{}-{} --all-containers`",
                    hints.release,
                    match source {
                        MetricsSource::Amp => "cost-analyzer",
                        MetricsSource::Heartbeat => "finopsagent",
                    }
                ),
            });
            None
        }
        Err(problem) => {
            problems.push(problem);
            None
        }
    });

    ClusterStatus {
        name: identity.name,
        cluster_id: identity.cluster_id,
        arn: identity.arn,
        account: identity.account,
        region: identity.region,
        role: identity.role,
        reporting,
        metrics_source: source,
        metrics_last_seen: metrics_last_seen.map(rfc3339),
        metrics_unknown: metrics_unknown.is_some(),
        metrics_age_seconds: metrics_age,
        release,
        workloads,
        volumes,
        etl_last_written,
        problems,
    }
}

/// `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn human_duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => match (seconds % 3600) / 60 {
            0 => format!("{}h", seconds / 3600),
            minutes => format!("{}h {minutes}m", seconds / 3600),
        },
        _ => match (seconds % 86400) / 3600 {
            0 => format!("{}d", seconds / 86400),
            hours => format!("{}d {hours}h", seconds / 86400),
        },
    }
}

impl FleetStatus {
    /// One table, a line per cluster, then each cluster's problems with their fixes.
    pub fn text(&self) -> String {
        let header = [
            "CLUSTER",
            "ACCOUNT",
            "REGION",
            "ROLE",
            "RELEASE",
            "PODS",
            "VOLUMES",
            "METRICS",
            "ETL",
            "REPORTING",
        ];
        let rows: Vec<[String; 10]> = self.clusters.iter().map(row).collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let mut text = String::new();
        let mut line = |cells: &[&str]| {
            let mut out = String::new();
            for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if index + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    let _ = write!(out, "{cell:width$}  ");
                }
            }
            text.push_str(out.trim_end());
            text.push('\n');
        };
        line(&header);
        for row in &rows {
            line(&row.each_ref().map(String::as_str));
        }
        for cluster in self.clusters.iter().filter(|c| !c.problems.is_empty()) {
            let _ = write!(text, "\n{}:", cluster.cluster_id);
            for problem in &cluster.problems {
                let _ = write!(text, "\n  {}\n    fix: {}", problem.problem, problem.fix);
            }
            text.push('\n');
        }
        let reporting = self.clusters.iter().filter(|c| c.reporting).count();
        let heartbeat = "to the fleet's bucket by their FinOps agent's heartbeat (Kubecost 3)";
        let to = match &self.workspace {
            Some(workspace) => format!(
                "to AMP workspace {} in {}{}",
                workspace.id,
                workspace.region,
                if self
                    .clusters
                    .iter()
                    .any(|c| c.metrics_source == MetricsSource::Heartbeat)
                {
                    format!(", or {heartbeat}")
                } else {
                    String::new()
                }
            ),
            None => format!(
                "{heartbeat}, fleet {} in {}",
                self.fleet.id, self.fleet.region
            ),
        };
        let _ = write!(
            text,
            "\n{reporting} of {} clusters report {to} (metrics at most {} old).",
            self.clusters.len(),
            human_duration(self.max_age_seconds)
        );
        text
    }
}

fn row(cluster: &ClusterStatus) -> [String; 10] {
    let unknown = || "?".to_owned();
    let release = match (&cluster.release, &cluster.workloads) {
        (Some(listed), _) => format!("{} {}", listed.status, listed.chart_version),
        (None, Some(_)) => "none".to_owned(),
        (None, None) => unknown(),
    };
    let pods = cluster
        .workloads
        .as_ref()
        .map_or_else(unknown, |workloads| {
            let ready = workloads.iter().filter(|w| w.ready >= w.desired).count();
            format!("{ready}/{}", workloads.len())
        });
    let volumes = cluster.volumes.as_ref().map_or_else(unknown, |volumes| {
        let bound = volumes.iter().filter(|v| v.phase == "Bound").count();
        format!("{bound}/{}", volumes.len())
    });
    let metrics = match cluster.metrics_age_seconds {
        _ if cluster.metrics_unknown => unknown(),
        None => "none".to_owned(),
        Some(age) => format!("{} ago", human_duration(age)),
    };
    let metrics = match cluster.metrics_source {
        MetricsSource::Amp => metrics,
        MetricsSource::Heartbeat => format!("{metrics} (heartbeat)"),
    };
    let etl = match &cluster.etl_last_written {
        None => "-".to_owned(),
        Some(None) => "none".to_owned(),
        Some(Some(written)) => written.clone(),
    };
    [
        cluster.cluster_id.clone(),
        cluster.account.clone(),
        cluster.region.clone(),
        match cluster.role {
            ClusterRole::Primary => "primary".to_owned(),
            ClusterRole::Agent => "agent".to_owned(),
        },
        release,
        pods,
        volumes,
        metrics,
        etl,
        if cluster.reporting { "yes" } else { "no" }.to_owned(),
    ]
}

/// One workload of the release as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// `deployment/NAME`, `statefulset/NAME` or `daemonset/NAME`.
    pub name: String,
    pub ready: i32,
    pub desired: i32,
}

/// The release's workloads and the namespace's volume claims (`name`, phase).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedWorkloads {
    pub workloads: Vec<Workload>,
    pub claims: Vec<(String, String)>,
}

/// Reads the Deployments, StatefulSets and DaemonSets helm made for `release` (by helm's
/// ownership annotation) and every PersistentVolumeClaim of the namespace; only LISTs.
pub async fn observe_workloads(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<ObservedWorkloads, Error> {
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;

    let (deployments, stateful_sets, daemon_sets, claims) = tokio::try_join!(
        list_in::<Deployment>(client, namespace, "deployments"),
        list_in::<StatefulSet>(client, namespace, "statefulsets"),
        list_in::<DaemonSet>(client, namespace, "daemonsets"),
        list_in::<PersistentVolumeClaim>(client, namespace, "persistentvolumeclaims"),
    )?;
    let of_release = |metadata: &ObjectMeta| {
        metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("meta.helm.sh/release-name"))
            .is_some_and(|name| name == release)
    };
    let name = |kind: &str, metadata: &ObjectMeta| {
        format!("{kind}/{}", metadata.name.as_deref().unwrap_or_default())
    };
    let mut workloads = Vec::new();
    for deployment in deployments.iter().filter(|d| of_release(&d.metadata)) {
        let status = deployment.status.clone().unwrap_or_default();
        workloads.push(Workload {
            name: name("deployment", &deployment.metadata),
            ready: status.ready_replicas.unwrap_or(0),
            desired: deployment
                .spec
                .as_ref()
                .and_then(|s| s.replicas)
                .unwrap_or(1),
        });
    }
    for set in stateful_sets.iter().filter(|s| of_release(&s.metadata)) {
        workloads.push(Workload {
            name: name("statefulset", &set.metadata),
            ready: set
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            desired: set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        });
    }
    for set in daemon_sets.iter().filter(|d| of_release(&d.metadata)) {
        let status = set.status.clone().unwrap_or_default();
        workloads.push(Workload {
            name: name("daemonset", &set.metadata),
            ready: status.number_ready,
            desired: status.desired_number_scheduled,
        });
    }
    Ok(ObservedWorkloads {
        workloads,
        claims: claims
            .iter()
            .map(|claim| {
                let phase = claim.status.as_ref().and_then(|s| s.phase.clone());
                (
                    claim.metadata.name.clone().unwrap_or_default(),
                    phase.unwrap_or_else(|| "Pending".to_owned()),
                )
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests;
