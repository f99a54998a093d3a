//! What the clusters of a fleet share: the account, the AMP workspace and the bucket, and the
//! names and policy documents built on them.

use super::anchor::{Anchor, Found};
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
    /// The fleet's region: its workspace's, and the default bucket's.
    pub workspace_region: String,
    pub anchor: Anchor,
    pub store: Option<StoreLocation>,
    pub identity: IdentityMode,
    /// The chart version a new cluster gets without `--chart-version`: the primary's.
    pub chart_version: String,
}

impl Fleet {
    /// The fleet a lookup found, and its primary cluster's ARN: the bucket and the primary are
    /// in the record (a bucket that holds it is the fleet's bucket).
    pub fn from_found(
        account_id: &str,
        workspace_region: &str,
        found: Found,
    ) -> (Fleet, Option<String>) {
        let (anchor, anchor_bucket) = found.into_anchor();
        let record = anchor.record();
        let store = anchor_bucket.or_else(|| {
            record.get(tags::BUCKET).map(|bucket| {
                let region = record
                    .get(tags::BUCKET_REGION)
                    .map_or(workspace_region, String::as_str);
                StoreLocation::new(bucket, region)
            })
        });
        let primary = record.get(tags::PRIMARY_CLUSTER).cloned();
        let identity = IdentityMode::of_record(record);
        let fleet = Fleet {
            account_id: account_id.to_owned(),
            workspace_region: workspace_region.to_owned(),
            chart_version: chart::fleet_chart_version(
                record.get(tags::CHART_VERSION).map(String::as_str),
                identity == IdentityMode::PodIdentity,
            ),
            identity,
            anchor,
            store,
        };
        (fleet, primary)
    }

    /// Whether the fleet keeps a member record (see `resources::member_record`): once it has
    /// used Pod Identity, whose clusters have no roles of their own to be found by.
    pub fn keeps_records(&self) -> bool {
        self.store.is_some()
            && (self.identity == IdentityMode::PodIdentity
                || self.anchor.record().contains_key(tags::IDENTITY))
    }

    pub fn workspace(&self) -> Option<&amp::Workspace> {
        match &self.anchor {
            Anchor::Workspace(workspace) => workspace.as_ref(),
            Anchor::Bucket { .. } => None,
        }
    }

    /// Whether the fleet keeps its record on its bucket: it has no workspace, and its clusters
    /// reach no AMP.
    pub fn on_bucket(&self) -> bool {
        matches!(self.anchor, Anchor::Bucket { .. })
    }

    /// Whether the fleet's id is known: all but a new fleet whose workspace is still to make.
    pub fn has_id(&self) -> bool {
        !matches!(self.anchor, Anchor::Workspace(None))
    }

    /// The id that names the fleet's IAM objects and tags what it made.
    pub fn id(&self) -> &str {
        match &self.anchor {
            Anchor::Workspace(Some(workspace)) => &workspace.id,
            Anchor::Workspace(None) => crate::plan::NEW_WORKSPACE,
            Anchor::Bucket { id, .. } => id,
        }
    }

    /// A chart version whose line reaches AMP, asked of a fleet that has no workspace.
    pub fn no_workspace_for(&self, chart_version: &str) -> Error {
        Error::Usage {
            message: format!(
                "chart {chart_version} sends metrics to AMP, and fleet {} (Kubecost 3) has no AMP workspace",
                self.id()
            ),
            fix: format!(
                "install Kubecost 3 (--chart-version {}), as the fleet's other clusters run",
                chart::NEW_FLEET_CHART_VERSION
            ),
        }
    }

    pub fn names(&self) -> FleetNames {
        FleetNames::new(&self.account_id, &self.workspace_region, self.id())
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

    /// The workspace's endpoints; `None` for a fleet without one.
    pub fn endpoints(&self) -> Option<WorkspaceEndpoints> {
        (!self.on_bucket())
            .then(|| WorkspaceEndpoints::new(&self.account_id, &self.workspace_region, self.id()))
    }

    /// The fleet's shared policies: AMP's while its clusters reach AMP (`amp`), the bucket's
    /// when it has one.
    pub fn policies(&self, amp: bool) -> Vec<FleetPolicy> {
        let mut policies = Vec::new();
        if amp {
            policies.extend(FleetPolicy::AMP);
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
        let workspace_arn = || {
            self.endpoints()
                .map(|endpoints| endpoints.arn)
                .expect("AMP's grants are only planned for a fleet with a workspace")
        };
        match (policy, &self.store) {
            (FleetPolicy::AmpQuery, _) => renderer.amp_query_policy(&workspace_arn()),
            (FleetPolicy::AmpRemoteWrite, _) => renderer.amp_remote_write_policy(&workspace_arn()),
            (FleetPolicy::FederatedStore, Some(store)) => renderer.federated_store_policy(store),
            (FleetPolicy::FederatedStore, None) => {
                unreachable!("quick-start fleets have no bucket")
            }
        }
    }
}
