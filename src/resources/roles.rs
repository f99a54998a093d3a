//! kcfed's IAM roles, one per service account: an IRSA cluster's two roles (each trusts one
//! service account of the cluster's OIDC provider), and a Pod Identity fleet's shared ones (see
//! `shared_roles`). Each carries the fleet policies its service account needs, or, in another
//! account than the fleet's, an inline policy that lets it assume the fleet's role.

use futures::future::try_join_all;

use crate::aws::{iam, made_by_kcfed, tags_missing};
use crate::engine::run::FleetView;
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::{FleetPolicy, ServiceAccountKind};
use crate::plan::{Action, ResourceKind, Step};

/// One role as it should be.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRole {
    pub kind: ServiceAccountKind,
    pub name: String,
    pub arn: String,
    /// The fleet's IAM path, which names its workspace.
    pub path: String,
    /// What the role is for, in its description.
    pub description: String,
    pub trust: serde_json::Value,
    pub policies: Vec<FleetPolicy>,
    /// The one inline policy kcfed writes ([`INLINE_POLICY`]), where the role has one.
    pub inline: Option<serde_json::Value>,
    pub tags: Vec<(String, String)>,
}

/// The name of the inline policy of a Pod Identity role in another account than the fleet's.
pub const INLINE_POLICY: &str = "kcfed-assume-fleet-role";

/// What applying a role's step changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleChanges {
    pub create: bool,
    pub trust: bool,
    pub tags: bool,
    pub inline: bool,
    /// Policy ARNs.
    pub attach: Vec<String>,
    pub detach: Vec<String>,
}

/// A role to make or update, as it should be and what differs.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleChange {
    pub role: DesiredRole,
    pub changes: RoleChanges,
}

/// The roles' steps from what exists: create, update (trust, tags, policies), or a conflict
/// when a role of that name is not kcfed's or belongs to another fleet.
pub fn plan(
    scope: &str,
    fleet: &Fleet,
    desired: &[DesiredRole],
    observed: &[Option<iam::Role>],
) -> Vec<(Step, Option<RoleChange>)> {
    let fleet_names = fleet.names();
    let mut planned = Vec::new();
    for (role, existing) in desired.iter().zip(observed) {
        let wanted_arns: Vec<String> = role
            .policies
            .iter()
            .map(|p| fleet_names.policy_arn(*p))
            .collect();
        let change = |changes| {
            Some(RoleChange {
                role: role.clone(),
                changes,
            })
        };
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
                change(RoleChanges {
                    create: true,
                    trust: true,
                    tags: true,
                    inline: role.inline.is_some(),
                    attach: wanted_arns,
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
            planned.push((step(Action::Conflict).with_detail(reason), None));
            continue;
        }
        let changes = RoleChanges {
            create: false,
            trust: existing.trust.as_ref() != Some(&role.trust),
            tags: tags_missing(&existing.tags, &role.tags),
            inline: role.inline.is_some() && existing.inline_policy != role.inline,
            attach: wanted_arns
                .iter()
                .filter(|arn| !existing.attached_policies.contains(arn))
                .cloned()
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
                "trust policy differs (new OIDC issuer, namespace, service account or accounts)"
                    .to_owned(),
            );
        }
        if changes.tags {
            details.push("tags".to_owned());
        }
        if changes.inline {
            details.push(format!("inline policy {INLINE_POLICY}"));
        }
        details.extend(changes.attach.iter().map(|arn| {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            format!("attach {name}")
        }));
        details.extend(changes.detach.iter().map(|arn| format!("detach {arn}")));
        if details.is_empty() {
            planned.push((step(Action::Exists), None));
        } else {
            let mut step = step(Action::Update);
            step.details.extend(details);
            planned.push((step, change(changes)));
        }
    }

    planned
}

/// Cleanup deletes a role of the cluster that kcfed made (its policies detached first).
pub fn plan_cleanup(scope: &str, role: &iam::Role) -> (Step, bool) {
    let step = |action| {
        Step::new(scope, ResourceKind::IamRole, &role.name, action).with_id(role.arn.clone())
    };
    if made_by_kcfed(&role.tags) {
        (step(Action::Delete), true)
    } else {
        (step(Action::Keep).with_detail("not made by kcfed"), false)
    }
}

/// Deletes the role this run made (its cluster failed on a quota), with what it attached; a
/// role it only updated stays.
pub async fn undo(iam_client: &aws_sdk_iam::Client, change: &RoleChange) -> Result<bool, Error> {
    if !change.changes.create {
        return Ok(false);
    }
    if let Some(role) = iam::get_role(iam_client, &change.role.name).await? {
        iam::delete_role(iam_client, &role).await?;
    }
    Ok(true)
}

/// Makes or updates the role, then attaches and detaches its policies; attaching waits for the
/// fleet's policies, which are made beside the role.
pub async fn apply(
    iam_client: &aws_sdk_iam::Client,
    RoleChange { role, changes }: &RoleChange,
    fleet_view: FleetView<'_>,
) -> Result<(), Error> {
    if changes.create {
        iam::create_role(
            iam_client,
            &role.name,
            &role.path,
            &role.trust,
            &role.description,
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
    if let (true, Some(document)) = (changes.inline, &role.inline) {
        iam::put_role_policy(iam_client, &role.name, INLINE_POLICY, document).await?;
    }
    // The role is made beside the fleet's policies; attaching needs them done.
    if !changes.attach.is_empty() {
        fleet_view.reached(&[ResourceKind::IamPolicy]).await?;
    }
    let attach = changes
        .attach
        .iter()
        .map(|arn| iam::attach_policy(iam_client, &role.name, arn));
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
            inline_policy: role.inline.clone(),
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
        let fleet = fleet();
        let planned = plan("prod", &fleet, &desired, &[None, None]);
        assert_eq!(planned.len(), 2);
        for ((step, change), role) in planned.iter().zip(&desired) {
            assert_eq!(step.action, Action::Create);
            let RoleChange { changes, .. } = change.as_ref().unwrap();
            assert!(changes.create && changes.trust && changes.tags);
            let arns: Vec<_> = role
                .policies
                .iter()
                .map(|p| fleet.names().policy_arn(*p))
                .collect();
            assert_eq!(changes.attach, arns);
        }
    }

    #[test]
    fn roles_as_desired_need_nothing_and_drifted_ones_are_updated() {
        let fleet = fleet();
        let desired = desired();
        let same: Vec<_> = desired.iter().map(|r| Some(existing(&fleet, r))).collect();
        let planned = plan("prod", &fleet, &desired, &same);
        assert!(
            planned
                .iter()
                .all(|(step, change)| step.action == Action::Exists && change.is_none())
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
            &[Some(drifted), Some(existing(&fleet, &desired[1]))],
        );
        let RoleChange { changes, .. } = planned[0].1.as_ref().unwrap();
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
            &[Some(foreign), Some(other_fleet)],
        );
        assert!(
            planned
                .iter()
                .all(|(step, change)| step.action == Action::Conflict && change.is_none())
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
        assert!(op);
        let mut foreign = ours;
        foreign.tags.clear();
        let (step, op) = plan_cleanup("prod", &foreign);
        assert_eq!(step.action, Action::Keep);
        assert!(!op);
    }
}
