//! The lines of the cost-analyzer chart kcfed installs, and everything that differs between
//! them: which versions make a line, the values templates a release of the line is rendered
//! from, the moves between lines, the chart's own install gate (read ahead), and what an agent
//! of the line serves. A new chart line is a variant here plus its values templates.

use crate::error::Error;
use crate::names::ServiceAccountKind;

/// The chart version a new fleet gets without `--chart-version`: the newest line kcfed installs
/// end to end. A macro so `--version` can embed it with `concat!`.
#[macro_export]
macro_rules! new_fleet_chart_version {
    () => {
        "3.2.1"
    };
}
pub const NEW_FLEET_CHART_VERSION: &str = new_fleet_chart_version!();
/// A new fleet without a bucket (`--quick-start`) gets the newest AMP line: Kubecost 3 needs one.
pub const NEW_AMP_FLEET_CHART_VERSION: &str = "2.8.7";
/// A fleet made before kcfed recorded its chart version ran kcfed's default of the time, 1.103.4;
/// a Pod Identity fleet cannot run 1.x, so it ran a 2.x version kcfed was given: 2.8.7.
const UNRECORDED_FLEET_CHART_VERSION: &str = "1.103.4";
const UNRECORDED_POD_IDENTITY_FLEET_CHART_VERSION: &str = "2.8.7";
/// The chart of the 1.x and 2.x lines.
pub const CHART_REF: &str = "oci://public.ecr.aws/kubecost/cost-analyzer";
/// The chart of the 3.x line, which is named `kubecost`.
pub const CHART_REF_3: &str = "oci://public.ecr.aws/kubecost/kubecost";

/// The chart versions kcfed's tests install, one per minor line it knows well.
const TESTED_VERSIONS: &[&str] = &["1.103.4", "2.4.2", "2.8.7", "2.9.7", "3.2.1"];
/// The 2.x release a 1.x release moves to first (its tests move 1.103.4 to it).
const LAST_2X_VERSION: &str = "2.8.7";
/// The 2.9 release an AMP fleet's clusters run on their way to 3.x.
pub const BRIDGE_VERSION: &str = "2.9.7";

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
/// differ (1.x: federator; 2.x: aggregator; 2.9: the 2.x chart with the FinOps agent beside
/// AMP, the step to 3.x; 3.x: no AMP, the FinOps agent writes every cluster's data to the
/// bucket and the aggregator reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum ChartLine {
    #[serde(rename = "1")]
    V1,
    #[serde(rename = "2")]
    V2,
    #[serde(rename = "2.9")]
    Bridge,
    #[serde(rename = "3")]
    V3,
}

