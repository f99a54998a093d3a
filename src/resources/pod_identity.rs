//! A Pod Identity fleet's share of one cluster: an EKS Pod Identity association per service
//! account that calls AWS, naming the role EKS gives its pods (the fleet's shared role, in the
//! cluster's account) and, for a cluster in another account, the fleet's role as the target EKS
//! assumes next. And its prerequisite: the cluster runs the Pod Identity agent (the add-on, or
//! EKS Auto Mode, which has it built in).

use std::collections::HashMap;

use crate::aws::{eks, made_by_kcfed, managed_tags};
use crate::chart::ChartLine;
use crate::engine::run::FleetView;
use crate::error::Error;
use crate::fleet::{Fleet, Target};
use crate::names::{ServiceAccountKind, tags};
use crate::plan::{Action, ResourceKind, Step};

/// Where an association lives: the cluster's account and region, which name its EKS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLocation {
    pub account: String,
    pub region: String,
}

/// An association to make, or to point at other roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationChange {
    pub location: ClusterLocation,
    /// As it should be (its id empty).
    pub wanted: eks::Association,
    /// The association to update; `None` to create one.
    pub existing: Option<String>,
}

/// An association cleanup deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationRef {
    pub location: ClusterLocation,
    pub cluster: String,
    pub id: String,
}

/// The cluster's associations, one per service account kcfed makes.
pub fn desired(fleet: &Fleet, target: &Target, line: ChartLine) -> Vec<eks::Association> {
    let cluster = &target.cluster;
    let names = fleet.names();
    let other_account = cluster.account != fleet.account_id;
    let association_tags: HashMap<String, String> =
        managed_tags(&[(tags::FLEET, fleet.id()), (tags::CLUSTER, &cluster.arn)])
            .into_iter()
            .collect();
    line.service_accounts()
        .iter()
        .map(|&kind| {
            let shared = names.shared_role_name(kind);
            let (role_arn, target_role_arn) = if other_account {
                let target = names.role_arn(&names.target_role_name(kind));
                (names.role_arn_in(&cluster.account, &shared), Some(target))
            } else {
                (names.role_arn(&shared), None)
            };
            eks::Association {
                id: String::new(),
                cluster: cluster.name.clone(),
                namespace: target.release.namespace.clone(),
                service_account: kind.service_account().to_owned(),
                role_arn,
                target_role_arn,
                tags: association_tags.clone(),
            }
        })
        .collect()
}

/// What exists of the cluster's Pod Identity share: the agent, and the association of each
/// desired service account.
#[derive(Debug, Clone, Default)]
pub struct ObservedPodIdentity {
    pub agent: bool,
    pub associations: Vec<Option<eks::Association>>,
    /// kcfed's associations of this cluster for service accounts its chart line no longer runs
    /// (Kubecost 3 has no Prometheus), removed once the release has moved.
    pub retired: Vec<eks::Association>,
}

pub async fn observe(
    client: &aws_sdk_eks::Client,
    target: &Target,
    desired: &[eks::Association],
) -> Result<ObservedPodIdentity, Error> {
    let cluster = &target.cluster;
    let agent = async {
        if cluster.auto_mode {
            return Ok(true);
        }
        eks::has_addon(client, &cluster.name, eks::POD_IDENTITY_AGENT).await
    };
    let service_accounts = ServiceAccountKind::ALL.map(ServiceAccountKind::service_account);
    let found = eks::associations_in(
        client,
        &cluster.name,
        &target.release.namespace,
        &service_accounts,
    );
    let (agent, found) = tokio::try_join!(agent, found)?;
    let wanted = |association: &eks::Association| {
        desired
            .iter()
            .any(|wanted| wanted.service_account == association.service_account)
    };
    let associations = desired
        .iter()
        .map(|wanted| {
            found
                .iter()
                .find(|association| association.service_account == wanted.service_account)
                .cloned()
        })
        .collect();
    let retired = found
        .into_iter()
        .filter(|association| {
            !wanted(association)
                && made_by_kcfed(&association.tags)
                && association.tags.get(tags::CLUSTER) == Some(&cluster.arn)
        })
        .collect();
    Ok(ObservedPodIdentity {
        agent,
        associations,
        retired,
    })
}

