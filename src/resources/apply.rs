//! Applies planned steps, whichever command planned them: each op carries what it needs, so
//! applying one is a call to its kind. The one stage table orders kinds for building a fleet
//! and for tearing it down.
//!
//! A new fleet's workspace id names its policies, role paths and endpoints, and is known only
//! once the workspace exists: the plan shown names them as pending. Once the workspace is made,
//! the plan is made again from the same reads, and every later step applies its counterpart
//! there (same run, same position), whose op carries the real names. The steps that depend on
//! the id wait for the workspace (`needs_from_fleet`); the others run beside its creation.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use super::op::{Op, Planned};
use super::{
    bucket, kube_objects, member_record, oidc, pod_identity, policies, release, roles,
    shared_roles, workload, workspace,
};
use crate::aws::accounts::Accounts;
use crate::aws::config::Clients;
use crate::aws::{amp, eks, iam, s3};
use crate::engine::run::{ClusterPlan, Executor, FleetView};
use crate::error::Error;
use crate::fleet::{Anchor, Fleet, Resources, Target};
use crate::helm;
use crate::kube::KubeClients;
use crate::plan::{Action, ResourceKind, Step};

/// A plan: the fleet's steps and each cluster's.
pub type Replanned = (Vec<Planned>, Vec<ClusterPlan<Op>>);

/// Plans the fleet's and clusters' steps again once a new workspace exists.
pub type Replan<'a> = Box<dyn Fn(&Fleet) -> Result<Replanned, Error> + 'a>;

/// The plan made again, each run's steps in the order they run: the fleet's, and each
/// cluster's by its target.
struct Rebound {
    fleet: Vec<Planned>,
    clusters: Vec<Vec<Planned>>,
}

/// Whether a run builds a fleet (and its clusters) or tears it down: the stage table's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Build,
    Teardown,
}

/// Applies planned steps in order.
pub struct Applier<'a> {
    /// Every account's clients: the fleet's, and those of the clusters' other accounts (their
    /// Pod Identity roles and associations).
    pub accounts: &'a Accounts,
    pub clients: &'a Clients,
    /// AMP in the workspace's region.
    pub amp: aws_sdk_amp::Client,
    pub helm: PathBuf,
    pub timeout: Duration,
    pub kube_clients: KubeClients,
    pub direction: Direction,
    /// The fleet and the clusters the run installs, for the report; `None` for a teardown.
    pub installs: Option<(Fleet, Vec<Target>)>,
    /// How a plan made before its workspace existed is made again.
    pub replan: Option<Replan<'a>>,
    /// The workspace this run created.
    created: OnceLock<amp::Workspace>,
    /// The plan made again once the workspace exists.
    rebound: OnceLock<Rebound>,
}

impl<'a> Applier<'a> {
    pub fn new(
        accounts: &'a Accounts,
        amp: aws_sdk_amp::Client,
        helm: PathBuf,
        timeout: Duration,
        kube_clients: KubeClients,
        direction: Direction,
    ) -> Self {
        Self {
            accounts,
            clients: accounts.fleet(),
            amp,
            helm,
            timeout,
            kube_clients,
            direction,
            installs: None,
            replan: None,
            created: OnceLock::new(),
            rebound: OnceLock::new(),
        }
    }

    /// The fleet as it is now: with the workspace once this run created it.
    fn fleet(&self) -> Option<Fleet> {
        let (fleet, _) = self.installs.as_ref()?;
        let mut fleet = fleet.clone();
        if let Some(created) = self.created.get() {
            fleet.anchor = Anchor::Workspace(Some(created.clone()));
        }
        Some(fleet)
    }

    /// The IAM client of the account a role is in (a Pod Identity fleet's roles are in every
    /// account with clusters).
    fn iam_of(&self, role_arn: &str) -> &aws_sdk_iam::Client {
        &self
            .accounts
            .clients(shared_roles::role_account(role_arn))
            .iam
    }

    async fn kube_client(&self, item: &Planned) -> Result<::kube::Client, Error> {
        let index = item
            .target
            .expect("the plan puts Kubernetes steps in a cluster");
        self.kube_clients.get(index).await
    }

    /// Plans again with the workspace just made, each run's steps in the order they run.
    fn rebind(&self, replan: &Replan<'_>) -> Result<Rebound, Error> {
        let fleet = self
            .fleet()
            .expect("a run that creates a workspace installs");
        let (mut fleet_steps, clusters) = replan(&fleet)?;
        let by_stage = |steps: &mut Vec<Planned>| steps.sort_by_key(|item| self.stage(&item.step));
        by_stage(&mut fleet_steps);
        let clusters = clusters
            .into_iter()
            .map(|cluster| {
                let mut steps = cluster.planned?;
                by_stage(&mut steps);
                Ok(steps)
            })
            .collect::<Result<_, Error>>()?;
        Ok(Rebound {
            fleet: fleet_steps,
            clusters,
        })
    }

