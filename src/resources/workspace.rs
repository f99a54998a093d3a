//! The fleet's AMP workspace: the tags that let `join` and `cleanup` find the fleet, and its
//! creation, where two runs that race to create it end with one.

use crate::aws::{amp, made_by_kcfed, managed_tags};
use crate::error::Error;
use crate::names::tags;
use crate::render::StoreLocation;

/// The tags a fleet's workspace carries, so `join` and `cleanup` find the bucket and the primary.
pub fn fleet_tags(store: Option<&StoreLocation>, primary_arn: &str) -> Vec<(String, String)> {
    let mut fleet_tags = vec![(tags::PRIMARY_CLUSTER.to_owned(), primary_arn.to_owned())];
    if let Some(store) = store {
        fleet_tags.push((tags::BUCKET.to_owned(), store.bucket.clone()));
        fleet_tags.push((tags::BUCKET_REGION.to_owned(), store.region.clone()));
    }
    fleet_tags
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
