//! `kcfed cleanup`: removes exactly what kcfed made, found by its IAM path and tags, never by
//! name alone. Clusters go first (release, Kubernetes objects, OIDC provider, roles); with `--all`
//! the fleet's policies, bucket and workspace follow once no cluster uses them.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use futures::future::try_join_all;

use crate::aws::accounts::{self, Accounts};
use crate::aws::config::{self, Clients};
use crate::aws::{amp, eks, iam, s3, sts};
use crate::cli::CleanupArgs;
use crate::cluster_id::{self, Member};
use crate::engine::report::Finished;
use crate::engine::run::{self as engine, ClusterPlan};
use crate::engine::terminal::ReadProgress;
use crate::error::Error;
use crate::fleet::{self, Fleet};
use crate::helm;
use crate::kube;
use crate::kube::{KubeClients, Reached, Reacher};
use crate::names::{self, FleetNames, ServiceAccountKind};
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::StoreLocation;
use crate::resources::apply::{Applier, Direction};
use crate::resources::bucket::{BucketChange, BucketCleanup};
use crate::resources::fleet_lookup::FleetLookup;
use crate::resources::op::{Op, Planned, cluster_step, fleet_step};
use crate::resources::{
    bucket, irsa_remains, kube_objects, member_record, pod_identity, policies, roles, shared_roles,
    workspace,
};
use crate::validate;

mod amp_workspace;

/// One cluster as read, with its cleanup planned or the reason it could not be.
type Discovered = (ClusterCleanup, Result<Vec<Planned>, Error>);

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

pub async fn run(args: &CleanupArgs) -> Result<Finished, Error> {
    validate::cleanup(args)?;
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let lookup = FleetLookup::new(&clients, &args.workspace);
    let ((), caller, workspace) = tokio::try_join!(
        helm::ensure_supported(&args.release.helm),
        sts::caller(&clients.sts),
        async {
            match args.workspace.workspace_id.as_deref() {
                // A workspace already deleted by an earlier cleanup is nothing left to do.
                Some(id) => amp::describe(&lookup.client, id).await,
                None => lookup.workspace().await,
            }
        },
    )?;
    let account_id = caller.account.clone();
    let (found, _) = lookup
        .find(&clients.s3_in(&lookup.region), &account_id, workspace)
        .await?;
    let mut run = engine::Run {
        identities: vec![caller.clone()],
        command: "cleanup",
        fleet_account: &account_id,
        options: (&args.run).into(),
        order: engine::Order::FleetLast,
        concurrency: 4,
    };
    let Some(found) = found else {
        let accounts = Accounts::resolve(
            clients.clone(),
            &caller,
            &args.accounts,
            &Default::default(),
        )
        .await?;
        let nothing = teardown(&accounts, lookup.client.clone(), args, Vec::new());
        return Ok(engine::plan_and_apply(run, Vec::new(), Vec::new(), &nothing).await);
    };
    let (shared, _) = Fleet::from_found(&account_id, &lookup.region, found);
    if args.amp_workspace {
        return amp_workspace::retire(&clients, args, &caller, run, lookup.client, shared).await;
    }
    let fleet = shared.names();

    let (roles_by_cluster, record_keys) = tokio::try_join!(
        fleet::roles_by_cluster(&clients.iam, &fleet),
        member_record::read_fleet(&clients, &shared),
    )?;

    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let named = reacher.locate_all(&args.clusters, args.aws.region.is_some());
    let mut members = fleet::members_of(&roles_by_cluster);
    let recorded = member_record::members(&record_keys, fleet.partition);
    member_record::add_to(&mut members, &recorded);
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
    let emptied = emptied_accounts(&account_id, &members, &selected);
    let (mut still_trusting, mut fleet_steps, shared_role_steps) = tokio::try_join!(
        async {
            if selected.is_empty() {
                Ok(HashMap::new())
            } else {
                iam::roles_by_trusted_provider(&clients.iam).await
            }
        },
        async {
            if args.all {
                plan_fleet(&clients, &shared).await
            } else {
                Ok(Vec::new())
            }
        },
        plan_shared_roles(
            &accounts,
            &fleet,
            args.all,
            &emptied,
            roles_by_cluster.get("").map_or(&[][..], Vec::as_slice),
        ),
    )?;
    fleet_steps.extend(shared_role_steps);
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
            let records = member_record::of_cluster(&record_keys, arn);
            let pod_identity = shared.keeps_records();
            let store = shared.store.as_ref();
            async move {
                let found = Found {
                    target: index,
                    arn,
                    cluster_id,
                    roles,
                    pod_identity,
                    record: store.zip(Some(records)),
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
    let mut clusters = Vec::new();
    for (_, (cluster, planned)) in discovered {
        cluster_plans.push(ClusterPlan {
            name: cluster.name.clone(),
            cluster_id: cluster.cluster_id.clone(),
            account: cluster.account.clone(),
            planned,
        });
        clusters.push(cluster);
    }
    let applier = teardown(&accounts, lookup.client.clone(), args, clusters);
    Ok(engine::plan_and_apply(run, fleet_steps, cluster_plans, &applier).await)
}

/// What applies a cleanup: on each cluster's own connection.
fn teardown<'a>(
    accounts: &'a Accounts,
    amp: aws_sdk_amp::Client,
    args: &CleanupArgs,
    clusters: Vec<ClusterCleanup>,
) -> Applier<'a> {
    let kube_clients = KubeClients::new(
        clusters
            .into_iter()
            .map(|cluster| (cluster.release, cluster.kube)),
    );
    Applier::new(
        accounts,
        amp,
        args.release.helm.clone(),
        args.release.timeout,
        kube_clients,
        Direction::Teardown,
    )
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

/// A cluster to clean as the fleet knows it: its place among the selected clusters (its
/// steps' target), its ARN, id and roles.
struct Found<'a> {
    target: usize,
    arn: &'a str,
    cluster_id: String,
    roles: Vec<iam::Role>,
    /// Whether the fleet has used Pod Identity: the cluster may have associations.
    pod_identity: bool,
    /// The fleet's bucket and the keys of the cluster's member record.
    record: Option<(&'a StoreLocation, Vec<&'a str>)>,
}