/// The agent's step: a prerequisite, checked and never installed by kcfed (an add-on is the
/// cluster owner's choice); without it pods get no Pod Identity credentials.
pub fn plan_agent(scope: &str, target: &Target, agent: bool) -> Step {
    let cluster = &target.cluster;
    let step = |action| {
        Step::new(
            scope,
            ResourceKind::EksAddon,
            eks::POD_IDENTITY_AGENT,
            action,
        )
        .in_account(&cluster.account)
    };
    match (agent, cluster.auto_mode) {
        (true, true) => step(Action::Exists).with_detail("built into EKS Auto Mode"),
        (true, false) => step(Action::Exists),
        (false, _) => step(Action::Conflict).with_detail(format!(
            "Pod Identity needs the agent add-on: `aws eks create-addon --cluster-name {} --addon-name {} --region {}`, then run again (or use an IRSA fleet)",
            cluster.name,
            eks::POD_IDENTITY_AGENT,
            cluster.region
        )),
    }
}

/// Each association's step: create, point at the wanted roles, or a conflict when the service
/// account's association is someone else's.
pub fn plan(
    scope: &str,
    target: &Target,
    desired: &[eks::Association],
    observed: &[Option<eks::Association>],
) -> Vec<(Step, Option<AssociationChange>)> {
    let location = ClusterLocation {
        account: target.cluster.account.clone(),
        region: target.cluster.region.clone(),
    };
    desired
        .iter()
        .zip(observed)
        .map(|(wanted, found)| {
            let step = |action| {
                Step::new(
                    scope,
                    ResourceKind::PodIdentityAssociation,
                    format!("{}/{}", wanted.namespace, wanted.service_account),
                    action,
                )
                .in_account(&location.account)
            };
            let change = |existing: Option<&eks::Association>| {
                Some(AssociationChange {
                    location: location.clone(),
                    wanted: wanted.clone(),
                    existing: existing.map(|found| found.id.clone()),
                })
            };
            let roles = |association: &eks::Association| match &association.target_role_arn {
                Some(target) => format!("{} then {target}", association.role_arn),
                None => association.role_arn.clone(),
            };
            let Some(found) = found else {
                return (
                    step(Action::Create).with_detail(format!("role {}", roles(wanted))),
                    change(None),
                );
            };
            let step = step(Action::Exists).with_id(found.id.clone());
            if !made_by_kcfed(&found.tags) {
                return (
                    Step {
                        action: Action::Conflict,
                        ..step
                    }
                    .with_detail(format!(
                        "the service account has an association kcfed did not make (role {}): delete it with `aws eks delete-pod-identity-association --cluster-name {} --association-id {}`, then run again",
                        found.role_arn, wanted.cluster, found.id
                    )),
                    None,
                );
            }
            if found.role_arn == wanted.role_arn && found.target_role_arn == wanted.target_role_arn
            {
                return (step, None);
            }
            (
                Step {
                    action: Action::Update,
                    ..step
                }
                .with_detail(format!("role {} -> {}", roles(found), roles(wanted))),
                change(Some(found)),
            )
        })
        .collect()
}

/// Makes or updates the association once the shared roles it names exist.
pub async fn apply(
    client: &aws_sdk_eks::Client,
    change: &AssociationChange,
    fleet_view: FleetView<'_>,
) -> Result<(), Error> {
    fleet_view.reached(&[ResourceKind::IamRole]).await?;
    match &change.existing {
        Some(id) => eks::update_association(client, id, &change.wanted).await,
        None => eks::create_association(client, &change.wanted).await,
    }
}

