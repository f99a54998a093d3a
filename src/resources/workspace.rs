//! The fleet's AMP workspace: the tags that let `join` and `cleanup` find the fleet, and its
//! creation, where two runs that race to create it end with one.

use crate::aws::{amp, made_by_kcfed, managed_tags};
use crate::error::Error;
use crate::fleet::IdentityMode;
use crate::names::tags;
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::StoreLocation;

/// The tags a fleet's workspace carries, so `join` and `cleanup` find the bucket and the primary,
/// and a new cluster joins with the primary's chart version. `identity` is written once a fleet
/// has used Pod Identity, and `chart_version` once the primary runs another version than the
/// fleet had before kcfed recorded one: fleets that never did keep the tags they had.
pub fn fleet_tags(
    store: Option<&StoreLocation>,
    primary_arn: &str,
    chart_version: Option<&str>,
    identity: Option<IdentityMode>,
) -> Vec<(String, String)> {
    let mut fleet_tags = vec![(tags::PRIMARY_CLUSTER.to_owned(), primary_arn.to_owned())];
    if let Some(version) = chart_version {
        fleet_tags.push((tags::CHART_VERSION.to_owned(), version.to_owned()));
    }
    if let Some(store) = store {
        fleet_tags.push((tags::BUCKET.to_owned(), store.bucket.clone()));
        fleet_tags.push((tags::BUCKET_REGION.to_owned(), store.region.clone()));
    }
    if let Some(identity) = identity {
        fleet_tags.push((tags::IDENTITY.to_owned(), identity.as_str().to_owned()));
    }
    fleet_tags
}

/// Cleanup deletes the workspace only when kcfed created it; one the user brought stays.
pub fn plan_cleanup(workspace: &amp::Workspace) -> (Step, bool) {
    let name = workspace.alias.as_deref().unwrap_or(&workspace.id);
    let step = |action| {
        Step::new(FLEET_SCOPE, ResourceKind::AmpWorkspace, name, action)
            .with_id(workspace.id.clone())
    };
    if made_by_kcfed(&workspace.tags) {
        (step(Action::Delete), true)
    } else {
        (
            step(Action::Keep).with_detail("not created by kcfed"),
            false,
        )
    }
}

/// Creates the workspace with kcfed's tags and the fleet's, and settles a race with another run.
pub async fn create(
    client: &aws_sdk_amp::Client,
    alias: &str,
    client_token: &str,
    fleet_tags: &[(String, String)],
) -> Result<amp::Workspace, Error> {
    let mut tags = managed_tags(&[]);
    tags.extend(fleet_tags.iter().cloned());
    let created = amp::create(client, alias, client_token, tags).await?;
    settle_race(client, alias, created).await
}

/// Runs that race to create the same fleet must end with one workspace. The client token makes
/// AWS return the same workspace to racing creates; where it did not, every racer sees the
/// same set of kcfed workspaces with this alias and keeps the oldest, deleting its own if it
/// lost.
async fn settle_race(
    client: &aws_sdk_amp::Client,
    alias: &str,
    created: amp::Workspace,
) -> Result<amp::Workspace, Error> {
    let candidates = amp::find_by_alias(client, alias).await?;
    let winner = candidates
        .into_iter()
        .filter(|ws| made_by_kcfed(&ws.tags))
        .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    match winner {
        Some(winner) if winner.id != created.id => {
            tracing::info!(
                "another run created workspace {} for alias {alias} first; using it and removing {}",
                winner.id,
                created.id
            );
            amp::delete(client, &created.id).await?;
            Ok(winner)
        }
        // The listing is the fresher view of the workspace (its status may have moved on).
        Some(listed) => Ok(listed),
        None => Ok(created),
    }
}

/// The fleet's workspace: by id (must exist), or by exact alias (none: `None`, several: error).
pub async fn find(
    client: &aws_sdk_amp::Client,
    workspace_id: Option<&str>,
    alias: &str,
    region: &str,
) -> Result<Option<amp::Workspace>, Error> {
    if let Some(id) = workspace_id {
        return match amp::describe(client, id).await? {
            Some(workspace) => Ok(Some(workspace)),
            None => Err(Error::NotFound {
                what: "AMP workspace",
                name: id.to_owned(),
                place: format!("in region {region}"),
                fix: "check the id with `aws amp list-workspaces`, and pass --workspace-region when the workspace is in another region".to_owned(),
            }),
        };
    }
    let mut matches = amp::find_by_alias(client, alias).await?;
    match matches.len() {
        0 | 1 => Ok(matches.pop()),
        _ => Err(Error::Conflict {
            resource: format!("AMP workspace alias {alias:?} in {region}"),
            reason: format!(
                "{} workspaces have this exact alias: {}",
                matches.len(),
                matches
                    .iter()
                    .map(|w| w.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix: "choose one with --workspace-id".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_deletes_the_workspace_only_when_kcfed_created_it() {
        let mut workspace = amp::Workspace {
            id: "ws-1".to_owned(),
            alias: Some("kubecost-amp".to_owned()),
            arn: String::new(),
            active: true,
            failed: false,
            created_at: 0,
            tags: managed_tags(&[]).into_iter().collect(),
            prometheus_endpoint: None,
        };
        let (step, op) = plan_cleanup(&workspace);
        assert_eq!(
            (step.action, step.name.as_str()),
            (Action::Delete, "kubecost-amp")
        );
        assert!(op);
        workspace.tags.clear();
        let (step, op) = plan_cleanup(&workspace);
        assert_eq!(step.action, Action::Keep);
        assert!(!op);
    }
}
