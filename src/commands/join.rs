//! `kcfed join cluster`: add clusters to an existing fleet as agents, several at a time. The fleet
//! (workspace, bucket, primary) is found from the tags `init primary` left on the workspace.

use std::collections::BTreeSet;

use futures::StreamExt;

use crate::aws::accounts::{self, Accounts};
use crate::aws::config::{self, Clients};
use crate::aws::{eks, sts};
use crate::chart::{self, ChartLine};
use crate::cli::{ClusterRole, JoinClusterArgs};
use crate::engine::report::Finished;
use crate::engine::run::{self as engine, ClusterPlan};
use crate::engine::terminal::ReadProgress;
use crate::error::Error;
use crate::fleet::{self, Fleet, IdentityMode, Target};
use crate::helm;
use crate::kube;
use crate::kube::{KubeClients, Reacher, release};
use crate::names;
use crate::render::{self, Renderer, ValuesFile};
use crate::resources::apply::{Applier, Direction};
use crate::resources::cluster::{self, ObservedCluster};
use crate::resources::fleet_lookup::FleetLookup;
use crate::resources::member_record::{self, FleetMembers};
use crate::resources::op::fleet_step;
use crate::resources::{policies, quotas, shared_roles};
use crate::validate;

/// Finds the fleet (account, workspace, helm: at the same time), then reads every cluster in
/// its own pipeline (describe, context, observe), up to `--concurrency` at once, beside the
/// shared policies, and plans them. The plan is whole before the first change; then each
/// cluster applies on its own again.
pub async fn run(args: &JoinClusterArgs) -> Result<Finished, Error> {
    validate::join_cluster(args)?;
    let user_values = render::user_values(&args.chart.values)?;
    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let clusters = reacher.locate_all(&args.clusters, args.aws.region.is_some());
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let lookup = FleetLookup::new(&clients, &args.workspace);
    let (helm_ready, caller, workspace) = tokio::join!(
        helm::ensure_supported(&args.helm.path),
        sts::caller(&clients.sts),
        lookup.workspace(),
    );
    let (caller, workspace) = (caller?, workspace?);
    // helm reads each cluster's release: without it a run stops here, and a dry run still
    // plans the AWS side with each cluster failed for that reason.
    let helm_usable = match helm_ready {
        Err(err) if !args.run.dry_run => return Err(err),
        ready => ready.is_ok(),
    };
    let account_id = caller.account.clone();
    let (cluster_accounts, fleet_s3) = (
        accounts::of_clusters(&clusters),
        clients.s3_in(&lookup.region),
    );
    let (accounts, found) = tokio::try_join!(
        Accounts::resolve(clients.clone(), &caller, &args.accounts, &cluster_accounts),
        lookup.existing(&fleet_s3, &account_id, workspace),
    )?;
    let (fleet, primary) = Fleet::from_found(&account_id, &lookup.region, found);
    follows_the_fleet(args, &fleet)?;
    let known = member_record::fleet_members(&clients, &fleet).await?;
    let arns: Vec<String> = clusters
        .iter()
        .map(|value| {
            let (name, region) = names::parse_cluster_ref(value, Some(&clients.region));
            let region = region.unwrap_or_default();
            let account = accounts::of_cluster(value).unwrap_or(&account_id);
            names::eks_cluster_arn(names::partition(region), region, account, name)
        })
        .collect();
    let requested = arns
        .iter()
        .enumerate()
        .map(|(index, arn)| {
            (
                arn.as_str(),
                args.cluster_ids.get(index).map(String::as_str),
            )
        })
        .collect::<Vec<_>>();
    let ids = fleet::choose_ids(&known.members, &requested)?;
    let renderer = Renderer::new();
    let concurrency = usize::from(args.concurrency);
    let progress = ReadProgress::new("reading", clusters.len(), args.run.output);

    // A Pod Identity fleet's roles in the other accounts the clusters are in.
    let other_accounts: BTreeSet<String> = match fleet.identity {
        IdentityMode::PodIdentity => arns
            .iter()
            .filter_map(|arn| accounts::of_cluster(arn))
            .filter(|account| *account != account_id)
            .map(str::to_owned)
            .collect(),
        IdentityMode::Irsa => BTreeSet::new(),
    };
    let (policies, shared_roles, iam_quotas, mut observed) = tokio::join!(
        policies::observe(&clients, &fleet),
        async {
            match fleet.identity {
                IdentityMode::PodIdentity => {
                    shared_roles::observe(&accounts, &fleet, &other_accounts)
                        .await
                        .map(Some)
                }
                IdentityMode::Irsa => Ok(None),
            }
        },
        quotas::observe(&clients, &account_id, clusters.len()),
        futures::stream::iter(clusters.iter().enumerate().map(|(index, value)| {
            let discovery = Discovery {
                clients: &clients,
                accounts: &accounts,
                reacher: &reacher,
                user_values: &user_values,
                fleet: &fleet,
                known: &known,
                primary: primary.as_deref(),
                renderer: &renderer,
                helm_usable,
                args,
            };
            let (id, progress) = (&ids[index], &progress);
            async move {
                let observed = discovery.observe(index, value, id).await;
                progress.read(&id.0);
                (index, value, id, observed)
            }
        }))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>(),
    );
    drop(progress);
    // Whether a cluster of the run reaches AMP: one that does brings AMP's grants to the fleet.
    let amp = observed.iter().any(|(_, _, _, result)| {
        result
            .as_ref()
            .is_ok_and(|(target, _)| target.line().is_ok_and(ChartLine::uses_amp))
    });
    let mut fleet_steps: Vec<_> = policies::plan(&fleet, &policies?, &renderer, amp)?
        .into_iter()
        .map(|(step, change)| fleet_step(step, change))
        .collect();
    if let Some(shared_roles) = shared_roles? {
        for (step, change) in shared_roles::plan(&renderer, &fleet, &shared_roles, amp)? {
            fleet_steps.push(fleet_step(step, change));
        }
    }

    // The clusters keep the order they were given in; each step names its cluster by position.
    observed.sort_by_key(|(index, _, _, _)| *index);
    let mut targets = Vec::new();
    let mut cluster_plans = Vec::new();
    let mut failed = Vec::new();
    for (_, value, (cluster_id, _), result) in observed {
        match result {
            Ok((target, observed)) => {
                cluster_plans.push(ClusterPlan {
                    name: target.cluster.name.clone(),
                    cluster_id: target.cluster_id.clone(),
                    account: target.cluster.account.clone(),
                    planned: cluster::plan(&fleet, &target, targets.len(), &observed, &renderer),
                });
                targets.push(target);
            }
            Err(err) => failed.push(ClusterPlan {
                name: names::parse_cluster_ref(value, None).0.to_owned(),
                cluster_id: cluster_id.clone(),
                account: accounts::of_cluster(value)
                    .unwrap_or(&account_id)
                    .to_owned(),
                planned: Err(err),
            }),
        }
    }
    quotas::enforce(&iam_quotas?, &mut cluster_plans);
    cluster_plans.extend(failed);

    let kube_clients =
        KubeClients::new(targets.iter().map(|target| (target.release.clone(), None)));
    let mut applier = Applier::new(
        &accounts,
        lookup.client,
        args.helm.path.clone(),
        args.helm.timeout,
        kube_clients,
        Direction::Build,
    );
    applier.installs = Some((fleet, targets));
    let run = engine::Run {
        identities: accounts.identities(),
        command: "join cluster",
        fleet_account: &account_id,
        options: (&args.run).into(),
        order: engine::Order::FleetFirst,
        concurrency,
    };
    Ok(engine::plan_and_apply(run, fleet_steps, cluster_plans, &applier).await)
}

