//! IAM's account quotas, checked before any change: a plan that would pass one stops there,
//! naming the quota and the way to raise it, instead of failing midway at the call that meets
//! it. With IRSA every cluster adds an OIDC provider and two roles to the fleet's account.

use futures::try_join;

use super::op::Op;
use crate::aws::config::Clients;
use crate::aws::{iam, service_quotas};
use crate::engine::run::ClusterPlan;
use crate::error::Error;
use crate::plan::{Action, ResourceKind};

/// Service Quotas' codes of IAM's quotas on roles and on OIDC providers per account.
pub const ROLES_QUOTA: &str = "L-FE177D64";
pub const OIDC_PROVIDERS_QUOTA: &str = "L-858F3967";
/// AWS's default where Service Quotas gives no value.
const DEFAULT_OIDC_PROVIDERS: u32 = 100;

/// How much of one quota an account uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub used: u32,
    pub quota: u32,
    /// Where the quota's value comes from, for the plan's words.
    pub source: &'static str,
}

/// The fleet account's IAM quotas that a cluster's share counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamQuotas {
    pub account: String,
    pub roles: Usage,
    pub oidc_providers: Usage,
}

/// Reads the account's usage and quotas for a run that installs `clusters` clusters: two calls,
/// whatever the fleet's size, and Service Quotas' value for OIDC providers only when the run
/// could pass the default (a quota is never below its default).
pub async fn observe(
    clients: &Clients,
    account: &str,
    clusters: usize,
) -> Result<IamQuotas, Error> {
    let (roles, providers) = try_join!(
        iam::role_usage(&clients.iam),
        iam::oidc_provider_count(&clients.iam),
    )?;
    let most_added = u32::try_from(clusters).unwrap_or(u32::MAX);
    let provider_quota = if providers.saturating_add(most_added) > DEFAULT_OIDC_PROVIDERS {
        let client = clients.service_quotas_for_iam();
        service_quotas::applied(&client, "iam", OIDC_PROVIDERS_QUOTA).await?
    } else {
        None
    };
    Ok(IamQuotas {
        account: account.to_owned(),
        roles: Usage {
            used: roles.0,
            quota: roles.1,
            source: "iam:GetAccountSummary",
        },
        oidc_providers: Usage {
            used: providers,
            quota: provider_quota.unwrap_or(DEFAULT_OIDC_PROVIDERS),
            source: if provider_quota.is_some() {
                "Service Quotas"
            } else {
                "AWS's default; Service Quotas gave no value"
            },
        },
    })
}

/// Makes every step that adds to a quota the plan would pass a conflict, with the quota, the
/// counts and the fix: nothing is made.
pub fn enforce(quotas: &IamQuotas, plans: &mut [ClusterPlan<Op>]) {
    let limits = [
        (ResourceKind::IamRole, &quotas.roles, "roles", ROLES_QUOTA),
        (
            ResourceKind::OidcProvider,
            &quotas.oidc_providers,
            "OIDC providers",
            OIDC_PROVIDERS_QUOTA,
        ),
    ];
    for (kind, usage, what, code) in limits {
        let mut adding: Vec<_> = plans
            .iter_mut()
            .filter_map(|plan| plan.planned.as_mut().ok())
            .flatten()
            .filter(|item| item.step.kind == kind && item.step.action == Action::Create)
            .collect();
        // Clusters that share an issuer share its provider: it is made once.
        let mut ids: Vec<_> = adding.iter().map(|item| item.step.id.clone()).collect();
        ids.sort();
        ids.dedup();
        let added = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let needed = usage.used.saturating_add(added);
        if needed <= usage.quota {
            continue;
        }
        let reason = format!(
            "IAM quota: account {} may have {} {what} ({}) and has {}; this run would add {added}. Raise the quota first (`aws service-quotas request-service-quota-increase --service-code iam --quota-code {code} --desired-value {needed}`), or remove {what} it no longer needs; or move the fleet to EKS Pod Identity, whose IAM does not grow with its clusters (`kcfed init primary --identity pod-identity`, chart 2.4.3 or later; README, \"EKS Pod Identity\")",
            quotas.account, usage.quota, usage.source, usage.used
        );
        for item in &mut adding {
            item.step.action = Action::Conflict;
            item.step.details.push(reason.clone());
            item.op = Op::Nothing;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;
    use crate::resources::op::cluster_step;

    fn quotas(roles: (u32, u32), providers: (u32, u32)) -> IamQuotas {
        let usage = |(used, quota)| Usage {
            used,
            quota,
            source: "test",
        };
        IamQuotas {
            account: "111122223333".to_owned(),
            roles: usage(roles),
            oidc_providers: usage(providers),
        }
    }

    /// One cluster's plan that makes its provider and two roles.
    fn new_cluster(name: &str, issuer: &str) -> ClusterPlan<Op> {
        let step = |kind, id: &str| {
            let step = Step::new(name, kind, format!("{name}-{id}"), Action::Create).with_id(id);
            cluster_step(step, Op::Nothing, 0)
        };
        ClusterPlan {
            name: name.to_owned(),
            cluster_id: name.to_owned(),
            account: "111122223333".to_owned(),
            planned: Ok(vec![
                step(ResourceKind::OidcProvider, issuer),
                step(ResourceKind::IamRole, &format!("{name}-cost-analyzer")),
                step(ResourceKind::IamRole, &format!("{name}-prometheus")),
            ]),
        }
    }

    fn actions(plans: &[ClusterPlan<Op>]) -> Vec<(ResourceKind, Action)> {
        plans
            .iter()
            .flat_map(|plan| plan.planned.as_ref().unwrap())
            .map(|item| (item.step.kind, item.step.action))
            .collect()
    }

    #[test]
    fn a_plan_within_the_quotas_is_left_alone() {
        let mut plans = vec![new_cluster("a", "issuer-a"), new_cluster("b", "issuer-a")];
        // Two clusters sharing an issuer add one provider: 99 + 1 fits 100.
        enforce(&quotas((996, 1000), (99, 100)), &mut plans);
        assert!(
            actions(&plans)
                .iter()
                .all(|(_, action)| *action == Action::Create)
        );
    }

    #[test]
    fn steps_that_would_pass_a_quota_are_conflicts_naming_it() {
        let mut plans = vec![new_cluster("a", "issuer-a"), new_cluster("b", "issuer-b")];
        enforce(&quotas((0, 1000), (99, 100)), &mut plans);
        assert_eq!(
            actions(&plans),
            [
                (ResourceKind::OidcProvider, Action::Conflict),
                (ResourceKind::IamRole, Action::Create),
                (ResourceKind::IamRole, Action::Create),
                (ResourceKind::OidcProvider, Action::Conflict),
                (ResourceKind::IamRole, Action::Create),
                (ResourceKind::IamRole, Action::Create),
            ]
        );
        let provider = &plans[0].planned.as_ref().unwrap()[0].step;
        let reason = &provider.details[0];
        assert!(
            reason.contains("may have 100 OIDC providers (test) and has 99"),
            "{reason}"
        );
        assert!(
            reason.contains("--quota-code L-858F3967 --desired-value 101"),
            "{reason}"
        );

        let mut plans = vec![new_cluster("a", "issuer-a")];
        enforce(&quotas((999, 1000), (0, 100)), &mut plans);
        let roles = actions(&plans);
        assert_eq!(roles[1..], [(ResourceKind::IamRole, Action::Conflict); 2]);
    }
}