/// Cleanup deletes the associations kcfed made for the cluster's service accounts.
pub fn plan_cleanup(
    scope: &str,
    location: &ClusterLocation,
    found: &[eks::Association],
) -> Vec<(Step, Option<AssociationRef>)> {
    found
        .iter()
        .map(|association| {
            let step = |action| {
                Step::new(
                    scope,
                    ResourceKind::PodIdentityAssociation,
                    format!("{}/{}", association.namespace, association.service_account),
                    action,
                )
                .with_id(association.id.clone())
                .in_account(&location.account)
            };
            if made_by_kcfed(&association.tags) {
                let delete = AssociationRef {
                    location: location.clone(),
                    cluster: association.cluster.clone(),
                    id: association.id.clone(),
                };
                (step(Action::Delete), Some(delete))
            } else {
                (step(Action::Keep).with_detail("not made by kcfed"), None)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::{ACCOUNT, pod_identity_fleet, target};

    #[test]
    fn a_cluster_of_the_fleet_account_uses_the_fleet_roles_one_of_another_chains_to_them() {
        let fleet = pod_identity_fleet();
        let own = desired(&fleet, &target(), ChartLine::V2);
        assert_eq!(own.len(), 2);
        for association in &own {
            assert!(
                association
                    .role_arn
                    .starts_with(&format!("arn:aws:iam::{ACCOUNT}:role/kcfed/"))
            );
            assert_eq!(association.target_role_arn, None);
            assert!(made_by_kcfed(&association.tags));
        }
        let mut other = target();
        other.cluster.account = "444455556666".to_owned();
        let chained = desired(&fleet, &other, ChartLine::V2);
        for (theirs, ours) in chained.iter().zip(&own) {
            assert!(
                theirs
                    .role_arn
                    .starts_with("arn:aws:iam::444455556666:role/kcfed/")
            );
            let target = theirs.target_role_arn.as_ref().unwrap();
            assert_eq!(target, &format!("{}-xa", ours.role_arn));
        }
    }

    #[test]
    fn associations_are_made_repointed_or_left_to_their_owner() {
        let (fleet, target) = (pod_identity_fleet(), target());
        let wanted = desired(&fleet, &target, ChartLine::V2);
        let planned = plan("prod", &target, &wanted, &[None, None]);
        assert!(
            planned
                .iter()
                .all(|(step, change)| step.action == Action::Create
                    && change.as_ref().is_some_and(|c| c.existing.is_none()))
        );

        let mut ours = wanted[0].clone();
        ours.id = "a-1".to_owned();
        let mut moved = wanted[1].clone();
        moved.id = "a-2".to_owned();
        moved.role_arn = "arn:aws:iam::111122223333:role/old".to_owned();
        let planned = plan("prod", &target, &wanted, &[Some(ours.clone()), Some(moved)]);
        assert_eq!(planned[0].0.action, Action::Exists);
        assert!(planned[0].1.is_none());
        assert_eq!(planned[1].0.action, Action::Update);
        assert_eq!(
            planned[1].1.as_ref().unwrap().existing.as_deref(),
            Some("a-2")
        );

        let mut foreign = ours;
        foreign.tags.clear();
        let planned = plan("prod", &target, &wanted, &[Some(foreign.clone()), None]);
        assert_eq!(planned[0].0.action, Action::Conflict);
        assert!(planned[0].1.is_none());
        let location = ClusterLocation {
            account: ACCOUNT.to_owned(),
            region: "us-east-2".to_owned(),
        };
        let cleanup = plan_cleanup("prod", &location, &[foreign, wanted[1].clone()]);
        assert_eq!(cleanup[0].0.action, Action::Keep);
        assert_eq!(cleanup[1].0.action, Action::Delete);
    }

    #[test]
    fn a_cluster_without_the_agent_stops_with_the_command_that_adds_it() {
        let mut target = target();
        let step = plan_agent("prod", &target, false);
        assert_eq!(step.action, Action::Conflict);
        assert!(step.details[0].contains(
            "aws eks create-addon --cluster-name prod --addon-name eks-pod-identity-agent"
        ));
        target.cluster.auto_mode = true;
        assert_eq!(plan_agent("prod", &target, true).action, Action::Exists);
    }
}
