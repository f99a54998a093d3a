//! A Pod Identity fleet's roles, shared by all its clusters. In the fleet account, one per
//! service account that EKS Pod Identity may assume, carrying the fleet policies that service
//! account needs. Once clusters of other accounts join: in each such account, one per service
//! account that EKS assumes first and that may do nothing but assume the fleet's; and in the
//! fleet account, one per service account with the same policies that those roles may assume
//! (the associations' target role), trusting every account's shared role by its path. Their
//! number does not grow with the clusters (two, two more for all other accounts, two per other
//! account), and every document is the same whichever run writes it: no document lists
//! clusters or accounts, so concurrent runs never undo one another.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

use super::roles::{self, DesiredRole, INLINE_POLICY, RoleChange};
use crate::aws::accounts::Accounts;
use crate::aws::{iam, managed_tags};
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::{FleetNames, FleetPolicy, ServiceAccountKind, tags};
use crate::plan::{FLEET_SCOPE, Step};
use crate::render::Renderer;

/// The shared roles as they are: the fleet account's, its target roles (read when other
/// accounts take part), and each other account's.
pub struct ObservedSharedRoles {
    fleet: Vec<Option<iam::Role>>,
    targets: Vec<Option<iam::Role>>,
    others: BTreeMap<String, Vec<Option<iam::Role>>>,
}

impl ObservedSharedRoles {
    /// None of the roles exist yet (a new fleet, or `render`, which reads nothing).
    pub fn none(other_accounts: impl IntoIterator<Item = String>) -> ObservedSharedRoles {
        let others: BTreeMap<_, _> = other_accounts
            .into_iter()
            .map(|account| (account, vec![None; ServiceAccountKind::ALL.len()]))
            .collect();
        let targets = if others.is_empty() {
            0
        } else {
            ServiceAccountKind::ALL.len()
        };
        ObservedSharedRoles {
            fleet: vec![None; ServiceAccountKind::ALL.len()],
            targets: vec![None; targets],
            others,
        }
    }
}

/// Reads the fleet account's shared roles and those of `other_accounts` (the accounts of the
/// run's clusters that are not the fleet's), with their inline policy.
pub async fn observe(
    accounts: &Accounts,
    fleet: &Fleet,
    other_accounts: &BTreeSet<String>,
) -> Result<ObservedSharedRoles, Error> {
    let names = fleet.names();
    let read =
        async |account: &str, name: fn(&FleetNames, ServiceAccountKind) -> String, inline: bool| {
            let client = &accounts.clients(account).iam;
            try_join_all(ServiceAccountKind::ALL.into_iter().map(|kind| {
                let name = name(&names, kind);
                async move {
                    // A new fleet's roles are named from a workspace id not known yet.
                    if !fleet.has_id() {
                        return Ok(None);
                    }
                    let Some(mut role) = iam::get_role(client, &name).await? else {
                        return Ok(None);
                    };
                    if inline {
                        role.inline_policy = iam::role_policy(client, &name, INLINE_POLICY).await?;
                    }
                    Ok::<_, Error>(Some(role))
                }
            }))
            .await
        };
    let shared = FleetNames::shared_role_name;
    let (fleet_roles, targets, others) = tokio::try_join!(
        read(&fleet.account_id, shared, false),
        async {
            if other_accounts.is_empty() {
                Ok(Vec::new())
            } else {
                read(&fleet.account_id, FleetNames::target_role_name, false).await
            }
        },
        try_join_all(other_accounts.iter().map(async |account| {
            Ok::<_, Error>((account.clone(), read(account, shared, true).await?))
        })),
    )?;
    Ok(ObservedSharedRoles {
        fleet: fleet_roles,
        targets,
        others: others.into_iter().collect(),
    })
}

impl ObservedSharedRoles {
    /// The role named `name` in `account`, if it was read.
    fn find(&self, account: &str, name: &str) -> Option<&iam::Role> {
        self.fleet
            .iter()
            .chain(&self.targets)
            .chain(self.others.values().flatten())
            .flatten()
            .find(|role| role.name == name && role_account(&role.arn) == account)
    }
}

/// The service accounts the fleet's shared roles are for: the cost analyzer's always; the
/// Prometheus server's while the run's clusters reach AMP (`amp`), or once its role exists (a
/// cluster of another run may still use it). Kubecost 3 has no Prometheus.
fn kinds(observed: &ObservedSharedRoles, amp: bool) -> Vec<ServiceAccountKind> {
    ServiceAccountKind::ALL
        .into_iter()
        .zip(&observed.fleet)
        .filter(|(kind, found)| *kind == ServiceAccountKind::CostAnalyzer || amp || found.is_some())
        .map(|(kind, _)| kind)
        .collect()
}

