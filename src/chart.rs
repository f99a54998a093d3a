//! The lines of the cost-analyzer chart kcfed installs, and everything that differs between
//! them: which versions make a line, the values templates a release of the line is rendered
//! from, the moves between lines, the chart's own install gate (read ahead), and what an agent
//! of the line serves. A new chart line is a variant here plus its values templates.

use kube::Client;

use crate::error::Error;
use crate::kube::api::list_in;
use crate::names::ServiceAccountKind;

/// The chart version kcfed installs by default, as a macro so `--version` can embed it with `concat!`.
#[macro_export]
macro_rules! default_chart_version {
    () => {
        "1.103.4"
    };
}
pub const DEFAULT_CHART_VERSION: &str = default_chart_version!();
/// The chart of the 1.x and 2.x lines.
pub const CHART_REF: &str = "oci://public.ecr.aws/kubecost/cost-analyzer";
/// The chart of the 3.x line, which is named `kubecost`.
pub const CHART_REF_3: &str = "oci://public.ecr.aws/kubecost/kubecost";

/// The chart versions kcfed's tests install, one per minor line it knows well.
const TESTED_VERSIONS: &[&str] = &["1.103.4", "2.4.2", "2.8.7", "3.2.1"];

/// The port the cost-analyzer pod serves the UI on (the chart's frontend).
pub const UI_PORT: u16 = 9090;

/// The part of the chart a cluster runs: the primary's (the fleet's view) or an agent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterRole {
    /// The cluster that runs the federator and shows the combined view.
    Primary,
    /// A cluster that only ships its data to the fleet.
    Agent,
}

/// The line of the Kubecost chart a version belongs to: its AMP and federation settings
/// differ (1.x: federator; 2.x: aggregator; 3.x: no AMP, the FinOps agent writes every
/// cluster's data to the bucket and the aggregator reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum ChartLine {
    #[serde(rename = "1")]
    V1,
    #[serde(rename = "2")]
    V2,
    #[serde(rename = "3")]
    V3,
}

impl ChartLine {
    /// The line of `version`: 1.103-1.108, 2.4-2.8 or 3.0-3.2, the releases whose values kcfed
    /// knows (its tests install 1.103.4, 2.4.2, 2.8.7 and 3.2.1); the rest are refused with the
    /// reason.
    pub fn of(version: &str) -> Result<ChartLine, Error> {
        let numbers: Vec<Option<u32>> = version.split('.').map(|part| part.parse().ok()).collect();
        let [Some(major), Some(minor), Some(_patch)] = numbers[..] else {
            let reason = match TESTED_VERSIONS
                .iter()
                .find(|tested| tested.starts_with(&format!("{version}.")))
            {
                Some(tested) => format!("a chart version has three parts; did you mean {tested}?"),
                None => "a chart version looks like 2.8.7".to_owned(),
            };
            return Err(Error::invalid("chart version", version, reason));
        };
        let refused = |reason: &str| Err(Error::invalid("chart version", version, reason));
        match (major, minor) {
            (1, 103..=108) => Ok(ChartLine::V1),
            (2, 4..=8) => Ok(ChartLine::V2),
            (3, 0..=2) => Ok(ChartLine::V3),
            (1, _) => refused(
                "kcfed knows cost-analyzer 1.103 to 1.108 (the 1.x line ends at 1.108.1); use 1.108.1, or 2.8.7",
            ),
            (2, 0..=3) => refused(
                "kcfed knows the 2.x values of 2.4 to 2.8 (its tests install 2.4.2 and 2.8.7); use 2.8.7",
            ),
            (2, _) => refused(
                "2.9 is only the bridge that moves a 2.x fleet to 3.x, a move kcfed does not make yet; install 2.8.7, or 3.2.1 for a new fleet",
            ),
            (3, _) => refused(
                "kcfed knows the values of Kubecost 3.0 to 3.2 (its tests install 3.2.1); use 3.2.1",
            ),
            _ => refused("kcfed knows chart versions 1.103 to 3.2; use 3.2.1, or 2.8.7"),
        }
    }

