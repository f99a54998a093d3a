//! The two IRSA roles of a cluster: each trusts one service account of the cluster's OIDC
//! provider and carries the fleet policies that service account needs.

use futures::future::try_join_all;

use super::{CleanupOp, Op, tags_missing};
use crate::aws::{iam, made_by_kcfed};
use crate::engine::run::FleetView;
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::{FleetPolicy, ServiceAccountKind};
use crate::plan::{Action, ResourceKind, Step};

/// One role as it should be.
pub struct DesiredRole {
    pub kind: ServiceAccountKind,
    pub name: String,
    pub arn: String,
    pub trust: serde_json::Value,
    pub policies: Vec<FleetPolicy>,
    pub tags: Vec<(String, String)>,
}

/// What applying a role's step changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleChanges {
    pub(super) kind: ServiceAccountKind,
    pub(super) create: bool,
    pub(super) trust: bool,
    pub(super) tags: bool,
    pub(super) attach: Vec<FleetPolicy>,
    pub(super) detach: Vec<String>,
}

/// The roles' steps from what exists: create, update (trust, tags, policies), or a conflict
/// when a role of that name is not kcfed's or belongs to another fleet.
pub fn plan(
    scope: &str,
    fleet: &Fleet,
    desired: &[DesiredRole],
    observed: Vec<Option<iam::Role>>,
) -> Vec<(Step, Op)> {
    let fleet_names = fleet.names();
    let mut planned = Vec::new();
    for (role, existing) in desired.iter().zip(observed) {
        let step = |action| {
            Step::new(scope, ResourceKind::IamRole, &role.name, action)
                .with_id(role.arn.clone())
                .with_detail(format!(
                    "for service account {}",
                    role.kind.service_account()
                ))
        };
        let Some(existing) = existing else {
            planned.push((
                step(Action::Create),
                Op::Role(RoleChanges {
                    kind: role.kind,
                    create: true,
                    trust: true,
                    tags: true,
                    attach: role.policies.clone(),
                    detach: Vec::new(),
                }),
            ));
            continue;
        };
        let managed = made_by_kcfed(&existing.tags);
        if !managed || existing.path != fleet_names.iam_path() {
            let reason = if managed {
                format!("belongs to another fleet (IAM path {})", existing.path)
            } else {
                "exists and was not made by kcfed".to_owned()
            };
            planned.push((step(Action::Conflict).with_detail(reason), Op::Nothing));
            continue;
        }
        let wanted_arns: Vec<String> = role
            .policies
            .iter()
            .map(|p| fleet_names.policy_arn(*p))
            .collect();
        let changes = RoleChanges {
            kind: role.kind,
            create: false,
            trust: existing.trust.as_ref() != Some(&role.trust),
            tags: tags_missing(&existing.tags, &role.tags),
            attach: role
                .policies
                .iter()
                .zip(&wanted_arns)
                .filter(|(_, arn)| !existing.attached_policies.contains(arn))
                .map(|(policy, _)| *policy)
                .collect(),
            detach: existing
                .attached_policies
                .iter()
                .filter(|arn| !wanted_arns.contains(arn))
                .cloned()
                .collect(),
        };
        let mut details = Vec::new();
        if changes.trust {
            details.push(
                "trust policy differs (new OIDC issuer, namespace or service account)".to_owned(),
            );
        }
        if changes.tags {
            details.push("tags".to_owned());
        }
        details.extend(
            changes
                .attach
                .iter()
                .map(|p| format!("attach {}", fleet_names.policy_name(*p))),
        );
        details.extend(changes.detach.iter().map(|arn| format!("detach {arn}")));
        if details.is_empty() {
            planned.push((step(Action::Exists), Op::Nothing));
        } else {
            let mut step = step(Action::Update);
            step.details.extend(details);
            planned.push((step, Op::Role(changes)));
        }
    }

    planned
}

/// Cleanup deletes a role of the cluster that kcfed made (its policies detached first).
pub fn plan_cleanup(scope: &str, role: &iam::Role) -> (Step, CleanupOp) {
    let step = |action| {
        Step::new(scope, ResourceKind::IamRole, &role.name, action).with_id(role.arn.clone())
    };
    if made_by_kcfed(&role.tags) {
        (step(Action::Delete), CleanupOp::DeleteRole(role.clone()))
    } else {
        (
            step(Action::Keep).with_detail("not made by kcfed"),
            CleanupOp::Nothing,
        )
    }
}

