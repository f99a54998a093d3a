//! `kcfed status`: reads the fleet back and says, per cluster, whether its metrics reach AMP and
//! what else is wrong. Changes nothing: the workspace, the fleet's roles (which name its
//! clusters), one PromQL query for every cluster's newest metrics, then each cluster's release,
//! workloads, volume claims and ETL files, several clusters at a time.

use std::time::SystemTime;

use futures::StreamExt;

use crate::aws::accounts::{self, Accounts};
use crate::aws::amp_query::QueryApi;
use crate::aws::config::{self, Clients};
use crate::aws::{amp, s3, sts};
use crate::chart::ChartLine;
use crate::cli::{ClusterRole, StatusArgs};
use crate::cluster_id::Member;
use crate::engine::report::{Finished, rendered};
use crate::engine::terminal::ReadProgress;
use crate::error::{Error, exit};
use crate::fleet::{self, Fleet};
use crate::helm;
use crate::kube;
use crate::kube::Reacher;
use crate::names;
use crate::render::StoreLocation;
use crate::resources::fleet_lookup::FleetLookup;
use crate::resources::member_record;
use crate::status::{
    ClusterFacts, ClusterIdentity, FleetRef, FleetStatus, Hints, KubeFacts, Problem,
    REPORTING_METRIC, STATUS_SCHEMA, etl_prefix, heartbeat_prefixes, judge, rfc3339,
};
use crate::validate;

pub async fn run(args: &StatusArgs) -> Result<Finished, Error> {
    validate::status(args)?;
    let clients = Clients::new(config::load(&args.aws).await?).ok_or_else(validate::no_region)?;
    let lookup = FleetLookup::new(&clients, &args.workspace);
    let ((), caller, workspace) = tokio::try_join!(
        helm::ensure_supported(&args.helm),
        sts::caller(&clients.sts),
        lookup.workspace(),
    )?;
    let account_id = caller.account.clone();
    let found = lookup
        .existing(&clients.s3_in(&lookup.region), &account_id, workspace)
        .await?;
    let (fleet, primary) = Fleet::from_found(&account_id, &lookup.region, found);
    let fleet_ref = |id: &str| FleetRef {
        id: id.to_owned(),
        region: lookup.region.clone(),
        account: account_id.clone(),
    };
    // A fleet without a workspace has no metrics in AMP: its clusters' heartbeats say it all.
    let query = match fleet.workspace() {
        Some(workspace) => {
            let endpoint = query_endpoint(&lookup.client, workspace).await?;
            Some(QueryApi::new(&clients.config, &lookup.region, &endpoint)?)
        }
        None => None,
    };
    // A query AMP refuses still leaves every cluster's own state to show.
    let (members, last_seen) =
        tokio::join!(member_record::fleet_members(&clients, &fleet), async {
            match &query {
                Some(query) => query.last_seen(REPORTING_METRIC).await,
                None => Ok(Default::default()),
            }
        },);
    let members = members?.members;
    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let named = reacher.locate_all(&args.clusters, args.aws.region.is_some());
    let selected = select(&named, &clients.region, &members)?;
    // The clusters without a context of the user's are described, with their account's
    // credentials, to be reached directly.
    let direct: Vec<String> = selected
        .iter()
        .enumerate()
        .filter(|(index, member)| {
            let explicit = args.kube_contexts.get(*index).map(String::as_str);
            matches!(reacher.context(&member.arn, explicit), Ok(None))
        })
        .map(|(_, member)| member.arn.clone())
        .collect();
    let accounts = Accounts::resolve(
        clients.clone(),
        &caller,
        &args.accounts,
        &accounts::of_clusters(&direct),
    )
    .await?;
    let reader = Reader {
        accounts: &accounts,
        args,
        reacher: &reacher,
        store: fleet.store.as_ref(),
        primary: primary.as_deref(),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    let progress = ReadProgress::new("reading", selected.len(), args.output);
    let clusters: Vec<_> =
        futures::stream::iter(selected.iter().enumerate().map(|(index, member)| {
            let explicit_context = args.kube_contexts.get(index).map(String::as_str);
            let (reader, last_seen, progress) = (&reader, &last_seen, &progress);
            async move {
                let mut facts = reader.read(member, explicit_context).await;
                progress.read(&member.id);
                facts.metrics_last_seen = match last_seen {
                    Ok(seen) => Ok(seen.get(&facts.identity.cluster_id).copied()),
                    Err(err) => Err(Problem::from(err)),
                };
                judge(facts, now, args.max_age)
            }
        }))
        .buffered(usize::from(args.concurrency))
        .collect()
        .await;
    drop(progress);

    let document = FleetStatus {
        schema: STATUS_SCHEMA,
        fleet: fleet_ref(fleet.id()),
        workspace: fleet.workspace().map(|workspace| fleet_ref(&workspace.id)),
        checked_at: rfc3339(now),
        max_age_seconds: args.max_age.as_secs(),
        reporting: clusters.iter().all(|c| c.reporting),
        clusters,
        error: last_seen.as_ref().err().map(ToString::to_string),
    };
    let stdout = rendered(&document, || document.text(), args.output);
    // The fleet could not be read whole: exit 1 with what was read printed.
    let exit = match last_seen {
        Err(err) => Err(err),
        Ok(_) if document.reporting => Ok(exit::SUCCESS),
        Ok(_) => Ok(exit::NOT_REPORTING),
    };
    Ok(Finished::printing(stdout, exit))
}

/// The base URL of the workspace's query API; a workspace found by alias is described for it.
async fn query_endpoint(
    client: &aws_sdk_amp::Client,
    workspace: &amp::Workspace,
) -> Result<String, Error> {
    let described = match &workspace.prometheus_endpoint {
        Some(endpoint) => return Ok(endpoint.clone()),
        None => amp::describe(client, &workspace.id).await?,
    };
    described
        .and_then(|ws| ws.prometheus_endpoint)
        .ok_or_else(|| Error::Conflict {
            resource: format!("AMP workspace {}", workspace.id),
            reason: "DescribeWorkspace gives no prometheusEndpoint".to_owned(),
            fix: "wait until the workspace is ACTIVE (`aws amp describe-workspace`) and run the command again".to_owned(),
        })
}

/// The clusters to show, in the fleet's order or the order given; a named cluster that is not
/// in the fleet is a mistake to correct.
fn select(
    named: &[String],
    default_region: &str,
    members: &[Member],
) -> Result<Vec<Member>, Error> {
    if named.is_empty() {
        return Ok(members.to_vec());
    }
    named
        .iter()
        .map(|value| {
            fleet::find_member(members, value, default_region)
                .cloned()
                .ok_or_else(|| fleet::not_in_fleet(value, members))
        })
        .collect()
}

/// What reading one cluster needs.
struct Reader<'a> {
    accounts: &'a Accounts,
    args: &'a StatusArgs,
    reacher: &'a Reacher<'a>,
    store: Option<&'a StoreLocation>,
    primary: Option<&'a str>,
}

