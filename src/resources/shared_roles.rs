//! A Pod Identity fleet's roles, shared by all its clusters. In the fleet account, one per
//! service account: EKS Pod Identity may assume it, and it carries the fleet policies that
//! service account needs. In each other account with clusters, one per service account that
//! EKS assumes first and that may do nothing but assume the fleet's (the associations name the
//! fleet's as their target role). Their number does not grow with the clusters: two, and two
//! per other account; and no document lists clusters or accounts, so concurrent runs never
//! edit one another's entries: the fleet roles trust every account's shared role by its path.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

use super::roles::{self, DesiredRole, INLINE_POLICY, RoleChange};
use crate::aws::accounts::Accounts;
use crate::aws::{iam, managed_tags};
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::{FleetPolicy, ServiceAccountKind, tags};
use crate::plan::{FLEET_SCOPE, Step};
use crate::render::Renderer;

/// Where the fleet's trust names the other accounts' roles.
const OTHER_ACCOUNTS_STATEMENT: &str = "FleetRolesOfOtherAccounts";

/// The shared roles as they are: the fleet account's, and each other account's.
pub struct ObservedSharedRoles {
    fleet: Vec<Option<iam::Role>>,
    others: BTreeMap<String, Vec<Option<iam::Role>>>,
}

impl ObservedSharedRoles {
    /// None of the roles exist yet (a new fleet, or `render`, which reads nothing).
    pub fn none(other_accounts: impl IntoIterator<Item = String>) -> ObservedSharedRoles {
        ObservedSharedRoles {
            fleet: vec![None; ServiceAccountKind::ALL.len()],
            others: other_accounts
                .into_iter()
                .map(|account| (account, vec![None; ServiceAccountKind::ALL.len()]))
                .collect(),
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
    let read = async |account: &str, inline: bool| {
        let client = &accounts.clients(account).iam;
        try_join_all(ServiceAccountKind::ALL.into_iter().map(|kind| {
            let name = names.shared_role_name(kind);
            async move {
                // A new fleet's roles are named from a workspace id not known yet.
                if fleet.workspace.is_none() {
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
    let (fleet_roles, others) = tokio::try_join!(
        read(&fleet.account_id, false),
        try_join_all(other_accounts.iter().map(async |account| {
            Ok::<_, Error>((account.clone(), read(account, true).await?))
        })),
    )?;
    Ok(ObservedSharedRoles {
        fleet: fleet_roles,
        others: others.into_iter().collect(),
    })
}

/// The shared roles as they should be. The fleet roles trust the other accounts' roles once
/// any other account has clusters, and keep doing so (a run never takes away what another
/// run's clusters use).
pub fn desired(
    renderer: &Renderer,
    fleet: &Fleet,
    observed: &ObservedSharedRoles,
) -> Result<Vec<DesiredRole>, Error> {
    let names = fleet.names();
    let path = names.iam_path();
    let role_tags = managed_tags(&[(tags::FLEET, fleet.workspace_id())]);
    let trusts_other_accounts = !observed.others.is_empty()
        || observed.fleet.iter().flatten().any(|role| {
            role.trust
                .as_ref()
                .is_some_and(|trust| has_statement(trust, OTHER_ACCOUNTS_STATEMENT))
        });
    let mut roles = Vec::new();
    for kind in ServiceAccountKind::ALL {
        let name = names.shared_role_name(kind);
        let pattern = names.shared_role_pattern(kind);
        roles.push(DesiredRole {
            kind,
            arn: names.role_arn(&name),
            path: path.clone(),
            description: format!(
                "Kubecost {} in every cluster of fleet {} (EKS Pod Identity; made by kcfed)",
                kind.service_account(),
                fleet.workspace_id()
            ),
            trust: renderer.pod_identity_trust_policy(
                &fleet.account_id,
                kind.service_account(),
                trusts_other_accounts.then_some(pattern.as_str()),
            )?,
            policies: FleetPolicy::for_service_account(kind, fleet.store.is_some()),
            inline: None,
            tags: role_tags.clone(),
            name,
        });
    }
    for account in observed.others.keys() {
        for kind in ServiceAccountKind::ALL {
            let name = names.shared_role_name(kind);
            let fleet_role = names.role_arn(&name);
            roles.push(DesiredRole {
                kind,
                arn: names.role_arn_in(account, &name),
                path: path.clone(),
                description: format!(
                    "Kubecost {} in this account's clusters of fleet {}: assumes the fleet's role (EKS Pod Identity; made by kcfed)",
                    kind.service_account(),
                    fleet.workspace_id()
                ),
                trust: renderer.pod_identity_trust_policy(account, kind.service_account(), None)?,
                policies: Vec::new(),
                inline: Some(renderer.assume_fleet_role_policy(&fleet_role)?),
                tags: role_tags.clone(),
                name,
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
) -> Result<Vec<(Step, Option<RoleChange>)>, Error> {
    let desired = desired(renderer, fleet, observed)?;
    let found: Vec<Option<iam::Role>> = observed
        .fleet
        .iter()
        .chain(observed.others.values().flatten())
        .cloned()
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

fn has_statement(document: &serde_json::Value, sid: &str) -> bool {
    document["Statement"]
        .as_array()
        .is_some_and(|statements| statements.iter().any(|s| s["Sid"] == sid))
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
        let roles = desired(&renderer, &fleet, &nothing_yet(&[])).unwrap();
        assert_eq!(roles.len(), 2);
        for role in &roles {
            let statements = role.trust["Statement"].as_array().unwrap();
            assert_eq!(statements.len(), 1, "no other account: EKS alone");
            assert_eq!(
                statements[0]["Principal"]["Service"],
                "pods.eks.amazonaws.com"
            );
            assert_eq!(
                statements[0]["Condition"]["StringEquals"]["aws:SourceAccount"],
                ACCOUNT
            );
            assert_eq!(
                statements[0]["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"],
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

    /// A thousand accounts or two: the fleet's trust is the same size, one statement that
    /// names kcfed's role path in any account.
    #[test]
    fn other_accounts_get_roles_that_may_only_assume_the_fleets() {
        let (renderer, fleet) = (Renderer::new(), pod_identity_fleet());
        let two = desired(&renderer, &fleet, &nothing_yet(&["444455556666"])).unwrap();
        assert_eq!(two.len(), 4);
        let accounts: Vec<String> = (0..1000)
            .map(|n| format!("{:012}", 500_000_000_000_u64 + n))
            .collect();
        let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
        let many = desired(&renderer, &fleet, &nothing_yet(&refs)).unwrap();
        assert_eq!(many.len(), 2 + 2 * 1000);
        assert_eq!(
            many[0].trust, two[0].trust,
            "the fleet's trust does not grow"
        );
        let trust = two[0].trust.to_string();
        assert!(
            trust.len() < 2048,
            "within IAM's default trust size: {}",
            trust.len()
        );
        let other = &two[0].trust["Statement"][1];
        assert_eq!(other["Sid"], OTHER_ACCOUNTS_STATEMENT);
        assert_eq!(
            other["Condition"]["ArnLike"]["aws:PrincipalArn"],
            fleet
                .names()
                .shared_role_pattern(ServiceAccountKind::CostAnalyzer)
        );
        let local = &two[2];
        assert!(
            local
                .arn
                .starts_with("arn:aws:iam::444455556666:role/kcfed/")
        );
        assert!(local.policies.is_empty());
        let inline = local.inline.as_ref().unwrap();
        assert_eq!(inline["Statement"][0]["Resource"], two[0].arn);

        let planned = plan(&renderer, &fleet, &nothing_yet(&["444455556666"])).unwrap();
        let accounts: Vec<&str> = planned
            .iter()
            .map(|(step, _)| step.account.as_str())
            .collect();
        assert_eq!(accounts, [ACCOUNT, ACCOUNT, "444455556666", "444455556666"]);
        assert!(
            planned
                .iter()
                .all(|(step, _)| step.action == Action::Create)
        );
    }

    #[test]
    fn a_run_of_the_fleet_account_alone_keeps_the_other_accounts_trusted() {
        let (renderer, fleet) = (Renderer::new(), pod_identity_fleet());
        let with_others = desired(&renderer, &fleet, &nothing_yet(&["444455556666"])).unwrap();
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
            fleet: with_others[..2].iter().map(|r| Some(existing(r))).collect(),
            others: BTreeMap::new(),
        };
        let planned = plan(&renderer, &fleet, &observed).unwrap();
        assert!(
            planned
                .iter()
                .all(|(step, change)| step.action == Action::Exists && change.is_none()),
            "{planned:?}"
        );
    }
}
