//! What the clusters of a fleet share: the account, the AMP workspace and the bucket, and the
//! names and policy documents built on them.

use super::identity::IdentityMode;
use crate::aws::{amp, eks};
use crate::chart;
use crate::error::Error;
use crate::names::{self, FleetNames, FleetPolicy, ServiceAccountKind, WorkspaceEndpoints, tags};
use crate::render::{Renderer, StoreLocation};

/// The fleet as the cluster installs see it.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub account_id: String,
    pub workspace_region: String,
    /// `None` until the workspace is created.
    pub workspace: Option<amp::Workspace>,
    pub store: Option<StoreLocation>,
    pub identity: IdentityMode,
    /// The chart version a new cluster gets without `--chart-version`: the primary's.
    pub chart_version: String,
}

impl Fleet {
    /// The fleet an existing workspace stands for, and its primary cluster's ARN: the bucket and
    /// the primary are in the workspace's tags.
    pub fn from_workspace(
        account_id: &str,
        workspace_region: &str,
        workspace: amp::Workspace,
    ) -> (Fleet, Option<String>) {
        let store = workspace.tags.get(tags::BUCKET).map(|bucket| {
            let region = workspace
                .tags
                .get(tags::BUCKET_REGION)
                .map_or(workspace_region, String::as_str);
            StoreLocation::new(bucket, region)
        });
        let primary = workspace.tags.get(tags::PRIMARY_CLUSTER).cloned();
        let identity = IdentityMode::of_workspace(&workspace.tags);
        let fleet = Fleet {
            account_id: account_id.to_owned(),
            workspace_region: workspace_region.to_owned(),
            chart_version: chart::fleet_chart_version(
                workspace.tags.get(tags::CHART_VERSION).map(String::as_str),
                identity == IdentityMode::PodIdentity,
            ),
            identity,
            workspace: Some(workspace),
            store,
        };
        (fleet, primary)
    }

    /// Whether the fleet keeps a member record (see `resources::member_record`): once it has
    /// used Pod Identity, whose clusters have no roles of their own to be found by.
    pub fn keeps_records(&self) -> bool {
        self.store.is_some()
            && (self.identity == IdentityMode::PodIdentity
                || self
                    .workspace
                    .as_ref()
                    .is_some_and(|ws| ws.tags.contains_key(tags::IDENTITY)))
    }

    pub fn workspace_id(&self) -> &str {
        self.workspace
            .as_ref()
            .map_or(crate::plan::NEW_WORKSPACE, |ws| &ws.id)
    }

    pub fn names(&self) -> FleetNames {
        FleetNames::new(
            &self.account_id,
            &self.workspace_region,
            self.workspace_id(),
        )
    }

    /// The role the pods of one service account of `cluster` act as, in the fleet account: the
    /// cluster's own IRSA role, or the fleet's shared Pod Identity role (its target role for a
    /// cluster of another account).
    pub fn acting_role_arn(&self, cluster: &eks::Cluster, kind: ServiceAccountKind) -> String {
        let names = self.names();
        match self.identity {
            IdentityMode::Irsa => names.role_arn(&self.role_name(cluster, kind)),
            IdentityMode::PodIdentity if cluster.account != self.account_id => {
                names.role_arn(&names.target_role_name(kind))
            }
            IdentityMode::PodIdentity => names.role_arn(&names.shared_role_name(kind)),
        }
    }

    /// The fleet-account IRSA role of one service account of `cluster`.
    pub fn role_name(&self, cluster: &eks::Cluster, kind: ServiceAccountKind) -> String {
        let other_account =
            (cluster.account != self.account_id).then_some(cluster.account.as_str());
        names::role_name(&cluster.name, &cluster.region, other_account, kind)
    }

    pub fn endpoints(&self) -> WorkspaceEndpoints {
        WorkspaceEndpoints::new(
            &self.account_id,
            &self.workspace_region,
            self.workspace_id(),
        )
    }

    /// The fleet's shared policies: AMP's while its clusters reach AMP (`amp`), the bucket's
    /// when it has one.
    pub fn policies(&self, amp: bool) -> Vec<FleetPolicy> {
        let mut policies = Vec::new();
        if amp {
            policies.extend([FleetPolicy::AmpQuery, FleetPolicy::AmpRemoteWrite]);
        }
        if self.store.is_some() {
            policies.push(FleetPolicy::FederatedStore);
        }
        policies
    }

    pub fn policy_document(
        &self,
        renderer: &Renderer,
        policy: FleetPolicy,
    ) -> Result<serde_json::Value, Error> {
        let workspace_arn = self.endpoints().arn;
        match (policy, &self.store) {
            (FleetPolicy::AmpQuery, _) => renderer.amp_query_policy(&workspace_arn),
            (FleetPolicy::AmpRemoteWrite, _) => renderer.amp_remote_write_policy(&workspace_arn),
            (FleetPolicy::FederatedStore, Some(store)) => renderer.federated_store_policy(store),
            (FleetPolicy::FederatedStore, None) => {
                unreachable!("quick-start fleets have no bucket")
            }
        }
    }
}
