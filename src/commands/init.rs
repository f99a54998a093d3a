//! `kcfed init primary`: the fleet's workspace, bucket and policies, and everything the primary
//! cluster needs, planned from read-only calls and then applied.

use std::collections::{BTreeSet, HashMap};

use crate::aws::accounts::{self, Accounts};
use crate::aws::config::{self, Clients};
use crate::aws::{amp, eks, s3, sts};
use crate::chart::{self, ChartLine};
use crate::cli::{ClusterRole, InitPrimaryArgs};
use crate::engine::report::Finished;
use crate::engine::run as engine;
use crate::error::Error;
use crate::fleet::{self, Anchor, Fleet, IdentityMode, Target};
use crate::helm;
use crate::kube;
use crate::kube::{KubeClients, Reacher, release};
use crate::names::{self, tags};
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::{self, Renderer, StoreLocation};
use crate::resources::apply::{Applier, Direction, Replanned};
use crate::resources::fleet_lookup::FleetLookup;
use crate::resources::member_record::{self, FleetMembers};
use crate::resources::op::{Op, Planned, fleet_step};
use crate::resources::{bucket, cluster, policies, quotas, shared_roles, workspace};
use crate::validate;

/// Reads in two rounds, each of calls made at the same time: first what needs nothing but the
/// flags (account, cluster, workspace by alias, helm), then everything named from those
/// (bucket, policies, OIDC provider, roles, Kubernetes objects, release). Then the plan.
pub async fn run(args: &InitPrimaryArgs) -> Result<Finished, Error> {
    validate::init_primary(args)?;
    let user_values = render::user_values(&args.chart.values)?;
    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;

    // With no --cluster, the current kube context names the cluster (and its region and
    // account); so does a --cluster ARN.
    let cluster_ref = match &args.cluster {
        Some(value) => reacher
            .locate_all(std::slice::from_ref(value), args.aws.region.is_some())
            .remove(0),
        None => kube::current_eks_cluster(reacher.kubeconfig()).ok_or_else(|| Error::Usage {
            message: "no --cluster given and the current kube context is not an EKS cluster"
                .to_owned(),
            fix: "pass --cluster NAME (and --region), or switch to the cluster's context"
                .to_owned(),
        })?,
    };
    let (cluster_name, cluster_region) = names::parse_cluster_ref(&cluster_ref, None);
    let mut aws_args = args.aws.clone();
    if let Some(region) = cluster_region {
        aws_args.region.get_or_insert_with(|| region.to_owned());
    }
    let clients = Clients::new(config::load(&aws_args).await?).ok_or_else(validate::no_region)?;
    let lookup = FleetLookup::new(&clients, &args.workspace);
    let cluster_account = accounts::of_cluster(&cluster_ref);
    let cluster_region = cluster_region.unwrap_or(&clients.region);
    // A cluster named without its account is in the caller's: described beside the rest.
    let (helm_ready, caller, described, workspace) = tokio::join!(
        helm::ensure_supported(&args.helm.path),
        sts::caller(&clients.sts),
        async {
            match cluster_account {
                None => eks::describe_cluster(&clients.eks, cluster_name, cluster_region)
                    .await
                    .map(Some),
                Some(_) => Ok(None),
            }
        },
        lookup.workspace(),
    );
    let (caller, described, workspace) = (caller?, described?, workspace?);
    // helm reads the cluster's release: without it a run stops here, and a dry run still plans
    // the AWS side with the cluster failed for that reason.
    let helm_ready = match helm_ready {
        Err(err) if !args.run.dry_run => return Err(err),
        ready => ready,
    };
    let account_id = caller.account.clone();
    // A fleet without a workspace is found by its bucket, read once for the plan too.
    let (found, bucket_read) = lookup
        .find(&clients.s3_in(&lookup.region), &account_id, workspace)
        .await?;
    let existing = found.map(|found| Fleet::from_found(&account_id, &lookup.region, found).0);
    let other_accounts = accounts::of_clusters(std::slice::from_ref(&cluster_ref));
    let (accounts, known) = tokio::try_join!(
        Accounts::resolve(clients.clone(), &caller, &args.accounts, &other_accounts),
        async {
            match &existing {
                Some(existing) => member_record::fleet_members(&clients, existing).await,
                None => Ok(FleetMembers::default()),
            }
        },
    )?;
    let cluster = match (described, cluster_account) {
        (Some(cluster), _) => cluster,
        (None, account) => {
            let eks = accounts
                .clients(account.unwrap_or(&account_id))
                .eks_in(cluster_region);
            eks::describe_cluster(&eks, cluster_name, cluster_region).await?
        }
    };
    let reached = reacher.reach(&cluster, args.kube_context.as_deref(), &account_id)?;
    let recorded_identity = existing.as_ref().map(|fleet| fleet.identity);
    let fleet_version = match &existing {
        Some(fleet) => fleet.chart_version.clone(),
        None if args.quick_start => chart::NEW_AMP_FLEET_CHART_VERSION.to_owned(),
        None => chart::NEW_FLEET_CHART_VERSION.to_owned(),
    };
    // Without --chart-version the primary keeps the version its release runs. A release that
    // cannot be read here is read again with the cluster's other objects, and fails there.
    let listing = match (&args.chart.chart_version, &helm_ready) {
        (None, Ok(_)) => {
            let release = release(&args.chart, &args.helm, &reached, &fleet_version);
            match helm::listed(&args.helm.path, &release).await {
                Ok(listed) => helm::Listing::Read(listed),
                Err(_) => helm::Listing::Unread,
            }
        }
        _ => helm::Listing::Unread,
    };
    let installed_version = match &listing {
        helm::Listing::Read(Some(listed)) => Some(listed.chart_version.clone()),
        _ => None,
    };
    let chart_version = &chart::version_to_install(
        args.chart.chart_version.as_deref(),
        installed_version.as_deref(),
        &fleet_version,
    );
    validate::bucket_for_the_line(Some(chart_version), args.quick_start)?;
    let identity = IdentityMode::chosen(
        args.identity,
        recorded_identity,
        chart_version,
        !args.quick_start,
    )?;
    if let Some(reason) = identity.refused(chart_version, !args.quick_start)? {
        return Err(Error::Usage {
            message: format!("--identity {identity} cannot serve this fleet"),
            fix: reason,
        });
    }
    let amp = ChartLine::of(chart_version)?.uses_amp();
    // The bucket: the fleet's, unless another is asked for. Others are in the cluster's region,
    // except one that is to hold the record of a fleet without a workspace, which every command
    // finds in the fleet's region.
    let store = (!args.quick_start).then(|| match (&args.workspace.bucket, &existing) {
        (
            None,
            Some(Fleet {
                store: Some(store), ..
            }),
        ) => store.clone(),
        (asked, _) if amp => StoreLocation::new(
            &asked
                .clone()
                .unwrap_or_else(|| names::default_bucket(&account_id, &clients.region)),
            &clients.region,
        ),
        _ => lookup.bucket(&account_id),
    });
    // A new fleet anchors on a workspace only when its primary reaches AMP.
    let anchor = match existing {
        Some(existing) => existing.anchor,
        None => match &store {
            Some(store) if !amp => Anchor::Bucket {
                id: names::bucket_fleet_id(&store.bucket),
                record: Default::default(),
            },
            _ => Anchor::Workspace(None),
        },
    };
    // Written once a fleet uses Pod Identity, and kept when it moves back.
    let identity_tag =
        anchor.record().contains_key(tags::IDENTITY) || identity == IdentityMode::PodIdentity;
    let FleetLookup {
        region: workspace_region,
        alias,
        client: amp_client,
        ..
    } = lookup;
    let mut fleet = Fleet {
        identity,
        store,
        account_id,
        workspace_region,
        anchor,
        chart_version: chart_version.clone(),
    };
    if amp && fleet.on_bucket() {
        return Err(fleet.no_workspace_for(chart_version));
    }
    let renderer = Renderer::new();
    let (cluster_id, id_shared_with) = fleet::choose_ids(
        &known.members,
        &[(cluster.arn.as_str(), args.cluster_id.as_deref())],
    )?
    .remove(0);
    let target = Target {
        role: ClusterRole::Primary,
        cluster,
        cluster_id,
        id_shared_with,
        release: release(&args.chart, &args.helm, &reached, chart_version),
        storage_class: args.chart.storage_class.clone(),
        user_values,
        cloud_integration_secret: args.cloud_integration_secret.clone(),
    };
    // The cluster's side may fail to read (unreachable, refusing) while the fleet's AWS side
    // reads: the plan still shows that side, with the cluster marked failed.
    let other_accounts: BTreeSet<String> = match identity {
        IdentityMode::PodIdentity if target.cluster.account != fleet.account_id => {
            BTreeSet::from([target.cluster.account.clone()])
        }
        _ => BTreeSet::new(),
    };
    let (bucket_state, policies, shared_roles, iam_quotas, observed_cluster) = tokio::join!(
        async {
            match (&fleet.store, bucket_read) {
                (Some(store), Some((read, state))) if read == store.bucket => Ok(Some(state)),
                (Some(store), _) => s3::inspect(&clients.s3, &store.bucket).await.map(Some),
                (None, _) => Ok(None),
            }
        },
        policies::observe(&clients, &fleet),
        async {
            match identity {
                IdentityMode::PodIdentity => {
                    shared_roles::observe(&accounts, &fleet, &other_accounts)
                        .await
                        .map(Some)
                }
                IdentityMode::Irsa => Ok(None),
            }
        },
        quotas::observe(&clients, &fleet.account_id, 1),
        async {
            helm_ready?;
            let sts = &accounts.clients(&target.cluster.account).sts;
            let eks = accounts
                .clients(&target.cluster.account)
                .eks_in(&target.cluster.region);
            kube::read_cluster(&reached, &target.cluster, sts, async |client| {
                let reading = cluster::Reading {
                    clients: &clients,
                    eks: &eks,
                    kube_client: &client,
                    helm_path: &args.helm.path,
                    listing: listing.clone(),
                };
                let observed = cluster::observe(reading, &fleet, &target, &renderer)
                    .await?
                    .with_members(&clients.iam, &fleet, &known, &target)
                    .await?;
                Ok((client, observed))
            })
            .await
        },
    );
    let (bucket_state, policies, shared_roles, iam_quotas) =
        (bucket_state?, policies?, shared_roles?, iam_quotas?);
    // A bucket the user brought may live in another region: the store config must say where.
    if let (Some(store), Some(s3::BucketState::Owned(bucket))) = (&mut fleet.store, &bucket_state)
        && let Some(region) = &bucket.region
        && region != &store.region
    {
        *store = StoreLocation::new(&store.bucket, region);
    }

    let version_tag = fleet.anchor.record().contains_key(tags::CHART_VERSION)
        || *chart_version
            != chart::fleet_chart_version(None, identity == IdentityMode::PodIdentity);
    // The fleet's record, on its workspace (with where its bucket is) or on its bucket.
    let on_workspace = !fleet.on_bucket();
    let mut fleet_tags = workspace::fleet_tags(
        fleet.store.as_ref().filter(|_| on_workspace),
        &target.cluster.arn,
        version_tag.then_some(chart_version.as_str()),
        identity_tag.then_some(identity),
    );
    if let (true, Some(store), Some(s3::BucketState::Missing)) =
        (on_workspace, &fleet.store, &bucket_state)
    {
        fleet_tags.push((tags::BUCKET_MADE.to_owned(), store.bucket.clone()));
    }
    let new_fleet = !fleet.has_id();
    let (kube_client, observed_cluster) = match observed_cluster {
        Ok((client, observed)) => (Some(client), Ok(observed)),
        Err(err) => (None, Err(err)),
    };
    // Planned once to show, and for a new fleet once more, from the same reads, when its
    // workspace exists and its id names the rest.
    let plan_fleet = |fleet: &Fleet| -> Result<Vec<Planned>, Error> {
        let mut planned = Vec::new();
        if on_workspace {
            planned.push(plan_workspace(
                fleet.workspace(),
                &alias,
                &fleet.account_id,
                &fleet.workspace_region,
                &target.cluster,
                &fleet_tags,
            ));
        }
        if let (Some(store), Some(state)) = (&fleet.store, &bucket_state) {
            let record = fleet.anchor.record();
            let bucket_step =
                |action| Step::new(FLEET_SCOPE, ResourceKind::S3Bucket, &store.bucket, action);
            if let (false, Some(detail)) = (on_workspace, other_primary(record, &target.cluster)) {
                planned.push(fleet_step(
                    bucket_step(Action::Conflict).with_detail(detail),
                    Op::Nothing,
                ));
            } else {
                let (step, change) = bucket::plan(
                    fleet.id(),
                    new_fleet,
                    store,
                    state,
                    bucket::Record {
                        made_by_kcfed: record.get(tags::BUCKET_MADE) == Some(&store.bucket),
                        tags: if on_workspace { &[] } else { &fleet_tags },
                    },
                    &renderer,
                )?;
                planned.push(fleet_step(step, change));
            }
        }
        for (step, change) in policies::plan(fleet, &policies, &renderer, amp)? {
            planned.push(fleet_step(step, change));
        }
        if let Some(shared_roles) = &shared_roles {
            for (step, change) in shared_roles::plan(&renderer, fleet, shared_roles, amp)? {
                planned.push(fleet_step(step, change));
            }
        }
        Ok(planned)
    };
    let cluster_plan = |planned| engine::ClusterPlan {
        name: target.cluster.name.clone(),
        cluster_id: target.cluster_id.clone(),
        account: target.cluster.account.clone(),
        planned,
    };
    let plan_cluster = |fleet: &Fleet, observed: &cluster::ObservedCluster| {
        cluster_plan(cluster::plan(fleet, &target, 0, observed, &renderer))
    };
    let planned = plan_fleet(&fleet)?;
    let (mut cluster, observed) = match observed_cluster {
        Ok(observed) => (plan_cluster(&fleet, &observed), Some(observed)),
        Err(err) => (cluster_plan(Err(err)), None),
    };
    quotas::enforce(&iam_quotas, std::slice::from_mut(&mut cluster));
    let replan = |created: &Fleet| -> Result<Replanned, Error> {
        let observed = observed
            .as_ref()
            .expect("a fleet is applied only once its cluster is planned");
        Ok((plan_fleet(created)?, vec![plan_cluster(created, observed)]))
    };

    let fleet_account = fleet.account_id.clone();
    let kube_clients = KubeClients::new([(target.release.clone(), kube_client)]);
    let mut applier = Applier::new(
        &accounts,
        amp_client,
        args.helm.path.clone(),
        args.helm.timeout,
        kube_clients,
        Direction::Build,
    );
    applier.installs = Some((fleet, vec![target.clone()]));
    if new_fleet {
        applier.replan = Some(Box::new(replan));
    }
    let run = engine::Run {
        identities: accounts.identities(),
        command: "init primary",
        fleet_account: &fleet_account,
        options: (&args.run).into(),
        order: engine::Order::FleetFirst,
        concurrency: 1,
    };
    Ok(engine::plan_and_apply(run, planned, vec![cluster], &applier).await)
}