/// The fleet policies of a shared role for `kind`: AMP's while the run's clusters reach AMP
/// (`amp`), or once the role has them, as [`kinds`] keeps roles.
fn role_policies(
    fleet: &Fleet,
    kind: ServiceAccountKind,
    amp: bool,
    found: Option<&iam::Role>,
) -> Vec<FleetPolicy> {
    let names = fleet.names();
    let has_amp = found.is_some_and(|role| {
        [FleetPolicy::AmpQuery, FleetPolicy::AmpRemoteWrite]
            .iter()
            .any(|policy| role.attached_policies.contains(&names.policy_arn(*policy)))
    });
    FleetPolicy::for_service_account(kind, fleet.store.is_some(), amp || has_amp)
}

/// The shared roles as they should be: the fleet account's; and where other accounts take
/// part, the fleet account's target roles and each other account's roles. `amp`: the run's
/// clusters reach AMP.
pub fn desired(
    renderer: &Renderer,
    fleet: &Fleet,
    observed: &ObservedSharedRoles,
    amp: bool,
) -> Result<Vec<DesiredRole>, Error> {
    let names = fleet.names();
    let kinds = kinds(observed, amp);
    let found = |name: &str| observed.find(&fleet.account_id, name);
    let role = |kind: ServiceAccountKind, account: &str, name: String| DesiredRole {
        kind,
        arn: names.role_arn_in(account, &name),
        path: names.iam_path(),
        description: String::new(),
        trust: serde_json::Value::Null,
        policies: Vec::new(),
        inline: None,
        tags: managed_tags(&[(tags::FLEET, fleet.id())]),
        name,
    };
    let ws = fleet.id();
    let mut roles = Vec::new();
    for &kind in &kinds {
        let sa = kind.service_account();
        let name = names.shared_role_name(kind);
        roles.push(DesiredRole {
            description: format!(
                "Kubecost {sa} in the clusters of fleet {ws} (EKS Pod Identity; made by kcfed)"
            ),
            trust: renderer.pod_identity_trust_policy(&fleet.account_id, sa)?,
            policies: role_policies(fleet, kind, amp, found(&name)),
            ..role(kind, &fleet.account_id, name)
        });
    }
    if observed.others.is_empty() {
        return Ok(roles);
    }
    for &kind in &kinds {
        let sa = kind.service_account();
        let name = names.target_role_name(kind);
        roles.push(DesiredRole {
            description: format!(
                "Kubecost {sa} in other accounts' clusters of fleet {ws}, after their own role (EKS Pod Identity; made by kcfed)"
            ),
            trust: renderer.fleet_target_trust_policy(&names.shared_role_pattern(kind))?,
            policies: role_policies(fleet, kind, amp, found(&name)),
            ..role(kind, &fleet.account_id, name)
        });
    }
    for account in observed.others.keys() {
        for &kind in &kinds {
            let sa = kind.service_account();
            let target = names.role_arn(&names.target_role_name(kind));
            roles.push(DesiredRole {
                description: format!(
                    "Kubecost {sa} in this account's clusters of fleet {ws}: assumes the fleet's role (EKS Pod Identity; made by kcfed)"
                ),
                trust: renderer.pod_identity_trust_policy(account, sa)?,
                inline: Some(renderer.assume_fleet_role_policy(&target)?),
                ..role(kind, account, names.shared_role_name(kind))
            });
        }
    }
    Ok(roles)
}

/// The shared roles' steps, each in the account its role is in.
pub fn plan(
    renderer: &Renderer,
    fleet: &Fleet,
    observed: &ObservedSharedRoles,
    amp: bool,
) -> Result<Vec<(Step, Option<RoleChange>)>, Error> {
    let desired = desired(renderer, fleet, observed, amp)?;
    let found: Vec<Option<iam::Role>> = desired
        .iter()
        .map(|role| observed.find(role_account(&role.arn), &role.name).cloned())
        .collect();
    Ok(roles::plan(FLEET_SCOPE, fleet, &desired, &found)
        .into_iter()
        .zip(&desired)
        .map(|((step, change), role)| (step.in_account(role_account(&role.arn)), change))
        .collect())
}

