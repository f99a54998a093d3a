//! The fleet's shared IAM policies: AMP query, AMP remote write and, in federated fleets, the
//! bucket; each scoped to the one workspace or bucket, under the fleet's IAM path.

use futures::future::try_join_all;

use super::{CleanupOp, Op, Planned, fleet_step};
use crate::aws::config::Clients;
use crate::aws::{iam, managed_tags};
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::{FleetPolicy, tags};
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::Renderer;

/// The fleet's shared IAM policies as they exist (a new workspace has none yet).
pub struct Observed(Vec<(FleetPolicy, String, Option<iam::ManagedPolicy>)>);

pub async fn observe(clients: &Clients, fleet: &Fleet) -> Result<Observed, Error> {
    let names = fleet.names();
    let observed = try_join_all(fleet.policies().into_iter().map(|policy| {
        let arn = names.policy_arn(policy);
        async move {
            let found = if fleet.workspace.is_some() {
                iam::get_policy(&clients.iam, &arn).await?
            } else {
                None
            };
            Ok::<_, Error>((policy, arn, found))
        }
    }))
    .await?;
    Ok(Observed(observed))
}

/// Plans the fleet's shared IAM policies from what exists.
pub fn plan(fleet: &Fleet, observed: Observed, renderer: &Renderer) -> Result<Vec<Planned>, Error> {
    let names = fleet.names();
    observed
        .0
        .into_iter()
        .map(|(policy, arn, found)| {
            let step = |action| {
                Step::new(
                    FLEET_SCOPE,
                    ResourceKind::IamPolicy,
                    names.policy_name(policy),
                    action,
                )
                .with_id(arn.clone())
            };
            let wanted = fleet.policy_document(renderer, policy)?;
            Ok(match found {
                None => fleet_step(
                    step(Action::Create),
                    Op::Policy {
                        policy,
                        create: true,
                    },
                ),
                Some(existing) if existing.document.as_ref() != Some(&wanted) => fleet_step(
                    step(Action::Update)
                        .with_detail("policy document differs: new default version"),
                    Op::Policy {
                        policy,
                        create: false,
                    },
                ),
                Some(_) => fleet_step(step(Action::Exists), Op::Nothing),
            })
        })
        .collect()
}

/// Cleanup deletes every policy under the fleet's IAM path: only kcfed puts policies there.
pub fn plan_cleanup(arns: Vec<String>) -> Vec<(Step, CleanupOp)> {
    arns.into_iter()
        .map(|arn| {
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
            let step = Step::new(FLEET_SCOPE, ResourceKind::IamPolicy, name, Action::Delete);
            (step.with_id(arn.clone()), CleanupOp::DeletePolicy(arn))
        })
        .collect()
}

/// Creates the policy, or gives it the wanted document as its new default version.
pub async fn apply(
    clients: &Clients,
    renderer: &Renderer,
    fleet: &Fleet,
    policy: FleetPolicy,
    create: bool,
) -> Result<(), Error> {
    let names = fleet.names();
    let document = fleet.policy_document(renderer, policy)?;
    if create {
        let tags = managed_tags(&[(tags::FLEET, fleet.workspace_id())]);
        iam::create_policy(
            &clients.iam,
            &names.policy_name(policy),
            &names.iam_path(),
            &document,
            tags,
        )
        .await?;
    } else {
        iam::set_policy_document(&clients.iam, &names.policy_arn(policy), &document).await?;
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
                names.policy_arn(FleetPolicy::AmpQuery),
                Some(existing(&fleet, FleetPolicy::AmpQuery, current)),
            ),
            (
                FleetPolicy::AmpRemoteWrite,
                names.policy_arn(FleetPolicy::AmpRemoteWrite),
                Some(existing(
                    &fleet,
                    FleetPolicy::AmpRemoteWrite,
                    serde_json::json!({"old": true}),
                )),
            ),
            (
                FleetPolicy::FederatedStore,
                names.policy_arn(FleetPolicy::FederatedStore),
                None,
            ),
        ]);
        let planned = plan(&fleet, observed, &renderer).unwrap();
        let actions: Vec<_> = planned
            .iter()
            .map(|p| (p.step.action, p.op.clone()))
            .collect();
        assert_eq!(
            actions,
            [
                (Action::Exists, Op::Nothing),
                (
                    Action::Update,
                    Op::Policy {
                        policy: FleetPolicy::AmpRemoteWrite,
                        create: false
                    }
                ),
                (
                    Action::Create,
                    Op::Policy {
                        policy: FleetPolicy::FederatedStore,
                        create: true
                    }
                ),
            ]
        );
        assert_eq!(
            planned[2].step.id.as_deref(),
            Some(names.policy_arn(FleetPolicy::FederatedStore).as_str())
        );
        assert!(planned.iter().all(|p| p.target.is_none()));
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
        assert!(matches!(&planned[1].1, CleanupOp::DeletePolicy(arn) if *arn == arns[1]));
    }
}
