//! One cluster's share of the fleet, read and planned together: in an IRSA fleet its OIDC
//! provider and its two roles, in a Pod Identity fleet its associations (and the agent they
//! need); its Kubernetes objects and its release.

use futures::future::try_join_all;

use super::irsa_remains::{self, IrsaRemains};
use super::member_record::{self, FleetMembers, MemberRecord};
use super::op::{Op, Planned, cluster_step};
use super::roles::DesiredRole;
use super::{kube_objects, oidc, pod_identity, release, roles, storage, workload};
use crate::aws::config::Clients;
use crate::aws::{eks, iam, managed_tags};
use crate::chart;
use crate::cluster_id;
use crate::error::Error;
use crate::fleet::{Fleet, IdentityMode, Target};
use crate::helm;
use crate::names::{self, FleetPolicy, tags};
use crate::plan::{Action, ResourceKind, Step};
use crate::render::Renderer;

/// What one cluster needs: IRSA's provider and roles, or Pod Identity's associations; and its
/// Kubernetes objects.
pub struct ClusterDesired {
    /// The cluster's OIDC provider in the fleet account (IRSA only).
    pub provider_arn: Option<String>,
    pub roles: Vec<DesiredRole>,
    pub associations: Vec<eks::Association>,
    pub objects: kube_objects::DesiredObjects,
}