/// Makes or updates the role, then attaches and detaches its policies; attaching waits for the
/// fleet's policies, which are made beside the role.
pub async fn apply(
    iam_client: &aws_sdk_iam::Client,
    fleet: &Fleet,
    cluster_name: &str,
    role: &DesiredRole,
    changes: &RoleChanges,
    fleet_view: FleetView<'_>,
) -> Result<(), Error> {
    let names = fleet.names();
    if changes.create {
        let description = format!(
            "Kubecost {} on EKS cluster {} (made by kcfed)",
            role.kind.service_account(),
            cluster_name
        );
        iam::create_role(
            iam_client,
            &role.name,
            &names.iam_path(),
            &role.trust,
            &description,
            role.tags.clone(),
        )
        .await?;
    } else {
        if changes.trust {
            iam::update_trust(iam_client, &role.name, &role.trust).await?;
        }
        if changes.tags {
            iam::tag_role(iam_client, &role.name, role.tags.clone()).await?;
        }
    }
    // The role is made beside the fleet's policies; attaching needs them done.
    if !changes.attach.is_empty() {
        fleet_view.reached(&[ResourceKind::IamPolicy]).await?;
    }
    let attach = changes.attach.iter().map(|policy| {
        let arn = names.policy_arn(*policy);
        async move { iam::attach_policy(iam_client, &role.name, &arn).await }
    });
    try_join_all(attach).await?;
    let detach = changes
        .detach
        .iter()
        .map(|arn| iam::detach_policy(iam_client, &role.name, arn));
    try_join_all(detach).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Renderer;
    use crate::resources::cluster;
    use crate::resources::fixtures::{fleet, target};

    fn existing(fleet: &Fleet, role: &DesiredRole) -> iam::Role {
        iam::Role {
            name: role.name.clone(),
            arn: role.arn.clone(),
            path: fleet.names().iam_path(),
            trust: Some(role.trust.clone()),
            tags: role.tags.iter().cloned().collect(),
            attached_policies: role
                .policies
                .iter()
                .map(|p| fleet.names().policy_arn(*p))
                .collect(),
        }
    }

    fn desired() -> Vec<DesiredRole> {
        cluster::desired(&Renderer::new(), &fleet(), &target())
            .unwrap()
            .roles
    }

    #[test]
    fn missing_roles_are_created_with_their_policies() {
        let desired = desired();
        let planned = plan("prod", &fleet(), &desired, vec![None, None]);
        assert_eq!(planned.len(), 2);
        for ((step, op), role) in planned.iter().zip(&desired) {
            assert_eq!(step.action, Action::Create);
            let Op::Role(changes) = op else {
                panic!("{op:?}")
            };
            assert!(changes.create && changes.trust && changes.tags);
            assert_eq!(changes.attach, role.policies);
        }
    }

    #[test]
    fn roles_as_desired_need_nothing_and_drifted_ones_are_updated() {
        let fleet = fleet();
        let desired = desired();
        let same = desired.iter().map(|r| Some(existing(&fleet, r))).collect();
        let planned = plan("prod", &fleet, &desired, same);
        assert!(
            planned
                .iter()
                .all(|(step, op)| step.action == Action::Exists && *op == Op::Nothing)
        );

        let mut drifted = existing(&fleet, &desired[0]);
        drifted.trust = Some(serde_json::json!({"Statement": []}));
        drifted
            .attached_policies
            .push("arn:aws:iam::aws:policy/Extra".to_owned());
        let planned = plan(
            "prod",
            &fleet,
            &desired,
            vec![Some(drifted), Some(existing(&fleet, &desired[1]))],
        );
        let Op::Role(changes) = &planned[0].1 else {
            panic!("{:?}", planned[0])
        };
        assert!(changes.trust && !changes.create);
        assert_eq!(changes.detach, ["arn:aws:iam::aws:policy/Extra"]);
        assert_eq!(planned[0].0.action, Action::Update);
    }

    #[test]
    fn a_role_kcfed_did_not_make_or_of_another_fleet_is_a_conflict() {
        let fleet = fleet();
        let desired = desired();
        let mut foreign = existing(&fleet, &desired[0]);
        foreign.tags.clear();
        let mut other_fleet = existing(&fleet, &desired[1]);
        other_fleet.path = "/kcfed/ws-other/".to_owned();
        let planned = plan(
            "prod",
            &fleet,
            &desired,
            vec![Some(foreign), Some(other_fleet)],
        );
        assert!(
            planned
                .iter()
                .all(|(step, op)| step.action == Action::Conflict && *op == Op::Nothing)
        );
        assert!(
            planned[0]
                .0
                .details
                .iter()
                .any(|d| d.contains("not made by kcfed"))
        );
        assert!(
            planned[1]
                .0
                .details
                .iter()
                .any(|d| d.contains("another fleet"))
        );
    }

    #[test]
    fn cleanup_deletes_only_the_roles_kcfed_made() {
        let fleet = fleet();
        let desired = desired();
        let ours = existing(&fleet, &desired[0]);
        let (step, op) = plan_cleanup("prod", &ours);
        assert_eq!(step.action, Action::Delete);
        assert!(matches!(op, CleanupOp::DeleteRole(role) if role.name == ours.name));
        let mut foreign = ours;
        foreign.tags.clear();
        let (step, op) = plan_cleanup("prod", &foreign);
        assert_eq!(step.action, Action::Keep);
        assert!(matches!(op, CleanupOp::Nothing));
    }
}