    /// The step to apply for `item`: its counterpart in the plan made again, once there is one.
    fn bound<'p>(&'p self, item: &'p Planned, position: usize) -> Result<&'p Planned, Error> {
        let Some(rebound) = self.rebound.get() else {
            if self.replan.is_some() && built_on_workspace(item.step.kind) {
                unreachable!("a step named from a new workspace's id waits for the workspace");
            }
            return Ok(item);
        };
        let steps = match item.target {
            None => &rebound.fleet,
            Some(target) => &rebound.clusters[target],
        };
        match steps.get(position) {
            Some(again) if again.step.kind == item.step.kind => Ok(again),
            _ => Err(Error::Conflict {
                resource: format!("{} {}", item.step.kind_label(), item.step.name),
                reason: "planned again with the new workspace's id, the plan differs".to_owned(),
                fix:
                    "run the command again: the workspace exists now, and the plan is made with it"
                        .to_owned(),
            }),
        }
    }
}

impl Executor for Applier<'_> {
    type Op = Op;
    type Resources = Resources;

    fn stage(&self, step: &Step) -> u8 {
        let (build, teardown) = stages(step.kind);
        match self.direction {
            // What a build removes (what a cluster used before it moved) goes once the
            // release runs without it.
            Direction::Build if step.action == Action::Delete => LAST_BUILD_STAGE + 2,
            Direction::Build => build,
            Direction::Teardown => teardown,
        }
    }

    fn needs_from_fleet(&self, step: &Step) -> &'static [ResourceKind] {
        needs_from_fleet(step.kind)
    }

    fn applied_step(&self, item: &Planned, position: usize) -> Step {
        match self.bound(item, position) {
            Ok(bound) => Step {
                account: item.step.account.clone(),
                ..bound.step.clone()
            },
            Err(_) => item.step.clone(),
        }
    }

    async fn execute(
        &self,
        item: &Planned,
        position: usize,
        fleet_view: FleetView<'_>,
    ) -> Result<(), Error> {
        let item = self.bound(item, position)?;
        let iam_client = &self.clients.iam;
        match &item.op {
            Op::Nothing => Ok(()),
            Op::CreateWorkspace {
                alias,
                client_token,
                tags,
            } => {
                let created = workspace::create(&self.amp, alias, client_token, tags).await?;
                self.created.set(created).ok();
                if let Some(replan) = &self.replan {
                    self.rebound.set(self.rebind(replan)?).ok();
                }
                Ok(())
            }
            Op::TagWorkspace { workspace, tags } => {
                amp::tag(&self.amp, workspace, tags.clone()).await
            }
            Op::Bucket(change) => bucket::apply(self.clients, change).await,
            Op::Policy(change) => policies::apply(iam_client, change).await,
            Op::OidcProvider(change) => oidc::apply(iam_client, change).await,
            Op::Role(change) => {
                roles::apply(self.iam_of(&change.role.arn), change, fleet_view).await
            }
            Op::Association(change) => {
                let location = &change.location;
                let eks = self
                    .accounts
                    .clients(&location.account)
                    .eks_in(&location.region);
                pod_identity::apply(&eks, change, fleet_view).await
            }
            Op::Record(change) => {
                member_record::apply(&self.clients.s3_in(&change.store.region), change).await
            }
            Op::DeleteAssociation(association) => {
                let location = &association.location;
                let eks = self
                    .accounts
                    .clients(&location.account)
                    .eks_in(&location.region);
                eks::delete_association(&eks, &association.cluster, &association.id).await
            }
            Op::Kube(object) => kube_objects::apply(&self.kube_client(item).await?, object).await,
            Op::Restart(restart) => workload::apply(&self.kube_client(item).await?, restart).await,
            Op::Helm(install) => release::apply(&self.helm, &self.amp, self.timeout, install).await,
            Op::Uninstall(release) => helm::uninstall(&self.helm, release).await,
            Op::DeleteKube(object) => {
                kube_objects::delete(&self.kube_client(item).await?, object).await
            }
            Op::DeleteRole(role) => iam::delete_role(self.iam_of(&role.arn), role).await,
            Op::DeleteOidcProvider(arn) => iam::delete_oidc_provider(iam_client, arn).await,
            Op::DeletePolicy(arn) => iam::delete_policy(iam_client, arn).await,
            Op::DeleteBucket(store) => {
                let client = self.clients.s3_in(&store.region);
                // The TLS-only policy goes first: it would refuse the object calls of an
                // endpoint reached without TLS, and the bucket is going anyway.
                s3::delete_policy(&client, &store.bucket).await?;
                s3::empty_and_delete(&client, &store.bucket).await
            }
            Op::DeleteWorkspace(id) => amp::delete(&self.amp, id).await,
        }
    }

    /// What the run made for a cluster before it met a quota is taken back: its OIDC provider,
    /// roles and namespace (made beside the roles). What lives in the namespace comes after the
    /// roles and has not started; the fleet's workspace, bucket and policies serve every cluster.
    async fn undo(&self, item: &Planned, position: usize) -> Result<bool, Error> {
        let item = self.bound(item, position)?;
        match &item.op {
            Op::Kube(object) if item.step.action == Action::Create => {
                kube_objects::undo(&self.kube_client(item).await?, object).await
            }
            Op::OidcProvider(change) => oidc::undo(&self.clients.iam, change).await,
            Op::Role(change) => roles::undo(self.iam_of(&change.role.arn), change).await,
            _ => Ok(false),
        }
    }

    fn resources(&self, installed: &dyn Fn(&str) -> bool) -> Option<Resources> {
        let fleet = self.fleet()?;
        let (_, targets) = self.installs.as_ref()?;
        Some(crate::fleet::summary(&fleet, targets, installed))
    }

    fn cluster_finished(&self, target: usize) {
        self.kube_clients.close(target);
    }
}

