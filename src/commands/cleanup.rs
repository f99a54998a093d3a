//! `kcfed cleanup`: removes exactly what kcfed made, found by its IAM path and tags, never by
//! name alone. Clusters go first (release, Kubernetes objects, OIDC provider, roles); with `--all`
//! the fleet's policies, bucket and workspace follow once no cluster uses them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use futures::StreamExt;
use futures::future::try_join_all;

use crate::aws::accounts::{self, Accounts};
use crate::aws::config::{self, Clients};
use crate::aws::{amp, eks, iam, s3, sts};
use crate::cli::CleanupArgs;
use crate::cluster_id::{self, Member};
use crate::engine::report::Finished;
use crate::engine::run::{self as engine, ClusterPlan, Executor, Planned};
use crate::engine::terminal::ReadProgress;
use crate::error::Error;
use crate::fleet::{self, Resources};
use crate::helm;
use crate::kube;
use crate::kube::{Reached, Reacher};
use crate::names::{self, FleetNames, tags};
use crate::plan::{Action, ResourceKind, Step};
use crate::render::StoreLocation;
use crate::resources::{CleanupOp, bucket, kube_objects, oidc, policies, roles, workspace};
use crate::validate;

type CleanupStep = Planned<CleanupOp>;

/// One cluster as read, with its cleanup planned or the reason it could not be.
type Discovered = (ClusterCleanup, Result<Vec<CleanupStep>, Error>);

/// One cluster of the fleet as cleanup finds it.
struct ClusterCleanup {
    name: String,
    /// The cluster's id in the fleet: its steps' scope.
    cluster_id: String,
    region: String,
    account: String,
    roles: Vec<iam::Role>,
    release: helm::Release,
    kube: Option<::kube::Client>,
}

struct Cleaner<'a> {
    clients: &'a Clients,
    helm: PathBuf,
    /// AMP in the workspace's region.
    amp: aws_sdk_amp::Client,
    clusters: Vec<ClusterCleanup>,
}

impl Executor for Cleaner<'_> {
    type Op = CleanupOp;
    type Resources = Resources;

    /// The release before the objects and roles it uses; the namespace after what lives in it;
    /// the OIDC provider before the roles (a rerun finds a cluster by its roles); the workspace
    /// after the policies and the bucket. The Kubernetes and AWS sides go side by side. The
    /// storage prerequisites are the cluster's own: cleanup never plans them.
    fn stage(&self, step: &Step) -> u8 {
        match step.kind {
            ResourceKind::HelmRelease
            | ResourceKind::IamPolicy
            | ResourceKind::S3Bucket
            | ResourceKind::StorageDriver
            | ResourceKind::StorageClass => 0,
            ResourceKind::Secret
            | ResourceKind::ServiceAccount
            | ResourceKind::OidcProvider
            | ResourceKind::AmpWorkspace => 1,
            ResourceKind::Namespace | ResourceKind::IamRole => 2,
        }
    }

    async fn execute(
        &self,
        item: &CleanupStep,
        _fleet: engine::FleetView<'_>,
    ) -> Result<(), Error> {
        let cluster = item.target.map(|index| &self.clusters[index]);
        let iam_client = &self.clients.iam;
        match &item.op {
            CleanupOp::Nothing => Ok(()),
            CleanupOp::Uninstall => {
                let cluster = cluster.expect("release steps belong to a cluster");
                helm::uninstall(&self.helm, &cluster.release).await
            }
            CleanupOp::Kube => {
                let client = cluster
                    .and_then(|c| c.kube.as_ref())
                    .expect("Kubernetes steps are planned only for reachable clusters");
                kube_objects::delete(client, &item.step).await
            }
            CleanupOp::DeleteRole(role) => iam::delete_role(iam_client, role).await,
            CleanupOp::DeleteOidcProvider(arn) => iam::delete_oidc_provider(iam_client, arn).await,
            CleanupOp::DeletePolicy(arn) => iam::delete_policy(iam_client, arn).await,
            CleanupOp::DeleteBucket(store) => {
                let client = self.clients.s3_in(&store.region);
                // The TLS-only policy goes first: it would refuse the object calls of an
                // endpoint reached without TLS, and the bucket is going anyway.
                s3::delete_policy(&client, &store.bucket).await?;
                s3::empty_and_delete(&client, &store.bucket).await
            }
            CleanupOp::DeleteWorkspace(id) => amp::delete(&self.amp, id).await,
        }
    }

    fn resources(&self, _installed: &dyn Fn(&str) -> bool) -> Option<Resources> {
        None
    }
}

