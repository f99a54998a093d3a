//! The fleet's shared IAM policies: AMP query, AMP remote write and, in federated fleets, the
//! bucket; each scoped to the one workspace or bucket, under the fleet's IAM path.

use futures::future::try_join_all;

use crate::aws::config::Clients;
use crate::aws::{iam, managed_tags};
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::{FleetPolicy, tags};
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::Renderer;

/// The fleet's shared IAM policies as they exist (a new workspace has none yet).
/// Each policy of the fleet and what exists of it (read by the name it has in this fleet).
pub struct Observed(Vec<(FleetPolicy, Option<iam::ManagedPolicy>)>);

pub async fn observe(clients: &Clients, fleet: &Fleet) -> Result<Observed, Error> {
    let names = fleet.names();
    // AMP's policies are read wherever they may be kept up to date: a fleet with a workspace.
    let amp = !fleet.on_bucket();
    let observed = try_join_all(fleet.policies(amp).into_iter().map(|policy| {
        let arn = names.policy_arn(policy);
        async move {
            let found = if fleet.has_id() {
                iam::get_policy(&clients.iam, &arn).await?
            } else {
                None
            };
            Ok::<_, Error>((policy, found))
        }
    }))
    .await?;
    Ok(Observed(observed))
}

/// Plans the fleet's shared IAM policies from what exists.
/// A policy to create or to give a new default version, with its document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyChange {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub document: serde_json::Value,
    pub tags: Vec<(String, String)>,
    pub create: bool,
}

/// `amp`: the run's clusters reach AMP. AMP's policies are made for the first such cluster, and
/// kept up to date once made: a cluster of another run may still use them.
pub fn plan(
    fleet: &Fleet,
    observed: &Observed,
    renderer: &Renderer,
    amp: bool,
) -> Result<Vec<(Step, Option<PolicyChange>)>, Error> {
    let names = fleet.names();
    let wanted = fleet.policies(amp);
    observed
        .0
        .iter()
        .filter(|(policy, found)| found.is_some() || wanted.contains(policy))
        .map(|(policy, found)| {
            // Named again from the fleet: a new workspace's id is known only when planned again.
            let arn = names.policy_arn(*policy);
            let step = |action| {
                Step::new(
                    FLEET_SCOPE,
                    ResourceKind::IamPolicy,
                    names.policy_name(*policy),
                    action,
                )
                .with_id(arn.clone())
            };
            let document = fleet.policy_document(renderer, *policy)?;
            let change = |create| PolicyChange {
                name: names.policy_name(*policy),
                path: names.iam_path(),
                arn: arn.clone(),
                document: document.clone(),
                tags: managed_tags(&[(tags::FLEET, fleet.id())]),
                create,
            };
            Ok(match found {
                None => (step(Action::Create), Some(change(true))),
                Some(existing) if existing.document.as_ref() != Some(&document) => (
                    step(Action::Update)
                        .with_detail("policy document differs: new default version"),
                    Some(change(false)),
                ),
                Some(_) => (step(Action::Exists), None),
            })
        })
        .collect()
}

/// Cleanup deletes every policy under the fleet's IAM path.
pub fn plan_cleanup(arns: Vec<String>) -> Vec<(Step, String)> {
    arns.into_iter()
        .map(|arn| {
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
            let step = Step::new(FLEET_SCOPE, ResourceKind::IamPolicy, name, Action::Delete);
            (step.with_id(arn.clone()), arn)
        })
        .collect()
}