fn plan_workspace(
    workspace: Option<&amp::Workspace>,
    alias: &str,
    account_id: &str,
    region: &str,
    cluster: &eks::Cluster,
    fleet_tags: &[(String, String)],
) -> Planned {
    let step = |action| Step::new(FLEET_SCOPE, ResourceKind::AmpWorkspace, alias, action);
    let Some(workspace) = workspace else {
        return fleet_step(
            step(Action::Create).with_detail(format!("in {region}")),
            Op::CreateWorkspace {
                alias: alias.to_owned(),
                client_token: names::workspace_client_token(account_id, region, alias),
                tags: fleet_tags.to_vec(),
            },
        );
    };
    let step = |action| {
        Step::new(
            FLEET_SCOPE,
            ResourceKind::AmpWorkspace,
            workspace.alias.as_deref().unwrap_or(&workspace.id),
            action,
        )
        .with_id(workspace.id.clone())
    };
    if let Some(detail) = other_primary(&workspace.tags, cluster) {
        return fleet_step(step(Action::Conflict).with_detail(detail), Op::Nothing);
    }
    let missing = fleet_tags
        .iter()
        .any(|(key, value)| workspace.tags.get(key) != Some(value));
    if missing {
        fleet_step(
            step(Action::Update).with_detail("fleet tags (bucket, primary cluster, identity mode)"),
            Op::TagWorkspace {
                workspace: Box::new(workspace.clone()),
                tags: fleet_tags.to_vec(),
            },
        )
    } else {
        fleet_step(step(Action::Exists), Op::Nothing)
    }
}

/// Why a fleet whose record names another primary cannot take this cluster as its primary.
fn other_primary(record: &HashMap<String, String>, cluster: &eks::Cluster) -> Option<String> {
    record
        .get(tags::PRIMARY_CLUSTER)
        .filter(|primary| **primary != cluster.arn)
        .map(|primary| {
            format!("the fleet's primary is {primary}: add this cluster with `kcfed join cluster`")
        })
}