impl ChartLine {
    /// The line of `version`: 1.103-1.108, 2.4-2.8, 2.9 or 3.0-3.2, the releases whose values
    /// kcfed knows (its tests install 1.103.4, 2.4.2, 2.8.7, 2.9.7 and 3.2.1); the rest are
    /// refused with the reason.
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
            (2, 9) => Ok(ChartLine::Bridge),
            (3, 0..=2) => Ok(ChartLine::V3),
            (1, _) => refused(
                "kcfed knows cost-analyzer 1.103 to 1.108 (the 1.x line ends at 1.108.1); use 1.108.1, or 2.8.7",
            ),
            (2, 0..=3) => refused(
                "kcfed knows the 2.x values of 2.4 to 2.8 (its tests install 2.4.2 and 2.8.7); use 2.8.7",
            ),
            (2, _) => {
                refused("the 2.x line ends at 2.9, the step to Kubecost 3; use 2.9.7, or 3.2.1")
            }
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
            ChartLine::V1 | ChartLine::V2 | ChartLine::Bridge => CHART_REF,
            ChartLine::V3 => CHART_REF_3,
        }
    }

    /// The chart's name, as its releases' chart label starts.
    pub fn chart_name(self) -> &'static str {
        match self {
            ChartLine::V1 | ChartLine::V2 | ChartLine::Bridge => "cost-analyzer",
            ChartLine::V3 => "kubecost",
        }
    }

    /// Whether the line reaches AMP: 3.x has no Prometheus of its own and reads every
    /// cluster's data from the bucket.
    pub fn uses_amp(self) -> bool {
        self != ChartLine::V3
    }

    /// The service accounts a release of the line runs its AWS-calling pods as: 3.x runs the
    /// FinOps agent, the aggregator and cloud-cost as one, whose only AWS access is the bucket;
    /// 2.9 runs its FinOps agent as the cost-analyzer's, which has that access already.
    pub fn service_accounts(self) -> &'static [ServiceAccountKind] {
        match self {
            ChartLine::V1 | ChartLine::V2 | ChartLine::Bridge => &ServiceAccountKind::ALL,
            ChartLine::V3 => &[ServiceAccountKind::CostAnalyzer],
        }
    }

    /// The service accounts kcfed makes for other lines that a release of this line does not
    /// run: what a cluster moved to it leaves (3.x has no Prometheus).
    pub fn retired_service_accounts(self) -> impl Iterator<Item = ServiceAccountKind> {
        ServiceAccountKind::ALL
            .into_iter()
            .filter(move |kind| !self.service_accounts().contains(kind))
    }

    /// The template of Kubecost's EKS defaults for the line: every release's first values file.
    pub fn eks_values(self) -> &'static str {
        match self {
            ChartLine::V1 => "values-eks-cost-monitoring.yaml",
            ChartLine::V2 | ChartLine::Bridge => "values-eks-cost-monitoring-2.x.yaml",
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
            ChartLine::V1 | ChartLine::V2 | ChartLine::Bridge => {
                ("values-overrides.yaml.j2", "4-overrides.yaml")
            }
            ChartLine::V3 => ("values-overrides-3.x.yaml.j2", "4-overrides.yaml"),
        });
        templates
    }

    /// The template of a cluster's part in the fleet, and the file it renders to: 1.x in
    /// federated fleets only (federator on the primary); 2.x agents always, the primary in
    /// federated fleets (the aggregator reads the bucket), with 2.9's FinOps agent in the same
    /// files. A quick-start primary needs none: the default single-pod aggregator reads AMP for
    /// every cluster.
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
            (ChartLine::V2 | ChartLine::Bridge, ClusterRole::Primary) if federated => Some((
                "values-primary-aggregator.yaml.j2",
                "3-primary-aggregator.yaml",
            )),
            (ChartLine::V2 | ChartLine::Bridge, ClusterRole::Agent) => {
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

    /// Whether a release of the line in this role serves Kubecost's UI: 2.x (and 2.9) agents run
    /// `agentOnly` and 3.x agents only the FinOps agent; both only ship their data.
    pub fn has_ui(self, role: ClusterRole) -> bool {
        self == ChartLine::V1 || role == ClusterRole::Primary
    }

    /// Why a release of the line needs the fleet's bucket, if it does: 3.x clusters share
    /// their data only through it, and 2.9's FinOps agent writes there.
    pub fn needs_bucket(self) -> Option<&'static str> {
        match self {
            ChartLine::V3 => Some(
                "Kubecost 3 has no AMP: its clusters share their data only through the federated bucket",
            ),
            ChartLine::Bridge => {
                Some("2.9 runs the FinOps agent, which writes to the federated bucket")
            }
            ChartLine::V1 | ChartLine::V2 => None,
        }
    }
}

/// The chart version a fleet's new clusters get without `--chart-version`: what it recorded, else
/// the version it ran before kcfed recorded one (`pod_identity`: the fleet uses Pod Identity).
pub fn fleet_chart_version(recorded: Option<&str>, pod_identity: bool) -> String {
    match recorded {
        Some(version) => version.to_owned(),
        None if pod_identity => UNRECORDED_POD_IDENTITY_FLEET_CHART_VERSION.to_owned(),
        None => UNRECORDED_FLEET_CHART_VERSION.to_owned(),
    }
}

