//! A cluster's IAM OIDC provider: its issuer registered in IAM with the STS audience, so the
//! roles can trust the cluster's service accounts.

use crate::aws::eks;
use crate::aws::{iam, made_by_kcfed, managed_tags};
use crate::error::Error;
use crate::names::{self, tags};
use crate::plan::{Action, ResourceKind, Step};

/// A provider to register for the cluster's issuer, or to give the STS audience.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderChange {
    pub arn: String,
    pub issuer: String,
    /// The cluster it is made for: its tag.
    pub cluster_arn: String,
    pub create: bool,
}

/// The provider's step: create it, add the STS audience, or nothing.
pub fn plan(
    scope: &str,
    cluster: &eks::Cluster,
    provider_arn: &str,
    observed: Option<&iam::OidcProvider>,
) -> (Step, Option<ProviderChange>) {
    let change = |create| ProviderChange {
        arn: provider_arn.to_owned(),
        issuer: cluster.oidc_issuer.clone(),
        cluster_arn: cluster.arn.clone(),
        create,
    };
    let step = |action| {
        Step::new(
            scope,
            ResourceKind::OidcProvider,
            names::oidc_provider_host(&cluster.oidc_issuer),
            action,
        )
        .with_id(provider_arn.to_owned())
    };
    match observed {
        None => (step(Action::Create), Some(change(true))),
        Some(p) if !p.client_ids.iter().any(|id| id == iam::STS_AUDIENCE) => (
            step(Action::Update).with_detail("add audience sts.amazonaws.com"),
            Some(change(false)),
        ),
        Some(_) => (step(Action::Exists), None),
    }
}

/// Cleanup deletes a provider kcfed made once no role that stays trusts it.
pub fn plan_cleanup(
    scope: &str,
    arn: &str,
    provider: &iam::OidcProvider,
    still_trusted_by: &[String],
) -> (Step, bool) {
    let host = arn
        .split_once("oidc-provider/")
        .map_or(arn, |(_, host)| host);
    let step =
        |action| Step::new(scope, ResourceKind::OidcProvider, host, action).with_id(arn.to_owned());
    if !made_by_kcfed(&provider.tags) {
        (
            step(Action::Keep).with_detail("not created by kcfed"),
            false,
        )
    } else if still_trusted_by.is_empty() {
        (step(Action::Delete), true)
    } else {
        let detail = format!("still trusted by {}", still_trusted_by.join(", "));
        (step(Action::Keep).with_detail(detail), false)
    }
}

/// Deletes the provider this run made (its cluster failed on a quota); one it only gave the
/// audience stays.
pub async fn undo(
    iam_client: &aws_sdk_iam::Client,
    change: &ProviderChange,
) -> Result<bool, Error> {
    if !change.create {
        return Ok(false);
    }
    iam::delete_oidc_provider(iam_client, &change.arn).await?;
    Ok(true)
}

/// Creates the provider (tagged with the cluster it was made for), or adds the audience.
pub async fn apply(iam_client: &aws_sdk_iam::Client, change: &ProviderChange) -> Result<(), Error> {
    if change.create {
        let tags = managed_tags(&[(tags::CLUSTER, &change.cluster_arn)]);
        iam::create_oidc_provider(iam_client, &change.issuer, tags).await?;
    } else {
        iam::add_oidc_audience(iam_client, &change.arn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::target;

    fn provider(audiences: &[&str]) -> iam::OidcProvider {
        iam::OidcProvider {
            arn: "arn:aws:iam::111122223333:oidc-provider/x".to_owned(),
            client_ids: audiences.iter().map(|a| (*a).to_owned()).collect(),
            tags: Default::default(),
        }
    }

    #[test]
    fn a_provider_is_created_given_the_sts_audience_or_kept() {
        let cluster = target().cluster;
        let plan = |observed: Option<&iam::OidcProvider>| {
            let (step, change) = plan("prod", &cluster, "arn:provider", observed);
            (step.action, change.map(|change| change.create))
        };
        assert_eq!(plan(None), (Action::Create, Some(true)));
        let without = provider(&["other"]);
        assert_eq!(plan(Some(&without)), (Action::Update, Some(false)));
        let with = provider(&["other", iam::STS_AUDIENCE]);
        assert_eq!(plan(Some(&with)), (Action::Exists, None));
        let (step, _) = super::plan("prod", &cluster, "arn:provider", None);
        assert_eq!(
            step.name,
            "oidc.eks.us-east-2.amazonaws.com/id/ABCDEF0123456789"
        );
        assert_eq!(step.id.as_deref(), Some("arn:provider"));
    }

    #[test]
    fn cleanup_deletes_a_provider_kcfed_made_once_nothing_else_trusts_it() {
        let arn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/AB";
        let mut ours = provider(&[iam::STS_AUDIENCE]);
        ours.tags = managed_tags(&[]).into_iter().collect();
        let (step, op) = plan_cleanup("prod", arn, &ours, &[]);
        assert_eq!(
            (step.action, step.name.as_str()),
            (Action::Delete, "oidc.eks.us-east-2.amazonaws.com/id/AB")
        );
        assert!(op);
        let (step, _) = plan_cleanup("prod", arn, &ours, &["other-role".to_owned()]);
        assert_eq!(step.action, Action::Keep);
        assert!(step.details[0].contains("other-role"));
        let (step, _) = plan_cleanup("prod", arn, &provider(&[]), &[]);
        assert_eq!(
            (step.action, step.details[0].as_str()),
            (Action::Keep, "not created by kcfed")
        );
    }
}
