//! The resources kcfed provisions, one file per kind: what it should be, how it is read, how
//! what exists turns into plan steps (pure functions), and how a step is applied. This file
//! holds what every kind shares: the operations, the applier that dispatches them, and the
//! per-kind tables (stage, what a kind waits for from the fleet) as exhaustive matches, so a
//! new kind cannot be forgotten in one of them.
//!
//! Kubernetes objects (namespace, service accounts, secret) are planned and applied by
//! `crate::kube`, which knows their shape.

pub mod bucket;
pub mod cluster;
pub mod kube_objects;
pub mod oidc;
pub mod policies;
pub mod release;
pub mod roles;
pub mod storage;
pub mod workspace;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::aws::config::Clients;
use crate::aws::{amp, iam};
use crate::cli::ClusterRole;
use crate::engine::run::{self as engine, Executor, FleetView};
use crate::error::Error;
use crate::fleet::{
    ClusterResources, Fleet, Resources, ServiceAccountRole, Target, port_forward_hint,
};
use crate::kube::KubeClients;
use crate::names::{ChartLine, FleetPolicy, ServiceAccountKind};
use crate::plan::{NEW_WORKSPACE, ResourceKind, Step};
use crate::render::{Renderer, StoreLocation};

pub use bucket::BucketChanges;
pub use roles::RoleChanges;

/// What one step will do when applied. Names and documents that depend on the workspace id are
/// computed again at apply time, once a new workspace has its id.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Nothing,
    CreateWorkspace { alias: String, client_token: String },
    TagWorkspace,
    Bucket(BucketChanges),
    Policy { policy: FleetPolicy, create: bool },
    OidcProvider { create: bool },
    Role(RoleChanges),
    Kube,
    Helm,
}

/// What deleting one resource takes (`cleanup`).
#[derive(Debug, Clone)]
pub enum CleanupOp {
    Nothing,
    Uninstall,
    Kube,
    DeleteRole(iam::Role),
    DeleteOidcProvider(String),
    DeletePolicy(String),
    DeleteBucket(StoreLocation),
    DeleteWorkspace(String),
}

/// A provisioning step with what it takes to apply it.
pub type Planned = engine::Planned<Op>;

pub(crate) fn fleet_step(step: Step, op: Op) -> Planned {
    Planned {
        step,
        op,
        target: None,
    }
}

pub(crate) fn tags_missing(have: &HashMap<String, String>, want: &[(String, String)]) -> bool {
    want.iter().any(|(key, value)| have.get(key) != Some(value))
}

/// Applies planned steps in order. Holds the fleet, which learns its workspace id when the
/// workspace is created.
pub struct Applier<'a> {
    pub clients: &'a Clients,
    /// AMP in the workspace's region.
    pub amp: aws_sdk_amp::Client,
    pub renderer: &'a Renderer,
    pub helm: PathBuf,
    pub timeout: Duration,
    pub fleet: Fleet,
    pub targets: Vec<Target>,
    pub kube_clients: KubeClients,
    /// Tags the workspace gets when created or re-tagged.
    pub workspace_tags: Vec<(String, String)>,
    /// The fleet once its new workspace exists.
    pub created_fleet: std::sync::OnceLock<Fleet>,
    pub desired: cluster::DesiredStates,
}

