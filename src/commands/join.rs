//! `kcfed join cluster`: add clusters to an existing fleet as agents, several at a time. The fleet
//! (workspace, bucket, primary) is found from the tags `init primary` left on the workspace.

use futures::StreamExt;

use crate::apply::{self, ClusterPlan};
use crate::aws::config::{self, Clients};
use crate::aws::{eks, sts};
use crate::cli::{ClusterRole, JoinClusterArgs};
use crate::commands::provision::{self, Applier, Fleet, Target, plan_cluster, plan_policies};
use crate::error::Error;
use crate::helm;
use crate::kube;
use crate::names::{self, tags};
use crate::render::{Renderer, StoreLocation};

/// A cluster ready to plan: its description and a client for its API.
type Discovered = Result<(Target, ::kube::Client), Error>;

fn validate(args: &JoinClusterArgs) -> Result<(), Error> {
    provision::validate_cluster_selection(&args.clusters, &args.kube_contexts)?;
    provision::validate_common(&args.aws, &args.workspace, &args.release)
}

/// Reads the fleet from its workspace: the bucket and the primary cluster are in its tags.
fn fleet_from_workspace(
    account_id: &str,
    workspace_region: &str,
    workspace: crate::aws::amp::Workspace,
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

pub async fn run(args: &JoinClusterArgs) -> Result<u8, Error> {
    validate(args)?;
    helm::ensure_available(&args.release.helm).await?;
    let kubeconfig = kube::load_kubeconfig(args.kube.kubeconfig.as_deref())?;
    let clients = Clients::new(config::load(&args.aws).await).ok_or_else(provision::no_region)?;
    let account_id = sts::account_id(&clients.sts).await?;

    let workspace_region = args
        .workspace
        .workspace_region
        .clone()
        .unwrap_or_else(|| clients.region.clone());
    let alias = args
        .workspace
        .workspace_alias
        .clone()
        .unwrap_or_else(|| names::DEFAULT_WORKSPACE_ALIAS.to_owned());
    let workspace = provision::find_workspace(
        &clients.amp(&workspace_region),
        args.workspace.workspace_id.as_deref(),
        &alias,
        &workspace_region,
    )
    .await?
    .ok_or_else(|| Error::NotFound {
        what: "AMP workspace",
        name: alias.clone(),
        place: format!("in region {workspace_region}"),
        fix: "create the fleet with `kcfed init primary` first, or pass --workspace-id / --workspace-region".to_owned(),
    })?;
    let (fleet, primary) = fleet_from_workspace(&account_id, &workspace_region, workspace);
    let renderer = Renderer::new();
    let concurrency = usize::from(args.concurrency);

    // Discovery: each cluster, its context and its API, independently of the others.
    let discovered: Vec<(String, Discovered)> =
        futures::stream::iter(args.clusters.iter().enumerate().map(|(index, value)| {
            let (name, region) = names::parse_cluster_ref(value, Some(&clients.region));
            let region = region.unwrap_or_default();
            let explicit_context = args.kube_contexts.get(index).map(String::as_str);
            let (clients, kubeconfig, primary) = (&clients, &kubeconfig, primary.as_deref());
            async move {
                let result = async {
                    let cluster = eks::describe_cluster(&clients.eks_in(region), name, region).await?;
                    if primary == Some(cluster.arn.as_str()) {
                        return Err(Error::Usage {
                            message: format!("cluster {name} is the fleet's primary; it cannot also join as an agent"),
                            fix: "run `kcfed init primary` to change the primary's installation".to_owned(),
                        });
                    }
                    let context = kube::context_for_cluster(kubeconfig, &cluster.arn, explicit_context)?;
                    let client = kube::connect(args.kube.kubeconfig.as_deref(), &context).await?;
                    let target = Target {
                        role: ClusterRole::Agent,
                        release: provision::release(&args.release, &context, args.kube.kubeconfig.as_deref()),
                        cluster,
                    };
                    Ok((target, client))
                }
                .await;
                (name.to_owned(), result)
            }
        }))
        .buffered(concurrency)
        .collect()
        .await;

    let mut targets = Vec::new();
    let mut failed = Vec::new();
    for (name, result) in discovered {
        match result {
            Ok(target) => targets.push(target),
            Err(err) => failed.push(ClusterPlan {
                name,
                planned: Err(err),
            }),
        }
    }

    let fleet_steps = plan_policies(&clients, &fleet, &renderer).await?;
    let mut cluster_plans: Vec<ClusterPlan<provision::Op>> =
        futures::stream::iter(targets.iter().enumerate().map(|(index, (target, client))| {
            let (clients, fleet, renderer) = (&clients, &fleet, &renderer);
            async move {
                ClusterPlan {
                    name: target.cluster.name.clone(),
                    planned: plan_cluster(
                        clients,
                        fleet,
                        target,
                        index,
                        client,
                        &args.release.helm,
                        renderer,
                    )
                    .await,
                }
            }
        }))
        .buffered(concurrency)
        .collect()
        .await;
    cluster_plans.extend(failed);

    let applier = Applier {
        clients: &clients,
        renderer: &renderer,
        helm: args.release.helm.clone(),
        timeout: std::time::Duration::from_secs(args.release.timeout),
        fleet,
        targets,
        workspace_tags: Vec::new(),
        created_workspace: Default::default(),
    };
    let run = apply::Run {
        command: "join cluster",
        args: &args.run,
        order: apply::Order::FleetFirst,
        concurrency,
    };
    apply::plan_and_apply(run, fleet_steps, cluster_plans, &applier).await
}