/// A join follows the fleet's identity mode: `--identity` only confirms it, and the chart
/// version must be one whose components can use it.
fn follows_the_fleet(args: &JoinClusterArgs, fleet: &Fleet) -> Result<(), Error> {
    if let Some(asked) = args.identity
        && asked != fleet.identity
    {
        return Err(Error::Usage {
            message: format!(
                "--identity {asked}: the fleet uses {}, and every cluster follows the fleet's mode",
                fleet.identity
            ),
            fix: format!(
                "drop --identity; to move the fleet, run `kcfed init primary --identity {asked}`, then join its clusters again"
            ),
        });
    }
    // Clusters that keep the version their release runs were checked when it was installed.
    let chart_version = args
        .chart
        .chart_version
        .as_deref()
        .unwrap_or(&fleet.chart_version);
    if let Some(reason) = ChartLine::of(chart_version)?.needs_bucket()
        && fleet.store.is_none()
    {
        return Err(Error::Usage {
            message: format!(
                "chart {chart_version} cannot serve this fleet, which was made with --quick-start and has no bucket: {reason}"
            ),
            fix: "keep the fleet's AMP line (2.8.7 at most), or give the fleet a bucket with `kcfed init primary` without --quick-start, then join again".to_owned(),
        });
    }
    if fleet.on_bucket() && ChartLine::of(chart_version)?.uses_amp() {
        return Err(fleet.no_workspace_for(chart_version));
    }
    match fleet
        .identity
        .refused(chart_version, fleet.store.is_some())?
    {
        Some(reason) => Err(Error::Usage {
            message: format!(
                "chart {chart_version} cannot serve this fleet, which uses {}",
                fleet.identity
            ),
            fix: reason,
        }),
        None => Ok(()),
    }
}

