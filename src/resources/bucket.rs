//! The fleet's S3 bucket for federated ETL files: created and hardened (public access blocked,
//! default encryption, bucket-owner-enforced, TLS only) when kcfed makes it; a bucket the user
//! brings gets only kcfed's fleet tag and, without a policy of its own, the TLS-only policy.

use std::collections::HashMap;

use super::{CleanupOp, Op, Planned, fleet_step, tags_missing};
use crate::aws::config::Clients;
use crate::aws::{amp, managed_tags, s3};
use crate::error::Error;
use crate::fleet::Fleet;
use crate::names::tags;
use crate::plan::NEW_WORKSPACE;
use crate::plan::{Action, FLEET_SCOPE, ResourceKind, Step};
use crate::render::{Renderer, StoreLocation};

/// What applying the bucket's step changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BucketChanges {
    pub(super) create: bool,
    pub(super) public_access: bool,
    pub(super) encryption: bool,
    pub(super) ownership: bool,
    pub(super) policy: bool,
    pub(super) tags: Option<Vec<(String, String)>>,
}

/// `made_by_kcfed`: the fleet's workspace says kcfed created this bucket (its own tags may be
/// missing if the run that created it was interrupted).
pub fn plan(
    fleet_id: &str,
    store: &StoreLocation,
    state: &s3::BucketState,
    made_by_kcfed: bool,
    renderer: &Renderer,
) -> Result<Planned, Error> {
    let step = |action| Step::new(FLEET_SCOPE, ResourceKind::S3Bucket, &store.bucket, action);
    let our_tags = managed_tags(&[(tags::FLEET, fleet_id)]);
    let bucket = match state {
        s3::BucketState::Missing => {
            let changes = BucketChanges {
                create: true,
                public_access: true,
                encryption: true,
                ownership: true,
                policy: true,
                tags: Some(our_tags),
            };
            return Ok(fleet_step(
                step(Action::Create).with_detail(format!(
                    "in {}, public access blocked, encrypted, bucket-owner-enforced, TLS only",
                    store.region
                )),
                Op::Bucket(changes),
            ));
        }
        s3::BucketState::OwnedElsewhere => {
            return Ok(fleet_step(
                step(Action::Conflict).with_detail(s3::FORBIDDEN),
                Op::Nothing,
            ));
        }
        s3::BucketState::Owned(bucket) => bucket,
    };
    let managed = made_by_kcfed || crate::aws::made_by_kcfed(&bucket.tags);
    if let Some(other) = bucket.tags.get(tags::FLEET)
        && other != fleet_id
        && fleet_id != NEW_WORKSPACE
    {
        return Ok(fleet_step(
            step(Action::Conflict)
                .with_detail(format!("belongs to the kcfed fleet of workspace {other}")),
            Op::Nothing,
        ));
    }
    // A bucket the user brought keeps its own policy and tags; kcfed only adds its fleet tag.
    let wanted_tags: Vec<(String, String)> = if managed {
        our_tags
    } else {
        vec![(tags::FLEET.to_owned(), fleet_id.to_owned())]
    };
    let tls_policy = renderer.tls_only_bucket_policy(store)?;
    let changes = BucketChanges {
        create: false,
        public_access: !bucket.public_access_blocked,
        encryption: !bucket.encrypted,
        ownership: !bucket.owner_enforced,
        policy: if managed {
            bucket.policy.as_ref() != Some(&tls_policy)
        } else {
            bucket.policy.is_none()
        },
        tags: tags_missing(&bucket.tags, &wanted_tags).then(|| {
            let mut merged: HashMap<String, String> = bucket.tags.clone();
            merged.extend(wanted_tags);
            let mut merged: Vec<_> = merged.into_iter().collect();
            merged.sort();
            merged
        }),
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
    if changes.policy {
        details.push("TLS-only bucket policy".to_owned());
    }
    if changes.tags.is_some() {
        details.push("fleet tags".to_owned());
    }
    if !managed {
        details.push("not created by kcfed: cleanup will keep it".to_owned());
    }
    let action = if changes == BucketChanges::default() {
        Action::Exists
    } else {
        Action::Update
    };
    Ok(fleet_step(
        step(action).with_details(details),
        Op::Bucket(changes),
    ))
}

/// Cleanup deletes the bucket only when kcfed made it for this fleet: its tags say so, or the
/// fleet's workspace recorded it as made before an interrupted run could tag it.
pub fn plan_cleanup(
    workspace: &amp::Workspace,
    store: &StoreLocation,
    state: &s3::BucketState,
) -> Option<(Step, CleanupOp)> {
    let step = |action| Step::new(FLEET_SCOPE, ResourceKind::S3Bucket, &store.bucket, action);
    match state {
        s3::BucketState::Owned(found)
            if (crate::aws::made_by_kcfed(&found.tags)
                && found.tags.get(tags::FLEET) == Some(&workspace.id))
                || (workspace.tags.get(tags::BUCKET_MADE) == Some(&store.bucket)
                    && !found.tags.contains_key(tags::FLEET)) =>
        {
            Some((
                step(Action::Delete).with_detail("every object version and delete marker first"),
                CleanupOp::DeleteBucket(store.clone()),
            ))
        }
        s3::BucketState::Owned(_) | s3::BucketState::OwnedElsewhere => Some((
            step(Action::Keep).with_detail("not made by kcfed for this fleet"),
            CleanupOp::Nothing,
        )),
        s3::BucketState::Missing => None,
    }
}

/// Creates the bucket when planned, then makes the planned settings and tags, side by side.
pub async fn apply(
    clients: &Clients,
    renderer: &Renderer,
    fleet: &Fleet,
    changes: &BucketChanges,
) -> Result<(), Error> {
    let store = fleet
        .store
        .as_ref()
        .expect("bucket steps exist in federated fleets");
    let client = clients.s3_in(&store.region);
    let bucket = &store.bucket;
    if changes.create {
        s3::create(&client, bucket, &store.region).await?;
    }
    // The settings and the tags are independent of each other.
    let tls_policy = renderer.tls_only_bucket_policy(store)?;
    // Tags carry the fleet id, known only now for a new workspace.
    let id = fleet.workspace_id();
    let tags = changes.tags.as_ref().map(|tags| {
        tags.iter()
            .map(|(key, value)| {
                let value = if value == NEW_WORKSPACE { id } else { value };
                (key.clone(), value.to_owned())
            })
            .collect()
    });
    tokio::try_join!(
        when(changes.ownership, s3::enforce_bucket_owner(&client, bucket)),
        when(
            changes.public_access,
            s3::block_public_access(&client, bucket)
        ),
        when(
            changes.encryption,
            s3::enable_default_encryption(&client, bucket)
        ),
        when(changes.policy, s3::put_policy(&client, bucket, &tls_policy)),
        async {
            match tags {
                Some(tags) => s3::put_tags(&client, bucket, tags).await,
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

    fn planned(state: &s3::BucketState, made_by_kcfed: bool) -> Planned {
        plan(WORKSPACE, &store(), state, made_by_kcfed, &Renderer::new()).unwrap()
    }

    #[test]
    fn a_missing_bucket_is_created_hardened_and_tagged() {
        let planned = planned(&s3::BucketState::Missing, true);
        assert_eq!(planned.step.action, Action::Create);
        let Op::Bucket(changes) = planned.op else {
            panic!("{:?}", planned.op)
        };
        assert!(changes.create && changes.public_access && changes.encryption);
        assert!(changes.ownership && changes.policy);
        let tags = changes.tags.unwrap();
        assert!(tags.contains(&(tags::FLEET.to_owned(), WORKSPACE.to_owned())));
    }

    #[test]
    fn a_bucket_of_another_account_or_fleet_is_a_conflict() {
        let elsewhere = planned(&s3::BucketState::OwnedElsewhere, false);
        assert_eq!(
            (elsewhere.step.action, elsewhere.op),
            (Action::Conflict, Op::Nothing)
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
        assert_eq!(planned.op, Op::Bucket(BucketChanges::default()));
    }

    #[test]
    fn a_bucket_the_user_brought_keeps_its_policy_and_gets_only_the_fleet_tag() {
        let mut brought = hardened(&[("team", "finops")]);
        brought.policy = Some(serde_json::json!({"Statement": []}));
        brought.encrypted = false;
        let planned = planned(&s3::BucketState::Owned(brought), false);
        assert_eq!(planned.step.action, Action::Update);
        let Op::Bucket(changes) = &planned.op else {
            panic!("{:?}", planned.op)
        };
        assert!(changes.encryption && !changes.policy && !changes.create);
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
        let Op::Bucket(changes) = &planned.op else {
            panic!("{:?}", planned.op)
        };
        assert!(changes.policy);
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
            created_at: 0,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            prometheus_endpoint: None,
        }
    }

    fn cleanup_action(workspace: &amp::Workspace, state: &s3::BucketState) -> Option<Action> {
        plan_cleanup(workspace, &store(), state).map(|(step, _)| step.action)
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
}