pub async fn apply(client: &aws_sdk_iam::Client, change: &PolicyChange) -> Result<(), Error> {
    if change.create {
        iam::create_policy(
            client,
            &change.name,
            &change.path,
            &change.document,
            change.tags.clone(),
        )
        .await?;
    } else {
        iam::set_policy_document(client, &change.arn, &change.document).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::fleet;

    fn existing(
        fleet: &Fleet,
        policy: FleetPolicy,
        document: serde_json::Value,
    ) -> iam::ManagedPolicy {
        iam::ManagedPolicy {
            arn: fleet.names().policy_arn(policy),
            default_version: "v1".to_owned(),
            document: Some(document),
            tags: Default::default(),
        }
    }

    #[test]
    fn policies_are_created_updated_or_kept_by_their_document() {
        let fleet = fleet();
        let renderer = Renderer::new();
        let names = fleet.names();
        let current = fleet
            .policy_document(&renderer, FleetPolicy::AmpQuery)
            .unwrap();
        let observed = Observed(vec![
            (
                FleetPolicy::AmpQuery,
                Some(existing(&fleet, FleetPolicy::AmpQuery, current)),
            ),
            (
                FleetPolicy::AmpRemoteWrite,
                Some(existing(
                    &fleet,
                    FleetPolicy::AmpRemoteWrite,
                    serde_json::json!({"old": true}),
                )),
            ),
            (FleetPolicy::FederatedStore, None),
        ]);
        let planned = plan(&fleet, &observed, &renderer, true).unwrap();
        let actions: Vec<_> = planned
            .iter()
            .map(|(step, change)| {
                let change = change.as_ref().map(|c| (c.name.as_str(), c.create));
                (step.action, change)
            })
            .collect();
        assert_eq!(
            actions,
            [
                (Action::Exists, None),
                (
                    Action::Update,
                    Some((
                        names.policy_name(FleetPolicy::AmpRemoteWrite).as_str(),
                        false
                    ))
                ),
                (
                    Action::Create,
                    Some((
                        names.policy_name(FleetPolicy::FederatedStore).as_str(),
                        true
                    ))
                ),
            ]
        );
        let created = planned[2].1.as_ref().unwrap();
        assert_eq!(created.arn, names.policy_arn(FleetPolicy::FederatedStore));
        assert_eq!(
            created.document,
            fleet
                .policy_document(&renderer, FleetPolicy::FederatedStore)
                .unwrap()
        );
    }

    /// A run whose clusters reach no AMP (Kubecost 3) makes none of AMP's policies, and keeps
    /// those that exist: another run's clusters may use them.
    #[test]
    fn amps_policies_are_made_for_the_first_cluster_that_reaches_amp() {
        let (fleet, renderer) = (fleet(), Renderer::new());
        let query = fleet
            .policy_document(&renderer, FleetPolicy::AmpQuery)
            .unwrap();
        let observed = Observed(vec![
            (FleetPolicy::AmpQuery, None),
            (FleetPolicy::AmpRemoteWrite, None),
            (FleetPolicy::FederatedStore, None),
        ]);
        let planned = plan(&fleet, &observed, &renderer, false).unwrap();
        let names: Vec<_> = planned.iter().map(|(step, _)| step.name.clone()).collect();
        assert_eq!(
            names,
            [fleet.names().policy_name(FleetPolicy::FederatedStore)]
        );
        let observed = Observed(vec![
            (
                FleetPolicy::AmpQuery,
                Some(existing(&fleet, FleetPolicy::AmpQuery, query)),
            ),
            (FleetPolicy::AmpRemoteWrite, None),
            (FleetPolicy::FederatedStore, None),
        ]);
        assert_eq!(plan(&fleet, &observed, &renderer, false).unwrap().len(), 2);
    }

    #[test]
    fn cleanup_deletes_every_policy_under_the_fleet_path() {
        let arns = vec![
            "arn:aws:iam::111122223333:policy/kcfed/ws-1/kcfed-ws-1-amp-query".to_owned(),
            "arn:aws:iam::111122223333:policy/kcfed/ws-1/kcfed-ws-1-federated-store".to_owned(),
        ];
        let planned = plan_cleanup(arns.clone());
        let names: Vec<_> = planned
            .iter()
            .map(|(step, _)| (step.name.as_str(), step.action))
            .collect();
        assert_eq!(
            names,
            [
                ("kcfed-ws-1-amp-query", Action::Delete),
                ("kcfed-ws-1-federated-store", Action::Delete)
            ]
        );
        assert_eq!(planned[1].1, arns[1]);
    }
}
