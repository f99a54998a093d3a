//! `kcfed cleanup --amp-workspace`: a fleet whose clusters all run Kubecost 3 sends nothing to
//! its AMP workspace any more. Its record moves to its bucket first; then AMP's policies and the
//! workspace (with the metrics in it) go. The clusters, their roles and the bucket stay, and
//! every command finds the fleet by its bucket from then on, under the same id.

use futures::{StreamExt, TryStreamExt};

use super::uninstalled;
use crate::aws::accounts::{self, Accounts};
use crate::aws::config::Clients;
use crate::aws::{iam, made_by_kcfed, s3, sts};
use crate::chart::{self, ChartLine};
use crate::cli::CleanupArgs;
use crate::engine::report::Finished;
use crate::engine::run as engine;
use crate::error::Error;
use crate::fleet::Fleet;
use crate::helm;
use crate::kube::{self, KubeClients, Reacher};
use crate::names::{self, FleetPolicy, tags};
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::resources::apply::{Applier, Direction};
use crate::resources::bucket::{self, BucketChange};
use crate::resources::member_record;
use crate::resources::op::{Op, Planned, fleet_step};
use crate::resources::{policies, workspace};

pub(super) async fn retire(
    clients: &Clients,
    args: &CleanupArgs,
    caller: &sts::Identity,
    mut run: engine::Run<'_>,
    amp_client: aws_sdk_amp::Client,
    fleet: Fleet,
) -> Result<Finished, Error> {
    let Some(ws) = fleet.workspace().cloned() else {
        // Retired already: only AMP's policies a run cut short left are to go.
        let no_other_accounts = Default::default();
        let (accounts, leftovers) = tokio::try_join!(
            Accounts::resolve(clients.clone(), caller, &args.accounts, &no_other_accounts),
            amp_policy_deletions(clients, &fleet),
        )?;
        let applier = applier(&accounts, amp_client, args);
        return Ok(engine::plan_and_apply(run, leftovers, Vec::new(), &applier).await);
    };
    let Some(store) = fleet.store.clone() else {
        return Err(Error::Usage {
            message: "a fleet made with --quick-start has no bucket: its AMP workspace holds all it reports".to_owned(),
            fix: "keep the workspace, or remove the whole fleet with `kcfed cleanup --all`".to_owned(),
        });
    };
    if !made_by_kcfed(&ws.tags) {
        return Err(Error::Conflict {
            resource: format!("AMP workspace {}", ws.id),
            reason: "kcfed did not create it, so it stays the fleet's".to_owned(),
            fix: "keep it, or delete it yourself once kcfed's fleet is removed with `kcfed cleanup --all`".to_owned(),
        });
    }
    let members = member_record::fleet_members(clients, &fleet).await?.members;
    let arns: Vec<String> = members.iter().map(|member| member.arn.clone()).collect();
    let accounts = Accounts::resolve(
        clients.clone(),
        caller,
        &args.accounts,
        &accounts::of_clusters(&arns),
    )
    .await?;
    run.identities = accounts.identities();
    // Every cluster's release says which line it runs: a cluster that cannot be read might
    // still write to the workspace, so it stops the retirement as one on AMP does.
    let reacher = Reacher::new(&args.kube, &args.aws, &args.accounts)?;
    let versions: Vec<_> = futures::stream::iter(&members)
        .map(|member| {
            let (reacher, accounts) = (&reacher, &accounts);
            async move {
                let (reached, _) =
                    kube::reach_and_open(reacher, accounts, &member.arn, None).await?;
                let listed = helm::listed(&args.release.helm, &uninstalled(args, &reached)).await?;
                Ok::<_, Error>((member, listed.map(|listed| listed.chart_version)))
            }
        })
        .buffer_unordered(run.concurrency)
        .try_collect()
        .await?;
    let on_amp: Vec<String> = versions
        .iter()
        .filter_map(|(member, version)| {
            let version = version.as_deref()?;
            ChartLine::of(version)
                .map_or(true, ChartLine::uses_amp)
                .then(|| format!("{} ({version})", member.id))
        })
        .collect();
    if !on_amp.is_empty() {
        return Err(Error::Conflict {
            resource: format!("AMP workspace {}", ws.id),
            reason: format!(
                "clusters still send their metrics to it: {}",
                on_amp.join(", ")
            ),
            fix: "move them to Kubecost 3 first (--chart-version 2.9.7, then 3.2.1: README, \"Moving to Kubecost 3\"), then run this again".to_owned(),
        });
    }
    // A record without its primary would not be found on the bucket.
    let Some(primary) = ws.tags.get(tags::PRIMARY_CLUSTER) else {
        return Err(Error::Conflict {
            resource: format!("AMP workspace {}", ws.id),
            reason: "it names no primary cluster, which the record on the bucket needs".to_owned(),
            fix: "run `kcfed init primary` on the fleet's primary, then run this again".to_owned(),
        });
    };
    let primary_version = versions
        .iter()
        .find(|(member, _)| &member.arn == primary)
        .and_then(|(_, version)| version.clone())
        .unwrap_or_else(|| chart::NEW_FLEET_CHART_VERSION.to_owned());

    let s3_client = clients.s3_in(&store.region);
    let (bucket, policy_deletions) = tokio::try_join!(
        s3::inspect(&s3_client, &store.bucket),
        amp_policy_deletions(clients, &fleet),
    )?;
    let s3::BucketState::Owned(bucket) = bucket else {
        return Err(Error::Conflict {
            resource: format!("bucket {}", store.bucket),
            reason:
                "it is gone, or this account cannot read it: the fleet's record has nowhere to move"
                    .to_owned(),
            fix: "keep the workspace; check the bucket with `aws s3api head-bucket`".to_owned(),
        });
    };
    // The record as the bucket keeps it, under the workspace's id, which names the fleet's IAM.
    let identity = ws
        .tags
        .contains_key(tags::IDENTITY)
        .then_some(fleet.identity);
    let mut wanted = workspace::fleet_tags(None, primary, Some(&primary_version), identity);
    wanted.push((tags::FLEET.to_owned(), ws.id.clone()));
    let record = bucket::merged_tags(&bucket.tags, wanted);
    // Commands look for the default bucket of the fleet's region: another is named from now on.
    let found_by =
        if store.bucket == names::default_bucket(&fleet.account_id, &fleet.workspace_region) {
            "the fleet is found by it from now on".to_owned()
        } else {
            format!(
                "the fleet is found by it from now on: pass --bucket {} to kcfed's commands",
                store.bucket
            )
        };
    let mut steps: Vec<Planned> = vec![fleet_step(
        Step::new(
            FLEET_SCOPE,
            ResourceKind::S3Bucket,
            &store.bucket,
            Action::Update,
        )
        .with_detail(
            "the fleet's record (primary, chart version, identity), moved from the workspace",
        )
        .with_detail(found_by),
        Op::Bucket(BucketChange::tags_only(&store, record)),
    )];
    steps.extend(policy_deletions);
    let (step, _) = workspace::plan_cleanup(&ws);
    steps.push(fleet_step(
        step.with_detail("with the metrics in it"),
        Op::DeleteWorkspace(ws.id.clone()),
    ));
    let applier = applier(&accounts, amp_client, args);
    Ok(engine::plan_and_apply(run, steps, Vec::new(), &applier).await)
}

/// The deletions of the fleet's AMP policies that exist (each detached from its roles first).
async fn amp_policy_deletions(clients: &Clients, fleet: &Fleet) -> Result<Vec<Planned>, Error> {
    let names = fleet.names();
    let amp_policies = FleetPolicy::AMP.map(|policy| names.policy_arn(policy));
    let existing = iam::policy_arns_under(&clients.iam, &names.iam_path()).await?;
    let amp_arns = existing
        .into_iter()
        .filter(|arn| amp_policies.contains(arn))
        .collect();
    Ok(policies::plan_cleanup(amp_arns)
        .into_iter()
        .map(|(step, arn)| fleet_step(step, Op::DeletePolicy(arn)))
        .collect())
}

/// A build-direction applier: the bucket's record is written before anything is deleted.
fn applier<'a>(
    accounts: &'a Accounts,
    amp_client: aws_sdk_amp::Client,
    args: &CleanupArgs,
) -> Applier<'a> {
    Applier::new(
        accounts,
        amp_client,
        args.release.helm.clone(),
        args.release.timeout,
        KubeClients::new([]),
        Direction::Build,
    )
}
