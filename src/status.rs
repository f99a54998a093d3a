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
    /// AMP holds metrics of this cluster newer than `--max-age`.
    pub reporting: bool,
    /// RFC 3339, or null when AMP has no sample of the last day.
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
    pub workspace: WorkspaceRef,
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

#[derive(Debug, Serialize)]
pub struct WorkspaceRef {
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
    } = facts;
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
    let remote_write_fix = format!(
        "check the remote write of the cluster's Prometheus: `{kubectl} logs deployment/{}-prometheus-server --all-containers`; a new install reports within a few minutes",
        hints.release
    );
    match metrics_age {
        None if metrics_unknown.is_some() => problems.extend(metrics_unknown.clone()),
        None => problems.push(Problem {
            problem: format!(
                "AMP has no {REPORTING_METRIC} sample with cluster_id {:?} in the last day",
                identity.cluster_id
            ),
            fix: remote_write_fix,
        }),
        Some(age) if !reporting => problems.push(Problem {
            problem: format!(
                "the newest metrics in AMP are {} old, more than --max-age {}",
                human_duration(age),
                human_duration(max_age.as_secs())
            ),
            fix: remote_write_fix,
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
                    "Kubecost writes them after its first ETL build, within hours of the install; if it has run longer, check `{kubectl} logs deployment/{}-cost-analyzer --all-containers`",
                    hints.release
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
        let _ = write!(
            text,
            "\n{reporting} of {} clusters report to AMP workspace {} in {} (metrics at most {} old).",
            self.clusters.len(),
            self.workspace.id,
            self.workspace.region,
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
mod tests {
    use super::*;

    const NOW: f64 = 1_800_000_000.0;
    const MAX_AGE: Duration = Duration::from_secs(600);

    fn facts(metrics_last_seen: Option<f64>) -> ClusterFacts {
        ClusterFacts {
            identity: ClusterIdentity {
                name: "edge".to_owned(),
                cluster_id: "edge".to_owned(),
                arn: "arn:aws:eks:eu-west-1:111122223333:cluster/edge".to_owned(),
                account: "111122223333".to_owned(),
                region: "eu-west-1".to_owned(),
                role: ClusterRole::Agent,
            },
            hints: Hints {
                namespace: "kubecost".to_owned(),
                release: "kubecost".to_owned(),
                kube_context: Some("edge-ctx".to_owned()),
            },
            kube: Ok(KubeFacts {
                release: Some(helm::Listed {
                    status: "deployed".to_owned(),
                    chart_version: "1.103.4".to_owned(),
                }),
                workloads: ObservedWorkloads {
                    workloads: vec![Workload {
                        name: "deployment/kubecost-cost-analyzer".to_owned(),
                        ready: 1,
                        desired: 1,
                    }],
                    claims: vec![("kubecost-cost-analyzer".to_owned(), "Bound".to_owned())],
                },
            }),
            metrics_last_seen: Ok(metrics_last_seen),
            etl: None,
        }
    }

    #[test]
    fn a_cluster_with_fresh_metrics_reports_and_has_no_problems() {
        let status = judge(facts(Some(NOW - 30.0)), NOW, MAX_AGE);
        assert!(status.reporting);
        assert_eq!(status.metrics_age_seconds, Some(30));
        assert_eq!(
            status.metrics_last_seen.as_deref(),
            Some("2027-01-15T07:59:30Z")
        );
        assert!(status.problems.is_empty(), "{:?}", status.problems);
    }

    #[test]
    fn metrics_older_than_the_max_age_are_silence() {
        let status = judge(facts(Some(NOW - 7500.0)), NOW, MAX_AGE);
        assert!(!status.reporting);
        assert_eq!(
            status.problems[0].problem,
            "the newest metrics in AMP are 2h 5m old, more than --max-age 10m"
        );
        assert!(
            status.problems[0]
                .fix
                .contains("kubectl --context edge-ctx --namespace kubecost logs deployment/kubecost-prometheus-server"),
            "{}",
            status.problems[0].fix
        );
        // Exactly the max age still counts.
        assert!(judge(facts(Some(NOW - 600.0)), NOW, MAX_AGE).reporting);
    }

    #[test]
    fn no_sample_at_all_is_named_with_the_cluster_id() {
        let status = judge(facts(None), NOW, MAX_AGE);
        assert!(!status.reporting);
        assert_eq!(status.metrics_last_seen, None);
        assert!(status.problems[0].problem.contains("cluster_id \"edge\""));
    }

    #[test]
    fn unready_workloads_pending_claims_and_failed_releases_are_problems_with_fixes() {
        let mut facts = facts(Some(NOW));
        let kube = facts.kube.as_mut().unwrap();
        kube.release.as_mut().unwrap().status = "failed".to_owned();
        kube.workloads.workloads[0].ready = 0;
        kube.workloads.claims[0].1 = "Pending".to_owned();
        let status = judge(facts, NOW, MAX_AGE);
        // Metrics still arrive: the cluster reports, with its problems listed.
        assert!(status.reporting);
        let problems: Vec<&str> = status.problems.iter().map(|p| p.problem.as_str()).collect();
        assert_eq!(
            problems,
            [
                "helm release kubecost is failed",
                "deployment/kubecost-cost-analyzer has 0 of 1 pods ready",
                "volume claim kubecost-cost-analyzer is Pending",
            ]
        );
        assert!(status.problems[0].fix.contains(
            "kcfed join cluster --cluster arn:aws:eks:eu-west-1:111122223333:cluster/edge"
        ));
        assert!(
            status.problems[2]
                .fix
                .contains("describe pvc kubecost-cost-analyzer")
        );
    }

    #[test]
    fn an_unreadable_cluster_comes_first_and_leaves_its_release_unknown() {
        let mut facts = facts(Some(NOW));
        facts.kube = Err(Problem {
            problem: "Kubernetes list of deployments failed".to_owned(),
            fix: "check the context".to_owned(),
        });
        let status = judge(facts, NOW, MAX_AGE);
        assert!(status.reporting);
        assert!(status.release.is_none() && status.workloads.is_none());
        assert_eq!(status.problems[0].fix, "check the context");
        assert_eq!(row(&status)[4], "?");
    }

    #[test]
    fn federated_fleets_show_the_newest_etl_file() {
        let mut with_file = facts(Some(NOW));
        with_file.etl = Some(Ok(Some(NOW - 3600.0)));
        let status = judge(with_file, NOW, MAX_AGE);
        assert_eq!(
            status.etl_last_written,
            Some(Some("2027-01-15T07:00:00Z".to_owned()))
        );
        assert!(status.problems.is_empty());

        let mut without = facts(Some(NOW));
        without.etl = Some(Ok(None));
        let status = judge(without, NOW, MAX_AGE);
        assert_eq!(status.etl_last_written, Some(None));
        assert_eq!(
            status.problems[0].problem,
            "no federated ETL files under federated/edge/ yet"
        );
        assert!(status.reporting, "ETL files do not decide reporting");
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3600), "1h");
        assert_eq!(human_duration(7500), "2h 5m");
        assert_eq!(human_duration(86400 * 2 + 3600 * 4), "2d 4h");
    }

    #[test]
    fn metrics_amp_could_not_give_are_unknown_with_the_reason() {
        let mut unread = facts(None);
        unread.metrics_last_seen = Err(Problem {
            problem: "aps:QueryMetrics refused".to_owned(),
            fix: "grant it".to_owned(),
        });
        let status = judge(unread, NOW, MAX_AGE);
        assert!(!status.reporting);
        assert!(status.metrics_unknown);
        assert_eq!(status.problems[0].problem, "aps:QueryMetrics refused");
        assert!(
            !status
                .problems
                .iter()
                .any(|p| p.problem.contains("no node_total_hourly_cost")),
            "{:?}",
            status.problems
        );
        assert_eq!(row(&status)[7], "?");
    }

    #[test]
    fn the_text_is_one_aligned_table_then_the_fixes() {
        let document = FleetStatus {
            schema: STATUS_SCHEMA,
            workspace: WorkspaceRef {
                id: "ws-1".to_owned(),
                region: "us-west-2".to_owned(),
                account: "111122223333".to_owned(),
            },
            checked_at: rfc3339(NOW),
            max_age_seconds: 600,
            reporting: false,
            clusters: vec![
                judge(facts(Some(NOW - 30.0)), NOW, MAX_AGE),
                judge(facts(None), NOW, MAX_AGE),
            ],
            error: None,
        };
        let text = document.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("CLUSTER  ACCOUNT       REGION     ROLE   RELEASE"),
            "{text}"
        );
        assert!(lines[1].ends_with("30s ago  -    yes"), "{text}");
        assert!(lines[2].ends_with("none     -    no"), "{text}");
        assert!(
            text.contains("\nedge:\n  AMP has no node_total_hourly_cost sample"),
            "{text}"
        );
        assert!(text.ends_with("1 of 2 clusters report to AMP workspace ws-1 in us-west-2 (metrics at most 10m old)."), "{text}");
    }
}
