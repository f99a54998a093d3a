//! What a fleet and its clusters are made of, with ids and ARNs: the resources part of a report.

use serde::Serialize;

use super::shared::Fleet;
use super::target::Target;
use crate::chart::ClusterRole;
use crate::chart::{self, ChartLine};
use crate::helm;
use crate::names::{self, ServiceAccountKind, WorkspaceEndpoints};
use crate::render::StoreLocation;

/// What a fleet and its clusters are made of, with ids and ARNs, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub account_id: String,
    /// The id that names the fleet's IAM objects: its workspace's, or its bucket's. Added
    /// within v1.
    pub fleet_id: String,
    /// Absent for a fleet without an AMP workspace (Kubecost 3), added within v1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceEndpoints>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<StoreLocation>,
    pub clusters: Vec<ClusterResources>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterResources {
    pub name: String,
    pub cluster_id: String,
    pub arn: String,
    /// The account the cluster is in (its roles are in the fleet's).
    pub account: String,
    pub role: ClusterRole,
    pub service_account_roles: Vec<ServiceAccountRole>,
    /// The command that opens the cluster's Kubecost UI (when it has one).
    pub dashboard: String,
    /// Whether the release has a UI: 2.x agents only ship their data. Added within v1.
    pub ui: bool,
    /// Whether the release is installed after this run: the text names the dashboard only then.
    #[serde(skip)]
    pub installed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceAccountRole {
    pub service_account: String,
    pub role_arn: String,
}

impl std::fmt::Display for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.workspace {
            Some(workspace) => {
                writeln!(
                    f,
                    "AMP workspace {} in {} ({})",
                    workspace.id, workspace.region, workspace.arn
                )?;
                writeln!(f, "  remote write: {}", workspace.remote_write_url)?;
            }
            None => writeln!(f, "Fleet {} (no AMP workspace)", self.fleet_id)?,
        }
        if let Some(bucket) = &self.bucket {
            writeln!(
                f,
                "Federated bucket s3://{} in {}",
                bucket.bucket, bucket.region
            )?;
        }
        for (index, cluster) in self.clusters.iter().enumerate() {
            let role = match cluster.role {
                ClusterRole::Primary => "primary",
                ClusterRole::Agent => "agent",
            };
            write!(
                f,
                "Cluster {} ({role}, cluster id {})",
                cluster.name, cluster.cluster_id
            )?;
            for role in &cluster.service_account_roles {
                write!(f, "\n  {} -> {}", role.service_account, role.role_arn)?;
            }
            if cluster.ui && cluster.installed {
                write!(f, "\n  dashboard: {}", cluster.dashboard)?;
            }
            if index + 1 < self.clusters.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// What the fleet and the run's clusters are made of; `installed` says whether a cluster's
/// release is in place after the run.
pub fn summary(fleet: &Fleet, targets: &[Target], installed: &dyn Fn(&str) -> bool) -> Resources {
    Resources {
        account_id: fleet.account_id.clone(),
        fleet_id: fleet.id().to_owned(),
        workspace: fleet.endpoints(),
        bucket: fleet.store.clone(),
        clusters: targets
            .iter()
            .map(|target| ClusterResources {
                name: target.cluster.name.clone(),
                cluster_id: target.cluster_id.clone(),
                arn: target.cluster.arn.clone(),
                account: target.cluster.account.clone(),
                role: target.role,
                service_account_roles: target
                    .line()
                    .map_or(&ServiceAccountKind::ALL[..], ChartLine::service_accounts)
                    .iter()
                    .map(|&kind| ServiceAccountRole {
                        service_account: kind.service_account().to_owned(),
                        role_arn: fleet.acting_role_arn(&target.cluster, kind),
                    })
                    .collect(),
                dashboard: port_forward_hint(&target.release),
                ui: target.line().is_ok_and(|line| line.has_ui(target.role)),
                installed: installed(&target.cluster_id),
            })
            .collect(),
    }
}

/// `kubectl port-forward` line that opens the dashboard of a release.
pub fn port_forward_hint(release: &helm::Release) -> String {
    let context = release
        .kube_context
        .as_deref()
        .map(|c| format!(" --context {c}"))
        .unwrap_or_default();
    let forward = format!(
        "kubectl port-forward{context} --namespace {} deployment/{} {}",
        release.namespace,
        chart::ui_deployment(
            &release.name,
            ChartLine::of(&release.chart_version).unwrap_or(ChartLine::V2)
        ),
        chart::UI_PORT
    );
    // A cluster reached directly has no context of the user's yet; the CLI writes one.
    match release
        .kube_context
        .as_deref()
        .and_then(names::parse_eks_cluster_arn)
    {
        Some((region, _, name)) if release.direct => {
            format!("aws eks update-kubeconfig --name {name} --region {region} && {forward}")
        }
        _ => forward,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::{ACCOUNT, WORKSPACE, fleet, target};

    #[test]
    fn the_summary_names_each_clusters_roles_and_a_dashboard_only_where_there_is_a_ui() {
        let mut agent = target();
        agent.role = ClusterRole::Agent;
        agent.cluster_id = "edge".to_owned();
        agent.release.chart_version = "2.8.7".to_owned();
        let summary = summary(&fleet(), &[target(), agent], &|id| id == "prod");
        let [primary, agent] = &summary.clusters[..] else {
            panic!("two clusters: {summary:?}")
        };
        assert!(primary.ui && primary.installed);
        // A 2.x agent runs agentOnly: no UI, so the text names no dashboard for it.
        assert!(!agent.ui && !agent.installed);
        let arns: Vec<&str> = primary
            .service_account_roles
            .iter()
            .map(|role| role.role_arn.as_str())
            .collect();
        assert!(
            arns.iter()
                .all(|arn| arn
                    .starts_with(&format!("arn:aws:iam::{ACCOUNT}:role/kcfed/{WORKSPACE}/"))),
            "{arns:?}"
        );
        let text = summary.to_string();
        assert!(
            text.contains("dashboard: kubectl port-forward --context arn:aws:eks:us-east-2:111122223333:cluster/prod --namespace kubecost deployment/kubecost-cost-analyzer 9090"),
            "{text}"
        );
        assert_eq!(text.matches("dashboard:").count(), 1, "{text}");
    }
}