/// The account of a role ARN (`arn:PARTITION:iam::ACCOUNT:role/...`).
pub fn role_account(arn: &str) -> &str {
    crate::names::parse_arn(arn).map_or("", |arn| arn.account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resources::fixtures::{ACCOUNT, pod_identity_fleet};

    fn nothing_yet(others: &[&str]) -> ObservedSharedRoles {
        ObservedSharedRoles::none(others.iter().map(|account| (*account).to_owned()))
    }

    #[test]
    fn the_fleet_account_gets_two_roles_whatever_the_number_of_clusters() {
        let (renderer, fleet) = (Renderer::new(), pod_identity_fleet());
        let roles = desired(&renderer, &fleet, &nothing_yet(&[]), true).unwrap();
        assert_eq!(roles.len(), 2);
        for role in &roles {
            let statements = role.trust["Statement"].as_array().unwrap();
            assert_eq!(statements.len(), 1);
            let only = &statements[0];
            assert_eq!(only["Principal"]["Service"], "pods.eks.amazonaws.com");
            let conditions = &only["Condition"]["StringEquals"];
            assert_eq!(conditions["aws:SourceAccount"], ACCOUNT);
            assert_eq!(
                conditions["aws:RequestTag/kubernetes-service-account"],
                role.kind.service_account()
            );
            assert!(role.inline.is_none());
        }
        assert_eq!(
            roles[0].policies,
            [FleetPolicy::AmpQuery, FleetPolicy::FederatedStore]
        );
        assert_eq!(roles[1].policies, [FleetPolicy::AmpRemoteWrite]);
    }

    /// A thousand accounts or one: the fleet account holds four roles whose documents do not
    /// change, each other account two that may only assume the fleet's targets.
    #[test]
    fn other_accounts_get_roles_that_may_only_assume_the_fleets() {
        let (renderer, fleet) = (Renderer::new(), pod_identity_fleet());
        let one = desired(&renderer, &fleet, &nothing_yet(&["444455556666"]), true).unwrap();
        assert_eq!(one.len(), 6);
        let accounts: Vec<String> = (0..1000)
            .map(|n| format!("{:012}", 500_000_000_000_u64 + n))
            .collect();
        let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
        let many = desired(&renderer, &fleet, &nothing_yet(&refs), true).unwrap();
        assert_eq!(many.len(), 4 + 2 * 1000);
        assert_eq!(
            many[..4],
            one[..4],
            "the fleet account's roles do not change"
        );
        let target = &one[2];
        assert_eq!(
            target.name,
            fleet
                .names()
                .target_role_name(ServiceAccountKind::CostAnalyzer)
        );
        let trust = target.trust.to_string();
        assert!(
            trust.len() < 2048,
            "within IAM's default trust size: {}",
            trust.len()
        );
        assert_eq!(
            target.trust["Statement"][0]["Condition"]["ArnLike"]["aws:PrincipalArn"],
            fleet
                .names()
                .shared_role_pattern(ServiceAccountKind::CostAnalyzer)
        );
        assert_eq!(target.policies, one[0].policies);
        let local = &one[4];
        assert!(
            local
                .arn
                .starts_with("arn:aws:iam::444455556666:role/kcfed/")
        );
        assert!(local.policies.is_empty());
        assert_eq!(
            local.inline.as_ref().unwrap()["Statement"][0]["Resource"],
            target.arn
        );

        let planned = plan(&renderer, &fleet, &nothing_yet(&["444455556666"]), true).unwrap();
        let in_accounts: Vec<&str> = planned
            .iter()
            .map(|(step, _)| step.account.as_str())
            .collect();
        assert_eq!(
            in_accounts,
            [
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
                ACCOUNT,
                "444455556666",
                "444455556666"
            ]
        );
        assert!(
            planned
                .iter()
                .all(|(step, _)| step.action == Action::Create)
        );
    }

    #[test]
    fn roles_as_wanted_need_nothing() {
        let (renderer, fleet) = (Renderer::new(), pod_identity_fleet());
        let wanted = desired(&renderer, &fleet, &nothing_yet(&[]), true).unwrap();
        let existing = |role: &DesiredRole| iam::Role {
            name: role.name.clone(),
            arn: role.arn.clone(),
            path: role.path.clone(),
            trust: Some(role.trust.clone()),
            tags: role.tags.iter().cloned().collect(),
            attached_policies: role
                .policies
                .iter()
                .map(|p| fleet.names().policy_arn(*p))
                .collect(),
            inline_policy: None,
        };
        let observed = ObservedSharedRoles {
            fleet: wanted.iter().map(|r| Some(existing(r))).collect(),
            targets: Vec::new(),
            others: BTreeMap::new(),
        };
        let planned = plan(&renderer, &fleet, &observed, true).unwrap();
        assert!(
            planned
                .iter()
                .all(|(step, change)| step.action == Action::Exists && change.is_none()),
            "{planned:?}"
        );
        // A run of Kubecost 3 clusters keeps the AMP grants others' clusters may use.
        let planned = plan(&renderer, &fleet, &observed, false).unwrap();
        assert_eq!(planned.len(), 2);
        assert!(planned.iter().all(|(_, change)| change.is_none()));
    }

    /// A fleet whose clusters run Kubecost 3 reaches no AMP: one shared role, with the bucket
    /// alone; a cluster that reaches AMP adds the rest.
    #[test]
    fn a_fleet_without_amp_gets_the_bucket_alone() {
        let (renderer, fleet) = (Renderer::new(), pod_identity_fleet());
        let roles = desired(&renderer, &fleet, &nothing_yet(&["444455556666"]), false).unwrap();
        let kinds: Vec<_> = roles.iter().map(|role| role.kind).collect();
        assert_eq!(kinds, [ServiceAccountKind::CostAnalyzer; 3]);
        assert!(
            roles[..2]
                .iter()
                .all(|role| role.policies == [FleetPolicy::FederatedStore])
        );
    }
}
