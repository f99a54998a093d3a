//! One cluster's share of the fleet, read and planned together: its OIDC provider, its two
//! roles, its Kubernetes objects and its release.

use futures::future::try_join_all;

use super::roles::DesiredRole;
use super::{Op, Planned, oidc, release, roles};
use crate::aws::config::Clients;
use crate::aws::{iam, managed_tags};
use crate::error::Error;
use crate::fleet::{Fleet, Target};
use crate::helm;
use crate::kube;
use crate::names::{self, FleetPolicy, ServiceAccountKind, tags};
use crate::render::Renderer;

/// The roles and Kubernetes objects one cluster needs.
pub struct ClusterDesired {
    pub provider_arn: String,
    pub roles: Vec<DesiredRole>,
    pub objects: kube::DesiredObjects,
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
            let name = names::role_name(&cluster.name, &cluster.region, kind);
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
                policies: FleetPolicy::for_service_account(kind, fleet.store.is_some()),
                tags: managed_tags(&[
                    (tags::FLEET, fleet.workspace_id()),
                    (tags::CLUSTER, &cluster.arn),
                ]),
                name,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let objects = kube::DesiredObjects {
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

/// What exists of one cluster's share: OIDC provider, roles, Kubernetes objects, release.
pub struct ObservedCluster {
    provider: Option<iam::OidcProvider>,
    roles: Vec<Option<iam::Role>>,
    objects: kube::ObservedObjects,
    release: Option<helm::Installed>,
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
    let (provider, roles, objects, release) = tokio::try_join!(
        iam::get_oidc_provider(&clients.iam, &desired.provider_arn),
        try_join_all(
            desired
                .roles
                .iter()
                .map(|role| iam::get_role(&clients.iam, &role.name))
        ),
        kube::observe(kube_client, &desired.objects),
        helm::installed(helm_path, &target.release),
    )?;
    Ok(ObservedCluster {
        provider,
        roles,
        objects,
        release,
    })
}

/// Plans one cluster from what exists of it; `index` is the cluster's place among the targets.
pub fn plan(
    fleet: &Fleet,
    target: &Target,
    index: usize,
    observed: ObservedCluster,
    renderer: &Renderer,
) -> Result<Vec<Planned>, Error> {
    let desired = desired(renderer, fleet, target)?;
    let scope = target.scope();
    let ObservedCluster {
        provider,
        roles,
        objects,
        release,
    } = observed;
    let mut steps = vec![oidc::plan(
        scope,
        &target.cluster,
        &desired.provider_arn,
        provider.as_ref(),
    )];
    steps.extend(roles::plan(scope, fleet, &desired.roles, roles));
    steps.extend(
        kube::plan_steps(scope, &desired.objects, &objects)
            .into_iter()
            .map(|step| {
                let op = if step.action.changes_something() {
                    Op::Kube
                } else {
                    Op::Nothing
                };
                (step, op)
            }),
    );
    steps.push(release::plan(scope, fleet, target, release, renderer)?);
    Ok(steps
        .into_iter()
        .map(|(step, op)| Planned {
            step,
            op,
            target: Some(index),
        })
        .collect())
}