/// The chart version of a cluster's release: `--chart-version`; else the version the release
/// runs, when kcfed knows its line, so a rerun without the flag never moves a cluster; else the
/// fleet's.
pub fn version_to_install(asked: Option<&str>, installed: Option<&str>, fleet: &str) -> String {
    asked
        .or(installed.filter(|version| ChartLine::of(version).is_ok()))
        .unwrap_or(fleet)
        .to_owned()
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
        ChartLine::V2 | ChartLine::Bridge | ChartLine::V3 => None,
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

/// Moving a release of `cluster_arn` from `installed` to `wanted` (both versions). A line is
/// never left downwards except from the bridge; a move that skips a line is refused with the
/// cluster's path, one run per step.
pub fn moving(installed: &str, wanted: &str, cluster_arn: &str) -> Result<Move, Error> {
    let (from, to) = (ChartLine::of(installed).ok(), ChartLine::of(wanted)?);
    let path = |through: &[&str]| {
        let steps: Vec<&str> = [installed]
            .into_iter()
            .chain(through.iter().copied())
            .chain([wanted])
            .collect();
        format!(
            "its path is {}: run again with --chart-version {} first (README, \"Moving to Kubecost 3\")",
            steps.join(" -> "),
            through[0]
        )
    };
    let back = |to_line: &str| {
        Move::Refused(format!(
            "chart {installed} is installed: kcfed does not move a release back to {to_line}; keep --chart-version {installed}, or remove it first with `kcfed cleanup --cluster {cluster_arn}`"
        ))
    };
    Ok(match (from, to) {
        // A newer line's data and settings have no older form, and helm would leave a
        // half-configured release behind. 2.9 is 2.x with the FinOps agent beside it.
        (Some(ChartLine::V2 | ChartLine::Bridge), ChartLine::V1) => back("1.x"),
        (Some(ChartLine::V3), ChartLine::V1 | ChartLine::V2 | ChartLine::Bridge) => back("2.x"),
        (Some(ChartLine::V1), ChartLine::V2) => Move::Upgrade(vec![
            "1.x to 2.x: the aggregator replaces the federator (README, \"Kubecost 2.x\")"
                .to_owned(),
        ]),
        (Some(ChartLine::V1), ChartLine::Bridge) => Move::Refused(path(&[LAST_2X_VERSION])),
        (Some(ChartLine::V1), ChartLine::V3) => {
            Move::Refused(path(&[LAST_2X_VERSION, BRIDGE_VERSION]))
        }
        // 3.x reads only what the FinOps agent wrote: it must have run a while first.
        (Some(ChartLine::V2), ChartLine::V3) => Move::Refused(path(&[BRIDGE_VERSION])),
        (Some(ChartLine::V2), ChartLine::Bridge) => Move::Upgrade(vec![
            "2.x to 2.9: the FinOps agent starts writing this cluster's data to the bucket beside AMP; give it two days before 3.x so 3.x has whole days (README, \"Moving to Kubecost 3\")".to_owned(),
        ]),
        (Some(ChartLine::Bridge), ChartLine::V2) => Move::Upgrade(vec![
            "2.9 back to 2.x: the FinOps agent stops; AMP carries on as before".to_owned(),
        ]),
        (Some(ChartLine::Bridge), ChartLine::V3) => Move::Upgrade(vec![
            "2.9 to 3.x: helm removes the cost-analyzer and the Prometheus server with its volume; nothing needs deleting first (the aggregator StatefulSet carries over); the cluster's metrics stay in the fleet's AMP workspace and its ETL files in the bucket (README, \"Moving to Kubecost 3\")".to_owned(),
        ]),
        _ => Move::Upgrade(Vec::new()),
    })
}

/// What the chart's own install gate would refuse, read ahead: the 2.x chart (2.9 too) fails to
/// install while a 1.x aggregator StatefulSet is in the namespace. `stateful_sets` are the
/// namespace's, by name and `helm.sh/chart` label; the ones in the way are named.
pub fn blocking_workloads<'a>(
    stateful_sets: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    line: ChartLine,
) -> Vec<String> {
    if !matches!(line, ChartLine::V2 | ChartLine::Bridge) {
        return Vec::new();
    }
    stateful_sets
        .into_iter()
        .filter(|(name, chart)| {
            name.contains("aggregator")
                && chart.is_some_and(|chart| chart.starts_with("cost-analyzer-1."))
        })
        .map(|(name, _)| name.to_owned())
        .collect()
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
        ChartLine::V1 | ChartLine::V2 | ChartLine::Bridge => format!("{release}-cost-analyzer"),
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
        assert_eq!(ChartLine::of("2.9.7").unwrap(), ChartLine::Bridge);
        assert_eq!(ChartLine::of("3.0.1").unwrap(), ChartLine::V3);
        assert_eq!(ChartLine::of("3.2.1").unwrap(), ChartLine::V3);
        for (bad, reason) in [
            ("1.99.0", "1.103 to 1.108"),
            ("2.3.0", "2.4 to 2.8"),
            ("2.10.0", "ends at 2.9"),
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
    fn a_release_keeps_its_version_unless_asked_and_a_new_one_takes_the_fleets() {
        assert_eq!(
            version_to_install(Some("3.2.1"), Some("2.8.7"), "2.8.7"),
            "3.2.1"
        );
        assert_eq!(version_to_install(None, Some("2.8.7"), "3.2.1"), "2.8.7");
        // A version kcfed does not know is moved from, to the fleet's.
        assert_eq!(version_to_install(None, Some("2.3.0"), "2.8.7"), "2.8.7");
        assert_eq!(version_to_install(None, None, "3.2.1"), "3.2.1");
        assert_eq!(fleet_chart_version(Some("3.2.1"), false), "3.2.1");
        assert_eq!(fleet_chart_version(None, false), "1.103.4");
        assert_eq!(fleet_chart_version(None, true), "2.8.7");
        for version in [NEW_FLEET_CHART_VERSION, NEW_AMP_FLEET_CHART_VERSION] {
            assert!(TESTED_VERSIONS.contains(&version), "{version}");
        }
        assert_eq!(
            ChartLine::of(NEW_FLEET_CHART_VERSION).unwrap(),
            ChartLine::V3
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
        assert!(
            line.retired_service_accounts()
                .eq([ServiceAccountKind::PrometheusServer])
        );
        assert_eq!(ChartLine::V2.retired_service_accounts().count(), 0);
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
        assert!(line.needs_bucket().is_some_and(|r| r.contains("no AMP")));
        assert_eq!(ChartLine::V2.needs_bucket(), None);
        assert_eq!(ui_deployment("kubecost", line), "kubecost-frontend");
    }

    #[test]
    fn an_amp_release_moves_to_kubecost_3_through_2_9_one_step_a_run_and_never_back() {
        let arn = "arn:aws:eks:us-east-2:111122223333:cluster/prod";
        for (installed, wanted, words) in [
            (
                "2.8.7",
                "3.2.1",
                "its path is 2.8.7 -> 2.9.7 -> 3.2.1: run again with --chart-version 2.9.7 first",
            ),
            (
                "1.103.4",
                "3.2.1",
                "its path is 1.103.4 -> 2.8.7 -> 2.9.7 -> 3.2.1: run again with --chart-version 2.8.7 first",
            ),
            ("1.103.4", "2.9.7", "its path is 1.103.4 -> 2.8.7 -> 2.9.7"),
            ("3.2.1", "2.9.7", "back to 2.x"),
            ("3.2.1", "2.8.7", "back to 2.x"),
            ("2.9.7", "1.103.4", "back to 1.x"),
        ] {
            let Move::Refused(reason) = moving(installed, wanted, arn).unwrap() else {
                panic!("{installed} -> {wanted} is refused")
            };
            assert!(reason.contains(words), "{reason}");
        }
        for (installed, wanted, words) in [
            ("2.8.7", "2.9.7", "FinOps agent starts writing"),
            ("2.9.7", "3.2.1", "nothing needs deleting first"),
            ("2.9.7", "2.8.7", "FinOps agent stops"),
        ] {
            let Move::Upgrade(notes) = moving(installed, wanted, arn).unwrap() else {
                panic!("{installed} -> {wanted} is an upgrade")
            };
            assert!(notes[0].contains(words), "{notes:?}");
        }
        assert_eq!(
            moving("3.1.0", "3.2.1", arn).unwrap(),
            Move::Upgrade(Vec::new())
        );
    }

    #[test]
    fn a_1x_aggregator_blocks_2x_and_the_bridge_only() {
        let sets = [
            ("kubecost-aggregator", Some("cost-analyzer-1.108.1")),
            ("kubecost-aggregator-2", Some("cost-analyzer-2.8.7")),
            ("other", Some("cost-analyzer-1.108.1")),
            ("unlabelled-aggregator", None),
        ];
        for line in [ChartLine::V2, ChartLine::Bridge] {
            assert_eq!(blocking_workloads(sets, line), ["kubecost-aggregator"]);
        }
        for line in [ChartLine::V1, ChartLine::V3] {
            assert!(blocking_workloads(sets, line).is_empty());
        }
    }

    #[test]
    fn the_bridge_is_2x_with_a_bucket() {
        let line = ChartLine::Bridge;
        assert_eq!(line.chart_ref(), CHART_REF);
        assert!(line.uses_amp() && line.has_ui(ClusterRole::Primary));
        assert!(!line.has_ui(ClusterRole::Agent));
        assert!(
            line.needs_bucket()
                .is_some_and(|r| r.contains("FinOps agent"))
        );
        assert_eq!(
            line.values_templates(ClusterRole::Agent, true),
            ChartLine::V2.values_templates(ClusterRole::Agent, true)
        );
    }
}