impl Reader<'_> {
    /// Everything about the cluster but its metrics (one query serves the whole fleet).
    async fn read(&self, member: &Member, explicit_context: Option<&str>) -> ClusterFacts {
        let arn = member.arn.as_str();
        let (region, account, name) = names::parse_eks_cluster_arn(arn).unwrap_or_default();
        let identity = ClusterIdentity {
            name: name.to_owned(),
            cluster_id: member.id.clone(),
            arn: arn.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
            role: if self.primary == Some(arn) {
                ClusterRole::Primary
            } else {
                ClusterRole::Agent
            },
        };
        let (kube, etl) = tokio::join!(self.kube(arn, explicit_context), self.etl(&member.id));
        let (kube_context, kube) = match kube {
            Ok((context, facts)) => (context, Ok(facts)),
            Err(err) => (None, Err(Problem::from(&err))),
        };
        // Only Kubecost 3 clusters, known by their release, write a heartbeat.
        let kubecost_3 = kube.as_ref().is_ok_and(|facts| {
            facts.release.as_ref().is_some_and(|listed| {
                ChartLine::of(&listed.chart_version).is_ok_and(|line| !line.uses_amp())
            })
        });
        let heartbeat = match kubecost_3 {
            true => self.heartbeat(&member.id).await,
            false => None,
        };
        ClusterFacts {
            identity,
            hints: Hints {
                namespace: self.args.namespace.clone(),
                release: self.args.release.clone(),
                kube_context,
            },
            kube,
            metrics_last_seen: Ok(None),
            etl,
            heartbeat,
        }
    }

    /// The release as helm lists it, and its workloads and claims, through the cluster's context.
    async fn kube(
        &self,
        arn: &str,
        explicit_context: Option<&str>,
    ) -> Result<(Option<String>, KubeFacts), Error> {
        let args = self.args;
        let (reached, client) =
            kube::reach_and_open(self.reacher, self.accounts, arn, explicit_context).await?;
        let release = kube::existing_release(&args.release, &args.namespace, 0, &reached);
        let (release, workloads) = tokio::try_join!(
            helm::listed(&args.helm, &release),
            crate::status::observe_workloads(&client, &args.namespace, &args.release),
        )?;
        // A cluster reached directly has no context of the user's to name in fixes.
        let context = (!reached.direct).then_some(reached.context);
        Ok((context, KubeFacts { release, workloads }))
    }

    /// When the cluster's FinOps agent last wrote its heartbeat to the bucket.
    async fn heartbeat(&self, cluster_id: &str) -> Option<Result<Option<f64>, Problem>> {
        let store = self.store?;
        let client = self.accounts.fleet().s3_in(&store.region);
        let newest = futures::future::try_join_all(
            heartbeat_prefixes(cluster_id)
                .iter()
                .map(|prefix| s3::newest_object(&client, &store.bucket, prefix)),
        )
        .await;
        Some(
            newest
                .map(|found| found.into_iter().flatten().reduce(f64::max))
                .map_err(|err| Problem::from(&err)),
        )
    }

    /// Federated fleets: when the cluster last wrote an ETL file to the bucket.
    async fn etl(&self, cluster_id: &str) -> Option<Result<Option<f64>, Problem>> {
        let store = self.store?;
        let client = self.accounts.fleet().s3_in(&store.region);
        Some(
            s3::newest_object(&client, &store.bucket, &etl_prefix(cluster_id))
                .await
                .map_err(|err| Problem::from(&err)),
        )
    }
}
