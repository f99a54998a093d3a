//! What `init primary` and `join cluster` share: observing a fleet and its clusters with read-only
//! calls, turning what exists into a plan, and applying that plan step by step.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::try_join_all;
use serde::Serialize;

use crate::apply::{self, Executor};
use crate::aws::config::Clients;
use crate::aws::{amp, eks, iam, managed_tags, s3};
use crate::cli::ClusterRole;
use crate::error::Error;
use crate::helm;
use crate::kube;
use crate::names::{self, FleetNames, FleetPolicy, ServiceAccountKind, WorkspaceEndpoints, tags};
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::{ReleaseContext, Renderer, StoreLocation, ValuesFile};

/// Stands for the id of a workspace the plan is about to create.
pub const NEW_WORKSPACE: &str = "ws-(new)";

/// The fleet as the cluster installs see it.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub account_id: String,
    pub workspace_region: String,
    /// `None` until the workspace is created.
    pub workspace: Option<amp::Workspace>,
    pub store: Option<StoreLocation>,
}

impl Fleet {
    pub fn workspace_id(&self) -> &str {
        self.workspace.as_ref().map_or(NEW_WORKSPACE, |ws| &ws.id)
    }

    pub fn names(&self) -> FleetNames {
        FleetNames::new(
            &self.account_id,
            &self.workspace_region,
            self.workspace_id(),
        )
    }

    pub fn endpoints(&self) -> WorkspaceEndpoints {
        WorkspaceEndpoints::new(
            &self.account_id,
            &self.workspace_region,
            self.workspace_id(),
        )
    }

    pub fn policies(&self) -> Vec<FleetPolicy> {
        let mut policies = vec![FleetPolicy::AmpQuery, FleetPolicy::AmpRemoteWrite];
        if self.store.is_some() {
            policies.push(FleetPolicy::FederatedStore);
        }
        policies
    }