    /// The line of an installed release's chart label (`cost-analyzer-2.8.7`, `kubecost-3.2.1`),
    /// when kcfed knows it.
    pub fn of_chart_label(label: &str) -> Option<ChartLine> {
        let version = label
            .strip_prefix("cost-analyzer-")
            .or_else(|| label.strip_prefix("kubecost-"))?;
        ChartLine::of(version).ok()
    }

    /// The chart of the line, where the user names none: 3.x has a chart of its own.
    pub fn chart_ref(self) -> &'static str {
        match self {
            ChartLine::V1 | ChartLine::V2 => CHART_REF,
            ChartLine::V3 => CHART_REF_3,
        }
    }

    /// The chart's name, as its releases' chart label starts.
    pub fn chart_name(self) -> &'static str {
        match self {
            ChartLine::V1 | ChartLine::V2 => "cost-analyzer",
            ChartLine::V3 => "kubecost",
        }
    }

    /// Whether the line reaches AMP: 3.x has no Prometheus of its own and reads every
    /// cluster's data from the bucket.
    pub fn uses_amp(self) -> bool {
        self != ChartLine::V3
    }

    /// The service accounts a release of the line runs its AWS-calling pods as: 3.x runs the
    /// FinOps agent, the aggregator and cloud-cost as one, whose only AWS access is the bucket.
    pub fn service_accounts(self) -> &'static [ServiceAccountKind] {
        match self {
            ChartLine::V1 | ChartLine::V2 => &ServiceAccountKind::ALL,
            ChartLine::V3 => &[ServiceAccountKind::CostAnalyzer],
        }
    }

    /// The template of Kubecost's EKS defaults for the line: every release's first values file.
    pub fn eks_values(self) -> &'static str {
        match self {
            ChartLine::V1 => "values-eks-cost-monitoring.yaml",
            ChartLine::V2 => "values-eks-cost-monitoring-2.x.yaml",
            ChartLine::V3 => "values-eks-3.x.yaml",
        }
    }

    /// Every values template of a release of the line, with the file each renders to, in
    /// helm's order: the EKS defaults, AMP (1.x and 2.x), the cluster's part in the fleet, and
    /// kcfed's settings last.
    pub fn values_templates(
        self,
        role: ClusterRole,
        federated: bool,
    ) -> Vec<(&'static str, &'static str)> {
        let mut templates = vec![(self.eks_values(), "1-eks-cost-monitoring.yaml")];
        if self.uses_amp() {
            templates.push(("values-amp.yaml.j2", "2-amp.yaml"));
        }
        templates.extend(self.fleet_part_values(role, federated));
        templates.push(match self {
            ChartLine::V1 | ChartLine::V2 => ("values-overrides.yaml.j2", "4-overrides.yaml"),
            ChartLine::V3 => ("values-overrides-3.x.yaml.j2", "4-overrides.yaml"),
        });
        templates
    }

    /// The template of a cluster's part in the fleet, and the file it renders to: 1.x in
    /// federated fleets only (federator on the primary); 2.x agents always, the primary in
    /// federated fleets (the aggregator reads the bucket). A quick-start primary needs none: the
    /// default single-pod aggregator reads AMP for every cluster.
    pub fn fleet_part_values(
        self,
        role: ClusterRole,
        federated: bool,
    ) -> Option<(&'static str, &'static str)> {
        match (self, role) {
            (ChartLine::V1, ClusterRole::Primary) if federated => Some((
                "values-primary-federator.yaml.j2",
                "3-primary-federator.yaml",
            )),
            (ChartLine::V1, ClusterRole::Agent) if federated => {
                Some(("values-agent-federated.yaml.j2", "3-agent-federated.yaml"))
            }
            (ChartLine::V2, ClusterRole::Primary) if federated => Some((
                "values-primary-aggregator.yaml.j2",
                "3-primary-aggregator.yaml",
            )),
            (ChartLine::V2, ClusterRole::Agent) => {
                Some(("values-agent-2.x.yaml.j2", "3-agent.yaml"))
            }
            (ChartLine::V3, ClusterRole::Primary) => {
                Some(("values-primary-3.x.yaml.j2", "3-primary.yaml"))
            }
            (ChartLine::V3, ClusterRole::Agent) => {
                Some(("values-agent-3.x.yaml.j2", "3-agent.yaml"))
            }
            _ => None,
        }
    }

    /// Whether a release of the line in this role serves Kubecost's UI: 2.x agents run
    /// `agentOnly` and 3.x agents only the FinOps agent; both only ship their data.
    pub fn has_ui(self, role: ClusterRole) -> bool {
        self == ChartLine::V1 || role == ClusterRole::Primary
    }

    /// Why a fleet of the line cannot be made this way, if it cannot: 3.x clusters share their
    /// data only through the bucket.
    pub fn needs_bucket(self, federated: bool) -> Option<&'static str> {
        (self == ChartLine::V3 && !federated).then_some(
            "Kubecost 3 has no AMP: its clusters share their data only through the federated bucket, which --quick-start leaves out; drop --quick-start",
        )
    }
}

