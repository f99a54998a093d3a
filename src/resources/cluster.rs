//! One cluster's share of the fleet, read and planned together: its OIDC provider, its two
//! roles, its Kubernetes objects and its release.

use futures::future::try_join_all;

use super::op::{Op, Planned, cluster_step};
use super::roles::DesiredRole;
use super::{kube_objects, oidc, release, roles, storage};
use crate::aws::config::Clients;
use crate::aws::{iam, managed_tags};
use crate::chart::{self, ChartLine};
use crate::cluster_id;
use crate::error::Error;
use crate::fleet::{Fleet, Target};
use crate::helm;
use crate::names::{self, FleetPolicy, ServiceAccountKind, tags};
use crate::plan::{Action, ResourceKind, Step};
use crate::render::Renderer;

/// The roles and Kubernetes objects one cluster needs.
pub struct ClusterDesired {
    pub provider_arn: String,
    pub roles: Vec<DesiredRole>,
    pub objects: kube_objects::DesiredObjects,
}

/// What one cluster should have in this fleet.
pub fn desired(
    renderer: &Renderer,
    fleet: &Fleet,
    target: &Target,
) -> Result<ClusterDesired, Error> {
    let cluster = &target.cluster;
    let provider_arn =
        names::oidc_provider_arn(&fleet.account_id, &cluster.region, &cluster.oidc_issuer);
    let fleet_names = fleet.names();
    let roles = ServiceAccountKind::ALL
        .into_iter()
        .map(|kind| {
            let name = fleet.role_name(cluster, kind);
            let subject =
                names::service_account_subject(&target.release.namespace, kind.service_account());
            Ok(DesiredRole {
                kind,
                arn: fleet_names.role_arn(&name),
                trust: renderer.service_account_trust_policy(
                    &provider_arn,
                    &cluster.oidc_issuer,
                    &subject,
                )?,
                path: fleet_names.iam_path(),
                cluster_name: cluster.name.clone(),
                policies: FleetPolicy::for_service_account(kind, fleet.store.is_some()),
                tags: role_tags(fleet, target),
                name,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let objects = kube_objects::DesiredObjects {
        namespace: target.release.namespace.clone(),
        service_accounts: roles
            .iter()
            .map(|role| (role.kind.service_account().to_owned(), role.arn.clone()))
            .collect(),
        object_store: fleet
            .store
            .as_ref()
            .map(|store| renderer.object_store_config(store))
            .transpose()?,
    };
    Ok(ClusterDesired {
        provider_arn,
        roles,
        objects,
    })
}

/// A role's tags name its fleet and cluster, and the cluster's id where that is not its name
/// (a missing id tag means the name: roles made before ids were recorded need no change).
fn role_tags(fleet: &Fleet, target: &Target) -> Vec<(String, String)> {
    let mut pairs = vec![
        (tags::FLEET, fleet.workspace_id()),
        (tags::CLUSTER, target.cluster.arn.as_str()),
    ];
    if target.cluster_id != target.cluster.name {
        pairs.push((tags::CLUSTER_ID, target.cluster_id.as_str()));
    }
    managed_tags(&pairs)
}

/// What exists of one cluster's share: OIDC provider, roles, Kubernetes objects, release.
pub struct ObservedCluster {
    storage: storage::ObservedStorage,
    provider: Option<iam::OidcProvider>,
    roles: Vec<Option<iam::Role>>,
    objects: kube_objects::ObservedObjects,
    release: Option<helm::Installed>,
    /// Whether `--cloud-integration-secret` names a secret that exists; `None` without it.
    cloud_secret: Option<bool>,
    /// What the chart's own install gate would refuse (see `chart::blocking_workloads`).
    blocking: Vec<String>,
}

/// Reads one cluster's share. What is read depends on names only, never on the bucket's
/// region, so it can run beside the bucket check.
pub async fn observe(
    clients: &Clients,
    fleet: &Fleet,
    target: &Target,
    kube_client: &::kube::Client,
    helm_path: &std::path::Path,
    renderer: &Renderer,
) -> Result<ObservedCluster, Error> {
    let desired = desired(renderer, fleet, target)?;
    let namespace = &target.release.namespace;
    let line = ChartLine::of(&target.release.chart_version)?;
    let (storage, provider, roles, objects, release, cloud_secret, blocking) = tokio::try_join!(
        storage::observe_storage(kube_client),
        iam::get_oidc_provider(&clients.iam, &desired.provider_arn),
        try_join_all(
            desired
                .roles
                .iter()
                .map(|role| iam::get_role(&clients.iam, &role.name))
        ),
        kube_objects::observe(kube_client, &desired.objects),
        helm::installed(helm_path, &target.release),
        async {
            match &target.cloud_integration_secret {
                Some(name) => kube_objects::secret_exists(kube_client, namespace, name)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        chart::blocking_workloads(kube_client, namespace, line),
    )?;
    Ok(ObservedCluster {
        storage,
        provider,
        roles,
        objects,
        release,
        cloud_secret,
        blocking,
    })
}

/// Plans one cluster from what exists of it; `index` is the cluster's place among the targets.
/// The reads are named by names alone, so a plan made again once a new workspace has its id
/// uses the same reads.
pub fn plan(
    fleet: &Fleet,
    target: &Target,
    index: usize,
    observed: &ObservedCluster,
    renderer: &Renderer,
) -> Result<Vec<Planned>, Error> {
    let scope = target.scope();
    let desired = desired(renderer, fleet, target)?;
    let step = |step: Step, op: Op| cluster_step(step, op, index);
    // The prerequisites first: a missing one stops the plan before anything changes.
    let wanted_class = target.storage_class.as_deref();
    let mut steps: Vec<Planned> =
        storage::plan(scope, &target.cluster.name, wanted_class, &observed.storage)
            .into_iter()
            .map(|prerequisite| step(prerequisite, Op::Nothing))
            .collect();
    if let (Some(name), Some(exists)) = (&target.cloud_integration_secret, observed.cloud_secret) {
        let secret = cloud_integration_step(scope, &target.release.namespace, name, exists);
        steps.push(step(secret, Op::Nothing));
    }
    let (provider_step, provider) = oidc::plan(
        scope,
        &target.cluster,
        &desired.provider_arn,
        observed.provider.as_ref(),
    );
    steps.push(step(provider_step, provider.into()));
    let recorded_ids: Vec<String> = observed
        .roles
        .iter()
        .flatten()
        .filter_map(|role| role.tags.get(tags::CLUSTER_ID).cloned())
        .collect();
    let release_cluster_id = observed
        .release
        .as_ref()
        .and_then(helm::Installed::cluster_id);
    for (role_step, change) in roles::plan(scope, fleet, &desired.roles, &observed.roles) {
        steps.push(step(role_step, change.into()));
    }
    for (object_step, object) in kube_objects::plan(scope, &desired.objects, &observed.objects) {
        steps.push(step(object_step, object.into()));
    }
    let (mut release_step, mut install) =
        release::plan(scope, fleet, target, observed.release.clone(), renderer)?;
    if let Some(reason) = id_change_refused(target, &recorded_ids, release_cluster_id.as_deref()) {
        release_step.action = Action::Conflict;
        release_step.details.push(reason);
        install = None;
    }
    // The chart's own gate, read ahead: it would fail the install midway.
    if !observed.blocking.is_empty() && release_step.action.changes_something() {
        release_step.action = Action::Conflict;
        let reason = chart::blocked(&observed.blocking, &target.release.namespace);
        release_step.details.push(reason);
        install = None;
    }
    steps.push(step(release_step, install.into()));
    Ok(steps)
}

/// Why the cluster must not take the id this run gives it: it writes its data under another
/// (recorded on its roles, or in its release), or it shares its id with another cluster and
/// keeps doing so.
fn id_change_refused(
    target: &Target,
    recorded_ids: &[String],
    running: Option<&str>,
) -> Option<String> {
    let recorded = recorded_ids.first().map(String::as_str);
    let current = recorded.or(running).unwrap_or(&target.cluster.name);
    match &target.id_shared_with {
        // Its data is mixed with the other's already: a new id of its own only helps.
        Some(_) if current != target.cluster_id => None,
        Some(other) => Some(format!(
            "cluster id {current} is also the id of {other}: their metrics and ETL files overwrite each other. Give this cluster an id of its own with --cluster-id (its history under {current} stays mixed)"
        )),
        None => {
            cluster_id::change_refused(&target.cluster.arn, &target.cluster_id, recorded, running)
        }
    }
}

/// The user's cloud integration secret: read, never written; the chart looks it up at install.
fn cloud_integration_step(scope: &str, namespace: &str, name: &str, exists: bool) -> Step {
    let step = Step::new(
        scope,
        ResourceKind::Secret,
        format!("{namespace}/{name}"),
        if exists {
            Action::Exists
        } else {
            Action::Conflict
        },
    );
    if exists {
        step.with_detail("your cloud integration secret: turns on Cloud Costs")
    } else {
        step.with_detail(format!(
            "--cloud-integration-secret names a secret that is not there: create it in {namespace} as Kubecost's cloud integration guide says (key cloud-integration.json), then run again"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::{fleet, target};

    #[test]
    fn a_new_cluster_plans_every_kind_in_order_for_its_target() {
        let (fleet, target, renderer) = (fleet(), target(), Renderer::new());
        let observed = ObservedCluster {
            storage: storage::ObservedStorage {
                csi_drivers: vec!["ebs.csi.aws.com".to_owned()],
                storage_classes: vec![("gp2".to_owned(), "ebs.csi.aws.com".to_owned(), true)],
            },
            provider: None,
            roles: vec![None, None],
            objects: kube_objects::ObservedObjects::default(),
            release: None,
            cloud_secret: None,
            blocking: Vec::new(),
        };
        let planned = plan(&fleet, &target, 3, &observed, &renderer).unwrap();
        let kinds: Vec<_> = planned.iter().map(|p| p.step.kind).collect();
        assert_eq!(
            kinds,
            [
                ResourceKind::StorageDriver,
                ResourceKind::StorageClass,
                ResourceKind::OidcProvider,
                ResourceKind::IamRole,
                ResourceKind::IamRole,
                ResourceKind::Namespace,
                ResourceKind::ServiceAccount,
                ResourceKind::ServiceAccount,
                ResourceKind::Secret,
                ResourceKind::HelmRelease,
            ]
        );
        assert!(
            planned
                .iter()
                .all(|p| p.target == Some(3) && p.step.scope == "prod")
        );
        let (prerequisites, changes) = planned.split_at(2);
        assert!(
            prerequisites
                .iter()
                .all(|p| p.step.action == Action::Exists)
        );
        assert!(
            changes.iter().all(|p| p.step.action == Action::Create),
            "{planned:?}"
        );
    }
}