    fn policy_document(
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

/// One cluster to install Kubecost on.
#[derive(Debug, Clone)]
pub struct Target {
    pub role: ClusterRole,
    pub cluster: eks::Cluster,
    pub release: helm::Release,
}

impl Target {
    fn scope(&self) -> &str {
        &self.cluster.name
    }
}

/// The roles and Kubernetes objects one cluster needs.
struct ClusterDesired {
    provider_arn: String,
    roles: Vec<DesiredRole>,
    objects: kube::DesiredObjects,
}

struct DesiredRole {
    kind: ServiceAccountKind,
    name: String,
    arn: String,
    trust: serde_json::Value,
    policies: Vec<FleetPolicy>,
    tags: Vec<(String, String)>,
}

fn desired_cluster(
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

fn release_values(
    fleet: &Fleet,
    target: &Target,
    renderer: &Renderer,
) -> Result<Vec<ValuesFile>, Error> {
    renderer.helm_values(&ReleaseContext::new(
        target.role,
        &target.cluster.name,
        &fleet.account_id,
        fleet.endpoints(),
        fleet.store.clone(),
    ))
}

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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BucketChanges {
    create: bool,
    public_access: bool,
    encryption: bool,
    ownership: bool,
    policy: bool,
    tags: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleChanges {
    kind: ServiceAccountKind,
    create: bool,
    trust: bool,
    tags: bool,
    attach: Vec<FleetPolicy>,
    detach: Vec<String>,
}

/// A provisioning step with what it takes to apply it.
pub type Planned = apply::Planned<Op>;

fn fleet_step(step: Step, op: Op) -> Planned {
    Planned {
        step,
        op,
        target: None,
    }
}

/// The tags a fleet's workspace carries, so `join` and `cleanup` find the bucket and the primary.
pub fn workspace_fleet_tags(
    store: Option<&StoreLocation>,
    primary_arn: &str,
) -> Vec<(String, String)> {
    let mut fleet_tags = vec![(tags::PRIMARY_CLUSTER.to_owned(), primary_arn.to_owned())];
    if let Some(store) = store {
        fleet_tags.push((tags::BUCKET.to_owned(), store.bucket.clone()));
        fleet_tags.push((tags::BUCKET_REGION.to_owned(), store.region.clone()));
    }
    fleet_tags
}

fn tags_missing(have: &HashMap<String, String>, want: &[(String, String)]) -> bool {
    want.iter().any(|(key, value)| have.get(key) != Some(value))
}

/// `made_by_kcfed`: the fleet's workspace says kcfed created this bucket (its own tags may be
/// missing if the run that created it was interrupted).
pub fn plan_bucket(
    fleet_id: &str,
    store: &StoreLocation,
    state: &s3::BucketState,
    made_by_kcfed: bool,
    renderer: &Renderer,
) -> Result<Planned, Error> {
    let step = |action| Step::new(FLEET_SCOPE, ResourceKind::S3Bucket, &store.bucket, action);
    let our_tags = managed_tags(&[(tags::FLEET, fleet_id)]);
    let bucket = match state {
        s3::BucketState::Missing => {
            let changes = BucketChanges {
                create: true,
                public_access: true,
                encryption: true,
                ownership: true,
                policy: true,
                tags: Some(our_tags),
            };
            return Ok(fleet_step(
                step(Action::Create).with_detail(format!(
                    "in {}, public access blocked, encrypted, bucket-owner-enforced, TLS only",
                    store.region
                )),
                Op::Bucket(changes),
            ));
        }
        s3::BucketState::OwnedElsewhere => {
            return Ok(fleet_step(
                step(Action::Conflict).with_detail(s3::FORBIDDEN),
                Op::Nothing,
            ));
        }
        s3::BucketState::Owned(bucket) => bucket,
    };
    let managed = made_by_kcfed
        || bucket.tags.get(tags::MANAGED_BY).map(String::as_str) == Some(tags::MANAGED_BY_VALUE);
    if let Some(other) = bucket.tags.get(tags::FLEET)
        && other != fleet_id
        && fleet_id != NEW_WORKSPACE
    {
        return Ok(fleet_step(
            step(Action::Conflict)
                .with_detail(format!("belongs to the kcfed fleet of workspace {other}")),
            Op::Nothing,
        ));
    }
    // A bucket the user brought keeps its own policy and tags; kcfed only adds its fleet tag.
    let wanted_tags: Vec<(String, String)> = if managed {
        our_tags
    } else {
        vec![(tags::FLEET.to_owned(), fleet_id.to_owned())]
    };
    let tls_policy = renderer.tls_only_bucket_policy(store)?;
    let changes = BucketChanges {
        create: false,
        public_access: !bucket.public_access_blocked,
        encryption: !bucket.encrypted,
        ownership: !bucket.owner_enforced,
        policy: if managed {
            bucket.policy.as_ref() != Some(&tls_policy)
        } else {
            bucket.policy.is_none()
        },
        tags: tags_missing(&bucket.tags, &wanted_tags).then(|| {
            let mut merged: HashMap<String, String> = bucket.tags.clone();
            merged.extend(wanted_tags);
            let mut merged: Vec<_> = merged.into_iter().collect();
            merged.sort();
            merged
        }),
    };
    let mut details = Vec::new();
    if changes.public_access {
        details.push("block public access".to_owned());
    }
    if changes.encryption {
        details.push("enable default encryption".to_owned());
    }
    if changes.ownership {
        details.push("enforce bucket-owner ownership".to_owned());
    }
    if changes.policy {
        details.push("TLS-only bucket policy".to_owned());
    }
    if changes.tags.is_some() {
        details.push("fleet tags".to_owned());
    }
    if !managed {
        details.push("not created by kcfed: cleanup will keep it".to_owned());
    }
    let action = if changes == BucketChanges::default() {
        Action::Exists
    } else {
        Action::Update
    };
    Ok(fleet_step(
        step(action).with_details(details),
        Op::Bucket(changes),
    ))
}

/// The fleet's shared IAM policies as they exist (a new workspace has none yet).
pub struct ObservedPolicies(Vec<(FleetPolicy, String, Option<iam::ManagedPolicy>)>);

pub async fn observe_policies(clients: &Clients, fleet: &Fleet) -> Result<ObservedPolicies, Error> {
    let names = fleet.names();
    let observed = try_join_all(fleet.policies().into_iter().map(|policy| {
        let arn = names.policy_arn(policy);
        async move {
            let found = if fleet.workspace.is_some() {
                iam::get_policy(&clients.iam, &arn).await?
            } else {
                None
            };
            Ok::<_, Error>((policy, arn, found))
        }
    }))
    .await?;
    Ok(ObservedPolicies(observed))
}

/// Plans the fleet's shared IAM policies from what exists.
pub fn plan_policies(
    fleet: &Fleet,
    observed: ObservedPolicies,
    renderer: &Renderer,
) -> Result<Vec<Planned>, Error> {
    let names = fleet.names();
    observed
        .0
        .into_iter()
        .map(|(policy, arn, found)| {
            let step = |action| {
                Step::new(
                    FLEET_SCOPE,
                    ResourceKind::IamPolicy,
                    names.policy_name(policy),
                    action,
                )
                .with_id(arn.clone())
            };
            let wanted = fleet.policy_document(renderer, policy)?;
            Ok(match found {
                None => fleet_step(
                    step(Action::Create),
                    Op::Policy {
                        policy,
                        create: true,
                    },
                ),
                Some(existing) if existing.document.as_ref() != Some(&wanted) => fleet_step(
                    step(Action::Update)
                        .with_detail("policy document differs: new default version"),
                    Op::Policy {
                        policy,
                        create: false,
                    },
                ),
                Some(_) => fleet_step(step(Action::Exists), Op::Nothing),
            })
        })
        .collect()
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
pub async fn observe_cluster(
    clients: &Clients,
    fleet: &Fleet,
    target: &Target,
    kube_client: &::kube::Client,
    helm_path: &std::path::Path,
    renderer: &Renderer,
) -> Result<ObservedCluster, Error> {
    let desired = desired_cluster(renderer, fleet, target)?;
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

/// Plans one cluster from what exists of it.
pub fn plan_cluster(
    fleet: &Fleet,
    target: &Target,
    index: usize,
    observed: ObservedCluster,
    renderer: &Renderer,
) -> Result<Vec<Planned>, Error> {
    let desired = desired_cluster(renderer, fleet, target)?;
    let scope = target.scope();
    let ObservedCluster {
        provider,
        roles,
        objects,
        release,
    } = observed;
    let at = |step: Step, op: Op| Planned {
        step,
        op,
        target: Some(index),
    };
    let mut planned = Vec::new();

    let provider_step = |action| {
        Step::new(
            scope,
            ResourceKind::OidcProvider,
            names::oidc_provider_host(&target.cluster.oidc_issuer),
            action,
        )
        .with_id(desired.provider_arn.clone())
    };
    planned.push(match &provider {
        None => at(
            provider_step(Action::Create),
            Op::OidcProvider { create: true },
        ),
        Some(p) if !p.client_ids.iter().any(|id| id == iam::STS_AUDIENCE) => at(
            provider_step(Action::Update).with_detail("add audience sts.amazonaws.com"),
            Op::OidcProvider { create: false },
        ),
        Some(_) => at(provider_step(Action::Exists), Op::Nothing),
    });

    let fleet_names = fleet.names();
    for (role, existing) in desired.roles.iter().zip(roles) {
        let step = |action| {
            Step::new(scope, ResourceKind::IamRole, &role.name, action)
                .with_id(role.arn.clone())
                .with_detail(format!(
                    "for service account {}",
                    role.kind.service_account()
                ))
        };
        let Some(existing) = existing else {
            planned.push(at(
                step(Action::Create),
                Op::Role(RoleChanges {
                    kind: role.kind,
                    create: true,
                    trust: true,
                    tags: true,
                    attach: role.policies.clone(),
                    detach: Vec::new(),
                }),
            ));
            continue;
        };
        let managed =
            existing.tags.get(tags::MANAGED_BY).map(String::as_str) == Some(tags::MANAGED_BY_VALUE);
        if !managed || existing.path != fleet_names.iam_path() {
            let reason = if managed {
                format!("belongs to another fleet (IAM path {})", existing.path)
            } else {
                "exists and was not made by kcfed".to_owned()
            };
            planned.push(at(step(Action::Conflict).with_detail(reason), Op::Nothing));
            continue;
        }
        let wanted_arns: Vec<String> = role
            .policies
            .iter()
            .map(|p| fleet_names.policy_arn(*p))
            .collect();
        let changes = RoleChanges {
            kind: role.kind,
            create: false,
            trust: existing.trust.as_ref() != Some(&role.trust),
            tags: tags_missing(&existing.tags, &role.tags),
            attach: role
                .policies
                .iter()
                .zip(&wanted_arns)
                .filter(|(_, arn)| !existing.attached_policies.contains(arn))
                .map(|(policy, _)| *policy)
                .collect(),
            detach: existing
                .attached_policies
                .iter()
                .filter(|arn| !wanted_arns.contains(arn))
                .cloned()
                .collect(),
        };
        let mut details = Vec::new();
        if changes.trust {
            details.push(
                "trust policy differs (new OIDC issuer, namespace or service account)".to_owned(),
            );
        }
        if changes.tags {
            details.push("tags".to_owned());
        }
        details.extend(
            changes
                .attach
                .iter()
                .map(|p| format!("attach {}", fleet_names.policy_name(*p))),
        );
        details.extend(changes.detach.iter().map(|arn| format!("detach {arn}")));
        if details.is_empty() {
            planned.push(at(step(Action::Exists), Op::Nothing));
        } else {
            let mut step = step(Action::Update);
            step.details.extend(details);
            planned.push(at(step, Op::Role(changes)));
        }
    }

    for step in kube::plan_steps(scope, &desired.objects, &objects) {
        let op = if step.action.changes_something() {
            Op::Kube
        } else {
            Op::Nothing
        };
        planned.push(at(step, op));
    }

    let values = release_values(fleet, target, renderer)?;
    let release_step = |action| {
        Step::new(
            scope,
            ResourceKind::HelmRelease,
            format!("{}/{}", target.release.namespace, target.release.name),
            action,
        )
        .with_detail(format!(
            "cost-analyzer {} on context {}",
            target.release.chart_version,
            target.release.kube_context.as_deref().unwrap_or_default()
        ))
    };
    let wanted_values = crate::render::merged_values(&values)?;
    planned.push(match release {
        None => at(release_step(Action::Create), Op::Helm),
        Some(installed)
            if installed.deployed
                && installed.chart_version == target.release.chart_version
                && installed.values == wanted_values =>
        {
            at(release_step(Action::Exists), Op::Nothing)
        }
        Some(installed) => {
            let mut details = Vec::new();
            if !installed.deployed {
                details.push(format!("release status is {}", installed.status));
            }
            if installed.chart_version != target.release.chart_version {
                details.push(format!(
                    "chart {} -> {}",
                    installed.chart_version, target.release.chart_version
                ));
            }
            if installed.values != wanted_values {
                details.push("values differ".to_owned());
            }
            let mut step = release_step(Action::Update);
            step.details.extend(details);
            at(step, Op::Helm)
        }
    });
    Ok(planned)
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
    pub created_workspace: std::sync::OnceLock<amp::Workspace>,
}

impl Applier<'_> {
    /// The fleet, with the workspace once it exists.
    fn fleet(&self) -> Fleet {
        let mut fleet = self.fleet.clone();
        if let Some(created) = self.created_workspace.get() {
            fleet.workspace = Some(created.clone());
        }
        fleet
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

    async fn apply_step(
        &self,
        item: &Planned,
        fleet_view: apply::FleetView<'_>,
    ) -> Result<(), Error> {
        let clients = self.clients;
        let fleet = self.fleet();
        let amp_client = &self.amp;
        match &item.op {
            Op::Nothing => Ok(()),
            Op::CreateWorkspace {
                alias,
                client_token,
            } => {
                let mut tags = managed_tags(&[]);
                tags.extend(self.workspace_tags.clone());
                let created = amp::create(amp_client, alias, client_token, tags).await?;
                let workspace = settle_workspace_race(amp_client, alias, created).await?;
                self.created_workspace.set(workspace).ok();
                Ok(())
            }
            Op::TagWorkspace => {
                let workspace = fleet.workspace.as_ref().expect("a tagged workspace exists");
                amp::tag(amp_client, workspace, self.workspace_tags.clone()).await
            }
            Op::Bucket(changes) => self.apply_bucket(&fleet, changes).await,
            Op::Policy { policy, create } => {
                let names = fleet.names();
                let document = fleet.policy_document(self.renderer, *policy)?;
                if *create {
                    let tags = managed_tags(&[(tags::FLEET, fleet.workspace_id())]);
                    iam::create_policy(
                        &clients.iam,
                        &names.policy_name(*policy),
                        &names.iam_path(),
                        &document,
                        tags,
                    )
                    .await?;
                } else {
                    iam::set_policy_document(&clients.iam, &names.policy_arn(*policy), &document)
                        .await?;
                }
                Ok(())
            }
            Op::OidcProvider { create } => {
                let target = &self.targets[item.target.expect("cluster step")];
                let cluster = &target.cluster;
                if *create {
                    let tags = managed_tags(&[(tags::CLUSTER, &cluster.arn)]);
                    iam::create_oidc_provider(&clients.iam, &cluster.oidc_issuer, tags).await?;
                } else {
                    let arn = names::oidc_provider_arn(
                        &fleet.account_id,
                        &cluster.region,
                        &cluster.oidc_issuer,
                    );
                    iam::add_oidc_audience(&clients.iam, &arn).await?;
                }
                Ok(())
            }
            Op::Role(changes) => {
                let target = &self.targets[item.target.expect("cluster step")];
                let desired = desired_cluster(self.renderer, &fleet, target)?;
                let role = desired
                    .roles
                    .iter()
                    .find(|r| r.kind == changes.kind)
                    .expect("both roles are desired");
                let names = fleet.names();
                if changes.create {
                    let description = format!(
                        "Kubecost {} on EKS cluster {} (made by kcfed)",
                        role.kind.service_account(),
                        target.cluster.name
                    );
                    iam::create_role(
                        &clients.iam,
                        &role.name,
                        &names.iam_path(),
                        &role.trust,
                        &description,
                        role.tags.clone(),
                    )
                    .await?;
                } else {
                    if changes.trust {
                        iam::update_trust(&clients.iam, &role.name, &role.trust).await?;
                    }
                    if changes.tags {
                        iam::tag_role(&clients.iam, &role.name, role.tags.clone()).await?;
                    }
                }
                // The role is made beside the fleet's policies; attaching needs them done.
                if !changes.attach.is_empty() {
                    fleet_view.reached(&[ResourceKind::IamPolicy]).await?;
                }
                let attach = changes.attach.iter().map(|policy| {
                    let arn = names.policy_arn(*policy);
                    async move { iam::attach_policy(&clients.iam, &role.name, &arn).await }
                });
                try_join_all(attach).await?;
                let detach = changes
                    .detach
                    .iter()
                    .map(|arn| iam::detach_policy(&clients.iam, &role.name, arn));
                try_join_all(detach).await?;
                Ok(())
            }
            Op::Kube => {
                let index = item.target.expect("cluster step");
                let target = &self.targets[index];
                let kube_client = self.kube_clients.get(index, target).await?;
                let desired = desired_cluster(self.renderer, &fleet, target)?;
                kube::apply(&kube_client, &desired.objects, &item.step).await
            }
            Op::Helm => {
                let target = &self.targets[item.target.expect("cluster step")];
                // A new workspace becomes ACTIVE while the roles are made; the release's
                // remote write needs it.
                if let Some(workspace) = fleet.workspace.as_ref().filter(|ws| !ws.active) {
                    amp::wait_active(amp_client, &workspace.id, self.timeout).await?;
                }
                let values = release_values(&fleet, target, self.renderer)?;
                helm::upgrade(&self.helm, &target.release, &values).await
            }
        }
    }

    async fn apply_bucket(&self, fleet: &Fleet, changes: &BucketChanges) -> Result<(), Error> {
        let store = fleet
            .store
            .as_ref()
            .expect("bucket steps exist in federated fleets");
        let client = self.clients.s3_in(&store.region);
        let bucket = &store.bucket;
        if changes.create {
            s3::create(&client, bucket, &store.region).await?;
        }
        // The settings and the tags are independent of each other.
        let tls_policy = self.renderer.tls_only_bucket_policy(store)?;
        // Tags carry the fleet id, known only now for a new workspace.
        let id = fleet.workspace_id();
        let tags = changes.tags.as_ref().map(|tags| {
            tags.iter()
                .map(|(key, value)| {
                    let value = if value == NEW_WORKSPACE { id } else { value };
                    (key.clone(), value.to_owned())
                })
                .collect()
        });
        tokio::try_join!(
            when(changes.ownership, s3::enforce_bucket_owner(&client, bucket)),
            when(
                changes.public_access,
                s3::block_public_access(&client, bucket)
            ),
            when(
                changes.encryption,
                s3::enable_default_encryption(&client, bucket)
            ),
            when(changes.policy, s3::put_policy(&client, bucket, &tls_policy)),
            async {
                match tags {
                    Some(tags) => s3::put_tags(&client, bucket, tags).await,
                    None => Ok(()),
                }
            },
        )?;
        Ok(())
    }
}

/// What a fleet and its clusters are made of, with ids and ARNs, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub account_id: String,
    pub workspace: WorkspaceEndpoints,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<StoreLocation>,
    pub clusters: Vec<ClusterResources>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterResources {
    pub name: String,
    pub arn: String,
    pub role: ClusterRole,
    pub service_account_roles: Vec<ServiceAccountRole>,
    pub dashboard: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceAccountRole {
    pub service_account: String,
    pub role_arn: String,
}

impl std::fmt::Display for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "AMP workspace {} in {} ({})",
            self.workspace.id, self.workspace.region, self.workspace.arn
        )?;
        writeln!(f, "  remote write: {}", self.workspace.remote_write_url)?;
        if let Some(bucket) = &self.bucket {
            writeln!(
                f,
                "Federated bucket s3://{} in {}",
                bucket.bucket, bucket.region
            )?;
        }
        for cluster in &self.clusters {
            writeln!(f, "Cluster {} ({:?})", cluster.name, cluster.role)?;
            for role in &cluster.service_account_roles {
                writeln!(f, "  {} -> {}", role.service_account, role.role_arn)?;
            }
            write!(f, "  dashboard: {}", cluster.dashboard)?;
        }
        Ok(())
    }
}

impl Applier<'_> {
    fn fleet_resources(&self) -> Resources {
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
                    arn: target.cluster.arn.clone(),
                    role: target.role,
                    service_account_roles: ServiceAccountKind::ALL
                        .into_iter()
                        .map(|kind| ServiceAccountRole {
                            service_account: kind.service_account().to_owned(),
                            role_arn: names.role_arn(&names::role_name(
                                &target.cluster.name,
                                &target.cluster.region,
                                kind,
                            )),
                        })
                        .collect(),
                    dashboard: port_forward_hint(&target.release),
                })
                .collect(),
        }
    }
}