pub async fn run(args: &CleanupArgs) -> Result<Finished, Error> {
    validate::cleanup(args)?;
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let lookup = workspace::WorkspaceLookup::new(&clients, &args.workspace);
    let ((), caller, workspace) = tokio::try_join!(
        helm::ensure_supported(&args.release.helm),
        sts::caller(&clients.sts),
        async {
            match args.workspace.workspace_id.as_deref() {
                // A workspace already deleted by an earlier cleanup is nothing left to do.
                Some(id) => amp::describe(&lookup.client, id).await,
                None => lookup.find(None).await,
            }
        },
    )?;
    let account_id = caller.account.clone();
    let mut run = engine::Run {
        identities: vec![caller.clone()],
        command: "cleanup",
        fleet_account: &account_id,
        options: (&args.run).into(),
        order: engine::Order::FleetLast,
        concurrency: 4,
    };
    let mut cleaner = Cleaner {
        clients: &clients,
        helm: args.release.helm.clone(),
        amp: lookup.client.clone(),
        clusters: Vec::new(),
    };
    let Some(workspace) = workspace else {
        return Ok(engine::plan_and_apply(run, Vec::new(), Vec::new(), &cleaner).await);
    };
    let fleet = FleetNames::new(&account_id, &lookup.region, &workspace.id);

    let roles_by_cluster = fleet::roles_by_cluster(&clients.iam, &fleet).await?;

    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let named = reacher.locate_all(&args.clusters, args.aws.region.is_some());
    let members = fleet::members_of(&roles_by_cluster);
    let selected = select_clusters(args.all, &named, &clients, &account_id, &members);
    // Every cluster's account must be reachable before anything is removed: a cluster skipped
    // for want of credentials would leave its share orphaned.
    let accounts = Accounts::resolve(
        clients.clone(),
        &caller,
        &args.accounts,
        &accounts::of_clusters(&selected),
    )
    .await?;
    run.identities = accounts.identities();
    outsiders_exist(&accounts, &named, &selected, &members).await?;
    let deleting: HashSet<&str> = selected
        .iter()
        .flat_map(|arn| roles_by_cluster.get(arn).into_iter().flatten())
        .map(|role| role.name.as_str())
        .collect();
    // Which roles will still trust each OIDC provider once this cleanup is done: one listing of
    // the account's roles serves every cluster. The fleet's own resources are read beside it.
    let (mut still_trusting, fleet_steps) = tokio::try_join!(
        async {
            if selected.is_empty() {
                Ok(HashMap::new())
            } else {
                iam::roles_by_trusted_provider(&clients.iam).await
            }
        },
        async {
            if args.all {
                plan_fleet(&clients, &fleet, &workspace).await
            } else {
                Ok(Vec::new())
            }
        },
    )?;
    for roles in still_trusting.values_mut() {
        roles.retain(|role| !deleting.contains(role.as_str()));
    }

    let progress = ReadProgress::new("reading", selected.len(), args.run.output);
    let mut discovered: Vec<(usize, Discovered)> =
        futures::stream::iter(selected.iter().enumerate().map(|(index, arn)| {
            let roles = roles_by_cluster.get(arn).cloned().unwrap_or_default();
            let context = args.kube_contexts.get(index).map(String::as_str);
            let (accounts, reacher, still_trusting) = (&accounts, &reacher, &still_trusting);
            let progress = &progress;
            let member = members.iter().find(|member| &member.arn == arn);
            let cluster_id = cluster_id::recorded_or_name(member.map(|m| m.id.as_str()), arn);
            async move {
                let found = Found {
                    arn,
                    cluster_id,
                    roles,
                };
                let discovered =
                    discover_cluster(accounts, args, reacher, context, found, still_trusting).await;
                progress.read(&discovered.0.cluster_id);
                (index, discovered)
            }
        }))
        .buffer_unordered(run.concurrency)
        .collect()
        .await;
    drop(progress);
    // The plan lists the clusters in the order they were selected.
    discovered.sort_by_key(|(index, _)| *index);
    let mut cluster_plans = Vec::new();
    for (index, (_, (cluster, planned))) in discovered.into_iter().enumerate() {
        cluster_plans.push(ClusterPlan {
            name: cluster.name.clone(),
            cluster_id: cluster.cluster_id.clone(),
            account: cluster.account.clone(),
            planned: planned.map(|steps| {
                steps
                    .into_iter()
                    .map(|item| Planned {
                        target: Some(index),
                        ..item
                    })
                    .collect()
            }),
        });
        cleaner.clusters.push(cluster);
    }

    Ok(engine::plan_and_apply(run, fleet_steps, cluster_plans, &cleaner).await)
}