impl Applier<'_> {
    /// The fleet, with the workspace once it exists.
    fn fleet(&self) -> &Fleet {
        self.created_fleet.get().unwrap_or(&self.fleet)
    }

    /// The step with the workspace placeholder replaced by the real id, once known.
    fn resolve(&self, step: &Step) -> Step {
        let fleet = self.fleet();
        let id = fleet.workspace_id();
        let mut step = step.clone();
        step.name = step.name.replace(NEW_WORKSPACE, id);
        step.id = step.id.map(|value| value.replace(NEW_WORKSPACE, id));
        if step.kind == ResourceKind::AmpWorkspace {
            step.id = Some(id.to_owned());
        }
        step
    }

    async fn apply_step(&self, item: &Planned, fleet_view: FleetView<'_>) -> Result<(), Error> {
        let fleet = self.fleet();
        let iam_client = &self.clients.iam;
        let target = item.target.map(|index| (index, &self.targets[index]));
        let in_cluster = || target.expect("the plan puts cluster kinds in a cluster");
        match &item.op {
            Op::Nothing => Ok(()),
            Op::CreateWorkspace {
                alias,
                client_token,
            } => {
                let created =
                    workspace::create(&self.amp, alias, client_token, &self.workspace_tags).await?;
                let fleet = Fleet {
                    workspace: Some(created),
                    ..self.fleet.clone()
                };
                self.created_fleet.set(fleet).ok();
                Ok(())
            }
            Op::TagWorkspace => {
                let existing = fleet.workspace.as_ref().expect("a tagged workspace exists");
                amp::tag(&self.amp, existing, self.workspace_tags.clone()).await
            }
            Op::Bucket(changes) => bucket::apply(self.clients, self.renderer, fleet, changes).await,
            Op::Policy { policy, create } => {
                policies::apply(self.clients, self.renderer, fleet, *policy, *create).await
            }
            Op::OidcProvider { create } => {
                let (index, target) = in_cluster();
                let desired = self.desired.get(index, self.renderer, fleet, target)?;
                oidc::apply(iam_client, &target.cluster, &desired.provider_arn, *create).await
            }
            Op::Role(changes) => {
                let (index, target) = in_cluster();
                let desired = self.desired.get(index, self.renderer, fleet, target)?;
                let role = desired
                    .roles
                    .iter()
                    .find(|r| r.kind == changes.kind)
                    .expect("both roles are desired");
                let name = &target.cluster.name;
                roles::apply(iam_client, fleet, name, role, changes, fleet_view).await
            }
            Op::Kube => {
                let (index, target) = in_cluster();
                let kube_client = self.kube_clients.get(index, &target.release).await?;
                let desired = self.desired.get(index, self.renderer, fleet, target)?;
                kube_objects::apply(&kube_client, &desired.objects, &item.step).await
            }
            Op::Helm => {
                let (_, target) = in_cluster();
                release::apply(
                    &self.helm,
                    &self.amp,
                    self.timeout,
                    fleet,
                    target,
                    self.renderer,
                )
                .await
            }
        }
    }
}

impl Applier<'_> {
    fn fleet_resources(&self, installed: &dyn Fn(&str) -> bool) -> Resources {
        let fleet = self.fleet();
        let names = fleet.names();
        Resources {
            account_id: fleet.account_id.clone(),
            workspace: fleet.endpoints(),
            bucket: fleet.store.clone(),
            clusters: self
                .targets
                .iter()
                .map(|target| ClusterResources {
                    name: target.cluster.name.clone(),
                    cluster_id: target.cluster_id.clone(),
                    arn: target.cluster.arn.clone(),
                    account: target.cluster.account.clone(),
                    role: target.role,
                    service_account_roles: ServiceAccountKind::ALL
                        .into_iter()
                        .map(|kind| ServiceAccountRole {
                            service_account: kind.service_account().to_owned(),
                            role_arn: names.role_arn(&fleet.role_name(&target.cluster, kind)),
                        })
                        .collect(),
                    dashboard: port_forward_hint(&target.release),
                    // 2.x agents run `agentOnly`: no frontend to open.
                    ui: !(target.role == ClusterRole::Agent
                        && ChartLine::of(&target.release.chart_version).ok()
                            == Some(ChartLine::V2)),
                    installed: installed(&target.cluster_id),
                })
                .collect(),
        }
    }
}

impl Executor for Applier<'_> {
    type Op = Op;
    type Resources = Resources;

    fn stage(&self, step: &Step) -> u8 {
        stage(step.kind)
    }

    fn needs_from_fleet(&self, step: &Step) -> &'static [ResourceKind] {
        needs_from_fleet(step.kind)
    }

    async fn execute(&self, item: &Planned, fleet: FleetView<'_>) -> Result<(), Error> {
        self.apply_step(item, fleet).await
    }

    fn resolved(&self, step: &Step) -> Step {
        self.resolve(step)
    }

    fn resources(&self, installed: &dyn Fn(&str) -> bool) -> Option<Resources> {
        Some(self.fleet_resources(installed))
    }

    fn cluster_finished(&self, target: usize) {
        self.kube_clients.close(target);
    }
}

