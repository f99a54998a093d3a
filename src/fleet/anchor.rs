//! What a fleet's record (its primary, bucket, identity mode and chart version: the tags of
//! `resources::workspace::fleet_tags`) is kept on: the AMP workspace of a fleet that has one,
//! else the bucket of a fleet whose clusters reach no AMP.

use std::collections::HashMap;

use crate::aws::{amp, s3};
use crate::names::{self, tags};
use crate::render::StoreLocation;

/// Where the fleet's record is kept, with the id that names its IAM objects.
#[derive(Debug, Clone)]
pub enum Anchor {
    /// The fleet's AMP workspace; `None` until a new fleet's is created.
    Workspace(Option<amp::Workspace>),
    /// A fleet without a workspace keeps its record on its bucket, tagged with the fleet's id:
    /// the workspace's id once it had one, else [`names::bucket_fleet_id`].
    Bucket {
        id: String,
        record: HashMap<String, String>,
    },
}

impl Anchor {
    /// The record's tags: empty for a fleet not made yet.
    pub fn record(&self) -> &HashMap<String, String> {
        static NONE: std::sync::LazyLock<HashMap<String, String>> =
            std::sync::LazyLock::new(HashMap::new);
        match self {
            Self::Workspace(Some(workspace)) => &workspace.tags,
            Self::Workspace(None) => &NONE,
            Self::Bucket { record, .. } => record,
        }
    }
}

/// A fleet as the lookup found it.
#[derive(Debug, Clone)]
pub enum Found {
    Workspace(amp::Workspace),
    /// The bucket that carries the record, as read.
    Bucket {
        store: StoreLocation,
        bucket: s3::Bucket,
    },
}

impl Found {
    pub fn into_anchor(self) -> (Anchor, Option<StoreLocation>) {
        match self {
            Self::Workspace(workspace) => (Anchor::Workspace(Some(workspace)), None),
            Self::Bucket { store, bucket } => {
                let id = bucket
                    .tags
                    .get(tags::FLEET)
                    .cloned()
                    .unwrap_or_else(|| names::bucket_fleet_id(&store.bucket));
                (
                    Anchor::Bucket {
                        id,
                        record: bucket.tags,
                    },
                    Some(store),
                )
            }
        }
    }
}

/// Whether a bucket carries a fleet's record: kcfed's fleet tag and a primary cluster.
pub fn holds_record(bucket: &s3::Bucket) -> bool {
    bucket.tags.contains_key(tags::FLEET) && bucket.tags.contains_key(tags::PRIMARY_CLUSTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Fleet;

    #[test]
    fn a_bucket_that_holds_a_record_anchors_its_fleet_under_the_id_it_carries() {
        let primary = "arn:aws:eks:us-east-2:111122223333:cluster/prod";
        let mut bucket = s3::Bucket {
            region: Some("eu-west-1".to_owned()),
            tags: [
                (tags::FLEET, "ws-1"),
                (tags::PRIMARY_CLUSTER, primary),
                (tags::CHART_VERSION, "3.2.1"),
                (tags::IDENTITY, "pod-identity"),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
            ..Default::default()
        };
        assert!(holds_record(&bucket));
        let store = StoreLocation::new("fleet-bucket", "eu-west-1");
        let found = Found::Bucket {
            store: store.clone(),
            bucket: bucket.clone(),
        };
        let (fleet, found_primary) = Fleet::from_found("111122223333", "us-east-2", found);
        // A fleet whose workspace was retired keeps the workspace's id, which names its IAM.
        assert_eq!(fleet.id(), "ws-1");
        assert!(fleet.workspace().is_none() && fleet.endpoints().is_none());
        assert_eq!(fleet.store, Some(store));
        assert_eq!(fleet.chart_version, "3.2.1");
        assert_eq!(fleet.identity, crate::fleet::IdentityMode::PodIdentity);
        assert_eq!(found_primary.as_deref(), Some(primary));
        assert!(fleet.keeps_records());
        // An AMP fleet's bucket carries its fleet's id but no record.
        bucket.tags.remove(tags::PRIMARY_CLUSTER);
        assert!(!holds_record(&bucket));
        // A new fleet's id comes from its bucket's name, as short as a workspace id.
        assert_eq!(
            names::bucket_fleet_id("fleet-bucket").len(),
            "s3-".len() + 8
        );
    }
}