/// Checks `--cluster` values (names, or EKS cluster ARNs) and that `--kube-context`, when
/// given, names one context per cluster.
pub fn validate_cluster_selection(
    clusters: &[String],
    kube_contexts: &[String],
) -> Result<(), Error> {
    for cluster in clusters {
        let (name, region) = names::parse_cluster_ref(cluster, None);
        names::validate_cluster_name(name)?;
        if let Some(region) = region {
            names::validate_region(region)?;
        }
    }
    if !kube_contexts.is_empty() && kube_contexts.len() != clusters.len() {
        return Err(Error::Usage {
            message: format!(
                "{} --kube-context values for {} --cluster values",
                kube_contexts.len(),
                clusters.len()
            ),
            fix: "give one --kube-context per --cluster, in the same order, or none to find them by cluster ARN".to_owned(),
        });
    }
    Ok(())
}

/// Checks the flags `init` and `join` share, before any call.
pub fn validate_common(
    aws: &crate::cli::AwsArgs,
    workspace: &crate::cli::WorkspaceArgs,
    release: &crate::cli::ReleaseArgs,
) -> Result<(), Error> {
    for region in [&aws.region, &workspace.workspace_region]
        .into_iter()
        .flatten()
    {
        names::validate_region(region)?;
    }
    if let Some(id) = &workspace.workspace_id {
        names::validate_workspace_id(id)?;
    }
    if let Some(alias) = &workspace.workspace_alias {
        names::validate_workspace_alias(alias)?;
    }
    names::validate_namespace(&release.namespace)?;
    names::validate_release(&release.release)?;
    names::validate_chart_version(&release.chart_version)
}