/// Why the components a chart version bundles cannot take EKS Pod Identity credentials, if
/// they cannot. Pod Identity needs the container credential provider in every AWS-calling
/// component: cost-model has it since 2.2, the SigV4 proxy image since its v1.9 (the charts pull
/// `:latest`), Prometheus once built with aws-sdk-go 1.47.11 or later (2.55 and later).
pub fn pod_identity_refused(version: &str) -> Result<Option<&'static str>, Error> {
    let line = ChartLine::of(version)?;
    let patch = |minor: &str| {
        version
            .strip_prefix(minor)
            .and_then(|patch| patch.parse::<u32>().ok())
    };
    Ok(match line {
        ChartLine::V1 => Some(
            "the 1.x chart bundles Prometheus 2.35 to 2.48, built with an aws-sdk-go older than 1.47.11, which cannot take Pod Identity credentials: use --identity irsa, or chart 2.4.3 or later",
        ),
        ChartLine::V2 if patch("2.4.").is_some_and(|patch| patch < 3) => Some(
            "2.4.0 to 2.4.2 run an unpinned Prometheus image, so whether it can take Pod Identity credentials depends on the day it is pulled: use --identity irsa, or chart 2.4.3 or later",
        ),
        ChartLine::V2 | ChartLine::V3 => None,
    })
}

/// What moving an installed release to another version means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Not done: why, and what to do instead.
    Refused(String),
    /// Done by the upgrade; what the plan says about it.
    Upgrade(Vec<String>),
}

/// Moving a release of `cluster_arn` from `installed` to `wanted` (both versions).
pub fn moving(installed: &str, wanted: &str, cluster_arn: &str) -> Result<Move, Error> {
    let (from, to) = (ChartLine::of(installed).ok(), ChartLine::of(wanted)?);
    Ok(match (from, to) {
        // A 2.x release has no way back to 1.x: its aggregator's data and settings have no 1.x
        // form, and helm would leave a half-configured release behind.
        (Some(ChartLine::V2), ChartLine::V1) => Move::Refused(format!(
            "cost-analyzer {installed} is installed: kcfed does not move a 2.x release back to 1.x; keep a 2.x --chart-version, or remove it first with `kcfed cleanup --cluster {cluster_arn}`"
        )),
        (Some(ChartLine::V1), ChartLine::V2) => Move::Upgrade(vec![
            "1.x to 2.x: the aggregator replaces the federator (README, \"Kubecost 2.x\")"
                .to_owned(),
        ]),
        (Some(ChartLine::V3), ChartLine::V1 | ChartLine::V2) => Move::Refused(format!(
            "Kubecost {installed} is installed: kcfed does not move a 3.x release back to {wanted}; keep a 3.x --chart-version, or remove it first with `kcfed cleanup --cluster {cluster_arn}`"
        )),
        (Some(ChartLine::V1 | ChartLine::V2), ChartLine::V3) => Move::Refused(format!(
            "cost-analyzer {installed} is installed: moving an AMP fleet's clusters to Kubecost 3 (through 2.9) is not done by kcfed yet; keep a {installed} --chart-version (README, \"Kubecost 3\")"
        )),
        _ => Move::Upgrade(Vec::new()),
    })
}

