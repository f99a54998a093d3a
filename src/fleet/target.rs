//! One cluster as a run installs it: where it is, its id in the fleet, its release.

use crate::aws::eks;
use crate::chart::{ChartLine, ClusterRole};
use crate::error::Error;
use crate::helm;

/// One cluster to install Kubecost on.
#[derive(Debug, Clone)]
pub struct Target {
    pub role: ClusterRole,
    pub cluster: eks::Cluster,
    /// What the cluster is called in the fleet's data (`cluster_id`, the ETL prefix).
    pub cluster_id: String,
    /// Another cluster of the fleet that already writes under the same id (a fleet made
    /// before ids were unique): its ARN.
    pub id_shared_with: Option<String>,
    pub release: helm::Release,
    /// `--storage-class`: the class every volume of the chart uses, else the cluster's default.
    pub storage_class: Option<String>,
    /// `--values`: the user's own values files, applied after the EKS defaults and before the
    /// settings the fleet depends on.
    pub user_values: Vec<crate::render::ValuesFile>,
    /// `--cloud-integration-secret` (the primary only): the user's secret that turns on
    /// Kubecost's Cloud Costs view; it must exist before the install.
    pub cloud_integration_secret: Option<String>,
}

impl Target {
    /// Plans name a cluster's steps by its id: same-named clusters stay apart.
    pub fn scope(&self) -> &str {
        &self.cluster_id
    }

    /// The chart line of the version the run installs.
    pub fn line(&self) -> Result<ChartLine, Error> {
        ChartLine::of(&self.release.chart_version)
    }
}