pub fn no_region() -> Error {
    Error::Usage {
        message: "no AWS region is configured".to_owned(),
        fix: "pass --region, set AWS_REGION, or set a region in the AWS profile".to_owned(),
    }
}

pub fn release(
    args: &crate::cli::ReleaseArgs,
    kube_context: &str,
    kubeconfig: Option<&std::path::Path>,
) -> helm::Release {
    helm::Release {
        name: args.release.clone(),
        namespace: args.namespace.clone(),
        chart: args.chart.clone(),
        chart_version: args.chart_version.clone(),
        kube_context: Some(kube_context.to_owned()),
        kubeconfig: kubeconfig.map(std::path::Path::to_path_buf),
        timeout_secs: args.timeout,
    }
}

/// Where a command looks for the fleet's workspace: `--workspace-region` (else the AWS region)
/// and `--workspace-alias` (else the default), with that region's AMP client.
pub struct WorkspaceLookup {
    pub region: String,
    pub alias: String,
    pub client: aws_sdk_amp::Client,
}

impl WorkspaceLookup {
    pub fn new(clients: &Clients, args: &crate::cli::WorkspaceArgs) -> Self {
        let region = args
            .workspace_region
            .clone()
            .unwrap_or_else(|| clients.region.clone());
        Self {
            client: clients.amp(&region),
            alias: args
                .workspace_alias
                .clone()
                .unwrap_or_else(|| names::DEFAULT_WORKSPACE_ALIAS.to_owned()),
            region,
        }
    }

