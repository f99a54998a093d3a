//! The fleet kcfed manages and the clusters in it: the workspace (found by id or alias), the
//! bucket, the account, each cluster's release and Kubernetes client, and what the report says
//! they are made of.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::amp;
use crate::aws::config::Clients;
use crate::aws::{eks, iam};
use crate::cli::ClusterRole;
use crate::cluster_id;
use crate::error::Error;
use crate::helm;
use crate::kube;
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
        let fleet = Fleet {
            account_id: account_id.to_owned(),
            workspace_region: workspace_region.to_owned(),
            workspace: Some(workspace),
            store,
        };
        (fleet, primary)
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

    /// The fleet-account role of one service account of `cluster`.
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

    pub fn policies(&self) -> Vec<FleetPolicy> {
        let mut policies = vec![FleetPolicy::AmpQuery, FleetPolicy::AmpRemoteWrite];
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
}

/// How a cluster's release is installed: the release flags, on the connection that reaches it.
pub fn release(args: &crate::cli::ReleaseArgs, reached: &Reached) -> helm::Release {
    helm::Release {
        name: args.release.clone(),
        namespace: args.namespace.clone(),
        chart: args.chart.clone(),
        chart_version: args.chart_version.clone(),
        kube_context: Some(reached.context.clone()),
        kubeconfig: reached.kubeconfig.clone(),
        direct: reached.direct,
        timeout_secs: args.timeout.as_secs(),
    }
}

/// A release kcfed reads (`status`) or uninstalls (`cleanup`, waiting up to `timeout_secs`):
/// no chart to install.
pub fn existing_release(
    name: &str,
    namespace: &str,
    timeout_secs: u64,
    reached: &Reached,
) -> helm::Release {
    helm::Release {
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        chart: String::new(),
        chart_version: String::new(),
        kube_context: Some(reached.context.clone()),
        kubeconfig: reached.kubeconfig.clone(),
        direct: reached.direct,
        timeout_secs,
    }
}

/// How one cluster's API is reached: a context of a kubeconfig (the user's, or for a cluster
/// reached directly the private one kcfed wrote for it).
#[derive(Debug, Clone)]
pub struct Reached {
    pub context: String,
    /// `None`: the user's default kubeconfig.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Reached with AWS credentials alone, not through a context of the user's.
    pub direct: bool,
    /// The API server's URL, when known.
    pub server: Option<String>,
}

impl Reached {
    /// How kcfed reaches the cluster, for messages.
    fn via(&self) -> String {
        let server = self.server.as_deref().unwrap_or("an unknown server");
        if self.direct {
            format!("directly at {server} (with AWS credentials)")
        } else {
            format!("through context {} at {server}", self.context)
        }
    }
}

/// Connects to a reached cluster and checks that it answers: an unreachable cluster is one error
/// naming it and how it was reached, not one per read.
pub async fn open(reached: &Reached, cluster_arn: &str) -> Result<::kube::Client, Error> {
    let opened = async {
        let client = kube::connect(reached.kubeconfig.as_deref(), &reached.context).await?;
        kube::probe(&client).await?;
        Ok(client)
    }
    .await;
    opened.map_err(|err| match err {
        Error::Kube {
            unreachable: true,
            message,
            ..
        } => Error::ClusterUnreachable {
            cluster: cluster_arn.to_owned(),
            via: reached.via(),
            context: (!reached.direct).then(|| reached.context.clone()),
            message,
        },
        other => other,
    })
}

/// How a command reaches its clusters: the context the user names or the kubeconfig has for a
/// cluster's ARN; else, unless the user named a kubeconfig, directly with AWS credentials.
pub struct Reacher<'a> {
    kubeconfig: ::kube::config::Kubeconfig,
    kubeconfig_path: Option<std::path::PathBuf>,
    direct: kube::DirectKubeconfigs,
    aws: &'a crate::cli::AwsArgs,
    accounts: &'a crate::cli::AccountArgs,
}

