//! The fleet's S3 bucket for federated ETL files: created and hardened (public access blocked,
//! default encryption, bucket-owner-enforced, TLS only) when kcfed makes it; a bucket the user
//! brings gets only kcfed's fleet tag and, without a policy of its own, the TLS-only policy.

use std::collections::HashMap;

use crate::aws::config::Clients;
use crate::aws::{managed_tags, s3, tags_missing};
use crate::error::Error;
use crate::names::tags;
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::{Renderer, StoreLocation};

/// What applying the bucket's step changes.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketChange {
    pub bucket: StoreLocation,
    pub create: bool,
    pub public_access: bool,
    pub encryption: bool,
    pub ownership: bool,
    /// The TLS-only policy to put.
    pub policy: Option<serde_json::Value>,
    /// All of the bucket's tags, when they change.
    pub tags: Option<Vec<(String, String)>>,
}

impl BucketChange {
    /// A change of the bucket's tags alone: all of them, as they are to be.
    pub fn tags_only(bucket: &StoreLocation, tags: Vec<(String, String)>) -> Self {
        Self {
            bucket: bucket.clone(),
            create: false,
            public_access: false,
            encryption: false,
            ownership: false,
            policy: None,
            tags: Some(tags),
        }
    }
}

/// All of a bucket's tags once `wanted` are put over the ones it `has`, in a stable order.
pub fn merged_tags(
    has: &HashMap<String, String>,
    wanted: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut merged = has.clone();
    merged.extend(wanted);
    let mut merged: Vec<_> = merged.into_iter().collect();
    merged.sort();
    merged
}

/// What the fleet's record says of its bucket.
pub struct Record<'a> {
    /// The fleet's workspace says kcfed created this bucket (its own tags may be missing if the
    /// run that created it was interrupted).
    pub made_by_kcfed: bool,
    /// The record itself, for a fleet that keeps it on its bucket (no workspace).
    pub tags: &'a [(String, String)],
}

pub fn plan(
    fleet_id: &str,
    new_fleet: bool,
    store: &StoreLocation,
    state: &s3::BucketState,
    record: Record<'_>,
    renderer: &Renderer,
) -> Result<(Step, Option<BucketChange>), Error> {
    let holds_record = !record.tags.is_empty();
    let step = |action| {
        let step = Step::new(FLEET_SCOPE, ResourceKind::S3Bucket, &store.bucket, action);
        if holds_record {
            step.with_detail("holds the fleet's record: no AMP workspace (Kubecost 3)")
        } else {
            step
        }
    };
    let tls_policy = renderer.tls_only_bucket_policy(store)?;
    let mut our_tags = managed_tags(&[(tags::FLEET, fleet_id)]);
    our_tags.extend(record.tags.iter().cloned());
    let bucket = match state {
        s3::BucketState::Missing => {
            let change = BucketChange {
                bucket: store.clone(),
                create: true,
                public_access: true,
                encryption: true,
                ownership: true,
                policy: Some(tls_policy),
                tags: Some(our_tags),
            };
            return Ok((
                step(Action::Create).with_detail(format!(
                    "in {}, public access blocked, encrypted, bucket-owner-enforced, TLS only",
                    store.region
                )),
                Some(change),
            ));
        }
        s3::BucketState::OwnedElsewhere => {
            return Ok((step(Action::Conflict).with_detail(s3::FORBIDDEN), None));
        }
        s3::BucketState::Owned(bucket) => bucket,
    };
    let managed = record.made_by_kcfed || crate::aws::made_by_kcfed(&bucket.tags);
    if let Some(other) = bucket.tags.get(tags::FLEET)
        && other != fleet_id
        && !new_fleet
    {
        return Ok((
            step(Action::Conflict).with_detail(format!("belongs to the kcfed fleet {other}")),
            None,
        ));
    }
    // A bucket the user brought keeps its own policy and tags; kcfed only adds its fleet tag.
    let wanted_tags: Vec<(String, String)> = if managed {
        our_tags
    } else {
        let mut wanted = vec![(tags::FLEET.to_owned(), fleet_id.to_owned())];
        wanted.extend(record.tags.iter().cloned());
        wanted
    };
    let changes = BucketChange {
        bucket: store.clone(),
        create: false,
        public_access: !bucket.public_access_blocked,
        encryption: !bucket.encrypted,
        ownership: !bucket.owner_enforced,
        policy: if managed {
            bucket.policy.as_ref() != Some(&tls_policy)
        } else {
            bucket.policy.is_none()
        }
        .then_some(tls_policy),
        tags: tags_missing(&bucket.tags, &wanted_tags)
            .then(|| merged_tags(&bucket.tags, wanted_tags)),
    };
    let mut details = Vec::new();
    if changes.public_access {
        details.push("block public access".to_owned());
    }
    if changes.encryption {
        details.push("enable default encryption".to_owned());
    }
    if changes.ownership {
        details.push("enforce bucket-owner ownership".to_owned());
    }
    if changes.policy.is_some() {
        details.push("TLS-only bucket policy".to_owned());
    }
    if changes.tags.is_some() {
        details.push("fleet tags".to_owned());
    }
    if !managed {
        details.push("not created by kcfed: cleanup will keep it".to_owned());
    }
    let unchanged = !(changes.public_access
        || changes.encryption
        || changes.ownership
        || changes.policy.is_some()
        || changes.tags.is_some());
    let step = |action| {
        let mut step = step(action);
        step.details.extend(details);
        step
    };
    Ok(if unchanged {
        (step(Action::Exists), None)
    } else {
        (step(Action::Update), Some(changes))
    })
}