    /// The workspace with this id (which must exist), or else the one with the alias.
    pub async fn find(&self, workspace_id: Option<&str>) -> Result<Option<amp::Workspace>, Error> {
        find_workspace(&self.client, workspace_id, &self.alias, &self.region).await
    }
}

/// The fleet's workspace: by id (must exist), or by exact alias (none: `None`, several: error).
async fn find_workspace(
    client: &aws_sdk_amp::Client,
    workspace_id: Option<&str>,
    alias: &str,
    region: &str,
) -> Result<Option<amp::Workspace>, Error> {
    if let Some(id) = workspace_id {
        return match amp::describe(client, id).await? {
            Some(workspace) => Ok(Some(workspace)),
            None => Err(Error::NotFound {
                what: "AMP workspace",
                name: id.to_owned(),
                place: format!("in region {region}"),
                fix: "check the id with `aws amp list-workspaces`, and pass --workspace-region when the workspace is in another region".to_owned(),
            }),
        };
    }
    let mut matches = amp::find_by_alias(client, alias).await?;
    match matches.len() {
        0 | 1 => Ok(matches.pop()),
        _ => Err(Error::Conflict {
            resource: format!("AMP workspace alias {alias:?} in {region}"),
            reason: format!(
                "{} workspaces have this exact alias: {}",
                matches.len(),
                matches
                    .iter()
                    .map(|w| w.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix: "choose one with --workspace-id".to_owned(),
        }),
    }
}

impl Executor for Applier<'_> {
    type Op = Op;

    fn stage(&self, step: &Step) -> u8 {
        stage(step.kind)
    }

    fn needs_from_fleet(&self, step: &Step) -> &'static [ResourceKind] {
        needs_from_fleet(step.kind)
    }

    async fn execute(&self, item: &Planned, fleet: apply::FleetView<'_>) -> Result<(), Error> {
        self.apply_step(item, fleet).await
    }

    fn resolved(&self, step: &Step) -> Step {
        self.resolve(step)
    }

    fn resources(&self) -> Option<Resources> {
        Some(self.fleet_resources())
    }

    fn cluster_finished(&self, target: usize) {
        self.kube_clients.close(target);
    }
}

