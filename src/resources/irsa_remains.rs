//! What IRSA leaves of a cluster once it no longer uses it: its roles, and the OIDC providers
//! they trust, which go only when kcfed made them and no role that stays trusts them. Cleanup
//! removes them with the cluster; a join removes them once the cluster has moved to Pod Identity,
//! and the role of a service account its chart no longer runs once it has moved to Kubecost 3.

use std::collections::{HashMap, HashSet};

use futures::future::try_join_all;

use super::op::Op;
use super::{oidc, roles};
use crate::aws::iam;
use crate::error::Error;
use crate::plan::Step;

/// A cluster's IRSA roles as read, the providers they trust, and which other roles trust each.
#[derive(Debug, Clone, Default)]
pub struct IrsaRemains {
    roles: Vec<iam::Role>,
    providers: Vec<(String, iam::OidcProvider)>,
    still_trusting: HashMap<String, Vec<String>>,
}

/// Reads the named roles of one cluster and what their removal would leave trusting their
/// providers: nothing is read when there are none (the usual case).
pub async fn observe(
    client: &aws_sdk_iam::Client,
    names: &[String],
    trust: &iam::AccountTrust,
) -> Result<IrsaRemains, Error> {
    if names.is_empty() {
        return Ok(IrsaRemains::default());
    }
    let (roles, trusting) = tokio::try_join!(
        try_join_all(names.iter().map(|name| iam::get_role(client, name))),
        trust.read(client),
    )?;
    let roles: Vec<iam::Role> = roles.into_iter().flatten().collect();
    let providers = trusted_providers(client, &roles).await?;
    let still_trusting = providers
        .iter()
        .map(|(arn, _)| {
            let others = trusting.get(arn).into_iter().flatten();
            let others = others.filter(|name| !names.contains(name)).cloned();
            (arn.clone(), others.collect())
        })
        .collect();
    Ok(IrsaRemains {
        roles,
        providers,
        still_trusting,
    })
}

impl IrsaRemains {
    /// Whether IRSA roles of the cluster are left: a cluster moving to Pod Identity has not
    /// finished until they are gone.
    pub fn has_roles(&self) -> bool {
        !self.roles.is_empty()
    }

    #[cfg(test)]
    pub fn of_roles(roles: Vec<iam::Role>) -> IrsaRemains {
        IrsaRemains {
            roles,
            ..IrsaRemains::default()
        }
    }
}

/// Reads the named roles alone, for a cluster that keeps IRSA and so its provider.
pub async fn observe_roles(
    client: &aws_sdk_iam::Client,
    names: &[String],
) -> Result<IrsaRemains, Error> {
    let roles = try_join_all(names.iter().map(|name| iam::get_role(client, name))).await?;
    Ok(IrsaRemains {
        roles: roles.into_iter().flatten().collect(),
        ..IrsaRemains::default()
    })
}

/// The providers the roles trust that still exist.
pub async fn trusted_providers(
    client: &aws_sdk_iam::Client,
    roles: &[iam::Role],
) -> Result<Vec<(String, iam::OidcProvider)>, Error> {
    let arns: HashSet<&str> = roles
        .iter()
        .filter_map(|role| role.trust.as_ref())
        .flat_map(iam::trusted_providers)
        .collect();
    let found = try_join_all(arns.into_iter().map(|arn| async move {
        let provider = iam::get_oidc_provider(client, arn).await?;
        Ok::<_, Error>(provider.map(|provider| (arn.to_owned(), provider)))
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// The providers (when kcfed made them and nothing else trusts them), then the roles (when
/// kcfed made them): a rerun after an interruption still finds the cluster by its roles.
pub fn plan(scope: &str, remains: &IrsaRemains) -> Vec<(Step, Op)> {
    plan_removal(
        scope,
        &remains.roles,
        &remains.providers,
        &remains.still_trusting,
    )
}

/// [`plan`] for roles and providers read apart (cleanup reads the account's trust once for
/// every cluster it removes).
pub fn plan_removal(
    scope: &str,
    roles: &[iam::Role],
    providers: &[(String, iam::OidcProvider)],
    still_trusting: &HashMap<String, Vec<String>>,
) -> Vec<(Step, Op)> {
    let providers = providers.iter().map(|(arn, provider)| {
        let others = still_trusting.get(arn).map_or(&[][..], Vec::as_slice);
        let (step, delete) = oidc::plan_cleanup(scope, arn, provider, others);
        let op = if delete {
            Op::DeleteOidcProvider(arn.clone())
        } else {
            Op::Nothing
        };
        (step, op)
    });
    let roles = roles.iter().map(|role| {
        let (step, delete) = roles::plan_cleanup(scope, role);
        let op = if delete {
            Op::DeleteRole(Box::new(role.clone()))
        } else {
            Op::Nothing
        };
        (step, op)
    });
    providers.chain(roles).collect()
}