/// Reads one cluster (its release and objects when its API answers) and plans its cleanup.
async fn discover_cluster(
    accounts: &Accounts,
    args: &CleanupArgs,
    reacher: &Reacher<'_>,
    explicit_context: Option<&str>,
    Found {
        target,
        arn,
        cluster_id,
        roles,
        pod_identity,
        record,
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
    let location = pod_identity::ClusterLocation {
        account: account.to_owned(),
        region: region.to_owned(),
    };
    let (kube_steps, aws_steps, association_steps) = tokio::join!(
        kubernetes_steps(accounts, args, reacher, explicit_context, &mut cluster),
        aws_steps(accounts.fleet(), &scope, &roles, still_trusting),
        async {
            if pod_identity {
                association_steps(accounts, args, &scope, &location, name).await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let steps = kube_steps.and_then(|mut steps| {
        steps.extend(association_steps?);
        steps.extend(aws_steps?);
        if let Some((step, removal)) =
            record.and_then(|(store, keys)| member_record::plan_cleanup(&scope, store, &keys))
        {
            steps.push((step, removal.into()));
        }
        Ok(steps
            .into_iter()
            .map(|(step, op)| cluster_step(step, op, target))
            .collect())
    });
    (cluster, steps)
}

/// The release and the Kubernetes objects, or a note saying why they are skipped: a deleted
/// cluster has none left, and an unreachable API is skipped unless `--strict`.
async fn kubernetes_steps(
    accounts: &Accounts,
    args: &CleanupArgs,
    reacher: &Reacher<'_>,
    explicit_context: Option<&str>,
    cluster: &mut ClusterCleanup,
) -> Result<Vec<(Step, Op)>, Error> {
    let scope = cluster.cluster_id.clone();
    let skipped = |reason: String| {
        vec![(
            Step::new(
                &scope,
                ResourceKind::HelmRelease,
                &args.release.release,
                Action::Keep,
            )
            .with_detail(reason),
            Op::Nothing,
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
        kube::read_cluster(&reached, &described, &clients.sts, async |client| {
            let release = uninstalled(args, &reached);
            let (installed, helm_release) = tokio::try_join!(
                kube_objects::observe_installed(
                    &client,
                    &args.release.namespace,
                    &args.release.release
                ),
                helm::installed(&args.release.helm, &release, helm::Listing::Unread),
            )?;
            Ok((client, release, installed, helm_release))
        })
        .await
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
        steps.push((
            Step::new(
                &scope,
                ResourceKind::HelmRelease,
                format!("{}/{}", release.namespace, release.name),
                Action::Delete,
            ),
            Op::Uninstall(Box::new(release.clone())),
        ));
    }
    for (step, object) in kube_objects::plan_cleanup(&scope, &args.release.namespace, &installed) {
        steps.push((step, object.into()));
    }
    cluster.release = release;
    cluster.kube = Some(client);
    Ok(steps)
}

/// The Pod Identity associations kcfed made for the release's service accounts; none once the
/// EKS cluster is gone (its associations went with it).
async fn association_steps(
    accounts: &Accounts,
    args: &CleanupArgs,
    scope: &str,
    location: &pod_identity::ClusterLocation,
    cluster: &str,
) -> Result<Vec<(Step, Op)>, Error> {
    let eks = accounts.clients(&location.account).eks_in(&location.region);
    let namespace = &args.release.namespace;
    let service_accounts = ServiceAccountKind::ALL.map(ServiceAccountKind::service_account);
    let found = eks::associations_in(&eks, cluster, namespace, &service_accounts).await;
    let found: Vec<eks::Association> = match found {
        Ok(found) => found,
        Err(Error::Aws { .. }) if !cluster_exists(&eks, cluster, &location.region).await? => {
            Vec::new()
        }
        Err(err) => return Err(err),
    };
    Ok(pod_identity::plan_cleanup(scope, location, &found)
        .into_iter()
        .map(|(step, delete)| (step, delete.into()))
        .collect())
}

async fn cluster_exists(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    region: &str,
) -> Result<bool, Error> {
    match eks::describe_cluster(eks, cluster, region).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}

/// The accounts other than the fleet's whose every member this cleanup removes: their shared
/// Pod Identity roles serve nobody afterwards.
fn emptied_accounts(fleet_account: &str, members: &[Member], selected: &[String]) -> Vec<String> {
    let account_of = |arn: &str| {
        names::parse_eks_cluster_arn(arn)
            .map_or(String::new(), |(_, account, _)| account.to_owned())
    };
    let staying: HashSet<String> = members
        .iter()
        .filter(|member| !selected.contains(&member.arn))
        .map(|member| account_of(&member.arn))
        .collect();
    let mut emptied: Vec<String> = selected
        .iter()
        .map(|arn| account_of(arn))
        .filter(|account| account != fleet_account && !staying.contains(account))
        .collect();
    emptied.sort();
    emptied.dedup();
    emptied
}

/// The shared Pod Identity roles cleanup removes: the fleet account's and its target roles
/// (`fleet_roles`: those of its path that name no cluster) with `--all`, and those of every
/// emptied account.
async fn plan_shared_roles(
    accounts: &Accounts,
    fleet: &FleetNames,
    all: bool,
    emptied: &[String],
    fleet_roles: &[iam::Role],
) -> Result<Vec<Planned>, Error> {
    let shared: Vec<String> = ServiceAccountKind::ALL
        .into_iter()
        .map(|kind| fleet.shared_role_name(kind))
        .collect();
    let others = try_join_all(emptied.iter().flat_map(|account| {
        let client = &accounts.clients(account).iam;
        shared.iter().map(move |name| iam::get_role(client, name))
    }))
    .await?;
    let targets: Vec<String> = ServiceAccountKind::ALL
        .into_iter()
        .map(|kind| fleet.target_role_name(kind))
        .collect();
    let fleet_roles = fleet_roles
        .iter()
        .filter(|_| all)
        .filter(|role| shared.contains(&role.name) || targets.contains(&role.name));
    Ok(fleet_roles
        .chain(others.iter().flatten())
        .map(|role| {
            let (step, delete) = roles::plan_cleanup(FLEET_SCOPE, role);
            let op = if delete {
                Op::DeleteRole(Box::new(role.clone()))
            } else {
                Op::Nothing
            };
            fleet_step(step.in_account(shared_roles::role_account(&role.arn)), op)
        })
        .collect())
}

/// The cluster's IRSA roles and the providers they trust.
async fn aws_steps(
    clients: &Clients,
    scope: &str,
    roles: &[iam::Role],
    still_trusting: &HashMap<String, Vec<String>>,
) -> Result<Vec<(Step, Op)>, Error> {
    let providers = irsa_remains::trusted_providers(&clients.iam, roles).await?;
    Ok(irsa_remains::plan_removal(
        scope,
        roles,
        &providers,
        still_trusting,
    ))
}

/// The shared policies, the bucket and the workspace, each only when kcfed's tags say it made
/// them for this fleet.
async fn plan_fleet(clients: &Clients, fleet: &Fleet) -> Result<Vec<Planned>, Error> {
    let store = &fleet.store;
    let iam_path = fleet.names().iam_path();
    let (policy_arns, bucket_state) =
        tokio::try_join!(iam::policy_arns_under(&clients.iam, &iam_path), async {
            match &store {
                Some(store) => s3::inspect(&clients.s3_in(&store.region), &store.bucket)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },)?;
    let mut steps: Vec<Planned> = policies::plan_cleanup(policy_arns)
        .into_iter()
        .map(|(step, arn)| fleet_step(step, Op::DeletePolicy(arn)))
        .collect();
    if let (Some(store), Some(state)) = (store, &bucket_state)
        && let Some((step, cleanup)) =
            bucket::plan_cleanup(fleet.id(), fleet.anchor.record(), store, state)
    {
        let op = match cleanup {
            BucketCleanup::Delete => Op::DeleteBucket(store.clone()),
            BucketCleanup::Untag(kept) => Op::Bucket(BucketChange::tags_only(store, kept)),
            BucketCleanup::Nothing => Op::Nothing,
        };
        steps.push(fleet_step(step, op));
    }
    if let Some(workspace) = fleet.workspace() {
        let (step, delete) = workspace::plan_cleanup(workspace);
        let op = if delete {
            Op::DeleteWorkspace(workspace.id.clone())
        } else {
            Op::Nothing
        };
        steps.push(fleet_step(step, op));
    }
    Ok(steps)
}
