//! The fleet kcfed manages and the clusters in it: the workspace (found by id or alias), the
//! bucket, the account, each cluster's release and Kubernetes client, and what the report says
//! they are made of.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::amp;
use crate::aws::config::Clients;
use crate::aws::{eks, iam};
use crate::cli::ClusterRole;
use crate::error::Error;
use crate::helm;
use crate::kube;
use crate::names::{self, FleetNames, FleetPolicy, ServiceAccountKind, WorkspaceEndpoints, tags};
use crate::render::{Renderer, StoreLocation};

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
        self.workspace.as_ref().map_or(NEW_WORKSPACE, |ws| &ws.id)
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
    pub release: helm::Release,
    /// `--storage-class`: the class every volume of the chart uses, else the cluster's default.
    pub storage_class: Option<String>,
}

impl Target {
    pub fn scope(&self) -> &str {
        &self.cluster.name
    }
}

/// How a cluster's release is installed: the release flags, on that cluster's kube context.
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
    pub arn: String,
    /// The account the cluster is in (its roles are in the fleet's).
    pub account: String,
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