impl<'a> Reacher<'a> {
    pub fn new(
        kube_args: &crate::cli::KubeArgs,
        aws: &'a crate::cli::AwsArgs,
        accounts: &'a crate::cli::AccountArgs,
    ) -> Result<Self, Error> {
        Ok(Self {
            kubeconfig: kube::load_kubeconfig_or_empty(kube_args.kubeconfig.as_deref())?,
            kubeconfig_path: kube_args.kubeconfig.clone(),
            direct: kube::DirectKubeconfigs::new()?,
            aws,
            accounts,
        })
    }

    pub fn kubeconfig(&self) -> &::kube::config::Kubeconfig {
        &self.kubeconfig
    }

    /// `--cluster` values as a user means them: a bare name is looked up in the kubeconfig's
    /// EKS contexts unless `--region` was given, and becomes the ARN of the one context of that
    /// name (its ARN gives region and account); otherwise it stays a name in the AWS region.
    pub fn locate_all(&self, values: &[String], region_given: bool) -> Vec<String> {
        values
            .iter()
            .map(|value| {
                if region_given || names::parse_eks_cluster_arn(value).is_some() {
                    return value.clone();
                }
                let mut arns: Vec<&str> = kube::eks_cluster_arns(&self.kubeconfig)
                    .filter(|arn| {
                        names::parse_eks_cluster_arn(arn).is_some_and(|(_, _, name)| name == value)
                    })
                    .collect();
                arns.sort_unstable();
                arns.dedup();
                match arns[..] {
                    [only] => only.to_owned(),
                    _ => value.clone(),
                }
            })
            .collect()
    }

    /// The user's context for the cluster, `None` when it is to be reached directly.
    pub fn context(
        &self,
        cluster_arn: &str,
        explicit: Option<&str>,
    ) -> Result<Option<Reached>, Error> {
        let context = match (explicit, &self.kubeconfig_path) {
            // A context or a kubeconfig the user names always wins: no context there is a mistake.
            (Some(_), _) | (None, Some(_)) => Some(kube::context_for_cluster(
                &self.kubeconfig,
                cluster_arn,
                explicit,
            )?),
            (None, None) => kube::find_context(&self.kubeconfig, cluster_arn)?,
        };
        Ok(context.map(|context| Reached {
            server: kube::server_of(&self.kubeconfig, &context),
            context,
            kubeconfig: self.kubeconfig_path.clone(),
            direct: false,
        }))
    }

    /// The cluster through the user's context, else directly with the credentials of its
    /// account (`fleet_account`'s own, or the access the flags give to another).
    pub fn reach(
        &self,
        cluster: &eks::Cluster,
        explicit: Option<&str>,
        fleet_account: &str,
    ) -> Result<Reached, Error> {
        if let Some(reached) = self.context(&cluster.arn, explicit)? {
            return Ok(reached);
        }
        let access = (cluster.account != fleet_account)
            .then(|| {
                crate::aws::accounts::access_for(
                    self.accounts,
                    names::partition(&cluster.region),
                    &cluster.account,
                )
            })
            .flatten();
        Ok(Reached {
            context: cluster.arn.clone(),
            kubeconfig: Some(self.direct.write(cluster, self.aws, access.as_ref())?),
            direct: true,
            server: cluster.endpoint.clone(),
        })
    }
}

/// Reaches a fleet's cluster by its ARN and connects: through the user's context for it, else
/// directly with its account's credentials (described for its endpoint), a refusal then naming
/// who was refused. The probe in [`open`] is where an unreachable or refusing cluster shows.
pub async fn reach_and_open(
    reacher: &Reacher<'_>,
    accounts: &crate::aws::accounts::Accounts,
    cluster_arn: &str,
    explicit: Option<&str>,
) -> Result<(Reached, ::kube::Client), Error> {
    if let Some(reached) = reacher.context(cluster_arn, explicit)? {
        let client = open(&reached, cluster_arn).await?;
        return Ok((reached, client));
    }
    let (region, account, name) = names::parse_eks_cluster_arn(cluster_arn).unwrap_or_default();
    let clients = accounts.clients(account);
    let cluster = eks::describe_cluster(&clients.eks_in(region), name, region).await?;
    let reached = reacher.reach(&cluster, None, accounts.fleet_account())?;
    match open(&reached, cluster_arn).await {
        Ok(client) => Ok((reached, client)),
        Err(err) => Err(explain_refusal(err, &reached, &cluster, &clients.sts).await),
    }
}