/// The cluster ARNs to clean: every cluster of the fleet with `--all`, else the named ones (by
/// ARN, by name in the default region, or by cluster id).
fn select_clusters(
    all: bool,
    named: &[String],
    clients: &Clients,
    account_id: &str,
    members: &[Member],
) -> Vec<String> {
    if all {
        return members.iter().map(|member| member.arn.clone()).collect();
    }
    named
        .iter()
        .map(
            |value| match fleet::find_member(members, value, &clients.region) {
                Some(member) => member.arn.clone(),
                None if names::parse_eks_cluster_arn(value).is_some() => value.clone(),
                None => names::eks_cluster_arn(
                    names::partition(&clients.region),
                    &clients.region,
                    account_id,
                    value,
                ),
            },
        )
        .collect()
}

/// A named cluster that is not in the fleet is cleaned only when EKS has it (what an
/// interrupted run left in it is still kcfed's); anything else is a mistake to correct.
async fn outsiders_exist(
    accounts: &Accounts,
    named: &[String],
    selected: &[String],
    members: &[Member],
) -> Result<(), Error> {
    let outsiders = named
        .iter()
        .zip(selected)
        .filter(|(_, arn)| !members.iter().any(|member| &member.arn == *arn));
    try_join_all(outsiders.map(|(value, arn)| async move {
        let (region, account, name) = names::parse_eks_cluster_arn(arn).unwrap_or_default();
        let eks = accounts.clients(account).eks_in(region);
        match eks::describe_cluster(&eks, name, region).await {
            Err(Error::NotFound { .. }) => Err(fleet::not_in_fleet(value, members)),
            other => other.map(drop),
        }
    }))
    .await
    .map(drop)
}

/// The release cleanup uninstalls, on the connection that reaches its cluster.
fn uninstalled(args: &CleanupArgs, reached: &Reached) -> helm::Release {
    let release = &args.release;
    kube::existing_release(
        &release.release,
        &release.namespace,
        release.timeout.as_secs(),
        reached,
    )
}

/// A cluster to clean as the fleet knows it: its ARN, id and roles.
struct Found<'a> {
    arn: &'a str,
    cluster_id: String,
    roles: Vec<iam::Role>,
}

/// Reads one cluster (its release and objects when its API answers) and plans its cleanup.
async fn discover_cluster(
    accounts: &Accounts,
    args: &CleanupArgs,
    reacher: &Reacher<'_>,
    explicit_context: Option<&str>,
    Found {
        arn,
        cluster_id,
        roles,
    }: Found<'_>,
    still_trusting: &HashMap<String, Vec<String>>,
) -> Discovered {
    let (region, account, name) = names::parse_eks_cluster_arn(arn).unwrap_or_default();
    let mut cluster = ClusterCleanup {
        name: name.to_owned(),
        cluster_id,
        region: region.to_owned(),
        account: account.to_owned(),
        roles,
        // Replaced by the release as found once the cluster's API answers.
        release: uninstalled(
            args,
            &Reached {
                context: arn.to_owned(),
                kubeconfig: None,
                direct: false,
                server: None,
            },
        ),
        kube: None,
    };
    // The AWS side is read from the roles alone, beside the Kubernetes side.
    let (scope, roles) = (cluster.cluster_id.clone(), cluster.roles.clone());
    let (kube_steps, aws_steps) = tokio::join!(
        kubernetes_steps(accounts, args, reacher, explicit_context, &mut cluster),
        aws_steps(accounts.fleet(), &scope, &roles, still_trusting),
    );
    let steps = kube_steps.and_then(|mut steps| {
        steps.extend(aws_steps?);
        Ok(steps)
    });
    (cluster, steps)
}

fn cluster_step(step: Step, op: CleanupOp) -> CleanupStep {
    Planned {
        step,
        op,
        target: None,
    }
}