/// When a step can run within its own run (the fleet's, or one cluster's): the workspace id
/// names the policies, the role paths and the bucket's fleet tag, and the workspace's own tags say
/// kcfed made the bucket before it exists; the OIDC provider exists before a role trusts it, the
/// namespace before what lives in it; everything comes before the release.
fn stage(kind: ResourceKind) -> u8 {
    match kind {
        ResourceKind::AmpWorkspace
        | ResourceKind::OidcProvider
        | ResourceKind::Namespace
        | ResourceKind::StorageDriver
        | ResourceKind::StorageClass => 0,
        ResourceKind::S3Bucket
        | ResourceKind::IamPolicy
        | ResourceKind::IamRole
        | ResourceKind::ServiceAccount
        | ResourceKind::Secret => 1,
        ResourceKind::HelmRelease => 2,
    }
}

/// What a cluster's step waits for from the fleet. A role is made once the workspace id is
/// known and waits for the policies only to attach them; the service accounts name the roles,
/// whose paths hold the workspace id; the release needs all of it.
fn needs_from_fleet(kind: ResourceKind) -> &'static [ResourceKind] {
    match kind {
        ResourceKind::IamRole | ResourceKind::ServiceAccount => &[ResourceKind::AmpWorkspace],
        ResourceKind::HelmRelease => &[
            ResourceKind::AmpWorkspace,
            ResourceKind::S3Bucket,
            ResourceKind::IamPolicy,
        ],
        // The provider trusts the cluster's issuer, the objects in the namespace name no role;
        // the fleet's own kinds never wait for the fleet.
        ResourceKind::OidcProvider
        | ResourceKind::Namespace
        | ResourceKind::Secret
        | ResourceKind::StorageDriver
        | ResourceKind::StorageClass
        | ResourceKind::AmpWorkspace
        | ResourceKind::S3Bucket
        | ResourceKind::IamPolicy => &[],
    }
}

/// A fleet and a cluster to plan for, without AWS: the middle rung of the test ladder.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::aws::{amp, eks};
    use crate::cli::ClusterRole;
    use crate::fleet::{Fleet, Target};
    use crate::helm;
    use crate::names::CHART_REF;
    use crate::render::StoreLocation;

    pub const ACCOUNT: &str = "111122223333";
    pub const REGION: &str = "us-east-2";
    pub const WORKSPACE: &str = "ws-12345678-abcd-1234-abcd-123456789012";

    /// A federated fleet whose workspace exists.
    pub fn fleet() -> Fleet {
        Fleet {
            account_id: ACCOUNT.to_owned(),
            workspace_region: REGION.to_owned(),
            workspace: Some(amp::Workspace {
                id: WORKSPACE.to_owned(),
                alias: Some("kubecost-amp".to_owned()),
                arn: format!("arn:aws:aps:{REGION}:{ACCOUNT}:workspace/{WORKSPACE}"),
                active: true,
                created_at: 0,
                tags: Default::default(),
                prometheus_endpoint: None,
            }),
            store: Some(StoreLocation::new("kcfed-etl", REGION)),
        }
    }

    /// The primary cluster `prod`.
    pub fn target() -> Target {
        let arn = format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod");
        Target {
            role: ClusterRole::Primary,
            cluster: eks::Cluster {
                name: "prod".to_owned(),
                arn: arn.clone(),
                region: REGION.to_owned(),
                account: ACCOUNT.to_owned(),
                oidc_issuer: format!("https://oidc.eks.{REGION}.amazonaws.com/id/ABCDEF0123456789"),
                endpoint: None,
                certificate_authority: None,
            },
            cluster_id: "prod".to_owned(),
            id_shared_with: None,
            release: helm::Release {
                name: "kubecost".to_owned(),
                namespace: "kubecost".to_owned(),
                chart: CHART_REF.to_owned(),
                chart_version: "1.103.4".to_owned(),
                kube_context: Some(arn),
                kubeconfig: None,
                direct: false,
                timeout_secs: 600,
            },
            storage_class: None,
            user_values: Vec::new(),
            cloud_integration_secret: None,
        }
    }
}