/// What reading one cluster needs.
struct Discovery<'a> {
    clients: &'a Clients,
    accounts: &'a Accounts,
    reacher: &'a Reacher<'a>,
    user_values: &'a [ValuesFile],
    fleet: &'a Fleet,
    /// The fleet's members, read once for every cluster.
    known: &'a FleetMembers,
    primary: Option<&'a str>,
    renderer: &'a Renderer,
    /// Whether helm passed its check; a dry run goes on without it.
    helm_usable: bool,
    args: &'a JoinClusterArgs,
}

impl Discovery<'_> {
    /// Describes the cluster, finds its context and reads what exists of its share. Its Kubernetes client lives only
    /// as long as this; the apply makes a new one.
    async fn observe(
        &self,
        index: usize,
        value: &str,
        (cluster_id, id_shared_with): &(String, Option<String>),
    ) -> Result<(Target, ObservedCluster), Error> {
        let args = self.args;
        if !self.helm_usable {
            // The check again, for this cluster's own error.
            helm::ensure_supported(&args.helm.path).await?;
        }
        let (name, region) = names::parse_cluster_ref(value, Some(&self.clients.region));
        let region = region.unwrap_or_default();
        let account = accounts::of_cluster(value).unwrap_or(self.accounts.fleet_account());
        let eks = self.accounts.clients(account).eks_in(region);
        let cluster = eks::describe_cluster(&eks, name, region).await?;
        if self.primary == Some(cluster.arn.as_str()) {
            return Err(Error::Usage {
                message: format!(
                    "cluster {name} is the fleet's primary; it cannot also join as an agent"
                ),
                fix: "run `kcfed init primary` to change the primary's installation".to_owned(),
            });
        }
        let explicit_context = args.kube_contexts.get(index).map(String::as_str);
        let reached =
            self.reacher
                .reach(&cluster, explicit_context, self.accounts.fleet_account())?;
        let asked = args.chart.chart_version.as_deref();
        let fleet_version = &self.fleet.chart_version;
        let sts = &self.accounts.clients(account).sts;
        let (target, observed) = kube::read_cluster(&reached, &cluster, sts, async |client| {
            // Without --chart-version a cluster keeps the version its release runs.
            let installed = match asked {
                Some(_) => None,
                None => {
                    let release = release(&args.chart, &args.helm, &reached, fleet_version);
                    helm::listed(&args.helm.path, &release).await?
                }
            };
            let version = chart::version_to_install(
                asked,
                installed
                    .as_ref()
                    .map(|listed| listed.chart_version.as_str()),
                fleet_version,
            );
            let target = Target {
                role: ClusterRole::Agent,
                release: release(&args.chart, &args.helm, &reached, &version),
                cluster: cluster.clone(),
                cluster_id: cluster_id.clone(),
                id_shared_with: id_shared_with.clone(),
                storage_class: args.chart.storage_class.clone(),
                user_values: self.user_values.to_vec(),
                cloud_integration_secret: None,
            };
            let reading = cluster::Reading {
                clients: self.clients,
                eks: &eks,
                kube_client: &client,
                helm_path: &args.helm.path,
                listing: match asked {
                    Some(_) => helm::Listing::Unread,
                    None => helm::Listing::Read(installed),
                },
            };
            let observed = cluster::observe(reading, self.fleet, &target, self.renderer).await?;
            Ok((target, observed))
        })
        .await?;
        let observed = observed
            .with_members(&self.clients.iam, self.fleet, self.known, &target)
            .await?;
        Ok((target, observed))
    }
}