/// One Kubernetes client per cluster, made when first needed and dropped once the cluster's
/// steps have run: a large fleet never holds every cluster's connections at once.
pub struct KubeClients(Vec<tokio::sync::Mutex<Option<::kube::Client>>>);

impl KubeClients {
    /// For `targets` clusters, none connected yet.
    pub fn new(targets: usize) -> Self {
        Self((0..targets).map(|_| Default::default()).collect())
    }

    /// For one cluster whose client planning already made.
    pub fn connected(client: ::kube::Client) -> Self {
        Self(vec![tokio::sync::Mutex::new(Some(client))])
    }

    async fn get(&self, index: usize, target: &Target) -> Result<::kube::Client, Error> {
        let mut slot = self.0[index].lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let context = target
            .release
            .kube_context
            .as_deref()
            .expect("every target's context is resolved before planning");
        let client = kube::connect(target.release.kubeconfig.as_deref(), context).await?;
        *slot = Some(client.clone());
        Ok(client)
    }

    fn close(&self, index: usize) {
        if let Ok(mut slot) = self.0[index].try_lock() {
            slot.take();
        }
    }
}

/// Runs that race to create the same fleet must end with one workspace. The client token makes
/// AWS return the same workspace to racing creates; where it did not, every racer sees the
/// same set of kcfed workspaces with this alias and keeps the oldest, deleting its own if it
/// lost.
async fn settle_workspace_race(
    client: &aws_sdk_amp::Client,
    alias: &str,
    created: amp::Workspace,
) -> Result<amp::Workspace, Error> {
    let candidates = amp::find_by_alias(client, alias).await?;
    let winner = candidates
        .into_iter()
        .filter(|ws| {
            ws.tags.get(tags::MANAGED_BY).map(String::as_str) == Some(tags::MANAGED_BY_VALUE)
        })
        .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    match winner {
        Some(winner) if winner.id != created.id => {
            tracing::info!(
                "another run created workspace {} for alias {alias} first; using it and removing {}",
                winner.id,
                created.id
            );
            amp::delete(client, &created.id).await?;
            Ok(winner)
        }
        // The listing is the fresher view of the workspace (its status may have moved on).
        Some(listed) => Ok(listed),
        None => Ok(created),
    }
}

/// When a step can run within its own run (the fleet's, or one cluster's): the workspace id
/// names the policies, the role paths and the bucket's fleet tag, and the workspace's own tags say
/// kcfed made the bucket before it exists; the OIDC provider exists before a role trusts it, the
/// namespace before what lives in it; everything comes before the release.
fn stage(kind: ResourceKind) -> u8 {
    match kind {
        ResourceKind::AmpWorkspace | ResourceKind::OidcProvider | ResourceKind::Namespace => 0,
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
        _ => &[],
    }
}

/// Runs `call` only when `needed`.
async fn when(
    needed: bool,
    call: impl std::future::Future<Output = Result<(), Error>>,
) -> Result<(), Error> {
    if needed { call.await } else { Ok(()) }
}

/// `kubectl port-forward` line that opens the dashboard of a release.
pub fn port_forward_hint(release: &helm::Release) -> String {
    let context = release
        .kube_context
        .as_deref()
        .map(|c| format!(" --context {c}"))
        .unwrap_or_default();
    format!(
        "kubectl port-forward{context} --namespace {} deployment/{}-cost-analyzer 9090",
        release.namespace, release.name
    )
}
