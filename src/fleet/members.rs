//! Who is in the fleet: the clusters kcfed's roles were made for, found by the fleet's IAM path
//! and each role's tags, with the id each cluster writes its data under.

use std::collections::{BTreeMap, HashMap};

use crate::aws::iam;
use crate::cluster_id;
use crate::error::Error;
use crate::names::{self, FleetNames, tags};

/// The fleet's IAM roles (found by its IAM path) by the ARN of the cluster each was made for, as
/// kcfed's tag names it; roles without that tag are under the empty string.
pub async fn roles_by_cluster(
    client: &aws_sdk_iam::Client,
    fleet: &FleetNames,
) -> Result<BTreeMap<String, Vec<iam::Role>>, Error> {
    let role_names = iam::role_names_under(client, &fleet.iam_path()).await?;
    let roles =
        futures::future::try_join_all(role_names.iter().map(|name| iam::get_role(client, name)))
            .await?;
    let mut by_cluster: BTreeMap<String, Vec<iam::Role>> = BTreeMap::new();
    for role in roles.into_iter().flatten() {
        let cluster = role.tags.get(tags::CLUSTER).cloned().unwrap_or_default();
        by_cluster.entry(cluster).or_default().push(role);
    }
    Ok(by_cluster)
}

/// The fleet's roles by name with their tags alone: one GetRole per role, where
/// [`roles_by_cluster`] also reads each role's policies.
pub async fn tagged_roles(
    client: &aws_sdk_iam::Client,
    fleet: &FleetNames,
) -> Result<Vec<(String, HashMap<String, String>)>, Error> {
    let role_names = iam::role_names_under(client, &fleet.iam_path()).await?;
    let role_tags =
        futures::future::try_join_all(role_names.iter().map(|name| iam::role_tags(client, name)))
            .await?;
    Ok(role_names
        .into_iter()
        .zip(role_tags)
        .filter_map(|(name, tags)| Some((name, tags?)))
        .collect())
}

/// The fleet's clusters and their ids, from the tags [`tagged_roles`] read.
pub fn members(roles: &[(String, HashMap<String, String>)]) -> Vec<cluster_id::Member> {
    members_by_tags(roles.iter().map(|(_, tags)| tags))
}

/// The members the roles cleanup read (with their policies) stand for.
pub fn members_of(roles_by_cluster: &BTreeMap<String, Vec<iam::Role>>) -> Vec<cluster_id::Member> {
    members_by_tags(roles_by_cluster.values().flatten().map(|role| &role.tags))
}

/// One member per cluster ARN the roles are tagged with, its id the one a role records.
fn members_by_tags<'a>(
    role_tags: impl Iterator<Item = &'a HashMap<String, String>>,
) -> Vec<cluster_id::Member> {
    let mut recorded: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for tags in role_tags {
        let Some(arn) = tags.get(tags::CLUSTER) else {
            continue;
        };
        let id = recorded.entry(arn.as_str()).or_default();
        if id.is_none() {
            *id = tags.get(tags::CLUSTER_ID).map(String::as_str);
        }
    }
    recorded
        .into_iter()
        .map(|(arn, id)| cluster_id::Member {
            arn: arn.to_owned(),
            id: cluster_id::recorded_or_name(id, arn),
        })
        .collect()
}

/// The ids of the clusters a run installs (`clusters`: ARN and `--cluster-id`), each with the
/// other member that already shares its id, if any.
pub fn choose_ids(
    members: &[cluster_id::Member],
    clusters: &[(&str, Option<&str>)],
) -> Result<Vec<(String, Option<String>)>, Error> {
    let ids = cluster_id::choose(members, clusters)?;
    Ok(clusters
        .iter()
        .zip(ids)
        .map(|((arn, _), id)| {
            let own = members.iter().find(|member| member.arn == *arn);
            let shared_with = own.and_then(|own| {
                members
                    .iter()
                    .find(|other| other.arn != own.arn && other.id == own.id)
                    .map(|other| other.arn.clone())
            });
            (id, shared_with)
        })
        .collect())
}

/// The member a `--cluster` value names: by ARN, by name in `default_region`, or by its id.
pub fn find_member<'a>(
    members: &'a [cluster_id::Member],
    value: &str,
    default_region: &str,
) -> Option<&'a cluster_id::Member> {
    if names::parse_eks_cluster_arn(value).is_some() {
        return members.iter().find(|member| member.arn == value);
    }
    let by_name = members.iter().find(|member| {
        names::parse_eks_cluster_arn(&member.arn)
            .is_some_and(|(region, _, name)| name == value && region == default_region)
    });
    by_name.or_else(|| members.iter().find(|member| member.id == value))
}

/// A `--cluster` that names no cluster of the fleet: the same words for every command.
pub fn not_in_fleet(value: &str, members: &[cluster_id::Member]) -> Error {
    let fleet = if members.is_empty() {
        "the fleet has no clusters yet".to_owned()
    } else {
        format!(
            "the fleet's clusters are {}",
            members
                .iter()
                .map(|member| format!("{} ({})", member.id, member.arn))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Error::NotFound {
        what: "cluster",
        name: value.to_owned(),
        place: "in the fleet".to_owned(),
        fix: format!(
            "name a cluster that `kcfed init primary` or `kcfed join cluster` set up (by ARN for another region or account); {fleet}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn members_are_one_per_tagged_cluster_with_the_id_a_role_records() {
        let west = "arn:aws:eks:us-west-2:111122223333:cluster/prod";
        let eu = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
        let roles = [
            tags(&[(tags::CLUSTER, west)]),
            tags(&[(tags::CLUSTER, west)]),
            tags(&[(tags::CLUSTER, eu)]),
            tags(&[(tags::CLUSTER, eu), (tags::CLUSTER_ID, "prod-eu-west-1")]),
            // Not kcfed's per-cluster role: no cluster to stand for.
            tags(&[(tags::FLEET, "ws-1")]),
        ];
        let members = members_by_tags(roles.iter());
        let found: Vec<(&str, &str)> = members
            .iter()
            .map(|member| (member.arn.as_str(), member.id.as_str()))
            .collect();
        assert_eq!(found, [(eu, "prod-eu-west-1"), (west, "prod")]);
    }
}