/// A refusal by a cluster reached directly names who was refused and how to let it in; any
/// other error stays as it is.
pub async fn explain_refusal(
    err: Error,
    reached: &Reached,
    cluster: &eks::Cluster,
    sts_client: &aws_sdk_sts::Client,
) -> Error {
    match err {
        Error::Kube { denied: true, .. } if reached.direct => Error::ClusterAccessDenied {
            cluster: cluster.arn.clone(),
            name: cluster.name.clone(),
            principal: crate::aws::sts::caller(sts_client).await.map_or_else(
                |_| "the calling identity".to_owned(),
                |caller| caller.principal,
            ),
        },
        other => other,
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

    /// The workspace of a fleet that must exist already: by id, or else by alias.
    pub async fn existing(&self, workspace_id: Option<&str>) -> Result<amp::Workspace, Error> {
        self.find(workspace_id).await?.ok_or_else(|| Error::NotFound {
            what: "AMP workspace",
            name: self.alias.clone(),
            place: format!("in region {}", self.region),
            fix: "create the fleet with `kcfed init primary` first, or pass --workspace-id / --workspace-region".to_owned(),
        })
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

/// The fleet's IAM roles (found by its IAM path) by the ARN of the cluster each was made for, as
/// kcfed's tag names it; roles without that tag are under the empty string.
pub async fn roles_by_cluster(
    client: &aws_sdk_iam::Client,
    fleet: &FleetNames,
) -> Result<BTreeMap<String, Vec<iam::Role>>, Error> {
    let role_names = iam::role_names_under(client, &fleet.iam_path()).await?;
    let roles =
        futures::future::try_join_all(role_names.iter().map(|name| iam::get_role(client, name)))
            .await?;
    let mut by_cluster: BTreeMap<String, Vec<iam::Role>> = BTreeMap::new();
    for role in roles.into_iter().flatten() {
        let cluster = role.tags.get(tags::CLUSTER).cloned().unwrap_or_default();
        by_cluster.entry(cluster).or_default().push(role);
    }
    Ok(by_cluster)
}

/// The fleet's clusters and their ids, from its roles' tags alone: one GetRole per role, where
/// [`roles_by_cluster`] also reads each role's policies.
pub async fn members(
    client: &aws_sdk_iam::Client,
    fleet: &FleetNames,
) -> Result<Vec<cluster_id::Member>, Error> {
    let role_names = iam::role_names_under(client, &fleet.iam_path()).await?;
    let role_tags =
        futures::future::try_join_all(role_names.iter().map(|name| iam::role_tags(client, name)))
            .await?;
    Ok(members_by_tags(role_tags.iter().flatten()))
}

/// The members the roles cleanup read (with their policies) stand for.
pub fn members_of(roles_by_cluster: &BTreeMap<String, Vec<iam::Role>>) -> Vec<cluster_id::Member> {
    members_by_tags(roles_by_cluster.values().flatten().map(|role| &role.tags))
}

/// One member per cluster ARN the roles are tagged with, its id the one a role records.
fn members_by_tags<'a>(
    role_tags: impl Iterator<Item = &'a std::collections::HashMap<String, String>>,
) -> Vec<cluster_id::Member> {
    let mut recorded: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for tags in role_tags {
        let Some(arn) = tags.get(tags::CLUSTER) else {
            continue;
        };
        let id = recorded.entry(arn.as_str()).or_default();
        if id.is_none() {
            *id = tags.get(tags::CLUSTER_ID).map(String::as_str);
        }
    }
    recorded
        .into_iter()
        .map(|(arn, id)| cluster_id::Member {
            arn: arn.to_owned(),
            id: cluster_id::recorded_or_name(id, arn),
        })
        .collect()
}

/// The ids of the clusters a run installs (`clusters`: ARN and `--cluster-id`), each with the
/// other member that already shares its id, if any.
pub fn choose_ids(
    members: &[cluster_id::Member],
    clusters: &[(&str, Option<&str>)],
) -> Result<Vec<(String, Option<String>)>, Error> {
    let ids = cluster_id::choose(members, clusters)?;
    Ok(clusters
        .iter()
        .zip(ids)
        .map(|((arn, _), id)| {
            let own = members.iter().find(|member| member.arn == *arn);
            let shared_with = own.and_then(|own| {
                members
                    .iter()
                    .find(|other| other.arn != own.arn && other.id == own.id)
                    .map(|other| other.arn.clone())
            });
            (id, shared_with)
        })
        .collect())
}

/// The member a `--cluster` value names: by ARN, by name in `default_region`, or by its id.
pub fn find_member<'a>(
    members: &'a [cluster_id::Member],
    value: &str,
    default_region: &str,
) -> Option<&'a cluster_id::Member> {
    if names::parse_eks_cluster_arn(value).is_some() {
        return members.iter().find(|member| member.arn == value);
    }
    let by_name = members.iter().find(|member| {
        names::parse_eks_cluster_arn(&member.arn)
            .is_some_and(|(region, _, name)| name == value && region == default_region)
    });
    by_name.or_else(|| members.iter().find(|member| member.id == value))
}