/// What cleanup does to the fleet's bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum BucketCleanup {
    Delete,
    /// Kept, with the tags it keeps once kcfed's fleet tags (the record among them) are gone.
    Untag(Vec<(String, String)>),
    Nothing,
}

/// Cleanup deletes the bucket only when kcfed made it for this fleet: its tags say so, or the
/// fleet's record says it was made before an interrupted run could tag it. A bucket the user
/// brought stays, rid of the tags kcfed put on it for this fleet.
pub fn plan_cleanup(
    fleet_id: &str,
    record: &HashMap<String, String>,
    store: &StoreLocation,
    state: &s3::BucketState,
) -> Option<(Step, BucketCleanup)> {
    let step = |action| Step::new(FLEET_SCOPE, ResourceKind::S3Bucket, &store.bucket, action);
    match state {
        s3::BucketState::Owned(found)
            if (crate::aws::made_by_kcfed(&found.tags)
                && found.tags.get(tags::FLEET).map(String::as_str) == Some(fleet_id))
                || (record.get(tags::BUCKET_MADE) == Some(&store.bucket)
                    && !found.tags.contains_key(tags::FLEET)) =>
        {
            Some((
                step(Action::Delete).with_detail("every object version and delete marker first"),
                BucketCleanup::Delete,
            ))
        }
        s3::BucketState::Owned(found)
            if found.tags.get(tags::FLEET).map(String::as_str) == Some(fleet_id) =>
        {
            let mut kept: Vec<(String, String)> = found
                .tags
                .iter()
                .filter(|(key, _)| !key.starts_with("kcfed:"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            kept.sort();
            Some((
                step(Action::Update)
                    .with_detail("not made by kcfed: kept, without kcfed's fleet tags"),
                BucketCleanup::Untag(kept),
            ))
        }
        s3::BucketState::Owned(_) | s3::BucketState::OwnedElsewhere => Some((
            step(Action::Keep).with_detail("not made by kcfed for this fleet"),
            BucketCleanup::Nothing,
        )),
        s3::BucketState::Missing => None,
    }
}

/// Creates the bucket when planned, then makes the planned settings and tags, side by side.
pub async fn apply(clients: &Clients, change: &BucketChange) -> Result<(), Error> {
    let store = &change.bucket;
    let client = clients.s3_in(&store.region);
    let bucket = &store.bucket;
    if change.create {
        s3::create(&client, bucket, &store.region).await?;
    }
    // The settings and the tags are independent of each other.
    tokio::try_join!(
        when(change.ownership, s3::enforce_bucket_owner(&client, bucket)),
        when(
            change.public_access,
            s3::block_public_access(&client, bucket)
        ),
        when(
            change.encryption,
            s3::enable_default_encryption(&client, bucket)
        ),
        async {
            match &change.policy {
                Some(policy) => s3::put_policy(&client, bucket, policy).await,
                None => Ok(()),
            }
        },
        async {
            match &change.tags {
                Some(tags) if tags.is_empty() => s3::delete_tags(&client, bucket).await,
                Some(tags) => s3::put_tags(&client, bucket, tags.clone()).await,
                None => Ok(()),
            }
        },
    )?;
    Ok(())
}

/// Runs `call` only when `needed`.
async fn when(
    needed: bool,
    call: impl std::future::Future<Output = Result<(), Error>>,
) -> Result<(), Error> {
    if needed { call.await } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::amp;
    use crate::resources::fixtures::WORKSPACE;

    fn store() -> StoreLocation {
        StoreLocation::new("kcfed-etl", "us-east-2")
    }

    fn hardened(tags: &[(&str, &str)]) -> s3::Bucket {
        s3::Bucket {
            region: Some("us-east-2".to_owned()),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            public_access_blocked: true,
            encrypted: true,
            owner_enforced: true,
            policy: Some(Renderer::new().tls_only_bucket_policy(&store()).unwrap()),
        }
    }

    struct Planned {
        step: Step,
        change: Option<BucketChange>,
    }

    fn planned(state: &s3::BucketState, made_by_kcfed: bool) -> Planned {
        let record = Record {
            made_by_kcfed,
            tags: &[],
        };
        let (step, change) =
            plan(WORKSPACE, false, &store(), state, record, &Renderer::new()).unwrap();
        Planned { step, change }
    }

    #[test]
    fn a_missing_bucket_is_created_hardened_and_tagged() {
        let planned = planned(&s3::BucketState::Missing, true);
        assert_eq!(planned.step.action, Action::Create);
        let changes = planned.change.unwrap();
        assert!(changes.create && changes.public_access && changes.encryption);
        assert!(changes.ownership && changes.policy.is_some());
        let tags = changes.tags.unwrap();
        assert!(tags.contains(&(tags::FLEET.to_owned(), WORKSPACE.to_owned())));
    }

    #[test]
    fn a_bucket_of_another_account_or_fleet_is_a_conflict() {
        let elsewhere = planned(&s3::BucketState::OwnedElsewhere, false);
        assert_eq!(
            (elsewhere.step.action, elsewhere.change),
            (Action::Conflict, None)
        );
        let other_fleet = s3::BucketState::Owned(hardened(&[(tags::FLEET, "ws-other")]));
        let other = planned(&other_fleet, false);
        assert_eq!(other.step.action, Action::Conflict);
        assert!(
            other.step.details[0].contains("ws-other"),
            "{:?}",
            other.step
        );
    }

    #[test]
    fn a_hardened_bucket_of_the_fleet_needs_nothing() {
        let ours = [
            (tags::MANAGED_BY, tags::MANAGED_BY_VALUE),
            (tags::FLEET, WORKSPACE),
        ];
        let planned = planned(&s3::BucketState::Owned(hardened(&ours)), false);
        assert_eq!(planned.step.action, Action::Exists);
        assert_eq!(planned.change, None);
    }

    #[test]
    fn a_bucket_the_user_brought_keeps_its_policy_and_gets_only_the_fleet_tag() {
        let mut brought = hardened(&[("team", "finops")]);
        brought.policy = Some(serde_json::json!({"Statement": []}));
        brought.encrypted = false;
        let planned = planned(&s3::BucketState::Owned(brought), false);
        assert_eq!(planned.step.action, Action::Update);
        let changes = planned.change.as_ref().unwrap();
        assert!(changes.encryption && changes.policy.is_none() && !changes.create);
        let tags = changes.tags.clone().unwrap();
        assert!(tags.contains(&("team".to_owned(), "finops".to_owned())));
        assert!(
            !tags.iter().any(|(key, _)| key == tags::MANAGED_BY),
            "{tags:?}"
        );
        assert!(
            planned
                .step
                .details
                .iter()
                .any(|d| d.contains("cleanup will keep it"))
        );
    }

    #[test]
    fn a_bucket_recorded_as_made_by_kcfed_is_hardened_as_its_own_even_untagged() {
        let mut untagged = hardened(&[]);
        untagged.policy = None;
        let planned = planned(&s3::BucketState::Owned(untagged), true);
        let changes = planned.change.as_ref().unwrap();
        assert!(changes.policy.is_some());
        let tags = changes.tags.clone().unwrap();
        assert!(
            tags.iter().any(|(key, _)| key == tags::MANAGED_BY),
            "{tags:?}"
        );
        assert!(
            !planned
                .step
                .details
                .iter()
                .any(|d| d.contains("cleanup will keep it"))
        );
    }

    fn workspace(tags: &[(&str, &str)]) -> amp::Workspace {
        amp::Workspace {
            id: WORKSPACE.to_owned(),
            alias: None,
            arn: String::new(),
            active: true,
            failed: false,
            created_at: 0,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            prometheus_endpoint: None,
        }
    }

    fn cleanup_action(workspace: &amp::Workspace, state: &s3::BucketState) -> Option<Action> {
        plan_cleanup(&workspace.id, &workspace.tags, &store(), state).map(|(step, _)| step.action)
    }

    #[test]
    fn cleanup_deletes_only_the_bucket_kcfed_made_for_this_fleet() {
        let plain = workspace(&[]);
        let ours = [
            (tags::MANAGED_BY, tags::MANAGED_BY_VALUE),
            (tags::FLEET, WORKSPACE),
        ];
        let owned = |tags: &[(&str, &str)]| s3::BucketState::Owned(hardened(tags));
        assert_eq!(cleanup_action(&plain, &owned(&ours)), Some(Action::Delete));
        let other_fleet = [
            (tags::MANAGED_BY, tags::MANAGED_BY_VALUE),
            (tags::FLEET, "ws-other"),
        ];
        assert_eq!(
            cleanup_action(&plain, &owned(&other_fleet)),
            Some(Action::Keep)
        );
        assert_eq!(
            cleanup_action(&plain, &owned(&[("team", "finops")])),
            Some(Action::Keep)
        );
        assert_eq!(
            cleanup_action(&plain, &s3::BucketState::OwnedElsewhere),
            Some(Action::Keep)
        );
        assert_eq!(cleanup_action(&plain, &s3::BucketState::Missing), None);
        // Made by an interrupted run before it could tag the bucket: the workspace says so.
        let recorded = workspace(&[(tags::BUCKET_MADE, "kcfed-etl")]);
        assert_eq!(cleanup_action(&recorded, &owned(&[])), Some(Action::Delete));
    }

    #[test]
    fn a_bucket_fleet_keeps_its_record_on_the_bucket_and_cleanup_takes_it_off_one_it_did_not_make()
    {
        let record = [
            (
                tags::PRIMARY_CLUSTER.to_owned(),
                "arn:aws:eks:us-east-2:111122223333:cluster/prod".to_owned(),
            ),
            (tags::CHART_VERSION.to_owned(), "3.2.1".to_owned()),
        ];
        let brought = s3::BucketState::Owned(hardened(&[("team", "finops")]));
        let planned = |state| {
            let record = Record {
                made_by_kcfed: false,
                tags: &record,
            };
            plan("s3-1", false, &store(), state, record, &Renderer::new()).unwrap()
        };
        for state in [&s3::BucketState::Missing, &brought] {
            let (step, change) = planned(state);
            assert_eq!(
                step.details[0],
                "holds the fleet's record: no AMP workspace (Kubecost 3)"
            );
            let tags = change.unwrap().tags.unwrap();
            assert!(record.iter().all(|tag| tags.contains(tag)), "{tags:?}");
            assert!(tags.contains(&(tags::FLEET.to_owned(), "s3-1".to_owned())));
        }
        let mut tagged = hardened(&[("team", "finops")]);
        tagged.tags.extend(record.iter().cloned());
        tagged
            .tags
            .insert(tags::FLEET.to_owned(), "s3-1".to_owned());
        let (step, cleanup) = plan_cleanup(
            "s3-1",
            &tagged.tags,
            &store(),
            &s3::BucketState::Owned(tagged.clone()),
        )
        .unwrap();
        assert_eq!(step.action, Action::Update);
        assert_eq!(
            cleanup,
            BucketCleanup::Untag(vec![("team".to_owned(), "finops".to_owned())])
        );
        tagged.tags.extend(managed_tags(&[]));
        let (_, cleanup) = plan_cleanup(
            "s3-1",
            &tagged.tags,
            &store(),
            &s3::BucketState::Owned(tagged.clone()),
        )
        .unwrap();
        assert_eq!(cleanup, BucketCleanup::Delete);
    }
}