/// What one cluster should have in this fleet.
pub fn desired(
    renderer: &Renderer,
    fleet: &Fleet,
    target: &Target,
) -> Result<ClusterDesired, Error> {
    let object_store = fleet
        .store
        .as_ref()
        .map(|store| renderer.object_store_config(store))
        .transpose()?;
    let line = target.line()?;
    if fleet.identity == IdentityMode::PodIdentity {
        return Ok(ClusterDesired {
            provider_arn: None,
            roles: Vec::new(),
            associations: pod_identity::desired(fleet, target, line),
            objects: kube_objects::DesiredObjects {
                namespace: target.release.namespace.clone(),
                service_accounts: line
                    .service_accounts()
                    .iter()
                    .map(|kind| (kind.service_account().to_owned(), None))
                    .collect(),
                object_store,
            },
        });
    }
    let cluster = &target.cluster;
    let provider_arn =
        names::oidc_provider_arn(&fleet.account_id, &cluster.region, &cluster.oidc_issuer);
    let fleet_names = fleet.names();
    let roles = line
        .service_accounts()
        .iter()
        .map(|&kind| {
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
                description: format!(
                    "Kubecost {} on EKS cluster {} (made by kcfed)",
                    kind.service_account(),
                    cluster.name
                ),
                inline: None,
                policies: FleetPolicy::for_service_account(
                    kind,
                    fleet.store.is_some(),
                    line.uses_amp(),
                ),
                tags: role_tags(fleet, target),
                name,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let objects = kube_objects::DesiredObjects {
        namespace: target.release.namespace.clone(),
        service_accounts: roles
            .iter()
            .map(|role| {
                (
                    role.kind.service_account().to_owned(),
                    Some(role.arn.clone()),
                )
            })
            .collect(),
        object_store,
    };
    Ok(ClusterDesired {
        provider_arn: Some(provider_arn),
        roles,
        associations: Vec::new(),
        objects,
    })
}

/// A role's tags name its fleet and cluster, and the cluster's id where that is not its name
/// (a missing id tag means the name: roles made before ids were recorded need no change).
fn role_tags(fleet: &Fleet, target: &Target) -> Vec<(String, String)> {
    let mut pairs = vec![
        (tags::FLEET, fleet.id()),
        (tags::CLUSTER, target.cluster.arn.as_str()),
    ];
    if target.cluster_id != target.cluster.name {
        pairs.push((tags::CLUSTER_ID, target.cluster_id.as_str()));
    }
    managed_tags(&pairs)
}

/// What exists of one cluster's share: OIDC provider and roles (IRSA) or associations and agent
/// (Pod Identity), Kubernetes objects, release.
#[derive(Clone)]
pub struct ObservedCluster {
    storage: storage::ObservedStorage,
    provider: Option<iam::OidcProvider>,
    roles: Vec<Option<iam::Role>>,
    pod_identity: Option<pod_identity::ObservedPodIdentity>,
    /// The keys of the cluster's member record (Pod Identity fleets).
    records: Vec<String>,
    /// The namespace's workloads, restarted when the cluster changes mode.
    workloads: Vec<workload::Workload>,
    /// What IRSA left of a cluster of a Pod Identity fleet.
    irsa_remains: IrsaRemains,
    /// kcfed's service accounts of kinds the cluster's chart line no longer runs (Kubecost 3
    /// has no Prometheus), removed once the release has moved.
    retired_accounts: Vec<String>,
    objects: kube_objects::ObservedObjects,
    release: Option<helm::Installed>,
    /// Whether `--cloud-integration-secret` names a secret that exists; `None` without it.
    cloud_secret: Option<bool>,
}

/// How one cluster is read: with its clients, and its release's `helm list` entry when the
/// command read it already (to choose the chart version).
pub struct Reading<'a> {
    pub clients: &'a Clients,
    /// The cluster's own account and region, where its associations are.
    pub eks: &'a aws_sdk_eks::Client,
    pub kube_client: &'a ::kube::Client,
    pub helm_path: &'a std::path::Path,
    pub listing: helm::Listing,
}

/// Reads one cluster's share. What is read depends on names only, never on the bucket's
/// region, so it can run beside the bucket check.
pub async fn observe(
    Reading {
        clients,
        eks,
        kube_client,
        helm_path,
        listing,
    }: Reading<'_>,
    fleet: &Fleet,
    target: &Target,
    renderer: &Renderer,
) -> Result<ObservedCluster, Error> {
    let desired = desired(renderer, fleet, target)?;
    let namespace = &target.release.namespace;
    let retired: Vec<&str> = target
        .line()?
        .retired_service_accounts()
        .map(names::ServiceAccountKind::service_account)
        .collect();
    let (
        (storage, provider, roles, pod_identity, objects),
        (release, cloud_secret, workloads, retired_accounts),
    ) = tokio::try_join!(
        async {
            tokio::try_join!(
                storage::observe_storage(kube_client),
                async {
                    match &desired.provider_arn {
                        Some(arn) => iam::get_oidc_provider(&clients.iam, arn).await,
                        None => Ok(None),
                    }
                },
                try_join_all(
                    desired
                        .roles
                        .iter()
                        .map(|role| iam::get_role(&clients.iam, &role.name))
                ),
                async {
                    match fleet.identity {
                        IdentityMode::PodIdentity => {
                            pod_identity::observe(eks, target, &desired.associations)
                                .await
                                .map(Some)
                        }
                        IdentityMode::Irsa => Ok(None),
                    }
                },
                kube_objects::observe(kube_client, &desired.objects),
            )
        },
        async {
            tokio::try_join!(
                helm::installed(helm_path, &target.release, listing),
                async {
                    match &target.cloud_integration_secret {
                        Some(name) => kube_objects::secret_exists(kube_client, namespace, name)
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                },
                workload::observe(kube_client, namespace),
                kube_objects::made_service_accounts(kube_client, namespace, &retired),
            )
        },
    )?;
    Ok(ObservedCluster {
        storage,
        provider,
        roles,
        pod_identity,
        records: Vec::new(),
        workloads,
        irsa_remains: IrsaRemains::default(),
        retired_accounts,
        objects,
        release,
        cloud_secret,
    })
}

impl ObservedCluster {
    /// What the run read of the fleet's members once for every cluster, for this one: the
    /// keys of its member record and the IRSA roles it no longer uses (read only when it still
    /// has such roles): in a Pod Identity fleet all of them and the providers they trust, in an
    /// IRSA fleet those of the service accounts its chart line does not run.
    pub async fn with_members(
        mut self,
        iam_client: &aws_sdk_iam::Client,
        fleet: &Fleet,
        known: &FleetMembers,
        target: &Target,
    ) -> Result<Self, Error> {
        let arn = &target.cluster.arn;
        self.records = member_record::of_cluster(&known.record_keys, arn)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let own = known.irsa_roles_of(arn);
        self.irsa_remains = match fleet.identity {
            IdentityMode::PodIdentity => {
                irsa_remains::observe(iam_client, &own, &known.trust).await?
            }
            IdentityMode::Irsa => {
                let retired: Vec<String> = target
                    .line()?
                    .retired_service_accounts()
                    .map(|kind| fleet.role_name(&target.cluster, kind))
                    .filter(|name| own.contains(name))
                    .collect();
                irsa_remains::observe_roles(iam_client, &retired).await?
            }
        };
        Ok(self)
    }
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
    if let Some(observed_identity) = &observed.pod_identity {
        let agent = pod_identity::plan_agent(scope, target, observed_identity.agent);
        steps.push(step(agent, Op::Nothing));
        if let Some(store) = &fleet.store {
            let record = MemberRecord {
                arn: target.cluster.arn.clone(),
                id: target.cluster_id.clone(),
                identity: fleet.identity,
            };
            let existing: Vec<&str> = observed.records.iter().map(String::as_str).collect();
            let (record_step, change) = member_record::plan(scope, store, &record, &existing);
            steps.push(step(record_step, change.into()));
        }
        let associations = pod_identity::plan(
            scope,
            target,
            &desired.associations,
            &observed_identity.associations,
        );
        for (association_step, change) in associations {
            steps.push(step(association_step, change.into()));
        }
    }
    if let Some(provider_arn) = &desired.provider_arn {
        let (provider_step, provider) = oidc::plan(
            scope,
            &target.cluster,
            provider_arn,
            observed.provider.as_ref(),
        );
        steps.push(step(provider_step, provider.into()));
    }
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
    let line = target.line()?;
    let blocking = chart::blocking_workloads(workload::stateful_sets(&observed.workloads), line);
    if !blocking.is_empty() && release_step.action.changes_something() {
        release_step.action = Action::Conflict;
        let reason = chart::blocked(&blocking, &target.release.namespace);
        release_step.details.push(reason);
        install = None;
    }
    steps.push(step(release_step, install.into()));
    // A cluster changing mode restarts its pods, which take their credentials when they start.
    // A Pod Identity cluster that still has IRSA roles has not finished its move (a run stopped
    // between its service accounts and the restarts): its pods not yet stamped restart too.
    let moving = kube_objects::changes_mode(&desired.objects, &observed.objects)
        || (fleet.identity == IdentityMode::PodIdentity && observed.irsa_remains.has_roles());
    let accounts: Vec<&str> = desired
        .objects
        .service_accounts
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let restarts = workload::plan(
        scope,
        &observed.workloads,
        &accounts,
        fleet.identity,
        moving,
    );
    for (restart_step, restart) in restarts {
        steps.push(step(restart_step, restart.into()));
    }
    // Once its pods run with Pod Identity, the cluster's IRSA roles and provider go; once it
    // runs Kubecost 3, the role of its Prometheus, which 3.x does not have.
    let no_prometheus = format!(
        "chart {} runs no Prometheus of its own",
        target.release.chart_version
    );
    let why_removed = match fleet.identity {
        IdentityMode::PodIdentity => "left from IRSA".to_owned(),
        IdentityMode::Irsa => no_prometheus.clone(),
    };
    for (removal, op) in irsa_remains::plan(scope, &observed.irsa_remains) {
        steps.push(step(removal.with_detail(why_removed.clone()), op));
    }
    if let Some(observed_identity) = &observed.pod_identity {
        let location = pod_identity::ClusterLocation {
            account: target.cluster.account.clone(),
            region: target.cluster.region.clone(),
        };
        let retired = pod_identity::plan_cleanup(scope, &location, &observed_identity.retired);
        for (removal, delete) in retired {
            steps.push(step(
                removal.with_detail(no_prometheus.clone()),
                delete.into(),
            ));
        }
    }
    for name in &observed.retired_accounts {
        let (named, object) = kube_objects::service_account_ref(&target.release.namespace, name);
        let removal = Step::new(scope, ResourceKind::ServiceAccount, named, Action::Delete);
        let op = Op::DeleteKube(object);
        steps.push(step(removal.with_detail(no_prometheus.clone()), op));
    }
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
    use crate::resources::fixtures::{fleet, pod_identity_fleet, target};

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
            pod_identity: None,
            records: Vec::new(),
            workloads: Vec::new(),
            irsa_remains: IrsaRemains::default(),
            retired_accounts: Vec::new(),
            objects: kube_objects::ObservedObjects::default(),
            release: None,
            cloud_secret: None,
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

    #[test]
    fn a_pod_identity_cluster_plans_the_agent_its_record_and_associations_and_no_iam() {
        let fleet = pod_identity_fleet();
        let (target, renderer) = (target(), Renderer::new());
        let desired = desired(&renderer, &fleet, &target).unwrap();
        assert!(desired.provider_arn.is_none() && desired.roles.is_empty());
        assert!(
            desired
                .objects
                .service_accounts
                .iter()
                .all(|(_, role)| role.is_none()),
            "no IRSA annotation"
        );
        let observed = ObservedCluster {
            storage: storage::ObservedStorage {
                csi_drivers: vec!["ebs.csi.aws.com".to_owned()],
                storage_classes: vec![("gp2".to_owned(), "ebs.csi.aws.com".to_owned(), true)],
            },
            provider: None,
            roles: Vec::new(),
            pod_identity: Some(pod_identity::ObservedPodIdentity {
                agent: true,
                associations: vec![None, None],
                retired: Vec::new(),
            }),
            records: Vec::new(),
            workloads: Vec::new(),
            irsa_remains: IrsaRemains::default(),
            retired_accounts: Vec::new(),
            objects: kube_objects::ObservedObjects::default(),
            release: None,
            cloud_secret: None,
        };
        let planned = plan(&fleet, &target, 0, &observed, &renderer).unwrap();
        let kinds: Vec<_> = planned.iter().map(|p| p.step.kind).collect();
        assert_eq!(
            kinds,
            [
                ResourceKind::StorageDriver,
                ResourceKind::StorageClass,
                ResourceKind::EksAddon,
                ResourceKind::FleetMember,
                ResourceKind::PodIdentityAssociation,
                ResourceKind::PodIdentityAssociation,
                ResourceKind::Namespace,
                ResourceKind::ServiceAccount,
                ResourceKind::ServiceAccount,
                ResourceKind::Secret,
                ResourceKind::HelmRelease,
            ]
        );
        assert!(matches!(planned[3].op, Op::Record(_)));
        assert!(matches!(planned[4].op, Op::Association(_)));

        // A move cut short after the annotations went: the IRSA roles are still there, so the
        // unstamped pods restart before the roles go.
        let cost_analyzer = workload::Workload {
            kind: workload::WorkloadKind::Deployment,
            namespace: "kubecost".to_owned(),
            name: "kubecost-cost-analyzer".to_owned(),
            service_account: Some("kubecost-cost-analyzer-amp".to_owned()),
            identity: None,
            chart: None,
        };
        let restarts = |remains: IrsaRemains| {
            let observed = ObservedCluster {
                workloads: vec![cost_analyzer.clone()],
                irsa_remains: remains,
                ..observed.clone()
            };
            plan(&fleet, &target, 0, &observed, &renderer)
                .unwrap()
                .iter()
                .filter(|p| p.step.kind == ResourceKind::Workload)
                .count()
        };
        assert_eq!(restarts(IrsaRemains::default()), 0);
        let role = iam::Role {
            name: "kcfed-prod-0123abcd-cost-analyzer".to_owned(),
            arn: String::new(),
            path: "/kcfed/ws/".to_owned(),
            trust: None,
            tags: managed_tags(&[]).into_iter().collect(),
            attached_policies: Vec::new(),
            inline_policy: None,
        };
        assert_eq!(restarts(IrsaRemains::of_roles(vec![role])), 1);
    }
}