/// A `--cluster` that names no cluster of the fleet: the same words for every command.
pub fn not_in_fleet(value: &str, members: &[cluster_id::Member]) -> Error {
    let fleet = if members.is_empty() {
        "the fleet has no clusters yet".to_owned()
    } else {
        format!(
            "the fleet's clusters are {}",
            members
                .iter()
                .map(|member| format!("{} ({})", member.id, member.arn))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Error::NotFound {
        what: "cluster",
        name: value.to_owned(),
        place: "in the fleet".to_owned(),
        fix: format!(
            "name a cluster that `kcfed init primary` or `kcfed join cluster` set up (by ARN for another region or account); {fleet}"
        ),
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

    pub async fn get(&self, index: usize, target: &Target) -> Result<::kube::Client, Error> {
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

    pub fn close(&self, index: usize) {
        if let Ok(mut slot) = self.0[index].try_lock() {
            slot.take();
        }
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

/// `kubectl port-forward` line that opens the dashboard of a release.
pub fn port_forward_hint(release: &helm::Release) -> String {
    let context = release
        .kube_context
        .as_deref()
        .map(|c| format!(" --context {c}"))
        .unwrap_or_default();
    let forward = format!(
        "kubectl port-forward{context} --namespace {} deployment/{}-cost-analyzer 9090",
        release.namespace, release.name
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
    use std::collections::HashMap;

    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn members_are_one_per_tagged_cluster_with_the_id_a_role_records() {
        let west = "arn:aws:eks:us-west-2:111122223333:cluster/prod";
        let eu = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
        let roles = [
            tags(&[(tags::CLUSTER, west)]),
            tags(&[(tags::CLUSTER, west)]),
            tags(&[(tags::CLUSTER, eu)]),
            tags(&[(tags::CLUSTER, eu), (tags::CLUSTER_ID, "prod-eu-west-1")]),
            // Not kcfed's per-cluster role: no cluster to stand for.
            tags(&[(tags::FLEET, "ws-1")]),
        ];
        let members = members_by_tags(roles.iter());
        let found: Vec<(&str, &str)> = members
            .iter()
            .map(|member| (member.arn.as_str(), member.id.as_str()))
            .collect();
        assert_eq!(found, [(eu, "prod-eu-west-1"), (west, "prod")]);
    }
}