/// What the chart's own install gate would refuse, read ahead: the 2.x chart fails to install
/// while a 1.x aggregator StatefulSet is in the namespace. The StatefulSets named.
pub async fn blocking_workloads(
    client: &Client,
    namespace: &str,
    line: ChartLine,
) -> Result<Vec<String>, Error> {
    use k8s_openapi::api::apps::v1::StatefulSet;
    if line != ChartLine::V2 {
        return Ok(Vec::new());
    }
    let sets = list_in::<StatefulSet>(client, namespace, "statefulsets").await?;
    Ok(sets
        .iter()
        .map(|set| &set.metadata)
        .filter(|metadata| {
            let name = metadata.name.as_deref().unwrap_or_default();
            let chart = metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get("helm.sh/chart"))
                .map(String::as_str)
                .unwrap_or_default();
            name.contains("aggregator") && chart.starts_with("cost-analyzer-1.")
        })
        .map(|metadata| metadata.name.clone().unwrap_or_default())
        .collect())
}

/// Why the install waits for the workloads [`blocking_workloads`] found, and the fix.
pub fn blocked(workloads: &[String], namespace: &str) -> String {
    format!(
        "the 1.x aggregator StatefulSet {} blocks chart 2.x: delete it first (`kubectl --namespace {namespace} delete statefulset {}`), then run again",
        workloads.join(", "),
        workloads.join(" ")
    )
}