/// The stage of each kind: building (a step runs once the earlier stages of its own run are
/// done) and tearing down.
///
/// Building: the OIDC provider first, alone in its cluster's first stage: it is what an IRSA
/// fleet's account runs out of first, and a provider refused at a quota leaves none of the
/// cluster made. It exists before a role trusts it, the namespace before what lives in it;
/// everything comes before the release. Tearing down: the release before the objects and roles
/// it uses; the namespace after what lives in it; the OIDC provider before the roles (a rerun
/// finds a cluster by its roles); the workspace after the policies and the bucket. The storage
/// prerequisites and the Pod Identity agent add-on are the cluster's own: only checked, never
/// built or torn down. A cluster's member record is written first and removed last, so an
/// interrupted run leaves a cluster that `cleanup` still finds. A Pod Identity association is
/// made beside the service account it names, and goes after the release that uses it.
fn stages(kind: ResourceKind) -> (u8, u8) {
    match kind {
        ResourceKind::StorageDriver | ResourceKind::StorageClass | ResourceKind::EksAddon => (0, 0),
        // A teardown removes what holds the fleet's record last (the workspace, else the
        // bucket), once everything found through it is gone: a cleanup cut short runs again.
        ResourceKind::AmpWorkspace => (0, 4),
        ResourceKind::OidcProvider => (0, 1),
        ResourceKind::FleetMember => (0, 3),
        ResourceKind::S3Bucket => (1, 3),
        ResourceKind::IamPolicy => (1, 0),
        ResourceKind::Namespace => (1, 2),
        ResourceKind::IamRole => (1, 2),
        ResourceKind::ServiceAccount | ResourceKind::Secret => (2, 1),
        ResourceKind::PodIdentityAssociation => (2, 1),
        ResourceKind::HelmRelease => (LAST_BUILD_STAGE, 0),
        // Once the release is upgraded; never part of a teardown.
        ResourceKind::Workload => (LAST_BUILD_STAGE + 1, 0),
    }
}

/// The release's stage: the last of a build.
const LAST_BUILD_STAGE: u8 = 3;

/// Whether a kind's op holds names or documents built on the workspace id (role paths and
/// ARNs, policy names and documents, the fleet tag, the endpoints in the values).
fn built_on_workspace(kind: ResourceKind) -> bool {
    match kind {
        ResourceKind::S3Bucket
        | ResourceKind::IamPolicy
        | ResourceKind::IamRole
        | ResourceKind::PodIdentityAssociation
        | ResourceKind::FleetMember
        | ResourceKind::ServiceAccount
        | ResourceKind::HelmRelease => true,
        ResourceKind::AmpWorkspace
        | ResourceKind::EksAddon
        | ResourceKind::Workload
        | ResourceKind::OidcProvider
        | ResourceKind::Namespace
        | ResourceKind::Secret
        | ResourceKind::StorageDriver
        | ResourceKind::StorageClass => false,
    }
}

/// What a cluster's step waits for from the fleet while both are built. What is named from
/// the workspace id waits for the workspace; a role waits for the policies only to attach them
/// (midway: see `roles::apply`); the release needs all of it.
fn needs_from_fleet(kind: ResourceKind) -> &'static [ResourceKind] {
    match kind {
        ResourceKind::HelmRelease => &[
            ResourceKind::AmpWorkspace,
            ResourceKind::S3Bucket,
            ResourceKind::IamPolicy,
        ],
        ResourceKind::IamRole | ResourceKind::ServiceAccount | ResourceKind::FleetMember => {
            &[ResourceKind::AmpWorkspace]
        }
        // Its roles are the fleet's (see `pod_identity::apply`).
        ResourceKind::PodIdentityAssociation => &[ResourceKind::AmpWorkspace],
        ResourceKind::OidcProvider
        | ResourceKind::EksAddon
        | ResourceKind::Workload
        | ResourceKind::Namespace
        | ResourceKind::Secret
        | ResourceKind::StorageDriver
        | ResourceKind::StorageClass
        | ResourceKind::AmpWorkspace
        | ResourceKind::S3Bucket
        | ResourceKind::IamPolicy => &[],
    }
}