/// The release and the Kubernetes objects, or a note saying why they are skipped: a deleted
/// cluster has none left, and an unreachable API is skipped unless `--strict`.
async fn kubernetes_steps(
    accounts: &Accounts,
    args: &CleanupArgs,
    reacher: &Reacher<'_>,
    explicit_context: Option<&str>,
    cluster: &mut ClusterCleanup,
) -> Result<Vec<CleanupStep>, Error> {
    let scope = cluster.cluster_id.clone();
    let skipped = |reason: String| {
        vec![cluster_step(
            Step::new(
                &scope,
                ResourceKind::HelmRelease,
                &args.release.release,
                Action::Keep,
            )
            .with_detail(reason),
            CleanupOp::Nothing,
        )]
    };
    let clients = accounts.clients(&cluster.account);
    let described = match eks::describe_cluster(
        &clients.eks_in(&cluster.region),
        &cluster.name,
        &cluster.region,
    )
    .await
    {
        Ok(described) => described,
        Err(Error::NotFound { .. }) => {
            return Ok(skipped(
                "the EKS cluster no longer exists: only its AWS resources are removed".to_owned(),
            ));
        }
        Err(err) => return Err(err),
    };
    let found = async {
        let reached = reacher.reach(&described, explicit_context, accounts.fleet_account())?;
        let read = async {
            let client = kube::open(&reached, &described.arn).await?;
            let release = uninstalled(args, &reached);
            let (installed, helm_release) = tokio::try_join!(
                kube_objects::observe_installed(
                    &client,
                    &args.release.namespace,
                    &args.release.release
                ),
                helm::installed(&args.release.helm, &release),
            )?;
            Ok::<_, Error>((client, release, installed, helm_release))
        }
        .await;
        match read {
            Ok(found) => Ok(found),
            Err(err) => Err(kube::explain_refusal(err, &reached, &described, &clients.sts).await),
        }
    }
    .await;
    let (client, release, installed, helm_release) = match found {
        Ok(found) => found,
        // A context the user named that is not there or reaches another cluster is a mistake
        // to correct, not an unreachable cluster: skipping it would remove the roles from under
        // a release that stays installed.
        Err(err @ Error::Kubeconfig { .. }) if explicit_context.is_some() => return Err(err),
        Err(
            err @ (Error::Kube { .. }
            | Error::ClusterUnreachable { .. }
            | Error::Kubeconfig { .. }
            | Error::Helm { .. }),
        ) if !args.strict => {
            return Ok(skipped(format!(
                "Kubernetes side skipped ({err}); rerun with a reachable context, or --strict to stop on it"
            )));
        }
        Err(err) => return Err(err),
    };
    let mut steps = Vec::new();
    if helm_release.is_some() {
        steps.push(cluster_step(
            Step::new(
                &scope,
                ResourceKind::HelmRelease,
                format!("{}/{}", release.namespace, release.name),
                Action::Delete,
            ),
            CleanupOp::Uninstall,
        ));
    }
    for step in kube_objects::cleanup_steps(&scope, &args.release.namespace, &installed) {
        let op = if step.action == Action::Delete {
            CleanupOp::Kube
        } else {
            CleanupOp::Nothing
        };
        steps.push(cluster_step(step, op));
    }
    cluster.release = release;
    cluster.kube = Some(client);
    Ok(steps)
}

/// The OIDC providers (when kcfed made them and nothing else trusts them), then the roles: a
/// rerun after an interruption still finds the cluster by its roles.
async fn aws_steps(
    clients: &Clients,
    scope: &str,
    roles: &[iam::Role],
    still_trusting: &HashMap<String, Vec<String>>,
) -> Result<Vec<CleanupStep>, Error> {
    let mut steps = Vec::new();
    let providers: HashSet<String> = roles
        .iter()
        .filter_map(|role| role.trust.as_ref())
        .flat_map(|trust| iam::trusted_providers(trust).into_iter().map(str::to_owned))
        .collect();
    let found = try_join_all(providers.into_iter().map(|arn| async move {
        let provider = iam::get_oidc_provider(&clients.iam, &arn).await?;
        Ok::<_, Error>(provider.map(|provider| (arn, provider)))
    }))
    .await?;
    for (arn, provider) in found.into_iter().flatten() {
        let others = still_trusting.get(&arn).map_or(&[][..], Vec::as_slice);
        let (step, op) = oidc::plan_cleanup(scope, &arn, &provider, others);
        steps.push(cluster_step(step, op));
    }
    for role in roles {
        let (step, op) = roles::plan_cleanup(scope, role);
        steps.push(cluster_step(step, op));
    }
    Ok(steps)
}

/// The shared policies, the bucket and the workspace, each only when kcfed's tags say it made
/// them for this fleet.
async fn plan_fleet(
    clients: &Clients,
    fleet: &FleetNames,
    workspace: &amp::Workspace,
) -> Result<Vec<CleanupStep>, Error> {
    let store = workspace.tags.get(tags::BUCKET).map(|bucket| {
        let region = workspace.tags.get(tags::BUCKET_REGION);
        StoreLocation::new(bucket, region.unwrap_or(&clients.region))
    });
    let iam_path = fleet.iam_path();
    let (policy_arns, bucket_state) =
        tokio::try_join!(iam::policy_arns_under(&clients.iam, &iam_path), async {
            match &store {
                Some(store) => s3::inspect(&clients.s3_in(&store.region), &store.bucket)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },)?;
    let mut steps = policies::plan_cleanup(policy_arns);
    if let (Some(store), Some(state)) = (&store, &bucket_state) {
        steps.extend(bucket::plan_cleanup(workspace, store, state));
    }
    steps.push(workspace::plan_cleanup(workspace));
    Ok(steps
        .into_iter()
        .map(|(step, op)| cluster_step(step, op))
        .collect())
}