/// The Deployment whose pods serve the UI: the cost-analyzer's (1.x, 2.x), the frontend's (3.x).
pub fn ui_deployment(release: &str, line: ChartLine) -> String {
    match line {
        ChartLine::V1 | ChartLine::V2 => format!("{release}-cost-analyzer"),
        ChartLine::V3 => format!("{release}-frontend"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_belong_to_a_line_or_are_refused_with_the_reason() {
        assert_eq!(ChartLine::of("1.103.4").unwrap(), ChartLine::V1);
        assert_eq!(ChartLine::of("1.108.1").unwrap(), ChartLine::V1);
        assert_eq!(ChartLine::of("2.4.2").unwrap(), ChartLine::V2);
        assert_eq!(ChartLine::of("2.8.7").unwrap(), ChartLine::V2);
        assert_eq!(ChartLine::of("3.0.1").unwrap(), ChartLine::V3);
        assert_eq!(ChartLine::of("3.2.1").unwrap(), ChartLine::V3);
        for (bad, reason) in [
            ("1.99.0", "1.103 to 1.108"),
            ("2.3.0", "2.4 to 2.8"),
            ("2.9.0", "bridge"),
            ("3.3.0", "3.0 to 3.2"),
            ("4.0.0", "1.103 to 3.2"),
            ("latest", "looks like"),
            ("1.103", "did you mean 1.103.4?"),
            ("2.8", "did you mean 2.8.7?"),
        ] {
            let err = ChartLine::of(bad).unwrap_err().to_string();
            assert!(err.contains(reason), "{bad}: {err}");
        }
        assert_eq!(
            ChartLine::of_chart_label("cost-analyzer-2.8.7"),
            Some(ChartLine::V2)
        );
        assert_eq!(
            ChartLine::of_chart_label("kubecost-3.2.1"),
            Some(ChartLine::V3)
        );
        assert_eq!(ChartLine::of_chart_label("prometheus-25.0.0"), None);
    }

    #[test]
    fn a_release_moves_up_a_line_never_down() {
        let arn = "arn:aws:eks:us-east-2:111122223333:cluster/prod";
        assert_eq!(
            moving("1.103.3", "1.103.4", arn).unwrap(),
            Move::Upgrade(Vec::new())
        );
        let Move::Upgrade(notes) = moving("1.103.4", "2.8.7", arn).unwrap() else {
            panic!("1.x to 2.x is an upgrade")
        };
        assert!(notes[0].contains("aggregator replaces the federator"));
        let Move::Refused(reason) = moving("2.8.7", "1.103.4", arn).unwrap() else {
            panic!("2.x to 1.x is refused")
        };
        assert!(
            reason.contains("back to 1.x") && reason.contains(arn),
            "{reason}"
        );
    }

    #[test]
    fn pod_identity_needs_a_chart_whose_prometheus_can_use_it() {
        for (version, refused) in [
            ("1.103.4", Some("Prometheus 2.35 to 2.48")),
            ("2.4.2", Some("unpinned Prometheus image")),
            ("2.4.3", None),
            ("2.8.7", None),
        ] {
            let reason = pod_identity_refused(version).unwrap();
            match refused {
                Some(words) => assert!(reason.is_some_and(|r| r.contains(words)), "{version}"),
                None => assert_eq!(reason, None, "{version}"),
            }
        }
    }

    #[test]
    fn only_1x_agents_serve_a_ui() {
        assert!(ChartLine::V1.has_ui(ClusterRole::Agent));
        assert!(ChartLine::V2.has_ui(ClusterRole::Primary));
        assert!(!ChartLine::V2.has_ui(ClusterRole::Agent));
        assert!(ChartLine::V3.has_ui(ClusterRole::Primary));
        assert!(!ChartLine::V3.has_ui(ClusterRole::Agent));
    }

    #[test]
    fn kubecost_3_has_its_own_chart_files_and_service_account_and_no_amp() {
        let line = ChartLine::V3;
        assert_eq!(line.chart_ref(), "oci://public.ecr.aws/kubecost/kubecost");
        assert_eq!(ChartLine::V2.chart_ref(), CHART_REF);
        assert!(!line.uses_amp() && ChartLine::V2.uses_amp());
        assert_eq!(line.service_accounts(), [ServiceAccountKind::CostAnalyzer]);
        let files: Vec<&str> = line
            .values_templates(ClusterRole::Agent, true)
            .iter()
            .map(|(_, file)| *file)
            .collect();
        assert_eq!(
            files,
            [
                "1-eks-cost-monitoring.yaml",
                "3-agent.yaml",
                "4-overrides.yaml"
            ]
        );
        assert!(
            line.needs_bucket(false)
                .is_some_and(|r| r.contains("drop --quick-start"))
        );
        assert_eq!(line.needs_bucket(true), None);
        assert_eq!(ui_deployment("kubecost", line), "kubecost-frontend");
    }

    #[test]
    fn an_amp_release_and_a_kubecost_3_release_do_not_move_into_each_other_yet() {
        let arn = "arn:aws:eks:us-east-2:111122223333:cluster/prod";
        for (installed, wanted, words) in [
            ("2.8.7", "3.2.1", "not done by kcfed yet"),
            ("1.103.4", "3.2.1", "not done by kcfed yet"),
            ("3.2.1", "2.8.7", "back to 2.8.7"),
        ] {
            let Move::Refused(reason) = moving(installed, wanted, arn).unwrap() else {
                panic!("{installed} -> {wanted} is refused")
            };
            assert!(reason.contains(words), "{reason}");
        }
        assert_eq!(
            moving("3.1.0", "3.2.1", arn).unwrap(),
            Move::Upgrade(Vec::new())
        );
    }
}
